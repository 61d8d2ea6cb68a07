"""IVL310–IVL316 multi-network: network gateways, AUTO_PASSTHROUGH servers.

In a mesh of several networks, istiod takes a Kubernetes Service labelled
``topology.istio.io/network: <net>`` as the gateway of that network if it listens on the
cross-network port (15443, or the ``networking.istio.io/gatewayPort`` label, or HBONE 15008)
and has an address other networks can use; clients on other networks then send mTLS with the
SNI ``outbound_.<port>_.<subset>_.<host>`` to that address, and the gateway pods route it with
an ``AUTO_PASSTHROUGH`` server to the service's endpoints (docs/semantics.md
§network-gateways, §auto-passthrough). IVL306 (cross-network endpoints without mTLS) lives in
mesh_boundary.py.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from istio_vm_lint.defaults import (
    NETWORK_GATEWAY_HBONE_PORT,
    NETWORK_GATEWAY_PORT,
    NETWORK_GATEWAY_PORT_LABEL,
    NETWORK_LABEL,
)
from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import Gateway, GatewayServer, Namespace, Service, as_list
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import (
    NetworkGateway,
    auto_passthrough_serves,
    could_be_kube_host,
    gateway_external_address,
    kube_fqdn,
    network_gateway,
)

from ._messages import describe, wkey
from .selectors._common import looks_like_gateway

_CROSS_NETWORK_PORTS = (NETWORK_GATEWAY_PORT, NETWORK_GATEWAY_HBONE_PORT)


def _network_services(ctx: Context) -> list[tuple[Service, NetworkGateway]]:
    """Every Service labelled ``topology.istio.io/network``, with what istiod reads from it."""
    def compute() -> list[tuple[Service, NetworkGateway]]:
        out = []
        for svc in ctx.resources(Service):  # the whole repository (also for a rule iterating fewer)
            if svc.service_type == "ExternalName":
                continue
            ng = network_gateway(svc.labels, (p.number for p in svc.ports))
            if ng is not None:
                out.append((svc, ng))
        return out
    return ctx.memo("multinetwork.network_services", compute)


def _gateway_pods(ctx: Context, svc: Service) -> list[Workload]:
    """The gateway-like pod templates the Service selects (§gateway-selector)."""
    return sorted((b.workload for b in ctx.graph.bindings_by_service.get(id(svc), ())
                   if b.workload.kind == "Pod" and looks_like_gateway(b.workload)), key=wkey)


def _targets(svc: Service) -> set[int]:
    return {p.effective_target for p in svc.ports if isinstance(p.effective_target, int)}  # type: ignore[misc]


def _meant_as_gateway(ctx: Context, svc: Service, ng: NetworkGateway) -> bool:
    """A network-labelled Service that is evidently meant as a network (east-west) gateway: it
    forwards to the cross-network port, is named or labelled as an east-west gateway, or its pods
    get an AUTO_PASSTHROUGH server.  The network label alone is not enough: the gateway chart
    and kustomize ``commonLabels`` put it on ingress gateways and application Services too, to
    set their pods' network, and istiod ignores such Services harmlessly."""
    if _targets(svc) & {ng.wanted_port, *_CROSS_NETWORK_PORTS}:
        return True
    words = " ".join([svc.name, *svc.labels.values()]).lower().replace("-", "").replace("_", "")
    if "eastwest" in words:
        return True
    pods = _gateway_pods(ctx, svc)
    return bool(pods) and any(any(s.tls_mode == "AUTO_PASSTHROUGH" for s in gw.servers)
                              for gw in _selecting_gateways(ctx, pods))


