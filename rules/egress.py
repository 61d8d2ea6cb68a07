"""IVL510, IVL511, IVL513: the egress-gateway pattern, one hop at a time (IVL512, IVL514: rules/egress_ports.py).

istio.io's *Egress Gateways* layout sends traffic for an external host through two routes:
one applied by the client sidecars (bound to ``mesh``) that sends the host to the egress
gateway Service, and one applied by the egress gateway proxies (bound to the egress Gateway)
that sends it on to the external ServiceEntry.  Each hop is configured for *its* proxies:
the sidecars of the client namespaces, and the gateway pods in their own namespace
(docs/semantics.md §egress-gateway-hops).  A route entry applies only to the gateways the
VirtualService binds at top level (§match-gateways); a mesh hop lands on the gateway pods'
target port, where only a Gateway server can listen (§gateway-port-translation).

Which proxies run a route comes from the graph (``route_client_namespaces``,
``gateway_proxy_namespaces``), what a host means and who sees it from ``lint/semantics.py``.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import (
    hosts_overlap,
    parse_gateway_ref,
)
from istio_vm_lint.model import (
    DestinationRule,
    Gateway,
    RouteDestination,
    ServiceEntry,
    VirtualService,
    as_list,
    as_map,
)
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import EffectiveDR, gateway_key, live_gateways, tls_mode

from .hosts import STOCK_GATEWAY_NAMESPACE, _declared_external, _stock_selector

_ORIGINATES = ("SIMPLE", "MUTUAL")
_TLS_PROTOCOLS = ("HTTPS", "TLS")
# Where installations run the stock gateways: istioctl in istio-system, the Helm charts'
# documented namespaces istio-ingress / istio-egress (docs/semantics.md §installation-services).
_INSTALLATION_GATEWAY_NAMESPACES = (STOCK_GATEWAY_NAMESPACE, "istio-egress", "istio-ingress")


# --- shared -------------------------------------------------------------------------------------


def proxy_namespaces(ctx: Context, ref: str, vs: VirtualService) -> tuple[list[str], bool]:
    """Namespaces of the proxies that run a route bound to Gateway ``ref``, and whether the
    repository knows them (gateway pods in the repository, or the stock gateway selector on a
    Gateway in istio-system).  Pods not in the repository are assumed to run in the Gateway's
    namespace or, for the stock selectors, in a namespace the installation puts gateways in;
    a finding needs the host hidden from every one of them."""
    graph = ctx.graph
    ns, name = parse_gateway_ref(ref, vs.namespace, graph.domain)
    found = graph.gateway_proxy_namespaces(ns, name)
    pods = found[1:]
    if pods:
        return sorted(set(pods)), True
    gw = graph.gateways.get((ns, name))
    stock = isinstance(gw, Gateway) and bool(gw.selector) and _stock_selector(gw.selector or {})
    if not stock:
        return [ns], False
    return list(dict.fromkeys([ns, *_INSTALLATION_GATEWAY_NAMESPACES])), ns == STOCK_GATEWAY_NAMESPACE


def _route_dest(vs: VirtualService, index: int) -> RouteDestination:
    return vs.destinations[index]


# --- IVL510 -------------------------------------------------------------------------------------


@rule(
    code="IVL510", family="egress", name="gateway-route-destination-not-visible", severity="error",
    severity_note="error when the gateway pods' namespace is known (pods in the repository, or the stock gateway "
                  "selector on a Gateway in istio-system); warning when the pods are assumed to run in the "
                  "Gateway's namespace (or istio-system for a stock selector elsewhere).",
    summary="A route applied at a Gateway sends to a host whose exportTo hides it from the gateway pods' namespace.",
    rationale="""
    The routes a VirtualService binds to a Gateway run in the gateway proxies, and a gateway
    proxy resolves destination hosts among the services visible from *its own* namespace, the
    namespace of the gateway pods (docs/semantics.md §egress-gateway-hops, §gateway-pod-namespace).
    In the egress-gateway pattern the second hop (egress gateway -> external host) therefore
    needs the external ServiceEntry exported to the egress gateway's namespace, usually
    istio-system: a ServiceEntry with `exportTo: ["."]` next to the client is visible to the
    client sidecars but not to the gateway, which has no cluster for the host and answers 503.
    Checked for the gateways the VirtualService actually binds (§match-gateways); a host
    defined nowhere is IVL501's.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      exportTo: ["."]            # the egress gateway in istio-system cannot see it
    ---
    kind: VirtualService
    metadata: {name: partner-egress, namespace: shop}
    spec:
      hosts: [api.partner.example]
      gateways: [istio-system/egress-gateway]
      http:
      - route: [{destination: {host: api.partner.example}}]
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      exportTo: [".", istio-system]
    """,
    inputs=("VirtualService",),
    references=("docs/semantics.md §egress-gateway-hops", "docs/semantics.md §gateway-pod-namespace",
                "docs/semantics.md §exportto"),
)
def gateway_route_destination_not_visible(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        if not vs.hosts:
            continue  # a delegate: its root's gateways apply
        for d in graph.destinations(vs):
            if d.host.startswith("*") or _declared_external(ctx, d.host):
                continue
            anywhere = graph.lookup(d.host, None)
            if not anywhere:
                continue  # defined nowhere: IVL501
            rd = _route_dest(vs, d.dest_index)
            for ref in live_gateways(vs, rd.gateways, graph.domain):
                if ref == "mesh":
                    continue
                namespaces, known = proxy_namespaces(ctx, ref, vs)
                if any(graph.lookup(d.host, ns) for ns in namespaces):
                    continue
                s = anywhere[0]
                where = repr(namespaces[0]) if len(namespaces) == 1 else (
                    f"{namespaces[0]!r} (nor from {', '.join(repr(n) for n in namespaces[1:])})")
                pods = ("where the installation runs its gateway pods" if len(namespaces) > 1 else
                        "where the gateway pods run" if known else "where the gateway pods are assumed to run")
                yield Problem(vs, d.path + ("host",),
                              f"VirtualService {vs.namespace}/{vs.name}: the route bound to gateway '{ref}' sends to "
                              f"'{d.host}', but {s.kind} {s.namespace}/{s.resource.name} (exportTo "
                              f"{list(s.export_to)}) is not visible from {where}, {pods}: the gateway has no "
                              f"cluster for the host and answers 503 — export it to {namespaces[0]!r}",
                              related=((s.resource, ("spec", "exportTo") if "exportTo" in s.resource.spec
                                        else s.host_path),),
                              severity="error" if known else "warning")
                break


# --- IVL511 -------------------------------------------------------------------------------------


@rule(
    code="IVL511", family="egress", name="match-gateway-not-bound", severity="warning",
    summary="A match lists a gateway (or mesh) that the VirtualService's own gateways do not bind, so it never applies there.",
    rationale="""
    A proxy considers a VirtualService only when the VirtualService's top-level `gateways`
    name the proxy's gateway (`mesh` for sidecars; an absent list means `[mesh]`), and then
    a match with `gateways` applies only when one of them is that gateway (pilot
    `sourceMatchHTTP`, `matchTLS`, `matchTCP`; docs/semantics.md §match-gateways). A
    `match.gateways` entry the top-level list does not bind is therefore dead: when no entry
    of a match is bound, the match (and a route with only such matches) never applies, and
    the traffic it was written for takes another route or none. The typical slip is the
    two-hop egress VirtualService whose top-level `gateways` lists only the egress Gateway,
    so its `gateways: [mesh]` hop never runs in the sidecars. Names are compared after
    resolution (`name`, `./name`, `ns/name`, `name.ns[.svc.<domain>]`).
    """,
    bad="""
    kind: VirtualService
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      gateways: [istio-system/egress-gateway]      # mesh is not bound
      http:
      - match:
        - gateways: [mesh]
        route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local}}]
    """,
    good="""
    kind: VirtualService
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      gateways: [mesh, istio-system/egress-gateway]
      http:
      - match:
        - gateways: [mesh]
        route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local}}]
    """,
    inputs=("VirtualService",),
    references=("docs/semantics.md §match-gateways", "docs/semantics.md §gateway-references"),
)
def match_gateway_not_bound(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    for vs in ctx.each(VirtualService):
        if not vs.hosts:
            continue  # a delegate: matches merge with its root's, its own gateways are not used
        bound = {gateway_key(g, vs.namespace, domain) for g in vs.gateways}
        top = ", ".join(vs.gateways) if vs.gateways_explicit else "mesh, the default when spec.gateways is empty"
        for kind in ("http", "tls", "tcp"):
            for ri, route in enumerate(as_list(vs.spec.get(kind))):
                matches = as_list(as_map(route).get("match"))
                dead_matches = 0
                found: list[tuple[int, int, str, bool]] = []
                for mi, m in enumerate(matches):
                    gws = [g for g in as_list(as_map(m).get("gateways")) if isinstance(g, str)]
                    if not gws:
                        continue
                    live = [g for g in gws if gateway_key(g, vs.namespace, domain) in bound]
                    dead_matches += not live
                    for gi, g in enumerate(gws):
                        if gateway_key(g, vs.namespace, domain) not in bound:
                            found.append((mi, gi, g, not live))
                whole = bool(matches) and dead_matches == len(matches)
                for mi, gi, g, match_dead in found:
                    if whole:
                        effect = f"so {kind}[{ri}] never applies anywhere"
                    elif match_dead:
                        effect = f"so match {mi} of {kind}[{ri}] never applies"
                    else:
                        effect = "so this entry is ignored (the match applies only at the bound ones)"
                    yield Problem(vs, ("spec", kind, ri, "match", mi, "gateways", gi),
                                  f"VirtualService {vs.namespace}/{vs.name}: match gateway '{g}' is not among the "
                                  f"gateways the VirtualService binds ({top}), {effect} — add it to "
                                  "spec.gateways")


# --- IVL513 -------------------------------------------------------------------------------------


@rule(
    code="IVL513", family="egress", name="tls-origination-not-seen-by-hop", severity="error",
    summary="An http route sends to a TLS port of an external host, and the DestinationRule that originates TLS for it is not the one the route's proxies get.",
    rationale="""
    TLS origination happens in the proxy that runs the route, with the DestinationRule *that
    proxy* gets for the host: the first namespace on its lookup path (its own namespace, the
    service's, the root namespace) with a rule for the host exported to it
    (docs/semantics.md §destinationrule-lookup, §egress-gateway-hops). When the egress gateway
    originates TLS, the DestinationRule must reach the gateway pods' namespace; a rule
    exported only to the client namespace (`exportTo: ["."]`), or shadowed by another rule
    for the host earlier on the gateway's lookup path, leaves the gateway sending plain HTTP
    to the TLS port, which the server rejects. Reported only when some DestinationRule of the
    repository does originate TLS for that host and port (none at all is IVL211).
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: originate-tls, namespace: shop}
    spec:
      host: api.partner.example
      exportTo: ["."]              # the egress gateway (istio-system) never gets it
      trafficPolicy:
        portLevelSettings:
        - port: {number: 443}
          tls: {mode: SIMPLE}
    """,
    good="""
    kind: DestinationRule
    metadata: {name: originate-tls, namespace: shop}
    spec:
      host: api.partner.example
      exportTo: [".", istio-system]
      trafficPolicy:
        portLevelSettings:
        - port: {number: 443}
          tls: {mode: SIMPLE}
    """,
    inputs=("VirtualService", "DestinationRule"),
    references=("docs/semantics.md §egress-gateway-hops", "docs/semantics.md §destinationrule-lookup",
                "docs/semantics.md §tls-origination-ports"),
)
def tls_origination_not_seen_by_hop(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    exact, wild = graph.drs_by_host
    for vs in ctx.each(VirtualService):
        for d in graph.destinations(vs):
            rd = _route_dest(vs, d.dest_index)
            if rd.route_kind != "http" or d.port is None or not d.services:
                continue
            svc = d.services[0]
            if not isinstance(svc.resource, ServiceEntry) or svc.location != "MESH_EXTERNAL":
                continue
            p = svc.port(d.port)
            if p is None or p.protocol.upper() not in _TLS_PROTOCOLS:
                continue
            candidates = list(exact.get(d.host, ())) + [dr for h, dr in wild if hosts_overlap(h, d.host)]
            originating = [dr for dr in candidates if _originates(dr, d.subset, d.port)]
            if not originating:
                continue  # no origination anywhere: IVL211
            for ref in live_gateways(vs, rd.gateways, graph.domain):
                namespaces, known = (([vs.namespace], True) if ref == "mesh" else proxy_namespaces(ctx, ref, vs))
                missing = []
                for ns in namespaces:
                    edr = graph.effective_dr(ns, d.host, svc.namespace)
                    if tls_mode(edr.policy(d.subset, d.port) if edr else None) not in _ORIGINATES:
                        missing.append((ns, edr))
                if len(missing) < len(namespaces):
                    continue
                ns, edr = missing[0]
                who = "the sidecars of" if ref == "mesh" else (
                    "the gateway pods in" if known else "the gateway pods (assumed to run) in")
                got = (f"get DestinationRule {edr.rules[0].namespace}/{edr.rules[0].name}, which does not originate "
                       f"TLS on port {d.port}") if edr else "get no DestinationRule for the host"
                dr = originating[0]
                yield Problem(vs, d.path + ("port", "number"),
                              f"VirtualService {vs.namespace}/{vs.name}: the route bound to '{ref}' sends plain HTTP to "
                              f"{d.host}:{d.port} ({p.protocol.upper()}); DestinationRule {dr.namespace}/{dr.name} "
                              f"originates TLS there, but {who} namespace {ns!r} {got} (exportTo, lookup path), so "
                              "the server receives plain text and rejects it",
                              related=((dr, ("spec", "exportTo") if "exportTo" in dr.spec else ("spec", "host")),),
                              severity="error" if known else "warning")
                break


def _originates(dr: DestinationRule, subset: str, port: int) -> bool:
    """Does ``dr`` on its own originate TLS for ``port`` (and ``subset``), merged as Istio merges
    a rule's levels (§destinationrule-merge)?"""
    subsets = {s.name: (dr, s) for s in dr.subsets if s.name}
    edr = EffectiveDR(dr.namespace, [dr], dr.traffic_policy or None, dr if dr.traffic_policy else None, subsets)
    return tls_mode(edr.policy(subset, port)) in _ORIGINATES
