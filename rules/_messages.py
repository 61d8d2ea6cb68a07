"""Wording shared by rule messages: how a resource, a selector and a workload are named, and
the stable order in which lists of them are printed (never document order)."""

from __future__ import annotations

from istio_vm_lint.graph import Workload
from istio_vm_lint.model import Resource


def owner(r: Resource) -> str:
    """``WorkloadEntry vm/whoami-1``."""
    return f"{r.kind} {r.namespace}/{r.name}"


def sel_str(sel: dict[str, str]) -> str:
    """``app=whoami,version=v1`` (sorted); ``{}`` for an empty selector."""
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "{}"


def rkey(r: Resource) -> tuple:
    """Stable order for resources."""
    return (r.kind, r.namespace, r.name, r.source.path, r.doc_index)


def wkey(w: Workload) -> tuple:
    """Stable order for workloads: never document order (hints and lists must not depend on it)."""
    r = w.resource
    return (r.kind, r.namespace, r.name, r.source.path, r.doc_index, str(w.endpoint.path) if w.endpoint else "")


def describe(w: Workload) -> str:
    """``pod template of Deployment ns/name``, ``endpoint 10.0.0.1 of ServiceEntry ns/name``, ``WorkloadEntry ns/name``."""
    r = w.resource
    if w.kind == "Pod" and r.kind != "Pod":
        return f"pod template of {r.kind} {r.namespace}/{r.name}"
    if w.kind == "Endpoint":
        return f"endpoint {w.endpoint.address if w.endpoint else ''} of {r.kind} {r.namespace}/{r.name}"
    return owner(r)
