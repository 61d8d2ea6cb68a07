"""CLI contract details (issue 15): selection precedence, unreadable/empty paths, progress
and colour."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_ecosystem_support import SELECT, VS_BAD, make_repo, run


# --- item 3: a command-line --select starts a new selection (ruff) ---------------------------

@pytest.mark.parametrize("config", ['ignore = ["IVL501"]\n', 'ignore = ["IVL5"]\n', 'select = ["IVL1"]\n'])
def test_cli_select_reenables_a_rule_the_config_ignores(tmp_path: Path, config: str) -> None:
    make_repo(tmp_path, VS_BAD, config=config)
    r = run(["check", ".", "--select", "IVL501"], cwd=tmp_path)
    assert r.exit_code == 1 and "IVL501" in r.stdout, r.output
    # without --select the configuration decides
    r = run(["check", "."], cwd=tmp_path)
    assert "IVL501" not in r.stdout, r.output


def test_cli_ignore_still_adds_to_the_config(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='ignore = ["IVL0"]\n')
    r = run(["check", ".", "--select", "IVL501", "--ignore", "IVL501"], cwd=tmp_path)
    assert "IVL501" not in r.stdout and r.exit_code == 0, r.output
    r = run(["check", ".", "--ignore", "IVL501"], cwd=tmp_path)  # config ignore kept, CLI ignore added
    assert "IVL501" not in r.stdout and r.exit_code == 0, r.output


# --- item 5: unreadable, empty and missing paths ----------------------------------------------

def test_unreadable_directory_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from istio_vm_lint import discover as discover_mod

    make_repo(tmp_path, VS_BAD)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x.yaml").write_text("a: 1\n")
    real_scandir = os.scandir

    def scandir(path: "os.PathLike[str] | str") -> "os._ScandirIterator[str]":  # type: ignore[name-defined]
        if os.path.realpath(path) == str(locked.resolve()):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(discover_mod.os, "scandir", scandir)
    r = run(["check", "locked"], cwd=tmp_path)
    assert r.exit_code == 2, r.output
    assert "cannot read directory locked: Permission denied" in r.stderr
    assert "No problems found" not in r.stderr
    # nested in a walked directory: also exit 2, the readable rest is still reported
    r = run(["check", ".", *SELECT], cwd=tmp_path)
    assert r.exit_code == 2 and "IVL501" in r.stdout and "cannot read directory locked" in r.stderr, r.output


@pytest.mark.parametrize("content", [None, "notes.txt"])
def test_empty_directory_says_so(tmp_path: Path, content: "str | None") -> None:
    d = tmp_path / "d"
    d.mkdir()
    if content:
        (d / content).write_text("hello\n")
    r = run(["check", "d"], cwd=tmp_path)
    assert r.exit_code == 0
    assert "no YAML files (*.yaml, *.yml) in d" in r.stderr, r.output


def test_missing_path_prints_the_error_and_no_clean_summary(tmp_path: Path) -> None:
    make_repo(tmp_path)
    r = run(["check", "nope", *SELECT], cwd=tmp_path)
    assert r.exit_code == 2
    assert "no such file or directory: nope" in r.stderr and "No problems found" not in r.stderr
    r = run(["check", "mesh", "nope", *SELECT], cwd=tmp_path)
    assert r.exit_code == 2 and "No problems found" not in r.stderr
