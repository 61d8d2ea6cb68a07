"""IVL590: a VirtualService bound to the mesh whose host names no service
(docs/semantics.md §mesh-virtual-service-hosts); IVL591: a gateway-bound VirtualService whose
hosts only redirecting servers admit (§https-redirect-servers)."""

from __future__ import annotations

from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import cluster_namespace, hosts_overlap, parse_gateway_ref, resolve_host
from istio_vm_lint.model import Gateway, VirtualService, as_map
from istio_vm_lint.placeholders import is_placeholder, is_substituted
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.hosts import (
    _closest_host,
    _declared_external,
    _gateway_ref_paths,
    _hint,
    _lowered,
    _missing_severity,
    server_admits,
)


def _partial_of(ctx: Context, written: str) -> Optional[str]:
    """A cluster-local host the repository defines of which ``written`` is a dotted prefix
    (``inventory.inventory.svc`` for ``inventory.inventory.svc.cluster.local``)."""
    if "." not in written:
        return None
    domain = ctx.settings.cluster_domain
    for h in sorted(ctx.graph.services_by_host):
        if h.startswith(written + ".") and cluster_namespace(h, domain) is not None:
            return h
    return None


@rule(
    code="IVL590", family="hosts", name="mesh-virtual-service-host-not-found", severity="warning",
    severity_note="warning when the host is a cluster-local name in a namespace the repository declares resources in, a partial cluster name (`reviews.shop.svc`) of a service the repository defines, or, in a VirtualService bound only to the mesh, a near miss of a host the repository defines; info for a cluster-local name in a namespace the repository says nothing about, or a short host of a VirtualService whose namespace is only assumed; other DNS names are not reported (a VirtualService may route a host outside the registry on port 80).",
    summary="A VirtualService bound to the mesh (sidecars) has a host that matches no service, so sidecars never apply its routes to the service that was meant.",
    rationale="""
    Sidecars apply a VirtualService to the services whose hostname matches one of its hosts:
    a short host means `<name>.<VirtualService namespace>.svc.<domain>`, a dotted host is taken
    verbatim (no partial expansion), and a host that matches no service of the registry only
    gets a virtual host on port 80 (`separateVSHostsAndServices` / `BuildSidecarVirtualHostWrapper`
    in pilot/pkg/networking/core/route/route.go; docs/semantics.md §mesh-virtual-service-hosts,
    §host-resolution). A misspelt host (`reviewz`), a partial name (`inventory.inventory.svc`)
    or a host in the wrong namespace therefore leaves the intended service with its default
    route: the subsets, weights, retries and timeouts of the VirtualService silently do
    nothing. A host the VirtualService also routes to is left to IVL501; gateway-only
    VirtualServices are not checked (their hosts are the names clients
    use at the gateway), nor are wildcards and names listed in `external-hosts`.
    """,
    bad="""
    kind: VirtualService
    metadata: {name: inventory-split, namespace: storefront}
    spec:
      hosts: [inventory.inventory.svc]     # not inventory.inventory.svc.cluster.local
      http:
      - route: [{destination: {host: inventory.inventory.svc.cluster.local, subset: vm}}]
    """,
    good="""
    kind: VirtualService
    metadata: {name: inventory-split, namespace: storefront}
    spec:
      hosts: [inventory.inventory.svc.cluster.local]
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §mesh-virtual-service-hosts", "docs/semantics.md §host-resolution"),
)
def mesh_virtual_service_host_not_found(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    for vs in ctx.each(VirtualService):
        if "mesh" not in vs.gateways:
            continue
        mesh_only = vs.gateways == ("mesh",)
        routed = {d.host for d in graph.destinations(vs)}  # a missing host routed to as well: IVL501's
        for i, written in enumerate(vs.hosts):
            if not written or "*" in written or is_placeholder(written) or is_substituted(written):
                continue
            host = resolve_host(written, vs.namespace, domain)
            if graph.lookup(host, None) or _declared_external(ctx, host) or host in routed:
                continue
            severity: Optional[str]
            partial = _partial_of(ctx, written)
            if partial is not None:
                severity = "warning"
                hint = (f"; did you mean '{partial}'? A dotted host is taken verbatim, there is no partial "
                        "expansion (§host-resolution)")
            elif cluster_namespace(host, domain) is not None:
                severity = _missing_severity(graph, host, domain)
                severity = "warning" if severity == "error" else severity
                hint = _hint(ctx, written, host, vs.namespace) + _lowered(severity, "warning", host, domain)
            elif mesh_only and _closest_host(ctx, host, written):
                severity = "warning"
                hint = _hint(ctx, written, host, vs.namespace)
            else:
                continue
            if severity == "warning" and not vs.namespace_explicit and "." not in written:
                severity = "info"  # the short host expands in a namespace only assumed
                hint += (" (info, not warning: the VirtualService's namespace is only assumed, so the namespace its "
                         "short host expands in is not stated)")
            shown = f"'{written}'" + (f" (resolves to '{host}')" if written != host else "")
            yield Problem(vs, ("spec", "hosts", i),
                          f"VirtualService {vs.namespace}/{vs.name}: host {shown} matches no ServiceEntry or Service, "
                          "so sidecars apply its routes to no service (a host outside the registry gets them on port "
                          f"80 only) and the service meant keeps its default route (§mesh-virtual-service-hosts){hint}",
                          severity=severity)


def _redirects(gw: Gateway, index: int) -> bool:
    """Does server ``index`` of the Gateway only redirect to HTTPS (``tls.httpsRedirect``)?"""
    servers = gw.spec.get("servers")
    server = servers[index] if isinstance(servers, list) and index < len(servers) else None
    return as_map(as_map(server).get("tls")).get("httpsRedirect") is True


@rule(
    code="IVL591", family="hosts", name="host-admitted-only-by-redirect", severity="warning",
    summary="A gateway-bound VirtualService's hosts are admitted only by Gateway servers that redirect to HTTPS, so its routes never serve a request.",
    rationale="""
    A Gateway server with `tls.httpsRedirect: true` answers every request with a 301 to the
    `https://` URL of the same host; the VirtualService routes bound to it are never used there
    (`BuildGatewayListeners`/`buildGatewayVirtualHosts`, redirect virtual hosts in
    pilot/pkg/networking/core/gateway.go; docs/semantics.md §https-redirect-servers). When
    none of the other servers of the bound Gateways admits the VirtualService's hosts — the
    HTTPS server lists another host (`www.shop.example.com` for `shop.example.com`) — the
    redirected request reaches no route either (404): the service is unreachable through the
    gateway. IVL504 reports hosts no server admits at all; this rule the case where only the
    redirecting servers do. Envoy decides "not TLS" from `x-forwarded-proto`, so behind a load
    balancer that terminates TLS the redirecting server does serve: the rule is a warning, and
    it stays silent unless the bound Gateways terminate HTTPS themselves (a server with protocol
    HTTPS) and all of them are in the repository.
    """,
    bad="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-ingress}
    spec:
      servers:
      - port: {number: 443, name: https, protocol: HTTPS}
        tls: {mode: SIMPLE, credentialName: shop}
        hosts: [www.shop.example.com]
      - port: {number: 80, name: http, protocol: HTTP}
        tls: {httpsRedirect: true}
        hosts: [shop.example.com]
    ---
    kind: VirtualService
    spec:
      hosts: [shop.example.com]       # only the redirecting server admits it
      gateways: [istio-ingress/shop]
    """,
    good="""
      - port: {number: 443, name: https, protocol: HTTPS}
        tls: {mode: SIMPLE, credentialName: shop}
        hosts: [shop.example.com]
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §https-redirect-servers", "docs/semantics.md §gateway-server-hosts"),
)
def host_admitted_only_by_redirect(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        if not vs.hosts:
            continue
        refs = _gateway_ref_paths(vs, bound_only=True)
        gateways: list[tuple[tuple, Gateway]] = []
        for path, ref in refs:
            gw = graph.gateways.get(parse_gateway_ref(ref, vs.namespace, ctx.settings.cluster_domain))
            if not isinstance(gw, Gateway):
                gateways = []
                break  # a Gateway the repository does not hold may admit the hosts
            gateways.append((path, gw))
        if not gateways:
            continue
        serving = redirecting = None
        for _path, gw in gateways:
            for srv in gw.servers:
                patterns = [p for h in srv.hosts if (p := server_admits(h, vs.namespace, gw.namespace)) is not None]
                if not any(hosts_overlap(p, h) for p in patterns for h in vs.hosts):
                    continue
                if _redirects(gw, srv.index):
                    redirecting = redirecting or (gw, srv)
                else:
                    serving = (gw, srv)
        terminates = any(srv.protocol == "HTTPS" and not _redirects(g, srv.index) for _p, g in gateways
                         for srv in g.servers)
        if serving is not None or redirecting is None or not terminates:
            continue  # without an HTTPS server here, TLS may end at a load balancer in front (x-forwarded-proto)
        gw, srv = redirecting
        path = next(p for p, g in gateways if g is gw)
        others = sorted({h for _p, g in gateways for s in g.servers if not _redirects(g, s.index) for h in s.hosts})
        yield Problem(vs, path,
                      f"VirtualService {vs.namespace}/{vs.name}: its hosts {vs.hosts} are admitted only by server "
                      f"{srv.port_name or srv.index} (port {srv.port}) of Gateway {gw.namespace}/{gw.name}, which "
                      "redirects every request to HTTPS (tls.httpsRedirect); no other server of its Gateways admits "
                      f"them (their hosts: {others}), so the redirected requests find no route (404) and these routes "
                      "never serve a request (§https-redirect-servers)",
                      related=((gw, srv.path + ("tls",)),))
