"""IVL680: a DENY AuthorizationPolicy rule of HTTP attributes only, on workloads with TCP ports.

Istio's validation warns about every such rule ("configured AuthorizationPolicy will deny all
traffic to TCP ports under its scope ..."); here the warning's condition is kept and checked
against what the rule applies to: it is reported only where a selected workload actually
receives traffic on a port whose protocol is TCP-level (TCP, HTTPS, TLS, MongoDB, MySQL, Redis), which
is where the rule turns into "deny every connection" (docs/semantics.md
§authorization-deny-tcp).
"""

from __future__ import annotations

from typing import Any, Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import AuthorizationPolicy, as_list, as_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.ports import _port_protocol
from istio_vm_lint.rules.selectors._common import STOCK_GATEWAY_LABELS, looks_like_gateway
from istio_vm_lint.rules.workload_selectors import policy_scope, selected_workloads

# Port protocols whose inbound filter chain is TCP (protocol.Instance.IsTCP: TCP, HTTPS, TLS,
# Mongo, Redis, MySQL): RBAC there cannot see HTTP attributes.
TCP_PROTOCOLS = frozenset({"TCP", "HTTPS", "TLS", "MONGO", "MYSQL", "REDIS"})
# Source fields a TCP filter can match (tcpRulesInFrom in ValidateAuthorizationPolicy).
_TCP_SOURCE = ("principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks",
               "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts", "notServiceAccounts")


def http_only_rule(r: dict[str, Any]) -> tuple[bool, bool]:
    """(Istio's warning condition holds for this rule, its sources are TCP-level)."""
    from_exist = tcp_from = to_exist = tcp_to = False
    for f in as_list(r.get("from")):
        src = as_map(f).get("source")
        if isinstance(src, dict):
            from_exist = True
            tcp_from = tcp_from or any(as_list(src.get(k)) for k in _TCP_SOURCE)
    for t in as_list(r.get("to")):
        op = as_map(t).get("operation")
        if isinstance(op, dict):
            to_exist = True
            tcp_to = tcp_to or bool(as_list(op.get("ports")) or as_list(op.get("notPorts")))
    return (from_exist and not to_exist and not tcp_from) or (to_exist and not tcp_to), tcp_from


_GATEWAY_NAME_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name")


def _gateway_proxies(ctx: Context) -> set[int]:
    """Workloads some Gateway selects: their listeners come from the Gateway's servers, whose
    protocol (an HTTPS server terminating TLS serves HTTP) is not the Service port's."""
    graph = ctx.graph

    def compute() -> set[int]:
        return {id(w) for gw in graph.gateways.values() if gw.selector
                for w in graph.select_any_namespace(gw.selector, ("Pod",))}

    return ctx.memo(("gateway-proxies",), compute)


def _is_gateway(ctx: Context, w: Workload) -> bool:
    return (looks_like_gateway(w) or id(w) in _gateway_proxies(ctx)
            or any(k in w.labels for k in _GATEWAY_NAME_LABELS)
            or any(w.labels.get(k) == v for k, v in STOCK_GATEWAY_LABELS if v is not None))


def _tcp_ports(ctx: Context, w: Workload) -> set[int]:
    """Ports the workload receives TCP-level traffic on (endpoint ports of TCP-protocol service ports)."""
    graph = ctx.graph
    out: set[int] = set()
    for b in graph.bindings_by_workload.get(id(w), ()):
        services = graph.services_of.get(id(b.service_resource), [])
        if not services:
            continue
        svc = services[0]
        for p in svc.ports:
            ep = b.ports.get(p.number) if p.number is not None else None
            if ep and _port_protocol(svc, p) in TCP_PROTOCOLS:
                out.add(ep)
    return out


