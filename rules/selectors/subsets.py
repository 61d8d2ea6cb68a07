"""IVL107, IVL108: DestinationRule subsets (endpoints they select; subsets routes name)."""

from __future__ import annotations

from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import (
    MeshGraph,
    Workload,
    cluster_namespace,
    host_matches,
    visible,
)
from istio_vm_lint.model import DestinationRule, Gateway, Service, ServiceEntry, VirtualService
from istio_vm_lint.rule import Context, rule

from .._messages import describe, rkey, sel_str, wkey
from ._common import _DNS_LABEL, RUNTIME_LABEL_PREFIXES, RUNTIME_LABELS, near_related, nearest, nearest_hint

# --- IVL107 -------------------------------------------------------------------------------------


def _runtime_key(k: str) -> bool:
    return k in RUNTIME_LABELS or k.startswith(RUNTIME_LABEL_PREFIXES)


def host_endpoints(graph: MeshGraph, host: str, viewer_ns: str) -> Optional[list[Workload]]:
    """The endpoints the repository knows for ``host``, or None when it cannot know them
    (no service, NONE/DNS-without-endpoints ServiceEntries, Services without selector, empty)."""
    services = graph.lookup(host, viewer_ns)
    if not services:
        return None
    out: list[Workload] = []
    for svc in services:
        r = svc.resource
        if isinstance(r, ServiceEntry):
            if r.resolution not in ("STATIC", "DNS", "DNS_ROUND_ROBIN"):
                return None
            if r.selector is None and not r.endpoints:
                return None  # DNS resolves the hosts themselves; STATIC empty is another problem
        elif isinstance(r, Service) and (not r.selector or r.service_type == "ExternalName"):
            return None
        bs = graph.bindings_by_service.get(id(r), ())
        if not bs:
            return None  # empty service: the selector rules report it
        out.extend(b.workload for b in bs)
    return out


def _routed_subsets(ctx: Context) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for vs in ctx.resources(VirtualService):
        for d in ctx.graph.destinations(vs):
            if d.subset:
                out.add((d.host, d.subset))
    return out


