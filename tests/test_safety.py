"""Safety: linting is offline and read-only, and YAML is data, never code.

* no network access: socket creation and name resolution raise during a full lint and a CLI
  run (in-process, click's CliRunner);
* no kubeconfig or cluster credentials are read (KUBECONFIG and ~/.kube/config are never
  opened);
* YAML tags never execute anything: ``!!python/...`` and unknown tags are plain data;
* no writes: the linted tree is byte-for-byte and mtime-for-mtime unchanged after CLI runs
  in every output format.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT
from istio_vm_lint.cli import main
from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

# Realistic repositories plus a few folders with findings (parse, graph and conflict rules):
# enough to run every stage, small enough to keep these tests fast.
SAMPLE_BAD = ("IVL001", "IVL002", "IVL004", "IVL201", "IVL401", "IVL501", "IVL710")


def _targets() -> list[str]:
    paths = [FIXTURES / "examples"] + [FIXTURES / "rules" / code / "bad" for code in SAMPLE_BAD]
    return [str(p) for p in paths if p.is_dir()]


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way to open a connection or resolve a name raises (and is recorded)."""
    attempts: list[str] = []

    def deny(name: str) -> Any:
        def _deny(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[:2]}")
            raise NetworkUsed(f"network access attempted: {name}{args[:2]}")
        return _deny

    class DeniedSocket(socket.socket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            attempts.append(f"socket{args[:2]}")
            raise NetworkUsed("network access attempted: socket()")

    monkeypatch.setattr(socket, "socket", DeniedSocket)
    for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                 "socketpair", "fromfd", "create_server"):
        if hasattr(socket, name):
            monkeypatch.setattr(socket, name, deny(name))
    return attempts


def test_full_lint_needs_no_network(no_network: list[str]) -> None:
    out = lint(_targets(), Settings())
    assert out.findings  # the rule fixtures have findings: the run really happened
    assert not out.result.internal_errors
    assert no_network == []


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_cli_needs_no_network(no_network: list[str], fmt: str) -> None:
    result = CliRunner().invoke(main, ["check", "--format", fmt, "--isolated", *_targets()])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1), result.output
    assert no_network == []
    if fmt in ("json", "sarif"):
        json.loads(result.stdout)


def test_graph_and_rules_commands_need_no_network(no_network: list[str]) -> None:
    for args in (["rules", "--format", "json"], ["explain", "IVL001"],
                 ["graph", "--format", "json", str(FIXTURES / "examples")]):
        result = CliRunner().invoke(main, args)
        if "No such command" in result.output:
            continue
        assert result.exit_code == 0, (args, result.output)
    assert no_network == []


