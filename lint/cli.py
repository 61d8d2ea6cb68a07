"""Command line: ``istio-vm-lint [check] PATH...``, ``rules``, ``explain CODE``, ``graph PATH``.

Exit codes are the same in every output format: 0 no finding at or above ``--fail-on``,
1 findings (and nothing else), 2 usage error, bad config, missing path, internal error or
output that could not be written (a closed stdout, a full disk), 130 interrupted (Ctrl-C).
Diagnostics go to stderr so stdout stays machine-readable; a report is written whole or not
at all.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

import click

from . import __version__
from .config import ConfigError, Settings, codes, find_config, find_config_upwards, load_config_file, root_relative
from .discover import Discovered, discover, display_path
from .findings import SEVERITIES

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class OutputError(Exception):
    """Writing to stdout or stderr failed (closed, broken pipe, full device)."""

    def __init__(self, stream: str, cause: Optional[BaseException]) -> None:
        self.stream = stream
        self.cause = cause
        if cause is None:
            why = "it is closed"
        elif isinstance(cause, OSError) and cause.strerror:
            why = cause.strerror
        else:
            why = str(cause) or type(cause).__name__
        super().__init__(f"cannot write to {stream}: {why}")


class _GuardedStream:
    """``sys.stdout``/``sys.stderr`` while a command runs: a failed write or flush raises
    :class:`OutputError` (never a traceback, never exit 1), and a closed stream (``>&-``)
    is an error at the first write instead of output silently lost."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")  # click probes for a binary stream
        if self._stream is None:
            raise OutputError(self._name, None)
        try:
            return _write_text(self._stream, text)
        except (OSError, ValueError) as exc:  # ValueError: I/O operation on closed file
            raise OutputError(self._name, exc) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            raise OutputError(self._name, exc) from None

    def isatty(self) -> bool:
        try:
            return self._stream is not None and bool(self._stream.isatty())
        except (OSError, ValueError):
            return False

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return getattr(self._stream, "errors", None) or "strict"

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # click would write around the guard
            raise AttributeError(name)
        return getattr(self._stream, name)


def _write_text(stream: Any, text: str) -> int:
    """Write all of ``text`` or raise.  A text stream's buffered writer returns a short count
    when the reader of a pipe goes away in the middle of a large write, and ``write``
    ignores it: the rest is lost without an error.  So the bytes are written here until
    every one is out, and the failure surfaces as the ``BrokenPipeError`` it is."""
    buf = getattr(stream, "buffer", None)
    if buf is None:
        return int(stream.write(text))
    stream.flush()  # whatever went through the text layer before
    if os.linesep != "\n":  # what the text layer would have done
        text = text.replace("\n", os.linesep)
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while data:
        n = buf.write(data)
        if not n:
            raise OSError(f"short write to {getattr(stream, 'name', 'stream')}")
        data = data[n:]
    return len(text)


def _say(stream: Any, line: str) -> None:
    """One line on a stream that may itself be broken: best effort, never raises."""
    try:
        if stream is not None:
            stream.write(line + "\n")
            stream.flush()
    except Exception:
        pass


def _silence_failed(stream: Any) -> None:
    """Point a standard stream that failed at the null device, so that flushing what is
    left in its buffer (at exit) does not fail a second time."""
    try:
        fd = stream.fileno()
        if fd in (1, 2):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


