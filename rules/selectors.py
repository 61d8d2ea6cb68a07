"""IVL1xx orphan selectors and workload membership.

Every selection question is answered by the mesh graph (``ctx.graph``: ``select``,
``select_any_namespace``, ``near_misses``, ``bindings_by_service``/``bindings_by_workload``,
``lookup``, ``effective_dr``), which applies istio-semantics.md §1.5 and §4 in one place: same-
namespace selection, hostname/UDS WorkloadEntries only under DNS resolution, no WorkloadEntries
behind headless Services, WorkloadGroups as the entries they will generate.

Where we differ from istioctl and Kiali: they match selectors against Pod objects only (and
Kiali against running workloads); a GitOps repository has Deployments, WorkloadEntries and
WorkloadGroups, so those are the workloads here (istio-analyzers.md §4.5, §4.7). The price is
that a repository is often a slice of the mesh: a selector is only reported as matching nothing
when the repository declares workloads in the namespace it searches.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import (MeshGraph, Workload, cluster_namespace, host_matches, parse_gateway_ref,
                                 resolve_host, visible)
from istio_vm_lint.model import (
    DestinationRule, Gateway, Resource, Service, ServiceEntry, VirtualService, WorkloadEntry, WorkloadGroup,
    as_map, as_str,
)
from istio_vm_lint.rule import Context, rule

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SELECTABLE = ("WorkloadEntry", "WorkloadGroup", "Pod")
SEARCHED = "WorkloadEntries, WorkloadGroups and pod templates (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod)"

# Labels a running endpoint carries that no YAML in the repository shows (§1.5 topology labels,
# labels added by the sidecar injector and by controllers): a subset keyed on them cannot be
# judged offline.
RUNTIME_LABEL_PREFIXES = ("topology.istio.io/", "topology.kubernetes.io/", "kubernetes.io/", "service.istio.io/",
                          "security.istio.io/", "statefulset.kubernetes.io/", "apps.kubernetes.io/",
                          "failure-domain.beta.kubernetes.io/")
RUNTIME_LABELS = {"pod-template-hash", "controller-revision-hash", "rollouts-pod-template-hash", "istio-locality",
                  "istio.io/rev"}

# Selectors of the gateways an Istio installation creates (istioctl profiles, Helm charts): a repository
# that does not contain those Deployments most likely relies on the installation's.
STOCK_GATEWAY_LABELS = {("istio", "ingressgateway"), ("istio", "egressgateway"), ("istio", "eastwestgateway"),
                        ("app", "istio-ingressgateway"), ("app", "istio-egressgateway"),
                        ("app", "istio-eastwestgateway"), ("topology.istio.io/network", None)}


# --- wording helpers ------------------------------------------------------------------------------


def wkey(w: Workload) -> tuple:
    """Stable order for workloads: never document order (hints and lists must not depend on it)."""
    r = w.resource
    return (r.kind, r.namespace, r.name, r.source.path, r.doc_index, str(w.endpoint.path) if w.endpoint else "")


def rkey(r: Resource) -> tuple:
    return (r.kind, r.namespace, r.name, r.source.path, r.doc_index)


def sel_str(sel: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "{}"


def describe(w: Workload) -> str:
    r = w.resource
    if w.kind == "Pod" and r.kind != "Pod":
        return f"pod template of {r.kind} {r.namespace}/{r.name}"
    if w.kind == "Endpoint":
        return f"endpoint {w.endpoint.address if w.endpoint else ''} of {r.kind} {r.namespace}/{r.name}"
    return f"{r.kind} {r.namespace}/{r.name}"


def mismatch(w: Workload, sel: dict[str, str]) -> str:
    """``WorkloadEntry vm/whoami-1 has app=whoami but version=v1, not v2``."""
    have = [f"{k}={v}" for k, v in sorted(sel.items()) if w.labels.get(k) == v]
    wrong = []
    for k, v in sorted(sel.items()):
        actual = w.labels.get(k)
        if actual == v:
            continue
        wrong.append(f"{k}={actual}, not {v}" if actual is not None else f"no '{k}' label (wanted {v})")
    head = f"{describe(w)} has {', '.join(have)} but " if have else f"{describe(w)} has "
    return head + "; ".join(wrong)


def nearest(cands: Iterable[Workload], sel: dict[str, str]) -> Optional[Workload]:
    """The candidate closest to the selector: equal pairs count 2, same key with another value 1."""
    best: Optional[tuple[int, Workload]] = None
    for w in sorted(cands, key=wkey):
        score = sum(2 if w.labels.get(k) == v else 1 for k, v in sel.items() if k in w.labels)
        if score > 0 and (best is None or score > best[0]):
            best = (score, w)
    return best[1] if best else None


def near_miss_hint(graph: MeshGraph, namespaces: Iterable[str], sel: dict[str, str],
                   kinds: Iterable[str] = ("WorkloadEntry", "WorkloadGroup", "Pod")) -> str:
    """Only called for findings: scans the workloads of the searched namespaces once."""
    kinds = tuple(kinds)
    cands = [w for ns in namespaces for w in graph.select(ns, {}, kinds)]
    w = nearest(cands, sel)
    return f"; nearest: {mismatch(w, sel)}" if w else ""


def _owner(r: Resource) -> str:
    return f"{r.kind} {r.namespace}/{r.name}"


def _selector_owners(ctx: Context) -> Iterator[tuple[Resource, dict[str, str], FieldPath]]:
    """ServiceEntries (not NONE: the selector is ignored, IVL631) and Services whose selector selects."""
    for se in ctx.each("ServiceEntry"):
        assert isinstance(se, ServiceEntry)
        if se.selector and se.resolution in ("STATIC", "DNS", "DNS_ROUND_ROBIN"):
            yield se, se.selector, ("spec", "workloadSelector", "labels")
    for svc in ctx.each("Service"):
        assert isinstance(svc, Service)
        if svc.selector and svc.service_type != "ExternalName":
            yield svc, svc.selector, ("spec", "selector")


def _elsewhere(graph: MeshGraph, r: Resource, sel: dict[str, str]) -> list[Workload]:
    return sorted((w for w in graph.select_any_namespace(sel, SELECTABLE) if w.namespace != r.namespace), key=wkey)


def _orphans(ctx: Context, kind: str) -> Iterator[tuple[Resource, dict[str, str], FieldPath]]:
    """Selector owners of ``kind`` that match no workload by labels in their namespace, while the
    repository declares workloads there and none elsewhere matches either."""
    graph = ctx.graph
    for r, sel, path in _selector_owners(ctx):
        if r.kind != kind or graph.bindings_by_service.get(id(r)):
            continue
        if graph.select(r.namespace, sel, SELECTABLE):
            continue  # matched by labels but filtered (IVL104/IVL105)
        if _elsewhere(graph, r, sel):
            continue  # IVL103
        if not graph.select(r.namespace, {}, SELECTABLE):
            continue  # the repository declares no workloads here: nothing to compare against
        yield r, sel, path


# --- IVL101 -------------------------------------------------------------------------------------


@rule(
    code="IVL101", name="service-entry-selector-matches-nothing", severity="error",
    summary="A ServiceEntry's workloadSelector matches no WorkloadEntry, WorkloadGroup or pod in its namespace.",
    rationale="""
    A ServiceEntry with a `workloadSelector` gets its endpoints only from the workloads of its
    own namespace whose labels include every selector pair (istio-semantics.md §1.5, §4.1).
    Matching nothing, the service has no endpoints and every request ends in 503 `UH` "no
    healthy upstream" (catalogue §7 A02). With `resolution: DNS` the `hosts` are *not*
    resolved as a fallback when a selector is present (A07, #26098). Istio validation and
    `istioctl analyze` do not check this (§6 blind spot 1; IST0127 covers other kinds only).
    Unlike istioctl and Kiali, which only know Pods, the search covers WorkloadEntries,
    WorkloadGroups (the entries they will register) and the pod templates of Deployments,
    StatefulSets, etc. The message names the nearest miss. Silent when the repository
    declares no workload at all in that namespace (it cannot know), for resolution NONE (the
    selector is ignored — IVL631) and for an empty selector (IVL631). Workloads that exist only
    in another namespace are IVL103.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      location: MESH_INTERNAL
      resolution: STATIC
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector:
        labels: {app: whoami, version: v2}   # the WorkloadEntry has version: v1
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      location: MESH_INTERNAL
      resolution: STATIC
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector:
        labels: {app: whoami}
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("shared/reference/istio-semantics.md §1.5, §4.1, §7 A02, A07",),
)
def service_entry_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for se, sel, path in _orphans(ctx, "ServiceEntry"):
        assert isinstance(se, ServiceEntry)
        dns = " With a selector the hosts are not resolved as a fallback (§4.1, A07)." \
            if se.resolution in ("DNS", "DNS_ROUND_ROBIN") else ""
        yield Problem(se, path,
                      f"ServiceEntry {se.namespace}/{se.name}: workloadSelector {sel_str(sel)} matches none of the "
                      f"{SEARCHED} in namespace '{se.namespace}' (ServiceEntries select only in their own namespace)"
                      f"{near_miss_hint(graph, [se.namespace], sel)}; the service has no endpoints (503 UH).{dns}")


