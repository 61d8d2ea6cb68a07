"""IVL124: HTTP-only AuthorizationPolicy conditions on ports the workload serves as TCP.

A server proxy enforces an AuthorizationPolicy on the filter chain of the inbound port: an HTTP
chain for HTTP/HTTP2/gRPC ports, a TCP chain for TCP, TLS/HTTPS (terminated by the app),
MongoDB, MySQL and Redis ports. HTTP-only conditions cannot be evaluated on a TCP chain
(docs/semantics.md §authorization-tcp-http-fields).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import AuthorizationPolicy, Gateway, Sidecar, as_int, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.ports import _port_protocol
from istio_vm_lint.rules.selectors._common import STOCK_GATEWAY_LABELS
from istio_vm_lint.rules.workload_selectors import policy_scope, selected_workloads

# Istio's protocol.Instance.IsTCP(): these ports get the TCP filter chain (and the TCP RBAC filter).
TCP_PROTOCOLS = frozenset({"TCP", "TLS", "HTTPS", "MONGO", "MYSQL", "REDIS"})
_HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})
# Fields whose generators return "... is HTTP only" for a TCP filter chain (authz model/generator.go).
_HTTP_OPERATION_KEYS = ("methods", "notMethods", "paths", "notPaths", "hosts", "notHosts")
_HTTP_SOURCE_KEYS = ("requestPrincipals", "notRequestPrincipals")
_HTTP_WHEN_PREFIXES = ("request.", "experimental.envoy.filters.")


def _http_only_fields(rule_map: dict[str, Any], path: FieldPath) -> list[tuple[FieldPath, str]]:
    out: list[tuple[FieldPath, str]] = []
    for j, item in enumerate(as_list(rule_map.get("to"))):
        op = as_map(as_map(item).get("operation"))
        for key in _HTTP_OPERATION_KEYS:
            if as_list(op.get(key)):
                out.append((path + ("to", j, "operation", key), key))
    for j, item in enumerate(as_list(rule_map.get("from"))):
        src = as_map(as_map(item).get("source"))
        for key in _HTTP_SOURCE_KEYS:
            if as_list(src.get(key)):
                out.append((path + ("from", j, "source", key), key))
    for j, cond in enumerate(as_list(rule_map.get("when"))):
        key = as_str(as_map(cond).get("key"))
        if key.startswith(_HTTP_WHEN_PREFIXES):
            out.append((path + ("when", j, "key"), key))
    return out


def _rule_ports(rule_map: dict[str, Any]) -> Optional[set[int]]:
    """The destination ports a rule is limited to, or None when some operation (or none) leaves it on every port."""
    tos = [as_map(as_map(item).get("operation")) for item in as_list(rule_map.get("to"))]
    if not tos:
        return None
    ports: set[int] = set()
    for op in tos:
        listed = [as_int(p) for p in as_list(op.get("ports"))]
        if not listed or any(p is None for p in listed):
            return None
        ports.update(p for p in listed if p is not None)
    return ports


def _inbound_protocols(ctx: Context, w: Workload) -> dict[int, str]:
    """Workload port -> Istio protocol of its inbound filter chain, as far as the repository shows:
    the protocol of every service port that targets it, overridden by a Sidecar `ingress` listener.
    A port reached with two protocols, or with one Istio sniffs, is left out (both chains)."""
    graph = ctx.graph
    seen: dict[int, set[str]] = {}
    for b in graph.bindings_by_workload.get(id(w), ()):
        services = graph.services_of.get(id(b.service_resource), ())
        if not services:
            continue
        svc = services[0]
        for sp, ep in b.ports.items():
            p = svc.port(sp)
            if ep is None or p is None:
                continue
            seen.setdefault(ep, set()).add(_port_protocol(svc, p))
    out = {port: next(iter(protos)) for port, protos in seen.items() if len(protos) == 1 and next(iter(protos))}
    for sc in ctx.each(Sidecar):
        sel = sc.workload_selector
        if sc.namespace != w.namespace or not sel or any(w.labels.get(k) != v for k, v in sel.items()):
            continue
        for ing in as_list(sc.spec.get("ingress")):
            port = as_map(as_map(ing).get("port"))
            number, proto = as_int(port.get("number")), as_str(port.get("protocol")).upper()
            if number is not None and proto:
                # HTTPS with the sidecar terminating TLS (ingress `tls`) is served as HTTP inside
                terminated = proto == "HTTPS" and as_map(as_map(ing).get("tls")).get("mode") not in (None, "DISABLE")
                out[number] = "HTTP" if terminated else proto
    return out


def gateway_workload(ctx: Context, w: Workload) -> bool:
    """A gateway proxy: its listeners are the Gateway servers' (TLS terminated there), not the
    ports of the Services in front of it."""
    if any((k, v) in STOCK_GATEWAY_LABELS for k, v in w.labels.items()):
        return True
    if any(k in ("istio.io/gateway-name", "gateway.networking.k8s.io/gateway-name") for k in w.labels):
        return True
    return any(gw.selector and all(w.labels.get(k) == v for k, v in gw.selector.items())
               for gw in ctx.resources(Gateway))


@rule(
    code="IVL124", family="authorization", name="authorization-http-condition-on-tcp-port", severity="error",
    summary="An AuthorizationPolicy rule uses HTTP-only conditions (methods, paths, hosts, request principals, request.* keys) but applies only to ports the workload serves as TCP.",
    rationale="""
    On a TCP filter chain (ports whose protocol is TCP, TLS/HTTPS terminated by the app,
    MongoDB, MySQL or Redis) the proxy sees no HTTP request, so Istio cannot translate
    `methods`, `paths`, `hosts`, `requestPrincipals` or `request.*` conditions: an ALLOW rule
    that uses them is dropped from that chain, so the connections it was written to admit are
    refused; in a DENY rule the condition is dropped instead, so the rule denies every
    connection its other conditions match (docs/semantics.md §authorization-tcp-http-fields).
    Reported when every selected workload's inbound protocol is known for every port the rule
    covers (its `to.operation.ports`, else every port the workloads are known to serve) and all
    of them are TCP; a port whose protocol is sniffed also has an HTTP chain and is not judged.
    A Sidecar `ingress` listener's protocol overrides the service port's. Gateway proxies are not
    judged: their listeners are the Gateway servers, which terminate TLS.
    """,
    bad="""
    # ServiceEntry port 3306 name mysql protocol TCP -> WorkloadEntries app=orders-mysql
    kind: AuthorizationPolicy
    spec:
      selector: {matchLabels: {app: orders-mysql}}
      rules:
      - from: [{source: {principals: [cluster.local/ns/orders/sa/orders-api]}}]
        to: [{operation: {ports: ["3306"], methods: ["GET"]}}]
    """,
    good="""
      rules:
      - from: [{source: {principals: [cluster.local/ns/orders/sa/orders-api]}}]
        to: [{operation: {ports: ["3306"]}}]
    """,
    inputs=("AuthorizationPolicy", "Sidecar"),
    equivalents=(),
    references=("docs/semantics.md §authorization-tcp-http-fields",),
)
def authorization_http_condition_on_tcp_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for ap in ctx.each(AuthorizationPolicy):
        if ap.target_refs or ap.action not in ("ALLOW", "DENY"):
            continue
        sel = ap.selector or {}
        if not sel and ap.namespace == ctx.root_namespace:
            continue
        workloads = selected_workloads(graph, sel, policy_scope(ctx, ap))
        if not workloads or any(gateway_workload(ctx, w) for w in workloads):
            continue
        protocols = [_inbound_protocols(ctx, w) for w in workloads]
        served = [set(w.served_ports or ()) | set(p) for w, p in zip(workloads, protocols, strict=True)]
        for i, raw_rule in enumerate(as_list(ap.spec.get("rules"))):
            rule_map = as_map(raw_rule)
            fields = _http_only_fields(rule_map, ("spec", "rules", i))
            if not fields:
                continue
            limited = _rule_ports(rule_map)
            judged: set[int] = set()
            ok = True
            for protos, ports in zip(protocols, served, strict=True):
                covered = limited if limited is not None else ports
                if not covered or any(protos.get(p, "") not in TCP_PROTOCOLS for p in covered):
                    ok = False
                    break
                judged |= covered
            if not ok or not judged:
                continue
            shown = ", ".join(str(p) for p in sorted(judged))
            what = f"selector {sel_str(sel)}" if sel else f"namespace '{ap.namespace}'"
            effect = ("so Istio drops this rule from the TCP filter chain and the connections it should admit are "
                      "refused" if ap.action == "ALLOW" else
                      "so Istio ignores those conditions there and the rule denies every connection its other "
                      "conditions match")
            names = ", ".join(dict.fromkeys(k for _, k in fields))
            yield Problem(ap, fields[0][0],
                          f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): rules[{i}] uses HTTP-only "
                          f"conditions ({names}), but the workloads of {what} serve port(s) {shown} as TCP, where no "
                          f"HTTP request is seen, {effect} (§authorization-tcp-http-fields)")
