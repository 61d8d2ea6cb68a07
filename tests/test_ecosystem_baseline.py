"""Baselines: written sorted and idempotent, keyed by line-independent fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

from test_ecosystem_support import SELECT, VS_BAD, make_repo, run

TWO_DUPS = "kind: A\nkind: B\napiVersion: v1\n---\nkind: C\nkind: D\napiVersion: v1\n"


def test_write_and_apply(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "mesh" / "dup.yaml").write_text(TWO_DUPS)
    r = run(["check", ".", *SELECT, "--write-baseline", "bl.json"], cwd=tmp_path)
    assert r.exit_code == 0 and "wrote 3 finding(s)" in r.stderr and r.stdout == ""
    doc = json.loads((tmp_path / "bl.json").read_text())
    assert doc["version"] == 1 and len(doc["findings"]) == 3
    assert [e["file"] for e in doc["findings"]] == ["mesh/dup.yaml", "mesh/dup.yaml", "mesh/vs.yaml"]
    assert all("line" not in e for e in doc["findings"])
    r = run(["check", ".", *SELECT, "--baseline", "bl.json"], cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout == "" and "hid 3 known finding(s)" in r.stderr


def test_idempotent_and_independent_of_cwd(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "mesh" / "dup.yaml").write_text(TWO_DUPS)
    run(["check", ".", *SELECT, "--write-baseline", "a.json"], cwd=tmp_path)
    run(["check", ".", *SELECT, "--write-baseline", "b.json"], cwd=tmp_path)
    run(["check", ".", *SELECT, "--write-baseline", "../c.json"], cwd=tmp_path / "mesh")
    a = (tmp_path / "a.json").read_bytes()
    assert a == (tmp_path / "b.json").read_bytes() == (tmp_path / "c.json").read_bytes()
    assert a.endswith(b"\n") and b"\r" not in a


def test_survives_line_shifts_and_unrelated_edits(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    run(["check", ".", *SELECT, "--write-baseline", "bl.json"], cwd=tmp_path)
    vs = tmp_path / "mesh" / "vs.yaml"
    vs.write_text("# moved down\n\n" + vs.read_text().replace("  namespace: vm\n", "  namespace: vm\n  labels: {a: b}\n"))
    base = tmp_path / "mesh" / "base.yaml"
    base.write_text(base.read_text().replace("10.0.0.11", "10.0.0.12"))
    r = run(["check", ".", *SELECT, "--baseline", "bl.json"], cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout == ""


def test_new_findings_still_fail_and_fixed_ones_are_stale(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    run(["check", ".", *SELECT, "--write-baseline", "bl.json"], cwd=tmp_path)
    (tmp_path / "mesh" / "dup.yaml").write_text("kind: A\nkind: B\napiVersion: v1\n")
    r = run(["check", ".", *SELECT, "--baseline", "bl.json"], cwd=tmp_path)
    assert r.exit_code == 1 and "dup.yaml:2:1: IVL002" in r.stdout and "IVL501" not in r.stdout
    # fix the baselined finding: it becomes stale
    vs = tmp_path / "mesh" / "vs.yaml"
    vs.write_text(vs.read_text().replace("host: whoami\n", "host: whoami.example.internal\n"))
    r = run(["check", ".", *SELECT, "--baseline", "bl.json"], cwd=tmp_path)
    assert "1 baseline entry matched nothing" in r.stderr


def test_counts_duplicates(tmp_path: Path) -> None:
    """Two look-alike findings in the baseline hide two, not more."""
    make_repo(tmp_path)
    (tmp_path / "mesh" / "dup.yaml").write_text(TWO_DUPS.replace("b", "a"))
    run(["check", ".", *SELECT, "--write-baseline", "bl.json"], cwd=tmp_path)
    (tmp_path / "mesh" / "dup.yaml").write_text(TWO_DUPS.replace("b", "a") + "---\nkind: A\nkind: B\napiVersion: v1\n")
    r = run(["check", ".", *SELECT, "--baseline", "bl.json"], cwd=tmp_path)
    assert r.exit_code == 1 and len(r.stdout.splitlines()) == 1


def test_stale_count_limited_to_reported_files(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "mesh" / "dup.yaml").write_text(TWO_DUPS)
    run(["check", ".", *SELECT, "--write-baseline", "bl.json"], cwd=tmp_path)
    r = run(["check", "mesh/vs.yaml", *SELECT, "--baseline", "bl.json"], cwd=tmp_path)
    assert r.exit_code == 0 and "matched nothing" not in r.stderr


def test_baseline_from_config_and_errors(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='baseline = ".istio-vm-lint-baseline.json"\n')
    assert run(["check", ".", *SELECT, "--write-baseline", ".istio-vm-lint-baseline.json"], cwd=tmp_path).exit_code == 0
    assert run(["check", "vs.yaml", *SELECT], cwd=tmp_path / "mesh").exit_code == 0  # path relative to config
    r = run(["check", ".", "--baseline", "missing.json"], cwd=tmp_path)
    assert r.exit_code == 2 and "missing.json" in r.stderr
    (tmp_path / "bad.json").write_text("{not json")
    r = run(["check", ".", "--baseline", "bad.json"], cwd=tmp_path)
    assert r.exit_code == 2 and "not valid JSON" in r.stderr
    (tmp_path / "bad.json").write_text('{"version": 7}')
    assert run(["check", ".", "--baseline", "bad.json"], cwd=tmp_path).exit_code == 2
