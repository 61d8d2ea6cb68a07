"""IVL215-IVL216: VirtualService match conditions that can never be true.

A sidecar's outbound listener is per service port, and a route's `match.port` is compared with
that listener's port (docs/semantics.md §route-match-port); an HTTP request's `:path` always
starts with `/` (docs/semantics.md §uri-match-path).
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import AuthorizationPolicy, Sidecar, VirtualService, as_int, as_list, as_map, str_list
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.protocols import _known_hosts

_ROUTE_KINDS = ("http", "tcp", "tls")


@rule(
    code="IVL215", family="protocols", name="uri-match-without-leading-slash", severity="warning",
    severity_note="error for an AuthorizationPolicy ALLOW rule's `paths`: the requests it should admit are denied (403).",
    summary="An http match's uri `exact` or `prefix`, or an AuthorizationPolicy path, does not start with `/`, so no request path can match it.",
    rationale="""
    The `uri` match compares the request's `:path`, which for every request a proxy routes
    starts with `/` (origin-form; docs/semantics.md §uri-match-path). A `prefix` or `exact` value
    without the leading slash — often a gRPC method written as `pkg.Service/Method` instead of
    `/pkg.Service/Method` — never matches, so the route (or that match) is dead and its traffic
    falls through to the next route. `regex` values and delegate VirtualServices (no `hosts`) are
    not judged. The same holds for an AuthorizationPolicy's `to.operation.paths`/`notPaths`
    (exact, `/prefix/*`, `*suffix` or `*`, compared with the request path): a value that starts
    with neither `/` nor `*` never matches, so an ALLOW rule denies the requests it names (an
    error) and a DENY rule refuses nothing.
    """,
    bad="""
    http:
    - match:
      - uri: {prefix: inventory.v1.StockService/Reserve}
    """,
    good="""
    http:
    - match:
      - uri: {prefix: /inventory.v1.StockService/Reserve}
    """,
    inputs=("VirtualService", "AuthorizationPolicy"),
    equivalents=(),
    references=("docs/semantics.md §uri-match-path",),
)
def uri_match_without_leading_slash(ctx: Context) -> Iterator[Problem]:
    for ap in ctx.each(AuthorizationPolicy):
        for i, r in enumerate(as_list(ap.spec.get("rules"))):
            for j, item in enumerate(as_list(as_map(r).get("to"))):
                op = as_map(as_map(item).get("operation"))
                for key in ("paths", "notPaths"):
                    for k, value in enumerate(as_list(op.get(key))):
                        if not isinstance(value, str) or not value or value.startswith(("/", "*")):
                            continue
                        allow = ap.action == "ALLOW" and key == "paths"
                        effect = ("the requests it should admit are denied (403)" if allow
                                  else "the rule never applies to it")
                        yield Problem(ap, ("spec", "rules", i, "to", j, "operation", key, k),
                                      f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{value}' "
                                      f"starts with neither '/' nor '*', but every request path starts with '/', so "
                                      f"it never matches and {effect} — write '/{value}' (§uri-match-path)",
                                      severity="error" if allow else None)
    for vs in ctx.each(VirtualService):
        if not vs.hosts:
            continue
        for i, route in enumerate(as_list(vs.spec.get("http"))):
            for j, m in enumerate(as_list(as_map(route).get("match"))):
                uri = as_map(as_map(m).get("uri"))
                for kind in ("prefix", "exact"):
                    value = uri.get(kind)
                    if not isinstance(value, str) or not value or value.startswith("/") or value == "*":
                        continue
                    yield Problem(vs, ("spec", "http", i, "match", j, "uri", kind),
                                  f"VirtualService {vs.namespace}/{vs.name}: http[{i}].match[{j}] uri {kind} "
                                  f"'{value}' does not start with '/', but every request path does, so this match "
                                  f"never applies — write '/{value}' (§uri-match-path)")


@rule(
    code="IVL216", family="protocols", name="match-port-not-a-service-port", severity="warning",
    summary="A mesh route's match.port is not a port of any of the VirtualService's hosts, so the match never applies.",
    rationale="""
    For sidecars (the `mesh` gateway) a route is placed on the outbound listener of each port of
    the VirtualService's hosts, and `match.port` is compared with that listener's port: the
    *service* port (docs/semantics.md §route-match-port). A `port` that none of the hosts
    declares — a targetPort, the VM's port or a typo — never matches, so the route is dead and
    the traffic it was meant for takes the next route or the default one. Checked only for
    matches that apply to `mesh` alone, when every host resolves to services the repository
    defines, and when no Sidecar egress listener declares that port.
    """,
    bad="""
    # ServiceEntry orders-mysql.databases.internal: port 3306
    tcp:
    - match: [{port: 3307}]
      route: [{destination: {host: orders-mysql.databases.internal}}]
    """,
    good="""
    tcp:
    - match: [{port: 3306}]
      route: [{destination: {host: orders-mysql.databases.internal}}]
    """,
    inputs=("VirtualService", "ServiceEntry", "Service"),
    equivalents=(),
    references=("docs/semantics.md §route-match-port",),
)
def match_port_not_a_service_port(ctx: Context) -> Iterator[Problem]:
    sidecar_ports = {as_int(as_map(as_map(e).get("port")).get("number"))
                     for sc in ctx.resources(Sidecar) for e in as_list(sc.spec.get("egress"))}
    for vs in ctx.each(VirtualService):
        if not vs.hosts or "mesh" not in vs.gateways:
            continue
        services = _known_hosts(ctx, vs)
        if not services:
            continue
        ports = {p.number for s in services for p in s.ports if p.number is not None}
        if not ports:
            continue
        for kind in _ROUTE_KINDS:
            for i, route in enumerate(as_list(vs.spec.get(kind))):
                for j, m in enumerate(as_list(as_map(route).get("match"))):
                    mm = as_map(m)
                    port = as_int(mm.get("port"))
                    if port is None or not 0 < port < 65536 or port in ports or port in sidecar_ports:
                        continue
                    gws = str_list(mm.get("gateways")) or list(vs.gateways)
                    if gws != ["mesh"]:
                        continue  # the port may be a gateway server's
                    hosts = ", ".join(sorted({s.host for s in services}))
                    shown = ", ".join(str(p) for p in sorted(ports))
                    yield Problem(vs, ("spec", kind, i, "match", j, "port"),
                                  f"VirtualService {vs.namespace}/{vs.name}: {kind}[{i}].match[{j}] port {port} is "
                                  f"not a port of {hosts} (ports: {shown}); sidecars compare match.port with the "
                                  f"service port, so this match never applies (§route-match-port)")
