"""IVL512, IVL514: the mesh hop of the egress-gateway pattern meets the gateway's servers.

The client sidecars send the external host to a gateway Service port; the connection lands
on the gateway pods' target port, where only a Gateway server can listen (pilot
``resolvePorts``, docs/semantics.md §gateway-port-translation), and that server decides which
hosts and which TLS it accepts (§egress-gateway-hops).  :func:`mesh_hops` pairs every such
hop with the servers that receive it; the rules judge the port (IVL512) and the TLS (IVL514).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import (
    DestinationRef,
    MeshGraph,
    MeshService,
    cluster_namespace,
    host_matches,
    hosts_overlap,
    installation_service,
    resolve_host,
)
from istio_vm_lint.model import Gateway, GatewayServer, Service, VirtualService, as_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import live_gateways, tls_mode

from ._messages import owner
from .egress import _TLS_PROTOCOLS

# The pods behind the Services every installation creates for its gateways (istioctl profiles
# and the istio/gateway Helm chart label them so), and the target ports of istioctl's
# profiles (the Helm chart keeps the port: 80 -> 80).
_STOCK_POD_LABELS = {
    "istio-egressgateway": {"istio": "egressgateway", "app": "istio-egressgateway"},
    "istio-ingressgateway": {"istio": "ingressgateway", "app": "istio-ingressgateway"},
    "istio-egress": {"istio": "egress", "app": "istio-egress"},
    "istio-ingress": {"istio": "ingress", "app": "istio-ingress"},
}
_STOCK_TARGET_PORTS = {80: 8080, 443: 8443}
# --- IVL512 -------------------------------------------------------------------------------------


def _gateway_pods(graph: MeshGraph, d_host: str, services: list[MeshService], port: int,
                  root_ns: str) -> Optional[tuple[list[dict[str, str]], set[int], dict[int, set[int]], str]]:
    """The gateway workload behind a mesh hop's destination: (pod label sets, the pod ports the
    hop can land on, Service port -> target ports of every Service selecting those pods, what
    the service is).  None when the destination is not a Service of pods or its ports are unknown."""
    kube = [s for s in services if isinstance(s.resource, Service)]
    if kube:
        svc = kube[0].resource
        binds = [b for b in graph.bindings_by_service.get(id(svc), ()) if b.workload.kind == "Pod"]
        if not binds:
            return None
        labels = [b.workload.labels for b in binds]
        landing = {t for b in binds if (t := b.ports.get(port))}
        if not landing:
            return None  # no such port: IVL201
        translation: dict[int, set[int]] = {}
        for b in binds:
            for b2 in graph.bindings_by_workload.get(id(b.workload), ()):
                if isinstance(b2.service_resource, Service):
                    for sp, tp in b2.ports.items():
                        if tp:
                            translation.setdefault(sp, set()).add(tp)
        return labels, landing, translation, owner(svc)
    if services or not installation_service(d_host, graph.domain, root_ns):
        return None
    name = d_host.split(".", 1)[0]
    stock = _STOCK_POD_LABELS.get(name)
    if stock is None:
        return None
    landing = {port, _STOCK_TARGET_PORTS.get(port, port)}
    translation = {p: {p, t} for p, t in _STOCK_TARGET_PORTS.items()}
    return [stock], landing, translation, f"the installation's Service {d_host}"


@rule(
    code="IVL512", family="egress", name="gateway-hop-port-without-server", severity="error",
    summary="A route sends traffic to a gateway Service port on which no Gateway server of those gateway pods listens (or admits the host).",
    rationale="""
    A gateway proxy listens only on the ports of its Gateways' servers; a server port that is
    a port of a Service selecting the gateway pods is translated to that Service's
    targetPort (pilot `resolvePorts`, docs/semantics.md §gateway-port-translation). The first
    hop of the egress-gateway pattern sends the external host to the egress gateway Service
    on some port: the connection lands on the pods' target port, and unless a Gateway
    selecting those pods has a server there whose hosts admit the host, the gateway resets
    the connection (no listener, or no filter chain / virtual host for it). Checked only when
    the repository has a Gateway selecting the gateway pods behind the Service (the Service
    in the repository, or the egress/ingress gateway Service every installation has, with
    istioctl's 80->8080 and 443->8443 and the Helm chart's unchanged ports both accepted).
    """,
    bad="""
    kind: Gateway
    metadata: {name: egress-gateway, namespace: istio-system}
    spec:
      selector: {istio: egressgateway}
      servers:
      - port: {number: 443, name: tls, protocol: TLS}
        hosts: [api.partner.example]
        tls: {mode: PASSTHROUGH}
    ---
    kind: VirtualService
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      http:
      - route:
        - destination:
            host: istio-egressgateway.istio-system.svc.cluster.local
            port: {number: 80}      # the gateway has no server on 80
    """,
    good="""
    kind: VirtualService
    metadata: {name: partner, namespace: shop}
    spec:
      hosts: [api.partner.example]
      tls:
      - match: [{port: 443, sniHosts: [api.partner.example]}]
        route:
        - destination:
            host: istio-egressgateway.istio-system.svc.cluster.local
            port: {number: 443}
    """,
    inputs=("VirtualService", "Gateway"),
    references=("docs/semantics.md §gateway-port-translation", "docs/semantics.md §egress-gateway-hops",
                "docs/semantics.md §gateway-server-hosts"),
)
def gateway_hop_port_without_server(ctx: Context) -> Iterator[Problem]:
    for hop in mesh_hops(ctx):
        vs, d, what = hop.vs, hop.dest, hop.what
        names = ", ".join(f"{g.namespace}/{g.name}" for g in hop.selecting)
        if not hop.listening:
            ports = sorted({s.port for g in hop.selecting for s in g.servers if s.port is not None})
            yield Problem(vs, d.path + ("port", "number"),
                          f"VirtualService {vs.namespace}/{vs.name} sends to {what} on port {d.port}, but no "
                          f"server of the Gateways selecting those pods ({names}; server ports {ports}) "
                          f"listens there: the gateway has no listener on the pods' port "
                          f"{'/'.join(map(str, sorted(hop.landing)))} and refuses the connection",
                          related=((hop.selecting[0], ("spec", "servers")),))
            continue
        if hop.hosts and not hop.admitting:
            g, s = hop.listening[0]
            server_hosts = sorted({h for _, s2 in hop.listening for h in s2.hosts})
            yield Problem(vs, d.path + ("port", "number"),
                          f"VirtualService {vs.namespace}/{vs.name} sends {hop.hosts} to {what} on port {d.port}, "
                          f"but the Gateway servers listening there ({g.namespace}/{g.name} port {s.port}, hosts "
                          f"{server_hosts}) admit none of these hosts: the gateway has no route or filter chain "
                          "for them and drops the traffic",
                          related=((g, s.path + ("hosts",)),))


@dataclass
class MeshHop:
    """A route the client sidecars apply (bound to ``mesh``) whose destination is a gateway
    Service that Gateways of the repository configure."""

    vs: VirtualService
    dest: DestinationRef
    what: str  # how the gateway Service is named in messages
    landing: set[int]  # the pod ports the traffic reaches
    selecting: list[Gateway]  # Gateways selecting those pods
    listening: list[tuple[Gateway, GatewayServer]]  # their servers listening on a landing port
    hosts: list[str]  # the VirtualService's hosts ([] when a wildcard makes them unknown)
    admitting: list[tuple[Gateway, GatewayServer]]  # listening servers whose hosts admit one of them


def mesh_hops(ctx: Context) -> list[MeshHop]:
    """Every mesh hop to a gateway of the repository (§egress-gateway-hops, §gateway-port-translation)."""
    return ctx.memo("egress.mesh_hops", lambda: list(_mesh_hops(ctx)))


def _mesh_hops(ctx: Context) -> Iterator[MeshHop]:
    graph = ctx.graph
    gateways = [g for g in ctx.resources(Gateway) if isinstance(g, Gateway) and g.selector]
    if not gateways:
        return
    for vs in ctx.resources(VirtualService):
        for d in graph.destinations(vs):
            rd = vs.destinations[d.dest_index]
            if d.port is None or "mesh" not in live_gateways(vs, rd.gateways, graph.domain):
                continue
            found = _gateway_pods(graph, d.host, d.services, d.port, ctx.root_namespace)
            if found is None:
                continue
            pod_labels, landing, translation, what = found
            selecting = [g for g in gateways
                         if any(all(lbl.get(k) == v for k, v in (g.selector or {}).items()) for lbl in pod_labels)]
            if not selecting:
                continue  # the repository has no Gateway for these pods
            listening = [(g, s) for g in selecting for s in g.servers if s.port is not None
                         and (translation.get(s.port) or {s.port}) & landing]
            hosts = [resolve_host(h, vs.namespace, graph.domain) for h in vs.hosts if h and not h.startswith("*")]
            if len(hosts) != len(vs.hosts):
                hosts = []
            admitting = [(g, s) for g, s in listening
                         if any(hosts_overlap(sh.split("/", 1)[-1], vh) for sh in s.hosts for vh in hosts)]
            yield MeshHop(vs, d, what, landing, selecting, listening, hosts, admitting)


# --- IVL514 -------------------------------------------------------------------------------------

_PLAIN = ("HTTP", "HTTP2", "GRPC", "GRPC-WEB", "TCP")


@rule(
    code="IVL514", family="egress", name="gateway-hop-tls-mismatch", severity="error",
    summary="A sidecar sends to a gateway server in TLS it does not accept: plain text to an ISTIO_MUTUAL server, "
            "mTLS to a plain or passthrough server, or an SNI the server's hosts do not match.",
    rationale="""
    Gateway pods carry no `security.istio.io/tlsMode` label, so auto mTLS never applies to
    the hop toward them: the sidecar speaks exactly the TLS that the DestinationRule it gets
    for the gateway Service, subset and port sets (docs/semantics.md §egress-gateway-hops,
    §tls-origination-ports). The gateway server decides what it accepts: an HTTPS or TLS server
    with `tls.mode: ISTIO_MUTUAL` terminates Istio mTLS and picks its filter chain by SNI
    among its hosts (pilot `GetSNIHostsForServer`), so the client needs `ISTIO_MUTUAL` with
    `sni` set to the external host (without `sni`, Istio sends the cluster name
    `outbound_.<port>_.<subset>_.<host>`, which no server host matches); an HTTP server and a
    PASSTHROUGH server expect the application's bytes, not an Istio mTLS wrapper. Any mismatch
    makes the gateway reset the connection. Checked for the servers that listen on the hop's
    port and admit the host (IVL512 covers the rest); a server with its own certificates
    (SIMPLE/MUTUAL) is not judged.
    """,
    bad="""
    kind: Gateway
    metadata: {name: egress-gateway, namespace: istio-system}
    spec:
      selector: {istio: egressgateway}
      servers:
      - port: {number: 80, name: https, protocol: HTTPS}
        hosts: [api.partner.example]
        tls: {mode: ISTIO_MUTUAL}
    ---
    kind: DestinationRule
    metadata: {name: egressgateway-for-partner, namespace: shop}
    spec:
      host: istio-egressgateway.istio-system.svc.cluster.local
      subsets:
      - name: partner
        trafficPolicy:
          portLevelSettings:
          - port: {number: 443}       # the hop uses port 80: it goes out in plain text
            tls: {mode: ISTIO_MUTUAL, sni: api.partner.example}
    """,
    good="""
    kind: DestinationRule
    metadata: {name: egressgateway-for-partner, namespace: shop}
    spec:
      host: istio-egressgateway.istio-system.svc.cluster.local
      subsets:
      - name: partner
        trafficPolicy:
          portLevelSettings:
          - port: {number: 80}
            tls: {mode: ISTIO_MUTUAL, sni: api.partner.example}
    """,
    inputs=("VirtualService", "Gateway"),
    references=("docs/semantics.md §egress-gateway-hops", "docs/semantics.md §tls-origination-ports",
                "docs/semantics.md §gateway-port-translation"),
)
def gateway_hop_tls_mismatch(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for hop in mesh_hops(ctx):
        if not hop.admitting:
            continue
        vs, d = hop.vs, hop.dest
        svc_ns = d.services[0].namespace if d.services else cluster_namespace(d.host, graph.domain)
        edr = graph.effective_dr(vs.namespace, d.host, svc_ns)
        if d.subset and (edr is None or d.subset not in edr.subsets):
            continue  # the subset is not defined for these clients: IVL108
        policy = edr.policy(d.subset, d.port) if edr else None
        mode = tls_mode(policy)
        sni = as_map(as_map(policy).get("tls")).get("sni")
        sni = sni if isinstance(sni, str) and sni else ""
        where = (f"DestinationRule {edr.rules[0].namespace}/{edr.rules[0].name}" if edr else
                 "no DestinationRule")
        kinds = {_server_kind(s) for _, s in hop.admitting}
        if None in kinds or len(kinds) != 1:
            continue  # a server with its own certificates, or servers that disagree: not judged
        kind = kinds.pop()
        g, s = hop.admitting[0]
        server = f"Gateway {g.namespace}/{g.name} server port {s.port} ({s.protocol}{', ' + s.tls_mode if s.tls_mode else ''})"
        msg = ""
        if kind == "mtls" and mode != "ISTIO_MUTUAL":
            msg = (f"sends {'plain text' if mode in ('', 'DISABLE') else mode + ' TLS'} (the clients in "
                   f"{vs.namespace!r} get {where}{'' if mode else ', no tls mode for this subset and port'}) to "
                   f"{server}, which accepts only Istio mTLS: set tls.mode ISTIO_MUTUAL with sni for port {d.port}")
        elif kind == "mtls":
            names = [h.split("/", 1)[-1] for _, s2 in hop.admitting for h in s2.hosts]
            if not any(n == "*" or host_matches(n, sni) for n in names) and sni != "*":
                shown = f"sni '{sni}'" if sni else f"no sni (so the cluster name outbound_.{d.port}_.{d.subset}_.{d.host})"
                msg = (f"sends Istio mTLS with {shown} ({where}) to {server}, whose filter chains match the SNI "
                       f"against its hosts {sorted(set(names))}: set sni to the external host")
        elif kind in ("plain", "passthrough") and mode in ("ISTIO_MUTUAL", "SIMPLE", "MUTUAL"):
            expects = "plain text" if kind == "plain" else "the application's own TLS (passthrough)"
            msg = (f"wraps the traffic in {mode} ({where}) toward {server}, which expects {expects}: "
                   f"remove the tls setting for port {d.port} of this subset")
        if msg:
            yield Problem(vs, d.path + ("port", "number"), f"VirtualService {vs.namespace}/{vs.name}: the mesh hop to "
                          f"{hop.what} port {d.port} {msg}",
                          related=((g, s.path),))


def _server_kind(s: GatewayServer) -> Optional[str]:
    """What a gateway server accepts: "mtls" (Istio mTLS, SNI-matched), "plain", "passthrough",
    or None (its own certificates, auto passthrough, unknown)."""
    if s.tls_mode == "ISTIO_MUTUAL" and s.protocol in _TLS_PROTOCOLS:
        return "mtls"
    if s.tls_mode == "PASSTHROUGH" and s.protocol in _TLS_PROTOCOLS:
        return "passthrough"
    if not s.tls_mode and s.protocol in _PLAIN:
        return "plain"
    return None
