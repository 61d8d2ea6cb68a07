"""The result cache (lint/result_cache.py): a run whose inputs are all unchanged reuses the
findings of the run that had them, byte for byte; any change to an input runs the linter
again; a damaged or foreign entry is a miss, never a crash."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from istio_vm_lint import cache as cache_mod
from istio_vm_lint import result_cache, runner
from istio_vm_lint.cli import main

VARIANT = FIXTURES / "variants" / "IVL501-short-name-for-serviceentry-host"


class Repo:
    """A copy of a fixture repository in a git work tree, linted through the CLI, counting
    the runs that really lint (``runner.lint``) so a hit can be told from a miss."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path = VARIANT) -> None:
        self.root = tmp_path / "repo"
        shutil.copytree(source, self.root)
        (self.root / ".git").mkdir()
        self.cache = tmp_path / "cache"
        self.linted = 0
        self.mp = monkeypatch
        real = runner.lint

        def counting(*a: Any, **k: Any) -> Any:
            self.linted += 1
            return real(*a, **k)

        monkeypatch.setattr(runner, "lint", counting)
        monkeypatch.chdir(self.root)
        for var in ("ISTIO_VM_LINT_NO_RESULT_CACHE", "ISTIO_VM_LINT_NO_CLOSURE", "ISTIO_VM_LINT_CACHE_DIR",
                    "ISTIO_VM_LINT_NO_CACHE"):
            monkeypatch.delenv(var, raising=False)

    def run(self, *args: str, cache: bool = True) -> tuple[int, str, str]:
        extra = ["--cache-dir", str(self.cache)] if cache else ["--no-cache"]
        res = CliRunner().invoke(main, ["check", *args, *extra])
        return res.exit_code, res.stdout, res.stderr

    def hit(self, *args: str) -> bool:
        """Run with the cache; True when nothing was linted (the result was reused).  The
        output must equal a run without any cache in every case."""
        before = self.linted
        got = self.run(*args)
        hit = self.linted == before
        assert got == self.run(*args, cache=False)
        return hit


def se_file(repo: Repo) -> Path:
    """The file with the variant's finding."""
    return repo.root / "shop" / "virtualservice.yaml"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_hit_prints_what_a_run_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    repo = Repo(tmp_path, monkeypatch)
    for args in ((".", "--format", fmt), (str(se_file(repo).relative_to(repo.root)), "--format", fmt)):
        cold = repo.run(*args, cache=False)
        assert cold[0] == 1 and cold[1]  # findings: exit 1
        assert repo.run(*args) == cold  # fills
        linted = repo.linted
        assert repo.run(*args) == cold  # reuses
        assert repo.linted == linted
    assert len(list(repo.cache.glob("result-*.bin"))) == 2


def test_exit_codes_and_summary_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path, monkeypatch)
    for args in ((".",), (".", "--exit-zero"), (".", "--fail-on", "info"), (".", "--ignore", "IVL501"),
                 (".", "missing.yaml")):
        repo.run(*args)
        assert repo.hit(*args), args
    code, _, err = repo.run(".", "-v")
    assert code == 1 and "result cache" in err and "parse cache" not in err
    repo.mp.setenv("ISTIO_VM_LINT_NO_RESULT_CACHE", "1")
    code, _, err = repo.run(".", "-v")
    assert code == 1 and "result cache" not in err and "parse cache" in err


def _write(path: Path, text: str) -> Callable[[Repo], None]:
    return lambda repo: (repo.root / path).write_text(text)


