"""Go's ``%q`` and ``%v`` formatting, so messages quote values exactly as Istio's Go code does."""

from __future__ import annotations

import math
from typing import Any


def goq(value: str) -> str:
    """Go's ``%q`` (``strconv.Quote``) of a string."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def gov(value: Any) -> str:
    """Go's ``%v`` of a scalar or list of scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return gofloat(value)
    if isinstance(value, int) and abs(value) > 10**30:
        return f"{value:d}" if value.bit_length() < 14000 else "<huge>"
    if isinstance(value, list):
        return "[" + " ".join(gov(v) for v in value) + "]"
    return str(value)


def gofloat(value: float) -> str:
    """Go's ``%v`` of a float64 (shortest representation, ``1e+06`` for large exponents)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if abs(value) < 1e21 and value == int(value):
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mant}e{sign}{digits}"
    return text


def gofloat_f(value: float) -> str:
    """Go's ``%f``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6f}"
