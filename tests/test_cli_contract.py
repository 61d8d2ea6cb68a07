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


# --- item 6: progress after a second of work, whatever the file count; colour controls -------

def test_progress_appears_for_a_single_slow_file(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import sys
    import time

    from istio_vm_lint import cli_check as cli

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli.Progress(1).enabled  # no minimum file count any more
    with cli.Progress(1, delay=0.0) as p:
        for _ in range(6000):  # wait for the drawing thread: up to a minute on a loaded machine
            if p.drawn:
                break
            time.sleep(0.01)
    err = capsys.readouterr().err
    assert "loading 1 files" in err and err.endswith("\r\033[K")


def test_fast_run_draws_no_progress(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from istio_vm_lint import cli_check as cli

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with cli.Progress(5000, delay=60.0) as p:
        pass
    assert not p.drawn and capsys.readouterr().err == ""


@pytest.mark.parametrize("env,args,colour", [
    ({}, [], False),  # piped
    ({"FORCE_COLOR": "1"}, [], True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, [], True),  # FORCE_COLOR wins (as in Node)
    ({"FORCE_COLOR": "0"}, [], False),
    ({}, ["--color", "always"], True),
    ({"NO_COLOR": "1"}, ["--color", "always"], True),  # an explicit flag wins
    ({"FORCE_COLOR": "1"}, ["--color", "never"], False),
    ({"FORCE_COLOR": "1"}, ["--no-color"], False),
    ({"FORCE_COLOR": "1"}, ["--color", "auto"], True),
])
def test_colour_controls(tmp_path: Path, env: dict[str, str], args: list[str], colour: bool) -> None:
    from test_ecosystem_support import run_process

    make_repo(tmp_path, VS_BAD)
    full = {k: "" for k in ("FORCE_COLOR", "NO_COLOR")}
    full.update(env)
    p = run_process(["check", ".", *SELECT, *args], cwd=tmp_path, env=full)
    assert p.returncode == 1, p.stderr
    assert (b"\033[" in p.stdout) is colour, p.stdout
    if args == ["--color", "always"] and not env:  # machine formats are never coloured
        p = run_process(["check", ".", *SELECT, "--format", "json", *args], cwd=tmp_path, env=full)
        assert b"\033[" not in p.stdout
