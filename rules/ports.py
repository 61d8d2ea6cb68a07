"""IVL2xx ports along the chain: VS destination.port -> service port -> endpoint port -> workload.

Every port resolution comes from the graph (``lint/graph.py``, docs/semantics.md §port-precedence): the
services a destination host resolves to, the bindings (service selected workload) with the
effective endpoint port per service port, and what each workload is known to serve
(``Workload.served_ports``: containerPorts of a pod template, ``template.ports`` values of a
WorkloadGroup, unknown for a plain WorkloadEntry).

When the repository cannot know (destination host not defined here, workloads not in the
repository, a WorkloadEntry whose served ports are unknown) the rules stay silent.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from istio_vm_lint.defaults import ISTIOD_PORTS
from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import Binding, MeshGraph, MeshService, hosts_overlap, parse_gateway_ref, resolve_host
from istio_vm_lint.model import (
    DestinationRule, Resource, Service, ServiceEntry, ServicePort, VirtualService, WorkloadGroup,
    as_int, as_list, as_map,
)
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import traffic_policies

from ._messages import owner

# Ports the Istio sidecar itself listens on (never the application's).
PROXY_PORTS = frozenset({15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090})

_HTTP = frozenset({"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"})
_TLS = frozenset({"HTTPS", "TLS"})
_TCP = frozenset({"TCP", "MONGO", "REDIS", "MYSQL"})


# --- helpers ------------------------------------------------------------------------------


def _number_key(svc_resource: Resource) -> str:
    return "port" if isinstance(svc_resource, Service) else "number"


def _port_target_path(svc_resource: Resource, p: ServicePort) -> FieldPath:
    """Where a service port's endpoint port comes from: its targetPort if written, else the port."""
    if p.target_port not in (None, 0, ""):
        return p.path + ("targetPort",)
    return p.path + (_number_key(svc_resource),)


def _port_protocol(svc: MeshService, p: ServicePort) -> str:
    """Istio protocol of a service port, upper case; "" when sniffed/unknown."""
    if isinstance(svc.resource, ServiceEntry):
        return p.protocol.upper()
    if p.protocol.upper() in ("UDP", "SCTP"):
        return p.protocol.upper()  # no Istio listener at all
    if p.app_protocol:
        return p.app_protocol.upper()
    name = p.name.lower()
    if name.startswith("grpc-web"):
        return "GRPC-WEB"
    return name.split("-", 1)[0].upper() if name else ""


def _route_accepts(route_kind: str, protocol: str) -> bool:
    """Can a sidecar listener of this port protocol use a route block of this kind (api:vs)?"""
    if protocol in ("UDP", "SCTP"):
        return False
    if route_kind == "http":
        return protocol in _HTTP or protocol not in (_TLS | _TCP)  # unknown = sniffed = HTTP chain too
    if route_kind == "tls":
        return protocol in _TLS
    return protocol not in _HTTP  # tcp: TCP, sniffed, and TLS ports without a matching tls route


def _stable(services: Iterable[MeshService]) -> list[MeshService]:
    """Services in a stable order, so messages never depend on document order."""
    return sorted(services, key=lambda s: (s.kind, s.namespace, s.resource.name, s.host))


def _bindings(graph: MeshGraph, key: Resource) -> list[Binding]:
    return sorted(graph.bindings_by_service.get(id(key), ()), key=lambda b: b.workload.id)


def _service_ports(services: Iterable[MeshService]) -> dict[int, tuple[MeshService, ServicePort]]:
    out: dict[int, tuple[MeshService, ServicePort]] = {}
    for s in _stable(services):
        for p in s.ports:
            if p.number is not None and p.number not in out:
                out[p.number] = (s, p)
    return out


def _port_hint(graph: MeshGraph, services: list[MeshService], number: int) -> str:
    """Explain a port number that is not a service port but is a target/endpoint/container port."""
    services = _stable(services)
    for s in services:
        for p in s.ports:
            t = p.effective_target
            if isinstance(t, int) and t == number and p.number != number:
                return (f"; {number} is the targetPort of service port {p.number}"
                        + (f" '{p.name}'" if p.name else "") + f" — use {p.number} (the service port, §service-ports)")
    for s in services:
        for b in _bindings(graph, s.resource):
            for svc_port, ep in sorted(b.ports.items()):
                if ep == number and svc_port != number:
                    return (f"; {number} is the endpoint port of {b.workload.kind} {b.workload.resource.namespace}/"
                            f"{b.workload.resource.name} for service port {svc_port} — use {svc_port} (§service-ports)")
            w = b.workload
            if w.served_ports and number in w.served_ports:
                return (f"; {number} is a port served by {owner(w.resource)}, not a service port — "
                        "destinations and port-level settings name the service port (§service-ports)")
    return ""


