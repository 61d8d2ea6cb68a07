"""IVL126: PeerAuthentication `portLevelMtls` keyed by a service port.

The server proxy looks a port-level mTLS mode up by the port the connection arrives on, the
workload's port (docs/semantics.md §peer-authentication-ports).
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import PeerAuthentication, as_int, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.authorization import workload_port_map
from istio_vm_lint.rules.authorization_tcp import gateway_workload
from istio_vm_lint.rules.workload_selectors import SELECTABLE


@rule(
    code="IVL126", family="authorization", name="peer-authentication-port-is-service-port", severity="warning",
    severity_note="error when the port-level mode relaxes a STRICT policy (PERMISSIVE/DISABLE): the plain-text clients it was written for are refused.",
    summary="A PeerAuthentication's portLevelMtls names a service port, but the selected workloads receive that traffic on another port, so the port-level mode never applies.",
    rationale="""
    `portLevelMtls` is keyed by the port the connection arrives on at the workload — the
    Service's or ServiceEntry's `targetPort`, or the WorkloadEntry `ports` value — because the
    server proxy looks the mode up by its inbound listener's port (docs/semantics.md
    §peer-authentication-ports). Keyed by the service port (80 where the VM receives on 8080),
    the entry matches no inbound port: the workload-level mode applies instead. A PERMISSIVE or
    DISABLE exception under a STRICT policy then refuses the plain-text clients (health checkers,
    clients without sidecars) it was written for (an error); a STRICT port under a PERMISSIVE
    policy silently stays permissive. Reported when every selected workload's ports are known
    from the repository, the key is a service port of theirs and none receives on it.
    """,
    bad="""
    # Service ledger: port 80 -> targetPort 8080
    kind: PeerAuthentication
    spec:
      selector: {matchLabels: {app: ledger}}
      mtls: {mode: STRICT}
      portLevelMtls:
        80: {mode: PERMISSIVE}
    """,
    good="""
      portLevelMtls:
        8080: {mode: PERMISSIVE}
    """,
    inputs=("PeerAuthentication",),
    equivalents=(),
    references=("docs/semantics.md §peer-authentication-ports",),
)
def peer_authentication_port_is_service_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for pa in ctx.each(PeerAuthentication):
        levels = as_map(pa.spec.get("portLevelMtls"))
        sel = pa.selector
        if not levels or not sel or pa.namespace == ctx.root_namespace:
            continue
        workloads = graph.select(pa.namespace, sel, SELECTABLE)
        if not workloads or any(gateway_workload(ctx, w) for w in workloads):
            continue  # gateways: their listeners are the Gateway servers
        ports = workload_port_map(ctx, workloads)
        if ports is None:
            continue
        recv, svc = ports
        top = pa.mtls_mode.upper()
        for key, value in levels.items():
            port = as_int(key)
            if port is None or port in recv or port not in svc:
                continue
            mode = as_str(as_map(value).get("mode")).upper() or "UNSET"
            severe = top == "STRICT" and mode in ("PERMISSIVE", "DISABLE")
            targets = ", ".join(str(p) for p in sorted(svc[port]))
            effect = (f"so the {mode} exception never applies and the plain-text clients it admits are refused by "
                      "the STRICT policy" if severe else
                      f"so the {mode} setting never applies and the workload-level mode ({top}) governs that port")
            yield Problem(pa, ("spec", "portLevelMtls", key),
                          f"PeerAuthentication {pa.namespace}/{pa.name}: portLevelMtls port {port} is a service port, "
                          f"but the workloads of selector {sel_str(sel)} receive that traffic on {targets}, the port "
                          f"the proxy looks the mode up by, {effect} (§peer-authentication-ports)",
                          severity="error" if severe else None)
