"""``istio-vm-lint graph``: the mesh graph as Mermaid, Graphviz dot or JSON, with the problems on it.

The nodes and typed edges come from :meth:`MeshGraph.to_json` (the graph the rules use).  On
top of them this module draws what the findings say is broken, so the picture shows why a
finding fired:

* edges carry their facts: a route's port and subset, a selection's service port -> endpoint
  port, a DestinationRule subset's name;
* workloads are labelled with their real kind (``Deployment (pod template)``, not ``Pod``);
* resources are grouped by namespace (Mermaid subgraphs, dot clusters);
* a finding that means an edge is broken or missing (a route to a host or port that does not
  exist, a selector that matches nothing, an undefined subset, a missing gateway) becomes a
  dashed red edge labelled with its code: to the related resource when the finding names one
  (the ServiceEntry without the port, the nearest workload), else to a dashed red placeholder
  node for what is missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .findings import Finding
    from .graph import MeshGraph
    from .model import Resource

# Codes whose finding means "this edge is broken or missing", with how to say what is missing.
BROKEN_EDGE_CODES: dict[str, str] = {
    "IVL101": "no workload with {value}",
    "IVL102": "no workload with {value}",
    "IVL103": "workloads only in another namespace: {value}",
    "IVL104": "not selectable: {value}",
    "IVL105": "headless: {value}",
    "IVL106": "no gateway workload with {value}",
    "IVL107": "no endpoint with {value}",
    "IVL108": "no subset {value}",
    "IVL201": "no port {value}",
    "IVL202": "port required",
    "IVL204": "no port named {value}",
    "IVL206": "no port {value}",
    "IVL501": "no service {value}",
    "IVL502": "no service {value}",
    "IVL503": "no Gateway {value}",
    "IVL504": "host not admitted: {value}",
    "IVL505": "not exported to the gateway",
    "IVL506": "no service {value}",
}

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass
class Broken:
    """A finding drawn as a broken edge of the graph."""

    source: str  # node id
    target: str  # node id (a graph node or a placeholder)
    code: str
    label: str


def _value_at(resource: "Resource", field: str) -> Any:
    cur: Any = resource.data
    for name, index in _PATH_PART.findall(field):
        if index:
            if not isinstance(cur, list) or int(index) >= len(cur):
                return None
            cur = cur[int(index)]
        else:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(name)
    return cur


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(_show(v) for v in value)
    return "" if value is None else str(value)


def _fmt(path: Iterable[Any]) -> str:
    from .findings import format_path

    return format_path(tuple(path))


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def broken_edges(graph: "MeshGraph", data: dict[str, Any],
                 findings: Iterable["Finding"]) -> tuple[list[dict[str, Any]], list[Broken]]:
    """Placeholder nodes and broken edges for the findings that concern nodes in ``data``."""
    by_resource: dict[tuple[str, str, str], list[str]] = {}
    for n in data["nodes"]:
        if n.get("name") is not None:
            kind = n["id"].split("/", 1)[0]
            by_resource.setdefault((kind, n.get("namespace", ""), n["name"]), []).append(n["id"])
    resources = {(r.kind, r.namespace, r.name): r for r in graph.project.resources}
    placeholders: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str, str], Broken] = {}
    between: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in data["edges"]:
        between.setdefault((e["from"], e["to"]), []).append(e)
    for f in findings:
        template = BROKEN_EDGE_CODES.get(f.code)
        if template is None or f.resource is None:
            continue
        key = (f.resource.kind, f.resource.namespace, f.resource.name)
        sources = by_resource.get(key)
        if not sources:
            continue
        res = resources.get(key)
        value = _show(_value_at(res, f.field)) if res is not None and f.field else ""
        what = _short(template.format(value=value).strip())
        targets: list[str] = []
        for rel in f.related:
            if rel.resource is not None:
                ids = by_resource.get((rel.resource.kind, rel.resource.namespace, rel.resource.name))
                if ids:
                    targets.append(ids[0])
                    break
        if targets:
            # The edge itself exists (a route to a service that lacks the port): mark it.
            hit = [e for src in sources for e in between.get((src, targets[0]), ()) if e.get("path")
                   and (f.field == _fmt(e["path"]) or f.field.startswith(_fmt(e["path"]) + "."))]
            if hit:
                for e in hit:
                    e.setdefault("codes", [])
                    if f.code not in e["codes"]:
                        e["codes"].append(f.code)
                continue
            label = f"{f.code} {what}"
        else:
            pid = f"missing:{f.code}:{sources[0]}:{value}"
            placeholders.setdefault(pid, {"id": pid, "kind": "Missing", "namespace": f.resource.namespace,
                                          "label": what, "code": f.code})
            targets.append(pid)
            label = f.code
        for src in sources[:1]:
            edges.setdefault((src, targets[0], f.code, label), Broken(src, targets[0], f.code, label))
    return list(placeholders.values()), list(edges.values())


# --- labels -------------------------------------------------------------------------------


def node_kind(n: dict[str, Any]) -> str:
    """The real kind: ``Deployment (pod template)`` for a pod template, not ``Pod``."""
    kind = n.get("kind", "")
    if kind == "Pod":
        real = n.get("resource_kind") or n["id"].split("/", 1)[0]
        return "Pod" if real == "Pod" else f"{real} (pod template)"
    if kind == "Endpoint":
        return "ServiceEntry endpoint"
    return kind


def node_lines(n: dict[str, Any]) -> list[str]:
    if n.get("kind") == "Missing":
        return [f"missing ({n['code']})", n["label"]]
    lines = [node_kind(n), n.get("name", "")]
    if n.get("host") and n.get("host") != n.get("name"):
        lines.append(n["host"])
    if n.get("kind") == "Endpoint":
        lines[1] = n["id"].rsplit("/", 1)[-1]
    return lines


def edge_label(e: dict[str, Any]) -> str:
    lab = _edge_label(e)
    if e.get("codes"):
        lab += " " + " ".join(e["codes"])
    return lab


def _edge_label(e: dict[str, Any]) -> str:
    t = e.get("type", "")
    if t == "routes":
        lab = "routes"
        if e.get("port"):
            lab += f" :{e['port']}"
        if e.get("subset"):
            lab += f" subset {e['subset']}"
        return lab
    if t == "selects":
        ports = e.get("ports") or {}
        shown = ",".join(f"{a}→{b if b is not None else '✗'}" for a, b in ports.items())
        return f"selects {shown}".strip()
    if t == "subset":
        return f"subset {e.get('subset', '')}"
    if t == "runs-on":
        return "runs on"
    return t


def namespaces(nodes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for n in nodes:
        out.setdefault(n.get("namespace") or "", []).append(n)
    return dict(sorted(out.items()))


def groups(nodes: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]:
    """``[(unit, [(namespace, nodes)])]``: the nodes by deployment unit (``""`` when the graph
    has one unit), then by namespace."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for n in nodes:
        by_unit.setdefault(n.get("unit") or "", []).append(n)
    return [(u, list(namespaces(members).items())) for u, members in by_unit.items()]


