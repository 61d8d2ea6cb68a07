"""The rule-authoring contract (lint/rule.py): explicit families, typed ``ctx.each``."""

from __future__ import annotations

import textwrap

import pytest
from istio_vm_lint.config import Settings
from istio_vm_lint.loader import PositionIndex
from istio_vm_lint.model import Pod, Resource, ServiceEntry, SourceFile, WorkloadController
from istio_vm_lint.project import Project, load_file
from istio_vm_lint.rule import Context, rule

DOCS = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: a}
spec: {hosts: [x.example.com]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: a}
spec: {template: {metadata: {labels: {app: d}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
spec: {}
"""


def _ctx() -> Context:
    project = Project()
    raw = textwrap.dedent(DOCS).encode()
    load_file(project, SourceFile("x.yaml", None, PositionIndex(raw), True, raw), raw)
    assert not project.problems, project.problems
    return Context(project, Settings())


def test_each_accepts_model_classes_and_kind_names() -> None:
    ctx = _ctx()
    ses = list(ctx.each(ServiceEntry))
    assert [type(r) for r in ses] == [ServiceEntry]
    assert [r.name for r in ctx.each("ServiceEntry")] == ["se"]
    # a class stands for every kind built with it or a subclass
    assert sorted(r.kind for r in ctx.each(WorkloadController)) == ["Deployment", "Pod"]
    assert [r.kind for r in ctx.each(Pod)] == ["Pod"]
    assert sorted(r.kind for r in ctx.each(ServiceEntry, "Pod")) == ["Pod", "ServiceEntry"]
    assert ctx.current is None
    with pytest.raises(ValueError):
        list(ctx.each(type("NotAKind", (Resource,), {})))


def test_family_is_required_and_explicit() -> None:
    kw = dict(code="IVL999", name="x-y", severity="info", summary="s", rationale="r", bad="b", good="g")
    with pytest.raises(TypeError):
        rule(**kw)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        rule(family="Not A Family", **kw)


def test_family_does_not_depend_on_the_module() -> None:
    from istio_vm_lint.engine import all_rules

    rules = all_rules()
    assert rules["IVL101"].family == "selectors"
    assert rules["IVL108"].check.__module__.endswith("selectors.subsets")
