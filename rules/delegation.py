"""IVL410-IVL413: VirtualService delegation (docs/semantics.md §virtualservice-delegation).

A root VirtualService (one with hosts) hands an `http` route to a delegate VirtualService (one
without hosts) named by `delegate: {name, namespace}`; the namespace defaults to the root's.
istiod merges the two when it builds the root (pilot/pkg/model/virtualservice_controller.go,
`mergeVirtualServices`): a reference to a VirtualService that is not a delegate — missing, or
one with hosts — or to a delegate not exported to the root's namespace drops that root route,
and every delegate route whose match conflicts with the root route's match is dropped
(pilot/pkg/model/virtualservice.go, `mergeHTTPMatchRequests`, `hasConflict`).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import visible
from istio_vm_lint.model import VirtualService, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule


def _delegate_refs(vs: VirtualService) -> Iterator[tuple[int, dict[str, Any], str, str]]:
    """(route index, route, namespace, name) of each `http[].delegate` of a root VirtualService."""
    if not vs.hosts:
        return
    for i, route in enumerate(as_list(vs.spec.get("http"))):
        d = as_map(as_map(route).get("delegate"))
        name = as_str(d.get("name"))
        if not name:
            continue
        ns = as_str(d.get("namespace")) or vs.namespace
        yield i, as_map(route), ns, name


def _index(ctx: Context) -> dict[tuple[str, str], VirtualService]:
    """Every VirtualService of the repository by (namespace, name), the first of copies (also
    for a rule iterating fewer: ``lint/relevance.py``)."""
    def compute() -> dict[tuple[str, str], VirtualService]:
        out: dict[tuple[str, str], VirtualService] = {}
        for vs in ctx.resources(VirtualService):
            out.setdefault((vs.namespace, vs.name), vs)
        return out
    return ctx.memo("delegation.index", compute)


def _refs(ctx: Context) -> list[tuple[VirtualService, int, dict[str, Any], str, str]]:
    """(root, route index, route, namespace, name) of every `http[].delegate` of the
    repository, in its order (also for a rule iterating fewer: ``lint/relevance.py``)."""
    return ctx.memo("delegation.refs", lambda: [(vs, i, route, ns, name) for vs in ctx.resources(VirtualService)
                                                for i, route, ns, name in _delegate_refs(vs)])


def _delegations(ctx: Context, *, to_delegates: bool
                 ) -> Iterator[tuple[VirtualService, int, dict[str, Any], str, str, VirtualService]]:
    """(root, route index, route, namespace, name, target) of each `http[].delegate` of a root
    VirtualService that names a VirtualService of the repository: the targets that are
    delegates (no hosts) when ``to_delegates``, else those that are not."""
    index = _index(ctx)
    for vs in ctx.each(VirtualService):
        for i, route, ns, name in _delegate_refs(vs):
            d = index.get((ns, name))
            if d is not None and (not d.hosts) == to_delegates:
                yield vs, i, route, ns, name, d


# The root VirtualService of the examples (shop.example.com on shop-gateway); each example
# appends its http routes.
_SHOP_ROOT = """
    kind: VirtualService
    metadata: {name: shop, namespace: istio-system}
    spec:
      hosts: [shop.example.com]
      gateways: [shop-gateway]
      http:"""


# --- IVL410 -------------------------------------------------------------------------------------


@rule(
    code="IVL410", family="delegation", name="delegate-not-found", severity="error",
    summary="An http route delegates to a VirtualService that the repository does not define where it looks.",
    rationale="""
    `delegate.namespace` defaults to the root VirtualService's namespace, not the delegate's
    (docs/semantics.md §virtualservice-delegation). When no VirtualService has that name in
    that namespace istiod drops the root's route, and the requests it matched fall through to
    later routes or get a 404. Reported only where the repository manages delegates: when a
    delegate VirtualService of that name exists in another namespace (a forgotten
    `namespace`), or when the target namespace holds other delegate VirtualServices of the
    repository (a misspelt name). A delegate the repository does not contain at all is not
    judged.
    """,
    bad=_SHOP_ROOT + """
      - match: [{uri: {prefix: /inventory}}]
        delegate: {name: inventory}       # looked up in istio-system
    ---
    kind: VirtualService
    metadata: {name: inventory, namespace: shop}
    spec:
      http:
      - route: [{destination: {host: inventory.shop.svc.cluster.local}}]
    """,
    good=_SHOP_ROOT + """
      - match: [{uri: {prefix: /inventory}}]
        delegate: {name: inventory, namespace: shop}
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §virtualservice-delegation",),
)
def delegate_not_found(ctx: Context) -> Iterator[Problem]:
    index = _index(ctx)
    delegates_by_ns: dict[str, list[str]] = {}
    delegates_by_name: dict[str, list[VirtualService]] = {}
    for (ns, name), vs in index.items():
        if not vs.hosts:
            delegates_by_ns.setdefault(ns, []).append(name)
            delegates_by_name.setdefault(name, []).append(vs)
    # Reported: the roots iterated, and the roots whose missing delegate has the name of an
    # iterated delegate elsewhere (a named-file run iterates only what it can report on and
    # the delegate elsewhere is this finding's related resource: lint/relevance.py).
    roots = list(ctx.each(VirtualService))
    ids = {id(vs) for vs in roots}
    names = {d.name for d in roots if not d.hosts}
    if names:
        for vs, _i, _route, _ns, name in _refs(ctx):
            if name in names and id(vs) not in ids:
                ids.add(id(vs))
                roots.append(vs)
    for vs in roots:
        for i, _route, ns, name in _delegate_refs(vs):
            if (ns, name) in index:
                continue
            elsewhere = [d for d in delegates_by_name.get(name, []) if d.namespace != ns]
            if elsewhere:
                d = elsewhere[0]
                implicit = not as_str(as_map(as_map(as_list(vs.spec.get("http"))[i]).get("delegate")).get("namespace"))
                hint = (f" (the namespace defaults to the root VirtualService's, '{vs.namespace}')"
                        if implicit else "")
                yield Problem(vs, ("spec", "http", i, "delegate"),
                              f"VirtualService {vs.namespace}/{vs.name}: http[{i}] delegates to {ns}/{name}, which "
                              f"does not exist{hint}; the delegate VirtualService is {d.namespace}/{d.name}. Istio "
                              f"drops this route", related=((d, ()),))
            elif ns in delegates_by_ns:
                known = sorted(delegates_by_ns[ns])
                yield Problem(vs, ("spec", "http", i, "delegate", "name"),
                              f"VirtualService {vs.namespace}/{vs.name}: http[{i}] delegates to {ns}/{name}, which "
                              f"does not exist (delegate VirtualServices in '{ns}': {known}). Istio drops this route")


