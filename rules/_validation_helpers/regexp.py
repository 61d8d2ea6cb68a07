"""Istio's ``validateStringRegexp`` on top of the Go ``regexp/syntax`` port in ``rules/_goregexp.py``."""

from __future__ import annotations

from typing import Optional

from .._goregexp import go_regexp_error
from .gofmt import goq


def string_regexp_error(expr: str, where: str) -> Optional[str]:
    """``validateStringRegexp`` (VS-29)."""
    if len(expr.encode("utf-8", "surrogatepass")) > 1024:
        return f"{goq(where)}: regex is too large, max length allowed is 1024"
    e = go_regexp_error(expr)
    if e:
        return f"{goq(where)}: {e}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"
    return None
