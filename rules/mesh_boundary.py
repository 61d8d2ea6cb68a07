"""IVL3xx mesh boundary: MESH_EXTERNAL / MESH_INTERNAL, mTLS toward the endpoints.

`location` decides whether clients originate Istio mTLS (auto mTLS only for MESH_INTERNAL),
whether peer metadata/telemetry treat the service as a mesh service and whether it can be
exported through east-west gateways (docs/semantics.md §mesh-location). Its default is MESH_EXTERNAL,
so omitting it in front of sidecar VMs is the classic mistake (§mesh-location-misuse). Endpoints,
selection and effective DestinationRules come from the graph (``ctx.graph``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import EffectiveDR, MeshGraph, MeshService, Workload
from istio_vm_lint.model import (
    DestinationRule,
    Namespace,
    PeerAuthentication,
    Resource,
    ServiceEntry,
    WorkloadController,
    _is_ip,
    as_int,
    as_map,
    as_str,
)
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import tls_mode

from ._messages import describe, wkey


def _location_text(se: ServiceEntry) -> str:
    return "location is MESH_EXTERNAL" if se.location_explicit else \
        "location is omitted and defaults to MESH_EXTERNAL"


class _Injection:
    """Positive evidence that a pod template gets an Istio sidecar (§auto-mtls): the pod says so, or its
    namespace is labelled for injection and the pod does not opt out."""

    def __init__(self, ctx: Context) -> None:
        self.ns: dict[str, bool] = {}
        for n in ctx.resources(Namespace):
            lab = n.labels
            self.ns[n.name] = lab.get("istio-injection") == "enabled" or (
                bool(lab.get("istio.io/rev")) and lab.get("istio-injection") != "disabled")

    def has_sidecar(self, w: Workload) -> bool:
        if w.kind == "WorkloadGroup":
            return True  # VMs bootstrapped from a WorkloadGroup run istio-agent + Envoy (§workloadgroup)
        if w.kind in ("WorkloadEntry", "Endpoint"):
            return w.tls_mode == "istio"  # serviceAccount or tlsMode label (§workloadentry-identity)
        r = w.resource
        if not isinstance(r, WorkloadController):
            return False
        pod = r.pod
        flag = pod.labels.get("sidecar.istio.io/inject") or pod.annotations.get("sidecar.istio.io/inject")
        if flag is not None:
            return flag == "true"
        if pod.labels.get("security.istio.io/tlsMode") == "istio":
            return True
        return self.ns.get(w.namespace, False)


def _pa_mode(ctx: Context, w: Workload) -> Optional[tuple[PeerAuthentication, str]]:
    """Effective PeerAuthentication mode for a workload: selector > namespace > mesh (root ns)."""
    root = ctx.root_namespace
    sel_pa = ns_pa = mesh_pa = None
    for pa in ctx.resources(PeerAuthentication):
        if pa.mtls_mode in ("UNSET", ""):
            continue
        if pa.selector:
            # a selector PeerAuthentication in the root namespace is ignored (§policy-selector-scope)
            if pa.namespace == w.namespace != root and all(w.labels.get(k) == v for k, v in pa.selector.items()):
                sel_pa = sel_pa or pa
        elif pa.namespace == w.namespace and pa.namespace != root:
            ns_pa = ns_pa or pa
        elif pa.namespace == root:
            mesh_pa = mesh_pa or pa
    pa = sel_pa or ns_pa or mesh_pa
    return (pa, pa.mtls_mode) if pa is not None else None


def _port_mtls(ctx: Context, w: Workload, ids: set[int]) -> Optional[tuple[PeerAuthentication, Callable[[int], tuple[int, str]]]]:
    """The PeerAuthentication that governs workload ``w`` and, for a port of the services whose
    resources are ``ids``, the workload port it reaches and the mTLS mode there (``portLevelMtls``
    keyed by that target port, else the policy's mode)."""
    found = _pa_mode(ctx, w)
    if found is None:
        return None
    pa, top = found
    levels = {as_int(k): as_str(as_map(v).get("mode")).upper()
              for k, v in as_map(pa.spec.get("portLevelMtls")).items()}
    bound = {sp: ep for b in ctx.graph.bindings_by_workload.get(id(w), ()) if id(b.service_resource) in ids
             for sp, ep in b.ports.items()}

    def at(sp: int) -> tuple[int, str]:
        target = bound.get(sp) or sp
        return target, levels.get(target) or top.upper()

    return pa, at


def _dr_tls_mode(graph: MeshGraph, svc: MeshService) -> Optional[str]:
    edr = graph.effective_dr(svc.namespace, svc.host, svc.namespace)
    if edr is None:
        return None
    pol = edr.policy()
    return tls_mode(pol) if pol else None


# --- IVL301 ------------------------------------------------------------------------------------


@rule(
    code="IVL301", family="mesh_boundary", name="mesh-external-sidecar-endpoints", severity="warning",
    summary="A MESH_EXTERNAL ServiceEntry (often by omission: it is the default) selects or lists workloads that run Istio sidecars.",
    rationale="""
    `location` defaults to MESH_EXTERNAL (enum 0, docs/semantics.md §serviceentry-defaults, §defaults). For a
    MESH_EXTERNAL service clients never use auto mTLS, skip peer metadata exchange, and the
    service is never exported through east-west gateways (§mesh-location). In front of sidecar
    workloads — WorkloadEntries with a `serviceAccount` or `security.istio.io/tlsMode: istio`,
    WorkloadGroups, injected pods — that means plaintext to the sidecar: a STRICT
    PeerAuthentication resets every connection (503 `UF`), PERMISSIVE silently loses
    encryption and telemetry, other networks cannot reach it (§mesh-location-misuse;
    #55247, #25110). The API says `workloadSelector` is "applicable only for MESH_INTERNAL
    services", but nothing enforces it; istioctl and Kiali have no check. An error when a
    STRICT PeerAuthentication in the repository applies to a selected workload (and no
    DestinationRule sets ISTIO_MUTUAL), otherwise a warning. MESH_EXTERNAL in front of
    sidecar-less VMs (#25189) is fine and not reported.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:                          # no location: MESH_EXTERNAL
      hosts: [whoami.example.internal]
      resolution: STATIC
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector: {labels: {app: whoami}}   # WorkloadEntries with serviceAccount
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      location: MESH_INTERNAL
      resolution: STATIC
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector: {labels: {app: whoami}}
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("docs/semantics.md §serviceentry-defaults", "docs/semantics.md §mesh-location", "docs/semantics.md §mesh-location-misuse",),
)
def mesh_external_sidecar_endpoints(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    inj: Optional[_Injection] = None
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_EXTERNAL":
            continue
        bindings = graph.bindings_by_service.get(id(se), ())
        if not bindings:
            continue
        if inj is None:
            inj = _Injection(ctx)
        meshed = sorted((b.workload for b in bindings if inj.has_sidecar(b.workload)), key=wkey)
        if not meshed:
            continue
        strict = None
        for w in meshed:
            m = _pa_mode(ctx, w)
            if m and m[1] == "STRICT":
                strict = (w, m[0])
                break
        svcs = graph.services_of.get(id(se), [])
        dr_mtls = any(_dr_tls_mode(graph, s) == "ISTIO_MUTUAL" for s in svcs)
        shown = ", ".join(describe(w) for w in meshed[:3]) + (f" and {len(meshed) - 3} more" if len(meshed) > 3 else "")
        how = "selects" if se.selector is not None else "lists"
        if strict and not dr_mtls:
            effect = (f"clients send plaintext, and PeerAuthentication {strict[1].namespace}/{strict[1].name} (STRICT) "
                      f"on {describe(strict[0])} rejects it")
        elif dr_mtls:
            effect = ("a DestinationRule sets ISTIO_MUTUAL, but peer telemetry and east-west exposure still treat the "
                      "service as external")
        else:
            effect = ("clients do not originate Istio mTLS (no auto mTLS for external services): traffic is plaintext, "
                      "and fails under a STRICT PeerAuthentication")
        path: FieldPath = ("spec", "location") if se.location_explicit else ("spec",)
        yield Problem(se, path,
                      f"ServiceEntry {se.namespace}/{se.name}: {_location_text(se)}, but it {how} sidecar workloads "
                      f"({shown}); {effect} (§mesh-location, §mesh-location-misuse) — set location: MESH_INTERNAL",
                      related=tuple((w.resource, ("spec",)) for w in meshed[:3]),
                      severity="error" if strict and not dr_mtls else None)


# --- IVL302 ------------------------------------------------------------------------------------

PRIVATE_SUFFIXES = (".local", ".internal", ".svc", ".lan", ".corp", ".home.arpa", ".intranet", ".private",
                    ".localdomain", ".localhost", ".test", ".invalid", ".example", ".cluster", ".consul", ".mesh",
                    ".priv", ".home", ".int")


def _public_looking(host: str, domain: str) -> bool:
    h = host.lower().rstrip(".")
    if not h or _is_ip(h) or "." not in h or h.startswith("*") and h.count(".") < 2:
        return False
    if h.endswith("." + domain) or ".svc." in h:
        return False
    return not h.endswith(PRIVATE_SUFFIXES)


@rule(
    code="IVL302", family="mesh_boundary", name="mesh-internal-external-service", severity="info",
    summary="A MESH_INTERNAL ServiceEntry describes what looks like a third-party service (public DNS name, DNS resolution, TLS/443, no workloads).",
    rationale="""
    MESH_INTERNAL tells Istio the service runs inside the mesh: it becomes a candidate for
    AUTO_PASSTHROUGH export through east-west gateways whose hosts match, clients attempt
    peer metadata exchange, telemetry counts it as a mesh service (docs/semantics.md §mesh-location). For a public API resolved by DNS with no workloadSelector and no
    endpoints, on port 443 or a TLS/HTTPS port, that is almost certainly a copy-paste from a
    VM ServiceEntry: use MESH_EXTERNAL. Information only (nothing breaks immediately);
    "public-looking" means not an IP, not a cluster-local name and not under a private suffix
    such as `.internal`, `.local`, `.corp` or `.lan`. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: stripe}
    spec:
      hosts: [api.stripe.com]
      location: MESH_INTERNAL
      resolution: DNS
      ports: [{number: 443, name: tls, protocol: TLS}]
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: stripe}
    spec:
      hosts: [api.stripe.com]
      location: MESH_EXTERNAL
      resolution: DNS
      ports: [{number: 443, name: tls, protocol: TLS}]
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("docs/semantics.md §mesh-location", "docs/semantics.md §mesh-location-misuse",),
)
def mesh_internal_external_service(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_INTERNAL" or se.resolution not in ("DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"):
            continue
        if se.has_selector or se.endpoints or not se.hosts:
            continue
        if not all(_public_looking(h, domain) for h in se.hosts):
            continue
        tls_ports = [p for p in se.ports if p.number == 443 or p.protocol.upper() in ("TLS", "HTTPS")]
        if not tls_ports:
            continue
        yield Problem(se, ("spec", "location"),
                      f"ServiceEntry {se.namespace}/{se.name} is MESH_INTERNAL, but {', '.join(se.hosts[:3])} looks like "
                      f"an external service (resolution {se.resolution}, no workloads, port {tls_ports[0].number}"
                      f"{' ' + tls_ports[0].protocol.upper() if tls_ports[0].protocol else ''}): MESH_INTERNAL services "
                      "can be exported through east-west gateways and are treated as mesh services in telemetry "
                      "(§mesh-location) — use MESH_EXTERNAL")


# --- IVL303 ------------------------------------------------------------------------------------


def _tls_layers(graph: MeshGraph, edr: EffectiveDR, ports: list[Optional[int]]) -> Iterator[tuple[DestinationRule, FieldPath, dict[str, Any]]]:
    """(owner, path of the tls mapping, tls) of every effective TLS setting, any subset/port."""
    for subset in [""] + sorted(edr.subsets):
        for port in [None] + ports:
            eff = None
            for owner, path, pol, port_level in graph.policy_layers(edr, subset, port):
                tls = pol.get("tls")
                if port_level:
                    eff = (owner, path + ("tls",), tls) if isinstance(tls, dict) else None
                elif isinstance(tls, dict):
                    eff = (owner, path + ("tls",), tls)
            if eff is not None:
                yield eff


@rule(
    code="IVL303", family="mesh_boundary", name="istio-mutual-to-external-service", severity="error",
    summary="A DestinationRule sets tls.mode ISTIO_MUTUAL toward a MESH_EXTERNAL service whose endpoints are not Istio workloads.",
    rationale="""
    ISTIO_MUTUAL makes the client present its Istio workload certificate and verify the
    server against mesh identities. A genuine external service cannot validate Istio
    certificates and does not present a SPIFFE identity, so every handshake fails
    (docs/semantics.md §mesh-location-misuse; `api:dr` ClientTLSSettings). The effective
    DestinationRule is evaluated for every client namespace the repository knows (top level,
    subsets, port-level settings; §destinationrule-lookup, §port-level-settings), so a wildcard rule such as `host: "*"` counts
    too. The legitimate pattern — ISTIO_MUTUAL on the sidecar → egress-gateway hop — has the
    gateway's in-mesh Service as its host and is not reported (#23910), nor is a MESH_EXTERNAL
    entry whose endpoints are sidecar workloads (that is IVL301). Use SIMPLE/MUTUAL with the
    provider's CA, or no TLS when the application already speaks TLS.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: stripe, namespace: payments}
    spec: {hosts: [api.stripe.com], location: MESH_EXTERNAL, resolution: DNS,
           ports: [{number: 443, name: tls, protocol: TLS}]}
    ---
    kind: DestinationRule
    metadata: {name: stripe, namespace: payments}
    spec: {host: api.stripe.com, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
    """,
    good="""
    kind: DestinationRule
    metadata: {name: egressgateway, namespace: payments}
    spec:
      host: istio-egressgateway.istio-system.svc.cluster.local
      trafficPolicy: {tls: {mode: ISTIO_MUTUAL, sni: api.stripe.com}}
    """,
    inputs=("DestinationRule",),
    equivalents=(),
    references=("docs/semantics.md §destinationrule-lookup", "docs/semantics.md §client-tls", "docs/semantics.md §mesh-location-misuse"),
)
def istio_mutual_to_external_service(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    if not ctx.resources("ServiceEntry"):
        return
    inj: Optional[_Injection] = None
    seen: set[tuple[int, FieldPath]] = set()
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_EXTERNAL":
            continue
        if inj is None:
            inj = _Injection(ctx)
        if any(inj.has_sidecar(b.workload) for b in graph.bindings_by_service.get(id(se), ())):
            continue
        ports = [p.number for p in se.ports if p.number is not None]
        for svc in graph.services_of.get(id(se), []):
            if any(s.is_kube for s in graph.lookup(svc.host, None)):
                continue  # a Kubernetes Service owns the name (§duplicate-hosts)
            for cns in sorted(graph.client_namespaces(svc)):
                edr = graph.effective_dr(cns, svc.host, svc.namespace)
                if edr is None:
                    continue
                for owner, path, tls in _tls_layers(graph, edr, ports):
                    if tls.get("mode") != "ISTIO_MUTUAL" or (id(owner), path) in seen:
                        continue
                    seen.add((id(owner), path))
                    yield Problem(owner, path + ("mode",),
                                  f"DestinationRule {owner.namespace}/{owner.name} sets tls.mode ISTIO_MUTUAL for "
                                  f"{svc.host}, a MESH_EXTERNAL ServiceEntry ({se.namespace}/{se.name}) whose endpoints "
                                  "are not Istio workloads: the server cannot validate Istio certificates and is "
                                  "checked against mesh identities, so the TLS handshake fails (§mesh-location-misuse) — use "
                                  "SIMPLE/MUTUAL, or put ISTIO_MUTUAL on the egress-gateway hop only",
                                  related=((se, ("spec", "location")),))


# --- IVL304 ------------------------------------------------------------------------------------

_INERT = ("loadBalancer", "outlierDetection")


@rule(
    code="IVL304", family="mesh_boundary", name="mesh-internal-passthrough-policy", severity="warning",
    summary="A DestinationRule sets load balancing, outlier detection or subsets for a MESH_INTERNAL ServiceEntry with resolution NONE, where they cannot act.",
    rationale="""
    With `resolution: NONE` (the default) traffic goes to the original destination IP through
    an ORIGINAL_DST cluster: Istio knows no endpoint set, so load balancing, locality
    failover, outlier detection and subsets have nothing to act on, and per-endpoint auto
    mTLS cannot work (docs/semantics.md §serviceentry-resolution, §mesh-location-misuse; #38018 "DestinationRule
    does not apply", #27042). For a MESH_INTERNAL (VM) service that is almost always a
    mistake: use STATIC with a workloadSelector or endpoints, or DNS. The effective
    DestinationRule of each client namespace the repository knows is examined (§destinationrule-lookup, §port-level-settings);
    wildcard-host rules (mesh- or namespace-wide defaults) are not reported.
    A `workloadSelector` with NONE is Istio's own validation warning (IVL631) and not repeated
    here; istioctl has nothing else.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: legacy, namespace: vm}
    spec: {hosts: [legacy.vm.internal], location: MESH_INTERNAL, addresses: [10.9.0.10],
           ports: [{number: 8080, name: http, protocol: HTTP}]}      # resolution omitted: NONE
    ---
    kind: DestinationRule
    metadata: {name: legacy, namespace: vm}
    spec: {host: legacy.vm.internal, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}}}
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: legacy, namespace: vm}
    spec: {hosts: [legacy.vm.internal], location: MESH_INTERNAL, resolution: STATIC,
           endpoints: [{address: 10.9.0.10}], ports: [{number: 8080, name: http, protocol: HTTP}]}
    """,
    inputs=("DestinationRule",),
    equivalents=(),
    references=("docs/semantics.md §serviceentry-resolution", "docs/semantics.md §mesh-location-misuse"),
)
def mesh_internal_passthrough_policy(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    seen: set[tuple[int, FieldPath]] = set()
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_INTERNAL" or se.resolution != "NONE":
            continue
        res = "resolution is NONE" if se.resolution_explicit else "resolution is omitted and defaults to NONE"
        ports = [p.number for p in se.ports if p.number is not None]
        for svc in graph.services_of.get(id(se), []):
            if any(s.is_kube for s in graph.lookup(svc.host, None)):
                continue
            for cns in sorted(graph.client_namespaces(svc)):
                edr = graph.effective_dr(cns, svc.host, svc.namespace)
                if edr is None:
                    continue
                found: list[tuple[DestinationRule, FieldPath, str]] = []
                for subset in [""] + sorted(edr.subsets):
                    for port in [None] + ports:
                        for owner, path, pol, _ in graph.policy_layers(edr, subset, port):
                            for key in _INERT:
                                if pol.get(key) is not None:
                                    found.append((owner, path + (key,), key))
                for name, (owner, sub) in sorted(edr.subsets.items()):
                    if sub.labels:
                        found.append((owner, sub.path + ("labels",), f"subset '{name}' labels"))
                for owner, path, what in found:
                    if (id(owner), path) in seen:
                        continue
                    if ctx.graph.dr_host(owner).startswith("*"):
                        continue  # a mesh- or namespace-wide default, not aimed at this service
                    seen.add((id(owner), path))
                    yield Problem(owner, path,
                                  f"DestinationRule {owner.namespace}/{owner.name} sets {what} for {svc.host}, but "
                                  f"ServiceEntry {se.namespace}/{se.name} is MESH_INTERNAL and its {res}: traffic goes "
                                  "to the original destination IP (ORIGINAL_DST), so there are no endpoints for it to "
                                  "act on (§mesh-location-misuse) — use resolution STATIC with a workloadSelector or endpoints",
                                  related=((se, ("spec", "resolution")),))


# --- IVL305 ------------------------------------------------------------------------------------


@rule(
    code="IVL305", family="mesh_boundary", name="mesh-internal-endpoint-without-identity", severity="info",
    summary="A MESH_INTERNAL ServiceEntry's endpoint has no serviceAccount (nor tlsMode label) while its sibling endpoints are sidecar workloads.",
    rationale="""
    Auto mTLS toward a WorkloadEntry or inline endpoint depends on its TLS mode: the
    `security.istio.io/tlsMode` label if present, otherwise `istio` exactly when
    `serviceAccount` is set (`getTLSModeFromWorkloadEntry`, docs/semantics.md §auto-mtls).
    Without either, clients of a MESH_INTERNAL service send plaintext to that endpoint: if the
    VM runs a sidecar with STRICT mTLS the connection is reset, otherwise the traffic is
    silently unencrypted (§mesh-location-misuse; #27042, #25570). A sidecar-less VM is
    legitimate, so — deliberately narrower than "every endpoint without serviceAccount" — the
    finding needs evidence that the service is meant to be mTLS: another endpoint of the same
    ServiceEntry has an Istio identity (a serviceAccount, the tlsMode label, a WorkloadGroup,
    an injected pod). Information only; an explicit `security.istio.io/tlsMode` label is taken
    as intentional. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: whoami-1, namespace: vm}
    spec: {address: 10.0.0.11, labels: {app: whoami}, serviceAccount: whoami}
    ---
    kind: WorkloadEntry
    metadata: {name: whoami-2, namespace: vm}
    spec: {address: 10.0.0.12, labels: {app: whoami}}   # no serviceAccount: plaintext
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: whoami-2, namespace: vm}
    spec: {address: 10.0.0.12, labels: {app: whoami}, serviceAccount: whoami}
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("docs/semantics.md §auto-mtls", "docs/semantics.md §workloadentry-identity", "docs/semantics.md §mesh-location-misuse"),
)
def mesh_internal_endpoint_without_identity(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    seen: set[int] = set()
    inj: Optional[_Injection] = None
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_INTERNAL":
            continue
        bindings = graph.bindings_by_service.get(id(se), ())
        plain = [b.workload for b in bindings
                 if b.workload.kind in ("WorkloadEntry", "Endpoint") and b.workload.endpoint is not None
                 and not b.workload.endpoint.service_account and "security.istio.io/tlsMode" not in b.workload.labels
                 and b.workload.address_kind != "uds"]
        if not plain:
            continue
        if inj is None:
            inj = _Injection(ctx)
        meshed = sorted((b.workload for b in bindings if inj.has_sidecar(b.workload)), key=wkey)
        if not meshed:
            continue
        for w in sorted(plain, key=wkey):
            if id(w) in seen:
                continue
            seen.add(id(w))
            r: Resource = w.resource
            path: FieldPath = ("spec",) if w.kind == "WorkloadEntry" else w.endpoint.path  # type: ignore[union-attr]
            who = f"{describe(w)} is an endpoint of MESH_INTERNAL ServiceEntry {se.namespace}/{se.name} but" \
                if w.kind == "WorkloadEntry" else \
                f"endpoint {w.endpoint.address} of MESH_INTERNAL ServiceEntry {se.namespace}/{se.name}"  # type: ignore[union-attr]
            yield Problem(r, path,
                          f"{who} has no serviceAccount (nor security.istio.io/tlsMode label), unlike {describe(meshed[0])}: "
                          "clients send it plaintext; if the VM runs a sidecar, set serviceAccount so auto mTLS is "
                          "used (§auto-mtls)",
                          related=((meshed[0].resource, ("spec",)),))


# --- IVL306 ------------------------------------------------------------------------------------


@rule(
    code="IVL306", family="mesh_boundary", name="cross-network-endpoint-without-mtls", severity="warning",
    summary="An endpoint on a network that has an east-west gateway has no Istio identity, so clients on other networks drop it.",
    rationale="""
    Traffic to an endpoint on another network goes through that network's east-west gateway,
    which routes by SNI (`AUTO_PASSTHROUGH`) and therefore only works for Istio mTLS. In sidecar
    mode an endpoint on a network that has such a gateway is removed from the EDS of clients on
    other networks unless its TLS mode is `istio` (`EndpointsByNetworkFilter`,
    docs/semantics.md §cross-network): a WorkloadEntry or inline endpoint with
    `network` set and neither `serviceAccount` nor `security.istio.io/tlsMode: istio` is
    invisible to remote clients (503 `UH` when it is the only endpoint). Reported only when
    the repository declares an east-west gateway for that network (a gateway workload labelled
    `topology.istio.io/network`, or a Service istiod takes as the network's gateway,
    docs/semantics.md §network-gateways) and the endpoint belongs to a service. The same holds
    for endpoints with an identity whose PeerAuthentication is `DISABLE`: istiod counts an
    endpoint as mTLS only when its mode for the port is not DISABLE (`checkMtlsEnabled`), so a
    mesh-wide or namespace `DISABLE` in a mesh of several gateway networks cuts the endpoints
    off from the other networks; that is reported once on the PeerAuthentication. Not checked
    by istioctl or Kiali.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: db-1, namespace: vm}
    spec: {address: 10.1.0.5, network: network-2, labels: {app: db}}   # no serviceAccount
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: db-1, namespace: vm}
    spec: {address: 10.1.0.5, network: network-2, labels: {app: db}, serviceAccount: db}
    """,
    inputs=("WorkloadEntry", "ServiceEntry"),
    equivalents=(),
    references=("docs/semantics.md §cross-network", "docs/semantics.md §network-gateways"),
)
def cross_network_endpoint_without_mtls(ctx: Context) -> Iterator[Problem]:
    from .multinetwork import gateway_networks
    from .selectors._common import looks_like_gateway as _looks_like_gateway

    graph = ctx.graph
    gateways: dict[str, tuple[str, Resource, FieldPath]] = {}
    first: dict[str, Workload] = {}  # per network, the first gateway pod in wkey order
    for w in graph.workloads:
        net = w.labels.get("topology.istio.io/network")
        if w.kind == "Pod" and net and _looks_like_gateway(w):
            seen = first.get(net)
            if seen is None or wkey(w) < wkey(seen):
                first[net] = w
    for net, w in sorted(first.items(), key=lambda kv: wkey(kv[1])):
        gateways[net] = (describe(w), w.resource, w.labels_path)
    # the Services istiod takes as network gateways (§network-gateways)
    for net, where in gateway_networks(ctx).items():
        if where is not None and isinstance(where[0], Resource):
            gateways.setdefault(net, (f"Service {where[0].namespace}/{where[0].name}", where[0], where[1]))
    if not gateways:
        return
    for w in sorted(graph.workloads, key=wkey):
        if w.kind not in ("WorkloadEntry", "Endpoint") or w.endpoint is None or w.tls_mode == "istio":
            continue
        gw = gateways.get(w.network)
        if gw is None or not graph.bindings_by_workload.get(id(w)):
            continue
        ctx.current = w.resource
        path: FieldPath = ("spec", "network") if w.kind == "WorkloadEntry" else w.endpoint.path + ("network",)
        yield Problem(w.resource, path,
                      f"{describe(w)} is on network '{w.network}', which has the east-west gateway {gw[0]}, but "
                      "has no Istio identity (serviceAccount or tlsMode label): clients on other networks drop it, "
                      "because only Istio mTLS endpoints are reachable through the gateway (§cross-network)",
                      related=((gw[1], gw[2]),))
    ctx.current = None
    yield from _mtls_disabled_cross_network(ctx, gateways)


def _mtls_disabled_cross_network(ctx: Context, gateways: dict[str, tuple[str, Resource, FieldPath]]
                                 ) -> Iterator[Problem]:
    """Endpoints with an identity on a network with an east-west gateway whose PeerAuthentication
    disables mTLS: istiod does not count them as mTLS endpoints (``checkMtlsEnabled``), so clients
    on the other networks drop them just the same.  Reported once per PeerAuthentication, when the
    repository names another network too (cross-network traffic exists)."""
    networks = set(gateways) | set(ctx.network_facts.networks) | {
        ident[2] for _, ident in ctx.operator_clusters if ident[2]}
    if len(networks) < 2:
        return
    from .selectors._common import looks_like_gateway as _looks_like_gateway

    graph = ctx.graph
    hit: dict[int, tuple[PeerAuthentication, list[Workload]]] = {}
    for w in sorted(graph.workloads, key=wkey):
        if w.network not in gateways or w.tls_mode != "istio" or not graph.bindings_by_workload.get(id(w)):
            continue
        if w.kind == "Pod" and _looks_like_gateway(w):
            continue  # the gateway pods themselves
        found = _pa_mode(ctx, w)
        if found is None or found[1].upper() != "DISABLE" or found[0].spec.get("portLevelMtls"):
            continue
        hit.setdefault(id(found[0]), (found[0], []))[1].append(w)
    for pa, ws in hit.values():
        nets = sorted({w.network for w in ws})
        gw = gateways[nets[0]]
        ctx.current = pa
        yield Problem(pa, ("spec", "mtls", "mode"),
                      f"PeerAuthentication {pa.namespace}/{pa.name} disables mTLS for {describe(ws[0])}"
                      + (f" and {len(ws) - 1} other endpoint(s)" if len(ws) > 1 else "")
                      + f" on network {', '.join(repr(n) for n in nets)}, which has the east-west gateway {gw[0]}: "
                      "istiod does not treat them as mTLS endpoints, so clients on the other networks drop them, "
                      "because only Istio mTLS is routed through the gateway (§cross-network)",
                      related=tuple((w.resource, w.labels_path) for w in ws[:3]))
    ctx.current = None