# --- IVL411 -------------------------------------------------------------------------------------


@rule(
    code="IVL411", family="delegation", name="delegate-has-hosts", severity="error",
    summary="An http route delegates to a VirtualService that has hosts, which Istio never uses as a delegate.",
    rationale="""
    Only a VirtualService without `hosts` can be a delegate; one with hosts is a root of its own
    and is not found when a root looks up its delegates (docs/semantics.md
    §virtualservice-delegation). The delegating route is dropped. Delegation is also one level
    deep: a delegate cannot delegate further (validation rejects it), so a chain or a loop of
    VirtualServices shows up here as a reference to a VirtualService with hosts. Remove `hosts`
    (and `gateways`) from the delegate: the root's hosts and gateways apply.
    """,
    bad=_SHOP_ROOT + """
      - delegate: {name: inventory, namespace: shop}
    ---
    kind: VirtualService
    metadata: {name: inventory, namespace: shop}
    spec:
      hosts: [shop.example.com]          # makes it a root, never a delegate
      http:
      - route: [{destination: {host: inventory.shop.svc.cluster.local}}]
    """,
    good="""
    kind: VirtualService
    metadata: {name: inventory, namespace: shop}
    spec:
      http:
      - route: [{destination: {host: inventory.shop.svc.cluster.local}}]
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §virtualservice-delegation",),
)
def delegate_has_hosts(ctx: Context) -> Iterator[Problem]:
    for vs, i, _route, ns, name, d in _delegations(ctx, to_delegates=False):
        what = "itself" if d is vs else f"{ns}/{name}"
        yield Problem(vs, ("spec", "http", i, "delegate"),
                      f"VirtualService {vs.namespace}/{vs.name}: http[{i}] delegates to {what}, which has hosts "
                      f"{d.hosts} and so is not a delegate; Istio drops this route (a delegate has no hosts, "
                      f"and delegation is one level deep)", related=((d, ("spec", "hosts")),))


# --- IVL412 -------------------------------------------------------------------------------------


@rule(
    code="IVL412", family="delegation", name="delegate-not-exported-to-root", severity="error",
    summary="A delegate VirtualService's exportTo hides it from the namespace of the root that delegates to it.",
    rationale="""
    istiod merges a delegate into a root only when the delegate's `exportTo` includes the root
    VirtualService's namespace (or `*`); otherwise the delegating route is dropped
    (docs/semantics.md §virtualservice-delegation). A delegate exported only to its own
    namespace (`.`) cannot serve a root in `istio-system` or an ingress namespace.
    """,
    bad=_SHOP_ROOT + """
      - delegate: {name: inventory, namespace: shop}
    ---
    kind: VirtualService
    metadata: {name: inventory, namespace: shop}
    spec:
      exportTo: ["."]                    # the root is in istio-system
      http:
      - route: [{destination: {host: inventory.shop.svc.cluster.local}}]
    """,
    good="""
    kind: VirtualService
    metadata: {name: inventory, namespace: shop}
    spec:
      exportTo: [".", istio-system]
      http:
      - route: [{destination: {host: inventory.shop.svc.cluster.local}}]
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §virtualservice-delegation",),
)
def delegate_not_exported(ctx: Context) -> Iterator[Problem]:
    for vs, i, _route, ns, name, d in _delegations(ctx, to_delegates=True):
        if not isinstance(d.spec.get("exportTo"), list):
            continue  # the mesh default (not known here, "*" unless configured)
        if visible(d.export_to, d.namespace, vs.namespace):
            continue
        yield Problem(vs, ("spec", "http", i, "delegate"),
                      f"VirtualService {vs.namespace}/{vs.name}: http[{i}] delegates to {ns}/{name}, whose "
                      f"exportTo {list(d.export_to)} does not include '{vs.namespace}'; Istio drops this route",
                      related=((d, ("spec", "exportTo")),))


