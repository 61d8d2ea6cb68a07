"""IVL73x service analyzers: istioctl's ServiceEntry, Service port-name and Deployment checks."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Namespace, Service, ServiceEntry, WorkloadController, as_list, as_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import export_scopes, scopes_overlap


@rule(
    code="IVL730", family="analyzers_services", name="conflicting-service-entry-protocols", severity="warning",
    summary="Several ServiceEntries declare the same host and port with different protocols.",
    rationale="""
    ServiceEntries with the same host are merged per namespace scope; when they disagree on the
    protocol of one port, the listener is built from whichever wins, and the other protocol's
    routes silently do not apply (istioctl IST0177, docs/semantics.md §analyzer-serviceentry-protocols;
    docs/semantics.md §duplicate-hosts on same-host services). Only ServiceEntries visible to a common
    namespace (exportTo) are compared; an omitted protocol counts as its own value.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: se-http}
    spec: {hosts: [api.example.com], ports: [{number: 443, name: http, protocol: HTTP}]}
    ---
    kind: ServiceEntry
    metadata: {name: se-https}
    spec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}]}
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: se-https}
    spec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}]}
    """,
    inputs=("ServiceEntry",),
    equivalents=("IST0177", "KIA1212"),
    references=("docs/semantics.md §analyzer-serviceentry-protocols", "docs/semantics.md §duplicate-hosts"),
)
def conflicting_protocols(ctx: Context) -> Iterator[Problem]:
    # Every ServiceEntry port by (host, number), in the repository's order; each ServiceEntry
    # iterated is reported at its first key (in sorted order) where another declares another
    # protocol (a named-file run iterates only the entries it can report on: lint/relevance.py).
    index: dict[tuple[str, int], list[tuple[ServiceEntry, int, str]]] = defaultdict(list)
    for se in ctx.resources(ServiceEntry):
        for h in se.hosts:
            for p in se.ports:
                if p.number is not None:
                    index[(h, p.number)].append((se, p.index, p.protocol.upper()))
    scopes: dict[int, Optional[frozenset[str]]] = {}

    def scope(se: ServiceEntry) -> Optional[frozenset[str]]:
        got = scopes.get(id(se), ())
        if got == ():
            got = scopes[id(se)] = export_scopes(se.export_to, se.namespace)
        return got  # type: ignore[return-value]

    for se in ctx.each(ServiceEntry):
        keys = sorted({(h, p.number) for h in se.hosts for p in se.ports if p.number is not None})
        found = None
        for key in keys:
            entries = index[key]
            if len({e[2] for e in entries}) < 2:
                continue
            for e in entries:
                if e[0] is not se:
                    continue
                proto = e[2]
                others = [o for o in entries if o[0] is not se and o[2] != proto and scopes_overlap(scope(se), scope(o[0]))]
                if others:
                    found = (key, e[1], proto, others)
                    break
            if found is not None:
                break
        if found is None:
            continue
        (host, number), pi, proto, others = found
        listing = ", ".join(f"{o[0].namespace}/{o[0].name} ({o[2] or 'unset'})" for o in others)
        yield Problem(se, ("spec", "ports", pi, "protocol") if "protocol" in as_map(as_list(se.spec.get("ports"))[pi])
                      else ("spec", "ports", pi),
                      f"ServiceEntry {se.namespace}/{se.name} declares host '{host}' port {number} as "
                      f"{proto or 'unset'}, but {listing} declare it with another protocol",
                      related=tuple((o[0], ("spec", "ports", o[1])) for o in others))


@rule(
    code="IVL731", family="analyzers_services", name="service-entry-addresses-required", severity="warning",
    summary="A ServiceEntry with a TCP (or unset-protocol) port has no addresses.",
    rationale="""
    Without `addresses`, TCP traffic cannot be told apart by destination IP: the outbound
    listener is `0.0.0.0:<port>`, so the port is captured for every destination and no other
    service in the mesh may use it (docs/semantics.md §serviceentry-addresses; istioctl IST0134,
    docs/semantics.md §analyzer-serviceentry-addresses). Set `addresses`, give the port an HTTP/TLS protocol, or rely on
    DNS auto-allocation: when `status.addresses` is filled, or the `mesh-config` setting names a
    mesh config with DNS capture and auto-allocation, this does not fire.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [db.example.com]
      ports: [{number: 5432, name: tcp-postgres, protocol: TCP}]
    """,
    good="""
    kind: ServiceEntry
    spec:
      hosts: [db.example.com]
      addresses: [192.0.2.10]
      ports: [{number: 5432, name: tcp-postgres, protocol: TCP}]
    """,
    inputs=("ServiceEntry",),
    equivalents=("IST0134",),
    references=("docs/semantics.md §analyzer-serviceentry-addresses", "docs/semantics.md §serviceentry-addresses"),
)
def addresses_required(ctx: Context) -> Iterator[Problem]:
    for se in ctx.each(ServiceEntry):
        if se.addresses or as_list(as_map(se.data.get("status")).get("addresses")):
            continue
        if ctx.mesh.addresses_auto_allocated:
            continue  # mesh config: DNS capture with auto-allocation gives every entry a VIP
        for p in se.ports:
            if p.protocol.upper() in ("", "TCP"):
                yield Problem(se, p.path + (("protocol",) if p.protocol else ()),
                              f"ServiceEntry {se.namespace}/{se.name}: port {p.number} ({p.protocol or 'protocol unset'}) "
                              "needs spec.addresses; without them the port is captured for every destination IP")


# Istio protocol names accepted as a port-name prefix or appProtocol (docs/semantics.md §analyzer-port-names).
_PROTOCOLS = {"tcp", "udp", "grpc", "grpc-web", "http", "http_proxy", "http2", "https", "tls", "mongo", "redis", "mysql"}
_APP_PROTOCOL_ALIASES = {"kubernetes.io/h2c": "http2", "kubernetes.io/ws": "http", "kubernetes.io/wss": "https"}


def _port_protocol(name: str, app_protocol: str, protocol: str, number: Optional[int]) -> Optional[str]:
    if protocol.upper() == "UDP":
        return "udp"
    if app_protocol:
        ap = _APP_PROTOCOL_ALIASES.get(app_protocol, app_protocol.lower())
        return ap if ap in _PROTOCOLS else None
    lname = name.lower()
    if lname.startswith("grpc-web"):
        return "grpc-web"
    prefix = lname.split("-", 1)[0]
    if prefix in _PROTOCOLS:
        return prefix
    if number in (25, 53, 3306, 27017):
        return "tcp"
    return None


def _skip_service(svc: Service) -> bool:
    lab = svc.labels
    if "istio" in lab or lab.get("release") == "istio":
        return True
    return lab.get("gateway.istio.io/managed") in ("istio.io-gateway-controller", "istio.io-mesh-controller",
                                                   "istio.io-eastwest-controller")


@rule(
    code="IVL732", family="analyzers_services", name="service-port-name-convention", severity="info",
    summary="A Service port name gives Istio no protocol (name it <protocol>[-suffix] or set appProtocol).",
    rationale="""
    Istio selects a Service port's protocol from `appProtocol`, else from the port name prefix
    (`http`, `http2`, `grpc`, `tcp`, `tls`, …); otherwise it falls back to protocol sniffing
    (doc: Protocol selection; docs/semantics.md §protocol-selection; istioctl IST0118, docs/semantics.md §analyzer-port-names). Sniffing works but costs latency and misreads server-first protocols.
    """,
    bad="""
    kind: Service
    spec:
      ports: [{name: web, port: 80}]
    """,
    good="""
    kind: Service
    spec:
      ports: [{name: http-web, port: 80}]
    """,
    inputs=("Service",),
    equivalents=("IST0118", "KIA0601", "KIA0602"),
    references=("docs/semantics.md §analyzer-port-names",),
)
def port_name_convention(ctx: Context) -> Iterator[Problem]:
    for svc in ctx.each(Service):
        if _skip_service(svc) or svc.service_type == "ExternalName":
            continue
        for p in svc.ports:
            if _port_protocol(p.name, p.app_protocol, p.protocol, p.number) is None:
                yield Problem(svc, p.path + (("name",) if p.name else ()),
                              f"Service {svc.namespace}/{svc.name}: port {p.number} name '{p.name}' does not follow "
                              "Istio's <protocol>[-suffix] convention and has no appProtocol; traffic will be sniffed")


@rule(
    code="IVL733", family="analyzers_services", name="external-name-port-name", severity="warning",
    summary="An ExternalName Service port has a name that makes Istio treat it as opaque TCP.",
    rationale="""
    Istio treats an ExternalName Service as mesh-external (docs/semantics.md §mesh-location). With a port
    name that maps to no protocol, or a plain `tcp` name, the proxy may not forward the traffic
    as intended (istioctl IST0150, docs/semantics.md §analyzer-port-names). Name the port after its protocol
    (`http`, `https`, `tls-…`).
    """,
    bad="""
    kind: Service
    spec:
      type: ExternalName
      externalName: api.example.com
      ports: [{name: tcp, port: 443}]
    """,
    good="""
    kind: Service
    spec:
      type: ExternalName
      externalName: api.example.com
      ports: [{name: https, port: 443}]
    """,
    inputs=("Service",),
    equivalents=("IST0150",),
    references=("docs/semantics.md §analyzer-port-names", "docs/semantics.md §mesh-location"),
)
def external_name_port_name(ctx: Context) -> Iterator[Problem]:
    for svc in ctx.each(Service):
        if _skip_service(svc) or svc.service_type != "ExternalName":
            continue
        for p in svc.ports:
            proto = _port_protocol(p.name, p.app_protocol, p.protocol, p.number)
            if proto is None or p.name.lower() == "tcp":
                yield Problem(svc, p.path + (("name",) if p.name else ()),
                              f"ExternalName Service {svc.namespace}/{svc.name}: port name '{p.name}' is invalid for an "
                              "ExternalName service; the proxy may not forward this port's traffic")


def _in_mesh(ctx: Context, d: WorkloadController, injected_ns: set[str]) -> bool:
    pod = d.pod
    pod_spec = as_map(as_map(as_map(d.data.get("spec")).get("template")).get("spec"))
    for c in as_list(pod_spec.get("containers")):
        if as_map(c).get("name") == "istio-proxy" and as_map(c).get("image"):
            return True
    flag = pod.labels.get("sidecar.istio.io/inject") or pod.annotations.get("sidecar.istio.io/inject")
    if flag is not None:
        return flag == "true"
    return d.namespace in injected_ns


def _injected_namespaces(ctx: Context) -> set[str]:
    out = set()
    for ns in ctx.resources(Namespace):
        if ns.labels.get("istio-injection") == "enabled" or ns.labels.get("istio.io/rev"):
            out.add(ns.name)
    return out


def _deployment_services(ctx: Context) -> Iterator[tuple[WorkloadController, list[Service]]]:
    injected = _injected_namespaces(ctx)
    graph = ctx.graph
    for d in ctx.each("Deployment"):
        if not isinstance(d, WorkloadController):
            continue
        if not _in_mesh(ctx, d, injected):
            continue
        services = []
        for w in graph.workloads_of.get(id(d), ()):
            for b in graph.bindings_by_workload.get(id(w), ()):
                if isinstance(b.service_resource, Service) and b.service_resource not in services:
                    services.append(b.service_resource)
        if len(services) > 1:
            yield d, sorted(services, key=lambda r: r.sort_key)


@rule(
    code="IVL734", family="analyzers_services", name="deployment-port-protocol-conflict", severity="warning",
    summary="Services selecting the same Deployment expose one port number with different protocols.",
    rationale="""
    A sidecar builds one inbound listener per port; when two Services select the same pods
    and declare the same port with different L4 protocols, one of them is ignored
    (istioctl IST0116, docs/semantics.md §analyzer-multi-service). Only Deployments in the mesh are checked
    (an injected namespace, or the pod template opts in).
    """,
    bad="""
    kind: Service
    metadata: {name: a}
    spec: {selector: {app: x}, ports: [{name: tcp, port: 9080, protocol: TCP}]}
    ---
    kind: Service
    metadata: {name: b}
    spec: {selector: {app: x}, ports: [{name: udp, port: 9080, protocol: UDP}]}
    """,
    good="""
    kind: Service
    metadata: {name: a}
    spec: {selector: {app: x}, ports: [{name: tcp, port: 9080, protocol: TCP}]}
    """,
    inputs=("Deployment", "Service"),
    equivalents=("IST0116",),
    references=("docs/semantics.md §analyzer-multi-service",),
)
def deployment_port_protocol_conflict(ctx: Context) -> Iterator[Problem]:
    for d, services in _deployment_services(ctx):
        protos: dict[int, dict[str, Service]] = defaultdict(dict)
        for svc in services:
            for p in svc.ports:
                if p.number is not None:
                    protos[p.number].setdefault((p.protocol or "TCP").upper(), svc)
        for number, by_proto in sorted(protos.items()):
            if len(by_proto) > 1:
                listing = ", ".join(f"{proto} ({s.name})" for proto, s in sorted(by_proto.items()))
                yield Problem(d, ("metadata", "name"), f"Deployment {d.namespace}/{d.name} is selected by Services that "
                              f"expose port {number} with different protocols: {listing}",
                              related=tuple((s, ("spec", "ports")) for s in by_proto.values()))
                break


@rule(
    code="IVL735", family="analyzers_services", name="deployment-target-port-conflict", severity="warning",
    summary="Services selecting the same Deployment map different ports to one targetPort.",
    rationale="""
    When two Services select the same pods and send different service ports to the same
    targetPort, the sidecar's inbound configuration for that port is ambiguous
    (istioctl IST0137, docs/semantics.md §analyzer-multi-service).
    """,
    bad="""
    kind: Service
    metadata: {name: a}
    spec: {selector: {app: x}, ports: [{name: http, port: 9080, targetPort: 9080}]}
    ---
    kind: Service
    metadata: {name: b}
    spec: {selector: {app: x}, ports: [{name: http, port: 9090, targetPort: 9080}]}
    """,
    good="""
    kind: Service
    metadata: {name: b}
    spec: {selector: {app: x}, ports: [{name: http, port: 9080, targetPort: 9080}]}
    """,
    inputs=("Deployment", "Service"),
    equivalents=("IST0137",),
    references=("docs/semantics.md §analyzer-multi-service",),
)
def deployment_target_port_conflict(ctx: Context) -> Iterator[Problem]:
    for d, services in _deployment_services(ctx):
        targets: dict[str, dict[int, Service]] = defaultdict(dict)
        for svc in services:
            for p in svc.ports:
                if p.number is None:
                    continue
                tp = p.target_port if p.target_port not in (None, 0, "") else p.number
                targets[str(tp)].setdefault(p.number, svc)
        for tp, ports in sorted(targets.items()):
            if len(ports) > 1:
                listing = ", ".join(f"{n} ({s.name})" for n, s in sorted(ports.items()))
                yield Problem(d, ("metadata", "name"), f"Deployment {d.namespace}/{d.name} is selected by Services that "
                              f"map different ports to targetPort {tp}: {listing}",
                              related=tuple((s, ("spec", "ports")) for s in ports.values()))
                break
