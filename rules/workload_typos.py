"""IVL125: a WorkloadEntry that a label typo keeps out of the service its siblings serve.

A WorkloadEntry is an endpoint of a service only when the service's selector matches every
one of its labels (docs/semantics.md §label-selection). IVL109 reports entries nothing selects
as information, since a VM may only make outbound calls; this rule reports the case where the
repository shows what was meant: a sibling entry (same name but for its trailing index) is
selected, and this entry misses the same selector by one misspelt label value.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Resource, Service, ServiceEntry, WorkloadEntry
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import owner, sel_str
from istio_vm_lint.rules.authorization import _distance

_INDEX = re.compile(r"[-_.]?[0-9]+$|[-_.][a-z]$")


def _stem(name: str) -> str:
    return _INDEX.sub("", name)


def _near(a: str, b: str) -> bool:
    return a != b and min(len(a), len(b)) >= 3 and _distance(a, b) <= 2


def _one_near_miss(labels: dict[str, str], sel: dict[str, str]) -> Optional[str]:
    """The one selector key whose value the labels misspell, when every other pair matches."""
    wrong = [k for k, v in sel.items() if labels.get(k) != v]
    if len(wrong) != 1 or wrong[0] not in labels or not _near(labels[wrong[0]], sel[wrong[0]]):
        return None
    return wrong[0]


@rule(
    code="IVL125", family="selectors", name="workload-entry-label-typo", severity="warning",
    summary="A WorkloadEntry misses the selector that selects its sibling entries by one misspelt label value, so it receives no traffic.",
    rationale="""
    A Service or ServiceEntry selects the WorkloadEntries whose labels contain every pair of its
    selector (docs/semantics.md §label-selection). When entries named alike (`reviews-vm-1`,
    `reviews-vm-2`) serve one service and one of them carries a near-miss value for one selector
    label (`app: review`), that VM silently receives no traffic: the service runs on fewer
    machines than deployed, and failover or subsets that count on it lose it. Reported only
    when a sibling entry (same name up to a trailing index) is selected by that selector, all
    other selector pairs match, and the one differing value is within two edits of the
    selector's; other unselected entries remain IVL109's information.
    """,
    bad="""
    kind: WorkloadEntry
    metadata: {name: reviews-vm-2, namespace: reviews}
    spec: {address: 10.60.0.12, labels: {app: review, version: v1}}   # reviews-vm-1 has app: reviews
    """,
    good="""
    kind: WorkloadEntry
    metadata: {name: reviews-vm-2, namespace: reviews}
    spec: {address: 10.60.0.12, labels: {app: reviews, version: v1}}
    """,
    inputs=("WorkloadEntry", "Service", "ServiceEntry"),
    equivalents=(),
    references=("docs/semantics.md §label-selection",),
)
def workload_entry_label_typo(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    selectors: list[tuple[Resource, dict[str, str]]] = []
    for se in ctx.resources(ServiceEntry):
        if se.selector:
            selectors.append((se, se.selector))
    for svc in ctx.resources(Service):
        if svc.selector and svc.service_type != "ExternalName":
            selectors.append((svc, svc.selector))
    if not selectors:
        return
    selectors.sort(key=lambda t: (t[0].kind, t[0].namespace, t[0].name))
    # Index once (linear): a finding needs a sibling the selector selects, so for each
    # (namespace, stem) keep, in the order above, the selectors that select an entry with that
    # stem, and the entries they select.
    # The index of a namespace is built when an entry of it needs it (a named-file run
    # iterates a few namespaces' entries: lint/relevance.py).
    in_ns: dict[str, list[int]] = {}
    for i, (res, _sel) in enumerate(selectors):
        in_ns.setdefault(res.namespace, []).append(i)
    by_stem: dict[str, dict[str, list[tuple[int, list[Resource]]]]] = {}
    for we in ctx.each(WorkloadEntry):
        ws = [w for w in graph.workloads_of.get(id(we), ()) if w.kind == "WorkloadEntry"]
        if not ws or graph.bindings_by_workload.get(id(ws[0])):
            continue
        w = ws[0]
        stem = _stem(we.name)
        if not stem or stem == we.name:
            continue
        index = by_stem.get(we.namespace)
        if index is None:
            index = by_stem[we.namespace] = {}
            for i in in_ns.get(we.namespace, ()):
                res, sel = selectors[i]
                groups: dict[str, list[Resource]] = {}
                for s in graph.select(res.namespace, sel, ("WorkloadEntry",)):
                    groups.setdefault(_stem(s.resource.name), []).append(s.resource)
                for st, members in groups.items():
                    index.setdefault(st, []).append((i, members))
        for i, members in index.get(stem, ()):
            res, sel = selectors[i]
            key = _one_near_miss(w.labels, sel)
            if key is None:
                continue
            siblings = [m for m in members if m is not we]
            if not siblings:
                continue
            sib = sorted(m.name for m in siblings)[0]
            yield Problem(we, w.labels_path + (key,) if w.labels_path else w.labels_path,
                          f"WorkloadEntry {we.namespace}/{we.name} has {key}={w.labels[key]}, but {owner(res)} selects "
                          f"{sel_str(sel)} and selects its sibling {sib}: this VM is an endpoint of no service and "
                          f"receives no traffic (did you mean {key}={sel[key]}?) (§label-selection)")
            break
