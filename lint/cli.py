"""Command line: ``istio-vm-lint [check] PATH...``, ``rules``, ``explain CODE``, ``graph PATH``.

Exit codes are the same in every output format: 0 no finding at or above ``--fail-on``,
1 findings, 2 usage error, bad config, missing path or internal error.  Diagnostics go to
stderr so stdout stays machine-readable.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

import click

from . import __version__
from .config import ConfigError, Settings, codes, find_config, load_config_file
from .findings import SEVERITIES

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class DefaultGroup(click.Group):
    """A group whose default subcommand is ``check`` (``istio-vm-lint path/`` works)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="istio-vm-lint")
def main() -> None:
    """Offline linter for Istio mesh config with VMs (ServiceEntry, WorkloadEntry, WorkloadGroup).

    Run `istio-vm-lint PATH...` (same as `istio-vm-lint check PATH...`).
    """


def _use_color(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def git_root(start: str) -> Optional[str]:
    """The nearest directory above ``start`` holding ``.git`` (no git binary needed)."""
    d = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def build_settings(config_path: Optional[str], isolated: bool, root: Optional[str], **cli: Any) -> Settings:
    values: dict[str, Any] = {}
    if not isolated:
        path = config_path or (find_config(root) if root else None)
        if path:
            values.update(load_config_file(path))
    elif config_path:
        values.update(load_config_file(config_path))
    for key, value in cli.items():
        if value is None or value == ():
            continue
        if key in ("select", "ignore", "extend_select"):
            value = codes(",".join(value) if isinstance(value, tuple) else value)
        if key in ("exclude", "external_hosts", "external_namespaces"):
            value = tuple(values.get(key, ())) + tuple(value)
        values[key] = value
    return Settings(**values)


@main.command("check")
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
@click.option("--stdin-filename", default=None, help="Name used for `-` (stdin) in findings.")
@click.option("--root", default=None, help="Repository root (default: the git root).")
@click.option("--config", "config_path", default=None, help="Config file (default: .istio-vm-lint.toml or pyproject.toml at the root).")
@click.option("--isolated", is_flag=True, help="Ignore configuration files.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option("--verbose", "-v", is_flag=True, help="Print what was read and skipped to stderr.")
@click.option("--no-color", is_flag=True, help="Never colour the output.")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks.")
def check(paths: tuple[str, ...], fmt: str, fail_on: Optional[str], select: tuple[str, ...], ignore: tuple[str, ...],
          extend_select: tuple[str, ...], default_namespace: Optional[str], cluster_domain: Optional[str],
          external_hosts: tuple[str, ...], external_namespaces: tuple[str, ...], exclude: tuple[str, ...],
          stdin_filename: Optional[str], root: Optional[str], config_path: Optional[str], isolated: bool,
          exit_zero: bool, quiet: bool, verbose: bool, no_color: bool, debug: bool) -> None:
    """Lint the YAML files under PATHS (default: the current directory)."""
    try:
        code = _check(paths, fmt, fail_on, select, ignore, extend_select, default_namespace, cluster_domain,
                      external_hosts, external_namespaces, exclude, stdin_filename, root, config_path, isolated,
                      exit_zero, quiet, verbose, no_color)
    except ConfigError as exc:
        click.echo(f"istio-vm-lint: configuration error: {exc}", err=True)
        code = EXIT_ERROR
    except Exception as exc:  # never a bare traceback in CI logs
        if debug or os.environ.get("ISTIO_VM_LINT_DEBUG"):
            raise
        click.echo(f"istio-vm-lint: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        code = EXIT_ERROR
    sys.exit(code)


def _check(paths: tuple[str, ...], fmt: str, fail_on: Optional[str], select: tuple[str, ...], ignore: tuple[str, ...],
           extend_select: tuple[str, ...], default_namespace: Optional[str], cluster_domain: Optional[str],
           external_hosts: tuple[str, ...], external_namespaces: tuple[str, ...], exclude: tuple[str, ...],
           stdin_filename: Optional[str], root: Optional[str], config_path: Optional[str], isolated: bool,
           exit_zero: bool, quiet: bool, verbose: bool, no_color: bool) -> int:
    from .engine import fails
    from .report import ReportContext, renderer
    from .runner import lint

    paths = paths or (".",)
    root = root or git_root(next((p for p in paths if p != "-"), "."))
    settings = build_settings(config_path, isolated, root, select=select, ignore=ignore, extend_select=extend_select,
                              fail_on=fail_on, default_namespace=default_namespace, cluster_domain=cluster_domain,
                              external_hosts=external_hosts, external_namespaces=external_namespaces,
                              exclude=exclude)
    stdin = None
    file_paths = [p for p in paths if p != "-"]
    if "-" in paths:
        stdin = (stdin_filename or "<stdin>", sys.stdin.buffer.read())
    outcome = lint(file_paths, settings, stdin=stdin)
    for m in outcome.missing:
        click.echo(f"istio-vm-lint: no such file or directory: {m}", err=True)
    findings = outcome.findings
    if verbose:
        p = outcome.project
        click.echo(f"istio-vm-lint: read {len(p.files)} files, {len(p.resources)} resources; ignored "
                   f"{p.ignored_documents} documents without apiVersion/kind and {p.unknown_kinds} of other kinds; "
                   f"ran {outcome.result.rules_run} rules", err=True)
        for stage, secs in outcome.timings.items():
            click.echo(f"istio-vm-lint: {stage}: {secs * 1000:.1f} ms", err=True)
    from .engine import all_rules

    rctx = ReportContext(files=len(outcome.project.files), resources=len(outcome.project.resources),
                         color=_use_color(no_color) and fmt == "text", rules=all_rules())
    out = renderer(fmt)(findings, rctx)
    sys.stdout.write(out)
    if fmt == "text" and not quiet:
        from .report.text_format import render_summary

        click.echo(render_summary(findings, rctx).rstrip("\n"), err=True)
    if outcome.missing or outcome.result.internal_errors:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if fails(findings, settings.fail_on) else EXIT_OK


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule: code, name, severity and summary (JSON adds rationale and examples)."""
    import json

    from .engine import all_rules

    rules = all_rules()
    if fmt == "json":
        click.echo(json.dumps({"version": 1, "rules": [r.as_dict() for r in rules.values()]}, indent=2))
        return
    for r in rules.values():
        eq = f"  [{', '.join(r.equivalents)}]" if r.equivalents else ""
        click.echo(f"{r.code}  {r.severity:<7}  {r.name}: {r.summary}{eq}")


def explain_text(code: str) -> Optional[str]:
    from .engine import all_rules

    r = all_rules().get(code.upper())
    if r is None:
        return None
    parts = [f"{r.code} {r.name} [{r.severity}]", "", "## What it does", r.summary, "",
             "## Why is this bad?", r.rationale, "", "## Example", r.bad, "", "## Use instead", r.good]
    if r.inputs:
        parts += ["", "## Reads", ", ".join(r.inputs)]
    if r.equivalents:
        parts += ["", "## Equivalent checks", ", ".join(r.equivalents)]
    if r.references:
        parts += ["", "## References", *r.references]
    return "\n".join(parts) + "\n"


@main.command("explain")
@click.argument("code")
def explain(code: str) -> None:
    """Show a rule's documentation."""
    text = explain_text(code)
    if text is None:
        click.echo(f"istio-vm-lint: unknown rule code {code!r}; see `istio-vm-lint rules`", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(text, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