# --- IVL413 -------------------------------------------------------------------------------------

_URI_KEYS = ("uri", "scheme", "method", "authority")


def _string_match(m: Any) -> Optional[tuple[str, str]]:
    """(kind, value) of a StringMatch, or None when it is unset or not one we can judge."""
    m = as_map(m)
    for kind in ("exact", "prefix", "regex"):
        v = m.get(kind)
        if isinstance(v, str) and v:
            return kind, v
    return None


def _string_conflict(root: Any, leaf: Any) -> bool:
    """pilot/pkg/model/virtualservice.go stringMatchConflict (unset or unknown matches never conflict)."""
    r, lf = _string_match(root), _string_match(leaf)
    if r is None or lf is None:
        return False
    if r[0] == "regex" or lf[0] == "regex":
        return True
    if r[0] == "exact":
        return lf[0] != "exact" or lf[1] != r[1]
    return not lf[1].startswith(r[1])  # root prefix: the leaf (exact or prefix) must lie within it


def _has_conflict(root: dict[str, Any], leaf: dict[str, Any]) -> Optional[str]:
    """pilot/pkg/model/virtualservice.go hasConflict: the first conflicting field, or None."""
    for k in _URI_KEYS:
        if _string_conflict(root.get(k), leaf.get(k)):
            return k
    for field in ("headers", "withoutHeaders", "queryParams"):
        rm = as_map(root.get(field))
        for key, value in as_map(leaf.get(field)).items():
            if _string_conflict(rm.get(key), value):
                return f"{field}.{key}"
    if bool(root.get("ignoreUriCase") is True) != bool(leaf.get("ignoreUriCase") is True):
        return "ignoreUriCase"
    rp, lp = root.get("port"), leaf.get("port")
    if isinstance(rp, int) and isinstance(lp, int) and rp > 0 and lp > 0 and rp != lp:
        return "port"
    rns = as_str(root.get("sourceNamespace"))
    if rns and as_str(leaf.get("sourceNamespace")) != rns:
        return "sourceNamespace"
    rl = as_map(root.get("sourceLabels"))
    for key, value in as_map(leaf.get("sourceLabels")).items():
        if key in rl and rl[key] != value:
            return f"sourceLabels.{key}"
    rg = [g for g in as_list(root.get("gateways")) if isinstance(g, str)]
    lg = [g for g in as_list(leaf.get("gateways")) if isinstance(g, str)]
    if rg and lg and (len(rg) < len(lg) or any(g not in rg for g in lg)):
        return "gateways"
    return None