def gateway_networks(ctx: Context) -> dict[str, Optional[tuple[object, FieldPath]]]:
    """Networks the repository (and ``--mesh-config`` meshNetworks) gives a gateway:
    network -> (resource, path) of a Service that is its gateway, or None when the gateway is
    a Gateway API Gateway or a meshNetworks entry (§network-gateways)."""
    def compute() -> dict[str, Optional[tuple[object, FieldPath]]]:
        out: dict[str, Optional[tuple[object, FieldPath]]] = {}
        for svc, ng in _network_services(ctx):
            if ng.accepted:
                out.setdefault(ng.network, (svc, ("metadata", "labels", NETWORK_LABEL)))
        facts = ctx.network_facts
        if facts.registry_gateways:
            domain = ctx.settings.cluster_domain
            for svc in ctx.resources(Service):
                net = facts.registry_gateways.get(kube_fqdn(svc.name, svc.namespace, domain))
                if net:
                    out.setdefault(net, (svc, ("metadata", "name")))
        for net in sorted(set(ctx.gateway_api_networks.values())):
            out.setdefault(net, None)
        for net, has_gateway in sorted(facts.networks.items()):
            if has_gateway:
                out.setdefault(net, None)
        for net, has_gateway in ctx.mesh.mesh_networks:
            if has_gateway:
                out.setdefault(net, None)
        return out
    return ctx.memo("multinetwork.gateway_networks", compute)


def _accepted_networks(ctx: Context) -> set[str]:
    return {ng.network for svc, ng in _network_services(ctx)
            if ng.accepted and gateway_external_address(svc.service_type, svc.annotations, as_list(svc.spec.get("externalIPs")))}


def _label_path(svc: Service, key: str) -> FieldPath:
    if key in svc.labels:
        return ("metadata", "labels", key)
    return ("metadata", "labels") if svc.labels else ("metadata",)


# --- IVL310 -------------------------------------------------------------------------------------


@rule(
    code="IVL310", family="multinetwork", name="network-gateway-without-cross-network-port", severity="error",
    summary="A Service labelled topology.istio.io/network has no service port 15443 (nor the gatewayPort label's port, nor 15008), so istiod does not use it as the network's gateway.",
    rationale="""
    istiod takes a Kubernetes Service labelled `topology.istio.io/network: <net>` as the gateway
    of `<net>` only if one of its *service* ports (`port`, not `targetPort`) is the
    cross-network mTLS port — 15443, or the value of the label
    `networking.istio.io/gatewayPort` — or the HBONE port 15008; otherwise it logs "is labeled
    as gateway, but does not listen" and ignores it (`getGatewayDetails`, docs/semantics.md
    §network-gateways). Clients on other networks then get no gateway for `<net>` and are sent
    the endpoints' own addresses, which they cannot reach: cross-network traffic to the
    network's services fails. A frequent form is `port: 443, targetPort: 15443`. Reported only
    for Services evidently meant as east-west gateways (they forward to 15443/15008, are named
    or labelled `eastwest`, or their pods get an `AUTO_PASSTHROUGH` server) and only while no
    other Service is the network's gateway: the network label also sets the network of the
    pods a chart or kustomize labels, and on an ingress gateway or application Service it is
    harmless. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: Service
    metadata:
      name: istio-eastwestgateway
      namespace: istio-system
      labels: {istio: eastwestgateway, topology.istio.io/network: network1}
    spec:
      type: LoadBalancer
      selector: {istio: eastwestgateway}
      ports: [{name: tls, port: 443, targetPort: 15443}]
    """,
    good="""
    kind: Service
    metadata:
      name: istio-eastwestgateway
      namespace: istio-system
      labels: {istio: eastwestgateway, topology.istio.io/network: network1}
    spec:
      type: LoadBalancer
      selector: {istio: eastwestgateway}
      ports: [{name: tls, port: 15443, targetPort: 15443}]
    """,
    inputs=("Service",),
    equivalents=(),
    references=("docs/semantics.md §network-gateways",),
)
def network_gateway_without_cross_network_port(ctx: Context) -> Iterator[Problem]:
    served = set(gateway_networks(ctx))
    for svc, ng in _network_services(ctx):
        ctx.current = svc
        if ng.accepted or ng.network in served or not _meant_as_gateway(ctx, svc, ng):
            continue  # another Service is the network's gateway: this one is merely ignored
        hint, path = "", ("spec", "ports") if svc.ports else ("spec",)
        for p in svc.ports:
            if p.effective_target in (ng.wanted_port, NETWORK_GATEWAY_HBONE_PORT) and p.number is not None:
                path = p.path + ("port",)
                hint = (f"; port {p.number} forwards to {p.effective_target}, but istiod looks for the service port "
                        f"(`port: {p.effective_target}`), not the targetPort (to keep {p.number}, label the Service "
                        f"{NETWORK_GATEWAY_PORT_LABEL}: \"{p.number}\")")
                break
        wanted = f"{ng.wanted_port}" + (f" (label {NETWORK_GATEWAY_PORT_LABEL})" if ng.wanted_port != NETWORK_GATEWAY_PORT else "")
        if ng.port_label_invalid:
            hint += (f"; the label {NETWORK_GATEWAY_PORT_LABEL}='{svc.labels.get(NETWORK_GATEWAY_PORT_LABEL)}' is not a "
                     f"number, so istiod ignores it")
        yield Problem(svc, path,
                      f"Service {svc.namespace}/{svc.name} is labelled {NETWORK_LABEL}={ng.network} but has neither "
                      f"the service port {wanted} nor {NETWORK_GATEWAY_HBONE_PORT}{hint}: istiod does not use it as the "
                      f"gateway of network '{ng.network}', so clients on other networks cannot reach that network's "
                      "endpoints (§network-gateways)")
    ctx.current = None


