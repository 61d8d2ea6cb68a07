"""The ``check`` command's flags (click): what ``istio-vm-lint [check] PATH...`` accepts.

The command itself is ``cli_check._check``.  This module is imported by the command group
(``cli_group.py``) when click parses the command line; a plain run whose arguments
``cli_fast.py`` understands does not import it, nor click (``tests/test_cli_fast.py`` checks
that both parse to the same call).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from . import __version__
from .cli_check import SEVERITIES, _check
from .cli_output import run_command


@click.command("check")
@click.argument("paths", nargs=-1, type=str)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text",
              show_default=True, help="Output format.")
@click.option("--fail-on", type=click.Choice(list(SEVERITIES)), default=None,
              help="Lowest severity that makes the exit code 1 [default: error].")
@click.option("--select", multiple=True, help="Codes or prefixes to enable (comma-separated).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable (comma-separated).")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to add to the selection.")
@click.option("--default-namespace", default=None, help="Namespace for resources without one [default: default].")
@click.option("--cluster-domain", default=None, help="Kubernetes cluster domain [default: cluster.local].")
@click.option("--external-host", "external_hosts", multiple=True,
              help="A host that exists outside this repository (repeatable; wildcards allowed).")
@click.option("--external-namespace", "external_namespaces", multiple=True,
              help="A namespace whose services live outside this repository (repeatable).")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option("--mesh-config", default=None,
              help="Istio MeshConfig file (or the istio ConfigMap) for mesh-wide settings such as DNS auto-allocation.")
@click.option("--stdin-filename", default=None,
              help="Name used for `-` (stdin) in findings; inside a repository the rest of it is loaded as context.")
@click.option("--root", default=None, help="Repository root (default: the git root).")
@click.option("--config", "config_path", default=None,
              help="Config file (default: .istio-vm-lint.toml or pyproject.toml at the root).")
@click.option("--isolated", is_flag=True, help="Ignore configuration files.")
@click.option("--no-context", is_flag=True,
              help="Load only the given files; do not load the rest of the repository to resolve references.")
@click.option("--cache-dir", default=None,
              help="Cache here what each file's content determines (parse, rejection verdicts) and the "
                   "findings of a run whose inputs are unchanged, so the next run redoes only what changed "
                   "[env ISTIO_VM_LINT_CACHE_DIR; config cache-dir; default: no cache].")
@click.option("--no-cache", is_flag=True,
              help="Do not use the cache (per file or per run), even if the config or environment asks for one.")
@click.option("--baseline", "baseline_path", default=None,
              help="Hide findings recorded in this baseline file (see --write-baseline).")
@click.option("--write-baseline", "write_baseline_path", default=None,
              help="Record the current findings in this file and exit 0.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option("--verbose", "-v", is_flag=True, help="Print what was read and skipped to stderr.")
@click.option("--color", "color_mode", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True,
              help="Colour the text output: auto = at a terminal (FORCE_COLOR forces it, NO_COLOR turns it off).")
@click.option("--no-color", is_flag=True, help="Same as --color never.")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks.")
@click.version_option(__version__, "--version", prog_name="istio-vm-lint", help="Show the version and exit.")
def check(paths: tuple[str, ...], fmt: str, **opts: Any) -> None:
    """Lint the YAML files under PATHS (default: the current directory).

    Directories are linted as they are.  When files are named (as pre-commit does), the
    whole repository is still loaded to resolve references, and findings are reported only
    in the named files.
    """
    debug = opts.pop("debug")
    sys.exit(run_command(lambda: _check(paths, fmt, **opts), debug))