# --- formats ------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("|", "#124;")


def to_mermaid(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], broken: list[Broken]) -> str:
    ids = {n["id"]: f"n{i}" for i, n in enumerate(nodes)}
    lines = ["flowchart LR"]
    i = 0
    for j, (unit, by_ns) in enumerate(groups(nodes)):
        outer = "  "
        if unit:
            lines.append(f'  subgraph u{j}["unit {_mermaid_text(unit)}"]')
            outer = "    "
        for ns, members in by_ns:
            indent = outer
            if ns:
                lines.append(f'{outer}subgraph ns{i}["namespace {_mermaid_text(ns)}"]')
                indent = outer + "  "
            for n in members:
                label = "<br/>".join(_mermaid_text(x) for x in node_lines(n) if x)
                suffix = ":::broken" if n.get("kind") == "Missing" else ""
                lines.append(f'{indent}{ids[n["id"]]}["{label}"]{suffix}')
            if ns:
                lines.append(f"{outer}end")
            i += 1
        if unit:
            lines.append("  end")
    count = 0
    red = []
    for e in edges:
        if e.get("codes"):
            lines.append(f"  {ids[e['from']]} -.->|{_mermaid_text(edge_label(e))}| {ids[e['to']]}")
            red.append(str(count))
        else:
            lines.append(f"  {ids[e['from']]} -->|{_mermaid_text(edge_label(e))}| {ids[e['to']]}")
        count += 1
    for b in broken:
        lines.append(f"  {ids[b.source]} -.->|{_mermaid_text(b.label)}| {ids[b.target]}")
        red.append(str(count))
        count += 1
    if red:
        lines.append(f"  linkStyle {','.join(red)} stroke:#d00,stroke-width:2px,color:#d00")
    if any(n.get("kind") == "Missing" for n in nodes):
        lines.append("  classDef broken fill:#fee,stroke:#d00,stroke-dasharray:5 3,color:#900")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


_DOT_SHAPES = {"Gateway": "house", "VirtualService": "box", "DestinationRule": "note", "ServiceEntry": "component",
               "Service": "component", "WorkloadEntry": "ellipse", "WorkloadGroup": "ellipse", "Pod": "ellipse",
               "Endpoint": "ellipse"}