# --- IVL311 -------------------------------------------------------------------------------------


@rule(
    code="IVL311", family="multinetwork", name="network-gateway-without-external-address", severity="info",
    summary="A network gateway Service is of type ClusterIP (or a NodePort without traffic.istio.io/nodeSelector) and has no externalIPs, so istiod knows no address other networks can use.",
    rationale="""
    The address istiod gives clients on other networks for a network gateway is the Service's
    external address: the LoadBalancer ingress address, `spec.externalIPs`, or for a NodePort
    Service annotated `traffic.istio.io/nodeSelector` the addresses of the matching nodes
    (`ConvertService`, `extractGatewaysInner`, docs/semantics.md §network-gateways). A ClusterIP
    Service, or a NodePort Service without the annotation, yields no address, so the network
    has no gateway although the Service is labelled for it: cross-network traffic to it fails
    when other networks rely on istiod's gateway discovery. Information only, because some
    setups expose a ClusterIP gateway by other means and give the peers its address themselves
    (OpenShift Service Mesh federation: a Route, and the peer's address in the federation
    resource). A LoadBalancer Service is assumed to get its address (a repository holds no
    status). Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: Service
    metadata:
      name: istio-eastwestgateway
      labels: {topology.istio.io/network: network1}
    spec:
      selector: {istio: eastwestgateway}   # type omitted: ClusterIP
      ports: [{name: tls, port: 15443}]
    """,
    good="""
    kind: Service
    metadata:
      name: istio-eastwestgateway
      labels: {topology.istio.io/network: network1}
    spec:
      type: LoadBalancer
      selector: {istio: eastwestgateway}
      ports: [{name: tls, port: 15443}]
    """,
    inputs=("Service",),
    equivalents=(),
    references=("docs/semantics.md §network-gateways",),
)
def network_gateway_without_external_address(ctx: Context) -> Iterator[Problem]:
    addressed = _accepted_networks(ctx)
    for svc, ng in _network_services(ctx):
        ctx.current = svc
        if not ng.accepted or ng.network in addressed or not _meant_as_gateway(ctx, svc, ng):
            continue
        if gateway_external_address(svc.service_type, svc.annotations, as_list(svc.spec.get("externalIPs"))):
            continue
        if svc.headless:
            continue  # not a gateway anyone fronts; other rules judge headless Services
        what = ("a NodePort Service without the annotation traffic.istio.io/nodeSelector"
                if svc.service_type == "NodePort" else f"of type {svc.service_type}")
        yield Problem(svc, ("spec", "type") if "type" in svc.spec else _label_path(svc, NETWORK_LABEL),
                      f"Service {svc.namespace}/{svc.name} is the gateway of network '{ng.network}' "
                      f"({NETWORK_LABEL}, port {ng.port or ng.hbone_port}) but is {what} and has no externalIPs: istiod "
                      "finds no address for it, so clients on other networks get no gateway for that network "
                      "(§network-gateways); use type LoadBalancer or set externalIPs")
    ctx.current = None


