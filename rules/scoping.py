"""IVL414: Sidecar egress imports that exportTo hides (docs/semantics.md §sidecar-import-visibility).

A Sidecar's egress listener imports, from the services visible to the Sidecar's namespace, those
its `namespace/host` entries name (pilot/pkg/model/sidecar.go, `servicesExportedToNamespace`,
`servicesForExactHosts`, `selectServices`). A service whose `exportTo` leaves out the Sidecar's
namespace is never a candidate, however explicitly the Sidecar names it.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import MeshService, host_matches, visible
from istio_vm_lint.model import Sidecar
from istio_vm_lint.rule import Context, rule


def _where(svc: MeshService) -> str:
    return f"{svc.resource.kind} {svc.resource.namespace}/{svc.resource.name}"


@rule(
    code="IVL414", family="scoping", name="sidecar-import-not-exported", severity="warning",
    summary="A Sidecar egress host names a service whose exportTo hides it from the Sidecar's namespace.",
    rationale="""
    A Sidecar imports only services visible to its own namespace: istiod first takes the
    services exported to the Sidecar's namespace and then keeps those that its `egress.hosts`
    name (docs/semantics.md §sidecar-import-visibility). An entry `vms/ledger.mesh.internal`
    for a ServiceEntry that `exportTo` keeps in `vms` (or exports only to other namespaces)
    imports nothing: the workloads get no route for the host — blocked under REGISTRY_ONLY,
    passed through without the mesh's routing and mTLS under ALLOW_ANY. Specific hosts only
    (wildcard entries are not judged); `*/host` is reported when every service of that host
    is hidden. A selector-less Sidecar in the root namespace applies to the namespaces of its
    clients, so it is not judged.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: ledger, namespace: vms}
    spec:
      hosts: [ledger.mesh.internal]
      exportTo: ["."]
    ---
    kind: Sidecar
    metadata: {name: default, namespace: shop}
    spec:
      egress:
      - hosts: ["vms/ledger.mesh.internal"]   # not exported to shop
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: ledger, namespace: vms}
    spec:
      hosts: [ledger.mesh.internal]
      exportTo: [".", shop]
    """,
    inputs=("Sidecar", "ServiceEntry", "Service"),
    equivalents=(),
    references=("docs/semantics.md §sidecar-import-visibility", "docs/semantics.md §exportto"),
)
def sidecar_import_not_exported(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    root = ctx.settings.root_namespace
    for sc in ctx.each(Sidecar):
        if sc.namespace == root and sc.workload_selector is None:
            continue  # the mesh-wide default: judged from each client namespace
        for entry, path in sc.egress_hosts:
            ns, sep, name = entry.partition("/")
            if not sep or not name or "*" in name or name.startswith("~") or ns == "~":
                continue
            ns = sc.namespace if ns == "." else ns
            candidates = [s for s in graph.services_by_host.get(name, ()) if ns == "*" or s.namespace == ns]
            candidates += [s for s in graph.wildcard_services if (ns == "*" or s.namespace == ns)
                           and s.host != name and host_matches(s.host, name)]
            if not candidates or any(visible(s.export_to, s.namespace, sc.namespace) for s in candidates):
                continue
            svc = candidates[0]
            others = f" (and {len(candidates) - 1} other definition(s), all hidden too)" if len(candidates) > 1 else ""
            yield Problem(sc, path, f"Sidecar {sc.namespace}/{sc.name}: egress host '{entry}' imports nothing: "
                          f"{_where(svc)} exports '{svc.host}' to {list(svc.export_to)}, not to the Sidecar's "
                          f"namespace '{sc.namespace}'{others}",
                          related=((svc.resource, svc.host_path),))
