"""IVL292: a DestinationRule that originates its own TLS (SIMPLE or MUTUAL) toward workloads
whose sidecars require Istio mTLS (docs/semantics.md §strict-mtls-non-istio-tls)."""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import DestinationRule, WorkloadController, as_int, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.mesh_boundary import _Injection, _port_mtls
from istio_vm_lint.semantics import dr_host

_ORIGINATING = ("SIMPLE", "MUTUAL")


def _captured(w_resource: object, port: int) -> bool:
    """Is inbound ``port`` captured by the pod's sidecar (not listed in the exclusion
    annotation, within an explicit inclusion list)?"""
    if not isinstance(w_resource, WorkloadController):
        return True
    ann = w_resource.pod.annotations
    excluded = {p.strip() for p in str(ann.get("traffic.sidecar.istio.io/excludeInboundPorts", "")).split(",")}
    if str(port) in excluded:
        return False
    included = ann.get("traffic.sidecar.istio.io/includeInboundPorts")
    if included is not None and str(included).strip() != "*":
        return str(port) in {p.strip() for p in str(included).split(",")}
    return True


def _mesh_certificates(tls: dict) -> bool:
    """MUTUAL with the certificates the sidecar itself holds (``/etc/certs/``, the pre-1.5
    secret mount, or files under ``/var/run/secrets/istio``/``/etc/istio``): the mesh CA's client
    certificate, which a STRICT server accepts; how mTLS was written before ISTIO_MUTUAL."""
    cert = as_str(tls.get("clientCertificate"))
    return cert.startswith(("/etc/certs/", "/var/run/secrets/istio", "/etc/istio/"))


@rule(
    code="IVL292", family="mesh_boundary", name="non-istio-tls-toward-strict-mtls", severity="error",
    summary="A DestinationRule originates SIMPLE or MUTUAL TLS toward a service whose every endpoint runs a sidecar that requires Istio mTLS (STRICT).",
    rationale="""
    `tls.mode: SIMPLE` or `MUTUAL` makes the client proxy open its own TLS session to the
    endpoint instead of Istio mTLS; an explicit mode wins over auto mTLS (docs/semantics.md
    §client-tls). The server's sidecar under a STRICT PeerAuthentication accepts only Istio
    mTLS: a client certificate issued by the mesh CA, with Istio's ALPN
    (docs/semantics.md §strict-mtls-non-istio-tls). SIMPLE sends no client certificate and
    MUTUAL one the mesh does not issue, so every handshake fails and clients get 503. This is
    the DestinationRule written for an external TLS service applied to a mesh service (a VM
    that was moved behind a sidecar, a copy of an egress rule). Reported when every endpoint
    of the host in the repository runs a sidecar (a WorkloadGroup, a WorkloadEntry with a
    service account or `tlsMode: istio`, a pod whose namespace or template asks for
    injection), captures the target port, and is STRICT on it (workload, namespace or
    mesh-wide PeerAuthentication, port-level exceptions honoured) and no MUTUAL client
    certificate is the sidecar's own (`/etc/certs/`: mTLS written out by hand before
    `ISTIO_MUTUAL`); only `ISTIO_MUTUAL` (or no
    `tls`, auto mTLS) reaches such servers. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: PeerAuthentication
    metadata: {name: default, namespace: istio-system}
    spec: {mtls: {mode: STRICT}}
    ---
    kind: DestinationRule
    metadata: {name: fraud, namespace: payments}
    spec: {host: fraud.payments.internal, trafficPolicy: {tls: {mode: SIMPLE}}}   # VMs with sidecars
    """,
    good="""
    spec: {host: fraud.payments.internal, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
    """,
    inputs=("DestinationRule",),
    equivalents=(),
    references=("docs/semantics.md §strict-mtls-non-istio-tls", "docs/semantics.md §client-tls",
                "docs/semantics.md §peerauthentication"),
)
def non_istio_tls_toward_strict(ctx: Context) -> Iterator[Problem]:
    if not ctx.resources("PeerAuthentication"):
        return
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    injection = None
    for dr in ctx.each(DestinationRule):
        if dr.workload_selector is not None:
            continue
        tls = as_map(dr.traffic_policy.get("tls"))
        mode = as_str(tls.get("mode")).upper()
        if mode not in _ORIGINATING:
            continue
        if mode == "MUTUAL" and _mesh_certificates(tls):
            continue  # the sidecar's own mesh certificates: Istio mTLS written out by hand
        host = dr_host(dr, domain)
        if not host or host.startswith("*"):
            continue
        services = graph.lookup(host, None)
        workloads = graph.endpoints(services) if services else []
        if not workloads:
            continue
        if injection is None:
            injection = _Injection(ctx)
        # ports with their own tls in portLevelSettings are not governed by the top-level mode
        own_tls = {as_int(as_map(as_map(pl).get("port")).get("number"))
                   for pl in as_list(dr.traffic_policy.get("portLevelSettings")) if "tls" in as_map(pl)}
        ids = {id(svc.resource) for svc in services}
        candidates = {p.number for svc in services for p in svc.ports if p.number is not None} - own_tls
        governing = []
        for w in workloads:
            if not candidates:
                break
            found = _port_mtls(ctx, w, ids)
            if found is None or not injection.has_sidecar(w):
                candidates = set()
                break
            pa, at = found
            governing.append(pa)
            for sp in list(candidates):
                target, level = at(sp)
                if level != "STRICT" or not _captured(w.resource, target):
                    candidates.discard(sp)
        if not candidates:
            continue
        port = min(candidates)
        names = ", ".join(sorted({f"{p.namespace}/{p.name}" for p in governing}))
        on = f" port {port}" if len({p.number for svc in services for p in svc.ports}) > 1 else ""
        yield Problem(dr, ("spec", "trafficPolicy", "tls", "mode"),
                      f"DestinationRule {dr.namespace}/{dr.name} originates {mode} TLS to {host}{on}, but every "
                      f"endpoint runs a sidecar that requires Istio mTLS there (PeerAuthentication {names}: STRICT): "
                      f"the handshake carries no mesh client certificate, so connections fail (503) — use "
                      f"ISTIO_MUTUAL or drop tls.mode (§strict-mtls-non-istio-tls)",
                      related=((governing[0], ("spec", "mtls", "mode")),))