class DefaultGroup(click.Group):
    """A group whose default subcommand is ``check`` (``istio-vm-lint path/`` works).

    Every command runs with guarded standard streams: an output failure is exit 2 with one
    line on stderr (when stderr works), Ctrl-C is exit 130; neither prints a traceback.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _GuardedStream(out, "stdout"), _GuardedStream(err, "stderr")  # type: ignore[assignment]
        try:
            return super().invoke(ctx)
        except OutputError as exc:
            if exc.stream == "stdout":
                _say(err, f"istio-vm-lint: {exc}")
            _silence_failed(out if exc.stream == "stdout" else err)
            raise SystemExit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            _say(err, "istio-vm-lint: interrupted")
            raise SystemExit(EXIT_INTERRUPTED) from None
        finally:
            sys.stdout, sys.stderr = out, err


def write_whole(text: str) -> None:
    """Write a report to stdout in full or not at all: a Ctrl-C that arrives while it is
    being written waits until it is out (then the run still ends with exit 130), so a
    reader never gets half a JSON or SARIF document."""
    import signal
    import threading

    pending: list[int] = []
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        try:
            previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
        except (ValueError, OSError):  # pragma: no cover - no signals here
            previous = None
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if pending and previous is signal.default_int_handler:
        raise KeyboardInterrupt


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="istio-vm-lint")
def main() -> None:
    """Offline linter for Istio mesh config with VMs (ServiceEntry, WorkloadEntry, WorkloadGroup).

    Run `istio-vm-lint PATH...` (same as `istio-vm-lint check PATH...`).
    """


def _use_color(no_color: bool = False, mode: str = "auto") -> bool:
    """Whether to colour the text output.

    ``--color never`` (or ``--no-color``) and ``--color always`` decide; with ``auto`` a
    non-empty ``FORCE_COLOR`` (other than ``0``/``false``) turns colour on, a non-empty
    ``NO_COLOR`` turns it off (https://no-color.org, https://force-color.org; FORCE_COLOR
    wins when both are set, as in Node), and otherwise only a terminal gets colour.
    """
    if no_color or mode == "never":
        return False
    if mode == "always":
        return True
    force = os.environ.get("FORCE_COLOR", "")
    if force and force.strip().lower() not in ("0", "false"):
        return True
    if os.environ.get("NO_COLOR"):
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
              help="Cache parse results here (by file content) so the next run only parses changed files "
                   "[env ISTIO_VM_LINT_CACHE_DIR; config cache-dir; default: no cache].")
@click.option("--no-cache", is_flag=True, help="Do not use the parse cache, even if the config or environment asks for one.")
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
    try:
        code = _check(paths, fmt, **opts)
    except ConfigError as exc:
        click.echo(f"istio-vm-lint: configuration error: {exc}", err=True)
        code = EXIT_ERROR
    except OutputError:  # exit 2 with one line (DefaultGroup.invoke), not an internal error
        raise
    except Exception as exc:  # never a bare traceback in CI logs
        if debug or os.environ.get("ISTIO_VM_LINT_DEBUG"):
            raise
        click.echo(f"istio-vm-lint: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        code = EXIT_ERROR
    sys.exit(code)


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
        click.echo(f"istio-vm-lint: warning: cache-dir {settings.cache_dir} is outside the repository {root}; "
                   "not using a cache (choose one outside with --cache-dir or ISTIO_VM_LINT_CACHE_DIR)", err=True)
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


def _check(paths: tuple[str, ...], fmt: str, fail_on: Optional[str], select: tuple[str, ...],
           ignore: tuple[str, ...], extend_select: tuple[str, ...], default_namespace: Optional[str],
           cluster_domain: Optional[str], external_hosts: tuple[str, ...], external_namespaces: tuple[str, ...],
           exclude: tuple[str, ...], mesh_config: Optional[str], stdin_filename: Optional[str], root: Optional[str],
           config_path: Optional[str], isolated: bool, no_context: bool, cache_dir: Optional[str], no_cache: bool,
           baseline_path: Optional[str],
           write_baseline_path: Optional[str], exit_zero: bool, quiet: bool, verbose: bool,
           no_color: bool, color_mode: str = "auto") -> int:
    from . import baseline as baseline_mod
    from .engine import all_rules, fails
    from .report import ReportContext, renderer
    from .report.github_format import overflow_message
    from .runner import lint

    paths = paths or (".",)
    # `-` alone: the repository is the one the buffer's file name lies in (an editor in a
    # subdirectory pipes a buffer; its config and context are those of that file's repo).
    anchor = paths if any(p != "-" for p in paths) or not stdin_filename else (stdin_filename,)
    root, config_path = find_root(anchor, root, config_path, isolated)
    settings = build_settings(config_path, isolated, root, select=select, ignore=ignore,
                              extend_select=extend_select, fail_on=fail_on, default_namespace=default_namespace,
                              cluster_domain=cluster_domain, external_hosts=external_hosts,
                              external_namespaces=external_namespaces, exclude=exclude, mesh_config=mesh_config)
    if settings.mesh_config:  # read it now so that a bad file is a usage error (exit 2), not IVL000
        from .mesh import load_mesh_config

        load_mesh_config(settings.mesh_config)
    settings.root = root or os.getcwd()
    settings.cache_dir = resolve_cache_dir(settings, cache_dir, no_cache)
    scan = Scan()
    files, missing, report_only = select_files(paths, settings, root, no_context, stdin_filename, scan)
    for where, reason in scan.unreadable:
        click.echo(f"istio-vm-lint: cannot read directory {where}: {reason}", err=True)
    for where in scan.empty:
        click.echo(f"istio-vm-lint: warning: no YAML files (*.yaml, *.yml) in {where}", err=True)
    stdin = None
    if "-" in paths:
        # Shown like a file named on the command line: relative to the current directory.
        stdin = (display_path(stdin_filename) if stdin_filename else "<stdin>", sys.stdin.buffer.read())
    with Progress(len(files), enabled=not quiet) as progress:
        settings.progress = progress.hook if progress.enabled else None
        outcome = lint([], settings, stdin=stdin, report_only=report_only, files=files)
    outcome.missing = missing
    for m in outcome.missing:
        click.echo(f"istio-vm-lint: no such file or directory: {m}", err=True)
    findings = outcome.findings
    p = outcome.project
    if verbose:
        scope = f" (reporting on {len(report_only)} of them)" if report_only is not None else ""
        click.echo(f"istio-vm-lint: root {settings.root}; config {config_path or 'none'}", err=True)
        click.echo(f"istio-vm-lint: read {len(p.files)} files{scope}, {len(p.resources)} resources; ignored "
                   f"{p.ignored_documents} documents without apiVersion/kind and {p.unknown_kinds} of other kinds; "
                   f"ran {outcome.result.rules_run} rules", err=True)
        if outcome.cache_stats is not None:
            hits, misses = outcome.cache_stats
            click.echo(f"istio-vm-lint: parse cache {settings.cache_dir}: {hits} file(s) reused, {misses} parsed",
                       err=True)
        for stage, secs in outcome.timings.items():
            click.echo(f"istio-vm-lint: {stage}: {secs * 1000:.1f} ms", err=True)
    failed = bool(outcome.missing or outcome.result.internal_errors or scan.unreadable)

    if write_baseline_path:
        n = baseline_mod.write(write_baseline_path, findings, settings.root)
        click.echo(f"istio-vm-lint: wrote {n} finding(s) to baseline {write_baseline_path}", err=True)
        if report_only is not None:
            click.echo("istio-vm-lint: note: only findings in the named files were recorded; write the baseline "
                       "from a run on the whole repository (a directory) to record all of them", err=True)
        return EXIT_ERROR if failed else EXIT_OK
    bpath = baseline_path or settings.baseline
    if bpath:
        base = baseline_mod.load(bpath)
        reported = None
        if report_only is not None:
            reported = {root_relative(src.path, settings.root) for src in p.files if src.report}
        filtered = baseline_mod.apply(findings, base, settings.root, reported)
        findings = filtered.kept
        if not quiet and (filtered.hidden or filtered.stale):
            stale = (f"; {filtered.stale} baseline entr{'y' if filtered.stale == 1 else 'ies'} matched nothing "
                     f"(fixed? refresh with --write-baseline {bpath})") if filtered.stale else ""
            click.echo(f"istio-vm-lint: baseline {bpath} hid {filtered.hidden} known finding(s){stale}", err=True)

    # Counts describe the report scope (the named files in a pre-commit run), not the context.
    rctx = ReportContext(files=sum(1 for src in p.files if src.report),
                         resources=sum(1 for r in p.resources if r.source.report),
                         color=_use_color(no_color, color_mode) and fmt == "text", rules=all_rules(), root=settings.root,
                         internal_errors=outcome.result.internal_errors,
                         errors=[f"no such file or directory: {m}" for m in outcome.missing]
                         + [f"cannot read directory {d}: {why}" for d, why in scan.unreadable])
    out = renderer(fmt)(findings, rctx)
    write_whole(out)
    if fmt == "github":
        note = overflow_message(findings)
        if note:
            click.echo(f"istio-vm-lint: {note}", err=True)
    # A run that could not read what it was given must not end with "No problems found".
    if fmt == "text" and not quiet and not (failed and not findings):
        from .report.text_format import render_summary

        click.echo(render_summary(findings, rctx).rstrip("\n"), err=True)
        if outcome.result.suppressed:
            click.echo(f"({outcome.result.suppressed} finding(s) suppressed by comments, annotations or "
                       "per-file-ignores)", err=True)
    if failed:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if fails(findings, settings.fail_on) else EXIT_OK


PROGRESS_DELAY = 1.0  # seconds of work before a progress line appears


class Progress:
    """A one-line progress display on stderr for runs that take a while, at a terminal only.

    A background thread draws it once ``PROGRESS_DELAY`` seconds have passed, whatever the
    number of files (a few large files can take as long as many small ones), and redraws it
    so the load stage (which has no hook) still shows that something is happening; the
    rules stage reports through :meth:`hook`, passed to the run as ``Settings.progress``.  Nothing is drawn when stderr is
    not a TTY, so CI logs and captured output stay clean, and a fast run draws nothing.
    """

    def __init__(self, files: int, enabled: bool = True, delay: float = PROGRESS_DELAY) -> None:
        self.files = files
        self.enabled = enabled and sys.stderr.isatty() and not os.environ.get("ISTIO_VM_LINT_NO_PROGRESS")
        self.delay = delay
        self.done = self.total = 0
        self.drawn = False
        self._stop: Any = None
        self._thread: Any = None

    def hook(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def _draw(self, elapsed: float) -> None:
        if self.total:
            width = 24
            filled = int(width * self.done / max(1, self.total))
            line = f"istio-vm-lint: [{'#' * filled}{'.' * (width - filled)}] rules {self.done}/{self.total}"
        else:
            line = f"istio-vm-lint: loading {self.files} files… {elapsed:.0f}s"
        try:
            sys.stderr.write("\r" + line + "\033[K")
            sys.stderr.flush()
        except Exception:  # cosmetic: a failing stderr is reported by the run itself
            pass
        self.drawn = True

    def __enter__(self) -> "Progress":
        if not self.enabled:
            return self
        import threading
        import time

        self._stop = threading.Event()
        start = time.monotonic()

        def loop() -> None:
            if self._stop.wait(self.delay):
                return
            while True:
                self._draw(time.monotonic() - start)
                if self._stop.wait(0.1):
                    return

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.enabled:
            return
        self._stop.set()
        self._thread.join()
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule: code, name, severity and summary (JSON adds rationale and examples)."""
    import json

    from .engine import all_rules

    rules = all_rules()
    if fmt == "json":
        write_whole(json.dumps({"version": 1, "rules": [r.as_dict() for r in rules.values()]}, indent=2) + "\n")
        return
    varies = False
    for r in rules.values():
        eq = f"  [{', '.join(r.equivalents)}]" if r.equivalents else ""
        sev = r.severity + ("*" if r.severity_note else "")
        varies = varies or bool(r.severity_note)
        click.echo(f"{r.code}  {sev:<8}  {r.name}: {r.summary}{eq}")
    if varies:
        click.echo("\n* lower (warning or info) when the finding depends on what the repository cannot know; "
                   "`istio-vm-lint explain CODE` says when, and the finding's message says why")


