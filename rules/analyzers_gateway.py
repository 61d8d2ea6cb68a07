"""IVL70x gateway analyzers: the `istioctl analyze` gateway checks, done on repositories.

istioctl's versions match Gateway selectors against Pod objects only, so on a GitOps repo
(Deployments, no Pods) they either report everything or are skipped offline
(docs/semantics.md §analyzer-gateway-ports, §analyzer-conflicting-gateways, §analyzer-gateway-certificates).  Here the gateway workloads are the pod templates of
Deployments/StatefulSets/DaemonSets and bare Pods, through the graph's label index.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import Gateway, Service, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import hosts_overlap, http_route_paths, paths_overlap

from ._messages import sel_str


def gateway_workloads(ctx: Context, gw: Gateway) -> list[Workload]:
    """Pod templates selected by a Gateway (any namespace, §gateway-selector); [] for a nil selector."""
    if gw.selector is None or not gw.selector:
        return []
    return ctx.graph.select_any_namespace(gw.selector, ("Pod",))


@rule(
    code="IVL701", family="analyzers_gateway", name="gateway-port-not-exposed", severity="warning",
    summary="A Gateway server listens on a port that neither the gateway pods nor their Service expose.",
    rationale="""
    `servers[].port.number` is the port the gateway proxy listens on: a container port, or the
    number of a port of a Kubernetes Service that selects the gateway pods, which Istio maps to
    that port's targetPort (`getTargetPortMap`, docs/semantics.md §gateway-ports, §service-ports). A server port
    that is neither gets a listener nobody can reach (istioctl IST0162). Unlike istioctl, the
    gateway pods are found from Deployment pod templates as well as Pods (docs/semantics.md §analyzer-gateway-ports), and
    the check stays silent when the gateway workload declares no ports and no Service selects
    it (nothing to compare against).
    """,
    bad="""
    kind: Gateway
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 8004, name: http, protocol: HTTP}   # Service exposes 80 -> 8080 only
    """,
    good="""
    kind: Gateway
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
    """,
    inputs=("Gateway",),
    equivalents=("IST0162",),
    references=("docs/semantics.md §gateway-ports", "docs/semantics.md §analyzer-gateway-ports"),
)
def gateway_port_not_exposed(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for gw in ctx.each(Gateway):
        pods = gateway_workloads(ctx, gw)
        if not pods:
            continue
        known: set[int] = set()
        evidence = False
        for w in pods:
            if w.served_ports:
                known.update(w.served_ports)
                evidence = True
            for b in graph.bindings_by_workload.get(id(w), ()):
                if isinstance(b.service_resource, Service):
                    evidence = True
                    for p in b.service_resource.ports:
                        if p.number is not None and p.protocol.upper() != "UDP":
                            known.add(p.number)
                            if isinstance(p.target_port, int) and p.target_port > 0:
                                known.add(p.target_port)
        if not evidence:
            continue
        for s in gw.servers:
            if s.port is None or s.port in known or s.port == 0:
                continue
            yield Problem(gw, s.path + ("port", "number"),
                          f"Gateway {gw.namespace}/{gw.name} listens on port {s.port}, which is neither a container "
                          f"port of its workload (selector {sel_str(gw.selector or {})}) nor a port of a Service "
                          f"selecting it (known: {sorted(known)})",
                          related=((pods[0].resource, pods[0].labels_path),))


@rule(
    code="IVL702", family="analyzers_gateway", name="conflicting-gateways", severity="error",
    severity_note="error; warning when both servers are plaintext HTTP, which istiod merges instead of dropping one; info when, in addition, the VirtualServices bound to each Gateway route disjoint request paths (the merged route table serves each as written).",
    summary="Two Gateways select the same gateway workload and declare the same host on the same port.",
    rationale="""
    When two Gateways select the same proxies and both declare a server on one port for the
    same host (with the same bind address), the proxy gets two conflicting filter chains and
    one of them is dropped (istioctl IST0145, docs/semantics.md §analyzer-conflicting-gateways; "non unique port name"
    problems, docs/semantics.md §gateway-ports). Selectors conflict when they are equal, or when one is
    a subset of the other and some workload in the repository matches both. When both servers
    are plaintext HTTP (no `tls`), istiod merges them into one route table instead of dropping
    one (docs/semantics.md §gateway-server-merge): still reported, as istioctl does, but as a
    warning — traffic flows, and each Gateway's VirtualServices also answer the other's
    requests — and as info when the VirtualServices bound to the Gateways route disjoint exact or
    prefix paths (`/service-a`, `/service-b`): the merged table then serves each as written.
    """,
    bad="""
    kind: Gateway
    metadata: {name: alpha}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [foo.bar]}]
    ---
    kind: Gateway
    metadata: {name: beta}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 80, name: tcp, protocol: TCP}, hosts: [foo.bar]}]
    """,
    good="""
    kind: Gateway
    metadata: {name: beta}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 81, name: tcp, protocol: TCP}, hosts: [foo.bar]}]
    """,
    inputs=("Gateway",),
    equivalents=("IST0145", "KIA0301"),
    references=("docs/semantics.md §analyzer-conflicting-gateways", "docs/semantics.md §gateway-server-merge"),
)
def conflicting_gateways(ctx: Context) -> Iterator[Problem]:
    gws = ctx.resources(Gateway)
    by_port: dict[int, list[tuple[Gateway, int, str, str]]] = defaultdict(list)
    for g in gws:
        if g.selector is None:
            continue
        raw_servers = as_list(g.spec.get("servers"))
        for s in g.servers:
            bind = as_str(as_map(raw_servers[s.index]).get("bind"))
            for h in s.hosts:
                by_port[s.port or 0].append((g, s.index, h, bind))
    pods_cache: dict[int, set[int]] = {}

    def pods_of(g: Gateway) -> set[int]:
        if id(g) not in pods_cache:
            pods_cache[id(g)] = {id(w) for w in gateway_workloads(ctx, g)}
        return pods_cache[id(g)]

    def selectors_conflict(a: Gateway, b: Gateway) -> bool:
        sa, sb = a.selector or {}, b.selector or {}
        if sa == sb:
            return True
        ia, ib = set(sa.items()), set(sb.items())
        if ia <= ib or ib <= ia:
            return bool(pods_of(a) & pods_of(b))
        return False

    reported: set[int] = set()
    for port, entries in sorted(by_port.items()):
        seen: dict[tuple[str, str], list[tuple[Gateway, int]]] = defaultdict(list)
        for g, idx, h, bind in entries:
            seen[(h, bind)].append((g, idx))
        for (host, _), users in sorted(seen.items()):
            distinct = {id(g): (g, idx) for g, idx in users}
            if len(distinct) < 2:
                continue
            items = list(distinct.values())
            for g, idx in items:
                pairs = [(o, oi) for o, oi in items if o is not g and selectors_conflict(g, o)]
                others = [o for o, _ in pairs]
                if not others or id(g) in reported:
                    continue
                reported.add(id(g))
                names = ", ".join(f"{o.namespace}/{o.name}" for o in others)
                # istiod merges plaintext HTTP servers of one port into one route table; only TLS
                # servers with a duplicate host and other plaintext servers are dropped.
                merged = _plain_http(g, idx) and all(_plain_http(o, oi) for o, oi in pairs)
                note = ("; both are plaintext HTTP servers, which istiod merges into one route table, so "
                        "the VirtualServices of either serve the other's requests (§gateway-server-merge)"
                        if merged else "")
                apart = merged and _routes_apart(ctx, [g] + others, host)
                if apart:
                    note += ("; their VirtualServices route disjoint request paths, so the merged table serves "
                             "each of them as written")
                yield Problem(g, ("spec", "servers", idx, "hosts"),
                              f"Gateway {g.namespace}/{g.name} conflicts with {names}: same workload selector "
                              f"({sel_str(g.selector or {})}), port {port} and host '{host}'{note}",
                              related=tuple((o, ("spec", "servers")) for o in others),
                              severity="info" if apart else "warning" if merged else None)


def _routes_apart(ctx: Context, gateways: list[Gateway], host: str) -> bool:
    """Do the VirtualServices bound to these merged plaintext Gateways keep out of each other's
    way: every Gateway has some, and any two bound to different Gateways either have no host in
    common (under the server host) or route disjoint exact/prefix paths
    (docs/semantics.md §gateway-server-merge)?"""
    graph = ctx.graph
    bound = [graph.vs_by_gateway.get((g.namespace, g.name), []) for g in gateways]
    if not all(bound):
        return False
    for i, vss in enumerate(bound):
        for other in bound[i + 1:]:
            for a in vss:
                for b in other:
                    if a is b:
                        continue
                    ha = [h for h in a.hosts if hosts_overlap(h, host)]
                    if not any(hosts_overlap(x, y) for x in ha for y in b.hosts if hosts_overlap(y, host)):
                        continue
                    pa, pb = http_route_paths(a.spec), http_route_paths(b.spec)
                    if pa is None or pb is None or any(paths_overlap(x, y) for x in pa for y in pb):
                        return False
    return True


_HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})


def _plain_http(g: Gateway, idx: int) -> bool:
    """A plaintext HTTP server: an HTTP protocol and no ``tls`` block (an httpsRedirect counts as TLS
    settings: such servers are deduplicated by host like TLS servers)."""
    raw = as_map(as_list(g.spec.get("servers"))[idx]) if idx < len(as_list(g.spec.get("servers"))) else {}
    proto = as_str(as_map(raw.get("port")).get("protocol")).upper()
    return proto in _HTTP_PROTOCOLS and raw.get("tls") is None


def _same_cert(a: dict, b: dict) -> bool:
    ca, cb = a.get("credentialName"), b.get("credentialName")
    if ca or cb:
        return bool(ca) and ca == cb
    return (bool(a.get("serverCertificate")) and a.get("serverCertificate") == b.get("serverCertificate")
            and a.get("privateKey") == b.get("privateKey"))


@rule(
    code="IVL703", family="analyzers_gateway", name="gateway-duplicate-certificate", severity="warning",
    summary="Several Gateways on the same workload serve the same TLS certificate.",
    rationale="""
    Browsers and HTTP/2 clients reuse a connection for every host the certificate covers; when
    two Gateways on one proxy serve the same certificate, requests for the second Gateway's
    hosts can arrive on the first one's filter chain and get 404s (istioctl IST0138,
    docs/semantics.md §analyzer-gateway-certificates). Gateways are compared when one's selector is contained in the
    other's.
    """,
    bad="""
    kind: Gateway
    metadata: {name: a}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: [a.example.com],
                 tls: {mode: SIMPLE, credentialName: wildcard-cert}}]
    ---
    kind: Gateway
    metadata: {name: b}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 443, name: https-b, protocol: HTTPS}, hosts: [b.example.com],
                 tls: {mode: SIMPLE, credentialName: wildcard-cert}}]
    """,
    good="""
    # one Gateway with both hosts on one server, or distinct certificates
    """,
    inputs=("Gateway",),
    equivalents=("IST0138",),
    references=("docs/semantics.md §analyzer-gateway-certificates",),
)
def duplicate_certificate(ctx: Context) -> Iterator[Problem]:
    gws = ctx.resources(Gateway)

    def tls_servers(g: Gateway) -> list[tuple[int, dict]]:
        out = []
        for i, s in enumerate(as_list(g.spec.get("servers"))):
            if isinstance(s, dict) and isinstance(s.get("tls"), dict):
                out.append((i, s["tls"]))
        return out

    for g in gws:
        gsel = set((g.selector or {}).items())
        mine = tls_servers(g)
        if not mine:
            continue
        for o in gws:
            if o is g:
                continue
            osel = set((o.selector or {}).items())
            if not gsel <= osel:
                continue
            hit = None
            for i, t in mine:
                for _, u in tls_servers(o):
                    if _same_cert(t, u):
                        hit = i
                        break
                if hit is not None:
                    break
            if hit is not None:
                yield Problem(g, ("spec", "servers", hit, "tls"),
                              f"Gateway {g.namespace}/{g.name} and Gateway {o.namespace}/{o.name} select the same "
                              "workload and serve the same certificate; clients re-using HTTP/2 connections may get 404s",
                              related=((o, ("spec", "servers")),))
                break
