"""One variant per rule: an example repository with a single injected defect.

``fixtures/variants/<CODE>-<slug>/`` is a copy of one ``fixtures/examples/<repo>/`` (see
``fixtures/variants/generate.py``) where one defect was injected and every line at which a
finding must be reported carries ``# expect: CODE``.  The folder is linted as a whole
repository and the set of (file, line, code) of its **error and warning** findings must equal
the markers exactly: the rule fires where it should, and nothing else in an otherwise correct
repository fires because of it.  Info findings of other rules are ignored, as in
``test_examples.py``; those of the variant's own rule count, so info rules can have variants.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, expectations, lint_folder

VARIANTS_DIR = FIXTURES / "variants"
NAME_RE = re.compile(r"^(IVL\d{3})-[a-z0-9][a-z0-9-]*$")
VARIANTS = sorted(p for p in VARIANTS_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))) \
    if VARIANTS_DIR.is_dir() else []
BLOCKING = ("error", "warning")


def _code(folder: Path) -> str:
    m = NAME_RE.match(folder.name)
    assert m, f"variant folder '{folder.name}' must be named <CODE>-<slug> (e.g. IVL501-short-name)"
    return m.group(1)


@pytest.mark.parametrize("folder", VARIANTS, ids=[p.name for p in VARIANTS])
def test_variant(folder: Path) -> None:
    from istio_vm_lint.engine import all_rules

    code = _code(folder)
    if code not in all_rules():
        pytest.skip(f"{folder.name}: rule {code} is not registered in this tree")
    expected = expectations(folder)
    assert any(c == code for (_, _, c) in expected), f"{folder.name} has no '# expect: {code}' marker"
    findings = lint_folder(folder)
    # Error/warning findings of every rule, plus the variant's own rule at any severity (so that
    # info-level rules can have variants too).
    shown = [f for f in findings if f.severity in BLOCKING or f.code == code]
    actual = {(f.location.file.replace("\\", "/"), f.location.line, f.code) for f in shown}
    missing, extra = expected - actual, actual - expected
    detail = "\n".join(f"  {f.location.file}:{f.location.line} {f.code} [{f.severity}] {f.message}"
                       for f in shown)
    assert not missing and not extra, (
        f"{folder.name}\nmissing: {sorted(missing)}\nextra: {sorted(extra)}\nall error/warning findings:\n{detail}")


def test_generated_variants_are_fresh() -> None:
    """Variants listed in generate.py match the current examples (re-run the script after editing one)."""
    script = VARIANTS_DIR / "generate.py"
    if not script.is_file():
        pytest.skip("no generator")
    proc = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