def explain_text(code: str) -> Optional[str]:
    """The long help of a rule (the same text as SARIF ``help.text``), or None."""
    from .engine import all_rules
    from .report import rule_help_text

    r = all_rules().get(code.upper())
    return None if r is None else rule_help_text(r)


@main.command("explain")
@click.argument("code")
def explain(code: str) -> None:
    """Show a rule's documentation."""
    text = explain_text(code)
    if text is None:
        click.echo(f"istio-vm-lint: unknown rule code {code!r}; see `istio-vm-lint rules`", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(text, nl=False)


def _lint_repository(paths: tuple[str, ...], root: Optional[str], config_path: Optional[str], isolated: bool,
                     exclude: tuple[str, ...], default_namespace: Optional[str],
                     cluster_domain: Optional[str]) -> Any:
    """The whole-repository lint that `graph` and `trace` draw from (settings, discovery and the
    rules as `check` runs them); a missing path or unreadable directory exits 2."""
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
    return lint([], settings, files=files)


@main.command("graph")
@click.argument("paths", nargs=-1, type=str)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "json"]), default="mermaid",
              show_default=True, help="Graph format.")
@click.option("--focus", default=None,
              help="Only the part of the graph connected to this host or KIND/NAMESPACE/NAME.")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option("--root", default=None, help="Repository root (default: the git root), for the config file.")
