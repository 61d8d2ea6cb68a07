"""Go ``regexp/syntax`` parse errors, ported: Istio compiles VirtualService and header match
regexes with Go's RE2 engine, which rejects syntax Python accepts (look-arounds,
back-references, possessive repeats...), with messages of its own (``error parsing regexp:
...``).  Best effort: the errors Istio users meet, with Go's exact wording."""

from __future__ import annotations

import functools
import re
from typing import Optional

_PERL_CLASSES = set("dDsSwW")
_ESCAPE_OK = set("afnrtv") | set("bBAz") | _PERL_CLASSES


@functools.lru_cache(maxsize=4096)
def go_regexp_error(expr: str) -> Optional[str]:
    """Best-effort port of Go ``regexp/syntax`` parse errors (``error parsing regexp: ...``).

    Covers what users hit in practice: PCRE-only constructs (lookaround, backreferences,
    ``\\Z``), unbalanced parentheses and brackets, repetition without an argument, nested
    repetition and repeat counts above 1000.  Anything Go would accept is accepted.
    """

    def err(code: str, arg: str) -> str:
        return f"error parsing regexp: {code}: `{arg}`"

    depth = 0
    i, n = 0, len(expr)
    can_repeat = False  # is there an operand the next repetition operator applies to?
    last_was_repeat = False
    while i < n:
        c = expr[i]
        if c == "\\":
            if i + 1 >= n:
                return err("trailing backslash at end of expression", "")
            d = expr[i + 1]
            if d in "123456789":
                if i + 2 < n and expr[i + 2].isdigit():
                    i += 3  # octal
                else:
                    return err("invalid escape sequence", expr[i:i + 2])
            elif d == "0" or d in _ESCAPE_OK or (ord(d) < 128 and not d.isalnum()) or ord(d) >= 128:
                i += 2
            elif d in "pP":
                if i + 2 < n and expr[i + 2] == "{":
                    end = expr.find("}", i + 2)
                    if end < 0:
                        return err("invalid character class range", expr[i:])
                    i = end + 1
                else:
                    i += 3
            elif d == "x":
                if i + 2 < n and expr[i + 2] == "{":
                    end = expr.find("}", i + 2)
                    if end < 0 or not re.fullmatch(r"[0-9A-Fa-f]+", expr[i + 3:end]):
                        return err("invalid escape sequence", expr[i:end + 1 if end >= 0 else n])
                    i = end + 1
                elif re.fullmatch(r"[0-9A-Fa-f]{2}", expr[i + 2:i + 4]):
                    i += 4
                else:
                    return err("invalid escape sequence", expr[i:i + 4])
            elif d == "Q":
                end = expr.find("\\E", i + 2)
                i = n if end < 0 else end + 2
            else:
                return err("invalid escape sequence", expr[i:i + 2])
            can_repeat, last_was_repeat = True, False
            continue
        if c == "[":
            j = i + 1
            if j < n and expr[j] == "^":
                j += 1
            if j < n and expr[j] == "]":
                j += 1
            prev: Optional[str] = None
            while j < n and expr[j] != "]":
                if expr[j] == "\\":
                    j += 2
                    prev = None
                    continue
                if expr[j] == "[" and expr[j + 1:j + 2] == ":":
                    end = expr.find(":]", j + 2)
                    if end >= 0:
                        j = end + 2
                        prev = None
                        continue
                if expr[j] == "-" and prev is not None and j + 1 < n and expr[j + 1] != "]":
                    hi = expr[j + 1]
                    if hi == "\\":
                        j += 3
                        prev = None
                        continue
                    if hi < prev:
                        return err("invalid character class range", f"{prev}-{hi}")
                    j += 2
                    prev = None
                    continue
                prev = expr[j]
                j += 1
            if j >= n:
                return err("missing closing ]", expr[i:])
            i = j + 1
            can_repeat, last_was_repeat = True, False
            continue
        if c == "(":
            if expr.startswith("(?", i):
                m = re.match(r"\(\?(P?<[A-Za-z0-9_]+>|[imsU]*(-[imsU]+)?[:)])", expr[i:])
                if not m:
                    if expr.startswith("(?P<", i) or expr.startswith("(?<", i) and not expr.startswith(("(?<=", "(?<!"), i):
                        end = expr.find(">", i)
                        return err("invalid named capture", expr[i:end + 1] if end >= 0 else expr[i:])
                    return err("invalid or unsupported Perl syntax", expr[i:i + 3])
                if m.group(0).endswith(")"):
                    i += len(m.group(0))
                    continue
                i += len(m.group(0))
            else:
                i += 1
            depth += 1
            can_repeat, last_was_repeat = False, False
            continue
        if c == ")":
            if depth == 0:
                return err("unexpected )", expr)
            depth -= 1
            i += 1
            can_repeat, last_was_repeat = True, False
            continue
        if c == "|":
            i += 1
            can_repeat, last_was_repeat = False, False
            continue
        if c in "*+?":
            op = c
            if i + 1 < n and expr[i + 1] == "?":
                op += "?"
            if last_was_repeat:
                return err("invalid nested repetition operator", expr[i - 1:i + len(op)] if i else op)
            if not can_repeat:
                return err("missing argument to repetition operator", op)
            i += len(op)
            last_was_repeat = True
            continue
        if c == "{":
            m = re.match(r"\{(\d+)(,(\d*))?\}\??", expr[i:])
            if m:
                lo = int(m.group(1)[:5])
                hi = m.group(3)[:5] if m.group(3) else m.group(3)
                if lo > 1000 or (hi and int(hi) > 1000) or (hi and int(hi) < lo):
                    return err("invalid repeat count", m.group(0).rstrip("?"))
                if last_was_repeat:
                    return err("invalid nested repetition operator", m.group(0))
                if not can_repeat:
                    return err("missing argument to repetition operator", m.group(0))
                i += len(m.group(0))
                last_was_repeat = True
                continue
        i += 1
        can_repeat, last_was_repeat = c not in "^$", False
        if c in "^$":
            can_repeat = True  # Go allows "^*" (repeat of an empty-width assertion)
    if depth:
        return err("missing closing )", expr)
    return None
