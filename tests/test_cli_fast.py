"""The command line of a plain ``check`` run read without click (lint/cli_fast.py): the same
call as click's, or no answer (click parses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from istio_vm_lint import cli_fast
from istio_vm_lint.cli import main
from istio_vm_lint.cli_check_command import check

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "examples" / "vm-whoami"


def _click_params() -> dict[str, Any]:
    return {p.name: p for p in check.params if p.name}


def test_the_flags_are_the_commands() -> None:
    params = _click_params()
    listed = {**{o: (n, "flag") for o, n in cli_fast.FLAGS.items()},
              **{o: (n, "value") for o, (n, _) in cli_fast.VALUES.items()},
              **{o: (n, "multiple") for o, n in cli_fast.MULTIPLE.items()}}
    defaults = cli_fast.defaults()
    for opt, (name, how) in listed.items():
        p = params[name]
        assert opt in p.opts + p.secondary_opts, (opt, p.opts)
        assert isinstance(p, click.Option)
        assert (how == "flag") == bool(p.is_flag) and (how == "multiple") == bool(p.multiple), opt
        if how == "value":
            choices = cli_fast.VALUES[opt][1]
            assert (tuple(p.type.choices) if isinstance(p.type, click.Choice) else None) == choices, opt
    with check.make_context("check", []) as ctx:  # the defaults
        assert {k: v for k, v in ctx.params.items() if k in defaults} == defaults
    # every option of a parameter listed is listed (e.g. both -q and --quiet)
    for name in set(defaults):
        assert set(params[name].opts) <= set(listed), name
    assert tuple(sorted(main.commands)) == cli_fast.COMMANDS


ACCEPTED = [
    [], ["."], ["check"], ["check", "a", "b"], [str(EXAMPLE), "--format", "json", "--quiet", "--isolated", "--no-cache"],
    ["--format=sarif", "x"], ["-q", "-v", "x"], ["--select", "IVL1", "--select=IVL2", "--ignore", "IVL101", "d"],
    ["-", "--stdin-filename", "f.yaml"], ["--color", "never", "--no-color"], ["--fail-on", "warning", "--exit-zero"],
    ["--root", "r", "--config=c.toml", "--cache-dir", "", "--baseline", "b.json", "--write-baseline", "w.json"],
    ["--exclude", "*.tmpl", "--external-host", "*.example.com", "--external-namespace", "ext", "--no-context"],
    ["--default-namespace", "ns", "--cluster-domain", "c.local", "--mesh-config", "m.yaml", "p"],
    ["--format", "json", "check"],  # a path named check (click's default command comes first)
]
REFUSED = [
    ["--help"], ["-h"], ["--version"], ["check", "--version"], ["rules"], ["explain", "IVL101"], ["graph", "."],
    ["-qv", "x"], ["--debug", "x"], ["--format", "xml"], ["--format", "json", "--format", "text"], ["--", "x"],
    ["--nope"], ["--select"], ["--select", "-x"], ["--quiet=1"], ["--format"],
]


@pytest.mark.parametrize("args", ACCEPTED)
def test_same_call_as_click(args: list[str]) -> None:
    parsed = cli_fast.parse(list(args))
    assert parsed is not None and cli_fast.accepted(parsed[1])
    paths, opts = parsed
    rest = args[1:] if args and args[0] == "check" else args
    with check.make_context("check", list(rest)) as ctx:
        params = dict(ctx.params)
    assert params.pop("debug") is False
    assert params == {"paths": paths, **opts}


@pytest.mark.parametrize("args", REFUSED)
def test_click_parses_the_rest(args: list[str]) -> None:
    assert cli_fast.parse(list(args)) is None


def _run(args: list[str], force_click: bool) -> tuple[int, str, str]:
    code = ("import sys\nimport istio_vm_lint.cli_fast as f\n"
            + ("f.parse = lambda args: None\n" if force_click else "")
            + "from istio_vm_lint.cli import run\nsys.argv[0] = 'istio-vm-lint'\nrun()\n")
    env = {k: v for k, v in os.environ.items() if k != "ISTIO_VM_LINT_CACHE_DIR"}
    env["ISTIO_VM_LINT_NO_PROGRESS"] = "1"
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("args", [
    [str(EXAMPLE), "--format", "json", "--isolated", "--no-cache"],
    [str(EXAMPLE), "--isolated", "--no-cache", "--select", "IVL1,IVL2"],
    [str(EXAMPLE / "nope.yaml"), "--format", "github", "--isolated", "--no-cache"],
])
def test_same_output_as_click(args: list[str]) -> None:
    assert _run(args, force_click=False) == _run(args, force_click=True)


def test_a_json_run_does_not_import_click() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ISTIO_VM_LINT_CACHE_DIR"}
    env["ISTIO_VM_LINT_NO_PROGRESS"] = "1"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import sys; from istio_vm_lint.cli import run; sys.argv[0] = 'istio-vm-lint'; run()",
                           str(EXAMPLE), "--format", "json", "--quiet", "--isolated", "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "istio_vm_lint.cli_check" in names and proc.stdout.startswith("{"), proc.stderr[-2000:]
    assert not [n for n in names if n == "click" or n.startswith("click.")]
