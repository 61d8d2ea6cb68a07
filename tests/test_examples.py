"""Every ``fixtures/examples/<repo>/`` is a realistic, correct repository.

Each folder is linted as a whole repository (like ``istio-vm-lint fixtures/examples/<repo>``)
and must produce no finding of severity error or warning. Info findings are allowed: they
describe facts a reviewer may want to know, not defects.

When a new rule fires here, decide which side is wrong: fix the example if it really is
misconfigured (istio-semantics.md is authoritative), otherwise fix the rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, lint_folder

EXAMPLES_DIR = FIXTURES / "examples"
EXAMPLES = sorted(p for p in EXAMPLES_DIR.iterdir() if p.is_dir()) if EXAMPLES_DIR.is_dir() else []
BLOCKING = ("error", "warning")


def _describe(findings) -> str:
    return "\n".join(
        f"  {f.location.file}:{f.location.line}:{f.location.column} {f.code} [{f.severity}] {f.message}"
        for f in findings)


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"vm-whoami", "mixed-vm-deployment", "ingress-to-vms", "egress-external-api"} <= names, names


@pytest.mark.parametrize("folder", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_is_clean(folder: Path) -> None:
    findings = lint_folder(folder)
    blocking = sorted((f for f in findings if f.severity in BLOCKING),
                      key=lambda f: (f.location.file, f.location.line, f.code))
    assert not blocking, f"{folder.name}: {len(blocking)} error/warning finding(s):\n{_describe(blocking)}"


@pytest.mark.parametrize("folder", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_has_readme_and_yaml(folder: Path) -> None:
    assert (folder / "README.md").is_file(), f"{folder.name} has no README.md"
    assert len(list(folder.rglob("*.yaml"))) >= 3, f"{folder.name} should be a small multi-file repository"
