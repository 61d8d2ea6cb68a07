"""The data-driven rule harness: every ``fixtures/rules/<CODE>/{bad,good}`` folder.

Expected findings are written inline as ``# expect: CODE`` on the line where they must be
reported.  Each folder is linted as a whole repository and the exact set of
(file, line, code) must match: nothing missing, nothing extra.  Adding a rule = adding a
folder; no test code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, expectations, lint_folder

RULE_DIRS = sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir()) if (FIXTURES / "rules").is_dir() else []
CASES = [pytest.param(d / kind, id=f"{d.name}-{kind}") for d in RULE_DIRS for kind in ("bad", "good") if (d / kind).is_dir()]


@pytest.mark.parametrize("folder", CASES)
def test_fixture_folder(folder: Path) -> None:
    if any(folder.rglob("kustomization.yaml")) and not (shutil.which("kustomize") or shutil.which("kubectl")):
        pytest.skip("kustomize fixtures are rendered with kustomize or kubectl, and neither is on PATH")
    expected = expectations(folder)
    actual = {(f.location.file.replace("\\", "/"), f.location.line, f.code) for f in lint_folder(folder)}
    code = folder.parent.name
    if folder.name == "bad":
        assert any(c == code for (_, _, c) in expected), f"{folder} has no '# expect: {code}' marker"
    else:
        assert not any(c == code for (_, _, c) in expected), f"good fixture {folder} expects {code}"
    missing, extra = expected - actual, actual - expected
    assert not missing and not extra, f"missing: {sorted(missing)}\nextra: {sorted(extra)}"


# Rules whose bad case cannot be a committed folder, with where it is tested instead.
BAD_CASE_ELSEWHERE = {
    # A symlink out of the repository (to / or a dangling absolute path) in the source tree
    # would be followed by every tool that copies or walks it; the tests create it.
    "IVL005": "tests/test_safety.py::test_symlinks_leaving_the_repository_are_reported_once_and_not_read",
}


def test_every_rule_has_fixtures() -> None:
    from istio_vm_lint.engine import all_rules

    have = {d.name for d in RULE_DIRS if (d / "bad").is_dir() and (d / "good").is_dir()}
    have |= {d.name for d in RULE_DIRS if d.name in BAD_CASE_ELSEWHERE and (d / "good").is_dir()}
    lacking = sorted(code for code in all_rules() if code != "IVL000" and code not in have)
    assert not lacking, f"rules without fixtures/rules/<CODE>/bad and good: {lacking}"


def test_rule_metadata_contract() -> None:
    """What `istio-vm-lint rules --format json` promises: a stable IVL code, a kebab-case name,
    summary, rationale, bad and good examples, and equivalents that are istioctl (IST) or
    Kiali (KIA) codes only."""
    import re

    from istio_vm_lint.engine import all_rules

    for code, r in all_rules().items():
        assert re.fullmatch(r"IVL\d{3}", code), code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name), (code, r.name)
        assert r.summary.strip() and r.rationale.strip() and r.bad.strip() and r.good.strip(), code
        for eq in r.equivalents:
            assert re.fullmatch(r"(IST|KIA)\d{4}(:[A-Za-z0-9_.]+)?", eq), (code, eq)  # :analyzer when IST is shared