# --- IVL102 -------------------------------------------------------------------------------------


@rule(
    code="IVL102", name="service-selector-matches-nothing", severity="warning",
    summary="A Kubernetes Service's selector matches no pod template, WorkloadEntry or WorkloadGroup in its namespace.",
    rationale="""
    A Kubernetes Service selects pods and (through Istio, `PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES`)
    IP-addressed WorkloadEntries of its own namespace (istio-semantics.md §1.5, §4.2). A selector
    matching nothing leaves the Service without endpoints: sidecars answer 503 `UH`, plain
    clients get connection refused (catalogue §7 A02 for Services, A16). Pods of the
    repository are the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets,
    Jobs and CronJobs (istioctl and Kiali need running Pods). A warning, not an error,
    because pods may come from controllers the linter does not model (operators, Argo
    Rollouts, Knative); silent when the repository declares no workload in that namespace, and
    when no workload there even shares a selector key (no sign of a typo: the pods probably come
    from such a controller).
    Workloads that exist only in another namespace are IVL103.
    """,
    bad="""
    kind: Service
    metadata: {name: inventory, namespace: shop}
    spec:
      selector: {app: inventry}     # typo: the WorkloadEntries have app: inventory
      ports: [{name: http, port: 80}]
    """,
    good="""
    kind: Service
    metadata: {name: inventory, namespace: shop}
    spec:
      selector: {app: inventory}
      ports: [{name: http, port: 80}]
    """,
    inputs=("Service",),
    equivalents=(),
    references=("shared/reference/istio-semantics.md §1.5, §4.2, §7 A02, A16",),
)
def service_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for svc, sel, path in _orphans(ctx, "Service"):
        near = nearest(graph.select(svc.namespace, {}, SELECTABLE), sel)
        if near is None:
            continue  # no workload shares a selector key: probably pods of a controller not modelled
        yield Problem(svc, path,
                      f"Service {svc.namespace}/{svc.name}: selector {sel_str(sel)} matches none of the {SEARCHED} "
                      f"in namespace '{svc.namespace}'; nearest: {mismatch(near, sel)}; the Service has no endpoints",
                      related=((near.resource, near.labels_path),))


