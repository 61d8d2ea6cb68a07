"""The parse cache: a warm run reports exactly what a cold run reports, and a broken,
stale or unwritable cache is the same as no cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from istio_vm_lint import cache as cache_mod
from istio_vm_lint.cache import ParseCache
from istio_vm_lint.cli import main
from istio_vm_lint.loader import load_documents

from conftest import FIXTURES, ROOT

CORPORA = [FIXTURES / "examples", FIXTURES / "badinput" / "cases", FIXTURES / "rules"]


def run(target: Path, cache_dir: Path | None, *extra: str) -> tuple[int, str]:
    args = [str(target), "--format", "json", "--isolated", "--no-context", *extra]
    args += ["--cache-dir", str(cache_dir)] if cache_dir is not None else ["--no-cache"]
    res = CliRunner().invoke(main, ["check", *args])
    return res.exit_code, res.stdout


def parse_into(c: ParseCache, raw: bytes) -> None:
    """What load_project does on a miss: look up, parse, store."""
    key, hit = c.get(raw)
    if hit is None:
        c.put(key, load_documents(raw)[0])


def pack_files(d: Path) -> list[Path]:
    return sorted(d.glob("parse-*.marshal"))


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_warm_run_equals_cold_run(corpus: Path, tmp_path: Path) -> None:
    cold = run(corpus, None)
    first = run(corpus, tmp_path / "c")  # fills the cache
    assert pack_files(tmp_path / "c")
    warm = run(corpus, tmp_path / "c")  # reads it
    assert cold == first == warm
    assert json.loads(warm[1])["findings"], "corpus should have findings to compare"


def test_benchmark_repository_warm_equals_cold(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(repo), "-n", "300"],
                   check=True, capture_output=True)
    cold = run(repo, None)
    run(repo, tmp_path / "c")
    assert run(repo, tmp_path / "c") == cold


def test_edited_file_is_parsed_again(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "examples" / "vm-whoami", repo)
    c = tmp_path / "c"
    assert run(repo, c)[0] == 0
    target = next(p for p in sorted(repo.rglob("*.yaml")) if "WorkloadEntry" in p.read_text())
    target.write_text(target.read_text() + "---\napiVersion: v1\nkind: Service\nmetadata: {name: x\n")
    code, out = run(repo, c)
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == ["IVL001"]
    assert run(repo, c) == (code, out)
    s = ParseCache(str(c))
    for p in sorted(repo.rglob("*.yaml")):
        assert s.get(p.read_bytes())[1] is not None, p  # every current file is in the pack


def test_corrupt_or_foreign_pack_is_ignored_and_replaced(tmp_path: Path) -> None:
    corpus = FIXTURES / "examples"
    c = tmp_path / "c"
    expected = run(corpus, None)
    run(corpus, c)
    (pack,) = pack_files(c)
    pack.write_bytes(b"\x00garbage")
    assert run(corpus, c) == expected
    assert pack.read_bytes() != b"\x00garbage"
    # A pack written by another loader build is never read.
    other = c / "parse-0000000000000000.marshal"
    shutil.copy(pack, other)
    assert run(corpus, c) == expected


def test_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    raw = b"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
    c = ParseCache(str(tmp_path))
    c._old[cache_mod.content_key(raw)] = (b"not marshal", 0)
    assert c.get(raw)[1] is None and c.misses == 1


def test_other_loader_identity_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b"a: 1\n"
    c = ParseCache(str(tmp_path))
    parse_into(c, raw)
    assert c.save()
    assert ParseCache(str(tmp_path)).get(raw)[1] is not None
    monkeypatch.setattr(cache_mod, "FORMAT", cache_mod.FORMAT + 1)
    assert ParseCache(str(tmp_path)).get(raw)[1] is None


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_cache_directory_is_no_cache(tmp_path: Path) -> None:
    c = tmp_path / "ro"
    c.mkdir()
    c.chmod(0o500)
    try:
        assert run(FIXTURES / "examples", c) == run(FIXTURES / "examples", None)
    finally:
        c.chmod(0o700)


def test_cache_path_that_is_a_file_is_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run(FIXTURES / "examples", blocker) == run(FIXTURES / "examples", None)


def test_opt_in_flags_env_and_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "examples" / "vm-whoami", repo)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("ISTIO_VM_LINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("ISTIO_VM_LINT_NO_CACHE", raising=False)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    # Not asked for: nothing is written anywhere.
    assert CliRunner().invoke(main, ["check", "."]).exit_code == 0
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    # --cache-dir: a pack, ignored by git, tagged as a cache; -v says what was reused.
    d = repo / ".istio-vm-lint-cache"
    res = CliRunner().invoke(main, ["check", ".", "--cache-dir", str(d), "-v"])
    assert res.exit_code == 0
    assert pack_files(d) and (d / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (d / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert "0 file(s) reused" in res.stderr
    res = CliRunner().invoke(main, ["check", ".", "--cache-dir", str(d), "-v"])
    assert " 0 parsed" in res.stderr
    # The environment variable asks for one too; --no-cache and ISTIO_VM_LINT_NO_CACHE win.
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("ISTIO_VM_LINT_CACHE_DIR", str(elsewhere))
    assert CliRunner().invoke(main, ["check", ".", "--no-cache"]).exit_code == 0
    assert not elsewhere.exists()
    monkeypatch.setenv("ISTIO_VM_LINT_NO_CACHE", "1")
    assert CliRunner().invoke(main, ["check", "."]).exit_code == 0
    assert not elsewhere.exists()
    monkeypatch.delenv("ISTIO_VM_LINT_NO_CACHE")
    assert CliRunner().invoke(main, ["check", "."]).exit_code == 0
    assert pack_files(elsewhere)


def test_config_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "examples" / "vm-whoami", repo)
    (repo / ".istio-vm-lint.toml").write_text('cache-dir = "build/lint-cache"\n')
    monkeypatch.chdir(repo)
    monkeypatch.delenv("ISTIO_VM_LINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("ISTIO_VM_LINT_NO_CACHE", raising=False)
    assert CliRunner().invoke(main, ["check", "."]).exit_code == 0
    assert pack_files(repo / "build" / "lint-cache")


def test_unused_entries_survive_a_few_generations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_mod, "KEEP_GENERATIONS", 2)
    d = str(tmp_path)
    old = b"k: old\n"
    first = ParseCache(d)
    parse_into(first, old)
    assert first.save() and first.generation == 1
    for i in range(3):  # runs over other files only
        raw = f"k: {i}\n".encode()
        c = ParseCache(d)
        parse_into(c, raw)
        assert c.misses == 1
        c.save()
        still = cache_mod.content_key(old) in ParseCache(d)._old
        assert still == (i < 2), i  # used in generation 1: kept in 2 and 3, dropped in 4
    # A run that parses nothing new does not rewrite the pack.
    c = ParseCache(d)
    assert c.get(b"k: 2\n")[1] is not None
    before = (tmp_path / os.path.basename(c.path)).stat().st_mtime_ns
    assert c.save()
    assert (tmp_path / os.path.basename(c.path)).stat().st_mtime_ns == before


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20))
def test_round_trip_of_any_document(value: Any) -> None:
    # A modelled kind is cached whole, whatever its spec holds.  JSON is YAML.
    text = json.dumps({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "spec": value})
    result, _ = load_documents(text)
    back = cache_mod._decode(cache_mod._encode(result))
    assert back == result


def test_pack_keeps_no_secrets_and_is_private(tmp_path: Path) -> None:
    """Kinds the linter does not model are cached as apiVersion/kind only (that is all the
    model reads of them), the pack is 0600, and a warm run still counts them the same."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "examples" / "vm-whoami", repo)
    (repo / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: hunter2-SUPERSECRET}\n"
        "---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c},"
        " data: {token: LISTED-SECRET}}\n- {apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}}\n"
        "---\n- a plain list document with ANOTHER-SECRET\n")
    c = tmp_path / "c"
    cold = run(repo, None, "-v")
    assert run(repo, c, "-v") == cold
    assert run(repo, c, "-v") == cold
    (pack,) = pack_files(c)
    blob = pack.read_bytes()
    for secret in (b"hunter2-SUPERSECRET", b"LISTED-SECRET", b"ANOTHER-SECRET"):
        assert secret not in blob
    assert b"sa" in blob  # a modelled kind inside the List is kept whole
    assert pack.stat().st_mode & 0o077 == 0


