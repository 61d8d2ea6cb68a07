"""IVL127: a route to a subset that callers in other namespaces cannot resolve.

A mesh VirtualService applies to every client namespace it is exported to, but each client
resolves the route's subset with the DestinationRule on *its own* lookup path (client
namespace, service namespace, root namespace, with exportTo; docs/semantics.md
§destinationrule-lookup). A subset defined only by a rule that is hidden from a calling
namespace leaves that caller a route to a cluster that does not exist.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import MeshService, visible
from istio_vm_lint.model import AuthorizationPolicy, Sidecar, VirtualService, as_list, as_map, as_str, str_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.workload_selectors import SELECTABLE, policy_scope, selected_workloads
from istio_vm_lint.semantics import resolve_host


def _callers(ctx: Context, svc: MeshService) -> dict[str, str]:
    """Namespaces the repository shows calling ``svc``, with the evidence: a Sidecar importing the
    host by name, or an ALLOW AuthorizationPolicy on its workloads naming the namespace."""
    graph = ctx.graph
    imports, policies = ctx.memo("subset_callers.evidence", lambda: _evidence(ctx))
    out: dict[str, str] = {}
    for _, sc, host in sorted(imports.get("*", []) + imports.get(svc.namespace, []), key=lambda t: t[0]):
        if resolve_host(host, svc.namespace, graph.domain) == svc.host:
            out.setdefault(sc.namespace, f"Sidecar {sc.namespace}/{sc.name} imports it")
    endpoints = {id(w) for w in graph.endpoints([svc])}
    if not endpoints:
        return out
    for ap, selected, names in policies:
        if selected.isdisjoint(endpoints):
            continue
        for n in names:
            if n:
                out.setdefault(n, f"AuthorizationPolicy {ap.namespace}/{ap.name} admits it")
    return out


def _evidence(ctx: Context) -> tuple[dict[str, list[tuple[int, Sidecar, str]]],
                                     list[tuple[AuthorizationPolicy, set[int], list[str]]]]:
    """Indexed once per run for :func:`_callers`: the Sidecars' ``ns/host`` imports by namespace
    part ("*" or a namespace), in order; each ALLOW AuthorizationPolicy without targetRefs with
    the ids of the workloads it selects and the namespaces its sources name."""
    graph = ctx.graph
    imports: dict[str, list[tuple[int, Sidecar, str]]] = {}
    seq = 0  # Sidecar order, then host order: the first evidence for a namespace is kept
    for sc in ctx.resources(Sidecar):  # every caller, whichever resources the rule iterates
        for raw, _ in sc.egress_hosts:
            ns, sep, host = raw.partition("/")
            if not sep or "*" in host:
                continue
            ns = sc.namespace if ns == "." else ns
            imports.setdefault(ns, []).append((seq, sc, host))
            seq += 1
    policies: list[tuple[AuthorizationPolicy, set[int], list[str]]] = []
    for ap in ctx.resources(AuthorizationPolicy):
        if ap.action != "ALLOW" or ap.target_refs:
            continue
        sel = ap.selector or {}
        selected = {id(w) for w in selected_workloads(graph, sel, policy_scope(ctx, ap))}
        names: list[str] = []
        for r in as_list(ap.spec.get("rules")):
            for item in as_list(as_map(r).get("from")):
                src = as_map(as_map(item).get("source"))
                names.extend(as_str(n) for n in as_list(src.get("namespaces")) if "*" not in as_str(n))
                for p in as_list(src.get("principals")):
                    parts = as_str(p).split("/")
                    if len(parts) == 5 and parts[1] == "ns" and "*" not in parts[2]:
                        names.append(parts[2])
        policies.append((ap, selected, names))
    return imports, policies


@rule(
    code="IVL127", family="selectors", name="subset-hidden-from-calling-namespace", severity="warning",
    summary="A mesh route sends to a subset whose DestinationRule is hidden from a namespace the repository shows calling the host, so those callers get 503s.",
    rationale="""
    A VirtualService bound to `mesh` is applied by the sidecars of every namespace it is
    exported to, and each of them resolves `destination.subset` with the DestinationRule on its
    own lookup path — its namespace, the service's, the root namespace, among the rules exported
    to it (docs/semantics.md §destinationrule-lookup, §subsets). When the rule defining the
    subset is exported only to its own namespace (`exportTo: ["."]`) or lives in the
    VirtualService's client namespace, a caller elsewhere follows the route to a subset cluster
    it does not have and gets `503 NC`. IVL108 reports a subset no client gets; this rule
    reports the namespaces the repository shows calling the host — a Sidecar importing it by
    name, an ALLOW AuthorizationPolicy on its workloads admitting that namespace or its service
    accounts, a route's `sourceNamespace` — to which the VirtualService applies but the subset
    does not.
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: stock, namespace: inventory}
    spec:
      host: stock.inventory.svc.cluster.local
      exportTo: ["."]            # the shop pods (allowed by an AuthorizationPolicy) never get v1/v2
      subsets: [{name: v1, labels: {version: v1}}]
    """,
    good="""
    kind: DestinationRule
    metadata: {name: stock, namespace: inventory}
    spec:
      host: stock.inventory.svc.cluster.local
      subsets: [{name: v1, labels: {version: v1}}]
    """,
    inputs=("VirtualService", "DestinationRule", "Sidecar", "AuthorizationPolicy"),
    equivalents=(),
    references=("docs/semantics.md §destinationrule-lookup", "docs/semantics.md §subsets"),
)
def subset_hidden_from_calling_namespace(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    memo: dict[str, dict[str, str]] = {}
    for vs in ctx.each(VirtualService):
        if "mesh" not in vs.gateways:
            continue
        for dref in graph.destinations(vs):
            rd = vs.destinations[dref.dest_index]
            if not dref.subset or not dref.services or "mesh" not in rd.gateways:
                continue
            svc = dref.services[0]
            if svc.id not in memo:
                memo[svc.id] = _callers(ctx, svc)
            routes = as_list(vs.spec.get(rd.route_kind))
            idx = dref.path[2] if len(dref.path) > 2 else None
            route = as_map(routes[idx]) if isinstance(idx, int) and idx < len(routes) else {}
            source_ns = {as_str(as_map(m).get("sourceNamespace")) for m in as_list(route.get("match"))}
            callers = dict(memo[svc.id])
            for m in as_list(route.get("match")):
                sl = str_map(as_map(m).get("sourceLabels"))
                sn = as_str(as_map(m).get("sourceNamespace"))
                if sn:
                    callers.setdefault(sn, f"route match sourceNamespace '{sn}'")
                elif sl:
                    for w in graph.select_any_namespace(sl, SELECTABLE):
                        callers.setdefault(w.namespace, f"route match sourceLabels selects {w.kind} {w.namespace}/{w.resource.name}")
            if "" not in source_ns and source_ns:
                callers = {c: e for c, e in callers.items() if c in source_ns}
            for ns in sorted(callers):
                if ns == vs.namespace or not visible(vs.export_to, vs.namespace, ns) \
                        or not visible(svc.export_to, svc.namespace, ns):
                    continue
                edr = graph.effective_dr(ns, dref.host, svc.namespace)
                if edr is not None and dref.subset in edr.subsets:
                    continue
                own = graph.effective_dr(vs.namespace, dref.host, svc.namespace)
                if own is None or dref.subset not in own.subsets:
                    continue  # the VirtualService's own namespace lacks it too: IVL108's
                got = ("no DestinationRule" if edr is None else
                       "DestinationRule " + ", ".join(f"{r.namespace}/{r.name}" for r in edr.rules)
                       + f" (subsets: {', '.join(sorted(edr.subsets)) or 'none'})")
                yield Problem(vs, dref.path + ("subset",),
                              f"VirtualService {vs.namespace}/{vs.name} routes to subset '{dref.subset}' of {dref.host}, "
                              f"and applies to namespace '{ns}', which calls it ({callers[ns]}), but clients there get "
                              f"{got}: they are sent to a subset cluster they do not have (503) — export the rule "
                              f"defining '{dref.subset}' to '{ns}' (§destinationrule-lookup)")
                break
