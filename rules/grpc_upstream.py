"""IVL219: gRPC sent through a port Istio treats as HTTP/1.1.

gRPC needs HTTP/2 end to end; a port declared HTTP makes the client proxy speak HTTP/1.1 to
the upstream unless the DestinationRule upgrades it (docs/semantics.md §grpc-upstream-protocol).
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import VirtualService, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.ports import _port_protocol

# retryOn policies that only a gRPC response can trigger (Envoy x-envoy-retry-grpc-on).
_GRPC_RETRY_ON = frozenset({"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"})
_GRPC_METHOD_PATH = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+/")


def _grpc_evidence(route: dict) -> Optional[str]:
    retry = as_str(as_map(route.get("retries")).get("retryOn"))
    grpc_codes = sorted({c.strip() for c in retry.split(",")} & _GRPC_RETRY_ON)
    if grpc_codes:
        return f"retries.retryOn {', '.join(grpc_codes)} (gRPC status codes)"
    if as_map(as_map(as_map(route.get("fault")).get("abort"))).get("grpcStatus"):
        return "fault.abort.grpcStatus"
    for m in as_list(route.get("match")):
        uri = as_map(as_map(m).get("uri"))
        for kind in ("prefix", "exact"):
            v = uri.get(kind)
            if isinstance(v, str) and _GRPC_METHOD_PATH.match(v):
                return f"a gRPC method path ({v})"
    return None


@rule(
    code="IVL219", family="protocols", name="grpc-route-to-http1-port", severity="warning",
    summary="A route that carries gRPC (gRPC retry codes, grpcStatus faults, /package.Service/ paths) goes to a port Istio treats as HTTP/1.1, with no h2 upgrade.",
    rationale="""
    gRPC needs HTTP/2 from client to server. A client sidecar speaks to the upstream in the
    protocol of the destination port: HTTP/2 for `grpc`, `http2` (name, `appProtocol` or
    ServiceEntry `protocol`), the client's own protocol for ports it sniffs, and HTTP/1.1 for a
    port declared `http`/`HTTP` — unless the DestinationRule sets
    `connectionPool.http.h2UpgradePolicy: UPGRADE` or `useClientProtocol: true`, or the mesh
    config (`--mesh-config`) sets `h2UpgradePolicy: UPGRADE` (docs/semantics.md
    §grpc-upstream-protocol).
    A route that is evidently gRPC — `retryOn` gRPC status codes, a `grpcStatus` fault, a
    `/package.Service/` URI — to an HTTP/1.1 port fails at the server (no HTTP/2, no trailers).
    Usually the port was named `http` for a gRPC VM. The DestinationRule the VirtualService's
    namespace gets is consulted for the upgrade.
    """,
    bad="""
    # Service stock: port 9090 name http-api -> VMs serving gRPC
    http:
    - route: [{destination: {host: stock.inventory.svc.cluster.local, port: {number: 9090}}}]
      retries: {attempts: 3, retryOn: unavailable}
    """,
    good="""
    # Service stock: port 9090 name grpc
    """,
    inputs=("VirtualService", "Service", "ServiceEntry", "DestinationRule"),
    equivalents=(),
    references=("docs/semantics.md §grpc-upstream-protocol",),
)
def grpc_route_to_http1_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        routes = as_list(vs.spec.get("http"))
        for dref in graph.destinations(vs):
            rd = vs.destinations[dref.dest_index]
            if rd.route_kind != "http" or rd.is_mirror or not dref.services or len(dref.path) < 3:
                continue
            idx = dref.path[2]
            if not isinstance(idx, int) or idx >= len(routes):
                continue
            evidence = _grpc_evidence(as_map(routes[idx]))
            if evidence is None:
                continue
            svc = dref.services[0]
            ports = [svc.port(dref.port)] if dref.port is not None else (svc.ports if len(svc.ports) == 1 else [])
            for p in ports:
                if p is None or p.number is None or _port_protocol(svc, p) != "HTTP":
                    continue
                edr = graph.effective_dr(vs.namespace, dref.host, svc.namespace)
                pol = edr.policy(dref.subset, p.number) if edr is not None else None
                http = as_map(as_map(as_map(pol).get("connectionPool")).get("http"))
                upgrade = as_str(http.get("h2UpgradePolicy")).upper()
                if upgrade == "UPGRADE" or http.get("useClientProtocol") is True \
                        or (ctx.mesh.h2_upgrade and upgrade != "DO_NOT_UPGRADE"):
                    continue
                yield Problem(vs, dref.path + ("host",),
                              f"VirtualService {vs.namespace}/{vs.name}: http[{idx}] carries gRPC ({evidence}) to "
                              f"{dref.host}:{p.number}, which {svc.kind} {svc.namespace}/{svc.resource.name} declares as "
                              f"HTTP ('{p.name}'): the sidecar speaks HTTP/1.1 upstream and gRPC fails — name the port "
                              "grpc (or set appProtocol/protocol GRPC), or set h2UpgradePolicy: UPGRADE "
                              "(§grpc-upstream-protocol)",
                              related=((svc.resource, p.path),))
                break
