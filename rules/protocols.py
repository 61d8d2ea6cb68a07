"""IVL210-IVL212: protocols along the chain client -> route -> service port -> endpoint.

Which route block a listener uses follows the port's protocol (docs/semantics.md
§route-protocol, §route-blocks-by-protocol); whether bytes leave the proxy in TLS follows the
DestinationRule's `tls` for that host and port, never the port's name or number
(§tls-origination-ports).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import MeshService, host_matches, hosts_overlap, parse_gateway_ref, resolve_host, visible
from istio_vm_lint.model import (
    DestinationRule,
    Gateway,
    ServiceEntry,
    ServicePort,
    VirtualService,
    as_int,
    as_list,
    as_map,
)
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.ports import _listener_ports, _port_protocol, _route_accepts
from istio_vm_lint.semantics import tls_mode

_ORIGINATES = ("SIMPLE", "MUTUAL")
_TLS_PROTOCOLS = ("HTTPS", "TLS")
_HTTP_FAMILY = ("HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY")


# --- IVL210 -------------------------------------------------------------------------------------


def _known_hosts(ctx: Context, vs: VirtualService) -> Optional[list[MeshService]]:
    """Services of every VirtualService host (for mesh routes), or None when a host is unknown or a wildcard."""
    graph = ctx.graph
    out: list[MeshService] = []
    for h in vs.hosts:
        host = resolve_host(h, vs.namespace, graph.domain)
        if host.startswith("*"):
            return None
        svcs = graph.lookup(host, vs.namespace)
        if not svcs or any(s.host.startswith("*") for s in svcs):
            return None  # unknown, or only covered by a wildcard entry: the real ports are not known
        out.extend(svcs)
    return out or None


@rule(
    code="IVL210", family="protocols", name="route-block-never-applied", severity="warning",
    summary="An http, tls or tcp route applies to no port of the VirtualService's hosts or gateways, given the ports' protocols.",
    rationale="""
    A listener uses the route block of its protocol: `http` routes on HTTP, HTTP2 and gRPC
    ports (and on gateway servers that terminate HTTPS), `tls` routes on HTTPS/TLS ports of a
    sidecar and on TLS passthrough gateway servers, `tcp` routes on TCP ports and on
    HTTPS/TLS ports (after the tls routes); a port whose protocol is sniffed gets both http and
    tcp routes (docs/semantics.md §route-blocks-by-protocol). A route none of whose ports can use
    its block — `http` routes for a database on a TCP port, `tcp` routes for an HTTP service, a
    `tls` route on a Gateway port that terminates HTTPS — is silently never applied, and the
    traffic takes the default route instead of the intended one. Ports are the service ports
    of the VirtualService's hosts (for `mesh`) and the server ports of the bound Gateways that
    admit its hosts, restricted to the route's `match.port`. An http route without
    `match.port` that names a port of its own host whose protocol is TCP (a `tcp-` port beside
    an HTTP or gRPC one) is reported too: it applies on the other ports only, never to the
    connections for the port it names. Silent when a host is not in the
    repository or a bound Gateway is not (its ports are unknown).
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [ledger-db.mesh.internal]
      ports: [{number: 5432, name: tcp-postgres, protocol: TCP}]
    ---
    kind: VirtualService
    spec:
      hosts: [ledger-db.mesh.internal]
      http:                       # a TCP port never uses http routes
      - route: [{destination: {host: ledger-db.mesh.internal, subset: primary}}]
    """,
    good="""
    kind: VirtualService
    spec:
      hosts: [ledger-db.mesh.internal]
      tcp:
      - route: [{destination: {host: ledger-db.mesh.internal, subset: primary}}]
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §route-blocks-by-protocol", "docs/semantics.md §route-protocol"),
)
def route_block_never_applied(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    copies: dict[tuple[str, str], int] = {}
    for g in ctx.resources(Gateway):
        copies[(g.namespace, g.name)] = copies.get((g.namespace, g.name), 0) + 1
    for vs in ctx.each(VirtualService):
        if vs.spec.get("delegate") is not None or not vs.hosts:
            continue
        services = _known_hosts(ctx, vs) or []
        for kind in ("http", "tls", "tcp"):
            for i, route in enumerate(as_list(vs.spec.get(kind))):
                if not isinstance(route, dict):
                    continue  # the schema rules report it
                rm = route
                gws: set[str] = set()
                for m in as_list(rm.get("match")):
                    gws.update(g for g in as_list(as_map(m).get("gateways")) if isinstance(g, str))
                gateways = tuple(sorted(gws)) if gws else vs.gateways
                unknown = False
                for g in gateways:
                    if g == "mesh":
                        continue
                    ref = parse_gateway_ref(g, vs.namespace, graph.domain)
                    gw = graph.gateways.get(ref)
                    if gw is None or copies.get(ref, 0) > 1 or not any(hosts_overlap(sh.split("/", 1)[-1], vh)
                                             for srv in gw.servers for sh in srv.hosts for vh in vs.hosts):
                        unknown = True  # unknown, several copies, or admits none of the hosts (IVL505's business)
                if unknown or ("mesh" in gateways and not services):
                    continue  # ports unknown
                match_ports = {as_int(as_map(m).get("port")) for m in as_list(rm.get("match"))}
                if "mesh" in gateways:
                    ports = [(s, p) for s in services for p in s.ports if p.number is not None
                             and (None in match_ports or not match_ports or p.number in match_ports)]
                    if ports and any(_route_accepts(kind, _port_protocol(s, p)) for s, p in ports):
                        yield from _named_port_skipped(vs, kind, i, rm, services, match_ports, graph.domain)
                    if not ports or any(_route_accepts(kind, _port_protocol(s, p)) for s, p in ports):
                        continue  # usable on a mesh port (or a match port no service has: another rule's)
                if _listener_ports(graph, vs, kind, rm, tuple(g for g in gateways if g != "mesh")):
                    continue
                match_list = sorted({p for p in (as_int(as_map(m).get("port")) for m in as_list(rm.get("match")))
                                      if p is not None})
                described = []
                for s in services:
                    for p in s.ports:
                        if p.number is not None and (not match_list or p.number in match_list):
                            described.append(f"{p.number}/{_port_protocol(s, p) or 'sniffed'}")
                where = "mesh ports " + (", ".join(dict.fromkeys(described)) or "none") if "mesh" in gateways else ""
                gw_names = [g for g in gateways if g != "mesh"]
                if gw_names:
                    where += ("; " if where else "") + f"the server ports of {', '.join(gw_names)} that admit its hosts"
                yield Problem(vs, ("spec", kind, i),
                              f"VirtualService {vs.namespace}/{vs.name}: {kind}[{i}] is never applied — no listener it "
                              f"binds to uses {kind} routes ({where}); {_which_block(kind)}")


def _named_port_skipped(vs: VirtualService, kind: str, i: int, route: dict[str, Any], services: list[MeshService],
                        match_ports: set[Optional[int]], domain: str) -> Iterator[Problem]:
    """An http route without match.port that names, as its destination, a port of its own host
    whose protocol never uses http routes (`tcp-` beside a `grpc-` port): applied on the other
    ports only, never to the connections for the port it names (§route-blocks-by-protocol)."""
    if kind != "http" or (match_ports and match_ports != {None}):
        return
    by_host = {s.host: s for s in services}
    for j, dest in enumerate(as_list(route.get("route"))):
        d = as_map(as_map(dest).get("destination"))
        host = d.get("host")
        number = as_int(as_map(d.get("port")).get("number"))
        svc = by_host.get(resolve_host(host, vs.namespace, domain)) if isinstance(host, str) else None
        port = next((p for p in svc.ports if p.number == number), None) if svc and number is not None else None
        if svc is None or port is None:
            continue
        protocol = _port_protocol(svc, port)
        if not protocol or _route_accepts("http", protocol):
            continue
        http_ports = sorted({p.number for p in svc.ports if p.number is not None
                             and _route_accepts("http", _port_protocol(svc, p))})
        yield Problem(vs, ("spec", "http", i, "route", j, "destination", "port", "number"),
                      f"VirtualService {vs.namespace}/{vs.name}: http[{i}] names port {number} of {svc.host}, whose "
                      f"protocol is {protocol}: sidecars give connections for port {number} only tcp routes, so this "
                      f"route never applies to them and they take the default route; it applies only on the "
                      f"service's HTTP ports ({', '.join(str(p) for p in http_ports)}) "
                      "(§route-blocks-by-protocol)")


def _which_block(kind: str) -> str:
    return {"http": "http routes need an HTTP, HTTP2 or gRPC port (or a gateway server terminating HTTPS)",
            "tls": "tls routes need an HTTPS/TLS port, or a TLS passthrough gateway server",
            "tcp": "tcp routes need a TCP, TLS or HTTPS port (or a gateway server terminating TLS)"}[kind]


# --- DestinationRule TLS as the repository shows it -----------------------------------------------


def _tls_modes_for(ctx: Context, host: str, port: Optional[int]) -> list[tuple[DestinationRule, FieldPath, str]]:
    """Every TLS mode some DestinationRule of the repository sets for ``host`` at ``port`` (top level,
    the port's portLevelSettings, subsets), with where it is written."""
    out: list[tuple[DestinationRule, FieldPath, str]] = []
    domain = ctx.settings.cluster_domain
    for dr in ctx.resources(DestinationRule):
        h = resolve_host(dr.host, dr.namespace, domain)
        if not h or not host_matches(h, host):
            continue
        policies: list[tuple[dict[str, Any], FieldPath]] = [(dr.traffic_policy, ("spec", "trafficPolicy"))]
        policies += [(s.traffic_policy, s.path + ("trafficPolicy",)) for s in dr.subsets if s.traffic_policy]
        for pol, path in policies:
            port_level = None
            for j, pls in enumerate(as_list(pol.get("portLevelSettings"))):
                if port is not None and as_int(as_map(as_map(pls).get("port")).get("number")) == port:
                    port_level = (as_map(pls), path + ("portLevelSettings", j))
            if port_level is not None:
                mode = as_map(port_level[0].get("tls")).get("mode")
                if isinstance(mode, str):
                    out.append((dr, port_level[1] + ("tls", "mode"), mode))
                    continue
            mode = as_map(pol.get("tls")).get("mode")
            if isinstance(mode, str):
                out.append((dr, path + ("tls", "mode"), mode))
    return out


def _tunnels(dr: DestinationRule, path: FieldPath) -> bool:
    """Does the traffic policy holding the setting at ``path`` tunnel the connection
    (``tunnel``: the client's stream rides a CONNECT/POST tunnel, and the TLS the policy
    originates is to the proxy at the end of the tunnel, not a second layer on the client's
    TLS, docs/semantics.md §dr-tunnel)?"""
    node: Any = dr.data
    for key in path:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return False
        if key == "trafficPolicy":
            return isinstance(node, dict) and isinstance(node.get("tunnel"), dict)
    return False


def _originating_ports(ctx: Context, host: str) -> list[int]:
    """Ports for which some DestinationRule's portLevelSettings originate TLS toward ``host``."""
    ports: set[int] = set()
    domain = ctx.settings.cluster_domain
    for dr in ctx.resources(DestinationRule):
        h = resolve_host(dr.host, dr.namespace, domain)
        if not h or not host_matches(h, host):
            continue
        for pol in [dr.traffic_policy] + [s.traffic_policy for s in dr.subsets]:
            for pls in as_list(pol.get("portLevelSettings")):
                n = as_int(as_map(as_map(pls).get("port")).get("number"))
                if n is not None and as_map(as_map(pls).get("tls")).get("mode") in _ORIGINATES:
                    ports.add(n)
    return sorted(ports)


def _external(svc: MeshService) -> bool:
    """No sidecar at the other end: a MESH_EXTERNAL ServiceEntry (auto mTLS cannot apply)."""
    return isinstance(svc.resource, ServiceEntry) and svc.location == "MESH_EXTERNAL"


def _endpoint_targets(ctx: Context, svc: MeshService, p: ServicePort) -> set[int]:
    out: set[int] = set()
    for b in ctx.graph.bindings_by_service.get(id(svc.resource), ()):
        ep = b.ports.get(p.number) if p.number is not None else None
        if ep:
            out.add(ep)
    t = p.effective_target
    if not out and isinstance(t, int):
        out.add(t)
    return out


# --- IVL211 -------------------------------------------------------------------------------------


@rule(
    code="IVL211", family="protocols", name="plaintext-to-tls-port", severity="error",
    summary="Plain HTTP is sent to a TLS port of an external service: an HTTP port forwarding to 443, or an http route to an HTTPS port, with no TLS origination for that port.",
    rationale="""
    A sidecar (or gateway) sends a request in TLS only when the DestinationRule it gets for
    the host and port originates TLS (`tls.mode: SIMPLE` or `MUTUAL`, at top level, in the
    port's `portLevelSettings` or in the subset); the port's protocol, name or number never
    makes it do so (docs/semantics.md §tls-origination-ports). Two layouts therefore send
    plain text to a TLS server, which answers `400 The plain HTTP request was sent to HTTPS
    port` or resets the connection: an HTTP ServiceEntry port whose endpoints are port 443
    (istio.io's TLS-origination task: `number: 80, protocol: HTTP, targetPort: 443`) without the
    matching DestinationRule, and an `http` route whose destination port is an HTTPS/TLS port
    of the external host (the egress gateway's second hop) when the origination is keyed to
    another port. Only MESH_EXTERNAL ServiceEntries are judged (inside the mesh, auto mTLS
    applies). What counts is the DestinationRule the *clients* get (§destinationrule-lookup:
    their namespace, the service's, the root namespace, with exportTo): for the HTTP port, the
    namespaces whose VirtualServices route to the host and the service's own namespace when the
    repository runs workloads there (with neither, any rule of the repository originating TLS
    for the port is accepted); for an http route, the proxies the route is bound to (the
    VirtualService's namespace for `mesh`, the gateway's proxies), with the route's subset; an
    http route toward a port for which some rule does originate TLS, but not one its proxies
    get, is IVL513's. A rule that originates TLS in a namespace the port's clients never look
    in does not count. The
    HTTP port is not reported when a mesh-bound VirtualService sends that port of the host
    elsewhere (the egress-gateway layout: sidecars route port 80 to the gateway, which
    originates TLS toward 443).
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: cnn, namespace: egress}
    spec:
      hosts: [edition.cnn.com]
      location: MESH_EXTERNAL
      resolution: DNS
      ports: [{number: 80, name: http, protocol: HTTP, targetPort: 443}]
    # no DestinationRule originating TLS on port 80
    """,
    good="""
    kind: DestinationRule
    metadata: {name: cnn, namespace: egress}
    spec:
      host: edition.cnn.com
      trafficPolicy:
        portLevelSettings:
        - port: {number: 80}
          tls: {mode: SIMPLE}
    """,
    inputs=("ServiceEntry", "VirtualService"),
    equivalents=(),
    references=("docs/semantics.md §tls-origination-ports",),
)
def plaintext_to_tls_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph

    def without_origination(clients: list[str], host: str, svc_ns: str, port: int,
                            subsets: Optional[list[str]] = None) -> Optional[tuple[str, str]]:
        """The first client namespace whose DestinationRule (on its lookup path, §destinationrule-lookup)
        does not originate TLS for ``host:port``, with what it gets instead; None when all do."""
        for ns in clients:
            edr = graph.effective_dr(ns, host, svc_ns)
            if edr is None:
                return ns, "no DestinationRule"
            names = subsets if subsets is not None else [""] + sorted(edr.subsets)
            if not any(tls_mode(edr.policy(sub, port)).upper() in _ORIGINATES for sub in names):
                owners = sorted({f"{d.namespace}/{d.name}" for d in edr.rules})
                return ns, f"DestinationRule {', '.join(owners)}, which does not originate TLS for port {port}"
        return None

    def elsewhere(host: str, port: int, svc_ns: str) -> str:
        """Rules that do originate TLS for host:port but are not the ones those clients get."""
        found = sorted({f"{dr.namespace}/{dr.name}" for dr, _, mode in _tls_modes_for(ctx, host, port)
                        if mode.upper() in _ORIGINATES})
        if found:
            return (f"; DestinationRule {', '.join(found)} originates it, but is not on their lookup path "
                    f"(client namespace, then '{svc_ns}', then the root namespace) or not exported to them")
        keyed = [n for n in _originating_ports(ctx, host) if n != port]
        return f"; TLS origination is configured for port {', '.join(map(str, keyed))}, not {port}" if keyed else ""

    # (i) an HTTP port of an external service whose endpoints listen on 443
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_EXTERNAL":
            continue
        for svc in graph.services_of.get(id(se), ()):
            if svc.host.startswith("*"):
                continue
            for p in se.ports:
                if p.number is None or p.number == 443 or p.protocol.upper() not in _HTTP_FAMILY:
                    continue
                if 443 not in _endpoint_targets(ctx, svc, p):
                    continue
                if _mesh_routes_elsewhere(ctx, svc.host, p.number):
                    continue  # sidecars send this port elsewhere (an egress gateway that originates TLS)
                # clients: namespaces whose VirtualServices route to the host, and the service's own
                # namespace when the repository runs workloads there
                routed = graph.client_namespaces(svc) - {svc.namespace}
                clients = sorted(ns for ns in graph.client_namespaces(svc)
                                 if visible(svc.export_to, svc.namespace, ns)
                                 and (ns in routed or graph.select(ns, {}, ("Pod", "WorkloadEntry", "WorkloadGroup"))))
                if not clients:
                    if any(mode.upper() in _ORIGINATES for _, _, mode in _tls_modes_for(ctx, svc.host, p.number)):
                        continue  # clients unknown: some rule of the repository originates TLS for the port
                    clients = [svc.namespace]
                missing = without_origination(clients, svc.host, svc.namespace, p.number)
                if missing is None:
                    continue
                ns, got = missing
                yield Problem(se, p.path + ("targetPort",) if p.target_port not in (None, 0, "") else p.path,
                              f"ServiceEntry {se.namespace}/{se.name}: HTTP port {p.number} of {svc.host} forwards to "
                              f"port 443, but clients in namespace '{ns}' get {got}{elsewhere(svc.host, p.number, svc.namespace)}: "
                              "plain HTTP reaches the TLS server, which rejects it — add a DestinationRule with "
                              f"portLevelSettings port {p.number} tls.mode SIMPLE where those clients look it up "
                              "(§tls-origination-ports)")
                break
    # (ii) an http route whose destination is an HTTPS/TLS port of an external service
    for vs in ctx.each(VirtualService):
        for d in graph.destinations(vs):
            rd = vs.destinations[d.dest_index]
            if rd.route_kind != "http" or d.port is None or not d.services:
                continue
            svc = d.services[0]
            if not _external(svc):
                continue
            p = svc.port(d.port)
            if p is None or p.protocol.upper() not in _TLS_PROTOCOLS:
                continue
            if any(mode.upper() in _ORIGINATES for _, _, mode in _tls_modes_for(ctx, d.host, d.port)):
                continue  # some rule originates TLS there: whether this hop's proxies get it is IVL513's
            clients = graph.route_client_namespaces(vs, rd.gateways) or [vs.namespace]
            missing = without_origination(clients, d.host, svc.namespace, d.port, [d.subset] if d.subset else [""])
            if missing is None:
                continue
            ns, got = missing
            yield Problem(vs, d.path + ("port", "number"),
                          f"VirtualService {vs.namespace}/{vs.name}: an http route sends plain HTTP to "
                          f"{d.host}:{d.port}, a {p.protocol.upper()} port, and its clients in namespace '{ns}' get "
                          f"{got}{elsewhere(d.host, d.port, svc.namespace)}; the server rejects the plain-text request "
                          "(§tls-origination-ports)",
                          related=((svc.resource, p.path),))


def _mesh_routes_elsewhere(ctx: Context, host: str, port: int) -> bool:
    """Does a mesh-bound VirtualService for ``host`` route every http request on ``port`` to
    other hosts?  (istio.io's egress-gateway TLS origination: port 80 goes to the egress
    gateway, which originates TLS toward port 443; the sidecars never use this port directly.)"""
    domain = ctx.settings.cluster_domain
    for vs in ctx.resources(VirtualService):  # every route (also for a rule iterating fewer)
        if not any(host_matches(resolve_host(h, vs.namespace, domain), host) for h in vs.hosts):
            continue
        for i, route in enumerate(as_list(vs.spec.get("http"))):
            rm = as_map(route)
            matches = [as_map(m) for m in as_list(rm.get("match"))]
            gws: set[str] = set()
            for m in matches:
                gws.update(g for g in as_list(m.get("gateways")) if isinstance(g, str))
            gateways = tuple(sorted(gws)) if gws else vs.gateways
            if "mesh" not in gateways:
                continue
            ports = {as_int(m.get("port")) for m in matches}
            if matches and None not in ports and port not in ports:
                continue  # this route is for other ports
            dests = [d for d in vs.destinations if d.path[:3] == ("spec", "http", i) and not d.is_mirror]
            return bool(dests) and all(resolve_host(d.host, vs.namespace, domain) != host for d in dests)
    return False


# --- IVL212 -------------------------------------------------------------------------------------


@rule(
    code="IVL212", family="protocols", name="tls-originated-on-tls-port", severity="warning",
    summary="A DestinationRule originates TLS on an HTTPS/TLS port of an external service whose clients already speak TLS there.",
    rationale="""
    On an HTTPS or TLS port a sidecar forwards the client's own TLS stream as opaque bytes; a
    DestinationRule that also originates TLS (`SIMPLE`/`MUTUAL`) for that port wraps it a
    second time, and the server sees a TLS handshake inside TLS (`WRONG_VERSION_NUMBER`, reset)
    (docs/semantics.md §tls-origination-ports). TLS origination belongs on the port that carries
    plain HTTP: the HTTP port (with `targetPort: 443`), or the HTTPS port only when a
    VirtualService's `http` route sends plain requests there (the egress-gateway hop of
    istio.io's TLS-origination task), which keeps this rule silent. A policy that also sets
    `tunnel` is not reported: the client's stream travels inside a CONNECT tunnel and the TLS
    it originates is to the forward proxy (docs/semantics.md §dr-tunnel).
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [api.partner.example]
      location: MESH_EXTERNAL
      resolution: DNS
      ports: [{number: 443, name: https, protocol: HTTPS}]
    ---
    kind: DestinationRule
    spec:
      host: api.partner.example
      trafficPolicy: {tls: {mode: SIMPLE}}     # the apps already call https://
    """,
    good="""
    kind: DestinationRule
    spec:
      host: api.partner.example
      trafficPolicy: {tls: {mode: SIMPLE}}
    ---
    kind: ServiceEntry
    spec:
      hosts: [api.partner.example]
      location: MESH_EXTERNAL
      resolution: DNS
      ports: [{number: 80, name: http, protocol: HTTP, targetPort: 443}]   # apps call http://
    """,
    inputs=("DestinationRule",),
    equivalents=(),
    references=("docs/semantics.md §tls-origination-ports", "docs/semantics.md §dr-tunnel"),
)
def tls_originated_on_tls_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    http_targets: set[tuple[str, int]] = set()
    for vs in ctx.resources(VirtualService):
        for d in graph.destinations(vs):
            if vs.destinations[d.dest_index].route_kind == "http" and d.port is not None:
                http_targets.add((d.host, d.port))
    seen: set[tuple[int, FieldPath]] = set()
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_EXTERNAL":
            continue
        for svc in graph.services_of.get(id(se), ()):
            for p in se.ports:
                if p.number is None or p.protocol.upper() not in _TLS_PROTOCOLS or (svc.host, p.number) in http_targets:
                    continue
                for dr, path, mode in _tls_modes_for(ctx, svc.host, p.number):
                    if mode not in _ORIGINATES or (id(dr), path) in seen or _tunnels(dr, path):
                        continue
                    seen.add((id(dr), path))
                    ctx.current = dr
                    yield Problem(dr, path,
                                  f"DestinationRule {dr.namespace}/{dr.name} originates TLS ({mode}) toward "
                                  f"{svc.host}:{p.number}, which ServiceEntry {se.namespace}/{se.name} declares "
                                  f"{p.protocol.upper()}: clients already send TLS there, so it is encrypted twice "
                                  "and the handshake fails — originate TLS on an HTTP port instead (targetPort 443), "
                                  "or scope the tls setting to that port with portLevelSettings",
                                  related=((se, p.path),))
    ctx.current = None