# --- no kubeconfig ---------------------------------------------------------------------------


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every path opened through open()/io.open()/os.open()/Path.open()."""
    paths: list[str] = []
    real_open, real_io_open, real_os_open = builtins.open, io.open, os.open

    def rec(path: Any) -> None:
        if isinstance(path, (str, bytes, os.PathLike)):
            paths.append(os.path.abspath(os.fsdecode(path)))

    def b_open(file: Any, *a: Any, **k: Any) -> Any:
        rec(file)
        return real_open(file, *a, **k)

    def i_open(file: Any, *a: Any, **k: Any) -> Any:
        rec(file)
        return real_io_open(file, *a, **k)

    def o_open(path: Any, *a: Any, **k: Any) -> Any:
        rec(path)
        return real_os_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", b_open)
    monkeypatch.setattr(io, "open", i_open)
    monkeypatch.setattr(os, "open", o_open)
    return paths


def test_no_kubeconfig_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: list[str]) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    opened.clear()  # only what the linter opens from here on

    out = lint(_targets(), Settings())
    assert out.findings
    result = CliRunner().invoke(main, ["check", "--format", "json", *_targets()])
    assert result.exit_code in (0, 1), result.output

    assert opened, "open() was not observed: the recording hook is broken"
    forbidden = {str(kubeconfig), str(home / ".kube" / "config")}
    assert not forbidden.intersection(opened)
    assert not [p for p in opened if os.sep + ".kube" + os.sep in p]
    # Only the inputs (and configuration files of the linted tree) are read, and the parse
    # cache (its own directory, here the session's temporary one).
    cache_dir = os.environ.get("ISTIO_VM_LINT_CACHE_DIR") or str(ROOT)
    outside = [p for p in opened if not p.startswith(str(FIXTURES)) and not p.startswith(str(ROOT))
               and not p.startswith(cache_dir)
               and "site-packages" not in p and not p.startswith(sys.prefix) and not p.startswith(sys.base_prefix)
               # kustomize renders through a temporary wrapper kustomization (deleted again)
               and "istio-vm-lint-kustomize-" not in p and p != os.devnull]
    assert not outside, outside


# --- YAML tags are data ----------------------------------------------------------------------


PAYLOADS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
    '!!python/object/new:os.system ["touch {marker}"]',
    '!!python/name:os.system',
    '!!python/module:os',
    '!!python/object:os.system {{cmd: "touch {marker}"}}',
    '!<tag:yaml.org,2002:python/object/apply:os.system> ["touch {marker}"]',
    '!!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL ["http://127.0.0.1:1/x"]]]]',
    '!Ref "touch {marker}"',
    '!custom {{run: "touch {marker}"}}',
]


def test_yaml_tags_never_execute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[str]) -> None:
    marker = tmp_path / "pwned"
    calls: list[str] = []

    def forbidden(name: str) -> Any:
        def _f(*a: Any, **k: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} called while linting")
        return _f

    monkeypatch.setattr(os, "system", forbidden("os.system"))
    monkeypatch.setattr(subprocess, "Popen", forbidden("subprocess.Popen"))
    if hasattr(os, "posix_spawn"):
        monkeypatch.setattr(os, "posix_spawn", forbidden("os.posix_spawn"))

    docs = []
    for i, payload in enumerate(PAYLOADS):
        value = payload.format(marker=marker)
        docs.append(f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-{i}\n  annotations:\n    x: {value}\n"
                    f"spec: {value}\n")
        docs.append(f"--- {value}\n")
    (tmp_path / "tags.yaml").write_text("---\n".join(docs))
    out = lint([str(tmp_path)], Settings())
    assert not out.result.internal_errors, [f.message for f in out.findings if f.code == "IVL000"]
    assert not marker.exists()
    assert calls == [] and no_network == []
    # The tagged values were loaded as plain data.
    from istio_vm_lint.loader import load_documents

    for doc in load_documents((tmp_path / "tags.yaml").read_bytes())[0].documents:
        for value in _leaves(doc.data):
            assert value is None or isinstance(value, (str, int, float, bool)), type(value)


def _leaves(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [x for v in data.values() for x in _leaves(v)] + [k for k in data if not isinstance(k, str)]
    if isinstance(data, list):
        return [x for v in data for x in _leaves(v)]
    return [data]


# --- read-only ---------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under ``root`` (hidden ones included) with type, size, mtime and content hash."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode, st.st_mtime_ns)
            else:
                with open(p, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
                out[rel] = ("file", st.st_size, st.st_mtime_ns, st.st_mode, digest)
    out["."] = ("dir", os.lstat(root).st_mode, os.lstat(root).st_mtime_ns)
    return out


def test_cli_writes_nothing(tmp_path: Path) -> None:
    """Lint a copy of the fixtures (made a git repository root, so root-relative features
    are active) in every format: afterwards nothing was added, removed or touched."""
    tree = tmp_path / "repo"
    for target in _targets():
        shutil.copytree(target, tree / Path(target).relative_to(FIXTURES))
    if (FIXTURES / "badinput" / "cases").is_dir():
        shutil.copytree(FIXTURES / "badinput" / "cases", tree / "badinput")
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = snapshot(tree)
    env = dict(os.environ, NO_COLOR="1")
    env.pop("ISTIO_VM_LINT_CACHE_DIR", None)  # the defaults: the parse cache is opt-in
    env.pop("ISTIO_VM_LINT_NO_CACHE", None)
    for fmt in ("text", "json", "sarif", "github"):
        proc = subprocess.run([sys.executable, "-m", "istio_vm_lint", "--format", fmt, "."], cwd=tree,
                              capture_output=True, env=env, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr.decode()[-2000:]
    after = snapshot(tree)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not added and not removed and not changed, {"added": added, "removed": removed, "changed": changed}


# --- issue 11 item 3: symlinks never lead the run out of the repository -------------------

SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: shop}}\n"


def _repo(tmp_path: Path, git: bool = True) -> tuple[Path, Path]:
    repo, outside = tmp_path / "repo", tmp_path / "elsewhere"
    (repo / "deploy").mkdir(parents=True)
    if git:
        (repo / ".git").mkdir()
    outside.mkdir()
    (repo / "deploy" / "sa.yaml").write_text(SA.format(name="inside"))
    (outside / "leak.yaml").write_text(SA.format(name="leaked"))
    return repo, outside


def _check(repo: Path, *args: str) -> tuple[list[tuple[str, int, str, str]], dict[str, Any]]:
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        res = CliRunner().invoke(main, ["check", ".", "--format", "json", "--fail-on", "error", *args])
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    return [(f["file"], f["line"], f["code"], f["severity"]) for f in doc["findings"]], doc["summary"]


def test_symlink_to_the_filesystem_root_is_not_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = _repo(tmp_path)
    os.symlink("/", repo / "root")
    from istio_vm_lint import discover as discover_mod

    walked: list[str] = []
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        walked.append(os.path.realpath(path))
        if not walked[-1].startswith(str(repo.resolve())):  # fail fast instead of walking /
            raise AssertionError(f"walked outside the repository: {walked[-1]}")
        return real_scandir(path)

    monkeypatch.setattr(discover_mod.os, "scandir", scandir)
    findings, summary = _check(repo)
    assert findings == [("root", 1, "IVL005", "info")]
    assert summary["files"] == 1 and summary["resources"] == 1
    assert walked and all(p.startswith(str(repo.resolve())) for p in walked), walked


@pytest.mark.parametrize("git", [True, False], ids=["repository", "no-repository"])
def test_symlinks_leaving_the_repository_are_reported_once_and_not_read(tmp_path: Path, git: bool) -> None:
    repo, outside = _repo(tmp_path, git)
    os.symlink(os.path.relpath(outside, repo / "deploy"), repo / "deploy" / "shared")  # a directory
    os.symlink(outside / "leak.yaml", repo / "deploy" / "leak.yaml")  # a file
    (repo / "platform").mkdir()
    (repo / "platform" / "sa.yaml").write_text(SA.format(name="platform"))
    os.symlink("../platform", repo / "deploy" / "platform")  # stays inside: followed as before
    from istio_vm_lint.runner import lint as run_lint

    # The repository (or, without one, the named directory) is the boundary.
    target = repo if git else repo / "deploy"
    out = run_lint([str(target)])
    names = sorted(r.name for r in out.project.resources)
    assert names == (["inside", "platform"] if git else ["inside"])
    assert sorted((os.path.basename(f.location.file), f.code, f.severity) for f in out.findings) == sorted(
        [("leak.yaml", "IVL005", "info"), ("shared", "IVL005", "info")] + ([] if git else [("platform", "IVL005", "info")]))
    assert all("leaked" not in f.message for f in out.findings)
    if git:
        findings, summary = _check(repo)
        assert sorted(findings) == [("deploy/leak.yaml", 1, "IVL005", "info"), ("deploy/shared", 1, "IVL005", "info")]
        assert summary["files"] == 2  # the links leaving the repository are not files that were read
