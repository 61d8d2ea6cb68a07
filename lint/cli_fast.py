"""The command line of a plain ``check`` run, read without click.

Importing click and building the command group costs about 15 ms of every run (click, and
the stdlib it pulls in: gettext, uuid, platform ...).  ``istio-vm-lint DIR --format json
--quiet`` and the like need none of it: :func:`parse` reads such an argument list into the
very call click would make (``cli_check._check`` with every flag's value), and answers None
for anything else -- another command, ``--help``, ``--version``, an option it does not list
(a new one included), a repeated single-valued option, an invalid choice, ``--``, combined
short flags, ``--debug`` -- which click then parses as always, with its own messages.
``tests/test_cli_fast.py`` checks that every flag listed here is the click command's, with the
same default and choices, and that both parse each accepted argument list to the same call.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

# The command group's commands (cli_group.py; the test compares): a first argument naming one
# of them is that command, not a path.
COMMANDS = ("check", "explain", "graph", "rules", "trace")

# flag -> parameter of cli_check._check
FLAGS = {
    "--isolated": "isolated", "--no-context": "no_context", "--no-cache": "no_cache",
    "--exit-zero": "exit_zero", "--quiet": "quiet", "-q": "quiet", "--verbose": "verbose", "-v": "verbose",
    "--no-color": "no_color",
}
# option with one value -> (parameter, the values it accepts or None for any)
VALUES: dict[str, tuple[str, Optional[tuple[str, ...]]]] = {
    "--format": ("fmt", ("text", "json", "sarif", "github")),
    "--fail-on": ("fail_on", ("error", "warning", "info")),
    "--color": ("color_mode", ("auto", "always", "never")),
    "--default-namespace": ("default_namespace", None),
    "--cluster-domain": ("cluster_domain", None),
    "--mesh-config": ("mesh_config", None),
    "--stdin-filename": ("stdin_filename", None),
    "--root": ("root", None),
    "--config": ("config_path", None),
    "--cache-dir": ("cache_dir", None),
    "--baseline": ("baseline_path", None),
    "--write-baseline": ("write_baseline_path", None),
}
# repeatable option -> parameter (a tuple of the values in order)
MULTIPLE = {
    "--select": "select", "--ignore": "ignore", "--extend-select": "extend_select",
    "--external-host": "external_hosts", "--external-namespace": "external_namespaces", "--exclude": "exclude",
}


def defaults() -> dict[str, Any]:
    """Every parameter of ``cli_check._check`` but ``paths``, at click's defaults."""
    out: dict[str, Any] = {name: False for name in FLAGS.values()}
    out.update({name: None for name, _ in VALUES.values()})
    out["fmt"], out["color_mode"] = "text", "auto"
    out.update({name: () for name in MULTIPLE.values()})
    return out


def parse(args: list[str]) -> Optional[tuple[tuple[str, ...], dict[str, Any]]]:
    """``(paths, every other parameter)`` as click would pass them, or None (click decides)."""
    if os.environ.get("_ISTIO_VM_LINT_COMPLETE") or os.environ.get("ISTIO_VM_LINT_DEBUG"):
        return None  # shell completion; tracebacks (click's own handling of what escapes)
    if args and args[0] in COMMANDS:
        if args[0] != "check":
            return None
        args = args[1:]
    opts = defaults()
    seen: set[str] = set()
    multiple: dict[str, list[str]] = {}
    paths: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            paths.append(arg)
            continue
        if arg in FLAGS:
            if arg in seen:
                return None
            seen.add(arg)
            opts[FLAGS[arg]] = True
            continue
        name, eq, value = arg.partition("=")
        if name not in VALUES and name not in MULTIPLE:
            return None
        if not eq:
            if i >= len(args) or args[i].startswith("-"):
                return None  # a missing value, or one click might read otherwise
            value = args[i]
            i += 1
        if name in MULTIPLE:
            multiple.setdefault(MULTIPLE[name], []).append(value)
            continue
        param, choices = VALUES[name]
        if name in seen or (choices is not None and value not in choices):
            return None
        seen.add(name)
        opts[param] = value
    for param, values in multiple.items():
        opts[param] = tuple(values)
    return tuple(paths), opts


def accepted(opts: dict[str, Any]) -> bool:
    """Does ``cli_check._check`` take exactly these parameters (and ``paths``)?  A flag added to
    the command since this module was written makes this False: click parses that run."""
    from .cli_check import _check

    code = _check.__code__
    return set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]) == {"paths", *opts}


def run(paths: tuple[str, ...], opts: dict[str, Any]) -> None:
    """What ``DefaultGroup.invoke`` and the ``check`` command do with click's call (ends with
    SystemExit)."""
    from .cli_check import _check
    from .cli_output import guarded, run_command

    fmt = opts.pop("fmt")
    guarded(lambda: sys.exit(run_command(lambda: _check(paths, fmt, **opts), False)))
