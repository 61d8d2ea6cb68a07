"""Go's ``time.ParseDuration``, ported: the one duration parser of the rules.

Istio decodes ``google.protobuf.Duration`` fields from their JSON/YAML string form with the
protobuf JSON rules, and the CRDs' CEL rules use ``duration(string)``; both end in Go's
``time.ParseDuration`` (src/time/format.go), which this follows step by step, including its
overflow checks and its float64 arithmetic for fractions.
"""

from __future__ import annotations

from typing import Optional

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DIGITS = "0123456789"
_U63 = 1 << 63


def _leading_int(s: str) -> tuple[Optional[int], str]:
    """``leadingInt``: the digits at the start of ``s`` (None on overflow of 1<<63)."""
    x = 0
    i = 0
    while i < len(s) and s[i] in _DIGITS:
        if x > _U63 // 10:
            return None, s
        x = x * 10 + ord(s[i]) - 48
        if x > _U63:
            return None, s
        i += 1
    return x, s[i:]


def _leading_fraction(s: str) -> tuple[int, float, str]:
    """``leadingFraction``: digits after the dot; those that would overflow are skipped."""
    x = 0
    scale = 1.0
    overflow = False
    i = 0
    while i < len(s) and s[i] in _DIGITS:
        if not overflow:
            if x > (_U63 - 1) // 10:
                overflow = True
            else:
                y = x * 10 + ord(s[i]) - 48
                if y > _U63:
                    overflow = True
                else:
                    x = y
                    scale *= 10
        i += 1
    return x, scale, s[i:]


def parse_go_duration(text: str) -> Optional[int]:
    """The duration in nanoseconds, or None where Go returns an error.

    ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`` with units ns, us (µs, μs), ms, s, m, h; ``"0"`` is
    the only value without a unit; the result must fit an int64.
    """
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        return None
    d = 0
    while s:
        if not (s[0] == "." or s[0] in _DIGITS):
            return None
        before = len(s)
        v, s = _leading_int(s)
        if v is None:
            return None
        pre = before != len(s)
        post = False
        f, scale = 0, 1.0
        if s and s[0] == ".":
            s = s[1:]
            before = len(s)
            f, scale, s = _leading_fraction(s)
            post = before != len(s)
        if not pre and not post:
            return None  # no digits, e.g. ".s"
        i = 0
        while i < len(s) and s[i] != "." and s[i] not in _DIGITS:
            i += 1
        if i == 0:
            return None  # missing unit
        unit = _UNITS.get(s[:i])
        s = s[i:]
        if unit is None:
            return None  # unknown unit
        if v > _U63 // unit:
            return None
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > _U63:
                return None
        d += v
        if d > _U63:
            return None
    if neg:
        return -d
    if d > _U63 - 1:
        return None
    return d
