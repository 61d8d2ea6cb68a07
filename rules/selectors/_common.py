"""Helpers shared by the ``selectors`` rule modules: what is searched, near-miss hints, the
resources whose selector selects."""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Optional, TypeVar

from istio_vm_lint.findings import FieldPath
from istio_vm_lint.graph import MeshGraph, Workload
from istio_vm_lint.model import Resource, Service, ServiceEntry
from istio_vm_lint.rule import Context

from .._messages import describe, wkey

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SELECTABLE = ("WorkloadEntry", "WorkloadGroup", "Pod")
SEARCHED = "WorkloadEntries, WorkloadGroups and pod templates (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod)"

# Labels a running endpoint carries that no YAML in the repository shows (§label-selection topology labels,
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


def closeness(w: Workload, sel: dict[str, str]) -> int:
    """How near a workload's labels come to a selector: equal pairs count 2, same key with
    another value 1 (0: nothing in common)."""
    return sum(2 if w.labels.get(k) == v else 1 for k, v in sel.items() if k in w.labels)


def nearest(cands: Iterable[Workload], sel: dict[str, str]) -> Optional[Workload]:
    """The candidate closest to the selector (:func:`closeness`; ties: the first in stable order)."""
    best: Optional[tuple[int, Workload]] = None
    for w in sorted(cands, key=wkey):
        score = closeness(w, sel)
        if score > 0 and (best is None or score > best[0]):
            best = (score, w)
    return best[1] if best else None


def nearest_hint(near: Optional[Workload], sel: dict[str, str]) -> str:
    """``; nearest: <what differs>`` for the workload a selector was probably meant for, or ``""``."""
    return f"; nearest: {mismatch(near, sel)}" if near is not None else ""


def near_related(near: Optional[Workload]) -> tuple:
    """A near miss as a finding's related location: its labels, the other end of the broken edge."""
    return ((near.resource, near.labels_path),) if near is not None else ()


def selector_owners(ctx: Context) -> Iterator[tuple[Resource, dict[str, str], FieldPath]]:
    """ServiceEntries (not NONE: the selector is ignored, IVL631) and Services whose selector selects."""
    for se in ctx.each(ServiceEntry):
        if se.selector and se.resolution in ("STATIC", "DNS", "DNS_ROUND_ROBIN"):
            yield se, se.selector, ("spec", "workloadSelector", "labels")
    for svc in ctx.each(Service):
        if svc.selector and svc.service_type != "ExternalName":
            yield svc, svc.selector, ("spec", "selector")


def elsewhere(graph: MeshGraph, r: Resource, sel: dict[str, str]) -> list[Workload]:
    return sorted((w for w in graph.select_any_namespace(sel, SELECTABLE) if w.namespace != r.namespace), key=wkey)


O = TypeVar("O", ServiceEntry, Service)


def orphans(ctx: Context, kind: type[O]) -> Iterator[tuple[O, dict[str, str], FieldPath]]:
    """Selector owners of ``kind`` that match no workload by labels in their namespace, while the
    repository declares workloads there and none elsewhere matches either."""
    graph = ctx.graph
    for r, sel, path in selector_owners(ctx):
        if not isinstance(r, kind) or graph.bindings_by_service.get(id(r)):
            continue
        if graph.select(r.namespace, sel, SELECTABLE):
            continue  # matched by labels but filtered (IVL104/IVL105)
        if elsewhere(graph, r, sel):
            continue  # IVL103
        if not graph.select(r.namespace, {}, SELECTABLE):
            continue  # the repository declares no workloads here: nothing to compare against
        yield r, sel, path



def looks_like_gateway(w: Workload) -> bool:
    r = w.resource
    pod = getattr(r, "pod", None)
    annotations = pod.annotations if pod is not None else {}
    return ("istio" in w.labels or "gateway.istio.io/managed" in w.labels
            or "gateway" in annotations.get("inject.istio.io/templates", ""))
