"""IVL101-IVL103: ServiceEntry and Service selectors that match no workload, or only workloads
in another namespace."""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.defaults import ADDON_APPS
from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Service, ServiceEntry
from istio_vm_lint.rule import Context, rule

from .._messages import describe, owner, sel_str
from ._common import SEARCHED, SELECTABLE, elsewhere, near_related, nearest, nearest_hint, orphans, selector_owners

# --- IVL101 -------------------------------------------------------------------------------------


@rule(
    code="IVL101", family="selectors", name="service-entry-selector-matches-nothing", severity="error",
    summary="A ServiceEntry's workloadSelector matches no WorkloadEntry, WorkloadGroup or pod in its namespace.",
    rationale="""
    A ServiceEntry with a `workloadSelector` gets its endpoints only from the workloads of its
    own namespace whose labels include every selector pair (docs/semantics.md §label-selection, §serviceentry-selection).
    Matching nothing, the service has no endpoints and every request ends in 503 `UH` "no
    healthy upstream". With `resolution: DNS` the `hosts` are *not*
    resolved as a fallback when a selector is present (A07, #26098). Istio validation and
    `istioctl analyze` do not check this (§istioctl-analyze; IST0127 covers other kinds only).
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
    references=("docs/semantics.md §label-selection", "docs/semantics.md §serviceentry-selection",),
)
def service_entry_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for se, sel, path in orphans(ctx, ServiceEntry):
        dns = " With a selector the hosts are not resolved as a fallback (§serviceentry-selection)." \
            if se.resolution in ("DNS", "DNS_ROUND_ROBIN") else ""
        # The nearest workload is the other end of the broken edge: its labels are what the
        # selector was probably meant to match (and a change to them is what broke it).
        near = nearest(graph.select(se.namespace, {}, SELECTABLE), sel)
        yield Problem(se, path,
                      f"ServiceEntry {se.namespace}/{se.name}: workloadSelector {sel_str(sel)} matches none of the "
                      f"{SEARCHED} in namespace '{se.namespace}' (ServiceEntries select only in their own namespace)"
                      f"{nearest_hint(near, sel)}; the service has no endpoints (503 UH).{dns}",
                      related=near_related(near))


# --- IVL102 -------------------------------------------------------------------------------------


@rule(
    code="IVL102", family="selectors", name="service-selector-matches-nothing", severity="warning",
    severity_note="warning; info when the selector picks the pods of one of Istio's addons (app=kiali, grafana, prometheus, jaeger ...), installed from Istio's release rather than the repository.",
    summary="A Kubernetes Service's selector matches no pod template, WorkloadEntry or WorkloadGroup in its namespace.",
    rationale="""
    A Kubernetes Service selects pods and (through Istio, `PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES`)
    IP-addressed WorkloadEntries of its own namespace (docs/semantics.md §label-selection, §service-selection). A selector
    matching nothing leaves the Service without endpoints: sidecars answer 503 `UH`, plain
    clients get connection refused. Pods of the
    repository are the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets,
    Jobs and CronJobs, Argo Rollouts, OpenShift DeploymentConfigs, Knative Services and any
    other kind with a pod template at `spec.template` (docs/semantics.md §workload-kinds;
    istioctl and Kiali need running Pods). A warning, not an error, because pods may come from
    controllers the linter cannot see (operators); silent when the repository declares no workload in that namespace, and
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
    references=("docs/semantics.md §label-selection", "docs/semantics.md §service-selection",),
)
def service_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for svc, sel, path in orphans(ctx, Service):
        near = nearest(graph.select(svc.namespace, {}, SELECTABLE), sel)
        if near is None:
            continue  # no workload shares a selector key: probably pods of a controller not modelled
        addon = next((v for k, v in sel.items() if k in ("app", "app.kubernetes.io/name") and v in ADDON_APPS), None)
        why = (f" (info, not warning: it selects the pods of Istio's {addon} addon (samples/addons), installed from "
               "Istio's release, usually in istio-system, where a Service applied beside them selects them; "
               "§istio-addons)" if addon else "")
        yield Problem(svc, path,
                      f"Service {svc.namespace}/{svc.name}: selector {sel_str(sel)} matches none of the {SEARCHED} "
                      f"in namespace '{svc.namespace}'{nearest_hint(near, sel)}; the Service has no endpoints{why}",
                      related=near_related(near), severity="info" if addon else None)


# --- IVL103 -------------------------------------------------------------------------------------


@rule(
    code="IVL103", family="selectors", name="selector-workloads-in-other-namespace", severity="error",
    severity_note="error when the repository declares workloads in the selector's own namespace (so it would "
                  "know the intended ones); a ServiceEntry is a warning and a Service is not reported when the "
                  "repository declares no workload at all in that namespace (they may be deployed from elsewhere).",
    summary="A ServiceEntry or Service selector matches workloads only in another namespace, which it can never select.",
    rationale="""
    ServiceEntry `workloadSelector` and Kubernetes Service `selector` pick workloads of their
    own namespace only: the ServiceEntry registry fetches workloads with the ServiceEntry's
    namespace, the Kubernetes controller compares namespaces (docs/semantics.md §label-selection, §serviceentry-selection, §service-selection); cross-namespace selection is impossible (feature request #52523). A selector whose
    matching WorkloadEntries/pods all live in another namespace leaves the service empty:
    503 `UH`. Not checked by Istio validation, `istioctl analyze` or
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
    references=("docs/semantics.md §label-selection", "docs/semantics.md §serviceentry-selection", "docs/semantics.md §service-selection",),
)
def selector_workloads_in_other_namespace(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for r, sel, path in list(selector_owners(ctx)):
        if graph.bindings_by_service.get(id(r)) or graph.select(r.namespace, sel, SELECTABLE):
            continue
        others = elsewhere(graph, r, sel)
        if not others:
            continue
        here = bool(graph.select(r.namespace, {}, SELECTABLE))
        if not here and isinstance(r, Service):
            continue  # a Service's pods may be deployed from elsewhere (same app in several namespaces)
        nss = sorted({w.namespace for w in others})
        shown = ", ".join(describe(w) for w in others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        yield Problem(r, path,
                      f"{owner(r)}: selector {sel_str(sel)} matches nothing in namespace '{r.namespace}'; the "
                      f"matching workloads are in namespace{'s' if len(nss) > 1 else ''} {', '.join(repr(n) for n in nss)} "
                      f"({shown}), and a {r.kind} can only select workloads of its own namespace (§serviceentry-selection)"
                      + ("" if here else f" (warning, not error: the repository declares no workload in namespace "
                                         f"'{r.namespace}', so its workloads may be deployed from elsewhere)"),
                      related=tuple((w.resource, w.labels_path) for w in others[:3]),
                      severity=None if here else "warning")
