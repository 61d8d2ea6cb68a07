"""VS-63: VirtualService routes that an earlier route always matches first (``validateRoutes``'
unreachable-rule warnings, with Go's ``coveredValidation``)."""

from __future__ import annotations

import json
from typing import Any

from istio_vm_lint.findings import FieldPath
from istio_vm_lint.model import as_list, as_map

from .gofmt import goq
from .issues import Issues
from .values import get_int, get_str

UNREACHABLE = "VS-63"


def _omit_empty(value: Any) -> Any:
    """Go's ``json.Marshal`` of a proto struct omits zero values (``omitempty``)."""
    if isinstance(value, dict):
        out = {k: _omit_empty(x) for k, x in value.items()}
        return {k: x for k, x in out.items() if x not in (None, False, 0, "", [], {})}
    if isinstance(value, list):
        return [_omit_empty(x) for x in value]
    return value


# ``json.dumps(x, sort_keys=True, default=str)`` builds this encoder on every call.
_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def _canon(match: Any, drop_name: bool) -> str:
    if isinstance(match, dict) and drop_name:
        match = {k: val for k, val in match.items() if k != "name"}
    return _ENCODER.encode(_omit_empty(match))


def _exact_or_prefix(sm: Any) -> str:
    m = as_map(sm)
    if get_str(m, "exact"):
        return "exact:" + get_str(m, "exact")
    if get_str(m, "prefix"):
        return "prefix:" + get_str(m, "prefix")
    return ""


def unreachable_routes(v: Issues, kind: str, routes: list[Any]) -> None:
    """``analyzeUnreachable{HTTP,TCP,TLS}Rules`` (VS-63); findings point at the unused rule/match."""
    http = kind == "http"

    def rname(r: Any, n: int) -> str:
        if http and isinstance(r, dict) and get_str(r, "name"):
            return goq(get_str(r, "name"))
        return f"#{n}"

    def mname(m: Any, n: int) -> str:
        if http and isinstance(m, dict) and get_str(m, "name"):
            return goq(get_str(m, "name"))
        return f"#{n}"

    seen: dict[str, int] = {}
    empty = -1
    prefixed: list[dict[str, Any]] = []
    for rn, r in enumerate(routes):
        if not isinstance(r, dict):
            continue
        rp: FieldPath = ("spec", kind, rn)
        matches = as_list(r.get("match"))
        if not matches:
            if empty >= 0:
                v.warn(rp, UNREACHABLE, f"virtualService rule {rname(r, rn)} not used (only the last rule can have no matches)")
            empty = rn
            continue
        dups = 0
        for mn, m in enumerate(matches):
            mp = rp + ("match", mn)
            if empty >= 0:
                v.warn(mp, UNREACHABLE, f"virtualService rule {rname(r, rn)} not used (route without matches defined before)")
                continue
            key = _canon(m, http)
            if key in seen:
                d = seen[key]
                v.warn(mp, UNREACHABLE, f"virtualService rule {rname(r, rn)} match {mname(m, mn)} is not used "
                                        f"(duplicate/overlapping match in rule {rname(routes[d], d)})")
                dups += 1
                continue
            seen[key] = rn
            if http and isinstance(m, dict):
                uri = m.get("uri")
                prefix = get_str(as_map(uri), "prefix") if isinstance(uri, dict) else ""
                if prefix:
                    method = _exact_or_prefix(m.get("method")) or "exact:GET"
                    prefixed.append({
                        "route": (r, rn), "match": (m, mn), "prefix": prefix, "path": mp,
                        "port": get_int(m, "port") or 0, "method": method,
                        "authority": _exact_or_prefix(m.get("authority")),
                        "headers": {k: _exact_or_prefix(x) for k, x in as_map(m.get("headers")).items()},
                        "query": {k: _exact_or_prefix(x) for k, x in as_map(m.get("queryParams")).items()},
                        "without": {k: _exact_or_prefix(x) for k, x in as_map(m.get("withoutHeaders")).items()},
                    })
        if dups == len(matches):
            v.warn(rp, UNREACHABLE, f"virtualService rule {rname(r, rn)} not used (all matches used by prior rules)")
    for i, a in enumerate(prefixed):
        for b in prefixed[i + 1:]:
            if b["prefix"] == a["prefix"] or not _covered(a, b):
                continue
            # (names are quoted only for a message: most prefixed matches have none)
            v.warn(b["path"], UNREACHABLE,
                   f"virtualService rule {rname(*b['route'])} match {mname(*b['match'])} of prefix {b['prefix']} is not "
                   f"used (duplicate/overlapping match in rule {mname(*a['match'])} of prefix {a['prefix']} on "
                   f"{rname(*a['route'])})")


def _covered(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """``coveredValidation``: does earlier match ``a`` cover later match ``b``?"""
    if not b["prefix"].startswith(a["prefix"]) or a["port"] != b["port"]:
        return False
    for key in ("method", "authority"):
        if a[key] != b[key] and not a[key].startswith(b[key]):
            return False
    for key in ("headers", "query", "without"):
        am, bm = a[key], b[key]
        if len(am) != len(bm):
            return False
        for k, val in am.items():
            if k not in bm or (val != bm[k] and not val.startswith(bm[k])):
                return False
    return True