# --- IVL312 -------------------------------------------------------------------------------------


@rule(
    code="IVL312", family="multinetwork", name="network-gateway-service-without-network-label", severity="warning",
    summary="The Service in front of east-west gateway pods of a network lacks that network's topology.istio.io/network label (or names another network), and no Service is that network's gateway.",
    rationale="""
    istiod discovers network gateways from *Services* labelled `topology.istio.io/network`, not
    from pods (`extractGatewaysFromService`, docs/semantics.md §network-gateways): the label on
    the east-west gateway pods only puts the pods themselves on the network. When the Service
    that exposes gateway pods of network `<net>` on the cross-network port carries no network
    label, or another network's, and no other Service is `<net>`'s gateway, clients on other
    networks get no gateway for `<net>` and cannot reach its endpoints. (The gateway chart and
    `gen-eastwest-gateway.sh` put the label on both.) Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: Service
    metadata: {name: istio-eastwestgateway, namespace: istio-system, labels: {istio: eastwestgateway}}
    spec:
      type: LoadBalancer
      selector: {istio: eastwestgateway}   # pods labelled topology.istio.io/network: network1
      ports: [{name: tls, port: 15443}]
    """,
    good="""
    kind: Service
    metadata:
      name: istio-eastwestgateway
      namespace: istio-system
      labels: {istio: eastwestgateway, topology.istio.io/network: network1}
    spec:
      type: LoadBalancer
      selector: {istio: eastwestgateway}
      ports: [{name: tls, port: 15443}]
    """,
    inputs=("Service",),
    equivalents=(),
    references=("docs/semantics.md §network-gateways",),
)
def network_gateway_service_without_network_label(ctx: Context) -> Iterator[Problem]:
    served = set(gateway_networks(ctx))
    for svc in ctx.each(Service):
        if svc.service_type == "ExternalName":
            continue
        numbers = {p.number for p in svc.ports} | _targets(svc)
        if not numbers & set(_CROSS_NETWORK_PORTS):
            continue  # not the cross-network entry (e.g. a Service exposing only istiod)
        pods = [w for w in _gateway_pods(ctx, svc) if w.network]
        if not pods:
            continue
        own = svc.labels.get(NETWORK_LABEL, "")
        for net in sorted({w.network for w in pods}):
            if net in served or net == own:
                continue
            w = next(w for w in pods if w.network == net)
            what = f"is labelled {NETWORK_LABEL}={own}" if own else f"has no {NETWORK_LABEL} label"
            yield Problem(svc, _label_path(svc, NETWORK_LABEL),
                          f"Service {svc.namespace}/{svc.name} exposes the east-west gateway pods of network '{net}' "
                          f"({describe(w)}) but {what}, and no Service is the gateway of '{net}': istiod finds "
                          f"network gateways from Service labels only, so clients on other networks cannot reach "
                          f"'{net}' (§network-gateways)",
                          related=((w.resource, w.labels_path + (NETWORK_LABEL,)),))
    ctx.current = None


# --- IVL313 -------------------------------------------------------------------------------------


def _auto_passthrough(gw: Gateway) -> Iterator[GatewayServer]:
    for s in gw.servers:
        if s.tls_mode == "AUTO_PASSTHROUGH":
            yield s


