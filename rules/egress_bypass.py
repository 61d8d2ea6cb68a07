"""IVL515: an egress gateway route that the mesh never sends traffic to.

The second hop of the egress-gateway pattern only receives what the first hop sends: a route
bound to ``mesh`` for the same host whose destination is the egress gateway Service
(docs/semantics.md §egress-gateway-hops).  Without one, the sidecars route the external host
themselves — straight out, past the gateway and whatever policy it enforces.
"""

from __future__ import annotations

from typing import Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import (
    DestinationRef,
    MeshGraph,
    hosts_overlap,
    installation_service,
    parse_gateway_ref,
    resolve_host,
)
from istio_vm_lint.model import Gateway, Service, ServiceEntry, VirtualService, as_list, as_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import live_gateways


def _egress_gateway(graph: MeshGraph, ref: str, vs: VirtualService) -> Optional[Gateway]:
    """The Gateway ``ref`` names when it configures egress gateway pods (a selector value
    naming egress, as the stock ``istio: egressgateway`` does)."""
    gw = graph.gateways.get(parse_gateway_ref(ref, vs.namespace, graph.domain))
    if isinstance(gw, Gateway) and gw.selector and any("egress" in v for v in gw.selector.values()):
        return gw
    return None


def _to_gateway(graph: MeshGraph, d: DestinationRef, gateways: list[Gateway]) -> bool:
    """Does the destination send to gateway pods (a Service whose pods a Gateway selects, or a
    gateway Service every installation has)?"""
    if not d.services:
        name = d.host.split(".", 1)[0]
        return (installation_service(d.host, graph.domain) and "gateway" in name) or "egress" in name
    for s in d.services:
        if isinstance(s.resource, Service):
            for b in graph.bindings_by_service.get(id(s.resource), ()):
                if any(g.selector and all(b.workload.labels.get(k) == v for k, v in g.selector.items())
                       for g in gateways):
                    return True
            if "egress" in s.resource.name:
                return True
    return False


def _dead_mesh_match(vs: VirtualService) -> bool:
    """Does a match name ``mesh`` that the VirtualService does not bind (IVL511 reports the cause)?"""
    return "mesh" not in vs.gateways and any(
        "mesh" in as_list(as_map(m).get("gateways"))
        for kind in ("http", "tls", "tcp") for r in as_list(vs.spec.get(kind)) for m in as_list(as_map(r).get("match")))


def _external(d: DestinationRef) -> bool:
    return any(isinstance(s.resource, ServiceEntry) and s.location == "MESH_EXTERNAL" for s in d.services)


@rule(
    code="IVL515", family="egress", name="egress-gateway-bypassed", severity="warning",
    summary="An egress Gateway routes an external host that no mesh route sends to the egress gateway, so sidecars go straight out.",
    rationale="""
    In the egress-gateway pattern the gateway's route (bound to the egress Gateway) only ever
    sees traffic that a route bound to `mesh` sends to the egress gateway Service first
    (docs/semantics.md §egress-gateway-hops). When the mesh routes for the host send it
    straight to the external service — a VirtualService bound to both `mesh` and the Gateway
    whose route has no `match.gateways` split, or a mesh hop that was dropped — the sidecars
    leave the mesh directly: the egress gateway, and the policy and monitoring it was
    deployed for, are bypassed, and its route is dead. Reported at the mesh route that goes
    direct; when no mesh route exists for the host, at the gateway route's VirtualService, and
    only when that VirtualService binds `mesh` itself or the repository routes other hosts
    through the egress gateway (the mesh hop is not just kept elsewhere).
    """,
    bad="""
    kind: VirtualService
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      gateways: [mesh, istio-system/egress-gateway]
      http:
      - route:                          # applies at mesh too: sidecars go direct
        - destination: {host: api.partner.example, port: {number: 80}}
    """,
    good="""
    kind: VirtualService
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      gateways: [mesh, istio-system/egress-gateway]
      http:
      - match: [{gateways: [mesh], port: 80}]
        route:
        - destination: {host: istio-egressgateway.istio-system.svc.cluster.local, port: {number: 80}}
      - match: [{gateways: [istio-system/egress-gateway], port: 80}]
        route:
        - destination: {host: api.partner.example, port: {number: 80}}
    """,
    inputs=("VirtualService", "Gateway"),
    references=("docs/semantics.md §egress-gateway-hops", "docs/semantics.md §match-gateways"),
)
def egress_gateway_bypassed(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = graph.domain
    # every mesh-applied destination: (VirtualService hosts, destination, sends to a gateway?),
    # listed when a route at an egress gateway first needs them (most runs have none)
    mesh: list[tuple[list[str], VirtualService, DestinationRef, bool]] = []
    routes_through_egress = False
    listed = False

    def list_mesh() -> None:
        nonlocal routes_through_egress, listed
        listed = True
        gateways = [g for g in ctx.resources(Gateway) if g.selector]
        for vs in ctx.resources(VirtualService):
            hosts = [resolve_host(h, vs.namespace, domain) for h in vs.hosts]
            for d in graph.destinations(vs):
                rd = vs.destinations[d.dest_index]
                if not rd.is_mirror and "mesh" in live_gateways(vs, rd.gateways, domain):
                    mesh.append((hosts, vs, d, _to_gateway(graph, d, gateways)))
        routes_through_egress = any(to_gw for _, _, _, to_gw in mesh)

    reported: set[tuple[int, int]] = set()
    for vs in ctx.each(VirtualService):
        hosts = [resolve_host(h, vs.namespace, domain) for h in vs.hosts]
        if not hosts:
            continue
        for d in graph.destinations(vs):
            rd = vs.destinations[d.dest_index]
            if rd.is_mirror or not _external(d):
                continue
            egress = [r for r in live_gateways(vs, rd.gateways, domain)
                      if r != "mesh" and _egress_gateway(graph, r, vs) is not None]
            if not egress:
                continue
            if not listed:
                list_mesh()
            mine = [m for m in mesh if any(hosts_overlap(a, b) for a in m[0] for b in hosts)]
            if any(to_gw for _, _, _, to_gw in mine):
                break  # the sidecars send this host to a gateway
            direct = [m for m in mine if not m[3] and _external(m[2])]
            if direct:
                _, mvs, md, _ = direct[0]
                key = (id(mvs), md.dest_index)
                if key in reported:
                    break
                reported.add(key)
                path: FieldPath = md.path + ("host",)
                yield Problem(mvs, path, f"VirtualService {mvs.namespace}/{mvs.name}: this route applies at the "
                              f"sidecars (mesh) and sends '{md.host}' straight to the external service, while "
                              f"{'this VirtualService' if mvs is vs else f'VirtualService {vs.namespace}/{vs.name}'} "
                              f"also routes it at egress Gateway '{egress[0]}': "
                              "no mesh route sends the host to the egress gateway, so the sidecars bypass it and its "
                              "route never receives traffic — split the route with match.gateways (mesh -> the "
                              "egress gateway Service, the Gateway -> the external host)",
                              related=((vs, d.path + ("host",)),))
            elif not mine and ("mesh" in vs.gateways or routes_through_egress) and not _dead_mesh_match(vs):
                yield Problem(vs, ("spec", "hosts", 0), f"VirtualService {vs.namespace}/{vs.name} routes {hosts} at "
                              f"egress Gateway '{egress[0]}', but no route bound to mesh sends these hosts to the "
                              "egress gateway Service: the sidecars send them straight out and the gateway route "
                              "never receives traffic")
            break
