"""IVL180: an AuthorizationPolicy or PeerAuthentication port that none of the selected workloads
receives on (docs/semantics.md §policy-port-evidence).

IVL117 and IVL126 report the common confusion of a *service* port with the workload port;
this rule reports a port that is neither: no service port leads to it, no container, probe or
WorkloadEntry/WorkloadGroup port declares it — typically a typo (`9110` for `9100`) or a port
from another service.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import AuthorizationPolicy, PeerAuthentication, as_int, as_list, as_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.authorization import _rule_items, workload_port_map
from istio_vm_lint.rules.authorization_tcp import gateway_workload
from istio_vm_lint.rules.workload_selectors import SELECTABLE, policy_scope, selected_workloads

_PROXY_PORTS = range(15000, 15100)  # the sidecar's own ports (15020 metrics, 15021 health ...)
_PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


def _template(w: Workload) -> dict[str, Any]:
    """The pod template (the WorkloadGroup spec) behind a workload, as plain data."""
    if w.kind == "WorkloadGroup":
        return as_map(as_map(w.resource.data).get("spec"))
    pod = getattr(w.resource, "pod", None)
    if w.kind != "Pod" or pod is None:
        return {}
    node: Any = w.resource.data
    for key in pod.path:
        node = as_map(node).get(key) if isinstance(key, str) else None
    return as_map(node)


def evidence_ports(w: Workload) -> set[int]:
    """Ports a workload's own definition mentions besides its declared ports: probe ports and
    numbers in pod annotations (prometheus.io/port, includeInboundPorts ...)."""
    out: set[int] = set()
    t = _template(w)
    if w.kind == "WorkloadGroup":
        probe = as_map(t.get("probe"))
        for key in ("httpGet", "tcpSocket", "grpc"):
            p = as_int(as_map(probe.get(key)).get("port"))
            if p is not None:
                out.add(p)
        return out
    if w.kind != "Pod":
        return out
    for value in as_map(as_map(t.get("metadata")).get("annotations")).values():
        if isinstance(value, str):
            out.update(int(tok) for tok in re.findall(r"\b\d{1,5}\b", value))
    spec = as_map(t.get("spec"))
    for key in ("containers", "initContainers"):
        for c in as_list(spec.get(key)):
            for probe_key in _PROBES:
                probe = as_map(as_map(c).get(probe_key))
                for kind in ("httpGet", "tcpSocket", "grpc"):
                    p = as_int(as_map(probe.get(kind)).get("port"))
                    if p is not None:
                        out.add(p)
    return out


def _unserved(ctx: Context, workloads: list[Workload]) -> Optional[tuple[set[int], set[int]]]:
    """(ports the workloads receive on, every port that may be theirs) or None when unknown."""
    if not workloads or any(gateway_workload(ctx, w) for w in workloads):
        return None  # gateways: their listeners are the Gateway servers
    ports = workload_port_map(ctx, workloads)
    if ports is None:
        return None
    recv, svc = ports
    known = set(recv) | set(svc)
    for w in workloads:
        known |= evidence_ports(w)
    return recv, known


def _shown(recv: set[int]) -> str:
    return ", ".join(str(p) for p in sorted(recv)[:8])


@rule(
    code="IVL180", family="authorization", name="policy-port-not-served", severity="warning",
    summary="An AuthorizationPolicy's to.operation.ports or a PeerAuthentication's portLevelMtls names a port that none of the selected workloads receives on.",
    rationale="""
    Both are matched by the server proxy against the port the inbound connection arrives on,
    the workload's port (docs/semantics.md §authorization-attributes,
    §peer-authentication-ports). A port that no selected workload receives on never matches: an
    ALLOW rule written for it admits nothing (the requests it was meant for are denied, 403), a
    DENY rule never applies, and a port-level mTLS mode never governs any traffic (a PERMISSIVE
    exception for a plain-text scraper is refused under STRICT). Reported when the ports of
    every selected workload are known from the repository (bindings to Services and
    ServiceEntries, WorkloadEntry/WorkloadGroup ports, container ports) and the port appears
    nowhere in them: not a service port (IVL117/IVL126 report those), not a container, probe or
    WorkloadGroup port, no number in a pod annotation (`prometheus.io/port`), not a port of the
    proxy itself (15000-15099) (§policy-port-evidence). Gateways are not checked (their
    listeners are the Gateway servers).
    """,
    bad="""
    # WorkloadEntries hr-vm-*: ports {http-web: 8080, http-metrics: 9100}
    kind: AuthorizationPolicy
    metadata: {name: hr-metrics, namespace: hr}
    spec:
      selector: {matchLabels: {app: hr-legacy}}
      rules:
      - to: [{operation: {ports: ["9110"]}}]    # the VMs serve metrics on 9100
    """,
    good="""
      rules:
      - to: [{operation: {ports: ["9100"]}}]
    """,
    inputs=("AuthorizationPolicy", "PeerAuthentication"),
    equivalents=(),
    references=("docs/semantics.md §authorization-attributes", "docs/semantics.md §peer-authentication-ports",
                "docs/semantics.md §policy-port-evidence"),
)
def policy_port_not_served(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for ap in ctx.each(AuthorizationPolicy):
        sel = ap.selector or {}
        if ap.target_refs or (not sel and ap.namespace == ctx.root_namespace):
            continue  # gateways/waypoints, or every proxy of the mesh
        workloads = selected_workloads(graph, sel, policy_scope(ctx, ap))
        found = _unserved(ctx, workloads)
        if found is None:
            continue
        recv, known = found
        what = f"selector {sel_str(sel)}" if sel else f"namespace '{ap.namespace}'"
        for op, path in _rule_items(ap, "to", "operation"):
            for key in ("ports", "notPorts"):
                for k, raw in enumerate(as_list(op.get(key))):
                    port = as_int(raw)
                    if port is None or port in known or port in _PROXY_PORTS:
                        continue
                    allow = ap.action == "ALLOW" and key == "ports"
                    effect = ("so the rule never matches and the requests it was written to admit are denied (403)"
                              if allow else "so the rule never matches and the policy silently does not apply there")
                    yield Problem(ap, path + (key, k),
                                  f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{raw}' is not a "
                                  f"port the workloads of {what} receive on (they receive on {_shown(recv)}: targetPorts, "
                                  f"WorkloadEntry/WorkloadGroup and container ports), {effect} (§policy-port-evidence)")
    for pa in ctx.each(PeerAuthentication):
        levels = as_map(pa.spec.get("portLevelMtls"))
        sel = pa.selector
        if not levels or not sel or pa.namespace == ctx.root_namespace:
            continue
        found = _unserved(ctx, graph.select(pa.namespace, sel, SELECTABLE))
        if found is None:
            continue
        recv, known = found
        for key, value in levels.items():
            port = as_int(key)
            if port is None or port in known or port in _PROXY_PORTS:
                continue
            mode = str(as_map(value).get("mode") or "UNSET").upper()
            yield Problem(pa, ("spec", "portLevelMtls", key),
                          f"PeerAuthentication {pa.namespace}/{pa.name}: portLevelMtls port {port} is not a port the "
                          f"workloads of selector {sel_str(sel)} receive on (they receive on {_shown(recv)}), so the "
                          f"{mode} setting never applies and the workload-level mode governs every port "
                          "(§policy-port-evidence)")