# --- IVL103 -------------------------------------------------------------------------------------


@rule(
    code="IVL103", name="selector-workloads-in-other-namespace", severity="error",
    summary="A ServiceEntry or Service selector matches workloads only in another namespace, which it can never select.",
    rationale="""
    ServiceEntry `workloadSelector` and Kubernetes Service `selector` pick workloads of their
    own namespace only: the ServiceEntry registry fetches workloads with the ServiceEntry's
    namespace, the Kubernetes controller compares namespaces (istio-semantics.md §1.5, §4.1,
    §4.2); cross-namespace selection is impossible (feature request #52523). A selector whose
    matching WorkloadEntries/pods all live in another namespace leaves the service empty:
    503 `UH` (catalogue §7 A01, A09). Not checked by Istio validation, `istioctl analyze` or
    Kiali. Move the ServiceEntry/Service (or the WorkloadEntries) into one namespace. When the
    repository declares no workload at all in the selector's namespace, a ServiceEntry is
    reported as a warning and a Service not at all (the same app deployed to several
    namespaces, with this namespace's pods managed elsewhere, is common).
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: default}   # the WorkloadEntries live in "vm"
    spec:
      hosts: [whoami.example.internal]
      location: MESH_INTERNAL
      resolution: STATIC
      ports: [{number: 80, name: http, protocol: HTTP}]
      workloadSelector: {labels: {app: whoami}}
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
    inputs=("ServiceEntry", "Service"),
    equivalents=(),
    references=("shared/reference/istio-semantics.md §1.5, §4.1, §4.2, §7 A01, A09",),
)
def selector_workloads_in_other_namespace(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for r, sel, path in list(_selector_owners(ctx)):
        if graph.bindings_by_service.get(id(r)) or graph.select(r.namespace, sel, SELECTABLE):
            continue
        others = _elsewhere(graph, r, sel)
        if not others:
            continue
        here = bool(graph.select(r.namespace, {}, SELECTABLE))
        if not here and isinstance(r, Service):
            continue  # a Service's pods may be deployed from elsewhere (same app in several namespaces)
        nss = sorted({w.namespace for w in others})
        shown = ", ".join(describe(w) for w in others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        yield Problem(r, path,
                      f"{_owner(r)}: selector {sel_str(sel)} matches nothing in namespace '{r.namespace}'; the "
                      f"matching workloads are in namespace{'s' if len(nss) > 1 else ''} {', '.join(repr(n) for n in nss)} "
                      f"({shown}), and a {r.kind} can only select workloads of its own namespace (§4.1, A01/A09)",
                      related=tuple((w.resource, w.labels_path) for w in others[:3]),
                      severity=None if here else "warning")


# --- IVL104 -------------------------------------------------------------------------------------


@rule(
    code="IVL104", name="hostname-workload-entry-not-selectable", severity="error",
    summary="A STATIC ServiceEntry or a Kubernetes Service selects a WorkloadEntry whose address is a hostname or unix socket, which Istio skips.",
    rationale="""
    A WorkloadEntry addressed by a DNS name or a `unix://` path is "DNS/ServiceEntry-only":
    STATIC and NONE ServiceEntries and Kubernetes Services silently skip it
    (`DNSServiceEntryOnly`, istio-semantics.md §2.1, §2.2, §4.1, §4.2; #36480, #52875). Only
    `resolution: DNS`/`DNS_ROUND_ROBIN` ServiceEntries use such entries. The VM never receives
    traffic; when every selected entry is skipped the service is empty (503 `UH`, catalogue
    §7 A08). Reported as an error when nothing else is left, otherwise as a warning. Nothing in
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
    references=("shared/reference/istio-semantics.md §2.1, §2.2, §4.1, §4.2, §7 A08",),
)
def hostname_workload_entry_not_selectable(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for r, sel, path in list(_selector_owners(ctx)):
        if isinstance(r, ServiceEntry):
            if r.resolution != "STATIC":
                continue
            why = "resolution STATIC uses IP addresses only"
            fix = "use resolution DNS, or give the entries IP addresses"
            where: FieldPath = ("spec", "resolution") if r.resolution_explicit else path
        else:
            assert isinstance(r, Service)
            if r.headless:
                continue  # IVL105: a headless Service skips every WorkloadEntry
            why = "Kubernetes Services select IP-addressed WorkloadEntries only"
            fix = "give the entries IP addresses, or use a DNS ServiceEntry"
            where = path
        skipped = sorted((w for w in graph.select(r.namespace, sel, ("WorkloadEntry",))
                          if w.address_kind in ("hostname", "uds")), key=wkey)
        if not skipped:
            continue
        left = graph.bindings_by_service.get(id(r), ())
        names = ", ".join(f"{describe(w)} ({w.endpoint.address if w.endpoint else '?'})" for w in skipped[:3])
        yield Problem(r, where,
                      f"{_owner(r)} silently skips {names}: {why} (§2.1, §4.1, A08); "
                      + ("nothing else is selected, so the service has no endpoints" if not left
                         else f"only {len(left)} other endpoint(s) remain") + f" — {fix}",
                      related=tuple((w.resource, ("spec", "address")) for w in skipped[:3]),
                      severity=None if not left else "warning")


# --- IVL105 -------------------------------------------------------------------------------------


@rule(
    code="IVL105", name="headless-service-selects-workload-entries", severity="error",
    summary="A headless Service (clusterIP: None) selects WorkloadEntries, which never receive its traffic.",
    rationale="""
    Istio turns a headless Service into a passthrough: clients connect to the IPs that DNS
    returns, and Kubernetes DNS only knows pod IPs. WorkloadEntries are attached to a Service
    only when it is a ClusterIP Service with an IP (istio-semantics.md §4.2,
    `serviceInstancesFromWorkloadInstances`), so the VMs never get traffic (catalogue §7 A10).
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
    references=("shared/reference/istio-semantics.md §4.2, §7 A10",),
)
def headless_service_selects_workload_entries(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for svc in ctx.each("Service"):
        assert isinstance(svc, Service)
        if not svc.headless or not svc.selector or svc.service_type == "ExternalName":
            continue
        vms = sorted(graph.select(svc.namespace, svc.selector, ("WorkloadEntry", "WorkloadGroup")), key=wkey)
        if not vms:
            continue
        names = ", ".join(describe(w) for w in vms[:3]) + (f" and {len(vms) - 3} more" if len(vms) > 3 else "")
        yield Problem(svc, ("spec", "clusterIP"),
                      f"Service {svc.namespace}/{svc.name} is headless (clusterIP: None) but its selector "
                      f"{sel_str(svc.selector)} matches {names}: headless Services never include WorkloadEntries "
                      "(clients use the pod IPs DNS returns), so these VMs get no traffic (§4.2, A10)",
                      related=tuple((w.resource, w.labels_path) for w in vms[:3]))


# --- IVL106 -------------------------------------------------------------------------------------


def _looks_like_gateway(w: Workload) -> bool:
    r = w.resource
    pod = getattr(r, "pod", None)
    annotations = pod.annotations if pod is not None else {}
    return ("istio" in w.labels or "gateway.istio.io/managed" in w.labels
            or "gateway" in annotations.get("inject.istio.io/templates", ""))


@rule(
    code="IVL106", name="gateway-selector-matches-nothing", severity="warning",
    summary="A Gateway's selector matches no gateway workload in any namespace, while the repository declares gateway workloads.",
    rationale="""
    A Gateway configures the proxies whose labels match `spec.selector`, in every namespace
    unless istiod runs with `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` (istio-semantics.md §1.5,
    §4.4). A selector matching no proxy makes every server of the Gateway, and every
    VirtualService bound to it, dead configuration. `istioctl analyze` (IST0101 "selector")
    and Kiali (KIA0302) check against running Pods, so on a repository of Deployments they
    report every Gateway or nothing; here the pod templates of Deployments etc. (and
    WorkloadEntries/WorkloadGroups, for VM gateways) are searched. Gateway deployments are
    often installed by a chart outside the repository, so the check only runs when the
    repository declares at least one gateway-like workload (an `istio` label, a
    `gateway.istio.io/managed` label or the `inject.istio.io/templates: gateway` annotation), and
    the stock selectors of an Istio installation (`istio: ingressgateway`, `egressgateway`,
    `eastwestgateway` and their `app: istio-…` forms) are taken to be satisfied by it.
    """,
    bad="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      selector: {istio: ingress-gateway}   # the Deployment's pods have istio: ingressgateway
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
    """,
    good="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
    """,
    inputs=("Gateway",),
    equivalents=("IST0101:gateway.IngressGatewayPortAnalyzer", "KIA0302"),
    references=("shared/reference/istio-semantics.md §1.5, §4.4", "shared/reference/istio-analyzers.md §4.7",
                "shared/reference/kiali-validations.md KIA0302"),
)
def gateway_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    gateway_like = [w for w in graph.workloads if w.kind in SELECTABLE and _looks_like_gateway(w)]
    if not gateway_like:
        return
    for gw in ctx.each("Gateway"):
        assert isinstance(gw, Gateway)
        sel = gw.selector
        if not sel:
            continue  # nil/empty selector: applies to every gateway proxy
        if graph.select_any_namespace(sel, SELECTABLE):
            continue
        if all((k, v) in STOCK_GATEWAY_LABELS or (k, None) in STOCK_GATEWAY_LABELS for k, v in sel.items()):
            continue  # the installation's own gateway, deployed outside the repository
        near = nearest(gateway_like, sel)
        hint = f"; nearest: {mismatch(near, sel)}" if near else ""
        yield Problem(gw, ("spec", "selector"),
                      f"Gateway {gw.namespace}/{gw.name}: selector {sel_str(sel)} matches none of the {SEARCHED} "
                      f"in any namespace{hint}; no proxy gets its servers (§4.4)")


# --- IVL111 -------------------------------------------------------------------------------------


@rule(
    code="IVL111", name="gateway-selector-empty", severity="warning",
    summary="A Gateway has no (or an empty) selector, so it configures every gateway proxy of the mesh.",
    rationale="""
    `Gateway.selector` picks the gateway proxies that get the Gateway's servers; a nil or
    empty selector matches every one of them — ingress, egress and east-west gateways, in all
    namespaces unless `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` (istio-semantics.md §1.5, §4.4;
    Kiali KIA0302: "an empty selector matches everything"). Ports and hosts meant for one
    ingress then open on the egress and east-west gateways too, and conflict with their own
    Gateways. Istio validation does not warn about it (unlike an empty ServiceEntry
    `workloadSelector`, IVL631), nor does `istioctl analyze` (its Pod match treats an empty
    selector as matching everything).
    """,
    bad="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
    """,
    good="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
    """,
    inputs=("Gateway",),
    equivalents=("KIA0302",),
    references=("shared/reference/istio-semantics.md §1.5, §4.4", "shared/reference/kiali-validations.md KIA0302"),
)
def gateway_selector_empty(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for gw in ctx.each("Gateway"):
        assert isinstance(gw, Gateway)
        if gw.selector:
            continue
        raw = gw.spec.get("selector")
        if raw is not None and not isinstance(raw, dict):
            continue  # wrong type: the schema rules report it
        which = "no selector" if raw is None else "an empty selector"
        n = len({id(w.resource) for w in graph.workloads if w.kind in SELECTABLE and _looks_like_gateway(w)})
        known = f" (the repository declares {n} gateway workload{'s' if n != 1 else ''})" if n else ""
        yield Problem(gw, ("spec", "selector") if raw is not None else ("spec",),
                      f"Gateway {gw.namespace}/{gw.name} has {which}: its servers are configured on every gateway "
                      f"proxy of the mesh{known}, ingress, egress and east-west alike (§1.5, §4.4) — select the "
                      "intended gateway, e.g. istio: ingressgateway")


# --- IVL112 -------------------------------------------------------------------------------------


@rule(
    code="IVL112", name="workload-entries-share-address", severity="warning",
    summary="Several sidecar WorkloadEntries in one namespace have the same IP address (and network): the VM proxy uses only one of them.",
    rationale="""
    A VM's proxy takes its inbound configuration (which services, ports and identity it
    serves) from the WorkloadEntry whose address equals its IP in its namespace; when several
    entries share the IP one is chosen and the others' services lose that endpoint's inbound
    listeners — 503s and TLS `WRONG_VERSION_NUMBER` between the apps of one VM
    (istio-semantics.md §2.2, §4.5, catalogue §7 A13; #33207, `GetProxyServiceTargets`).
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
    references=("shared/reference/istio-semantics.md §2.2, §4.5, §7 A13",),
)
def workload_entries_share_address(ctx: Context) -> Iterator[Problem]:
    groups: dict[tuple[str, str, str], list[WorkloadEntry]] = defaultdict(list)
    for r in ctx.project.by_kind("WorkloadEntry"):
        assert isinstance(r, WorkloadEntry)
        ep = r.endpoint
        if ep.address_kind == "ip":
            groups[(r.namespace, ep.address, ep.network)].append(r)
    for (ns, address, _), entries in sorted(groups.items()):
        if len(entries) < 2 or not any(e.endpoint.tls_mode == "istio" for e in entries):
            continue
        entries = sorted(entries, key=rkey)
        first = entries[0]
        for other in entries[1:]:
            ctx.current = other
            yield Problem(other, ("spec", "address"),
                          f"WorkloadEntry {ns}/{other.name} has the same address {address} as WorkloadEntry "
                          f"{ns}/{first.name}: the VM proxy takes its inbound configuration from only one of them, so "
                          "the other's services lose their listeners on that VM (§4.5, A13) — use one WorkloadEntry "
                          "per VM with the union of the labels",
                          related=((first, ("spec", "address")),))
    ctx.current = None


# --- IVL113 -------------------------------------------------------------------------------------


@rule(
    code="IVL113", name="workload-entry-label-conflict", severity="warning",
    summary="A WorkloadEntry sets the same label in metadata.labels and spec.labels with different values; metadata wins.",
    rationale="""
    Istio merges a WorkloadEntry's `spec.labels` with its `metadata.labels`, and metadata wins
    on conflicts (`ConvertWorkloadEntry`, istio-semantics.md §1.5, catalogue §7 A14; #37772).
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
    references=("shared/reference/istio-semantics.md §1.5, §7 A14",),
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
                              f"metadata.labels {k}={meta} (metadata wins, §1.5, A14); selectors and subsets see "
                              f"{k}={meta}",
                              related=((r, ("metadata", "labels", k)),))


# --- IVL114 -------------------------------------------------------------------------------------


@rule(
    code="IVL114", name="health-checked-entry-without-identity", severity="warning",
    summary="A hand-written WorkloadEntry enables health checks but has no serviceAccount, so no proxy can ever mark it healthy.",
    rationale="""
    With the annotation `proxy.istio.io/health-checks-enabled: "true"` a WorkloadEntry is
    treated as unhealthy — not an endpoint — until its status has `Healthy=True` (`isHealthy`,
    istio-semantics.md §2.2, catalogue §7 A15). istiod writes that status from the probe
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
    references=("shared/reference/istio-semantics.md §2.2, §7 A15",),
)
def health_checked_entry_without_identity(ctx: Context) -> Iterator[Problem]:
    for r in ctx.each("WorkloadEntry"):
        assert isinstance(r, WorkloadEntry)
        if not r.health_checked or r.endpoint.service_account or r.annotations.get("istio.io/autoRegistrationGroup"):
            continue
        yield Problem(r, ("metadata", "annotations", "proxy.istio.io/health-checks-enabled"),
                      f"WorkloadEntry {r.namespace}/{r.name} enables health checks but has no serviceAccount: it is "
                      "not an endpoint until its status says Healthy, and no VM proxy can report for an entry "
                      "without an identity (§2.2, A15) — set serviceAccount or remove the annotation")


# --- IVL107 -------------------------------------------------------------------------------------


def _runtime_key(k: str) -> bool:
    return k in RUNTIME_LABELS or k.startswith(RUNTIME_LABEL_PREFIXES)


def host_endpoints(graph: MeshGraph, host: str, viewer_ns: str) -> Optional[list[Workload]]:
    """The endpoints the repository knows for ``host``, or None when it cannot know them
    (no service, NONE/DNS-without-endpoints ServiceEntries, Services without selector, empty)."""
    services = graph.lookup(host, viewer_ns)
    if not services:
        return None
    out: list[Workload] = []
    for svc in services:
        r = svc.resource
        if isinstance(r, ServiceEntry):
            if r.resolution not in ("STATIC", "DNS", "DNS_ROUND_ROBIN"):
                return None
            if r.selector is None and not r.endpoints:
                return None  # DNS resolves the hosts themselves; STATIC empty is another problem
        elif isinstance(r, Service):
            if not r.selector or r.service_type == "ExternalName":
                return None
        bs = graph.bindings_by_service.get(id(r), ())
        if not bs:
            return None  # empty service: the selector rules report it
        out.extend(b.workload for b in bs)
    return out


def _routed_subsets(ctx: Context) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for vs in ctx.project.by_kind("VirtualService"):
        assert isinstance(vs, VirtualService)
        for d in ctx.graph.destinations(vs):
            if d.subset:
                out.add((d.host, d.subset))
    return out


@rule(
    code="IVL107", name="subset-matches-no-endpoints", severity="error",
    summary="A DestinationRule subset's labels match none of the endpoints of the rule's host.",
    rationale="""
    Subset labels filter the endpoints of the DestinationRule's host, whatever registry
    produced them: pod labels, WorkloadEntry labels (metadata ∪ spec), inline endpoint labels
    (istio-semantics.md §1.5, §4.3). A subset that keeps no endpoint turns every route to it
    into 503 `UH` (catalogue §7 A18). `istioctl analyze` IST0173 looks at Pod objects of any
    namespace and ignores WorkloadEntries (false positives for VM-only subsets, A17, false
    negatives for pods of other services); Kiali KIA0203 does not consult WorkloadEntries
    selected by a ServiceEntry selector either. Here the subset is matched against exactly the
    endpoints the host resolves to (the ServiceEntry/Service selection of §4). Silent when the
    repository cannot know the endpoints: hosts not defined in the repository, `resolution`
    NONE or DNS without endpoints, Services without selector, wildcard hosts, and subsets keyed
    on labels only a running endpoint carries (topology, injector and controller labels).
    An error when a VirtualService routes to the subset, otherwise a warning (like KIA0203).
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: whoami, namespace: vm}
    spec:
      host: whoami.example.internal
      subsets:
      - name: v2
        labels: {version: v2}    # WorkloadEntry vm/whoami-1 has version: v1
    """,
    good="""
    kind: DestinationRule
    metadata: {name: whoami, namespace: vm}
    spec:
      host: whoami.example.internal
      subsets:
      - name: v1
        labels: {version: v1}
    """,
    inputs=("DestinationRule",),
    equivalents=("IST0173", "KIA0203"),
    references=("shared/reference/istio-semantics.md §1.5, §4.3, §7 A17, A18",
                "shared/reference/istio-analyzers.md §4.5"),
)
def subset_matches_no_endpoints(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    routed: Optional[set[tuple[str, str]]] = None
    for dr in ctx.each("DestinationRule"):
        assert isinstance(dr, DestinationRule)
        host = resolve_host(dr.host, dr.namespace, domain)
        if not host or host.startswith("*"):
            continue
        subsets = [s for s in dr.subsets if s.labels and not any(_runtime_key(k) for k in s.labels)]
        if not subsets:
            continue
        endpoints = host_endpoints(graph, host, dr.namespace)
        if not endpoints:
            continue
        for sub in subsets:
            if any(all(w.labels.get(k) == v for k, v in sub.labels.items()) for w in endpoints):
                continue
            if routed is None:
                routed = _routed_subsets(ctx)
            best = nearest(endpoints, sub.labels) or min(endpoints, key=wkey)
            kinds = sorted({describe(w).split(" ")[0] if w.kind != "Pod" else "pod templates" for w in endpoints})
            is_routed = (host, sub.name) in routed
            yield Problem(dr, sub.path + ("labels",),
                          f"DestinationRule {dr.namespace}/{dr.name}: subset '{sub.name}' ({sel_str(sub.labels)}) matches "
                          f"none of the {len(endpoints)} endpoint(s) of {host} ({', '.join(kinds)}); nearest: "
                          f"{mismatch(best, sub.labels)}"
                          + ("; routes to this subset get 503 UH" if is_routed else ""),
                          related=((best.resource, best.labels_path),),
                          severity=None if is_routed else "warning")


# --- IVL108 -------------------------------------------------------------------------------------


@rule(
    code="IVL108", name="subset-not-defined", severity="error",
    summary="A VirtualService routes to a subset that the DestinationRule on the client's lookup path does not define.",
    rationale="""
    A route to `host` + `subset` needs that subset in the DestinationRule the *client* gets for
    the host: the first namespace with a rule for it along client namespace → service
    namespace → root namespace, same-namespace rules merged, never merged across namespaces
    (istio-semantics.md §1.2, §2.4). Without it the route points at a cluster that does not
    exist and requests fail with 503 `NC`. istioctl IST0101 ("host+subset in destinationrule")
    keys ServiceEntry hosts by the resource namespace, ignores exportTo and the lookup order
    (istio-analyzers.md §4.2); Kiali KIA1107 accepts any visible rule defining the name. Here
    the effective rule of the graph decides, for the VirtualService's namespace (mesh routes)
    and the namespaces of the Gateway and of the gateway pods it selects (gateway routes); the
    route is reported only when no client namespace gets the subset. Silent when the host itself is unknown (IVL501) and when a
    DestinationRule with a `workloadSelector` might supply the subset.
    """,
    bad="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      http:
      - route:
        - destination: {host: whoami.example.internal, subset: v3}   # the DestinationRule has v1, v2
    """,
    good="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      http:
      - route:
        - destination: {host: whoami.example.internal, subset: v2}
    """,
    inputs=("VirtualService",),
    equivalents=("IST0101:virtualservice.DestinationRuleAnalyzer", "KIA1107"),
    references=("shared/reference/istio-semantics.md §1.2, §2.4, §2.5",
                "shared/reference/istio-analyzers.md §4.2", "shared/reference/kiali-validations.md KIA1107"),
)
def subset_not_defined(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    selector_drs: Optional[list[DestinationRule]] = None
    all_drs = [d for d in ctx.project.by_kind("DestinationRule") if isinstance(d, DestinationRule)]
    # Index of DestinationRules by resolved host (one pass) for the common case "every rule that
    # could apply defines the subset"; graph.effective_dr decides everything else.
    exact: dict[str, list[DestinationRule]] = defaultdict(list)
    wildcard: list[tuple[str, DestinationRule]] = []
    for x in all_drs:
        if x.workload_selector is not None:
            continue
        h = resolve_host(x.host, x.namespace, domain)
        if h.startswith("*"):
            wildcard.append((h, x))
        elif h:
            exact[h].append(x)
    root = ctx.settings.root_namespace
    for vs in ctx.each("VirtualService"):
        assert isinstance(vs, VirtualService)
        for dref in graph.destinations(vs):
            if not dref.subset or not _DNS_LABEL.match(dref.subset):
                continue  # invalid subset name: IVL610 (no rule can define it)
            if dref.services:
                service_ns = dref.services[0].namespace
            elif exact.get(dref.host) or cluster_namespace(dref.host, domain) in graph.namespaces:
                # The host is unknown to the repository (IVL501 reports it), but the repository has
                # DestinationRules for exactly that host, or owns the host's namespace (declares
                # resources there), so where the subset must be defined is known.
                service_ns = cluster_namespace(dref.host, domain) or min(exact[dref.host], key=rkey).namespace
            else:
                continue  # a host the repository knows nothing about: its rules may live elsewhere
            d = vs.destinations[dref.dest_index]
            clients: list[str] = []
            for g in d.gateways:
                if g == "mesh":
                    nss = [vs.namespace]
                else:
                    # the gateway proxies are the clients: the Gateway's namespace and, when the
                    # repository has them, the namespaces of the pods it selects
                    gw_ns, gw_name = parse_gateway_ref(g, vs.namespace, domain)
                    gw = graph.gateways.get((gw_ns, gw_name))
                    nss = [gw_ns] + sorted({w.namespace for w in graph.select_any_namespace(gw.selector, ("Pod",))}
                                           if gw is not None and gw.selector else set())
                for ns in nss:
                    if ns not in clients:
                        clients.append(ns)
            cands = exact.get(dref.host, []) + [x for h, x in wildcard if host_matches(h, dref.host)]
            if cands and all(any(s.name == dref.subset for s in x.subsets) for x in cands) and any(
                    x.namespace in (c, service_ns, root) and (x.namespace == c or visible(x.export_to, x.namespace, c))
                    for x in cands for c in clients):
                continue  # whichever rule the client gets defines the subset
            found = False
            winners = []
            for cns in clients:
                edr = graph.effective_dr(cns, dref.host, service_ns)
                if edr is not None and dref.subset in edr.subsets:
                    found = True
                    break
                winners.append((cns, edr))
            if found:
                continue
            if selector_drs is None:
                selector_drs = [x for x in all_drs if x.workload_selector is not None]
            if any(_dr_defines(x, dref.host, dref.subset, domain) for x in selector_drs):
                continue
            elsewhere = sorted((x for x in all_drs
                                if x.workload_selector is None and _dr_defines(x, dref.host, dref.subset, domain)), key=rkey)
            cns, edr = winners[0]
            if edr is None:
                detail = f"no DestinationRule for {dref.host} is on the lookup path of namespace '{cns}' " \
                         f"({cns} → {service_ns} → {ctx.settings.root_namespace})"
            else:
                names = ", ".join(f"{r.namespace}/{r.name}" for r in edr.rules)
                have = ", ".join(sorted(edr.subsets)) or "none"
                detail = f"clients in namespace '{cns}' get DestinationRule {names} (subsets: {have})"
            if elsewhere:
                x = elsewhere[0]
                detail += f"; DestinationRule {x.namespace}/{x.name} defines it but is not the rule those clients use " \
                          "(first namespace on the lookup path wins, exportTo applies, §1.2)"
            yield Problem(vs, dref.path + ("subset",),
                          f"VirtualService {vs.namespace}/{vs.name} routes to subset '{dref.subset}' of {dref.host}, but "
                          f"{detail}; requests fail with 503 NC",
                          related=tuple((r, ("spec", "subsets")) for r in (edr.rules if edr else [])[:2]))



def _dr_defines(dr: DestinationRule, host: str, subset: str, domain: str) -> bool:
    h = resolve_host(dr.host, dr.namespace, domain)
    return bool(h) and host_matches(h, host) and any(s.name == subset for s in dr.subsets)


# --- IVL109 -------------------------------------------------------------------------------------


@rule(
    code="IVL109", name="workload-not-selected", severity="info",
    summary="A WorkloadEntry or WorkloadGroup is selected by no ServiceEntry or Service, so it serves no service.",
    rationale="""
    A WorkloadEntry (or a WorkloadGroup's future entries) becomes an endpoint only when a
    ServiceEntry `workloadSelector` or a Kubernetes Service `selector` of the same namespace
    matches its labels (istio-semantics.md §1.5, §4.1, §4.2; `api:we`: a WorkloadEntry "must
    be accompanied by an Istio ServiceEntry that selects the workload"). An entry nothing
    selects receives no mesh traffic: a VM that was meant to serve is unreachable (catalogue
    §7 A02 from the other side; label edits after the fact, #33299). Information only — a VM
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
    references=("shared/reference/istio-semantics.md §1.5, §4.1, §4.2",),
)
def workload_not_selected(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    service_ns: set[str] = {r.namespace for r in ctx.project.kinds("ServiceEntry", "Service")}
    matched: set[int] = set()
    by_ns: dict[str, list[tuple[Resource, dict[str, str]]]] = defaultdict(list)
    for se in ctx.project.by_kind("ServiceEntry"):
        assert isinstance(se, ServiceEntry)
        if se.selector is not None:
            by_ns[se.namespace].append((se, se.selector))
    for svc in ctx.project.by_kind("Service"):
        assert isinstance(svc, Service)
        if svc.selector and svc.service_type != "ExternalName":
            by_ns[svc.namespace].append((svc, svc.selector))
    for ns, owners in by_ns.items():
        owners.sort(key=lambda t: rkey(t[0]))
        for _, sel in owners:
            for w in graph.select(ns, sel, ("WorkloadEntry", "WorkloadGroup")):
                matched.add(id(w))
    for r in ctx.each("WorkloadEntry", "WorkloadGroup"):
        if r.namespace not in service_ns:
            continue
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
        score = sum(2 if w.labels.get(k) == v else 1 for k, v in sel.items() if k in w.labels)
        if score and (best is None or score > best[0]):
            best = (score, r, sel)
    if best is None:
        return ""
    return f"; nearest: {_owner(best[1])} selects {sel_str(best[2])}, but {mismatch(w, best[2])}"


# --- IVL110 -------------------------------------------------------------------------------------


@rule(
    code="IVL110", name="workload-service-account-not-found", severity="warning",
    summary="A WorkloadEntry, WorkloadGroup or ServiceEntry endpoint names a serviceAccount its namespace does not declare.",
    rationale="""
    A VM's `serviceAccount` is its mesh identity, `spiffe://<trust domain>/ns/<ns>/sa/<name>`;
    it must exist in the WorkloadEntry's (WorkloadGroup's, inline endpoint's ServiceEntry's)
    namespace (istio-semantics.md §2.2, §2.3). A missing or misspelt account breaks the VM's
    certificate/bootstrap token, auto-registration ("service account mismatch") and SAN
    verification by clients (catalogue §7 D04). Kiali KIA1701 checks WorkloadGroups against
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
    references=("shared/reference/istio-semantics.md §2.2, §2.3, §7 D04",
                "shared/reference/kiali-validations.md KIA1701"),
)
def workload_service_account_not_found(ctx: Context) -> Iterator[Problem]:
    accounts: dict[str, set[str]] = defaultdict(set)
    for sa in ctx.project.by_kind("ServiceAccount"):
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
