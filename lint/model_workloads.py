"""Workload controllers and pods in the typed model (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob, Argo Rollout, DeploymentConfig, Knative Service, Pod...): what
selectors and ports see of their pod templates.  Part of ``lint/model.py``, which re-exports
every name; import them from there."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

from .findings import FieldPath
from .resource import Resource, as_int, as_list, as_map, as_str, str_map


@dataclass
class ContainerPort:
    """A port a workload's container declares."""

    number: Optional[int]
    name: str
    protocol: str
    path: FieldPath


@dataclass
class PodTemplate:
    """Pod spec of a workload controller or bare Pod: what selectors and ports see."""

    labels: dict[str, str]
    annotations: dict[str, str]
    container_ports: list[ContainerPort]
    service_account: str
    path: FieldPath  # path of the pod template's ``metadata``-bearing mapping ("" for Pod)


def _pod_template(template: Any, base: FieldPath) -> PodTemplate:
    t = as_map(template)
    md = as_map(t.get("metadata"))
    spec = as_map(t.get("spec"))
    ports: list[ContainerPort] = []
    for key in ("containers", "initContainers"):
        for ci, c in enumerate(as_list(spec.get(key))):
            for pi, p in enumerate(as_list(as_map(c).get("ports"))):
                pm = as_map(p)
                ports.append(ContainerPort(as_int(pm.get("containerPort")), as_str(pm.get("name")),
                                           as_str(pm.get("protocol")) or "TCP",
                                           base + ("spec", key, ci, "ports", pi)))
    sa = as_str(spec.get("serviceAccountName")) or as_str(spec.get("serviceAccount")) or "default"
    return PodTemplate(str_map(md.get("labels")), str_map(md.get("annotations")), ports, sa, base)


class WorkloadController(Resource):
    """Deployment, StatefulSet, DaemonSet, ReplicaSet, Job (pod template at spec.template)."""

    TEMPLATE_PATH: FieldPath = ("spec", "template")

    @cached_property
    def pod(self) -> PodTemplate:
        return self.template_pod()

    def template_pod(self) -> PodTemplate:
        """The pod template at ``TEMPLATE_PATH`` (what ``pod`` is unless a subclass knows
        better; subclasses call this: a cached property is a slot, which super() cannot read, see
        ``Resource``)."""
        t: Any = self.data
        for part in self.TEMPLATE_PATH:
            t = as_map(t).get(part)  # type: ignore[arg-type]
        return _pod_template(t, self.TEMPLATE_PATH)

    @cached_property
    def selector(self) -> Optional[dict[str, str]]:
        sel = self.spec.get("selector")
        return str_map(as_map(sel).get("matchLabels")) if isinstance(sel, dict) else None

    @property
    def has_template(self) -> bool:
        """False only where the pods come from elsewhere (a Rollout's ``workloadRef``)."""
        return True


class CronJob(WorkloadController):
    TEMPLATE_PATH = ("spec", "jobTemplate", "spec", "template")


class Rollout(WorkloadController):
    """Argo Rollouts (argoproj.io): a Deployment-like pod template at ``spec.template``.

    With ``spec.workloadRef`` the pods come from the referenced Deployment's template (read as
    that Deployment): the Rollout itself then has no template and adds no workload."""

    @property
    def has_template(self) -> bool:
        return isinstance(self.spec.get("template"), dict) or "workloadRef" not in self.spec

    @cached_property
    def experiment_labels(self) -> list[tuple[dict[str, str], FieldPath]]:
        """Labels the Rollout's pods carry beside the template's: those of the pods canary
        ``experiment`` steps run (template ``metadata.labels``), and the ephemeral metadata the
        controller puts on the canary and stable pods (``canaryMetadata``/``stableMetadata``) or
        the active and preview pods of a blue-green Rollout (``activeMetadata``/
        ``previewMetadata``), which DestinationRule subsets commonly select
        (docs/semantics.md §rollout-ephemeral-metadata)."""
        out: list[tuple[dict[str, str], FieldPath]] = []
        strategy = as_map(self.spec.get("strategy"))
        steps = as_list(as_map(strategy.get("canary")).get("steps"))
        for si, step in enumerate(steps):
            templates = as_list(as_map(as_map(step).get("experiment")).get("templates"))
            for ti, t in enumerate(templates):
                labels = str_map(as_map(as_map(t).get("metadata")).get("labels"))
                if labels:
                    out.append((labels, ("spec", "strategy", "canary", "steps", si, "experiment", "templates", ti,
                                         "metadata", "labels")))
        for kind, fields in (("canary", ("canaryMetadata", "stableMetadata")),
                             ("blueGreen", ("activeMetadata", "previewMetadata"))):
            for f in fields:
                labels = str_map(as_map(as_map(as_map(strategy.get(kind)).get(f)).get("labels")))
                if labels:
                    out.append((labels, ("spec", "strategy", kind, f, "labels")))
        return out

    @property
    def workload_ref(self) -> Optional[tuple[str, str]]:
        """(kind, name) of ``spec.workloadRef``, when given."""
        ref = as_map(self.spec.get("workloadRef"))
        name = as_str(ref.get("name"))
        return (as_str(ref.get("kind")) or "Deployment", name) if name else None

    @cached_property
    def pod(self) -> PodTemplate:
        if self.has_template:
            return self.template_pod()
        # workloadRef without the referenced template at hand: the pods carry at least the
        # labels the Rollout selects them by.
        return PodTemplate(self.selector or {}, {}, [], "default", ("spec", "selector"))


class DeploymentConfig(WorkloadController):
    """OpenShift apps.openshift.io DeploymentConfig: ``spec.template``; ``spec.selector`` is a plain map."""

    @cached_property
    def selector(self) -> Optional[dict[str, str]]:
        sel = self.spec.get("selector")
        return str_map(sel) if isinstance(sel, dict) else None


class KnativeService(WorkloadController):
    """Knative Serving's Service (serving.knative.dev): its revisions' pods come from
    ``spec.template``, labelled by Knative with the service and configuration names.  Loaded
    as kind ``Service.serving.knative.dev`` so it is never taken for a Kubernetes Service."""

    KNATIVE_LABELS = ("serving.knative.dev/service", "serving.knative.dev/configuration")

    @cached_property
    def pod(self) -> PodTemplate:
        pod = self.template_pod()
        labels = dict(pod.labels)
        for key in self.KNATIVE_LABELS:
            labels.setdefault(key, self.name)
        return PodTemplate(labels, pod.annotations, pod.container_ports, pod.service_account, pod.path)


class OpaqueWorkload(WorkloadController):
    """A kind the model does not know whose ``spec.template`` looks like a pod template
    (``metadata.labels`` and ``spec.containers``): OpenKruise CloneSets, in-house operators.
    Its pods are assumed to carry the template's labels, so a selector it could satisfy is
    not reported; its ports are not known (``served_ports`` stays unknown)."""

    @staticmethod
    def looks_like(data: Any) -> bool:
        template = as_map(as_map(as_map(data).get("spec")).get("template"))
        labels = as_map(template.get("metadata")).get("labels")
        containers = as_map(template.get("spec")).get("containers")
        return isinstance(labels, dict) and bool(labels) and isinstance(containers, list) and bool(containers)


class Pod(WorkloadController):
    TEMPLATE_PATH = ()

    @cached_property
    def pod(self) -> PodTemplate:
        return _pod_template(self.data, ())