@click.option("--config", "config_path", default=None, help="Config file.")
@click.option("--isolated", is_flag=True, help="Ignore configuration files.")
@click.option("--default-namespace", default=None, help="Namespace for resources without one.")
@click.option("--cluster-domain", default=None, help="Kubernetes cluster domain.")
@click.option("--debug", is_flag=True, hidden=True)
def graph_cmd(paths: tuple[str, ...], fmt: str, focus: Optional[str], exclude: tuple[str, ...], root: Optional[str],
              config_path: Optional[str], isolated: bool, default_namespace: Optional[str],
              cluster_domain: Optional[str], debug: bool) -> None:
    """Print the mesh graph (Gateway → VirtualService → ServiceEntry/Service → workloads)."""
    try:
        import importlib

        importlib.import_module(f"{__package__}.graph")  # the export needs the graph module
        from .graph_export import export_graph
    except ImportError as exc:
        click.echo(f"istio-vm-lint: graph export is not available in this build ({exc})", err=True)
        sys.exit(EXIT_ERROR)
    try:
        # The rules run too: their findings are drawn as broken edges (dashed, red, with the code).
        outcome = _lint_repository(paths, root, config_path, isolated, exclude, default_namespace, cluster_domain)
        assert outcome.context is not None
        out = export_graph(outcome.context.graph, fmt, focus, outcome.findings)
    except ConfigError as exc:
        click.echo(f"istio-vm-lint: configuration error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except OutputError:
        raise
    except Exception as exc:
        if debug or os.environ.get("ISTIO_VM_LINT_DEBUG"):
            raise
        click.echo(f"istio-vm-lint: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        sys.exit(EXIT_ERROR)
    write_whole(out)


@main.command("trace")
@click.argument("target")
@click.argument("paths", nargs=-1, type=str)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for tools.")
@click.option("--port", type=int, default=None, help="Service port (same as HOST:PORT).")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option("--root", default=None, help="Repository root (default: the git root), for the config file.")
@click.option("--config", "config_path", default=None, help="Config file.")
@click.option("--isolated", is_flag=True, help="Ignore configuration files.")
@click.option("--default-namespace", default=None, help="Namespace for resources without one.")
@click.option("--cluster-domain", default=None, help="Kubernetes cluster domain.")
@click.option("--debug", is_flag=True, hidden=True)
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
    try:
        from .trace import TraceError, render_text, trace

        outcome = _lint_repository(paths, root, config_path, isolated, exclude, default_namespace, cluster_domain)
        assert outcome.context is not None
        try:
            doc = trace(outcome.context, outcome.findings, target, port)
        except TraceError as exc:
            click.echo(f"istio-vm-lint: {exc}", err=True)
            sys.exit(EXIT_ERROR)  # a target the repository lacks is a usage error: exit 1 means findings only
        import json

        out = json.dumps(doc, indent=2, default=str) + "\n" if fmt == "json" else render_text(doc)
    except ConfigError as exc:
        click.echo(f"istio-vm-lint: configuration error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except OutputError:
        raise
    except Exception as exc:
        if debug or os.environ.get("ISTIO_VM_LINT_DEBUG"):
            raise
        click.echo(f"istio-vm-lint: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        sys.exit(EXIT_ERROR)
    write_whole(out)


if __name__ == "__main__":  # pragma: no cover
    main()


def run() -> None:
    """Console-script entry point: ``main`` plus a fast exit.

    After the report is written and flushed, the interpreter's teardown (freeing every parsed
    document, graph node and module) is pure overhead for a one-shot CLI: 0.17 s at 5,000
    resources, 1.4 s at 50,000 (benchmarks/README.md).  ``os._exit`` skips it.  Tests call
    ``main`` itself, which exits normally.
    """
    _reserve_standard_fds()
    out, err = sys.stdout, sys.stderr
    # Guarded here too for what click writes before a command runs (--help, --version, usage).
    sys.stdout, sys.stderr = _GuardedStream(out, "stdout"), _GuardedStream(err, "stderr")  # type: ignore[assignment]
    code = 0
    try:
        main(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except OutputError as exc:
        if exc.stream == "stdout":
            _say(err, f"istio-vm-lint: {exc}")
        _silence_failed(out if exc.stream == "stdout" else err)
        code = EXIT_ERROR
    except KeyboardInterrupt:  # outside a command (while parsing arguments)
        code = EXIT_INTERRUPTED
    sys.stdout, sys.stderr = out, err
    for stream, name in ((sys.stdout, "stdout"), (sys.stderr, "stderr")):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError) as exc:  # output that could not be written is exit 2
            if name == "stdout":
                _say(sys.stderr, f"istio-vm-lint: {OutputError(name, exc)}")
            if code in (EXIT_OK, EXIT_FINDINGS):
                code = EXIT_ERROR
    os._exit(code)


def _reserve_standard_fds() -> None:
    """With stdin, stdout or stderr closed (``>&-``), the next file opened would take its
    number, and a child process (kustomize) would write into it: hold each closed one open
    on the null device.  ``sys.stdout`` stays None, so writing the report still fails."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            except OSError:
                pass
