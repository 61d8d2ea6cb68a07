"""IVL217-IVL218: port protocols — a name that contradicts the protocol Istio reads, and TCP
ports that two services share on one address.

IVL217: a port whose name announces one protocol while the field Istio reads says another.

Istio takes a ServiceEntry port's protocol from `protocol` and a Kubernetes Service port's from
`appProtocol` before the name (docs/semantics.md §protocol-selection); the name prefix is
then ignored.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import host_matches
from istio_vm_lint.model import DestinationRule, Service, ServiceEntry, as_map
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import dr_host, export_scopes, scopes_overlap, tls_mode, traffic_policies

# How a proxy speaks to the upstream for each protocol family.
_FAMILY = {
    "HTTP": "HTTP/1.1", "HTTP2": "HTTP/2", "GRPC": "HTTP/2",
    "HTTPS": "TLS", "TLS": "TLS",
    "TCP": "TCP", "MONGO": "TCP", "MYSQL": "TCP", "REDIS": "TCP",
}
_APP_PROTOCOL_ALIASES = {"kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP", "kubernetes.io/wss": "HTTPS"}
_EFFECT = {
    ("HTTP/2", "HTTP/1.1"): "the proxy sends HTTP/1.1 upstream, which a gRPC/HTTP/2-only server cannot serve",
    ("TCP", "HTTP/1.1"): "the bytes are parsed as HTTP, so a non-HTTP protocol fails",
    ("TCP", "HTTP/2"): "the bytes are parsed as HTTP/2, so a non-HTTP protocol fails",
    ("HTTP/1.1", "TCP"): "HTTP routes, retries and HTTP authorization conditions do not apply to it",
    ("HTTP/2", "TCP"): "HTTP routes, retries and HTTP authorization conditions do not apply to it",
}
_EFFECT_TLS = {
    ("TLS", "HTTP/1.1"): "the proxy parses the TLS bytes as plain HTTP, which fails",
    ("TLS", "HTTP/2"): "the proxy parses the TLS bytes as plain HTTP/2, which fails",
}


def _name_protocol(name: str) -> Optional[str]:
    prefix = name.lower().split("-", 1)[0]
    if name.lower().startswith("grpc-web"):
        return None
    proto = prefix.upper()
    return proto if proto in _FAMILY else None


@rule(
    code="IVL217", family="protocols", name="port-name-contradicts-protocol", severity="warning",
    summary="A port's name announces a protocol (grpc-, http-, tcp- …) that contradicts the protocol Istio uses for it (ServiceEntry `protocol`, Service `appProtocol`).",
    rationale="""
    Istio reads a ServiceEntry port's protocol from its `protocol` field and a Kubernetes Service
    port's from `appProtocol` when set; only without them does the `<protocol>[-suffix]` name
    count (docs/semantics.md §protocol-selection). A port named `grpc-api` with
    `protocol: HTTP` is therefore HTTP/1.1: gRPC calls, which need HTTP/2 end to end, fail at
    the server; `tcp-db` with `protocol: HTTP` parses a database protocol as HTTP; `http-web`
    with `protocol: TCP` silently loses the HTTP routes. The name shows what the author meant,
    the field what Istio does. Reported when the name's protocol needs what the field's does not
    give: a gRPC/HTTP2 name with HTTP (HTTP/1.1 upstream), a TCP, TLS or database name with an
    HTTP protocol (the bytes are parsed as HTTP), an HTTP name with TCP (the HTTP routes are
    lost). Pairings whose traffic still flows — `http` named ports declared HTTP2, `tls` ports
    declared TCP — are not judged; MongoDB, MySQL and Redis count as TCP, gRPC as HTTP/2. An
    `https` port declared HTTP is the TLS origination pattern when a DestinationRule for the host
    originates TLS on it (`tls.mode` SIMPLE or MUTUAL): the application speaks plain HTTP and the
    sidecar TLS (docs/semantics.md §https-named-http-ports); not reported.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      ports:
      - {number: 7070, name: grpc-pricing, protocol: HTTP}
    """,
    good="""
      ports:
      - {number: 7070, name: grpc-pricing, protocol: GRPC}
    """,
    inputs=("ServiceEntry", "Service"),
    equivalents=(),
    references=("docs/semantics.md §protocol-selection", "docs/semantics.md §https-named-http-ports"),
)
def port_name_contradicts_protocol(ctx: Context) -> Iterator[Problem]:
    for r in ctx.each(ServiceEntry, Service):
        is_se = isinstance(r, ServiceEntry)
        for p in r.ports:
            named = _name_protocol(p.name) if p.name else None
            if named is None:
                continue
            if is_se:
                field, raw = "protocol", p.protocol.upper()
            else:
                if not p.app_protocol:
                    continue
                field, raw = "appProtocol", _APP_PROTOCOL_ALIASES.get(p.app_protocol, p.app_protocol.upper())
            if raw not in _FAMILY:
                continue
            have, meant = _FAMILY[raw], _FAMILY[named]
            effect = _EFFECT.get((meant, have)) or _EFFECT_TLS.get((meant, have))
            if effect is None:
                continue  # same family, or a pairing whose traffic still flows (http named HTTP2, tls named TCP ...)
            if is_se and meant == "TLS" and _originates_tls(ctx, r, p.number):
                continue  # the TLS origination pattern: plain HTTP from the app, TLS from the sidecar
            number = p.number if p.number is not None else "?"
            yield Problem(r, p.path + (field,),
                          f"{r.kind} {r.namespace}/{r.name}: port {number} is named '{p.name}' ({named}, {meant}) but "
                          f"its {field} is {raw} ({have}); Istio uses the {field}, so {effect} "
                          "(§protocol-selection)")


def _originates_tls(ctx: Context, se: ServiceEntry, number: Optional[int]) -> bool:
    """A DestinationRule for one of the ServiceEntry's hosts originates TLS on the port (`tls.mode`
    SIMPLE or MUTUAL at the top level, in a subset, or in the port's `portLevelSettings`): the
    application sends plain HTTP to the port named for HTTPS and the sidecar speaks TLS upstream,
    as in Istio's egress TLS origination samples (docs/semantics.md §https-named-http-ports)."""
    origins: list[tuple[str, Optional[int]]] = ctx.memo("IVL217.tls-origination", lambda: [
        (dr_host(dr, ctx.settings.cluster_domain), _policy_port(path, pol))
        for dr in ctx.resources(DestinationRule) for path, pol in traffic_policies(dr)
        if tls_mode(pol) in ("SIMPLE", "MUTUAL")])
    return any(port in (None, number) and any(host_matches(h, host) or host_matches(host, h) for host in se.hosts)
               for h, port in origins)


