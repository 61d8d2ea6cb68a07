"""``istio-vm-lint graph``: edges carry ports and subsets, workloads their real kind, resources
are grouped by namespace, and broken edges are drawn dashed red with the finding code
(issue 15 item 10).  The dot output is rendered with Graphviz when ``dot`` is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_ecosystem_support import run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXAMPLE = FIXTURES / "examples" / "vm-whoami"
VARIANTS = FIXTURES / "variants"


def graph(path: Path, fmt: str, *args: str) -> str:
    r = run(["graph", str(path), "--format", fmt, "--isolated", *args])
    assert r.exit_code == 0, r.output
    return r.stdout


def test_mermaid_edges_kinds_and_namespaces() -> None:
    out = graph(EXAMPLE, "mermaid")
    assert 'subgraph ns1["namespace whoami"]' in out and 'subgraph ns0["namespace istio-system"]' in out
    assert "Deployment (pod template)<br/>whoami-v2" in out and "Pod<br/>" not in out
    assert "|routes :80 subset v1|" in out and "|routes :80 subset v2|" in out
    assert "|selects 80→8091|" in out and "|selects 80→8888|" in out and "|subset v1|" in out
    assert "-.->" not in out and "linkStyle" not in out  # a clean repository has no broken edge


def test_dot_edges_kinds_and_namespaces() -> None:
    out = graph(EXAMPLE, "dot")
    assert 'label="namespace whoami"' in out and "subgraph cluster_" in out
    assert 'label="Deployment (pod template)\\nwhoami-v2"' in out
    assert '[label="routes :80 subset v1"]' in out and '[label="selects 80→8091"]' in out
    assert "color=red" not in out


@pytest.mark.parametrize("variant,code,mermaid,dot", [
    # a selector that matches nothing: a red placeholder for the missing workloads
    ("IVL101-service-entry-selector-typo", "IVL101", "no workload with app=whoami-vm", "no workload with app=whoami-vm"),
    # a route to a port the service lacks: the route edge itself is broken
    ("IVL201-destination-port-is-target-port", "IVL201", "-.->|routes :8888 subset v1 IVL201|",
     'label="routes :8888 subset v1 IVL201", style=dashed, color=red'),
    # a route to a host that does not exist
    ("IVL501-short-name-for-serviceentry-host", "IVL501", "no service catalog", "no service catalog"),
    # a subset the DestinationRule does not define: dashed edge to that DestinationRule
    ("IVL108-subset-not-defined", "IVL108", "-.->|IVL108 no subset canary|", 'label="IVL108 no subset canary"'),
])
def test_broken_edges_are_dashed_red_with_the_code(variant: str, code: str, mermaid: str, dot: str) -> None:
    m = graph(VARIANTS / variant, "mermaid")
    assert mermaid in m, m
    assert re.search(r"^  linkStyle [\d,]+ stroke:#d00", m, re.M)
    d = graph(VARIANTS / variant, "dot")
    assert dot in d, d
    broken = [line for line in d.splitlines() if code in line and "->" in line]
    assert broken and all("style=dashed" in line and "color=red" in line for line in broken), broken
    doc = json.loads(graph(VARIANTS / variant, "json"))
    assert any(e.get("type") == "broken" and e["code"] == code or code in e.get("codes", ()) for e in doc["edges"])
    assert all("resource_kind" in n for n in doc["nodes"] if n["kind"] != "Missing")


def test_focus_keeps_broken_edges_of_the_focused_part() -> None:
    v = VARIANTS / "IVL101-service-entry-selector-typo"
    assert "IVL101" in graph(v, "mermaid", "--focus", "whoami.example.internal")
    assert "IVL101" not in graph(v, "mermaid", "--focus", "Service/istio-system/istio-ingressgateway")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz (dot) is not installed")
@pytest.mark.parametrize("path", [EXAMPLE, VARIANTS / "IVL101-service-entry-selector-typo",
                                  VARIANTS / "IVL201-destination-port-is-target-port"])
def test_dot_renders_with_graphviz(path: Path, tmp_path: Path) -> None:
    src = graph(path, "dot")
    png = subprocess.run(["dot", "-Tpng"], input=src.encode(), capture_output=True, timeout=60)
    assert png.returncode == 0 and png.stdout.startswith(b"\x89PNG"), png.stderr
    assert not png.stderr.strip(), png.stderr  # no syntax warnings
    svg = subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True, timeout=60).stdout.decode()
    assert "namespace whoami" in svg
    if path != EXAMPLE:  # the broken edge is drawn red and dashed
        assert 'stroke="red"' in svg and "stroke-dasharray" in svg


OVERLAYS = FIXTURES / "examples" / "kustomize-overlays"


def test_every_unit_is_drawn() -> None:
    """Kustomize overlays are separate meshes: each is drawn in its own unit group (the base
    rendered into both overlays is two sets of objects), not only the first unit's."""
    def in_repo(fmt: str) -> str:  # unit names are relative to the repository root
        r = run(["graph", ".", "--format", fmt, "--isolated"], cwd=OVERLAYS)
        assert r.exit_code == 0, r.output
        return r.stdout

    out = in_repo("mermaid")
    assert 'subgraph u0["unit overlays/prod"]' in out and 'subgraph u1["unit overlays/staging"]' in out
    assert 'subgraph ns1["namespace reviews-staging"]' in out
    assert "reviews.reviews-staging.svc.cluster.local" in out and "reviews.reviews.svc.cluster.local" in out
    assert "Deployment (pod template)<br/>reviews-v1" in out  # the real kind, not the unit's name
    dot = in_repo("dot")
    assert 'label="unit overlays/staging"' in dot and "subgraph cluster_u1 {" in dot
    doc = json.loads(in_repo("json"))
    assert doc["units"] == ["overlays/prod", "overlays/staging"]
    ids = {n["id"] for n in doc["nodes"]}
    assert "overlays/staging::VirtualService/reviews-staging/reviews" in ids
    assert all(n["unit"] in doc["units"] for n in doc["nodes"])
    assert all(e["from"] in ids and e["to"] in ids for e in doc["edges"])


def test_one_unit_has_no_unit_groups() -> None:
    out = graph(EXAMPLE, "mermaid")
    assert "unit " not in out and "::" not in out
    assert "units" not in json.loads(graph(EXAMPLE, "json"))