def _fmt(m: dict[str, Any]) -> str:
    parts = []
    for k in _URI_KEYS:
        sm = _string_match(m.get(k))
        if sm:
            parts.append(f"{k} {sm[0]} {sm[1]!r}")
    return ", ".join(parts) or "{...}"


@rule(
    code="IVL413", family="delegation", name="delegate-match-conflicts-with-root", severity="warning",
    summary="A delegate's http route has a match that lies outside every match of the root route that delegates to it.",
    rationale="""
    istiod merges each delegate route's match into the root route's match; a delegate match
    must be a subset of one of the root's matches — an exact URI equal to the root's, a prefix
    or exact URI starting with the root's prefix, the same `ignoreUriCase`, no regex on either
    side, equal headers, port, sourceNamespace, sourceLabels, gateways where both set them.
    A delegate route none of whose matches fits is silently dropped (docs/semantics.md
    §virtualservice-delegation); the classic case is a delegate written relative to the root's
    prefix (`/v1` under a root matching `/inventory`): the delegate sees full paths.
    """,
    bad=_SHOP_ROOT + """
      - match: [{uri: {prefix: /inventory}}]
        delegate: {name: inventory, namespace: shop}
    ---
    kind: VirtualService
    metadata: {name: inventory, namespace: shop}
    spec:
      http:
      - match: [{uri: {prefix: /v1}}]    # not under /inventory: dropped
        route: [{destination: {host: inventory.shop.svc.cluster.local}}]
    """,
    good="""
    kind: VirtualService
    metadata: {name: inventory, namespace: shop}
    spec:
      http:
      - match: [{uri: {prefix: /inventory/v1}}]
        route: [{destination: {host: inventory.shop.svc.cluster.local}}]
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §virtualservice-delegation",),
)
def delegate_match_conflict(ctx: Context) -> Iterator[Problem]:
    # Reported: the delegates iterated, each with the roots delegating to it in the
    # repository's order (a named-file run iterates only what it can report on:
    # lint/relevance.py); a delegate route is reported against the first root it conflicts with.
    index = _index(ctx)
    incoming: dict[int, list[tuple[VirtualService, int, dict[str, Any]]]] = {}
    for vs, i, route, ns, name in _refs(ctx):
        target = index.get((ns, name))
        if target is not None and not target.hosts:
            incoming.setdefault(id(target), []).append((vs, i, route))
    seen: set[tuple[int, int]] = set()
    for d in ctx.each(VirtualService):
        for vs, i, route in incoming.get(id(d), ()):
            root_matches = [as_map(m) for m in as_list(route.get("match"))]
            if not root_matches or not all(isinstance(m, dict) for m in as_list(route.get("match"))):
                continue
            for j, leaf_route in enumerate(as_list(d.spec.get("http"))):
                raw = as_list(as_map(leaf_route).get("match"))
                if not raw or not all(isinstance(m, dict) for m in raw):
                    continue
                for k, leaf in enumerate(raw):
                    reasons = [_has_conflict(r, leaf) for r in root_matches]
                    if all(reasons) and (id(d), j) not in seen:
                        seen.add((id(d), j))
                        why = "; ".join(f"root match [{_fmt(r)}]: {why}" for r, why in zip(root_matches, reasons, strict=False))
                        yield Problem(d, ("spec", "http", j, "match", k),
                                      f"VirtualService {d.namespace}/{d.name}: http[{j}] match [{_fmt(leaf)}] is not "
                                      f"within any match of http[{i}] of root {vs.namespace}/{vs.name} ({why}); "
                                      f"Istio drops this route when merging the delegate",
                                      related=((vs, ("spec", "http", i, "match")),))
                        break

