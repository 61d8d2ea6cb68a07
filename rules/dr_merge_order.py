"""IVL408: DestinationRules for one host in one namespace whose top-level policies compete
(docs/semantics.md §destinationrule-merge)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import DestinationRule
from istio_vm_lint.rule import Context, rule

# --- IVL408 ---------------------------------------------------------------------------------


@rule(
    code="IVL408", family="traffic_policy", name="order-dependent-destination-rule-merge", severity="warning",
    summary="Several DestinationRules for the same host in one namespace each set a top-level trafficPolicy; only one applies.",
    rationale="""
    DestinationRules for the same host in the same namespace are merged: subsets are
    concatenated but only the *first processed* top-level `trafficPolicy` is kept, the others
    are discarded — and which one is first depends on creation order, which a repository
    cannot show (docs/semantics.md §destinationrule-merge, `mergeDestinationRule`; §repository-limits). Outlier detection, TLS or failover set in the
    losing rule silently disappear (info when the policies are identical). Rules with different workloadSelectors
    are kept separate and not reported; so are rules with different `exportTo`. Put the policy in one rule.
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: whoami-lb, namespace: vm}
    spec: {host: whoami.example.internal, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}
    ---
    kind: DestinationRule
    metadata: {name: whoami-outlier, namespace: vm}
    spec: {host: whoami.example.internal, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}}}
    """,
    good="""
    kind: DestinationRule
    metadata: {name: whoami, namespace: vm}
    spec:
      host: whoami.example.internal
      trafficPolicy:
        loadBalancer: {simple: ROUND_ROBIN}
        outlierDetection: {consecutive5xxErrors: 5}
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §destinationrule-merge", "docs/semantics.md §repository-limits"),
)
def order_dependent_merge(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    # Reported: the rules iterated (a named-file run iterates only those it can report on,
    # lint/relevance.py), each with the others of its group; a group is within a namespace,
    # so the rules of a namespace are grouped when one of them is iterated.
    in_ns: dict[str, list[DestinationRule]] = defaultdict(list)
    for dr in ctx.resources(DestinationRule):
        in_ns[dr.namespace].append(dr)
    groups: dict[tuple[Any, ...], list[DestinationRule]] = defaultdict(list)
    key_of: dict[int, tuple[Any, ...]] = {}
    grouped: set[str] = set()
    for dr in ctx.each(DestinationRule):
        if dr.namespace not in grouped:
            grouped.add(dr.namespace)
            for o in in_ns[dr.namespace]:
                if not o.traffic_policy or not o.host:
                    continue
                sel = o.workload_selector
                key = key_of[id(o)] = (o.namespace, graph.dr_host(o), None if sel is None else tuple(sorted(sel.items())),
                                       tuple(sorted(o.export_to)))
                groups[key].append(o)
        mine = key_of.get(id(dr))
        if mine is None or len(groups[mine]) < 2:
            continue
        drs = groups[mine]
        ns, host = mine[0], mine[1]
        others = sorted((o for o in drs if o is not dr), key=lambda o: (o.namespace, o.name))
        names = ", ".join(f"{o.namespace}/{o.name}" for o in others)
        same = all(o.traffic_policy == dr.traffic_policy for o in others)  # a copy: nothing is lost
        yield Problem(dr, ("spec", "trafficPolicy"),
                      f"DestinationRule {dr.namespace}/{dr.name} and {names} all set a top-level trafficPolicy for "
                      f"{host} in namespace '{ns}': Istio keeps only the first one processed (creation order), "
                      "the others are discarded — merge the policies into one rule (§destinationrule-merge)"
                      + (" (the policies are identical, so nothing is lost whichever comes first)" if same else ""),
                      related=tuple((o, ("spec", "trafficPolicy")) for o in others), severity="info" if same else None)