def _list_ports(ports: Iterable[int]) -> str:
    return ", ".join(str(n) for n in sorted(ports)) or "none"


# --- IVL201 ---------------------------------------------------------------------------------


@rule(
    code="IVL201", family="ports", name="destination-port-not-found", severity="error",
    summary="A VirtualService destination names a port that the destination service does not have.",
    rationale="""
    `destination.port.number` must be a *service* port of the destination (ServiceEntry
    `number`, Kubernetes Service `port`), never a targetPort, WorkloadEntry port or
    containerPort (api:vs Destination; docs/semantics.md §service-ports). A port the
    service lacks makes the route point at a cluster that does not exist, so requests fail
    with 503. When the number is a targetPort, endpoint port or served port of that service
    the message says so. Several services of the same hostname are checked against the union
    of their ports (Istio can merge them, §duplicate-hosts), unlike istioctl's IST0101 `host:port`.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [whoami.example.internal]
      ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
    ---
    kind: VirtualService
    spec:
      hosts: [whoami.example.internal]
      http:
      - route:
        - destination:
            host: whoami.example.internal
            port: {number: 8080}   # the targetPort, not the service port
    """,
    good="""
            port: {number: 80}
    """,
    inputs=("VirtualService",),
    equivalents=("IST0101:virtualservice.DestinationHostAnalyzer",),
    references=("docs/semantics.md §service-ports",),
)
def destination_port_not_found(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        for d in graph.destinations(vs):
            if d.port is None or not d.services or d.host.startswith("*"):
                continue
            ports = _service_ports(d.services)
            if not ports or d.port in ports:
                continue
            s = _stable(d.services)[0]
            others = f" (and {len(d.services) - 1} more)" if len(d.services) > 1 else ""
            yield Problem(vs, d.path + ("port", "number"),
                          f"VirtualService {vs.namespace}/{vs.name} routes to {d.host}:{d.port}, but "
                          f"{owner(s.resource)}{others} has no port {d.port} (service ports: {_list_ports(ports)})"
                          f"{_port_hint(graph, d.services, d.port)}",
                          related=((s.resource, ("spec", "ports")),))


# --- IVL202 ---------------------------------------------------------------------------------


def _listener_ports(graph: MeshGraph, vs: VirtualService, route_kind: str, route: dict,
                    gateways: tuple[str, ...]) -> dict[int, str]:
    """Ports whose listeners use this route, as far as the repository knows: port -> where from."""
    out: dict[int, str] = {}
    match_ports = [as_int(as_map(m).get("port")) for m in as_list(route.get("match"))]
    explicit = bool(match_ports) and all(p is not None for p in match_ports)
    for gw_ref in gateways:
        if gw_ref == "mesh":
            if explicit:
                for p in match_ports:
                    out.setdefault(p, "match port")  # type: ignore[arg-type]
                continue
            for h in vs.hosts:
                host = resolve_host(h, vs.namespace, graph.domain)
                if host.startswith("*"):
                    continue
                for svc in _stable(graph.lookup(host, vs.namespace)):
                    for p in svc.ports:
                        if p.number is not None and _route_accepts(route_kind, _port_protocol(svc, p)):
                            out.setdefault(p.number, f"service port of {svc.host}")
            continue
        ns, name = parse_gateway_ref(gw_ref, vs.namespace, graph.domain)
        gw = graph.gateways.get((ns, name))
        if gw is None:
            continue
        for srv in gw.servers:
            if srv.port is None:
                continue
            if explicit and srv.port not in match_ports:
                continue
            proto, mode = srv.protocol, (srv.tls_mode or "PASSTHROUGH").upper()
            passthrough = mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH")
            if route_kind == "http":
                ok = proto in _HTTP or (proto in _TLS and not passthrough)
            elif route_kind == "tls":
                ok = proto in _TLS and passthrough
            else:
                ok = proto in _TCP or (proto == "TLS" and not passthrough)
            if not ok:
                continue
            hosts = [h.split("/", 1)[1] if "/" in h else h for h in srv.hosts]
            if any(hosts_overlap(sh, vh) for sh in hosts for vh in vs.hosts):
                out.setdefault(srv.port, f"Gateway {ns}/{name} server port")
    return out


@rule(
    code="IVL202", family="ports", name="destination-port-required", severity="error",
    summary="A route to a multi-port service has no destination port, and a listener port using it is not a port of that service.",
    rationale="""
    Without `destination.port`, Istio picks the destination's only port, or — when it has
    several — the *listener* port: the Gateway server port at a gateway, the service port the
    client addressed at a sidecar (`GetDestinationCluster`; docs/semantics.md §destination-port). When that listener port is not a port of the destination service the route names a
    cluster that does not exist (503). istioctl reports every multi-port destination without a
    port (IST0112); this rule reports only the listener ports the repository can show to be
    missing (Gateway servers admitting the VirtualService's hosts, match ports, or the ports of
    the VirtualService's own host), so routes that work by matching port numbers stay silent.
    """,
    bad="""
    kind: Gateway
    spec:
      servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: [whoami.example.com], tls: {mode: SIMPLE, credentialName: c}}]
    ---
    kind: VirtualService
    spec:
      hosts: [whoami.example.com]
      gateways: [ingress]
      http:
      - route:
        - destination: {host: whoami.example.internal}   # ports 80 and 9090: cluster :443 does not exist
    """,
    good="""
        - destination: {host: whoami.example.internal, port: {number: 80}}
    """,
    inputs=("VirtualService",),
    equivalents=("IST0112",),
    references=("docs/semantics.md §destination-port",),
)
def destination_port_required(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        for d in graph.destinations(vs):
            if d.port is not None or not d.services or d.host.startswith("*"):
                continue
            ports = _service_ports(d.services)
            if len(ports) < 2:
                continue
            rd = vs.destinations[d.dest_index]
            kind, ri = rd.path[1], rd.path[2]
            route = as_map(as_list(vs.spec.get(kind))[ri]) if isinstance(ri, int) else {}
            listeners = _listener_ports(graph, vs, rd.route_kind, route, rd.gateways)
            missing = {p: why for p, why in listeners.items() if p not in ports}
            if not missing:
                continue
            s = _stable(d.services)[0]
            listing = ", ".join(f"{p} ({why})" for p, why in sorted(missing.items()))
            yield Problem(vs, d.path,
                          f"VirtualService {vs.namespace}/{vs.name}: destination {d.host} has several ports "
                          f"({_list_ports(ports)}) and no port.number, so Istio uses the listener port; "
                          f"{owner(s.resource)} has no port {listing} — that route leads to a cluster "
                          "that does not exist (503); set destination.port",
                          related=((s.resource, ("spec", "ports")),))


# --- IVL203 ---------------------------------------------------------------------------------


def _valid_port_keys(b: Binding) -> set[str]:
    """Keys of a WE/WG ports map that can mean something for this binding (§port-precedence, §named-target-port)."""
    svc = b.service_resource
    keys: set[str] = set()
    if isinstance(svc, ServiceEntry):
        keys.update(p.name for p in svc.ports if p.name)
    elif isinstance(svc, Service):
        for p in svc.ports:
            if isinstance(p.target_port, str) and p.target_port:
                keys.add(p.target_port)
            elif p.name:
                keys.add(p.name)
    return keys


@rule(
    code="IVL203", family="ports", name="workload-port-key-unknown", severity="warning",
    summary="A WorkloadEntry/WorkloadGroup `ports` key is not a port name of any service selecting it, so it is ignored.",
    rationale="""
    The keys of a WorkloadEntry `ports` map (and of a WorkloadGroup's `template.ports`, copied
    into every generated entry) are *service port names*: the selecting ServiceEntry's port
    `name`, or for a Kubernetes Service the port name (numeric targetPort) or the targetPort
    name (named targetPort). A key that matches none — `"80"`, `web` instead of `http` — is
    silently ignored: traffic goes to the targetPort or the service port instead
    (docs/semantics.md §port-precedence, §named-target-port). Istio validates this only for inline
    ServiceEntry endpoints. Checked only for workloads that some service in the repository
    selects.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector: {labels: {app: whoami}}
    ---
    kind: WorkloadEntry
    spec:
      address: 10.0.0.11
      labels: {app: whoami}
      ports:
        web: 8080   # no SE port is named "web": ignored, traffic goes to 80
    """,
    good="""
      ports:
        http: 8080
    """,
    inputs=("WorkloadEntry", "WorkloadGroup"),
    references=("docs/semantics.md §port-precedence", "docs/semantics.md §named-target-port",),
)
def workload_port_key_unknown(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for r in ctx.each("WorkloadEntry", "WorkloadGroup"):
        for w in graph.workloads_of.get(id(r), ()):
            if w.kind not in ("WorkloadEntry", "WorkloadGroup") or w.endpoint is None or w.address_kind == "uds":
                continue
            bindings = sorted(graph.bindings_by_workload.get(id(w), ()),
                              key=lambda b: (b.service_resource.kind, b.service_resource.namespace,
                                             b.service_resource.name))
            if not bindings or not w.endpoint.ports:
                continue
            valid: set[str] = set()
            for b in bindings:
                valid |= _valid_port_keys(b)
            if not valid:
                continue
            names = ", ".join(sorted({owner(b.service_resource) for b in bindings}))
            for key in w.endpoint.ports:
                if key in valid:
                    continue
                if key.isdigit():
                    hint = f"keys are service port names, not numbers (valid here: {', '.join(sorted(valid))})"
                else:
                    import difflib  # deferred (cold start)

                    close = difflib.get_close_matches(key, sorted(valid), n=1)
                    hint = (f"did you mean '{close[0]}'?" if close
                            else f"valid keys here: {', '.join(sorted(valid))}")
                extra = (" (the value still joins the VM's inbound capture list, §vm-inbound-ports)"
                         if w.kind == "WorkloadGroup" else "")
                yield Problem(r, w.ports_path + (key,),
                              f"{owner(r)}: ports key '{key}' is not a port name of {names}, so it is ignored "
                              f"and traffic goes to the targetPort/service port instead{extra}; {hint}",
                              related=tuple((b.service_resource, ("spec", "ports")) for b in bindings[:3]))


# --- IVL204 ---------------------------------------------------------------------------------


@rule(
    code="IVL204", family="ports", name="named-target-port-unsatisfied", severity="error",
    summary="A Service with a named targetPort selects a WorkloadEntry/WorkloadGroup whose ports map lacks that name, so the VM is dropped for that port.",
    rationale="""
    For a Kubernetes Service port with a *named* `targetPort`, Istio takes the endpoint port of
    a selected WorkloadEntry from `ports[<targetPort name>]`; when the key is missing the
    WorkloadEntry is dropped for that port, with no fallback (`findServiceTargetPort`;
    docs/semantics.md §named-target-port). A VM-only Service then has no endpoints (503
    `UH`); a mixed one only reaches the pods. WorkloadGroups are checked through their
    `template.ports`, which every generated WorkloadEntry copies.
    """,
    bad="""
    kind: Service
    spec:
      selector: {app: whoami}
      ports: [{name: http, port: 80, targetPort: web}]
    ---
    kind: WorkloadEntry
    spec:
      address: 10.0.0.11
      labels: {app: whoami}
      ports: {http: 8080}   # no key "web": dropped for port 80
    """,
    good="""
      ports: {web: 8080}
    """,
    inputs=("Service",),
    references=("docs/semantics.md §named-target-port",),
)
def named_target_port_unsatisfied(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for svc in ctx.each(Service):
        for b in _bindings(graph, svc):
            w = b.workload
            if w.kind not in ("WorkloadEntry", "WorkloadGroup"):
                continue
            for p in svc.ports:
                if p.number is None or not isinstance(p.target_port, str) or not p.target_port:
                    continue
                if b.ports.get(p.number) is not None:
                    continue
                have = ", ".join(sorted(w.ports)) or "no ports map"
                yield Problem(w.resource, w.ports_path,
                              f"{owner(w.resource)} is selected by Service {svc.namespace}/{svc.name}, whose port "
                              f"{p.number} has targetPort '{p.target_port}', but its ports map has no key "
                              f"'{p.target_port}' ({have}); Istio drops it from port {p.number} (no fallback, §named-target-port) — "
                              f"add `{p.target_port}: <port on the VM>`",
                              related=((svc, p.path + ("targetPort",)),))


# --- IVL205 ---------------------------------------------------------------------------------


@rule(
    code="IVL205", family="ports", name="endpoint-port-not-served", severity="warning",
    summary="The effective endpoint port of a selected workload is not a port that workload serves.",
    rationale="""
    The endpoint port (WorkloadEntry/containerPort map, then targetPort, then the service port,
    docs/semantics.md §port-precedence, §named-target-port) must be a port the workload listens on:
    for a WorkloadGroup, one of the `template.ports` values — the VM sidecar only captures
    those ports (`ISTIO_INBOUND_PORTS`, §vm-inbound-ports), so traffic to any other port bypasses
    the sidecar and mTLS bytes reach the application (warning). A pod template without a container
    port of a named targetPort gets no endpoint for that port from Kubernetes (Kiali KIA0701;
    warning). A numeric port missing from a pod template's declared containerPorts is only
    `info`: containerPorts are informational, the pod receives traffic on any port it listens
    on and the sidecar captures every inbound port (§container-ports-informational). A plain
    WorkloadEntry's served ports are unknown and not checked.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
      workloadSelector: {labels: {app: whoami}}
    ---
    kind: WorkloadGroup
    spec:
      metadata: {labels: {app: whoami}}
      template:
        ports: {grpc: 9090}   # 8080 is not captured by the VM sidecar
    """,
    good="""
      template:
        ports: {http: 8080}
    """,
    inputs=("ServiceEntry", "Service"),
    equivalents=("KIA0701",),
    references=("docs/semantics.md §port-precedence", "docs/semantics.md §named-target-port", "docs/semantics.md §vm-inbound-ports", "docs/semantics.md §istiod-ports"),
)
def endpoint_port_not_served(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for svc in ctx.each("ServiceEntry", "Service"):
        by_number = {p.number: p for p in getattr(svc, "ports", []) if p.number is not None}
        for b in _bindings(graph, svc):
            w = b.workload
            if not w.served_ports or w.kind not in ("Pod", "WorkloadGroup") or w.address_kind == "uds":
                continue
            for number, ep in sorted(b.ports.items()):
                p = by_number.get(number)
                if p is None or p.protocol.upper() in ("UDP", "SCTP"):
                    continue
                if ep is None:
                    pod = getattr(w.resource, "pod", None)
                    names = {cp.name for cp in getattr(pod, "container_ports", ())}
                    if (w.kind == "Pod" and isinstance(p.target_port, str) and isinstance(svc, Service)
                            and p.target_port not in names):
                        yield Problem(svc, p.path + ("targetPort",),
                                      f"Service {svc.namespace}/{svc.name} port {number} has targetPort "
                                      f"'{p.target_port}', but {owner(w.resource)} has no container port of that "
                                      f"name (it has: {', '.join(sorted(w.ports)) or 'no named ports'}); its pods get no "
                                      "endpoint for this port",
                                      related=((w.resource, w.ports_path),))
                    continue
                if ep in w.served_ports:
                    continue
                if w.kind == "WorkloadGroup":
                    msg = (f"{owner(svc)} port {number} sends traffic to port {ep} of the VMs of "
                           f"{owner(w.resource)}, but {ep} is not among its template.ports values "
                           f"({_list_ports(w.served_ports)}), which are the only ports the VM sidecar captures "
                           "(ISTIO_INBOUND_PORTS, §vm-inbound-ports): traffic bypasses the sidecar and mTLS reaches the app raw")
                    yield Problem(svc, _port_target_path(svc, p), msg, related=((w.resource, w.ports_path),))
                    continue
                if ep in ISTIOD_PORTS and (w.labels.get("app") == "istiod" or w.labels.get("istio") == "pilot"):
                    continue  # istiod listens there whatever its manifest declares (§istiod-ports)
                # containerPorts are informational: Kubernetes sends traffic to an undeclared
                # port all the same and the sidecar captures every inbound port, so this is only
                # a hint to check the port (docs/semantics.md §container-ports-informational).
                msg = (f"{owner(svc)} port {number} sends traffic to port {ep} of {owner(w.resource)}, "
                       f"which declares containerPorts {_list_ports(w.served_ports)} only; containerPorts are "
                       "informational (the pod still receives traffic on any port it listens on, and the sidecar "
                       f"captures every inbound port): check that the application listens on {ep}")
                yield Problem(svc, _port_target_path(svc, p), msg, related=((w.resource, w.ports_path),),
                              severity="info")


# --- IVL206 ---------------------------------------------------------------------------------


@rule(
    code="IVL206", family="ports", name="port-level-settings-unknown-port", severity="warning",
    summary="A DestinationRule portLevelSettings entry names a port the destination service does not have, so it is never used.",
    rationale="""
    `portLevelSettings[].port.number` is a *service* port of the rule's host, not a targetPort
    or endpoint port (api:dr PortTrafficPolicy; docs/semantics.md §service-ports, §port-level-settings). An entry for a port the service lacks is silently unused, so the connection pool,
    TLS, load balancer or outlier settings it carries never apply. Checked only when the host
    resolves to services defined in the repository (wildcard hosts are skipped).
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [whoami.example.internal]
      ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
    ---
    kind: DestinationRule
    spec:
      host: whoami.example.internal
      trafficPolicy:
        portLevelSettings:
        - port: {number: 8080}   # targetPort: never matches
          connectionPool: {tcp: {maxConnections: 10}}
    """,
    good="""
        - port: {number: 80}
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §port-level-settings", "docs/semantics.md §service-ports"),
)
def port_level_settings_unknown_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for dr in ctx.each(DestinationRule):
        host = graph.dr_host(dr)
        services = _stable(graph.dr_services(dr))
        ports = _service_ports(services)
        if not ports:
            continue
        for base, tp in traffic_policies(dr, port_level=False):
            for i, pls in enumerate(as_list(tp.get("portLevelSettings"))):
                n = as_int(as_map(as_map(pls).get("port")).get("number"))
                if n is None or n in ports:
                    continue
                s = services[0]
                yield Problem(dr, base + ("portLevelSettings", i, "port", "number"),
                              f"DestinationRule {dr.namespace}/{dr.name}: portLevelSettings for port {n}, but "
                              f"{owner(s.resource)} ({host}) has no port {n} (service ports: {_list_ports(ports)}), "
                              f"so these settings are never used{_port_hint(graph, services, n)}",
                              related=((s.resource, ("spec", "ports")),))


# --- IVL207 / IVL208 --------------------------------------------------------------------------


def _probe_port(wg: WorkloadGroup) -> Optional[tuple[int, FieldPath]]:
    for key in ("httpGet", "tcpSocket", "grpc"):
        sub = wg.probe.get(key)
        if isinstance(sub, dict):
            n = as_int(sub.get("port"))
            if n is not None:
                return n, ("spec", "probe", key, "port")
    return None


@rule(
    code="IVL207", family="ports", name="probe-port-not-served", severity="warning",
    summary="A WorkloadGroup readiness probe targets a port that is not among the VM's template.ports values.",
    rationale="""
    The istio-agent on the VM runs the WorkloadGroup probe against the *application's* port on
    the VM (docs/semantics.md §workloadgroup-probe). When `template.ports` is set, its values are the ports the
    application serves and the sidecar captures (§vm-inbound-ports); a probe port outside that list is
    usually a service port or a stale number, the probe fails, the auto-registered
    WorkloadEntry stays unhealthy and receives no traffic — or it probes something other than
    the application. Not checked when `template.ports` is empty.
    """,
    bad="""
    kind: WorkloadGroup
    spec:
      template:
        ports: {http: 8080}
      probe:
        httpGet: {path: /ready, port: 80}   # the service port, not the app's
    """,
    good="""
      probe:
        httpGet: {path: /ready, port: 8080}
    """,
    inputs=("WorkloadGroup",),
    references=("docs/semantics.md §workloadgroup-probe", "docs/semantics.md §vm-inbound-ports"),
)
def probe_port_not_served(ctx: Context) -> Iterator[Problem]:
    for wg in ctx.each(WorkloadGroup):
        hit = _probe_port(wg)
        if hit is None:
            continue
        port, path = hit
        served = {v for v in (as_int(x) for x in wg.template.ports.values()) if v is not None}
        if not served or port in served or port in PROXY_PORTS:
            continue
        yield Problem(wg, path, f"WorkloadGroup {wg.namespace}/{wg.name}: the readiness probe targets port {port}, "
                      f"which is not among template.ports values ({_list_ports(served)}) — the application ports "
                      "on the VM; a failing probe keeps the WorkloadEntry unhealthy (no traffic)",
                      related=((wg, ("spec", "template", "ports")),))


@rule(
    code="IVL208", family="ports", name="probe-targets-sidecar", severity="warning",
    summary="A WorkloadGroup readiness probe targets a port of the Istio sidecar instead of the application.",
    rationale="""
    Ports 15000–15090 used by Istio (15021 health, 15020 merged metrics, 15000 admin, ...)
    belong to the VM's sidecar. A WorkloadGroup probe on them reports the *proxy's* readiness,
    so the WorkloadEntry stays healthy while the application is down and keeps receiving
    traffic (docs/semantics.md §workloadgroup-probe, #39201). Probe the application's port.
    """,
    bad="""
    kind: WorkloadGroup
    spec:
      probe:
        httpGet: {path: /healthz/ready, port: 15021}
    """,
    good="""
      probe:
        httpGet: {path: /ready, port: 8080}
    """,
    inputs=("WorkloadGroup",),
    references=("docs/semantics.md §workloadgroup-probe",),
)
def probe_targets_sidecar(ctx: Context) -> Iterator[Problem]:
    for wg in ctx.each(WorkloadGroup):
        hit = _probe_port(wg)
        if hit is None or hit[0] not in PROXY_PORTS:
            continue
        port, path = hit
        yield Problem(wg, path, f"WorkloadGroup {wg.namespace}/{wg.name}: the readiness probe targets port {port}, "
                      "which is served by the Istio sidecar, not the application: the VM's WorkloadEntry stays "
                      "healthy while the application is down")


# --- IVL209 ---------------------------------------------------------------------------------


@rule(
    code="IVL209", family="ports", name="duplicate-service-port", severity="error",
    summary="A Kubernetes Service declares the same port name, or the same port number and protocol, twice.",
    rationale="""
    Kubernetes rejects a Service whose ports repeat a `name` or a (`port`, `protocol`) pair, and
    requires a name on every port of a multi-port Service (Service API validation), so the
    whole Service — and every VM endpoint behind it — never reaches the cluster. ServiceEntry
    duplicates are Istio validation errors, reported by the validation rules (IVL6xx); the
    port names also key WorkloadEntry `ports` maps (docs/semantics.md §named-target-port).
    """,
    bad="""
    kind: Service
    spec:
      ports:
      - {name: http, port: 80, targetPort: 8080}
      - {name: http, port: 9090}
    """,
    good="""
      ports:
      - {name: http, port: 80, targetPort: 8080}
      - {name: metrics, port: 9090}
    """,
    inputs=("Service",),
    references=("docs/semantics.md §protocol-selection", "docs/semantics.md §named-target-port"),
)
def duplicate_service_port(ctx: Context) -> Iterator[Problem]:
    for svc in ctx.each(Service):
        names: dict[str, int] = {}
        pairs: dict[tuple[int, str], int] = {}
        raw = as_list(svc.spec.get("ports"))
        for p in svc.ports:
            proto = (p.protocol or "TCP").upper()
            if p.name:
                if p.name in names:
                    yield Problem(svc, p.path + ("name",), f"Service {svc.namespace}/{svc.name}: port name "
                                  f"'{p.name}' is already used by ports[{names[p.name]}]; the API server rejects the Service",
                                  related=((svc, ("spec", "ports", names[p.name], "name")),))
                else:
                    names[p.name] = p.index
            elif len(raw) > 1:
                yield Problem(svc, p.path, f"Service {svc.namespace}/{svc.name}: ports[{p.index}] has no name; every "
                              "port of a multi-port Service must be named, or the API server rejects the Service")
            if p.number is not None:
                key = (p.number, proto)
                if key in pairs:
                    yield Problem(svc, p.path + ("port",), f"Service {svc.namespace}/{svc.name}: port {p.number}/{proto} "
                                  f"is already declared by ports[{pairs[key]}]; the API server rejects the Service",
                                  related=((svc, ("spec", "ports", pairs[key], "port")),))
                else:
                    pairs[key] = p.index
