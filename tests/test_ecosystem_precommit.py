"""The two pre-commit hooks, run for real with ``pre-commit try-repo`` on a temporary repo.

The hook repository is a committed copy of this working tree (package sources plus
``.pre-commit-hooks.yaml``), because try-repo installs the hook from a git revision and
its shadow repo of /work/main would leave out uncommitted new files.  The hook environment
is installed once per session into a private ``PRE_COMMIT_HOME``.  Skipped only when
pre-commit is not importable or its environment cannot be installed (no package index).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from test_ecosystem_support import BASE, VS_BAD, VS_GOOD

pytest.importorskip("pre_commit")

ROOT = Path(__file__).resolve().parent.parent
HOOK_FILES = ("lint", "rules", "schemas", "pyproject.toml", "README.md", ".pre-commit-hooks.yaml")
CONFIG = 'select = ["IVL0", "IVL501"]\n'
OFFLINE_HINTS = ("Could not find a version", "No matching distribution", "Failed to establish",
                 "Temporary failure in name resolution", "Network is unreachable", "ProxyError")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t",
                    "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in HOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, repo / name)
    _git(repo, "init", "-q", ".")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "hooks")
    return repo


_INSTALLING: dict[Path, subprocess.Popen[bytes]] = {}


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory, hook_repo: Path) -> Iterator[Path]:
    """The cached hook environment of ``run_hook``, installed in the background from the
    start (~8 s of CPU, mostly pip) while the try-repo test installs its own: on two cores the
    two installs overlap.  ``run_hook`` waits for it (pre-commit's store lock would make a run
    wait too); a failed install is retried, and reported, by the run itself.  Stopped unused
    when no test runs a hook."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    cfg = hook_config(hook_repo, home / "install-hooks-config.yaml")
    _INSTALLING[home] = subprocess.Popen([sys.executable, "-m", "pre_commit", "install-hooks", "--config", str(cfg)],
                                         cwd=hook_repo, env=hook_env(home), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
    yield home
    proc = _INSTALLING.pop(home, None)
    if proc is not None:  # no run_hook test ran: stop the install (pre-commit, pip and all)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


def hook_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("NO_COLOR", None)
    return env


def hook_config(hook_repo: Path, cfg: Path) -> Path:
    """A pre-commit config with both hooks of ``hook_repo`` at its HEAD."""
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hook_repo, capture_output=True, text=True,
                         check=True).stdout.strip()
    cfg.write_text(f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n  - id: istio-vm-lint\n"
                   "  - id: istio-vm-lint-repo\n")
    return cfg


def make_git_repo(root: Path, vs: str, extra: dict[str, str] | None = None) -> Path:
    (root / "mesh").mkdir(parents=True)
    (root / "mesh" / "base.yaml").write_text(BASE)
    (root / "mesh" / "vs.yaml").write_text(vs)
    (root / ".istio-vm-lint.toml").write_text(CONFIG)
    for name, text in (extra or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "init", "-q", ".")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "mesh")
    return root


def try_repo(repo: Path, hook_repo: Path, home: Path, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, "--color", "never",
                        *args], cwd=repo, capture_output=True, text=True, env=hook_env(home), timeout=900)
    if p.returncode not in (0, 1) and any(h in p.stdout + p.stderr for h in OFFLINE_HINTS):
        pytest.skip("pre-commit could not install the hook environment (offline?)")
    return p


