"""The whole mesh as nodes and typed edges (``MeshGraph.g``, ``istio-vm-lint graph``), derived
from the graph's indexes on demand: a lint run pays for none of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .graph import _rid

if TYPE_CHECKING:  # pragma: no cover
    from .graph import MeshGraph
    from .model import VirtualService


def records(graph: "MeshGraph") -> tuple[dict[str, dict[str, Any]], list[tuple[str, str, dict[str, Any]]]]:
    """Nodes (by id, with their attributes) and edges ``(from, to, attributes)``."""
    p = graph.project
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str, dict[str, Any]]] = []
    for w in graph.workloads:
        nodes[w.id] = {"kind": w.kind, "resource": w.resource, "labels": w.labels, "ports": w.ports,
                       "address_kind": w.address_kind, "locality": w.locality}
    for svc in graph.services:
        nodes[svc.id] = {"kind": svc.kind, "resource": svc.resource, "host": svc.host,
                         "ports": [{"number": sp.number, "name": sp.name, "protocol": sp.protocol,
                                    "targetPort": sp.effective_target} for sp in svc.ports]}
        for b in graph.bindings_by_service.get(id(svc.resource), ()):
            edges.append((svc.id, b.workload.id, {"type": "selects", "via": b.via, "ports": b.ports}))
    for r in p.kinds("DestinationRule", "Gateway", "VirtualService"):
        nodes[_rid(r)] = {"kind": r.kind, "resource": r}
    for r in p.by_kind("VirtualService"):
        vs: VirtualService = r  # type: ignore[assignment]
        for gw_ref, gw_ns, gw_name in graph.vs_gateway_refs(vs):
            gw = graph.gateways.get((gw_ns, gw_name))
            if gw is not None:
                edges.append((_rid(gw), _rid(vs), {"type": "binds", "ref": gw_ref}))
        for dref in graph.destinations(vs):
            for svc in dref.services:
                edges.append((_rid(vs), svc.id, {"type": "routes", "port": dref.port, "subset": dref.subset,
                                                 "path": list(dref.path)}))
    for drs in graph.drs_by_ns.values():
        for dr in drs:
            for svc in graph.lookup(graph.dr_host(dr), dr.namespace):
                edges.append((_rid(dr), svc.id, {"type": "configures"}))
                # subset -> the endpoints of that service it keeps
                for sub in dr.subsets:
                    for b in graph.bindings_by_service.get(id(svc.resource), ()):
                        if all(b.workload.labels.get(k) == v for k, v in sub.labels.items()):
                            edges.append((_rid(dr), b.workload.id, {"type": "subset", "subset": sub.name}))
    # Gateway -> the gateway proxies it configures (pod templates, any namespace, §gateway-selector)
    for gw in graph.gateways.values():
        if gw.selector:
            for w in graph.select_any_namespace(gw.selector, ("Pod",)):
                edges.append((_rid(gw), w.id, {"type": "runs-on"}))
    return nodes, edges
