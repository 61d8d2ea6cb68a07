"""IVL72x Sidecar analyzers: selectors that match nothing, overlapping Sidecars, ambient.

istioctl matches Sidecar selectors against Pod objects only (docs/semantics.md §analyzer-sidecar-selectors); a
Sidecar also configures VM proxies (WorkloadEntries, WorkloadGroups) and the pods of
Deployments, so all of those count as workloads here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import Namespace, Sidecar, WorkloadController
from istio_vm_lint.rule import Context, rule

WORKLOAD_KINDS = ("Pod", "WorkloadEntry", "WorkloadGroup")


def _scoped(sc: Sidecar) -> bool:
    return bool(sc.workload_selector)


def _ambient_pod(w: Workload) -> bool:
    r = w.resource
    annotations = r.pod.annotations if isinstance(r, WorkloadController) else {}
    return annotations.get("ambient.istio.io/redirection") == "enabled"


def _ambient_namespaces(ctx: Context) -> set[str]:
    out = set()
    for ns in ctx.resources(Namespace):
        lab = ns.labels
        if lab.get("istio.io/dataplane-mode") == "ambient" and lab.get("istio-injection") != "enabled" \
                and not lab.get("istio.io/rev"):
            out.add(ns.name)
    return out


@rule(
    code="IVL720", family="analyzers_sidecar", name="sidecar-selector-matches-nothing", severity="warning",
    summary="A Sidecar's workloadSelector matches no workload in its namespace.",
    rationale="""
    A Sidecar with a `workloadSelector` applies only to workloads in its own namespace whose
    labels match (api:sidecar). Matching nothing, it configures nobody, and the namespace-wide
    Sidecar (or the mesh default) applies instead (istioctl IST0101, docs/semantics.md §analyzer-sidecar-selectors).
    Workloads are pods of Deployments/StatefulSets/..., bare Pods, WorkloadEntries and
    WorkloadGroups, so a Sidecar for VMs is not reported as istioctl would. Silent when the
    repository has no workloads in that namespace at all.
    """,
    bad="""
    kind: Sidecar
    metadata: {namespace: vm}
    spec:
      workloadSelector: {labels: {app: whoamii}}
    """,
    good="""
    kind: Sidecar
    metadata: {namespace: vm}
    spec:
      workloadSelector: {labels: {app: whoami}}
    """,
    inputs=("Sidecar",),
    equivalents=("IST0101:sidecar.SelectorAnalyzer", "KIA0004"),
    references=("docs/semantics.md §analyzer-sidecar-selectors",),
)
def sidecar_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for sc in ctx.each(Sidecar):
        if not _scoped(sc):
            continue
        sel = sc.workload_selector or {}
        if graph.select(sc.namespace, sel, WORKLOAD_KINDS):
            continue
        if not graph.select(sc.namespace, {}, WORKLOAD_KINDS):
            continue  # the repository declares no workloads here: nothing to compare against
        elsewhere = [w for w in graph.select_any_namespace(sel, WORKLOAD_KINDS) if w.namespace != sc.namespace]
        hint = f"; {elsewhere[0].resource.kind} {elsewhere[0].namespace}/{elsewhere[0].resource.name} matches but " \
               "lives in another namespace" if elsewhere else ""
        yield Problem(sc, ("spec", "workloadSelector", "labels"),
                      f"Sidecar {sc.namespace}/{sc.name}: workloadSelector "
                      f"{', '.join(f'{k}={v}' for k, v in sorted(sel.items()))} matches no Pod template, WorkloadEntry "
                      f"or WorkloadGroup in namespace '{sc.namespace}'{hint}")


@rule(
    code="IVL721", family="analyzers_sidecar", name="sidecars-select-same-workload", severity="error",
    summary="Several Sidecars with workloadSelectors select the same workload.",
    rationale="""
    When more than one Sidecar with a selector matches a workload, which one applies is
    undefined (api:sidecar; istioctl IST0110, docs/semantics.md §analyzer-sidecar-selectors).
    """,
    bad="""
    kind: Sidecar
    metadata: {name: a}
    spec: {workloadSelector: {labels: {app: whoami}}}
    ---
    kind: Sidecar
    metadata: {name: b}
    spec: {workloadSelector: {labels: {version: v1}}}   # the same pods have both labels
    """,
    good="""
    kind: Sidecar
    metadata: {name: a}
    spec: {workloadSelector: {labels: {app: whoami}}}
    """,
    inputs=("Sidecar",),
    equivalents=("IST0110", "KIA0003"),
    references=("docs/semantics.md §analyzer-sidecar-selectors",),
)
def sidecars_select_same_workload(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    by_workload: dict[int, list[Sidecar]] = defaultdict(list)
    names: dict[int, Workload] = {}
    for sc in ctx.resources(Sidecar):
        if not _scoped(sc):
            continue
        for w in graph.select(sc.namespace, sc.workload_selector or {}, WORKLOAD_KINDS):
            if not _ambient_pod(w):
                by_workload[id(w)].append(sc)
                names[id(w)] = w
    reported: set[int] = set()
    for wid, scs in by_workload.items():
        if len(scs) < 2:
            continue
        w = names[wid]
        for sc in scs:
            if id(sc) in reported:
                continue
            reported.add(id(sc))
            others = [o for o in scs if o is not sc]
            yield Problem(sc, ("spec", "workloadSelector"),
                          f"Sidecar {sc.namespace}/{sc.name} and {', '.join(o.name for o in others)} select the same "
                          f"workload {w.resource.kind} {w.namespace}/{w.resource.name}; which one applies is undefined",
                          related=tuple((o, ("spec", "workloadSelector")) for o in others))


@rule(
    code="IVL722", family="analyzers_sidecar", name="multiple-namespace-sidecars", severity="error",
    summary="A namespace has more than one Sidecar without workloadSelector.",
    rationale="""
    A namespace may have at most one Sidecar without a `workloadSelector` (the namespace
    default); with several, which one applies is undefined (api:sidecar; istioctl IST0111,
    docs/semantics.md §analyzer-sidecar-selectors).
    """,
    bad="""
    kind: Sidecar
    metadata: {name: default, namespace: vm}
    ---
    kind: Sidecar
    metadata: {name: default-2, namespace: vm}
    """,
    good="""
    kind: Sidecar
    metadata: {name: default, namespace: vm}
    """,
    inputs=("Sidecar",),
    equivalents=("IST0111", "KIA0002"),
    references=("docs/semantics.md §analyzer-sidecar-selectors",),
)
def multiple_namespace_sidecars(ctx: Context) -> Iterator[Problem]:
    ambient = _ambient_namespaces(ctx)
    by_ns: dict[str, list[Sidecar]] = defaultdict(list)
    for sc in ctx.resources(Sidecar):
        if not _scoped(sc) and sc.namespace not in ambient:
            by_ns[sc.namespace].append(sc)
    for ns, scs in sorted(by_ns.items()):
        if len(scs) < 2:
            continue
        for sc in scs:
            others = [o for o in scs if o is not sc]
            yield Problem(sc, ("metadata", "name"),
                          f"Sidecar {ns}/{sc.name} and {', '.join(o.name for o in others)} have no workloadSelector; "
                          "only one namespace-wide Sidecar can apply",
                          related=tuple((o, ("metadata", "name")) for o in others))


@rule(
    code="IVL723", family="analyzers_sidecar", name="sidecar-in-ambient", severity="warning",
    summary="A Sidecar applies to ambient-mode workloads, which have no sidecar proxy.",
    rationale="""
    Workloads in ambient mode (namespace labelled `istio.io/dataplane-mode: ambient` without
    sidecar injection, or pods redirected by ztunnel) have no sidecar, so a Sidecar resource
    has no effect on them (istioctl IST0167, docs/semantics.md §analyzer-sidecar-selectors).
    """,
    bad="""
    kind: Namespace
    metadata: {name: apps, labels: {istio.io/dataplane-mode: ambient}}
    ---
    kind: Sidecar
    metadata: {name: default, namespace: apps}
    """,
    good="""
    kind: Namespace
    metadata: {name: apps, labels: {istio-injection: enabled}}
    """,
    inputs=("Sidecar",),
    equivalents=("IST0167",),
    references=("docs/semantics.md §analyzer-sidecar-selectors",),
)
def sidecar_in_ambient(ctx: Context) -> Iterator[Problem]:
    ambient = _ambient_namespaces(ctx)
    graph = ctx.graph
    for sc in ctx.each(Sidecar):
        if not _scoped(sc):
            if sc.namespace in ambient:
                yield Problem(sc, ("metadata", "namespace"), f"Sidecar {sc.namespace}/{sc.name} has no effect: namespace "
                              f"'{sc.namespace}' runs in ambient mode, without sidecar proxies")
            continue
        selected = graph.select(sc.namespace, sc.workload_selector or {}, WORKLOAD_KINDS)
        if selected and all(_ambient_pod(w) for w in selected):
            yield Problem(sc, ("spec", "workloadSelector"), f"Sidecar {sc.namespace}/{sc.name} has no effect: the "
                          "workloads it selects are redirected to ztunnel (ambient mode)")
