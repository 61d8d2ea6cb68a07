"""The parse cache: a warm run reports exactly what a cold run reports, and a broken,
stale or unwritable cache is the same as no cache."""

from __future__ import annotations

import functools
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
from conftest import FIXTURES, ROOT
from hypothesis import given
from hypothesis import strategies as st
from istio_vm_lint import cache as cache_mod
from istio_vm_lint.cache import ParseCache
from istio_vm_lint.cli import main
from istio_vm_lint.loader import load_documents


@pytest.fixture(autouse=True)
def _no_result_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the parse cache and what it stores: a repeated run must really
    run (tests/test_result_cache.py covers the result cache)."""
    monkeypatch.setenv("ISTIO_VM_LINT_NO_RESULT_CACHE", "1")

CORPORA = [FIXTURES / "examples", FIXTURES / "badinput" / "cases", FIXTURES / "rules"]


def run(target: Path, cache_dir: Path | None, *extra: str) -> tuple[int, str]:
    args = [str(target), "--format", "json", "--isolated", "--no-context", *extra]
    args += ["--cache-dir", str(cache_dir)] if cache_dir is not None else ["--no-cache"]
    res = CliRunner().invoke(main, ["check", *args])
    return res.exit_code, res.stdout


@functools.cache
def cold_run(corpus: Path) -> tuple[int, str]:
    """``run(corpus, None)`` of a committed corpus, which no test changes: computed once."""
    return run(corpus, None)


def parse_into(c: ParseCache, raw: bytes) -> None:
    """What load_project does on a miss: look up, parse, store."""
    key, hit = c.get(raw)
    if hit is None:
        c.put(key, load_documents(raw)[0])


def pack_files(d: Path) -> list[Path]:
    return sorted(d.glob("parse-*.marshal"))


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_warm_run_equals_cold_run(corpus: Path, tmp_path: Path) -> None:
    cold = cold_run(corpus)
    first = run(corpus, tmp_path / "c")  # fills the cache
    assert pack_files(tmp_path / "c")
    warm = run(corpus, tmp_path / "c")  # reads it
    assert cold == first == warm
    assert json.loads(warm[1])["findings"], "corpus should have findings to compare"


@pytest.mark.parametrize("unit", ["kustomize-inline-patch-defect", "kustomize-patch-defect"])
def test_patches_are_read_whole_from_a_warm_cache(unit: str, tmp_path: Path) -> None:
    """A kustomization and its patch files are kinds the model does not keep (the pack holds
    their apiVersion and kind only): the inline patches and JSON 6902 operations that locate a
    patched field are read from the file itself, so a warm run reports the same lines."""
    corpus = FIXTURES / "units" / unit
    cold = run(corpus, None, "--root", str(corpus))
    assert run(corpus, tmp_path / "c", "--root", str(corpus)) == cold
    assert run(corpus, tmp_path / "c", "--root", str(corpus)) == cold
    assert json.loads(cold[1])["findings"]


def test_benchmark_repository_warm_equals_cold(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(repo), "-n", "300"],
                   check=True, capture_output=True)
    cold = run(repo, None)
    run(repo, tmp_path / "c")
    assert run(repo, tmp_path / "c") == cold


def test_non_manifest_stays_one_from_a_warm_cache(tmp_path: Path) -> None:
    """A YAML file that is no manifest (an Envoy config with a duplicate key) gets no parse
    finding, warm or cold: the pack keeps no apiVersion/kind its documents do not have."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "envoy.yaml").write_text("static_resources:\n  stat_prefix: a\n  stat_prefix: b\n")
    (repo / "half.yaml").write_text("apiVersion: v1\nspec: {a: 1, a: 2}\n")
    cold = run(repo, None)
    assert json.loads(cold[1])["findings"] == []
    c = tmp_path / "c"
    assert run(repo, c) == cold
    assert run(repo, c) == cold


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
    expected = cold_run(corpus)
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
        assert run(FIXTURES / "examples", c) == cold_run(FIXTURES / "examples")
    finally:
        c.chmod(0o700)


