"""IVL415: DestinationRules on no client's lookup path (docs/semantics.md §destinationrule-placement).

A client proxy looks for the DestinationRule of a host in its own namespace, then in the
namespace of the service, then in the root namespace, and stops at the first namespace that has
one (pilot/pkg/model/push_context.go, `destinationRule`). A rule in any other namespace applies
only to proxies running in that namespace.
"""

from __future__ import annotations

import re
from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import resolve_host
from istio_vm_lint.model import DestinationRule, as_map
from istio_vm_lint.rule import Context, rule

# Kinds that say a namespace runs (or receives) workloads even when their pods are not in the repository.
_RUNTIME_KINDS = ("Service", "ServiceAccount", "Gateway", "Sidecar", "WorkloadEntry", "WorkloadGroup",
                  "PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication", "Telemetry",
                  "EnvoyFilter", "WasmPlugin", "ConfigMap", "Secret", "Role", "RoleBinding")
_GATEWAY_NS = re.compile(r"ingress|egress|gateway|gw", re.I)


@rule(
    code="IVL415", family="placement", name="destination-rule-off-lookup-path", severity="warning",
    summary="A DestinationRule sits in a namespace that is neither the service's, the root namespace, nor one where the repository runs any client.",
    rationale="""
    A proxy takes a host's DestinationRule from its own namespace, else from the namespace
    where the service is defined, else from the root namespace (docs/semantics.md
    §destinationrule-placement). A rule anywhere else — typically a namespace that only holds
    mesh configuration (`mesh-config`, `traffic`) — applies only to proxies in that namespace,
    so its subsets, TLS origination and load-balancing settings never reach the clients they
    were written for (subset routes then fail with 503 NR). Reported only when the host is
    defined in the repository, the rule has no workloadSelector, and the namespace holds
    nothing but Istio routing configuration: no workload, Service, ServiceAccount, Gateway or
    Sidecar, no sidecar injection or ambient label, its name does not suggest a gateway namespace, and the repository deploys pods
    (so it shows where its clients run). Move the rule to the service's
    namespace (exported to its clients) or to the root namespace.
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: ledger, namespace: mesh-config}   # no workload runs here
    spec:
      host: ledger.vms.svc.cluster.local
      subsets: [{name: v1, labels: {version: v1}}]
    """,
    good="""
    kind: DestinationRule
    metadata: {name: ledger, namespace: vms}
    spec:
      host: ledger.vms.svc.cluster.local
      subsets: [{name: v1, labels: {version: v1}}]
    """,
    inputs=("DestinationRule",),
    equivalents=(),
    references=("docs/semantics.md §destinationrule-placement", "docs/semantics.md §destinationrule-lookup"),
)
def destination_rule_off_lookup_path(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    root = ctx.settings.root_namespace
    if not any(w.kind == "Pod" for w in graph.workloads):
        return  # the repository deploys none of its Kubernetes clients: it cannot know where they run
    runtime_ns = {r.namespace for r in ctx.resources(*_RUNTIME_KINDS)}  # the whole repository
    runtime_ns |= {w.namespace for w in graph.workloads}
    for n in ctx.resources("Namespace"):  # injection on: pods are expected there
        labels = as_map(as_map(n.data.get("metadata")).get("labels"))
        if labels.get("istio-injection") == "enabled" or labels.get("istio.io/rev") or labels.get("istio.io/dataplane-mode"):
            runtime_ns.add(n.name)
    for dr in ctx.each(DestinationRule):
        ns = dr.namespace
        if dr.workload_selector is not None or not dr.host or ns == root or ns in runtime_ns or _GATEWAY_NS.search(ns):
            continue
        host = resolve_host(dr.host, ns, graph.domain)
        if not host or "*" in host:
            continue
        services = [s for s in graph.services_by_host.get(host, ()) if not s.host.startswith("*")]
        if not services or any(s.namespace == ns for s in services):
            continue
        homes = sorted({s.namespace for s in services})
        yield Problem(dr, ("metadata", "namespace") if dr.namespace_explicit else ("spec", "host"),
                      f"DestinationRule {ns}/{dr.name} for {host} is in namespace '{ns}', which is neither where the "
                      f"host is defined ({', '.join(repr(h) for h in homes)}) nor the root namespace '{root}', and the "
                      f"repository runs no workload there: it applies only to proxies in '{ns}', so no client in the "
                      f"repository uses it (move it to {homes[0]!r} or '{root}')")
