"""Cached properties of the model are slots (``lint/resource.py``, ``_CachedSlots``): the values
are computed once, ``forget`` drops them, the instance ``__dict__`` holds only the dataclass
fields (so it stays compact), and no subclass reads a parent's cached value with ``super()``
(that is an ``AttributeError`` with slots)."""

from __future__ import annotations

import re
from dataclasses import fields

from conftest import ROOT
from istio_vm_lint import model
from istio_vm_lint.findings import ResourceRef
from istio_vm_lint.loader import PositionIndex
from istio_vm_lint.resource import Resource, SourceFile


def _service_entry() -> model.ServiceEntry:
    src = SourceFile("se.yaml", None, PositionIndex(None))
    data = {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": "a", "labels": {"app": "a"}}, "spec": {"hosts": ["a.example.com"]}}
    return model.ServiceEntry("ServiceEntry", "networking.istio.io/v1", "a", "ns", True, data, src, 0, 1, 1)


def test_cached_values_live_in_slots_and_can_be_forgotten() -> None:
    se = _service_entry()
    assert se.hosts == ["a.example.com"] and se.hosts is se.hosts
    assert se.labels == {"app": "a"} and se.ref == ResourceRef("ServiceEntry", "a", "ns")
    assert set(se.__dict__) == {f.name for f in fields(Resource)}
    se.namespace = "other"
    assert se.ref.namespace == "ns"
    se.forget("ref", "never-computed")
    assert se.ref.namespace == "other"
    try:
        se.no_such_attribute  # noqa: B018
    except AttributeError as exc:
        assert "no_such_attribute" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("unknown attribute read")


def test_no_subclass_reads_a_cached_property_through_super() -> None:
    cached: set[str] = set()
    for obj in vars(model).values():
        if isinstance(obj, type) and issubclass(obj, Resource):
            cached |= set(obj._cached_funcs)  # type: ignore[attr-defined]
    assert {"pod", "hosts", "labels"} <= cached
    pattern = re.compile(r"super\(\)\.(" + "|".join(sorted(cached)) + r")\b")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for folder in ("lint", "rules") for p in sorted((ROOT / folder).rglob("*.py"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line) and not line.lstrip().startswith("#")]
    assert not offenders, offenders
