"""What a command lints and with which settings: the repository root and config file, the
settings (defaults, then the config file, then flags), the parse cache directory, and the
files named on the command line (with the rest of the repository loaded as context).
Shared by ``check`` (``cli_check.py``) and ``graph``/``trace`` (``cli_graph.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from .cli_output import echo_err
from .config import ConfigError, Settings, codes, find_config, find_config_upwards, load_config_file
from .discover import Discovered, discover


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


def find_root(paths: tuple[str, ...], root: Optional[str], config_path: Optional[str],
              isolated: bool) -> tuple[Optional[str], Optional[str]]:
    """``(repository root, config file)`` for a run.

    The root is ``--root``, else the git root above the first path, else the directory of
    the nearest config file above it; the config file is ``--config``, else the one at the
    root.  Config is read from the root (not from the linted subdirectory) so that a
    pre-commit run on one file behaves like a run on the whole repository.
    """
    start = next((p for p in paths if p != "-"), ".")
    if root is not None:
        if not os.path.isdir(root):
            raise ConfigError(f"--root {root}: not a directory")
        root = os.path.abspath(root)
    else:
        root = git_root(start)
    if config_path or isolated:
        return root, config_path
    if root is not None:
        return root, find_config(root)
    cfg = find_config_upwards(start)
    return (os.path.dirname(os.path.abspath(cfg)) if cfg else None), cfg


def build_settings(config_path: Optional[str], isolated: bool, root: Optional[str], **cli: Any) -> Settings:
    """Defaults, then the config file, then CLI flags.

    ``--select`` replaces the configured selection *and* its ``ignore``/``extend-select``
    (ruff: a command-line ``--select`` starts a new selection, so ``--select IVL501`` runs
    IVL501 even when the config ignores it); ``--ignore``, ``--extend-select``, ``--exclude``
    and the external hosts/namespaces add to the configured lists (so a one-off ``--ignore``
    does not drop the repository's own ignores).
    """
    values: dict[str, Any] = {}
    if not isolated:
        path = config_path or (find_config(root) if root else None)
        if path:
            values.update(load_config_file(path))
    elif config_path:
        values.update(load_config_file(config_path))
    if cli.get("select"):
        values.pop("ignore", None)
        values.pop("extend_select", None)
    for key, value in cli.items():
        if value is None or value == ():
            continue
        if key in ("select", "ignore", "extend_select"):
            value = codes(",".join(value) if isinstance(value, tuple) else value, f"--{key.replace('_', '-')}",
                          "command line")
        if key in ("ignore", "extend_select", "exclude", "external_hosts", "external_namespaces"):
            value = tuple(values.get(key, ())) + tuple(value)
        values[key] = value
    return Settings(**values)


def resolve_cache_dir(settings: Settings, flag: Optional[str], no_cache: bool) -> Optional[str]:
    """The parse cache directory, or None.  The cache is opt-in: nothing is written unless
    asked for (--cache-dir, ISTIO_VM_LINT_CACHE_DIR or the ``cache-dir`` config key, in that
    order); --no-cache and ISTIO_VM_LINT_NO_CACHE turn it off whatever asked for it."""
    if no_cache or os.environ.get("ISTIO_VM_LINT_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no", "off"):
        return None
    chosen = flag or os.environ.get("ISTIO_VM_LINT_CACHE_DIR")
    if chosen or not settings.cache_dir:
        return chosen or None
    # A repository's config file may only place the cache inside that repository (symlinks
    # resolved): cloning a repository must not make the linter write anywhere else.
    root = os.path.realpath(settings.root or os.getcwd())
    target = os.path.realpath(settings.cache_dir)
    if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
        echo_err(f"istio-vm-lint: warning: cache-dir {settings.cache_dir} is outside the repository {root}; "
                 "not using a cache (choose one outside with --cache-dir or ISTIO_VM_LINT_CACHE_DIR)")
        return None
    return settings.cache_dir


@dataclass
class Scan:
    """What the walk of the named paths found besides files (the CLI reports it)."""

    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (directory, reason): exit 2
    empty: list[str] = field(default_factory=list)  # named directories without YAML files


def discover_named(file_paths: list[str], exclude: tuple[str, ...],
                   scan: Optional[Scan] = None) -> tuple[list[Discovered], list[str]]:
    """``discover`` path by path, so a named directory that holds no YAML can be named."""
    scan = scan if scan is not None else Scan()
    found: dict[str, Discovered] = {}
    missing: list[str] = []
    for path in file_paths:
        before = len(scan.unreadable)
        got, miss = discover([path], exclude, unreadable=scan.unreadable)
        missing.extend(miss)
        if not got and not miss and len(scan.unreadable) == before and os.path.isdir(path):
            scan.empty.append(path)
        for d in got:
            have = found.get(d.real)
            if have is None or (have.via_link and not d.via_link):
                found[d.real] = d
    return sorted(found.values(), key=lambda d: d.display), missing


def select_files(paths: tuple[str, ...], settings: Settings, root: Optional[str], no_context: bool,
                 stdin_filename: Optional[str],
                 scan: Optional[Scan] = None) -> tuple[list[Discovered], list[str], Optional[set[str]]]:
    """``(files to load, missing paths, report_only)`` for a check run.

    pre-commit splits its file list across parallel invocations, so one invocation never
    sees the whole graph: when files are named and a root is known, the whole root is
    loaded for context and only the named files are reported (``report_only``, real paths).
    Directories alone are linted as self-contained projects.  Unreadable and empty named
    directories are recorded in ``scan``.
    """
    file_paths = [p for p in paths if p != "-"]
    named_file = any(os.path.lexists(p) and not os.path.isdir(p) for p in file_paths)
    stdin_named = "-" in paths and stdin_filename is not None
    given, missing = discover_named(file_paths, tuple(settings.exclude), scan)
    if root is None or no_context or not (named_file or stdin_named):
        return given, missing, None
    context, _ = discover([root], settings.exclude)
    merged = {d.real: d for d in context}
    if stdin_named:  # the buffer on stdin replaces the file on disk
        merged.pop(os.path.realpath(os.path.abspath(stdin_filename or "")), None)
    merged.update({d.real: d for d in given})
    files = sorted(merged.values(), key=lambda d: d.display)
    return files, missing, {d.real for d in given}