def _policy_port(path: tuple[object, ...], policy: dict[str, Any]) -> Optional[int]:
    """The port a port-level TrafficPolicy is for; None for a policy of every port."""
    if "portLevelSettings" not in path:
        return None
    number = as_map(policy.get("port")).get("number")
    return number if isinstance(number, int) else -1


# --- IVL218 -------------------------------------------------------------------------------------

_TCP_LIKE = frozenset({"TCP", "MONGO", "MYSQL", "REDIS"})


def _norm_address(a: str) -> str:
    a = a.strip()
    return a[:-3] if a.endswith("/32") else a[:-4] if a.endswith("/128") else a


@rule(
    code="IVL218", family="protocols", name="tcp-service-address-collision", severity="error",
    summary="Two ServiceEntries for different hosts declare the same address and the same TCP port: only one of them gets the listener.",
    rationale="""
    A sidecar's outbound listener for a TCP port (TCP, MongoDB, MySQL, Redis) tells services apart
    only by destination address: each service contributes a filter chain matching its
    `addresses` on that port (docs/semantics.md §tcp-address-collision). Two services with the
    same address and port produce identical matches; istiod keeps the first filter chain and
    drops the other (`mergeTCPFilterChains`, metric
    `pilot_conflict_outbound_listener_tcp_over_current_tcp`), so connections meant for one
    database reach the other's endpoints, depending on creation order. Usually a ServiceEntry
    copied with its `addresses`. HTTP ports (routed by Host) and TLS ports (matched by SNI) are not
    affected; entries exported to disjoint namespaces never meet in one proxy.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: sessions-mysql}
    spec:
      hosts: [sessions-mysql.databases.internal]
      addresses: [240.240.10.1]      # orders-mysql.databases.internal has it too
      ports: [{number: 3306, name: tcp-mysql, protocol: TCP}]
    """,
    good="""
      addresses: [240.240.10.2]
    """,
    inputs=("ServiceEntry",),
    equivalents=(),
    references=("docs/semantics.md §tcp-address-collision",),
)
def tcp_service_address_collision(ctx: Context) -> Iterator[Problem]:
    seen: dict[tuple[str, int], list[tuple[ServiceEntry, int, str]]] = {}
    for se in ctx.each(ServiceEntry):
        tcp_ports = [p.number for p in se.ports if p.number is not None and p.protocol.upper() in _TCP_LIKE]
        if not tcp_ports or not se.hosts:
            continue
        for k, raw in enumerate(se.addresses):
            addr = _norm_address(raw)
            if not addr:
                continue
            for port in tcp_ports:
                for other, _, _ in seen.get((addr, port), ()):
                    if set(other.hosts) & set(se.hosts) or other.namespace == se.namespace and other.name == se.name:
                        continue
                    if not _meet(ctx, other, se):
                        continue
                    yield Problem(se, ("spec", "addresses", k),
                                  f"ServiceEntry {se.namespace}/{se.name} ({', '.join(se.hosts)}) and ServiceEntry "
                                  f"{other.namespace}/{other.name} ({', '.join(other.hosts)}) both declare address "
                                  f"{addr} with TCP port {port}: a sidecar's listener can tell them apart only by "
                                  "address, so istiod keeps one filter chain and connections for the other host reach "
                                  "the wrong endpoints (which one depends on creation order; §tcp-address-collision)",
                                  related=((other, ("spec", "addresses")),))
                    break
                seen.setdefault((addr, port), []).append((se, k, raw))


def _meet(ctx: Context, a: ServiceEntry, b: ServiceEntry) -> bool:
    """Can one proxy see both entries (their exportTo sets overlap)?"""
    return scopes_overlap(export_scopes(a.export_to, a.namespace), export_scopes(b.export_to, b.namespace))
