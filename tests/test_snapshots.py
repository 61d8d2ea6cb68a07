"""Expected-output snapshots: each ``fixtures/rules/<CODE>/expected.txt`` pins what users read
(``file:line:col: CODE message``) for the folder's ``bad/`` and ``good/`` fixtures.

A mismatch is either a regression or an intended change: regenerate with
``python tools/update_snapshots.py <CODE>`` and review the diff.
"""

from __future__ import annotations

import difflib
import importlib.util
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, lint_folder

_spec = importlib.util.spec_from_file_location("update_snapshots", ROOT / "tools" / "update_snapshots.py")
assert _spec is not None and _spec.loader is not None
snapshots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(snapshots)

RULE_DIRS = sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir()) if (FIXTURES / "rules").is_dir() else []


@pytest.mark.parametrize("rule_dir", [pytest.param(d, id=d.name) for d in RULE_DIRS])
def test_snapshot(rule_dir: Path) -> None:
    if any(rule_dir.rglob("kustomization.yaml")) and not (shutil.which("kustomize") or shutil.which("kubectl")):
        pytest.skip("kustomize fixtures are rendered with kustomize or kubectl, and neither is on PATH")
    regenerate = f"{snapshots.COMMAND} {rule_dir.name}"
    path = rule_dir / snapshots.NAME
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: generate it with `{regenerate}` and review it"
    actual = snapshots.render(rule_dir, lint_folder)
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            "expected.txt", "actual", n=0))
        pytest.fail(f"{path.relative_to(ROOT)} differs from the findings (intended? regenerate with "
                    f"`{regenerate}` and review the diff):\n{diff}")


def test_no_snapshot_without_a_fixture_folder() -> None:
    for d in RULE_DIRS:
        if (d / snapshots.NAME).is_file():
            assert (d / "bad").is_dir() or (d / "good").is_dir(), d
