"""Typed, non-raising access to scalar fields, and Istio's duration checks."""

from __future__ import annotations

import math
import re
from typing import Any, Optional

from .._goduration import parse_go_duration


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def get_int(m: dict[str, Any], key: str) -> Optional[int]:
    """An integer field; numeric strings count (protobuf JSON accepts them for int64)."""
    v = m.get(key)
    if is_int(v):
        return v
    if isinstance(v, str) and len(v) <= 40 and re.fullmatch(r"-?\d+", v):
        return int(v)
    return None


def _to_float(v: Any) -> Optional[float]:
    try:
        return float(v)
    except (OverflowError, ValueError):
        return math.inf if isinstance(v, int) and v > 0 else (-math.inf if isinstance(v, int) else None)


def get_num(m: dict[str, Any], key: str) -> Optional[float]:
    v = m.get(key)
    if is_num(v):
        return _to_float(v)
    return None


def get_str(m: dict[str, Any], key: str) -> str:
    v = m.get(key)
    return v if isinstance(v, str) else ""


def truthy(m: dict[str, Any], key: str) -> bool:
    """Set to a non-empty value (Go's ``!= ""`` / ``!= nil`` / ``len() > 0`` tests)."""
    v = m.get(key)
    if v is None or v is False:
        return False
    if isinstance(v, (str, list, dict)):
        return len(v) > 0
    return True


def present(m: dict[str, Any], key: str) -> bool:
    """Key present with a non-null value (a proto message pointer that is not nil)."""
    return m.get(key) is not None


def wrapped_bool(m: dict[str, Any], key: str) -> bool:
    """A ``google.protobuf.BoolValue``: ``true`` or ``{value: true}``."""
    v = m.get(key)
    if isinstance(v, dict):
        v = v.get("value")
    return v is True


def wrapped_num(m: dict[str, Any], key: str) -> Optional[float]:
    """A ``DoubleValue``/``UInt32Value``: a number or ``{value: n}``."""
    v = m.get(key)
    if isinstance(v, dict):
        v = v.get("value", 0)
    return _to_float(v) if is_num(v) else None


def parse_duration(value: Any) -> Optional[int]:
    """A duration in nanoseconds: Go ``time.ParseDuration`` syntax (what Istio's JSON decoding
    of ``google.protobuf.Duration`` accepts), or ``{seconds, nanos}``.  None if unparsable
    (the schema rules report that)."""
    if isinstance(value, dict):
        s, n = value.get("seconds", 0), value.get("nanos", 0)
        if isinstance(s, str) and len(s) <= 21 and re.fullmatch(r"-?\d+", s):
            s = int(s)
        if is_int(s) and is_int(n):
            total = s * 1_000_000_000 + n
            return total if -(2**63) <= total < 2**63 else None
        return None
    if not isinstance(value, str):
        return None
    return parse_go_duration(value)


def duration_errors(value: Any, cel_min: bool = True) -> list[str]:
    """``ValidateDuration`` (H-13/H-14).

    ``cel_min``: the CRD already enforces ``>= 1ms`` on this field (IVL011 reports it), so only
    the millisecond-precision rule, which no CRD rule has, is reported here.
    """
    ns = parse_duration(value)
    if ns is None:
        return []
    if ns < 1_000_000:
        return [] if cel_min else ["duration must be greater than 1ms"]
    if ns % 1_000_000:
        return ["only durations to ms precision are supported"]
    return []
