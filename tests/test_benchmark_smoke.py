"""Smoke test of the benchmark generator (benchmarks/generate.py): a small repository is
generated, linted in-process, and must load cleanly with its injected defects found.

Kept well under 5 s: N = 200 resources.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SHARED

sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402
from istio_vm_lint.config import Settings  # noqa: E402
from istio_vm_lint.engine import all_rules  # noqa: E402
from istio_vm_lint.runner import lint  # noqa: E402

N = 200
LOAD_CODES = {"IVL000", "IVL001", "IVL002", "IVL003", "IVL004"}
# defect -> (rule code, rule name) expected to report it, when that rule is registered
DETECTED_BY = {
    "vs-unknown-host": ("IVL501", "destination-host-not-found"),
    "we-port-key-not-a-port-name": ("IVL203", "workload-port-key-unknown"),
    "failover-without-outlier-detection": ("IVL401", None),
    "selector-matches-nothing": ("IVL101", "service-entry-selector-matches-nothing"),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, generate.Manifest]:
    out = tmp_path_factory.mktemp("bench-repo")
    return out, generate.generate(str(out), N, seed=1)


def test_generator_shape(repo: tuple[Path, generate.Manifest]) -> None:
    out, m = repo
    assert m.resources == N
    assert m.files == len(list(out.rglob("*.yaml")))
    assert {d["defect"] for d in m.defects} == set(generate.DEFECT_KINDS)
    for kind in ("ServiceEntry", "WorkloadEntry", "DestinationRule", "VirtualService", "Gateway", "Namespace",
                 "Deployment", "Service", "ConfigMap"):
        assert m.kinds.get(kind, 0) > 0, kind
    assert json.loads((out / "MANIFEST.json").read_text())["resources"] == N


def test_generator_is_deterministic(repo: tuple[Path, generate.Manifest], tmp_path: Path) -> None:
    out, _ = repo
    generate.generate(str(tmp_path), N, seed=1)
    for path in sorted(out.rglob("*.yaml")):
        assert (tmp_path / path.relative_to(out)).read_bytes() == path.read_bytes(), path


def test_generated_repo_lints_and_defects_are_found(repo: tuple[Path, generate.Manifest]) -> None:
    out, m = repo
    settings = Settings()
    settings.root = str(out)
    outcome = lint([str(out)], settings)
    assert not outcome.missing
    assert outcome.result.internal_errors == 0
    assert len(outcome.project.files) == m.files
    load = [f for f in outcome.findings if f.code in LOAD_CODES]
    assert not load, [f"{f.location.file}:{f.location.line} {f.code} {f.message}" for f in load]
    assert not outcome.project.problems
    # every document is read: known kinds become resources, the rest are counted as unknown
    assert len(outcome.project.resources) + outcome.project.unknown_kinds == N
    loaded = {f"{r.kind}/{r.namespace}/{r.name}" for r in outcome.project.resources}
    rules = all_rules()
    found = {(f.code, f.location.file.replace("\\", "/").split(out.name + "/", 1)[-1]) for f in outcome.findings}
    for d in m.defects:
        assert d["resource"] in loaded, d
        code, name = DETECTED_BY[d["defect"]]
        r = rules.get(code)
        if r is None or (name is not None and r.name != name):
            continue  # the rule for this defect is not (yet) registered
        assert (code, d["file"]) in found, (d, sorted(found))


@pytest.mark.skipif(not (SHARED / "istio-crds" / "crd-all.gen.yaml").exists(), reason="shared/istio-crds not present")
def test_generated_istio_documents_match_crd_schemas(repo: tuple[Path, generate.Manifest]) -> None:
    pytest.importorskip("jsonschema")
    out, _ = repo
    errors = generate.validate_tree(str(out), str(SHARED / "istio-crds" / "crd-all.gen.yaml"))
    assert not errors, errors[:10]


def test_stage_breakdown_mirrors_the_engine(repo: tuple[Path, generate.Manifest]) -> None:
    """run.py times the pipeline stage by stage by calling the engine's parts itself; if the
    engine changes under it, its findings would drift from a real run: keep them equal."""
    import run  # benchmarks/run.py

    root, _ = repo
    settings = Settings()
    settings.root = str(root)
    b = run.breakdown_once(str(root))
    real = lint([str(root)], settings)
    assert not b["rule_errors"]
    assert b["findings"] == len(real.findings) and b["resources"] == len(real.project.resources)
    assert {"read + parse", "model", "schema validation", "graph", "rules"} <= set(b["stages"])
