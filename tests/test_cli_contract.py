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