def test_cache_path_that_is_a_file_is_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run(FIXTURES / "examples", blocker) == cold_run(FIXTURES / "examples")


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


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _user_files_named_like_the_cache(d: Path) -> None:
    """Files of every name pattern the cache uses (and near misses), old enough to prune."""
    ours = os.path.basename(ParseCache(str(d)).path)  # the exact name this build's pack takes
    names = [ours, "parse-" + "0" * 32 + ".marshal", "parse-00000000000000bb.marshal", "parse-x.marshal",
             ".parse-abcdefgh.tmp", ".parse-x", ".parse-deploy.yaml", "CACHEDIR.TAG", ".gitignore"]
    for i, name in enumerate(names):
        (d / name).write_bytes(f"user file {i}: keep me\n".encode())
    (d / ".parse-deploy.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: kept}\n"
                                          "spec: {ports: [{port: 80}]}\n")
    old = time.time() - 10 * 365 * 24 * 3600
    for p in d.iterdir():
        os.utime(p, (old, old))


def test_user_files_in_a_cache_directory_are_never_touched(tmp_path: Path) -> None:
    """--cache-dir pointing at a directory the linter did not create (here: the linted
    directory itself): every byte of every file is still there afterwards."""
    d = tmp_path / "mine"
    d.mkdir()
    _user_files_named_like_the_cache(d)
    before = _snapshot(d)
    cold = run(d, None)
    assert run(d, d) == cold
    assert run(d, d) == cold
    assert json.loads(cold[1])["summary"]["files"] == 1  # the YAML file among them was linted
    after = _snapshot(d)
    assert {k: after.get(k) for k in before} == before
    assert set(after) == set(before)  # the pack's own name is taken by a user file: nothing written


def test_user_files_in_a_directory_the_linter_created_are_not_pruned(tmp_path: Path) -> None:
    """Even in its own directory, the cache removes only files it can tell it wrote (its own
    names, a pack header), never a user's file that happens to share a name pattern."""
    d = tmp_path / "c"
    run(FIXTURES / "examples", d)
    assert (d / "CACHEDIR.TAG").exists()
    (pack,) = pack_files(d)
    pack.unlink()
    _user_files_named_like_the_cache(d)
    (d / "CACHEDIR.TAG").write_text(cache_mod._CACHEDIR_TAG)  # still the linter's directory
    before = _snapshot(d)
    assert run(FIXTURES / "examples", d) == cold_run(FIXTURES / "examples")
    after = _snapshot(d)
    mine = os.path.basename(ParseCache(str(d)).path)
    # Under its own build-specific name in its own directory, the pack replaces what is there.
    assert {k: v for k, v in after.items() if k != mine} == {k: v for k, v in before.items() if k != mine}


def test_other_builds_packs_and_temp_files_age_out_in_the_linters_own_directory(tmp_path: Path) -> None:
    raw = b"a: 1\n"
    d = tmp_path / "c"
    c = ParseCache(str(d))
    parse_into(c, raw)
    assert c.save() and (d / "CACHEDIR.TAG").exists()  # created (and marked) by the cache
    genuine = Path(c.path).read_bytes()
    recent, stale, temp = (d / f"parse-{'a' * 32}.marshal", d / f"parse-{'b' * 32}.marshal",
                           d / ".parse-abcd_123.tmp")
    for p in (recent, stale, temp):
        p.write_bytes(genuine)
    old = time.time() - cache_mod.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(temp, (old, old))
    c = ParseCache(str(d))
    parse_into(c, b"a: 2\n")
    assert c.save()
    assert recent.exists()  # another interpreter's, in use
    assert not stale.exists() and not temp.exists()
    # The same files in a directory the linter did not create stay, however old.
    other = tmp_path / "other"
    other.mkdir()
    for p in (stale, temp):
        (other / p.name).write_bytes(genuine)
        os.utime(other / p.name, (old, old))
    c = ParseCache(str(other))
    parse_into(c, raw)
    assert c.save()
    assert (other / stale.name).exists() and (other / temp.name).exists()