CHANGES: dict[str, Callable[[Repo], Any]] = {
    "edit a file": lambda r: se_file(r).write_text(se_file(r).read_text() + "\n# edited\n"),
    "change one byte": lambda r: se_file(r).write_bytes(se_file(r).read_bytes().replace(b"80", b"81", 1)),
    "add a file": _write(Path("new.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: added}\n"),
    "remove a file": lambda r: (r.root / "namespaces.yaml").unlink(),
    "rename a file": lambda r: (r.root / "namespaces.yaml").rename(r.root / "ns.yaml"),
    "config file": _write(Path(".istio-vm-lint.toml"), 'ignore = ["IVL501"]\n'),
    "excluded Chart.yaml beside": lambda r: (se_file(r).parent / "Chart.yaml").write_text("name: x\n"),
    "excluded constraint.yaml beside": lambda r: (se_file(r).parent / "constraint.yaml").write_text("a: 1\n"),
    "closure switch": lambda r: r.mp.setenv("ISTIO_VM_LINT_NO_CLOSURE", "1"),
    "another build": lambda r: setattr(cache_mod, "_package_digest", b"\x01" * 16),
    "symlink instead of a file": lambda r: (shutil.move(r.root / "namespaces.yaml", r.root.parent / "ns.yaml"),
                                            (r.root / "namespaces.yaml").symlink_to("istio-system/../../ns.yaml")),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_to_an_input_lints_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    repo = Repo(tmp_path, monkeypatch)
    monkeypatch.setattr(cache_mod, "_package_digest", cache_mod.package_digest())
    args = (".", "--format", "json", "--exclude", "Chart.yaml", "--exclude", "constraint.yaml")
    repo.run(*args)
    assert repo.hit(*args)
    CHANGES[change](repo)
    assert not repo.hit(*args)
    assert repo.hit(*args)  # and the new state is cached in turn


def test_run_options_are_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path, monkeypatch)
    named = str(se_file(repo).relative_to(repo.root))
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text("defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: 'true'\n")
    runs = [(".",), (named,), (named, "namespaces.yaml"), (".", "--select", "IVL5"), (".", "--ignore", "IVL501"),
            (".", "--default-namespace", "other"), (".", "--cluster-domain", "example.org"),
            (".", "--external-host", "*.svc.cluster.local"), (named, "--no-context"),
            (".", "--mesh-config", str(mesh))]
    for args in runs:
        assert not repo.hit(*args), args
    mesh.write_text("defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: 'false'\n")
    assert not repo.hit(".", "--mesh-config", str(mesh))
    for args in runs:
        assert repo.hit(*args), args
    # The current directory: display paths are relative to it.
    monkeypatch.chdir(repo.root / "istio-system")
    assert not repo.hit("..")
    assert repo.hit("..")


def test_damaged_or_foreign_entries_are_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path, monkeypatch)
    args = (".", "--format", "json")
    repo.run(*args)
    (entry,) = repo.cache.glob("result-*.bin")
    good = entry.read_bytes()
    header = cache_mod._HEADER.size
    damaged = [good[:-1] + bytes([good[-1] ^ 1]), good[: len(good) // 2], b"", good[:header],
               good.replace(cache_mod.MAGIC, b"XXXXXXXX", 1)]
    # A well-formed entry of another key (another run's file copied over this one) ...
    import hashlib
    import marshal

    for payload in (marshal.dumps((result_cache.FORMAT, [("x",)], (0,) * 9, [])), b"\xff\x00junk",
                    marshal.dumps((result_cache.FORMAT + 1, [], (0,) * 9, [])),
                    marshal.dumps((result_cache.FORMAT, [], (0,) * 8, [])),
                    marshal.dumps((result_cache.FORMAT, [("a", "b", "c", "d", ("f", "1", 1), None, "", [], "", None)],
                                   (0,) * 9, []))):
        key = bytes.fromhex(entry.name[len("result-"):-len(".bin")])
        damaged.append(cache_mod._HEADER.pack(cache_mod.MAGIC, key, len(payload),
                                              hashlib.blake2b(payload, digest_size=32).digest()) + payload)
    other = bytearray(good)
    other[len(cache_mod.MAGIC)] ^= 1  # the key in the header is another one
    damaged.append(bytes(other))
    for blob in damaged:
        entry.write_bytes(blob)
        assert not repo.hit(*args)
        assert entry.read_bytes() == good  # rewritten
    entry.unlink()
    entry.mkdir()  # not a regular file: a miss, and nothing written over it
    assert not repo.hit(*args)
    assert entry.is_dir()


def test_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path, monkeypatch)
    # Switched off.
    monkeypatch.setenv("ISTIO_VM_LINT_NO_RESULT_CACHE", "1")
    repo.run(".")
    assert not repo.hit(".")
    monkeypatch.delenv("ISTIO_VM_LINT_NO_RESULT_CACHE")
    # A Helm chart: helm reads what the key does not cover.
    chart = repo.root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    repo.run(".")
    assert not repo.hit(".")
    shutil.rmtree(chart)
    # stdin.
    res = [CliRunner().invoke(main, ["check", "-", "--stdin-filename", "x.yaml", "--cache-dir", str(repo.cache)],
                              input="apiVersion: v1\nkind: Namespace\nmetadata: {name: s}\n") for _ in range(2)]
    assert res[0].stdout == res[1].stdout and repo.linted >= 2
    before = repo.linted
    # A rule that crashed: not stored.
    from istio_vm_lint import result_cache as rc

    real = rc.Summary.of

    def crashed(outcome: Any) -> Any:
        s = real(outcome)
        s.internal_errors = 1
        return s

    monkeypatch.setattr(rc.Summary, "of", staticmethod(crashed))
    for _ in range(2):
        repo.run(".", "--ignore", "IVL1")
    assert repo.linted == before + 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_named_pipe_is_read_by_the_run_not_by_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``istio-vm-lint <(helm template .)``: the key must not read (and eat) the pipe."""
    repo = Repo(tmp_path, monkeypatch)
    text = (VARIANT / "namespaces.yaml").read_bytes()
    fifo = tmp_path / "pipe.yaml"
    results = []
    for _ in range(2):
        os.mkfifo(fifo)
        writer = threading.Thread(target=lambda: fifo.write_bytes(text), daemon=True)
        writer.start()
        results.append(repo.run(str(fifo), "--format", "json"))
        writer.join(10)
        fifo.unlink()
    assert results[0] == results[1]
    assert '"files": 1' in results[0][1]


def test_kustomize_inputs_outside_the_yaml_are_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kustomization reads files that are not discovered YAML (an env file of a generator, a
    JSON patch, a base beside): the key holds the render cache's key of every tree."""
    repo = Repo(tmp_path, monkeypatch)
    app = repo.root / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text("namespace: shop\nresources: [ns.yaml]\n"
                                            "configMapGenerator:\n- name: settings\n  envs: [app.env]\n")
    (app / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    (app / "app.env").write_text("A=1\n")
    for i, command in enumerate(("none", None)):  # not rendered, rendered when kubectl is installed
        args = (".",) if command is None else (".", "--config", str(tmp_path / "k.toml"))
        (tmp_path / "k.toml").write_text(f'kustomize-command = "{command}"\n')
        repo.run(*args)
        assert repo.hit(*args)
        (app / "app.env").write_text((app / "app.env").read_text() + f"B{i}=2\n")
        assert not repo.hit(*args)
        (app / "notes.txt").write_text(f"beside the kustomization {i}\n")
        assert not repo.hit(*args)
        assert repo.hit(*args)
    # A render that failed (a duplicate key in the env file) is not stored: it may not fail again.
    (app / "app.env").write_text((app / "app.env").read_text() + "B1=3\n")
    repo.run(".")
    if shutil.which("kubectl") or shutil.which("kustomize"):
        assert "IVL753" in repo.run(".")[1]
        assert not repo.hit(".")


def test_pruning_keeps_the_newest_entries_and_foreign_files(tmp_path: Path) -> None:
    d = tmp_path / "c"
    d.mkdir()
    hdr = cache_mod.MAGIC + b"\x00" * 60
    for i in range(5):
        p = d / f"result-{i:032x}.bin"
        p.write_bytes(hdr)
        os.utime(p, (1000 + i, 1000 + i))
    (d / f"result-{9:032x}.bin").write_bytes(b"not ours")
    os.utime(d / f"result-{9:032x}.bin", (1, 1))
    (d / "notes.bin").write_bytes(hdr)
    result_cache._prune(str(d), keep=2)
    assert sorted(p.name for p in d.iterdir()) == sorted(
        [f"result-{3:032x}.bin", f"result-{4:032x}.bin", f"result-{9:032x}.bin", "notes.bin"])


def test_instructions_beside_a_file_are_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A route to a missing host beside a README that installs a Helm release of that name is
    info (units/opaque.py reads the instructions): the README is an input."""
    repo = Repo(tmp_path, monkeypatch)
    readme = se_file(repo).parent / "README.md"
    repo.run(".")
    assert repo.hit(".")
    readme.write_text("Install the catalog first:\n\n    helm install catalog bitnami/nginx\n")
    assert not repo.hit(".")
    assert repo.hit(".")
    (se_file(repo).parent / "notes").mkdir()  # any new name beside a linted file
    assert not repo.hit(".")


_STDLIB = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
# The package's directories (its modules, rules and schemas: in the build's identity).
_PACKAGE = {os.path.realpath(os.path.dirname(f)) for f in cache_mod._package_files()}
_WATCHING: list[list[tuple[str, str]]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _WATCHING and event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes)):
        _WATCHING[-1].append((event, os.fsdecode(args[0])))


CORPORA = sorted([*(FIXTURES / "examples").iterdir(), *(FIXTURES / "units").iterdir()])


def test_a_run_reads_nothing_the_key_does_not_cover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file a run opens or lists (on the fixture repositories, whole and on named files)
    is one the key covers: a linted file, a directory holding one (its names, and the content
    of instructions beside it), a kustomize tree's file or directory (the render key), the
    package, the cache.  A rule that starts reading something else fails here until
    ``lint/result_cache.py`` keys it."""
    if not hasattr(sys, "addaudithook"):  # pragma: no cover
        pytest.skip("no audit hooks")
    monkeypatch.delenv("ISTIO_VM_LINT_NO_RESULT_CACHE", raising=False)  # the key's reads run too
    if _audit not in _HOOKED:
        sys.addaudithook(_audit)  # cannot be removed: it records only while _WATCHING is set
        _HOOKED.append(_audit)
    from istio_vm_lint import kustomize as kz
    from istio_vm_lint.units.opaque import INSTRUCTION_NAME_RE

    real_lint = runner.lint
    bad: list[str] = []
    for i, corpus in enumerate(CORPORA):
        if not corpus.is_dir() or any(corpus.rglob("Chart.yaml")):
            continue  # Helm charts: never cached
        seen: dict[str, Any] = {}

        def watched(paths: Any, settings: Any, *a: Any, files: Any = None, seen: Any = seen, **k: Any) -> Any:
            seen["files"] = files
            seen["settings"] = settings
            _WATCHING.append([])
            try:
                return real_lint(paths, settings, *a, files=files, **k)
            finally:
                seen["events"] = _WATCHING.pop()

        monkeypatch.setattr(runner, "lint", watched)
        monkeypatch.chdir(corpus)
        yamls = sorted(p for p in corpus.rglob("*.y*ml") if ".git" not in p.parts)
        runs = [[".", "--root", "."]]  # and, for a third of them, one named file (pre-commit)
        runs += [[str(yamls[len(yamls) // 2].relative_to(corpus)), "--root", "."]] if i % 3 == 0 else []
        for args in runs:
            CliRunner().invoke(main, ["check", *args, "--cache-dir", str(tmp_path / "c"), "--format", "json"])
            files = seen["files"]
            reals = {d.real for d in files}
            dirs = {os.path.dirname(d.real) for d in files} | {os.path.realpath(os.path.dirname(d.display) or ".")
                                                               for d in files}
            catalog = kz.Catalog(str(corpus))
            kdirs: set[str] = set()
            kfiles: set[str] = set()
            for d in files:
                if kz.is_kustomization(d.real):
                    tree = catalog.tree(catalog.get(os.path.dirname(d.real)))  # type: ignore[arg-type]
                    kdirs.update(k.dir for k in tree.kustomizations)
                    kfiles.update(tree.used_files)
            for event, path in seen["events"]:
                real = os.path.realpath(path)
                parent = os.path.dirname(real)
                covered = (real in reals or real in kfiles or parent in _PACKAGE or real in _PACKAGE
                           or (os.path.basename(parent) == "__pycache__" and os.path.dirname(parent) in _PACKAGE)
                           or real.startswith(_STDLIB) or real.startswith(str(tmp_path))
                           or real.startswith(tempfile.gettempdir() + os.sep + "istio-vm-lint-kustomize-")
                           or real == os.devnull
                           or any(real == k or real.startswith(k + os.sep) for k in kdirs)
                           or (event != "open" and real in dirs)
                           # a missing kustomize entry that is git-ignored: the tree's problems,
                           # which the key holds (the tree is planned again for the key)
                           or (kdirs and os.path.basename(real) == ".gitignore")
                           or (event == "open" and parent in dirs and INSTRUCTION_NAME_RE.fullmatch(os.path.basename(real))))
                if not covered:
                    bad.append(f"{corpus.name} {args[0]}: {event} {path}")
    assert not bad, "\n".join(bad[:20])


_HOOKED: list[Any] = []
