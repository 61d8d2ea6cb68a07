"""The ``graph`` and ``trace`` commands: views of the mesh drawn from a whole-repository lint
(the rules run as ``check`` runs them, and their findings are drawn on the graph's edges or
listed on the traced path).  The views themselves are ``lint/graph_export.py`` and
``lint/trace.py``.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional

import click

from .cli_output import EXIT_ERROR, EXIT_OK, run_command, write_whole


def _lint_repository(paths: tuple[str, ...], root: Optional[str], config_path: Optional[str], isolated: bool,
                     exclude: tuple[str, ...], default_namespace: Optional[str],
                     cluster_domain: Optional[str]) -> Any:
    """The whole-repository lint that `graph` and `trace` draw from (settings, discovery and the
    rules as `check` runs them); a missing path or unreadable directory exits 2."""
    from .cli_settings import Scan, build_settings, discover_named, find_root, resolve_cache_dir
    from .runner import lint

    paths = paths or (".",)
    root, config_path = find_root(paths, root, config_path, isolated)
    settings = build_settings(config_path, isolated, root, exclude=exclude, default_namespace=default_namespace,
                              cluster_domain=cluster_domain)
    settings.root = root or os.getcwd()
    settings.cache_dir = resolve_cache_dir(settings, None, False)
    scan = Scan()
    files, missing = discover_named(list(paths), tuple(settings.exclude), scan)
    for m in missing:
        click.echo(f"istio-vm-lint: no such file or directory: {m}", err=True)
    for where, reason in scan.unreadable:
        click.echo(f"istio-vm-lint: cannot read directory {where}: {reason}", err=True)
    if missing or scan.unreadable:
        sys.exit(EXIT_ERROR)
    return lint([], settings, files=files, split_samples=False)  # one mesh to draw, samples included


_REPOSITORY_OPTIONS = (
    click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable)."),
    click.option("--root", default=None, help="Repository root (default: the git root), for the config file."),
    click.option("--config", "config_path", default=None, help="Config file."),
    click.option("--isolated", is_flag=True, help="Ignore configuration files."),
    click.option("--default-namespace", default=None, help="Namespace for resources without one."),
    click.option("--cluster-domain", default=None, help="Kubernetes cluster domain."),
    click.option("--debug", is_flag=True, hidden=True),
)


def _repository_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of `graph` and `trace` that say which repository and settings (the
    arguments of :func:`_lint_repository`), in this order in their help."""
    for option in reversed(_REPOSITORY_OPTIONS):
        command = option(command)
    return command


@click.command("graph")
@click.argument("paths", nargs=-1, type=str)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "json"]), default="mermaid",
              show_default=True, help="Graph format.")
@click.option("--focus", default=None,
              help="Only the part of the graph connected to this host or KIND/NAMESPACE/NAME.")
@_repository_options
def graph_cmd(paths: tuple[str, ...], fmt: str, focus: Optional[str], exclude: tuple[str, ...], root: Optional[str],
              config_path: Optional[str], isolated: bool, default_namespace: Optional[str],
              cluster_domain: Optional[str], debug: bool) -> None:
    """Print the mesh graph (Gateway → VirtualService → ServiceEntry/Service → workloads)."""
    try:
        import importlib

        importlib.import_module(f"{__package__}.graph")  # the export needs the graph module
        from .graph_export import export_units
    except ImportError as exc:
        click.echo(f"istio-vm-lint: graph export is not available in this build ({exc})", err=True)
        sys.exit(EXIT_ERROR)

    def body() -> int:
        # The rules run too: their findings are drawn as broken edges (dashed, red, with the code).
        outcome = _lint_repository(paths, root, config_path, isolated, exclude, default_namespace, cluster_domain)
        # A repository of several units (kustomize overlays, charts) is several meshes: each drawn.
        write_whole(export_units([(name, ctx.graph, found) for name, ctx, found in outcome.units], fmt, focus))
        return EXIT_OK

    _exit_unless_ok(run_command(body, debug))


@click.command("trace")
@click.argument("target")
@click.argument("paths", nargs=-1, type=str)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for tools.")
@click.option("--port", type=int, default=None, help="Service port (same as HOST:PORT).")
@_repository_options
def trace_cmd(target: str, paths: tuple[str, ...], fmt: str, port: Optional[int], exclude: tuple[str, ...],
              root: Optional[str], config_path: Optional[str], isolated: bool, default_namespace: Optional[str],
              cluster_domain: Optional[str], debug: bool) -> None:
    """Show how traffic to TARGET flows, offline (like `istioctl x describe`).

    TARGET is HOST, HOST:PORT or KIND/NAMESPACE/NAME of a ServiceEntry or Service; PATHS
    (default: .) are the repository.  For each client namespace and each Gateway admitting
    the host: the VirtualService route that applies, the effective DestinationRule (lookup
    path, merges, which object sets each field), subsets and the endpoints they select with
    each hop's port, mTLS, locality/failover, and every finding on that path.
    Exit 0, or 2 when TARGET matches nothing in the repository or on usage errors.
    """

    def body() -> int:
        import json

        from .trace import TraceError, render_text, trace_units

        outcome = _lint_repository(paths, root, config_path, isolated, exclude, default_namespace, cluster_domain)
        try:
            doc = trace_units(outcome.units, target, port)
        except TraceError as exc:
            click.echo(f"istio-vm-lint: {exc}", err=True)
            return EXIT_ERROR  # a target the repository lacks is a usage error: exit 1 means findings only
        write_whole(json.dumps(doc, indent=2, default=str) + "\n" if fmt == "json" else render_text(doc))
        return EXIT_OK

    _exit_unless_ok(run_command(body, debug))


def _exit_unless_ok(code: int) -> None:
    if code != EXIT_OK:
        sys.exit(code)