def test_config_cannot_put_the_cache_outside_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A repository's config choosing a cache directory outside it (directly or through a
    symlink) is ignored with a warning: nothing is written or removed there."""
    outside = tmp_path / "home"
    outside.mkdir()
    _user_files_named_like_the_cache(outside)
    before = _snapshot(outside)
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "examples" / "vm-whoami", repo)
    (repo / ".git").mkdir()
    (repo / "link").symlink_to(outside)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("ISTIO_VM_LINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("ISTIO_VM_LINT_NO_CACHE", raising=False)
    for value in ("../home", str(outside), "link", "link/sub"):
        (repo / ".istio-vm-lint.toml").write_text(f"cache-dir = {json.dumps(value)}\n")
        res = CliRunner().invoke(main, ["check", "."])
        assert res.exit_code == 0, res.output
        assert "outside the repository" in res.stderr
        assert _snapshot(outside) == before
    # Inside the repository it is used; on the command line the user may choose any place.
    (repo / ".istio-vm-lint.toml").write_text('cache-dir = "build/c"\n')
    assert CliRunner().invoke(main, ["check", "."]).stderr == CliRunner().invoke(main, ["check", "."]).stderr
    assert pack_files(repo / "build" / "c")
    res = CliRunner().invoke(main, ["check", ".", "--cache-dir", str(tmp_path / "mycache")])
    assert res.exit_code == 0 and pack_files(tmp_path / "mycache")


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


# --- Integrity: a pack is used only when it is exactly what this build wrote ------------------

SMALL = [str(FIXTURES / "rules" / code / "bad") for code in ("IVL002", "IVL201", "IVL401")]


def lint_findings(cache_dir: Path | None) -> list[dict[str, Any]]:
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    out = lint(SMALL, Settings(cache_dir=str(cache_dir) if cache_dir else None))
    return [f.as_dict() for f in out.findings]


@functools.cache
def _cold_and_pack() -> tuple[str, bytes]:
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="ivl-pack-"))
    cold = lint_findings(None)
    assert cold and lint_findings(d / "c") == cold
    (pack,) = pack_files(d / "c")
    blob = pack.read_bytes()
    shutil.rmtree(d)
    return json.dumps(cold), blob


@given(st.data())
def test_corrupted_or_truncated_pack_changes_nothing(data: st.DataObject) -> None:
    """Any single-byte change or truncation of a pack: the run reports what a cold run
    reports, and the pack is rebuilt."""
    import tempfile

    cold, blob = _cold_and_pack()
    if data.draw(st.booleans(), label="truncate"):
        damaged = blob[:data.draw(st.integers(0, len(blob) - 1), label="length")]
    else:
        i = data.draw(st.integers(0, len(blob) - 1), label="offset")
        damaged = blob[:i] + bytes([blob[i] ^ data.draw(st.integers(1, 255), label="xor")]) + blob[i + 1:]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "c"
        lint_findings(d)  # a directory the cache created, as --cache-dir does
        (pack,) = pack_files(d)
        pack.write_bytes(damaged)
        assert json.dumps(lint_findings(d)) == cold
        assert pack.read_bytes() == blob  # rebuilt (the content is deterministic)
        assert json.dumps(lint_findings(d)) == cold


def test_pack_checksum_covers_every_payload_byte(tmp_path: Path) -> None:
    """A change that keeps the payload decodable (a finding's data) is caught before use."""
    raw = b"apiVersion: v1\nkind: Service\nmetadata: {name: alpha}\n"
    c = ParseCache(str(tmp_path))
    parse_into(c, raw)
    assert c.save()
    pack = Path(c.path)
    blob = pack.read_bytes()
    assert blob.count(b"alpha") == 1
    pack.write_bytes(blob.replace(b"alpha", b"omega"))
    assert ParseCache(str(tmp_path)).get(raw)[1] is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_only_regular_files_are_read(tmp_path: Path) -> None:
    """A FIFO (reading it would block), a symlink or an oversized file where the pack goes is
    not read, and not replaced either: it is not the cache's."""
    raw = b"a: 1\n"
    d = tmp_path / "c"
    c = ParseCache(str(d))
    parse_into(c, raw)
    assert c.save()
    genuine = Path(c.path).read_bytes()
    elsewhere = tmp_path / "elsewhere.marshal"
    elsewhere.write_bytes(genuine)
    for make in ("fifo", "symlink"):
        Path(c.path).unlink()
        if make == "fifo":
            os.mkfifo(c.path)
        else:
            Path(c.path).symlink_to(elsewhere)
        r = ParseCache(str(d))  # returns at once: the FIFO is not opened for a blocking read
        assert r.get(raw)[1] is None
        parse_into(r, b"b: 2\n")
        assert not r.save()
        assert Path(c.path).is_fifo() if make == "fifo" else Path(c.path).is_symlink()
    assert elsewhere.read_bytes() == genuine


def test_oversized_pack_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b"a: 1\n"
    c = ParseCache(str(tmp_path))
    parse_into(c, raw)
    assert c.save()
    assert ParseCache(str(tmp_path)).get(raw)[1] is not None
    monkeypatch.setattr(cache_mod, "MAX_PACK_BYTES", 16)
    assert ParseCache(str(tmp_path)).get(raw)[1] is None


def test_identity_covers_the_whole_package(tmp_path: Path) -> None:
    """Every module, rule and schema of the package decides the pack's identity."""
    files = cache_mod._package_files()
    roots = {Path(p).parent.name for p in files}
    assert {"lint", "rules", "schemas", "report"} <= roots or {"istio_vm_lint", "rules", "schemas", "report"} <= roots
    assert any(p.endswith(".json") for p in files) and any(p.endswith("loader.py") for p in files)
    assert not any("__pycache__" in p for p in files)
    base = cache_mod._digest_files(files)
    for pick in (next(p for p in files if Path(p).parent.name == "rules"), next(p for p in files if p.endswith(".json"))):
        copy = tmp_path / Path(pick).name
        copy.write_bytes(Path(pick).read_bytes() + b" ")
        assert cache_mod._digest_files([str(copy) if p == pick else p for p in files]) != base
    assert cache_mod.package_digest() == cache_mod.package_digest() == base


def test_graph_follows_the_same_cache_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """graph (which lints too) neither writes a config's cache outside the repository nor
    uses one when ISTIO_VM_LINT_NO_CACHE is set."""
    outside = tmp_path / "home"
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "examples" / "vm-whoami", repo)
    (repo / ".git").mkdir()
    monkeypatch.chdir(repo)
    monkeypatch.delenv("ISTIO_VM_LINT_CACHE_DIR", raising=False)
    (repo / ".istio-vm-lint.toml").write_text('cache-dir = "../home"\n')
    res = CliRunner().invoke(main, ["graph", "."])
    assert res.exit_code == 0 and "outside the repository" in res.stderr
    assert not outside.exists()
    (repo / ".istio-vm-lint.toml").write_text('cache-dir = "c"\n')
    monkeypatch.setenv("ISTIO_VM_LINT_NO_CACHE", "1")
    assert CliRunner().invoke(main, ["graph", "."]).exit_code == 0
    assert not (repo / "c").exists()
    monkeypatch.delenv("ISTIO_VM_LINT_NO_CACHE")
    assert CliRunner().invoke(main, ["graph", "."]).exit_code == 0
    assert pack_files(repo / "c")
