"""What a named-file run (pre-commit) caches besides the parse, per context file
(``lint/cache.py``): the rejection verdicts of its resources (``W`` entries, ``units/run.py``)
and what the closure reads of them (``R`` entries: their keys; ``U`` entries: the keys each
file is indexed under, ``lint/relevance.py``).

A warm run reports exactly what a run without a cache does; a changed file, another
selection of rules or other namespaces is another key; a damaged entry is a miss.
"""

from __future__ import annotations

import marshal
import os
import textwrap
from pathlib import Path
from typing import Optional

import pytest
from istio_vm_lint.cache import ParseCache
from istio_vm_lint.config import Settings
from istio_vm_lint.discover import discover
from istio_vm_lint.runner import lint
from istio_vm_lint.units.codes import REJECTING
from test_named_file_scope import BROKEN_SE, VS, _key


@pytest.fixture(autouse=True)
def _no_result_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the parse cache and what it stores: a repeated run must really
    run (tests/test_result_cache.py covers the result cache)."""
    monkeypatch.setenv("ISTIO_VM_LINT_NO_RESULT_CACHE", "1")

DR = textwrap.dedent("""\
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: billing, namespace: shop}
    spec:
      host: billing.shop.svc.cluster.local
      subsets: [{name: v1, labels: {version: v1}}]
    """)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "se.yaml").write_text(BROKEN_SE)
    (repo / "vs.yaml").write_text(VS)
    (repo / "dr.yaml").write_text(DR)
    return repo


def _run(repo: Path, cache: Optional[Path], ignore: tuple[str, ...] = (), named: str = "vs.yaml",
         namespaces: Optional[dict[str, str]] = None) -> list[tuple[object, ...]]:
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        files, _ = discover(["."], ())
        settings = Settings(root=str(repo))
        settings.cache_dir = str(cache) if cache else None
        settings.ignore = list(ignore)
        if namespaces:
            settings.namespaces = namespaces
        out = lint([], settings, files=files, report_only={os.path.realpath(repo / named)})
        return sorted(map(_key, out.findings))
    finally:
        os.chdir(cwd)


def _entries(cache: Path, prefix: bytes) -> dict[bytes, bytes]:
    return {k: v[0] for k, v in ParseCache(str(cache))._old.items() if k[:1] == prefix and len(k) == 17}


def test_file_verdicts_follow_content_and_selection(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    cold = _run(repo, None)
    assert [k[0] for k in cold] == ["IVL501"]  # the ServiceEntry is rejected: the host is missing
    assert _run(repo, cache) == cold
    first = _entries(cache, b"W")
    assert len(first) == 2  # se.yaml and dr.yaml, one entry each
    assert sorted(first.values()) == [b"\x00", b"\x01"]
    assert _run(repo, cache) == cold
    # Another selection of the rejecting rules is another key: without them nothing is rejected.
    rejecting = tuple(sorted(REJECTING))
    assert _run(repo, cache, rejecting) == _run(repo, None, rejecting) == []
    assert len(_entries(cache, b"W")) == 4
    assert _run(repo, cache) == cold
    # Another namespace for the file's resources is another key too.
    assert _run(repo, cache, namespaces={"dr.yaml": "other"}) == _run(repo, None, namespaces={"dr.yaml": "other"})
    # A changed file is judged again.
    (repo / "se.yaml").write_text(BROKEN_SE.replace('"eighty"', "80"))
    assert _run(repo, cache) == _run(repo, None) == []


def test_closure_entries_follow_content(tmp_path: Path) -> None:
    """The subset the DestinationRule defines decides IVL108 on the named VirtualService; the
    closure's keys of dr.yaml come from the cache until the file changes."""
    repo = _repo(tmp_path)
    (repo / "se.yaml").write_text(BROKEN_SE.replace('"eighty"', "80"))
    (repo / "vs.yaml").write_text(VS.replace("        port:", "        subset: v1\n        port:"))
    cache = tmp_path / "cache"
    assert _run(repo, None) == _run(repo, cache) == _run(repo, cache) == []
    keys = set(_entries(cache, b"R"))
    assert keys
    (repo / "dr.yaml").write_text(DR.replace("name: v1", "name: v2"))
    cold = _run(repo, None)
    assert "IVL108" in [k[0] for k in cold]
    assert _run(repo, cache) == cold
    assert set(_entries(cache, b"R")) - keys  # a new entry for the new content


def test_damaged_entries_are_misses(tmp_path: Path) -> None:
    """Verdict and closure entries of the wrong shape are ignored (and replaced)."""
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    cold = _run(repo, None)
    assert _run(repo, cache) == cold
    for junk in (b"", b"\x02", b"\x01\x01\x01", b"not marshal", marshal.dumps([("x",)]), marshal.dumps(None),
                 marshal.dumps([(["a"], [("k",)], False, [], [], [], [], [], None)]),
                 marshal.dumps((frozenset({"N\0x"}), [(99, "*.x")])), marshal.dumps((frozenset(), ["*"]))):
        pack = ParseCache(str(cache))
        for k in list(pack._old):
            if k[:1] in (b"W", b"R", b"U") and len(k) == 17:
                pack._used[k] = junk
        pack.new_verdicts = 1
        assert pack.save()
        assert _run(repo, cache) == cold, junk
    assert _run(repo, cache) == cold


def _subjects(root: Path, named: Path, cache: Optional[ParseCache]) -> list[Optional[set[tuple[str, int]]]]:
    """The closure of each unit of a run on ``named``: (file, document) of its subjects."""
    from istio_vm_lint import relevance
    from istio_vm_lint.units.load import Sources, build_project
    from istio_vm_lint.units.plan import plan
    from istio_vm_lint.units.views import copies_of

    cwd = os.getcwd()
    os.chdir(root)
    try:
        files, _ = discover(["."], ())
        settings = Settings(root=str(root))
        sources = Sources({os.path.realpath(named)}, cache)
        out: list[Optional[set[tuple[str, int]]]] = []
        for unit in plan(files, settings).units:
            project = build_project(unit, sources, settings, {d.real: d for d in files}, str(root))
            ids = relevance.subjects_for(project, copies_of(project.resources), settings.cluster_domain,
                                         settings.root_namespace, cache)
            out.append(None if ids is None else {(r.source.path, r.doc_index) for r in project.resources
                                                 if id(r) in ids})
        return out
    finally:
        os.chdir(cwd)


def test_cached_closure_indexes_only_what_it_needs(tmp_path: Path) -> None:
    """With the key sets of the context files cached (``U`` entries), the closure indexes
    only the files a step can find something in: it finds exactly what the closure that
    indexes every resource finds (a generated repository and cross-namespace relations)."""
    import generate
    from test_named_file_scope import CROSS

    gen = tmp_path / "gen"
    generate.generate(str(gen), 150, seed=5)
    cross = tmp_path / "cross"
    for rel, text in CROSS.items():
        (cross / rel).parent.mkdir(parents=True, exist_ok=True)
        (cross / rel).write_text(textwrap.dedent(text))
    restricted = 0
    for root in (gen, cross):
        names = sorted(p for p in root.rglob("*.yaml"))
        cache_dir = tmp_path / f"cache-{root.name}"
        for named in names[:: max(1, len(names) // 4)]:
            filling = ParseCache(str(cache_dir))
            assert _subjects(root, named, filling) == _subjects(root, named, None)
            assert filling.save()
            warm = ParseCache(str(cache_dir))
            got = _subjects(root, named, warm)
            assert got == _subjects(root, named, None), named
            restricted += any(s is not None for s in got)
    assert _entries(tmp_path / "cache-gen", b"U")
    assert restricted >= 4
