"""IVL71x routing and TLS analyzers: istioctl's VirtualService/DestinationRule checks and
Kiali's mesh-wide mTLS check, with Istio's own host resolution (``lint/graph.py``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import host_matches, resolve_host
from istio_vm_lint.model import DestinationRule, PeerAuthentication, VirtualService, as_list, as_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import dr_host, export_scopes, namespace_wildcard, scopes_overlap, tls_mode

from .selectors.subsets import host_endpoints


def _mesh_bound(vs: VirtualService) -> bool:
    return "mesh" in vs.gateways


@rule(
    code="IVL710", family="analyzers_routing", name="conflicting-mesh-virtual-services", severity="error",
    summary="Several mesh VirtualServices define the same host for overlapping namespaces.",
    rationale="""
    For sidecars, VirtualServices are not merged: when two mesh-bound VirtualServices define the
    same host and are visible to the same client namespace, which one applies is undefined
    (doc: traffic management best practices; docs/semantics.md §route-protocol; istioctl IST0109,
    docs/semantics.md §analyzer-mesh-gateway-hosts). Hosts are compared after short-name expansion against each
    VirtualService's namespace; visibility follows `exportTo`. Gateway-bound VirtualServices
    are merged by Istio and are not reported. Merge the routes into one VirtualService or
    narrow `exportTo`. Info when the VirtualServices are in one namespace and carry identical
    routes (a lab's step files that repeat a route with another binding): whichever Istio keeps,
    the sidecars route the same way (docs/semantics.md §duplicate-mesh-routes).
    """,
    bad="""
    kind: VirtualService
    metadata: {name: ratings, namespace: foo}
    spec: {hosts: [ratings]}
    ---
    kind: VirtualService
    metadata: {name: ratings, namespace: bar}
    spec: {hosts: [ratings.foo.svc.cluster.local]}
    """,
    good="""
    kind: VirtualService
    metadata: {name: ratings, namespace: foo}
    spec: {hosts: [ratings]}
    """,
    inputs=("VirtualService",),
    equivalents=("IST0109", "KIA1106"),
    references=("docs/semantics.md §route-protocol", "docs/semantics.md §analyzer-mesh-gateway-hosts",
                "docs/semantics.md §duplicate-mesh-routes"),
)
def conflicting_mesh_virtual_services(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    entries: list[tuple[VirtualService, str, int, set[str]]] = []
    by_host: dict[str, list[int]] = defaultdict(list)
    for vs in ctx.resources(VirtualService):
        if not _mesh_bound(vs):
            continue
        scopes = export_scopes(vs.export_to, vs.namespace)
        for i, h in enumerate(as_list(vs.spec.get("hosts"))):
            if isinstance(h, str) and h:
                by_host[resolve_host(h, vs.namespace, domain)].append(len(entries))
                entries.append((vs, resolve_host(h, vs.namespace, domain), i, scopes))
    wildcard_global = [e for e in entries if e[1].startswith("*") and e[3] is None]
    conflicts: dict[int, set[int]] = defaultdict(set)
    where: dict[int, tuple[int, str]] = {}
    names: dict[int, VirtualService] = {}

    def mark(a: tuple[VirtualService, str, int, Optional[frozenset[str]]],
             b: tuple[VirtualService, str, int, Optional[frozenset[str]]]) -> None:
        conflicts[id(a[0])].add(id(b[0]))
        conflicts[id(b[0])].add(id(a[0]))
        for e in (a, b):  # report each VirtualService at its first conflicting host
            where[id(e[0])] = min(where.get(id(e[0]), (e[2], e[1])), (e[2], e[1]))
        names[id(a[0])], names[id(b[0])] = a[0], b[0]

    for entry in entries:
        vs, host, _, scopes = entry
        for j in by_host.get(host, ()):
            other = entries[j]
            if other[0] is not vs and scopes_overlap(scopes, other[3]):
                mark(entry, other)  # type: ignore[arg-type]
        if scopes is not None:
            # A namespace-scoped host also collides with globally exported wildcard hosts covering it.
            for other in wildcard_global:
                if other[0] is not vs and host_matches(other[1], host):
                    mark(entry, other)  # type: ignore[arg-type]
    for key in sorted(conflicts, key=lambda k: names[k].sort_key):
        vs = names[key]
        hi, host = where[key]
        others = sorted((names[o] for o in conflicts[key]), key=lambda o: o.sort_key)
        listing = ", ".join(f"{o.namespace}/{o.name}" for o in others)
        same = all(_same_routes(vs, o) for o in others)
        yield Problem(vs, ("spec", "hosts", hi), f"VirtualService {vs.namespace}/{vs.name} and {listing} are bound to "
                      f"the mesh and define the same host '{host}' for overlapping namespaces; which one applies is "
                      "undefined — merge them into one VirtualService"
                      + ("; their routes are identical, so whichever applies, traffic goes the same way "
                         "(§duplicate-mesh-routes)" if same else ""),
                      related=tuple((o, ("spec", "hosts")) for o in others),
                      severity="info" if same else None)


def _same_routes(a: VirtualService, b: VirtualService) -> bool:
    """Do two VirtualServices of one namespace carry the same routes (http, tls and tcp, with
    their matches)?  Then the sidecars get the same routes whichever of them Istio keeps."""
    return a.namespace == b.namespace and all(a.spec.get(k) == b.spec.get(k) for k in ("http", "tls", "tcp"))


def _split_keeps_every_endpoint(ctx: Context, mesh_vs: VirtualService, host: str) -> str:
    """The subset when the mesh VirtualService routes ``host`` to one subset only and every
    endpoint the repository declares for the host is in it (bookinfo's productpage v1 with only
    v1 deployed): bypassing the split then reaches the same endpoints.  "" otherwise (several
    subsets split by weight or match, endpoints unknown, outside the subset, or no rule)."""
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    subsets = {d.subset for d in mesh_vs.destinations
               if d.route_kind == "http" and resolve_host(d.host, mesh_vs.namespace, domain) == host}
    if len(subsets) != 1 or None in subsets or "" in subsets:
        return ""
    (name,) = subsets
    endpoints = host_endpoints(graph, host, mesh_vs.namespace)
    edr = graph.effective_dr(mesh_vs.namespace, host)
    if not endpoints or edr is None or name not in edr.subsets:
        return ""
    labels = edr.subsets[name][1].labels
    if not labels or not all(all(w.labels.get(k) == v for k, v in labels.items()) for w in endpoints):
        return ""
    return f"'{name}'"


@rule(
    code="IVL711", family="analyzers_routing", name="subset-routing-ignored-at-gateway", severity="warning",
    summary="A gateway VirtualService routes to a host without subset while the mesh VirtualService splits it by subset.",
    rationale="""
    Mesh VirtualServices (`gateways: [mesh]`) do not apply to traffic entering through a
    gateway. When a gateway-bound VirtualService sends traffic to a host without a subset while
    a mesh VirtualService for that host routes by subsets (say v1/v2 canary), ingress traffic
    bypasses the split and reaches every version (istioctl IST0140, docs/semantics.md §analyzer-destination-hosts).
    Hosts are compared after resolution. Info, not a warning, when the mesh VirtualService
    sends the host to one subset only and every endpoint the repository declares for the host is
    in that subset (bookinfo's `productpage` pinned to v1 with only v1 deployed): ingress then
    reaches the same endpoints, until another version is deployed.
    """,
    bad="""
    kind: VirtualService
    metadata: {name: ingress}
    spec:
      gateways: [istio-system/gw]
      http: [{route: [{destination: {host: ratings}}]}]
    ---
    kind: VirtualService
    metadata: {name: ratings}
    spec:
      hosts: [ratings]
      http: [{route: [{destination: {host: ratings, subset: v1}}]}]
    """,
    good="""
    kind: VirtualService
    metadata: {name: ingress}
    spec:
      gateways: [istio-system/gw]
      http: [{route: [{destination: {host: ratings, subset: v1}}]}]
    """,
    inputs=("VirtualService",),
    equivalents=("IST0140",),
    references=("docs/semantics.md §analyzer-destination-hosts",),
)
def subset_ignored_at_gateway(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    split: dict[str, VirtualService] = {}
    for vs in ctx.resources(VirtualService):
        if not _mesh_bound(vs):
            continue
        own = {resolve_host(h, vs.namespace, domain) for h in vs.hosts}
        for d in vs.destinations:
            if d.route_kind == "http" and d.subset:
                h = resolve_host(d.host, vs.namespace, domain)
                if h in own:
                    split.setdefault(h, vs)
    if not split:
        return
    for vs in ctx.each(VirtualService):
        if not any(g != "mesh" for g in vs.gateways):
            continue
        for d in vs.destinations:
            if d.route_kind != "http" or d.subset or d.is_mirror or "mesh" in d.gateways:
                continue
            h = resolve_host(d.host, vs.namespace, domain)
            other = split.get(h)
            if other is not None and other is not vs:
                same = _split_keeps_every_endpoint(ctx, other, h)
                yield Problem(vs, d.path + ("host",), f"VirtualService {vs.namespace}/{vs.name} routes gateway traffic "
                              f"to '{h}' without a subset, but VirtualService {other.namespace}/{other.name} splits that "
                              "host by subset for the mesh only; ingress traffic will reach every version"
                              + (f" (today the same endpoints: every endpoint the repository declares for it is in "
                                 f"subset {same}, so the split makes no difference yet)" if same else ""),
                              related=((other, ("spec", "http")),), severity="info" if same else None)


@rule(
    code="IVL712", family="analyzers_routing", name="deprecated-field", severity="warning",
    summary="A field Istio has deprecated or ignores is used.",
    rationale="""
    `HTTPRoute.fault.delay.percent` is deprecated in favour of `percentage`, and
    `Sidecar.outboundTrafficPolicy.egressProxy` is ignored by current proxies (istioctl
    IST0002, docs/semantics.md §analyzer-deprecation). The configuration keeps working for now, or silently
    does nothing.
    """,
    bad="""
    http:
    - fault:
        delay: {percent: 10, fixedDelay: 5s}
    """,
    good="""
    http:
    - fault:
        delay: {percentage: {value: 10}, fixedDelay: 5s}
    """,
    inputs=("VirtualService", "Sidecar"),
    equivalents=("IST0002",),
    references=("docs/semantics.md §analyzer-deprecation",),
)
def deprecated_field(ctx: Context) -> Iterator[Problem]:
    for vs in ctx.each("VirtualService"):
        for i, route in enumerate(as_list(vs.spec.get("http"))):
            delay = as_map(as_map(as_map(route).get("fault")).get("delay"))
            pct = delay.get("percent")
            if isinstance(pct, (int, float)) and not isinstance(pct, bool) and pct > 0:
                yield Problem(vs, ("spec", "http", i, "fault", "delay", "percent"),
                              "HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage")
    for sc in ctx.each("Sidecar"):
        if "egressProxy" in as_map(sc.spec.get("outboundTrafficPolicy")):
            yield Problem(sc, ("spec", "outboundTrafficPolicy", "egressProxy"),
                          "OutboundTrafficPolicy.EgressProxy is ignored by current Istio proxies")


def _tls_without_ca(tls: Any, has_selector: bool) -> Optional[str]:
    t = as_map(tls)
    mode = t.get("mode")
    if mode not in ("SIMPLE", "MUTUAL"):
        return None
    if t.get("caCertificates") or t.get("insecureSkipVerify") is True:
        return None
    if t.get("credentialName") and has_selector:
        return None
    return str(mode)


_SYSTEM_CA = ("current Istio verifies the server against the proxy's system trust store when caCertificates "
              "is empty (cluster_tls.go: NonEmptyOrDefault(tls.CaCertificates, \"system\")), so the server is "
              "verified; istioctl's {code} analyzer predates that and reports it as unverified")


@rule(
    code="IVL713", family="analyzers_routing", name="tls-without-ca-certificates", severity="info",
    summary="A DestinationRule originates TLS (SIMPLE/MUTUAL) without caCertificates: the server is verified against the proxy's system CA bundle.",
    rationale="""
    With `tls.mode` SIMPLE or MUTUAL and no `caCertificates`, istiod points the proxy at the
    system CA bundle (`CaCertificatePath: ptr.NonEmptyOrDefault(tls.CaCertificates, "system")`,
    docs/semantics.md §tls-origination-ports), so a server with a publicly trusted certificate is
    verified — the pattern of istio.io's egress TLS-origination tasks — and only a server
    signed by a private CA fails the handshake. istioctl still reports it (IST0128 at
    destination level, IST0129 at port level, §analyzer-ca-certificates, from the time no
    default existed); here it is information. A `credentialName` only supplies the CA when the
    rule has a `workloadSelector`. Subset policies are checked too, and an explicit
    `insecureSkipVerify: true` is taken as a deliberate choice.
    """,
    bad="""
    trafficPolicy:
      tls: {mode: SIMPLE}
    """,
    good="""
    trafficPolicy:
      tls: {mode: SIMPLE, caCertificates: /etc/certs/ca.pem}
    """,
    inputs=("DestinationRule",),
    equivalents=("IST0128",),
    references=("docs/semantics.md §analyzer-ca-certificates",),
)
def tls_without_ca(ctx: Context) -> Iterator[Problem]:
    return _tls_without_ca_problems(ctx, port_level=False)


@rule(
    code="IVL715", family="analyzers_routing", name="port-tls-without-ca-certificates", severity="info",
    summary="A DestinationRule's port-level policy originates TLS without caCertificates: the server is verified against the system CA bundle.",
    rationale="""
    Same as IVL713, for `portLevelSettings[].tls` (istioctl IST0129, docs/semantics.md
    §analyzer-ca-certificates): port-level settings replace the destination-level TLS settings
    wholesale (§port-level-settings), so a private CA must be given again at port level; without
    one the system CA bundle verifies the server (§tls-origination-ports), which suits public
    hosts such as those of istio.io's egress TLS-origination task. Subset port-level policies
    are checked too.
    """,
    bad="""
    trafficPolicy:
      portLevelSettings:
      - port: {number: 443}
        tls: {mode: SIMPLE}
    """,
    good="""
    trafficPolicy:
      portLevelSettings:
      - port: {number: 443}
        tls: {mode: SIMPLE, caCertificates: /etc/certs/ca.pem}
    """,
    inputs=("DestinationRule",),
    equivalents=("IST0129",),
    references=("docs/semantics.md §analyzer-ca-certificates", "docs/semantics.md §port-level-settings"),
)
def port_tls_without_ca(ctx: Context) -> Iterator[Problem]:
    return _tls_without_ca_problems(ctx, port_level=True)


def _tls_without_ca_problems(ctx: Context, port_level: bool) -> Iterator[Problem]:
    for dr in ctx.each(DestinationRule):
        sel = dr.workload_selector is not None
        policies: list[tuple[tuple, dict]] = [(("spec", "trafficPolicy"), dr.traffic_policy)]
        policies += [(s.path + ("trafficPolicy",), s.traffic_policy) for s in dr.subsets]
        for base, tp in policies:
            mode = _tls_without_ca(tp.get("tls"), sel)
            if mode and not port_level:
                yield Problem(dr, base + ("tls", "mode"), f"DestinationRule {dr.namespace}/{dr.name} has TLS mode {mode} "
                              f"and no caCertificates for host '{dr.host}': "
                              + _SYSTEM_CA.format(code="IST0128"))
            for i, pls in enumerate(as_list(tp.get("portLevelSettings"))):
                pm = as_map(pls)
                mode = _tls_without_ca(pm.get("tls"), sel)
                if mode and port_level:
                    port = as_map(pm.get("port")).get("number")
                    yield Problem(dr, base + ("portLevelSettings", i, "tls", "mode"),
                                  f"DestinationRule {dr.namespace}/{dr.name} has TLS mode {mode} and no caCertificates "
                                  f"for host '{dr.host}' at port {port}: " + _SYSTEM_CA.format(code="IST0129"))


def _mesh_pa_mode(ctx: Context) -> Optional[tuple[PeerAuthentication, str]]:
    for pa in ctx.resources(PeerAuthentication):
        if pa.namespace == ctx.root_namespace and pa.selector is None:
            return pa, pa.mtls_mode
    return None


@rule(
    code="IVL714", family="analyzers_routing", name="tls-disabled-toward-strict-mtls", severity="error",
    summary="A DestinationRule disables TLS toward workloads whose PeerAuthentication requires mTLS.",
    rationale="""
    `tls.mode: DISABLE` makes clients send plaintext; a STRICT PeerAuthentication on the
    destination (its namespace's, or the mesh-wide one in the root namespace when the namespace
    has none) rejects plaintext, so every connection is reset (Kiali KIA0208,
    docs/semantics.md §kiali-destinationrules, §peerauthentication). Hosts like `*.local` apply mesh-wide.
    """,
    bad="""
    kind: DestinationRule
    spec: {host: "*.local", trafficPolicy: {tls: {mode: DISABLE}}}
    ---
    kind: PeerAuthentication
    metadata: {namespace: istio-system}
    spec: {mtls: {mode: STRICT}}
    """,
    good="""
    kind: PeerAuthentication
    metadata: {namespace: istio-system}
    spec: {mtls: {mode: PERMISSIVE}}
    """,
    inputs=("DestinationRule",),
    equivalents=("KIA0208", "KIA0207"),
    references=("docs/semantics.md §kiali-destinationrules", "docs/semantics.md §peerauthentication", "docs/semantics.md §client-tls"),
)
def tls_disabled_toward_strict(ctx: Context) -> Iterator[Problem]:
    if not ctx.resources("PeerAuthentication"):
        return
    mesh = _mesh_pa_mode(ctx)
    ns_modes: dict[str, str] = {}
    for pa in ctx.resources(PeerAuthentication):
        if pa.selector is None and pa.namespace != ctx.root_namespace:
            ns_modes[pa.namespace] = pa.mtls_mode
    domain = ctx.settings.cluster_domain
    for dr in ctx.each(DestinationRule):
        if tls_mode(dr.traffic_policy) != "DISABLE":
            continue
        host = dr_host(dr, domain)
        ns_wild = namespace_wildcard(host, domain)
        if ns_wild is not None:
            target_ns: Optional[str] = ns_wild  # "*.<ns>.svc.<domain>": namespace-wide rule
        elif host.startswith("*"):
            target_ns = None
        else:
            svcs = ctx.graph.lookup(host, None)
            target_ns = svcs[0].namespace if svcs else None
        mode = ns_modes.get(target_ns) if target_ns else None
        owner = f"namespace {target_ns}"
        if mode is None and mesh is not None:
            mode, owner = mesh[1], f"mesh-wide PeerAuthentication {mesh[0].namespace}/{mesh[0].name}"
        if mode == "STRICT":
            yield Problem(dr, ("spec", "trafficPolicy", "tls", "mode"),
                          f"DestinationRule {dr.namespace}/{dr.name} disables TLS for '{dr.host}' but the {owner} "
                          "requires mTLS (STRICT); connections will be rejected — use PERMISSIVE or ISTIO_MUTUAL",
                          related=((mesh[0], ("spec", "mtls", "mode")),) if mesh and "mesh-wide" in owner else ())