@rule(
    code="IVL680", family="authorization", name="authorization-deny-http-only-on-tcp-port", severity="error",
    summary="A DENY AuthorizationPolicy rule uses only HTTP attributes, and a workload it applies to serves a TCP port: every connection to that port is denied.",
    rationale="""
    On a TCP port the proxy's RBAC filter cannot see paths, methods, hosts, headers or JWT
    claims. For a DENY rule Istio does not drop such a rule there, it drops the HTTP conditions
    (`checkError` in `pilot/pkg/security/authz/model`: a wider DENY), so a rule meant for
    `/admin` on an HTTP port denies every connection to the TCP ports of the same workloads —
    a database on a VM behind a mesh-wide "deny /debug" rule becomes unreachable. Istio's
    validation warns about every rule of this shape whatever the workloads serve
    (docs/semantics.md §authorization-deny-tcp, §validation-authorizationpolicy); this rule
    reports it only where a selected workload (pod template, WorkloadEntry, WorkloadGroup)
    is the endpoint of a service port whose protocol is TCP, HTTPS, TLS, MongoDB, MySQL or
    Redis (gateways are left out: their listeners follow the Gateway's servers). Add
    the HTTP port to the operation's `ports`, or narrow the selector.
    """,
    bad="""
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: deny-debug, namespace: istio-system}
    spec:
      action: DENY
      rules:
      - to:                          # applies to every workload, the TCP database VMs too
        - operation:
            paths: ["/debug/*"]
    """,
    good="""
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: deny-debug, namespace: istio-system}
    spec:
      action: DENY
      rules:
      - to:
        - operation:
            ports: ["8080"]
            paths: ["/debug/*"]
    """,
    inputs=("AuthorizationPolicy", "Service", "ServiceEntry", "WorkloadEntry", "WorkloadGroup", "Deployment",
            "StatefulSet", "Pod"),
    equivalents=("IST0133",),
    references=("docs/semantics.md §authorization-deny-tcp", "docs/semantics.md §validation-authorizationpolicy"),
)
def authorization_deny_http_only_on_tcp_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for ap in ctx.each(AuthorizationPolicy):
        if ap.action != "DENY" or ap.target_refs:
            continue  # waypoints and gateways (targetRefs): not modelled
        rules = [(i, r) for i, r in enumerate(as_list(ap.spec.get("rules"))) if isinstance(r, dict)]
        flagged = [(i, tcp_from) for i, r in rules for cond, tcp_from in [http_only_rule(r)] if cond]
        if not flagged:
            continue
        sel = ap.selector or {}
        hits: dict[int, list[str]] = {}
        for w in selected_workloads(graph, sel, policy_scope(ctx, ap)):
            if w.kind in ("WorkloadEntry", "Endpoint") and w.tls_mode != "istio":
                continue  # no proxy on that endpoint: no policy is enforced there
            if _is_gateway(ctx, w):
                continue  # gateway listeners follow the Gateway's servers, not the Service's port protocols
            for port in sorted(_tcp_ports(ctx, w)):
                hits.setdefault(port, []).append(f"{w.kind} {w.namespace}/{w.resource.name}")
        if not hits:
            continue
        shown = "; ".join(f"port {p} of {', '.join(sorted(set(ws))[:3])}" + (" and others" if len(set(ws)) > 3 else "")
                          for p, ws in sorted(hits.items())[:3])
        root = policy_scope(ctx, ap) is None
        if sel:
            what = f"the workloads of selector {sel_str(sel)}" + (" (in every namespace)" if root else "")
        else:
            what = "every workload of the mesh (root namespace, no selector)" if root else \
                f"every workload of namespace '{ap.namespace}'"
        for i, tcp_from in flagged:
            whom = "from the sources it lists" if tcp_from else "from every client"
            yield Problem(ap, ("spec", "rules", i),
                          f"AuthorizationPolicy {ap.namespace}/{ap.name}: DENY rule {i} uses only HTTP attributes, which "
                          f"a TCP port cannot check, so on the TCP ports of {what} ({shown}) it "
                          f"denies every connection {whom}; add the HTTP port to the operation's ports "
                          "(Istio: \"configured AuthorizationPolicy will deny all traffic to TCP ports under its scope\")")