def test_existing_directory_is_not_marked(tmp_path: Path) -> None:
    """--cache-dir . must not drop a `*` .gitignore into someone's repository."""
    d = tmp_path / "mine"
    d.mkdir()
    run(FIXTURES / "examples", d)
    assert pack_files(d)
    assert not (d / ".gitignore").exists() and not (d / "CACHEDIR.TAG").exists()


def test_other_builds_packs_and_temp_files_age_out(tmp_path: Path) -> None:
    raw = b"a: 1\n"
    d = tmp_path / "c"
    d.mkdir()
    recent, stale, temp = d / "parse-00000000000000aa.marshal", d / "parse-00000000000000bb.marshal", d / ".parse-x"
    for p in (recent, stale, temp):
        p.write_bytes(b"x")
    old = time.time() - cache_mod.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(temp, (old, old))
    c = ParseCache(str(d))
    parse_into(c, raw)
    assert c.save()
    assert recent.exists()  # another interpreter's, in use
    assert not stale.exists() and not temp.exists()


def test_entries_in_use_are_refreshed_before_they_age_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_mod, "KEEP_GENERATIONS", 4)
    d = str(tmp_path)
    keep = b"k: keep\n"
    c = ParseCache(d)
    parse_into(c, keep)
    c.save()
    for i in range(12):
        # A run over other files writes a new generation without touching `keep` ...
        other = ParseCache(d)
        raw = f"k: {i}\n".encode()
        parse_into(other, raw)
        other.save()
        # ... and a run that only reads `keep` (no miss) refreshes it when it gets old.
        reader = ParseCache(d)
        assert reader.get(keep)[1] is not None, i
        reader.save()
