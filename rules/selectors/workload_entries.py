"""WorkloadEntry and WorkloadGroup membership: IVL104, IVL105 (selected but not an endpoint),
IVL109 (selected by nothing), IVL110 (service account), IVL112-IVL114 (addresses, labels, health checks)."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import Resource, Service, ServiceEntry, WorkloadEntry, WorkloadGroup, as_map, as_str
from istio_vm_lint.rule import Context, rule

from .._messages import describe, owner, rkey, sel_str, wkey
from ._common import closeness, mismatch, selector_owners

# --- IVL104 -------------------------------------------------------------------------------------


@rule(
    code="IVL104", family="selectors", name="hostname-workload-entry-not-selectable", severity="error",
    summary="A STATIC ServiceEntry or a Kubernetes Service selects a WorkloadEntry whose address is a hostname or unix socket, which Istio skips.",
    rationale="""
    A WorkloadEntry addressed by a DNS name or a `unix://` path is "DNS/ServiceEntry-only":
    STATIC and NONE ServiceEntries and Kubernetes Services silently skip it
    (`DNSServiceEntryOnly`, docs/semantics.md §hostname-workloadentries, §serviceentry-selection, §service-selection; #36480, #52875). Only
    `resolution: DNS`/`DNS_ROUND_ROBIN` ServiceEntries use such entries. The VM never receives
    traffic; when every selected entry is skipped the service is empty (503 `UH`). Reported as an error when nothing else is left, otherwise as a warning. Nothing in
    Istio validation, `istioctl analyze` or Kiali reports it.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: whoami-1, namespace: vm}
    spec: {address: vm1.corp.example.com, labels: {app: whoami}}
    ---
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      location: MESH_INTERNAL
      resolution: STATIC            # skips hostname entries
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector: {labels: {app: whoami}}
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      location: MESH_INTERNAL
      resolution: DNS               # resolves vm1.corp.example.com
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector: {labels: {app: whoami}}
    """,
    inputs=("ServiceEntry", "Service"),
    equivalents=(),
    references=("docs/semantics.md §hostname-workloadentries", "docs/semantics.md §serviceentry-selection", "docs/semantics.md §service-selection"),
)
def hostname_workload_entry_not_selectable(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for r, sel, path in list(selector_owners(ctx)):
        if isinstance(r, ServiceEntry):
            if r.resolution != "STATIC":
                continue
            why = "resolution STATIC uses IP addresses only"
            fix = "use resolution DNS, or give the entries IP addresses"
            where: FieldPath = ("spec", "resolution") if r.resolution_explicit else path
        elif isinstance(r, Service):
            if r.headless:
                continue  # IVL105: a headless Service skips every WorkloadEntry
            why = "Kubernetes Services select IP-addressed WorkloadEntries only"
            fix = "give the entries IP addresses, or use a DNS ServiceEntry"
            where = path
        else:
            continue
        skipped = sorted((w for w in graph.select(r.namespace, sel, ("WorkloadEntry",))
                          if w.address_kind in ("hostname", "uds")), key=wkey)
        if not skipped:
            continue
        left = graph.bindings_by_service.get(id(r), ())
        names = ", ".join(f"{describe(w)} ({w.endpoint.address if w.endpoint else '?'})" for w in skipped[:3])
        yield Problem(r, where,
                      f"{owner(r)} silently skips {names}: {why} (§hostname-workloadentries); "
                      + ("nothing else is selected, so the service has no endpoints" if not left
                         else f"only {len(left)} other endpoint(s) remain") + f" — {fix}",
                      related=tuple((w.resource, ("spec", "address")) for w in skipped[:3]),
                      severity=None if not left else "warning")


# --- IVL105 -------------------------------------------------------------------------------------


@rule(
    code="IVL105", family="selectors", name="headless-service-selects-workload-entries", severity="error",
    summary="A headless Service (clusterIP: None) selects WorkloadEntries, which never receive its traffic.",
    rationale="""
    Istio turns a headless Service into a passthrough: clients connect to the IPs that DNS
    returns, and Kubernetes DNS only knows pod IPs. WorkloadEntries are attached to a Service
    only when it is a ClusterIP Service with an IP (docs/semantics.md §service-selection,
    `serviceInstancesFromWorkloadInstances`), so the VMs never get traffic.
    Not reported by Istio validation, `istioctl analyze` or Kiali. Give the Service a cluster
    IP, or front the VMs with a ServiceEntry.
    """,
    bad="""
    kind: Service
    metadata: {name: db, namespace: vm}
    spec:
      clusterIP: None
      selector: {app: db}     # matches WorkloadEntry vm/db-vm-1
      ports: [{name: tcp, port: 5432}]
    """,
    good="""
    kind: Service
    metadata: {name: db, namespace: vm}
    spec:
      selector: {app: db}
      ports: [{name: tcp, port: 5432}]
    """,
    inputs=("Service",),
    equivalents=(),
    references=("docs/semantics.md §service-selection",),
)
def headless_service_selects_workload_entries(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for svc in ctx.each(Service):
        if not svc.headless or not svc.selector or svc.service_type == "ExternalName":
            continue
        vms = sorted(graph.select(svc.namespace, svc.selector, ("WorkloadEntry", "WorkloadGroup")), key=wkey)
        if not vms:
            continue
        names = ", ".join(describe(w) for w in vms[:3]) + (f" and {len(vms) - 3} more" if len(vms) > 3 else "")
        yield Problem(svc, ("spec", "clusterIP"),
                      f"Service {svc.namespace}/{svc.name} is headless (clusterIP: None) but its selector "
                      f"{sel_str(svc.selector)} matches {names}: headless Services never include WorkloadEntries "
                      "(clients use the pod IPs DNS returns), so these VMs get no traffic (§service-selection)",
                      related=tuple((w.resource, w.labels_path) for w in vms[:3]))


# --- IVL112 -------------------------------------------------------------------------------------


@rule(
    code="IVL112", family="selectors", name="workload-entries-share-address", severity="warning",
    summary="Several sidecar WorkloadEntries in one namespace have the same IP address (and network): the VM proxy uses only one of them.",
    rationale="""
    A VM's proxy takes its inbound configuration (which services, ports and identity it
    serves) from the WorkloadEntry whose address equals its IP in its namespace; when several
    entries share the IP one is chosen and the others' services lose that endpoint's inbound
    listeners — 503s and TLS `WRONG_VERSION_NUMBER` between the apps of one VM
    (docs/semantics.md §proxy-workloadentry; #33207, `GetProxyServiceTargets`).
    Use one WorkloadEntry per VM with the union of the labels, and let several
    ServiceEntries/Services select it. Only entries with a sidecar identity (serviceAccount or
    tlsMode label) are compared, since only a proxy is confused by the duplicates; entries on
    different networks are different endpoints. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: orders-vm, namespace: shop}
    spec: {address: 10.0.0.7, labels: {app: orders}, serviceAccount: shop-vm}
    ---
    kind: WorkloadEntry
    metadata: {name: billing-vm, namespace: shop}
    spec: {address: 10.0.0.7, labels: {app: billing}, serviceAccount: shop-vm}
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: shop-vm, namespace: shop}
    spec: {address: 10.0.0.7, labels: {app: orders, billing: "true"}, serviceAccount: shop-vm}
    """,
    inputs=("WorkloadEntry",),
    equivalents=(),
    references=("docs/semantics.md §proxy-workloadentry",),
)
def workload_entries_share_address(ctx: Context) -> Iterator[Problem]:
    # Reported: the entries iterated (a named-file run iterates only those it can report on,
    # lint/relevance.py), each but the first of its namespace, address and network; the
    # entries of a namespace are grouped when one of them is iterated.
    in_ns: dict[str, list[WorkloadEntry]] = defaultdict(list)
    for r in ctx.resources(WorkloadEntry):
        in_ns[r.namespace].append(r)
    groups: dict[tuple[str, str, str], list[WorkloadEntry]] = defaultdict(list)
    grouped: set[str] = set()
    for other in ctx.each(WorkloadEntry):
        ep = other.endpoint
        if ep.address_kind != "ip":
            continue
        ns, address = other.namespace, ep.address
        if ns not in grouped:
            grouped.add(ns)
            for r in in_ns[ns]:
                rep = r.endpoint
                if rep.address_kind == "ip":
                    groups[(ns, rep.address, rep.network)].append(r)
        entries = groups[(ns, address, ep.network)]
        if len(entries) < 2 or not any(e.endpoint.tls_mode == "istio" for e in entries):
            continue
        first = min(entries, key=rkey)
        if other is not first:
            yield Problem(other, ("spec", "address"),
                          f"WorkloadEntry {ns}/{other.name} has the same address {address} as WorkloadEntry "
                          f"{ns}/{first.name}: the VM proxy takes its inbound configuration from only one of them, so "
                          "the other's services lose their listeners on that VM (§proxy-workloadentry) — use one WorkloadEntry "
                          "per VM with the union of the labels",
                          related=((first, ("spec", "address")),))
    ctx.current = None


# --- IVL113 -------------------------------------------------------------------------------------


@rule(
    code="IVL113", family="selectors", name="workload-entry-label-conflict", severity="warning",
    summary="A WorkloadEntry sets the same label in metadata.labels and spec.labels with different values; metadata wins.",
    rationale="""
    Istio merges a WorkloadEntry's `spec.labels` with its `metadata.labels`, and metadata wins
    on conflicts (`ConvertWorkloadEntry`, docs/semantics.md §label-selection; #37772).
    Selectors and DestinationRule subsets therefore see the metadata value, while readers of
    `spec.labels` expect the other — a subset or selector that "obviously matches" does not.
    Keep each label in one place. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: whoami-1, namespace: vm, labels: {version: v1}}
    spec: {address: 10.0.0.11, labels: {app: whoami, version: v2}}
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: whoami-1, namespace: vm}
    spec: {address: 10.0.0.11, labels: {app: whoami, version: v2}}
    """,
    inputs=("WorkloadEntry",),
    equivalents=(),
    references=("docs/semantics.md §label-selection",),
)
def workload_entry_label_conflict(ctx: Context) -> Iterator[Problem]:
    from istio_vm_lint.model import str_map

    for r in ctx.each("WorkloadEntry"):
        spec_labels = str_map(r.spec.get("labels"))
        for k, v in sorted(spec_labels.items()):
            meta = r.labels.get(k)
            if meta is not None and meta != v:
                yield Problem(r, ("spec", "labels", k),
                              f"WorkloadEntry {r.namespace}/{r.name}: spec.labels {k}={v} is overridden by "
                              f"metadata.labels {k}={meta} (metadata wins, §label-selection); selectors and subsets see "
                              f"{k}={meta}",
                              related=((r, ("metadata", "labels", k)),))


# --- IVL114 -------------------------------------------------------------------------------------


@rule(
    code="IVL114", family="selectors", name="health-checked-entry-without-identity", severity="warning",
    summary="A hand-written WorkloadEntry enables health checks but has no serviceAccount, so no proxy can ever mark it healthy.",
    rationale="""
    With the annotation `proxy.istio.io/health-checks-enabled: "true"` a WorkloadEntry is
    treated as unhealthy — not an endpoint — until its status has `Healthy=True` (`isHealthy`,
    docs/semantics.md §workloadentry-health). istiod writes that status from the probe
    results of the VM's proxy, and only for a proxy whose identity (namespace and service
    account) matches the entry (`ensureProxyCanControlEntry`). An entry without
    `serviceAccount` that was not auto-registered (no `istio.io/autoRegistrationGroup`
    annotation) has no such proxy, so it stays out of every service unless an external
    controller sets the condition (#36865). Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: WorkloadEntry
    metadata:
      name: whoami-1
      namespace: vm
      annotations: {proxy.istio.io/health-checks-enabled: "true"}
    spec: {address: 10.0.0.11, labels: {app: whoami}}
    """,
    good="""
    kind: WorkloadEntry
    metadata:
      name: whoami-1
      namespace: vm
      annotations: {proxy.istio.io/health-checks-enabled: "true"}
    spec: {address: 10.0.0.11, labels: {app: whoami}, serviceAccount: whoami}
    """,
    inputs=("WorkloadEntry",),
    equivalents=(),
    references=("docs/semantics.md §workloadentry-health",),
)
def health_checked_entry_without_identity(ctx: Context) -> Iterator[Problem]:
    for r in ctx.each(WorkloadEntry):
        if not r.health_checked or r.endpoint.service_account or r.annotations.get("istio.io/autoRegistrationGroup"):
            continue
        yield Problem(r, ("metadata", "annotations", "proxy.istio.io/health-checks-enabled"),
                      f"WorkloadEntry {r.namespace}/{r.name} enables health checks but has no serviceAccount: it is "
                      "not an endpoint until its status says Healthy, and no VM proxy can report for an entry "
                      "without an identity (§workloadentry-health) — set serviceAccount or remove the annotation")


# --- IVL109 -------------------------------------------------------------------------------------


@rule(
    code="IVL109", family="selectors", name="workload-not-selected", severity="info",
    summary="A WorkloadEntry or WorkloadGroup is selected by no ServiceEntry or Service, so it serves no service.",
    rationale="""
    A WorkloadEntry (or a WorkloadGroup's future entries) becomes an endpoint only when a
    ServiceEntry `workloadSelector` or a Kubernetes Service `selector` of the same namespace
    matches its labels (docs/semantics.md §label-selection, §serviceentry-selection, §service-selection; `api:we`: a WorkloadEntry "must
    be accompanied by an Istio ServiceEntry that selects the workload"). An entry nothing
    selects receives no mesh traffic: a VM that was meant to serve is unreachable (the selector side of the same mistake; label edits after the fact, #33299). Information only — a VM
    that only calls out needs no service — and silent when the repository declares no
    ServiceEntry or Service in that namespace. Entries whose labels match a selector that
    skips them (hostname address, headless Service) are reported by IVL104/IVL105 instead.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: whoami-2, namespace: vm}
    spec: {address: 10.0.0.12, labels: {app: whoami-v2}}   # the ServiceEntry selects app: whoami
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: whoami-2, namespace: vm}
    spec: {address: 10.0.0.12, labels: {app: whoami}}
    """,
    inputs=("WorkloadEntry", "WorkloadGroup"),
    equivalents=(),
    references=("docs/semantics.md §label-selection", "docs/semantics.md §serviceentry-selection", "docs/semantics.md §service-selection",),
)
def workload_not_selected(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    service_ns: set[str] = {r.namespace for r in ctx.resources("ServiceEntry", "Service")}
    matched: set[int] = set()
    by_ns: dict[str, list[tuple[Resource, dict[str, str]]]] = defaultdict(list)
    for se in ctx.resources(ServiceEntry):
        if se.selector is not None:
            by_ns[se.namespace].append((se, se.selector))
    for svc in ctx.resources(Service):
        if svc.selector and svc.service_type != "ExternalName":
            by_ns[svc.namespace].append((svc, svc.selector))
    done: set[str] = set()  # namespaces whose selectors were applied (those of the entries iterated)
    for r in ctx.each("WorkloadEntry", "WorkloadGroup"):
        if r.namespace not in service_ns:
            continue
        if r.namespace not in done:
            done.add(r.namespace)
            owners = by_ns.get(r.namespace, [])
            owners.sort(key=lambda t: rkey(t[0]))
            for _, sel in owners:
                for w in graph.select(r.namespace, sel, ("WorkloadEntry", "WorkloadGroup")):
                    matched.add(id(w))
        ws = [w for w in graph.workloads_of.get(id(r), ()) if w.kind in ("WorkloadEntry", "WorkloadGroup")]
        if not ws or any(id(w) in matched or graph.bindings_by_workload.get(id(w)) for w in ws):
            continue
        w = ws[0]
        path = w.labels_path if w.labels else (("spec", "metadata") if isinstance(r, WorkloadGroup) else ("spec",))
        what = "its future WorkloadEntries serve" if isinstance(r, WorkloadGroup) else "it serves"
        yield Problem(r, path,
                      f"{r.kind} {r.namespace}/{r.name} (labels {sel_str(w.labels)}) is selected by no ServiceEntry "
                      f"workloadSelector or Service selector in namespace '{r.namespace}', so {what} no "
                      "service (fine for a VM that only makes outbound calls)"
                      + near_selector_hint(by_ns.get(r.namespace, []), w))


def near_selector_hint(owners: list[tuple[Resource, dict[str, str]]], w: Workload) -> str:
    best: Optional[tuple[int, Resource, dict[str, str]]] = None
    for r, sel in owners:
        if not sel:
            continue
        score = closeness(w, sel)
        if score and (best is None or score > best[0]):
            best = (score, r, sel)
    if best is None:
        return ""
    return f"; nearest: {owner(best[1])} selects {sel_str(best[2])}, but {mismatch(w, best[2])}"


# --- IVL110 -------------------------------------------------------------------------------------


@rule(
    code="IVL110", family="selectors", name="workload-service-account-not-found", severity="warning",
    summary="A WorkloadEntry, WorkloadGroup or ServiceEntry endpoint names a serviceAccount its namespace does not declare.",
    rationale="""
    A VM's `serviceAccount` is its mesh identity, `spiffe://<trust domain>/ns/<ns>/sa/<name>`;
    it must exist in the WorkloadEntry's (WorkloadGroup's, inline endpoint's ServiceEntry's)
    namespace (docs/semantics.md §workloadentry-identity, §workloadgroup). A missing or misspelt account breaks the VM's
    certificate/bootstrap token, auto-registration ("service account mismatch") and SAN
    verification by clients. Kiali KIA1701 checks WorkloadGroups against
    the service accounts of *running pods*, so a VM-only account is always flagged there; here
    ServiceAccount objects are read, WorkloadEntries and inline endpoints are checked too, and
    the check only runs for namespaces in which the repository declares at least one
    ServiceAccount (a repository without ServiceAccounts cannot know). `default` always exists.
    """,
    bad="""
    kind: ServiceAccount
    metadata: {name: whoami, namespace: vm}
    ---
    kind: WorkloadEntry
    metadata: {name: whoami-1, namespace: vm}
    spec: {address: 10.0.0.11, serviceAccount: whoami-vm}   # no such ServiceAccount in vm
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: whoami-1, namespace: vm}
    spec: {address: 10.0.0.11, serviceAccount: whoami}
    """,
    inputs=("WorkloadEntry", "WorkloadGroup", "ServiceEntry"),
    equivalents=("KIA1701",),
    references=("docs/semantics.md §workloadentry-identity", "docs/semantics.md §workloadgroup", "docs/semantics.md §kiali-serviceentries"),
)
def workload_service_account_not_found(ctx: Context) -> Iterator[Problem]:
    accounts: dict[str, set[str]] = defaultdict(set)
    for sa in ctx.resources("ServiceAccount"):
        accounts[sa.namespace].add(sa.name)
    if not accounts:
        return

    def check(r: Resource, name: str, path: FieldPath, what: str) -> Iterator[Problem]:
        known = accounts.get(r.namespace)
        if not name or name == "default" or known is None or name in known:
            return
        near = [k for k in sorted(known) if k.startswith(name) or name.startswith(k)]
        hint = f" (did you mean '{near[0]}'?)" if near else f" (declared: {', '.join(sorted(known)[:5])})"
        yield Problem(r, path,
                      f"{what} uses serviceAccount '{name}', but namespace '{r.namespace}' declares no such "
                      f"ServiceAccount{hint}; the VM's identity spiffe://…/ns/{r.namespace}/sa/{name} cannot be "
                      "issued or verified (D04)")

    for r in ctx.each("WorkloadEntry", "WorkloadGroup", "ServiceEntry"):
        if isinstance(r, WorkloadEntry):
            yield from check(r, as_str(r.spec.get("serviceAccount")), ("spec", "serviceAccount"),
                             f"WorkloadEntry {r.namespace}/{r.name}")
        elif isinstance(r, WorkloadGroup):
            yield from check(r, as_str(as_map(r.spec.get("template")).get("serviceAccount")),
                             ("spec", "template", "serviceAccount"), f"WorkloadGroup {r.namespace}/{r.name}")
        elif isinstance(r, ServiceEntry):
            for ep in r.endpoints:
                yield from check(r, ep.service_account, ep.path + ("serviceAccount",),
                                 f"ServiceEntry {r.namespace}/{r.name} endpoint {ep.address or ep.path[-1]}")
