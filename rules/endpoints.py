"""IVL121-IVL123: services that end up without endpoints, and ServiceEntries a Kubernetes Service shadows.

Where a ServiceEntry's endpoints come from depends on its resolution (docs/semantics.md
§serviceentry-endpoints): STATIC uses `endpoints` or the workloads its `workloadSelector`
picks, never the hosts; DNS without endpoints or selector resolves the hosts themselves.  A
hostname that is also a Kubernetes Service is owned by the Service (§kubernetes-service-wins).
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import cluster_namespace, kube_fqdn, visible
from istio_vm_lint.model import Service, ServiceEntry
from istio_vm_lint.rule import Context, rule


def _same_host_entries(ctx: Context, se: ServiceEntry, host: str) -> list[ServiceEntry]:
    return [s for s in ctx.graph.services_by_host.get(host, ())
            if isinstance(s.resource, ServiceEntry) and s.resource is not se and s.namespace == se.namespace]


# --- IVL121 -------------------------------------------------------------------------------------


@rule(
    code="IVL121", family="endpoints", name="static-service-entry-without-endpoints", severity="error",
    summary="A STATIC ServiceEntry has neither endpoints nor a workloadSelector, so its service has no endpoints.",
    rationale="""
    With `resolution: STATIC` the endpoints of a ServiceEntry are its `endpoints` list or the
    workloads its `workloadSelector` picks; the `hosts` are never resolved and `addresses` are
    only the virtual IPs clients dial (docs/semantics.md §serviceentry-endpoints). Without
    either, the service exists — clients get a listener and a cluster for it — but the cluster
    has no endpoint, and every request ends in 503 `UH` "no healthy upstream" (or a TCP reset).
    Istio's validation accepts it. Use `resolution: DNS` to resolve the hosts, or list the
    endpoints (a VM's IP) or select the WorkloadEntries. Silent when another ServiceEntry of the
    same host in the same namespace supplies endpoints (Istio merges them), and when a
    Kubernetes Service owns the hostname (IVL123).
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: legacy-db, namespace: ledger}
    spec:
      hosts: [legacy-db.corp.internal]
      addresses: [10.50.0.20]          # the VIP is not an endpoint
      location: MESH_EXTERNAL
      resolution: STATIC
      ports: [{number: 5432, name: tcp-postgres, protocol: TCP}]
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: legacy-db, namespace: ledger}
    spec:
      hosts: [legacy-db.corp.internal]
      addresses: [10.50.0.20]
      location: MESH_EXTERNAL
      resolution: STATIC
      ports: [{number: 5432, name: tcp-postgres, protocol: TCP}]
      endpoints: [{address: 10.50.0.20}]
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("docs/semantics.md §serviceentry-endpoints",),
)
def static_service_entry_without_endpoints(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for se in ctx.each(ServiceEntry):
        if se.resolution != "STATIC" or se.has_selector or se.spec.get("endpoints") or not se.hosts:
            continue
        if any(o.has_selector or o.spec.get("endpoints") for h in se.hosts for o in _same_host_entries(ctx, se, h)):
            continue
        if any(s.is_kube for h in se.hosts for s in graph.services_by_host.get(h, ())):
            continue  # IVL123
        hint = " (addresses are the virtual IPs clients dial, not endpoints)" if se.addresses else ""
        yield Problem(se, ("spec", "resolution") if se.resolution_explicit else ("spec",),
                      f"ServiceEntry {se.namespace}/{se.name} has resolution STATIC but neither endpoints nor a "
                      f"workloadSelector{hint}: its hosts are not resolved, so the service has no endpoints and every "
                      "request fails (503 UH) — list the endpoints, select the WorkloadEntries, or use resolution DNS")


# --- IVL122 -------------------------------------------------------------------------------------


@rule(
    code="IVL122", family="endpoints", name="dns-service-entry-host-unresolvable", severity="warning",
    summary="A DNS ServiceEntry without endpoints resolves a cluster-local host whose Kubernetes Service the repository does not declare.",
    rationale="""
    A `resolution: DNS` (or `DNS_ROUND_ROBIN`) ServiceEntry without `endpoints` and without a
    `workloadSelector` makes each proxy resolve the `hosts` themselves (docs/semantics.md
    §serviceentry-endpoints). A host `<name>.<namespace>.svc.<cluster domain>` is answered by
    the cluster DNS only when that Kubernetes Service exists; otherwise the DNS cluster has no
    endpoint and requests fail (503 `UH`). Reported when the repository declares resources in
    that namespace but no Service of that name (a namespace the repository says nothing about
    may hold it); declare hosts managed elsewhere with `external-hosts`.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: billing, namespace: billing}
    spec:
      hosts: [billing-api.billing.svc.cluster.local]   # the Service is called billing
      location: MESH_INTERNAL
      resolution: DNS
      ports: [{number: 80, name: http, protocol: HTTP}]
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: billing, namespace: billing}
    spec:
      hosts: [billing.example.com]
      location: MESH_EXTERNAL
      resolution: DNS
      ports: [{number: 443, name: https, protocol: HTTPS}]
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("docs/semantics.md §serviceentry-endpoints",),
)
def dns_service_entry_host_unresolvable(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    kube_hosts = {kube_fqdn(s.name, s.namespace, domain) for s in ctx.resources("Service")}
    from istio_vm_lint.rules.hosts import _declared_external  # one definition of "declared elsewhere"

    for se in ctx.each(ServiceEntry):
        if se.resolution not in ("DNS", "DNS_ROUND_ROBIN") or se.has_selector or se.spec.get("endpoints"):
            continue
        hosts = se.spec.get("hosts")
        for i, h in enumerate(hosts if isinstance(hosts, list) else []):  # not a list: the schema's finding
            if not isinstance(h, str):
                continue
            ns = cluster_namespace(h, domain)
            if ns is None or ns not in graph.namespaces or h in kube_hosts or _declared_external(ctx, h):
                continue
            name = h.split(".", 1)[0]
            others = sorted(s.name for s in ctx.resources("Service") if s.namespace == ns)
            hint = f" (Services there: {', '.join(others[:5])})" if others else ""
            yield Problem(se, ("spec", "hosts", i),
                          f"ServiceEntry {se.namespace}/{se.name} resolves host '{h}' by DNS, but the repository "
                          f"declares no Service '{name}' in namespace '{ns}'{hint}: the cluster DNS has no answer, "
                          "so the service has no endpoints (503 UH)")


# --- IVL123 -------------------------------------------------------------------------------------


@rule(
    code="IVL123", family="endpoints", name="service-entry-shadowed-by-kubernetes-service", severity="warning",
    severity_note="warning when the entry is in the Service's namespace (the Service wins for every client); info when it is in another namespace (its own namespace's sidecars use it, other clients and gateways get the Service).",
    summary="A ServiceEntry declares the hostname of a Kubernetes Service: the Service's definition wins and the entry's settings are ignored.",
    rationale="""
    When a Kubernetes Service and a ServiceEntry have the same hostname, a proxy keeps the
    Kubernetes Service: `SidecarScope.appendSidecarServices` never merges another registry's
    service into a Kubernetes one and replaces a ServiceEntry by it, and the service index
    prefers the Kubernetes Service over an older ServiceEntry of the same namespace
    (docs/semantics.md §kubernetes-service-wins). The entry's ports, protocols, resolution,
    location and exportTo are ignored. Its endpoints still count in one case: in the Service's
    own namespace they share the endpoint shards of the hostname and serve the Service's ports
    *of the same name* — the old "selector-less Service for DNS plus ServiceEntry for the VM"
    pattern, which is therefore silent when every port of the entry has a same-named Service
    port with the same number; ports the Service does not define get no traffic. An entry in
    another namespace than the Service is not shadowed for the sidecars of its own namespace:
    a sidecar takes a hostname from its own namespace first (the pattern of istio.io's TLS
    origination task, an entry in the client's namespace for a Service of another), so that
    case is info, naming the namespaces whose clients (and the gateways) get the Service.
    """,
    bad="""
    kind: Service
    metadata: {name: inventory, namespace: shop}
    spec:
      selector: {app: inventory}
      ports: [{name: http, port: 80}]
    ---
    kind: ServiceEntry
    metadata: {name: inventory-admin, namespace: shop}
    spec:
      hosts: [inventory.shop.svc.cluster.local]   # owned by the Service: port 9090 does not exist
      location: MESH_INTERNAL
      resolution: STATIC
      ports: [{number: 9090, name: http-admin, protocol: HTTP}]
      endpoints: [{address: 10.40.0.12}]
    """,
    good="""
    kind: Service
    metadata: {name: inventory, namespace: shop}
    spec:
      selector: {app: inventory}       # selects the VMs' WorkloadEntries of namespace shop too
      ports: [{name: http, port: 80}]
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("docs/semantics.md §kubernetes-service-wins",),
)
def service_entry_shadowed_by_kubernetes_service(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for se in ctx.each(ServiceEntry):
        hosts = se.spec.get("hosts")
        for i, h in enumerate(hosts if isinstance(hosts, list) else []):  # not a list: the schema's finding
            if not isinstance(h, str):
                continue
            kube = [s for s in graph.services_by_host.get(h, ()) if s.is_kube]
            if not kube:
                continue
            svc = kube[0].resource
            if not isinstance(svc, Service):
                continue
            if svc.namespace == se.namespace:
                by_name = {p.name: p.number for p in svc.ports if p.name}
                bad = [p for p in se.ports if p.name not in by_name or by_name[p.name] != p.number]
                if not bad:
                    continue  # endpoints merged into the Service's same-named ports: the documented VM pattern
                shown = ", ".join(f"{p.number}/{p.name or '?'}" for p in bad)
                why = (f"its port(s) {shown} have no same-named port with that number on the Service, so clients "
                       "only see the Service's ports and the entry's endpoints get no traffic there")
            else:
                # Sidecars take a hostname from their own namespace first (selectServices): the
                # entry serves the sidecars of its namespace; clients elsewhere that see both,
                # and gateways, get the Service.
                others = sorted(ns for ns in graph.namespaces | {svc.namespace} if ns != se.namespace
                                and visible(se.export_to, se.namespace, ns) and visible(svc.export_to, svc.namespace, ns))
                if not others:
                    continue  # only the entry's own namespace sees it: the entry is what its clients get
                yield Problem(se, ("spec", "hosts", i),
                              f"ServiceEntry {se.namespace}/{se.name} declares host '{h}', which is also Kubernetes "
                              f"Service {svc.namespace}/{svc.name}: sidecars in namespace '{se.namespace}' use the "
                              f"entry (a sidecar's own namespace wins a hostname), but clients in "
                              f"{', '.join(repr(n) for n in others[:3])}{' ...' if len(others) > 3 else ''} and gateways "
                              "get the Service, with its ports; set exportTo: ['.'] if the entry is meant for its own "
                              "namespace only (§kubernetes-service-wins)",
                              related=((svc, ("metadata", "name")),), severity="info")
                continue
            yield Problem(se, ("spec", "hosts", i),
                          f"ServiceEntry {se.namespace}/{se.name} declares host '{h}', which is Kubernetes Service "
                          f"{svc.namespace}/{svc.name}: the Service's definition wins and the entry's ports, "
                          f"resolution and location are ignored; {why}",
                          related=((svc, ("metadata", "name")),))
