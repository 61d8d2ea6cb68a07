"""`pip install .` (a real, non-editable install) ships every module and the schemas.

The editable install used by the test-suite maps `lint/`, `rules/` and `schemas/` through a
finder; a regular wheel copies them.  Build one from a copy of the sources (so nothing is
written into the repository), install it into a scratch directory without dependencies, and
run the linter from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("lint", "rules", "schemas"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    # Without build isolation when the environment has setuptools and wheel (fast, offline);
    # otherwise the way `pip install .` does it on a fresh machine (fetches the build backend).
    proc = subprocess.run(base + ["--no-build-isolation"], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        proc = subprocess.run(base, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here (no build backend available?): {proc.stderr[-500:]}")
    wheels = list(out.glob("istio_vm_lint-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("istio_vm_lint/cli.py", "istio_vm_lint/cli_check.py", "istio_vm_lint/units/run.py",
                   "istio_vm_lint/loader.py", "istio_vm_lint/report/json_format.py",
                   "istio_vm_lint/rules/hosts.py", "istio_vm_lint/schemas/__init__.py",
                   "istio_vm_lint/schemas/cel_rules.json", "istio_vm_lint/schemas/PROVENANCE.md"):
        assert module in names, module
    schemas = [n for n in names if n.startswith("istio_vm_lint/schemas/") and n.endswith(".json")]
    assert len(schemas) >= 30, schemas
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "istio-vm-lint = istio_vm_lint.cli:run" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_lints_and_finds_schemas(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = ("import importlib.resources as r, istio_vm_lint, istio_vm_lint.engine as e;"
             f"assert istio_vm_lint.__file__.startswith({str(target)!r}), istio_vm_lint.__file__;"
             "n = sum(1 for f in r.files('istio_vm_lint.schemas').iterdir() if f.name.endswith('.json'));"
             "assert n >= 30, n; print(len(e.all_rules()))")
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 90
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x, namespace: a}\n"
                   "spec: {hosts: [x.example.com], locaton: MESH_INTERNAL}\n")
    run = subprocess.run([sys.executable, "-m", "istio_vm_lint", "--isolated", str(bad)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "IVL010" in run.stdout and "did you mean" in run.stdout


def test_ci_entry_point_runs_the_readme_test_command() -> None:
    """`.ci/run` is the README's second command, verbatim, and an empty selection is not a
    failure (pytest's exit code 5 is mapped to 0 in conftest.py) while a failing test is."""
    import re

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert len(blocks) >= 2 and blocks[1].strip() in (ROOT / ".ci" / "run").read_text().splitlines()
    empty = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_loader.py",
                            "-k", "no_test_has_this_name"], cwd=ROOT, capture_output=True, timeout=120)
    assert empty.returncode == 0, empty.stdout[-500:]


def test_every_package_directory_is_listed_in_pyproject() -> None:
    """A subpackage (e.g. ``rules/selectors/``) missing from ``[tool.setuptools] packages``
    works in the editable install but is left out of the wheel: its rules silently vanish."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = {(ROOT / path).resolve(): name for name, path in setup["package-dir"].items()}
    found = set()
    for root in list(dirs):
        for init in root.rglob("__init__.py"):
            d = init.parent.resolve()
            if "__pycache__" in d.parts:
                continue
            # the most specific mapping wins (lint/report is mapped on its own)
            base = max((b for b in dirs if d == b or b in d.parents), key=lambda b: len(b.parts))
            found.add(".".join((dirs[base],) + d.relative_to(base).parts))
    missing = sorted(found - set(setup["packages"]))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