@rule(
    code="IVL313", family="multinetwork", name="auto-passthrough-host-matches-no-service", severity="warning",
    summary="A host of an AUTO_PASSTHROUGH server matches no mesh service, so the server routes nothing for it.",
    rationale="""
    An `AUTO_PASSTHROUGH` server gets one filter chain per port of every service that is not
    `MESH_EXTERNAL` and whose hostname falls under one of the server's hosts, matched on the
    SNI `outbound_.<port>_.<subset>_.<host>` (`builtAutoPassthroughFilterChains`,
    docs/semantics.md §auto-passthrough); VirtualServices are not used. A host pattern that
    covers no such service — `*.global` from Istio 1.7's multicluster setup, a misspelt
    domain — routes nothing: cross-network connections for the intended services are reset.
    Reported when the pattern cannot cover a Kubernetes Service name (`*.local`,
    `*.svc.cluster.local`, `*.<ns>.svc.cluster.local` always can) and covers no
    non-`MESH_EXTERNAL` ServiceEntry host of the repository. Info when another host of the same
    server covers every Kubernetes Service (`*.local` beside a leftover `*.global`): nothing is
    lost (docs/semantics.md §auto-passthrough-extra-hosts). Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: Gateway
    spec:
      selector: {istio: eastwestgateway}
      servers:
      - port: {number: 15443, name: tls, protocol: TLS}
        tls: {mode: AUTO_PASSTHROUGH}
        hosts: ["*.global"]
    """,
    good="""
    kind: Gateway
    spec:
      selector: {istio: eastwestgateway}
      servers:
      - port: {number: 15443, name: tls, protocol: TLS}
        tls: {mode: AUTO_PASSTHROUGH}
        hosts: ["*.local"]
    """,
    inputs=("Gateway",),
    equivalents=(),
    references=("docs/semantics.md §auto-passthrough", "docs/semantics.md §auto-passthrough-extra-hosts"),
)
def auto_passthrough_host_matches_no_service(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    services = ctx.graph.services
    probe = f"any-service.any-namespace.svc.{domain}"
    for gw in ctx.each(Gateway):
        for s in _auto_passthrough(gw):
            for i, raw in enumerate(s.hosts):
                pattern = raw.rpartition("/")[2].lower()
                if not pattern or could_be_kube_host(pattern, domain):
                    continue
                matching = [svc for svc in services if auto_passthrough_serves(pattern, svc.host.lower())]
                if any(svc.location != "MESH_EXTERNAL" for svc in matching):
                    continue
                hint = ""
                if matching:
                    hint = (f"; {matching[0].kind} {matching[0].namespace}/{matching[0].resource.name} "
                            f"({matching[0].host}) matches but is MESH_EXTERNAL, which AUTO_PASSTHROUGH never serves")
                # Another host of the server covers every Kubernetes Service: the leftover adds
                # nothing, but nothing is lost (§auto-passthrough-extra-hosts).
                covering = next((h for h in s.hosts if auto_passthrough_serves(h.rpartition("/")[2].lower(), probe)), "")
                yield Problem(gw, s.path + ("hosts", i),
                              f"Gateway {gw.namespace}/{gw.name}: AUTO_PASSTHROUGH server on port {s.port} has host "
                              f"'{raw}', which matches no service of the mesh (it cannot be a Kubernetes Service name "
                              f"under {domain} and no ServiceEntry host matches){hint}: the server routes nothing "
                              "for it (§auto-passthrough)"
                              + (f"; its host '{covering}' still serves every Kubernetes Service, so cross-network "
                                 "traffic is unaffected (§auto-passthrough-extra-hosts)" if covering else ""),
                              severity="info" if covering else None)


# --- IVL314 -------------------------------------------------------------------------------------


def _selecting_gateways(ctx: Context, pods: list[Workload]) -> list[Gateway]:
    ids = {id(w) for w in pods}
    out = []
    for gw in ctx.each(Gateway):
        if gw.selector and any(id(w) in ids for w in ctx.graph.select_any_namespace(gw.selector, ("Pod",))):
            out.append(gw)
    ctx.current = None
    return out


@rule(
    code="IVL314", family="multinetwork", name="network-gateway-without-auto-passthrough", severity="warning",
    summary="The pods of a network gateway Service get Gateways, but none with an AUTO_PASSTHROUGH server on the cross-network port.",
    rationale="""
    Clients on other networks send mTLS to the network gateway's cross-network port (15443),
    with the SNI `outbound_.<port>_.<subset>_.<host>`; the gateway pods route it only through a
    Gateway server in `tls.mode: AUTO_PASSTHROUGH` on that port (the Service port or its
    targetPort), as in Istio's `samples/multicluster/expose-services.yaml`
    (docs/semantics.md §network-gateways, §auto-passthrough). When the repository configures
    the gateway pods with Gateways but none has such a server, connections to the port are
    refused: a warning, since the cross-network Gateway may be applied from elsewhere; an
    error when a server on that port exists with another TLS mode (`PASSTHROUGH` routes only
    through VirtualService `tls` routes, `SIMPLE`/`MUTUAL`/`ISTIO_MUTUAL` terminate the
    clients' mTLS). Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: Gateway
    metadata: {name: cross-network-gateway, namespace: istio-system}
    spec:
      selector: {istio: eastwestgateway}
      servers:
      - port: {number: 15443, name: tls, protocol: TLS}
        tls: {mode: PASSTHROUGH}
        hosts: ["*.local"]
    """,
    good="""
    kind: Gateway
    metadata: {name: cross-network-gateway, namespace: istio-system}
    spec:
      selector: {istio: eastwestgateway}
      servers:
      - port: {number: 15443, name: tls, protocol: TLS}
        tls: {mode: AUTO_PASSTHROUGH}
        hosts: ["*.local"]
    """,
    inputs=("Service", "Gateway"),
    equivalents=(),
    references=("docs/semantics.md §network-gateways", "docs/semantics.md §auto-passthrough"),
)
def network_gateway_without_auto_passthrough(ctx: Context) -> Iterator[Problem]:
    for svc, ng in _network_services(ctx):
        if not ng.port:
            continue  # HBONE only (ambient): no AUTO_PASSTHROUGH server involved
        sp = next((p for p in svc.ports if p.number == ng.port), None)
        if sp is None:
            continue
        pods = _gateway_pods(ctx, svc)
        if not pods:
            continue
        gateways = _selecting_gateways(ctx, pods)
        if not gateways:
            continue  # the repository does not configure these gateway pods
        ports = {ng.port} | ({sp.effective_target} if isinstance(sp.effective_target, int) else set())
        wrong: Optional[tuple[Gateway, GatewayServer]] = None
        ok = False
        for gw in gateways:
            for s in gw.servers:
                if s.port in ports:
                    if s.tls_mode == "AUTO_PASSTHROUGH":
                        ok = True
                    elif wrong is None:
                        wrong = (gw, s)
        if ok:
            continue
        if wrong is not None:
            gw, s = wrong
            mode = s.tls_mode or "no TLS settings"
            yield Problem(gw, s.path + ("tls", "mode") if s.tls_mode else s.path,
                          f"Gateway {gw.namespace}/{gw.name} serves port {s.port} of the east-west gateway of network "
                          f"'{ng.network}' (Service {svc.namespace}/{svc.name}) with {mode}, not AUTO_PASSTHROUGH: "
                          "cross-network mTLS arriving there (SNI outbound_.<port>_.<subset>_.<host>) is not routed to "
                          "the network's endpoints (§auto-passthrough)",
                          related=((svc, sp.path),), severity="error")
            continue
        names = ", ".join(f"{g.namespace}/{g.name}" for g in gateways[:3])
        yield Problem(svc, sp.path,
                      f"Service {svc.namespace}/{svc.name} is the gateway of network '{ng.network}' on port {ng.port}, "
                      f"but no Gateway gives its pods ({describe(pods[0])}) an AUTO_PASSTHROUGH server on that port "
                      f"(Gateways selecting them: {names}): cross-network connections are refused (§auto-passthrough)",
                      related=((gateways[0], ("spec", "servers")),))


# --- IVL315 -------------------------------------------------------------------------------------


def _shape(network: str) -> str:
    """network1 / network2, vpc-a / vpc-b: names that differ only in a number or a final
    one-letter suffix are distinct networks by design, not misspellings."""
    return re.sub(r"[-_.][a-z]$", "-?", re.sub(r"[0-9]+", "#", network.lower()))


def _near_miss(name: str, other: str) -> bool:
    import difflib

    if name == other or _shape(name) == _shape(other):
        return False
    return difflib.SequenceMatcher(None, name, other).ratio() >= 0.8


def _declared_networks(ctx: Context) -> dict[str, tuple[int, tuple[object, FieldPath]]]:
    """Every network value the repository writes (namespace labels, pod template labels,
    WorkloadEntry/WorkloadGroup/endpoint ``network``, gateway Services): how many resources
    write it and one place it is written."""
    out: dict[str, tuple[int, tuple[object, FieldPath]]] = {}

    def add(net: str, where: tuple[object, FieldPath]) -> None:
        count, first = out.get(net, (0, where))
        out[net] = (count + 1, first)
    for ns in ctx.resources(Namespace):
        net = ns.labels.get(NETWORK_LABEL)
        if net:
            add(net, (ns, ("metadata", "labels", NETWORK_LABEL)))
    for w in sorted(ctx.graph.workloads, key=wkey):
        if w.network:
            add(w.network, (w.resource, _network_path(w)))
    for svc, ng in _network_services(ctx):
        add(ng.network, (svc, ("metadata", "labels", NETWORK_LABEL)))
    return out


def _network_path(w: Workload) -> FieldPath:
    if w.kind == "WorkloadEntry":
        return ("spec", "network")
    if w.kind == "WorkloadGroup":
        return ("spec", "template", "network")
    if w.kind == "Endpoint" and w.endpoint is not None:
        return w.endpoint.path + ("network",)
    return w.labels_path + (NETWORK_LABEL,)


@rule(
    code="IVL315", family="multinetwork", name="endpoint-network-misspelt", severity="info",
    summary="An endpoint's network has no gateway and looks like a misspelling of a network the repository declares (or differs from its WorkloadGroup's).",
    rationale="""
    A network is only a name: istiod groups endpoints by their `network` (WorkloadEntry
    `network`, WorkloadGroup `template.network`, the pod label `topology.istio.io/network`) and
    looks the name up among the network gateways (docs/semantics.md §network-gateways,
    §cross-network). In sidecar mode a client on another network is sent the endpoint's own
    address when its network has no gateway (`EndpointsByNetworkFilter`); for an endpoint that
    really sits behind a gateway that address is unreachable, and in ambient mode the endpoint
    is dropped. So an endpoint whose network has no gateway while its name is a near-miss of a
    network the repository declares (`vm-nett` for `vm-net`, `network-1` for `network1`), or
    differs from the network of the WorkloadGroup whose labels it carries, is most likely
    misspelt: a warning when the intended network has a gateway (clients on other networks
    lose the route through it), information otherwise (an endpoint on a network without a
    gateway is reached directly, which works where the networks are routable). Names that differ
    only in a number or last letter (`network1`/`network2`) are distinct networks. Runs only
    when the repository gives some network a gateway. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: ledger-vm-2, namespace: ledger}
    spec: {address: 10.20.0.12, network: vm-nte, serviceAccount: ledger, labels: {app: ledger}}
    # the other VMs and the WorkloadGroup say vm-net
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: ledger-vm-2, namespace: ledger}
    spec: {address: 10.20.0.12, network: vm-net, serviceAccount: ledger, labels: {app: ledger}}
    """,
    inputs=("WorkloadEntry", "WorkloadGroup", "ServiceEntry"),
    equivalents=(),
    references=("docs/semantics.md §network-gateways", "docs/semantics.md §cross-network"),
)
def endpoint_network_misspelt(ctx: Context) -> Iterator[Problem]:
    gateways = gateway_networks(ctx)
    if not gateways:
        return
    declared = _declared_networks(ctx)
    graph = ctx.graph
    groups = [w for w in graph.workloads if w.kind == "WorkloadGroup" and w.network and w.labels]
    for w in sorted(graph.workloads, key=wkey):
        if w.kind not in ("WorkloadEntry", "WorkloadGroup", "Endpoint") or not w.network or w.network in gateways:
            continue
        if not graph.bindings_by_workload.get(id(w)):
            continue  # serves no service: nobody routes to it
        ctx.current = w.resource
        intended, why, where = "", "", None
        mine = declared.get(w.network, (0, None))[0]

        def likelier(n: str, mine: int = mine) -> bool:
            return n in gateways or declared.get(n, (0, None))[0] > mine
        if w.kind == "WorkloadEntry":
            for g in groups:
                if g.namespace == w.namespace and _near_miss(w.network, g.network) and likelier(g.network) and \
                        all(w.labels.get(k) == v for k, v in g.labels.items()):
                    intended, where = g.network, (g.resource, _network_path(g))
                    why = f"WorkloadGroup {g.namespace}/{g.resource.name}, whose labels it carries, says '{g.network}'"
                    break
        if not intended:
            close = sorted(n for n in declared if _near_miss(w.network, n) and likelier(n))
            if not close:
                continue
            intended, where = close[0], declared[close[0]][1]
            why = f"the repository declares the network '{intended}'"
        severity = "warning" if intended in gateways else None
        effect = (f"clients on other networks are sent its own address instead of the gateway of '{intended}'"
                  if severity else "clients on other networks are sent its own address (no gateway)")
        yield Problem(w.resource, _network_path(w),
                      f"{describe(w)} is on network '{w.network}', which has no gateway, while {why}: if that is "
                      f"a misspelling, {effect} (§network-gateways)",
                      related=((where[0], where[1]),) if where is not None else (),  # type: ignore[arg-type]
                      severity=severity)
    ctx.current = None


# --- IVL316 -------------------------------------------------------------------------------------


@rule(
    code="IVL316", family="multinetwork", name="namespace-network-label-ignored", severity="warning",
    summary="A namespace other than the system namespace is labelled topology.istio.io/network with another network: istiod ignores the label, its pods stay on the cluster's network.",
    rationale="""
    istiod reads a pod's network from the pod's own `topology.istio.io/network` label (which the
    sidecar injector sets from `values.global.network`), else from the label of the *system*
    namespace (`istio-system`), else from meshNetworks (`Controller.Network`,
    docs/semantics.md §network-gateways); the label on any other namespace is never read. A
    namespace labelled with a network other than the system namespace's therefore does not
    move its pods: they stay on the cluster's network, are reached directly by clients there,
    and the gateway or isolation the author meant for that network does not apply. Reported
    when the repository declares the system namespace (so its network is known) and the
    namespace has pod templates without a network label of their own. Not checked by istioctl
    or Kiali.
    """,
    bad="""
    kind: Namespace
    metadata: {name: payments, labels: {topology.istio.io/network: network2}}   # istio-system says network1
    """,
    good="""
    kind: Deployment
    metadata: {name: api, namespace: payments}
    spec:
      template:
        metadata: {labels: {app: api, topology.istio.io/network: network2}}
    """,
    inputs=("Namespace",),
    equivalents=(),
    references=("docs/semantics.md §network-gateways",),
)
def namespace_network_label_ignored(ctx: Context) -> Iterator[Problem]:
    system = ctx.root_namespace
    namespaces = {ns.name: ns for ns in ctx.resources(Namespace)}
    if system not in namespaces:
        return
    cluster_net = namespaces[system].labels.get(NETWORK_LABEL, "")
    for ns in ctx.each(Namespace):
        net = ns.labels.get(NETWORK_LABEL, "")
        if ns.name == system or not net or net == cluster_net:
            continue
        pods = [w for w in ctx.graph.select(ns.name, {}, ("Pod",)) if not w.network]
        if not pods:
            continue
        pods.sort(key=wkey)
        where = (f"the cluster's network ('{cluster_net}' on {system}, or the injector's values.global.network)"
                 if cluster_net else "the cluster's network (the injector's values.global.network, or none)")
        yield Problem(ns, ("metadata", "labels", NETWORK_LABEL),
                      f"Namespace {ns.name} is labelled {NETWORK_LABEL}={net}, but istiod reads that label only on "
                      f"the pods and on the system namespace {system}: {describe(pods[0])}"
                      f"{f' and {len(pods) - 1} more' if len(pods) > 1 else ''} stay on {where} (§network-gateways); "
                      f"label the pod templates (or set the proxies' network) instead",
                      related=((pods[0].resource, pods[0].labels_path),))