@rule(
    code="IVL107", family="selectors", name="subset-matches-no-endpoints", severity="error",
    summary="A DestinationRule subset's labels match none of the endpoints of the rule's host.",
    rationale="""
    Subset labels filter the endpoints of the DestinationRule's host, whatever registry
    produced them: pod labels, WorkloadEntry labels (metadata ∪ spec), inline endpoint labels
    (docs/semantics.md §label-selection, §subsets). A subset that keeps no endpoint turns every route to it
    into 503 `UH`. `istioctl analyze` IST0173 looks at Pod objects of any
    namespace and ignores WorkloadEntries (false positives for VM-only subsets, A17, false
    negatives for pods of other services); Kiali KIA0203 does not consult WorkloadEntries
    selected by a ServiceEntry selector either. Here the subset is matched against exactly the
    endpoints the host resolves to (the ServiceEntry/Service selection of §label-selection). Silent when the
    repository cannot know the endpoints: hosts not defined in the repository, `resolution`
    NONE or DNS without endpoints, Services without selector, wildcard hosts, and subsets keyed
    on labels only a running endpoint carries (topology, injector and controller labels).
    An error when a VirtualService routes to the subset, otherwise a warning (like KIA0203).
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: whoami, namespace: vm}
    spec:
      host: whoami.example.internal
      subsets:
      - name: v2
        labels: {version: v2}    # WorkloadEntry vm/whoami-1 has version: v1
    """,
    good="""
    kind: DestinationRule
    metadata: {name: whoami, namespace: vm}
    spec:
      host: whoami.example.internal
      subsets:
      - name: v1
        labels: {version: v1}
    """,
    inputs=("DestinationRule",),
    equivalents=("IST0173", "KIA0203"),
    references=("docs/semantics.md §label-selection", "docs/semantics.md §subsets",
                "docs/semantics.md §analyzer-subsets"),
)
def subset_matches_no_endpoints(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    routed: Optional[set[tuple[str, str]]] = None
    for dr in ctx.each(DestinationRule):
        host = graph.dr_host(dr)
        if not host or host.startswith("*"):
            continue
        subsets = [s for s in dr.subsets if s.labels and not any(_runtime_key(k) for k in s.labels)]
        if not subsets:
            continue
        endpoints = host_endpoints(graph, host, dr.namespace)
        if not endpoints:
            continue
        for sub in subsets:
            if any(all(w.labels.get(k) == v for k, v in sub.labels.items()) for w in endpoints):
                continue
            if routed is None:
                routed = _routed_subsets(ctx)
            best = nearest(endpoints, sub.labels) or min(endpoints, key=wkey)
            kinds = sorted({describe(w).split(" ")[0] if w.kind != "Pod" else "pod templates" for w in endpoints})
            is_routed = (host, sub.name) in routed
            yield Problem(dr, sub.path + ("labels",),
                          f"DestinationRule {dr.namespace}/{dr.name}: subset '{sub.name}' ({sel_str(sub.labels)}) matches "
                          f"none of the {len(endpoints)} endpoint(s) of {host} ({', '.join(kinds)})"
                          f"{nearest_hint(best, sub.labels)}"
                          + ("; routes to this subset get 503 UH" if is_routed else ""),
                          related=near_related(best),
                          severity=None if is_routed else "warning")


# --- IVL108 -------------------------------------------------------------------------------------


@rule(
    code="IVL108", family="selectors", name="subset-not-defined", severity="error",
    summary="A VirtualService routes to a subset that the DestinationRule on the client's lookup path does not define.",
    rationale="""
    A route to `host` + `subset` needs that subset in the DestinationRule the *client* gets for
    the host: the first namespace with a rule for it along client namespace → service
    namespace → root namespace, same-namespace rules merged, never merged across namespaces
    (docs/semantics.md §destinationrule-lookup, §subsets). Without it the route points at a cluster that does not
    exist and requests fail with 503 `NC`. istioctl IST0101 ("host+subset in destinationrule")
    keys ServiceEntry hosts by the resource namespace, ignores exportTo and the lookup order
    (docs/semantics.md §analyzer-destination-rules); Kiali KIA1107 accepts any visible rule defining the name. Here
    the effective rule of the graph decides, for the VirtualService's namespace (mesh routes)
    and the namespaces of the Gateway and of the gateway pods it selects (gateway routes); the
    route is reported only when no client namespace gets the subset. Silent when the host itself is unknown (IVL501) and when a
    DestinationRule with a `workloadSelector` might supply the subset. Info when another
    namespace's rule defines the subset and the mesh route sits beside a gateway: its namespace
    runs only gateway proxies, or runs nothing of the repository while the route is also bound
    to a Gateway (the egress pattern, whose clients are in that rule's namespace).
    """,
    bad="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      http:
      - route:
        - destination: {host: whoami.example.internal, subset: v3}   # the DestinationRule has v1, v2
    """,
    good="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      http:
      - route:
        - destination: {host: whoami.example.internal, subset: v2}
    """,
    inputs=("VirtualService",),
    equivalents=("IST0101:virtualservice.DestinationRuleAnalyzer", "KIA1107"),
    references=("docs/semantics.md §destinationrule-lookup", "docs/semantics.md §subsets", "docs/semantics.md §analyzer-destination-rules", "docs/semantics.md §kiali-virtualservices"),
)
def subset_not_defined(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    selector_drs: Optional[list[DestinationRule]] = None
    all_drs = ctx.resources(DestinationRule)  # every rule, whichever VirtualServices are iterated
    # DestinationRules by resolved host for the common case "every rule that could apply
    # defines the subset"; graph.effective_dr decides everything else.
    exact, wildcard = graph.drs_by_host
    gateway_only: Optional[set[str]] = None
    for vs in ctx.each(VirtualService):
        for dref in graph.destinations(vs):
            if not dref.subset or not _DNS_LABEL.match(dref.subset):
                continue  # invalid subset name: IVL610 (no rule can define it)
            if dref.services:
                service_ns = dref.services[0].namespace
            elif exact.get(dref.host) or cluster_namespace(dref.host, domain) in graph.namespaces:
                # The host is unknown to the repository (IVL501 reports it), but the repository has
                # DestinationRules for exactly that host, or owns the host's namespace (declares
                # resources there), so where the subset must be defined is known.
                service_ns = cluster_namespace(dref.host, domain) or min(exact[dref.host], key=rkey).namespace
            else:
                continue  # a host the repository knows nothing about: its rules may live elsewhere
            clients = graph.route_client_namespaces(vs, vs.destinations[dref.dest_index].gateways)
            cands = exact.get(dref.host, []) + [x for h, x in wildcard if host_matches(h, dref.host)]
            if cands and all(any(s.name == dref.subset for s in x.subsets) for x in cands) and any(
                    x.namespace in graph.lookup_path(c, service_ns) and (x.namespace == c or visible(x.export_to, x.namespace, c))
                    for x in cands for c in clients):
                continue  # whichever rule the client gets defines the subset
            found = False
            winners = []
            for cns in clients:
                edr = graph.effective_dr(cns, dref.host, service_ns)
                if edr is not None and dref.subset in edr.subsets:
                    found = True
                    break
                winners.append((cns, edr))
            if found:
                continue
            if selector_drs is None:
                selector_drs = [x for x in all_drs if x.workload_selector is not None]
            if any(_dr_defines(graph, x, dref.host, dref.subset) for x in selector_drs):
                continue
            elsewhere = sorted((x for x in all_drs
                                if x.workload_selector is None and _dr_defines(graph, x, dref.host, dref.subset)), key=rkey)
            cns, edr = winners[0]
            if edr is None:
                detail = f"no DestinationRule for {dref.host} is on the lookup path of namespace '{cns}' " \
                         f"({cns} → {service_ns} → {graph.root_namespace})"
            else:
                names = ", ".join(f"{r.namespace}/{r.name}" for r in edr.rules)
                have = ", ".join(sorted(edr.subsets)) or "none"
                detail = f"clients in namespace '{cns}' get DestinationRule {names} (subsets: {have})"
            severity = None
            if elsewhere:
                x = elsewhere[0]
                detail += f"; DestinationRule {x.namespace}/{x.name} defines it but is not the rule those clients use " \
                          "(first namespace on the lookup path wins, exportTo applies, §destinationrule-lookup)"
                if cns == vs.namespace and "mesh" in vs.destinations[dref.dest_index].gateways:
                    if gateway_only is None:
                        gateway_only = _gateway_only_namespaces(graph, ctx.resources(Gateway))
                    if cns in gateway_only:
                        # A mesh route applies to the sidecars of every namespace it is exported to;
                        # its own namespace runs only gateway proxies here, so its clients are
                        # elsewhere, e.g. in the namespace of the rule that defines the subset.
                        detail += (f"; namespace '{cns}' runs only gateway proxies in this repository, so the "
                                   "route's clients are probably in another namespace, such as that rule's")
                        severity = "info"
                    elif _beside_installed_gateway(graph, vs, cns):
                        # The same pattern with the gateway from the installation (istioctl, an
                        # operator): the repository runs nothing in the route's namespace.
                        detail += (f"; the repository runs no workload in namespace '{cns}' and the route is also "
                                   "bound to a Gateway, so it sits beside a gateway and its mesh clients are "
                                   "probably in another namespace, such as that rule's")
                        severity = "info"
            yield Problem(vs, dref.path + ("subset",),
                          f"VirtualService {vs.namespace}/{vs.name} routes to subset '{dref.subset}' of {dref.host}, but "
                          f"{detail}; requests fail with 503 NC",
                          related=tuple((r, ("spec", "subsets")) for r in (edr.rules if edr else [])[:2]),
                          severity=severity)



def _gateway_only_namespaces(graph: MeshGraph, gateways: list[Gateway]) -> set[str]:
    """Namespaces whose workloads in the repository are all gateway proxies (pods a Gateway's
    selector picks): no sidecar there is a client of a mesh route."""
    proxies = {id(w.resource) for gw in gateways if gw.selector
               for w in graph.select_any_namespace(gw.selector, ("Pod",))}
    by_ns: dict[str, bool] = {}
    for w in graph.workloads:
        by_ns[w.namespace] = by_ns.get(w.namespace, True) and id(w.resource) in proxies
    return {ns for ns, only in by_ns.items() if only}


def _beside_installed_gateway(graph: MeshGraph, vs: VirtualService, ns: str) -> bool:
    """The egress pattern with an installed gateway: the VirtualService is bound to the mesh and
    to at least one Gateway, and the repository deploys no workload at all in its namespace (the
    gateway pods come from the installation), so no sidecar client of the route is known there."""
    if not any(g != "mesh" for g in vs.gateways):
        return False
    return all(w.namespace != ns for w in graph.workloads)


def _dr_defines(graph: MeshGraph, dr: DestinationRule, host: str, subset: str) -> bool:
    h = graph.dr_host(dr)
    return bool(h) and host_matches(h, host) and any(s.name == subset for s in dr.subsets)
