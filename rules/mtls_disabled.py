"""IVL290: a DestinationRule that sends Istio mTLS to workloads whose PeerAuthentication
disables mTLS (docs/semantics.md §mtls-disabled-servers)."""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import DestinationRule, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.mesh_boundary import _port_mtls
from istio_vm_lint.semantics import dr_host


@rule(
    code="IVL290", family="mesh_boundary", name="istio-mutual-toward-mtls-disabled", severity="error",
    summary="A DestinationRule sets tls.mode ISTIO_MUTUAL toward a service whose every endpoint's PeerAuthentication is DISABLE, so the servers' proxies receive TLS they never terminate.",
    rationale="""
    `ISTIO_MUTUAL` makes the client proxy send Istio mTLS whatever the server accepts; with auto
    mTLS istiod would have sent plain text to a server whose PeerAuthentication is `DISABLE`,
    but an explicit `tls.mode` wins (docs/semantics.md §client-tls, §mtls-disabled-servers).
    A server proxy in `DISABLE` builds only a plain-text inbound chain, so the TLS handshake
    reaches the HTTP (or the application's TCP) handling as garbage: the connection is reset and
    clients get 503. The inverse of IVL714 (DISABLE toward STRICT). Reported when every endpoint
    of the host in the repository (WorkloadEntries, WorkloadGroups, pod templates) is governed
    by a DISABLE PeerAuthentication (workload, namespace or mesh-wide), with no port-level
    exception for the port in question.
    """,
    bad="""
    kind: PeerAuthentication
    metadata: {name: hr-legacy, namespace: hr}
    spec: {selector: {matchLabels: {app: hr-legacy}}, mtls: {mode: DISABLE}}
    ---
    kind: DestinationRule
    metadata: {name: hr-legacy, namespace: hr}
    spec: {host: hr-legacy.hr.corp.internal, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
    """,
    good="""
    spec: {host: hr-legacy.hr.corp.internal, trafficPolicy: {connectionPool: {tcp: {maxConnections: 50}}}}
    """,
    inputs=("DestinationRule",),
    equivalents=(),
    references=("docs/semantics.md §mtls-disabled-servers", "docs/semantics.md §client-tls",
                "docs/semantics.md §peerauthentication"),
)
def istio_mutual_toward_mtls_disabled(ctx: Context) -> Iterator[Problem]:
    if not ctx.resources("PeerAuthentication"):
        return
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    for dr in ctx.each(DestinationRule):
        if dr.workload_selector is not None:
            continue
        tls = as_map(dr.traffic_policy.get("tls"))
        if as_str(tls.get("mode")).upper() != "ISTIO_MUTUAL":
            continue
        host = dr_host(dr, domain)
        if not host or host.startswith("*"):
            continue
        services = graph.lookup(host, None)
        workloads = graph.endpoints(services) if services else []
        if not workloads:
            continue
        ids = {id(svc.resource) for svc in services}
        disabled: dict[int, list] = {}  # service port -> the DISABLE PeerAuthentications of its endpoints
        ports_seen: set[int] = set()
        for svc in services:
            ports_seen.update(p.number for p in svc.ports if p.number is not None)
        candidates = set(ports_seen)
        for w in workloads:
            found = _port_mtls(ctx, w, ids)
            if found is None:
                candidates = set()
                break
            pa, at = found
            for sp in list(candidates):
                if at(sp)[1] != "DISABLE":
                    candidates.discard(sp)
                else:
                    disabled.setdefault(sp, []).append(pa)
        if not candidates:
            continue
        port = min(candidates)
        governing = disabled[port]
        pa = governing[0]
        names = ", ".join(sorted({f"{p.namespace}/{p.name}" for p in governing}))
        on = f" port {port}" if len(ports_seen) > 1 else ""
        yield Problem(dr, ("spec", "trafficPolicy", "tls", "mode"),
                      f"DestinationRule {dr.namespace}/{dr.name} sends Istio mTLS (ISTIO_MUTUAL) to {host}{on}, but "
                      f"every endpoint's PeerAuthentication ({names}) disables mTLS there: their proxies accept plain "
                      "text only, so the connections are reset (503) — drop tls.mode and let auto mTLS follow the "
                      "servers, or enable mTLS on them (§mtls-disabled-servers)",
                      related=((pa, ("spec", "mtls", "mode")),))