def run_hook(repo: Path, hook_repo: Path, home: Path, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``pre-commit run`` with a config pointing at the hook repo: same code path as a user's
    setup, and the environment is cached in ``home`` (try-repo reinstalls it every time)."""
    cfg = hook_config(hook_repo, repo.parent / f"{repo.name}-pre-commit-config.yaml")
    installing = _INSTALLING.pop(home, None)
    if installing is not None:
        installing.wait(timeout=900)
    p = subprocess.run([sys.executable, "-m", "pre_commit", "run", hook, "--config", str(cfg), "--color", "never",
                        *args], cwd=repo, capture_output=True, text=True, env=hook_env(home), timeout=900)
    if p.returncode not in (0, 1) and any(h in p.stdout + p.stderr for h in OFFLINE_HINTS):
        pytest.skip("pre-commit could not install the hook environment (offline?)")
    return p


def test_changed_file_hook_resolves_against_the_whole_repository(tmp_path: Path, hook_repo: Path,
                                                                 pre_commit_home: Path) -> None:
    repo = make_git_repo(tmp_path / "r", VS_GOOD)
    p = try_repo(repo, hook_repo, pre_commit_home, "istio-vm-lint", "--files", "mesh/vs.yaml")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "istio-vm-lint" in p.stdout and "Passed" in p.stdout


def test_changed_file_hook_reports_in_the_passed_files_only(tmp_path: Path, hook_repo: Path,
                                                            pre_commit_home: Path) -> None:
    repo = make_git_repo(tmp_path / "r", VS_BAD, {"mesh/dup.yaml": "kind: A\nkind: B\napiVersion: v1\n"})
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint", "--files", "mesh/vs.yaml")
    assert p.returncode == 1
    assert "mesh/vs.yaml:12:9: IVL501 [error]" in p.stdout and "dup.yaml" not in p.stdout
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint", "--files", "mesh/base.yaml")
    assert p.returncode == 0, p.stdout  # base.yaml is fine; vs.yaml's problem is not its business
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint", "--all-files")
    assert p.returncode == 1 and "mesh/dup.yaml:2:1: IVL002" in p.stdout and "mesh/vs.yaml:12:9" in p.stdout


def test_changed_file_hook_many_files(tmp_path: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    """Many files: however pre-commit partitions them, each finding is reported once."""
    extra = {f"mesh/n{i:02d}.yaml": f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n{i}\n" for i in range(40)}
    extra["mesh/z.yaml"] = "kind: A\nkind: B\napiVersion: v1\n"
    repo = make_git_repo(tmp_path / "r", VS_BAD, extra)
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint", "--all-files")
    assert p.returncode == 1
    assert p.stdout.count("IVL501") == 1 and p.stdout.count("IVL002") == 1


def test_repo_hook_lints_everything(tmp_path: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    repo = make_git_repo(tmp_path / "r", VS_GOOD, {"mesh/dup.yaml": "kind: A\nkind: B\napiVersion: v1\n"})
    # run_hook reuses the hook environment; try-repo (a fresh install each time, ~15 s) is
    # covered by the changed-file test above.
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint-repo", "--files", "mesh/vs.yaml")
    assert p.returncode == 1
    assert "mesh/dup.yaml:2:1: IVL002" in p.stdout  # reported although only vs.yaml changed
    (repo / "mesh" / "dup.yaml").write_text("a: 1\n")
    _git(repo, "add", ".")
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint-repo", "--all-files")
    assert p.returncode == 0, p.stdout


def test_hook_manifest() -> None:
    """The manifest pre-commit reads: two hooks, entries matching our console script."""
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"istio-vm-lint", "istio-vm-lint-repo"}
    assert hooks["istio-vm-lint"]["types"] == ["yaml"] and hooks["istio-vm-lint"]["pass_filenames"] is True
    assert hooks["istio-vm-lint-repo"]["pass_filenames"] is False
    for h in hooks.values():
        assert h["language"] == "python" and h["entry"].split()[0] == "istio-vm-lint"


def test_changed_file_hook_catches_what_the_change_breaks(tmp_path: Path, hook_repo: Path,
                                                          pre_commit_home: Path) -> None:
    """vm-whoami: the ServiceEntry's port 80 becomes 81 and only that file is staged.  The
    changed-file hook must fail with the IVL201 in the unchanged VirtualService."""
    repo = tmp_path / "r"
    shutil.copytree(ROOT / "fixtures" / "examples" / "vm-whoami", repo)
    _git(repo, "init", "-q", ".")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "mesh")
    se = repo / "whoami" / "serviceentry.yaml"
    se.write_text(se.read_text().replace("  - number: 80\n", "  - number: 81\n"))
    _git(repo, "add", "whoami/serviceentry.yaml")
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint")  # staged files, as on commit
    assert p.returncode == 1, p.stdout + p.stderr
    assert "whoami/virtualservice.yaml:21:11: IVL201 [error]" in p.stdout
    assert "caused by the change to ServiceEntry whoami/whoami in whoami/serviceentry.yaml" in p.stdout
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint-repo")
    assert p.returncode == 1 and "whoami/virtualservice.yaml:21:11: IVL201" in p.stdout
    # undo the change: both hooks pass again
    _git(repo, "checkout", "HEAD", "--", "whoami/serviceentry.yaml")
    (repo / "whoami" / "deployment.yaml").write_text((repo / "whoami" / "deployment.yaml").read_text() + "\n")
    _git(repo, "add", "whoami/deployment.yaml")
    p = run_hook(repo, hook_repo, pre_commit_home, "istio-vm-lint")
    assert p.returncode == 0, p.stdout
