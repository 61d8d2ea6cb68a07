"""The index of the closure (``lint/relevance.py``): the keys each resource is indexed under,
as ``(tag, key)`` entries and as the strings a context file's cached key set holds."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .semantics import host_matches

if TYPE_CHECKING:  # pragma: no cover
    from .model import Resource

# Kinds whose objects configure a whole namespace (or the mesh, in the root namespace).
POLICY_KINDS = frozenset({"Sidecar", "PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication",
                          "Telemetry", "EnvoyFilter", "WasmPlugin", "Namespace", "ProxyConfig"})


def enc(tag: str, key: Any) -> str:
    """The string a file's key set (``Closure``) holds for index ``tag`` and ``key``;
    the names a resource mentions (``S``) are kept without the namespace.  Two keys may give
    one string (a label key that is a number): a file then only looks relevant once more."""
    if tag == "S":
        return f"S\0{key[1]}"
    if tag == "M":
        return f"M\0{key[0]}\0{key[1]}"
    if tag == "L":
        return f"L\0{key[0]}\0{key[1][0]}\0{key[1][1]}"
    return f"{tag}\0{key}"


def entries(r: "Resource", t: tuple[Any, ...], names: Optional[set[str]], namespaces: set[str]
             ) -> Iterable[tuple[str, Any]]:
    """The index entries ``(tag, key)`` of one resource with the ``relevance.resolved`` keys ``t``;
    with ``names`` None, the entries of its file's key set (every string as a name)."""
    strings, pairs, empty, imports, wild, typed, dotted, labels, eg = t
    ns, kind = r.namespace, r.kind
    nso = r.name if kind == "Namespace" else ns
    yield "N", nso
    yield "M", (ns, r.name)
    if kind in POLICY_KINDS:
        yield "P", nso
    if names is None:
        for s in strings:
            yield "S", (None, s)
    else:
        hit = names.intersection(strings)
        if hit:  # looked up by the names of resources only
            mentions = namespaces.intersection(strings) | namespaces.intersection(labels)
            mentions.discard("")
            mentions.add(ns)
            for s in hit:
                for m in mentions:
                    yield "S", (m, s)
    for h in typed:
        yield "T", h
    for h in dotted:
        yield "D", h
    for a in imports:
        yield "I", a
    if eg is not None:
        for h in set(eg[3]).union(eg[2]):
            yield "D", h
        for a in eg[0]:
            yield "I", a
    for pair in pairs:
        yield "L", (ns, pair)
    if empty:
        yield "E", ns
    if typed or wild:
        yield "H", ns


def wild_of(t: tuple[Any, ...]) -> list[str]:
    return list(t[4]) + (list(t[8][1]) if t[8] is not None else [])


class Probe:
    """Stands for the index while a step of the expansion is tried out: records what it
    would look up (as :func:`enc` strings) and finds nothing."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.patterns: set[str] = set()

    def get(self, tag: str, key: Any) -> tuple[int, ...]:
        self.keys.add(enc(tag, key))
        return ()

    def hosts_matching(self, w: str) -> tuple[int, ...]:
        self.patterns.add(w)
        return ()


class Index:
    """The resources of the indexed files by each key (:func:`entries`)."""

    def __init__(self) -> None:
        self.d: dict[str, defaultdict[Any, list[int]]] = {t: defaultdict(list) for t in "NMPSTDILEH"}

    def get(self, tag: str, key: Any) -> list[int]:
        return self.d[tag].get(key, [])

    def hosts_matching(self, w: str) -> list[int]:
        out: list[int] = []
        for tag in "TD":
            for h, js in self.d[tag].items():
                if host_matches(w, h):
                    out.extend(js)
        return out