def to_dot(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], broken: list[Broken]) -> str:
    ids = {n["id"]: f"n{i}" for i, n in enumerate(nodes)}
    lines = ["digraph mesh {", "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    i = 0
    for j, (unit, by_ns) in enumerate(groups(nodes)):
        outer = "  "
        if unit:
            lines.append(f"  subgraph cluster_u{j} {{")
            lines.append(f'    label="unit {_dot_text(unit)}"; style=solid; color=gray30; fontname="Helvetica";')
            outer = "    "
        for ns, members in by_ns:
            indent = outer
            if ns:
                lines.append(f"{outer}subgraph cluster_{i} {{")
                lines.append(f'{outer}  label="namespace {_dot_text(ns)}"; style=dashed; color=gray50; fontname="Helvetica";')
                indent = outer + "  "
            for n in members:
                label = "\\n".join(_dot_text(x) for x in node_lines(n) if x)
                if n.get("kind") == "Missing":
                    attrs = f'label="{label}", shape=box, style="dashed", color=red, fontcolor=red'
                else:
                    attrs = f'label="{label}", shape={_DOT_SHAPES.get(n.get("kind", ""), "box")}'
                lines.append(f"{indent}{ids[n['id']]} [{attrs}];")
            if ns:
                lines.append(f"{outer}}}")
            i += 1
        if unit:
            lines.append("  }")
    for e in edges:
        style = ', style=dashed, color=red, fontcolor=red, penwidth=2' if e.get("codes") else ""
        lines.append(f'  {ids[e["from"]]} -> {ids[e["to"]]} [label="{_dot_text(edge_label(e))}"{style}];')
    for b in broken:
        lines.append(f'  {ids[b.source]} -> {ids[b.target]} [label="{_dot_text(b.label)}", style=dashed, '
                     "color=red, fontcolor=red, penwidth=2];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_graph(graph: "MeshGraph", fmt: str, focus: Optional[str] = None,
                 findings: Iterable["Finding"] = ()) -> str:
    return export_units([("", graph, findings)], fmt, focus)


UNIT_SEPARATOR = "::"  # between a unit's name and a node id, when the graph has several units


def export_units(units: list[tuple[str, "MeshGraph", Iterable["Finding"]]], fmt: str,
                 focus: Optional[str] = None) -> str:
    """One drawing of the graphs of several deployment units (kustomize overlays, charts):
    each unit is its own mesh (the same base object rendered into two overlays is two
    objects), so with more than one unit the nodes and edges carry ``unit`` and their ids are
    prefixed with ``<unit>::``; a single unit draws exactly as before."""
    data: dict[str, Any] = {}
    nodes: list[dict[str, Any]] = []
    broken: list[Broken] = []
    several = len(units) > 1
    for unit, graph, findings in units:
        d = graph.to_json(focus)
        placeholders, b = broken_edges(graph, d, findings)
        for n in d["nodes"]:
            n["resource_kind"] = n["id"].split("/", 1)[0]
        if several:
            d, placeholders, b = _in_unit(unit, d, placeholders, b)
        if not data:
            data = d
        else:
            data["nodes"] = data["nodes"] + d["nodes"]
            data["edges"] = data["edges"] + d["edges"]
        nodes += d["nodes"] + placeholders
        broken += b
    if several:
        data["units"] = [u for u, _, _ in units]
    if fmt == "json":
        out = dict(data)
        out["nodes"] = nodes
        out["edges"] = data["edges"] + [{"from": b.source, "to": b.target, "type": "broken", "code": b.code,
                                          "label": b.label} for b in broken]
        return json.dumps(out, indent=2, default=str) + "\n"
    if fmt == "mermaid":
        return to_mermaid(nodes, data["edges"], broken)
    if fmt == "dot":
        return to_dot(nodes, data["edges"], broken)
    raise ValueError(f"unknown graph format {fmt!r}")


def _in_unit(unit: str, data: dict[str, Any], placeholders: list[dict[str, Any]],
             broken: list[Broken]) -> tuple[dict[str, Any], list[dict[str, Any]], list[Broken]]:
    """``data`` with the unit named on every node and edge and ids prefixed by it."""
    def pid(x: str) -> str:
        return f"{unit}{UNIT_SEPARATOR}{x}"

    nodes = [dict(n, id=pid(n["id"]), unit=unit) for n in data["nodes"]]
    edges = [dict(e, unit=unit, **{"from": pid(e["from"]), "to": pid(e["to"])}) for e in data["edges"]]
    ph = [dict(n, id=pid(n["id"]), unit=unit) for n in placeholders]
    br = [Broken(pid(b.source), pid(b.target), b.code, b.label) for b in broken]
    return dict(data, nodes=nodes, edges=edges), ph, br
