"""What the fast paths of the command line import (cold start: pre-commit and editors start a
new process for every run).  Checked in a subprocess with ``python -X importtime``, which lists
every module a process imports; no timings are asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from istio_vm_lint.cli import VERSION_LINE, main

ROOT = Path(__file__).resolve().parent.parent


def imported(*args: str, cwd: Path = ROOT) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules ``istio-vm-lint ARGS`` imports (through the console script's ``run``)."""
    env = {k: v for k, v in os.environ.items() if k != "ISTIO_VM_LINT_CACHE_DIR"}  # set by conftest
    env["ISTIO_VM_LINT_NO_PROGRESS"] = "1"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import sys; from istio_vm_lint.cli import run; sys.argv[0] = 'istio-vm-lint'; run()",
                           *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "istio_vm_lint.cli" in names, proc.stderr[-2000:]
    return names, proc


def _linter_modules(names: set[str]) -> list[str]:
    return sorted(n for n in names if n.startswith("istio_vm_lint.") and not n.startswith("istio_vm_lint.cli"))


def test_version_imports_neither_click_nor_the_linter() -> None:
    names, proc = imported("--version")
    assert proc.returncode == 0 and proc.stdout == VERSION_LINE
    assert not [n for n in names if n == "click" or n.startswith("click.")]
    assert not _linter_modules(names)
    assert not [n for n in names if n.startswith("ruamel")]


def test_version_line_is_clicks() -> None:
    """The fast path prints what click's version option prints (the group's and ``check``'s)."""
    for args in (["--version"], ["check", "--version"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0 and res.output == VERSION_LINE, (args, res.output)


def test_help_imports_only_the_command_modules() -> None:
    for args in (["--help"], ["check", "--help"], ["graph", "--help"]):
        names, proc = imported(*args)
        assert proc.returncode == 0 and "Usage: istio-vm-lint" in proc.stdout, proc.stderr[-2000:]
        assert not _linter_modules(names), (args, _linter_modules(names))
        assert not [n for n in names if n.startswith("ruamel")]


def test_dataclasses_have_docstrings() -> None:
    """A dataclass without a docstring gets one computed by ``inspect.signature`` when its
    module is imported (about a third of the dataclass's creation cost); some 50 of them are
    created by every run, so each declares its own."""
    import ast

    missing = []
    for path in sorted(p for d in ("lint", "rules") for p in (ROOT / d).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.ClassDef) and ast.get_docstring(node) is None
                    and any("dataclass" in ast.unparse(d).split("(")[0] for d in node.decorator_list)):
                missing.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert not missing, missing


CLEAN = """apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: db
  namespace: data
spec:
  hosts: [db.data.mesh.internal]
  addresses: [240.240.0.12]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 5432, name: tcp-postgres, protocol: TCP}
  endpoints:
  - address: 10.0.0.12
"""


def test_a_one_file_run_imports_what_it_uses(tmp_path: Path) -> None:
    """A clean one-file run (pre-commit) imports no kustomize/Helm support, caches, baseline,
    pre-commit scoping, rule module whose rules cannot apply, nor the stdlib they need."""
    (tmp_path / "se.yaml").write_text(CLEAN, encoding="utf-8")
    names, proc = imported("se.yaml", "--isolated", cwd=tmp_path)
    assert proc.returncode == 0 and "No problems" in proc.stderr, proc.stdout + proc.stderr[-2000:]
    for mod in ("kustomize", "helm", "render_cache", "cache", "relevance", "baseline", "trace", "graph_export",
                "rules.validation_gateway", "rules.analyzers_sidecar"):
        assert f"istio_vm_lint.{mod}" not in names, mod
    for mod in ("subprocess", "tempfile", "shutil", "importlib.resources", "hashlib"):
        assert mod not in names, mod


def test_a_run_with_findings_hashes_without_hashlib(tmp_path: Path) -> None:
    """Fingerprints use CPython's own SHA-1 (``_sha1``): ``hashlib`` would load OpenSSL's
    bindings first, a few milliseconds of every run with findings.  Same digests."""
    import hashlib

    from istio_vm_lint.engine import _sha1_16

    for text in ("", "v1|IVL101|ServiceEntry/data/db|spec|", "é/\udcff"):
        assert _sha1_16(text) == hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    (tmp_path / "se.yaml").write_text(CLEAN.replace("name: db", "name: Bad_Name"), encoding="utf-8")  # IVL006
    names, proc = imported("se.yaml", "--isolated", "--format", "sarif", cwd=tmp_path)  # (SARIF shows them)
    assert proc.returncode == 1 and "IVL006" in proc.stdout and "Fingerprints" in proc.stdout, proc.stderr[-2000:]
    assert "hashlib" not in names and "_hashlib" not in names
