"""The ``check`` command (the default): lint the named paths and write the report.

The run itself (``lint/runner.py``), baselines, the report in the chosen format
(``lint/report/``), the summary and progress line on stderr, and the exit code.  Its flags
(click) are in ``cli_check_command.py``; this module does not import click, so that a plain
run parsed by ``cli_fast.py`` never does (messages on stderr import it when written).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

from .cli_output import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, echo_err, keep_until_exit, write_whole

# findings.SEVERITIES, spelled out so that `--version` and `--help` import no more than the
# command modules and click (tests/test_cli_startup.py checks both).
SEVERITIES = ("error", "warning", "info")


def __getattr__(name: str) -> Any:
    """``check`` (the click command, ``cli_check_command.py``), imported on first use."""
    if name == "check":
        from .cli_check_command import check

        return check
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _check(paths: tuple[str, ...], fmt: str, fail_on: Optional[str], select: tuple[str, ...],
           ignore: tuple[str, ...], extend_select: tuple[str, ...], default_namespace: Optional[str],
           cluster_domain: Optional[str], external_hosts: tuple[str, ...], external_namespaces: tuple[str, ...],
           exclude: tuple[str, ...], mesh_config: Optional[str], stdin_filename: Optional[str], root: Optional[str],
           config_path: Optional[str], isolated: bool, no_context: bool, cache_dir: Optional[str], no_cache: bool,
           baseline_path: Optional[str],
           write_baseline_path: Optional[str], exit_zero: bool, quiet: bool, verbose: bool,
           no_color: bool, color_mode: str = "auto") -> int:
    from .cli_settings import Scan, build_settings, find_root, resolve_cache_dir, select_files
    from .config import root_relative
    from .discover import display_path
    from .engine import all_rules, fails
    from .report import ReportContext, renderer
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
        echo_err(f"istio-vm-lint: cannot read directory {where}: {reason}")
    for where in scan.empty:
        echo_err(f"istio-vm-lint: warning: no YAML files (*.yaml, *.yml) in {where}")
    stdin = None
    if "-" in paths:
        # Shown like a file named on the command line: relative to the current directory.
        stdin = (display_path(stdin_filename) if stdin_filename else "<stdin>", sys.stdin.buffer.read())
    from . import result_cache

    # The result cache (lint/result_cache.py): a run whose inputs are all unchanged reuses the
    # findings of the run that had them.
    rprobe = None
    if settings.cache_dir and not scan.unreadable and result_cache.enabled():
        rprobe = result_cache.probe(files, report_only, settings, stdin)
    run = result_cache.load(settings.cache_dir, rprobe) if rprobe is not None and settings.cache_dir else None
    outcome = None
    if run is None:
        with Progress(len(files), enabled=not quiet) as progress:
            settings.progress = progress.hook if progress.enabled else None
            outcome = lint([], settings, stdin=stdin, report_only=report_only, files=files,
                           preread=rprobe.contents if rprobe is not None else None)
        keep_until_exit(outcome)
        run = result_cache.Summary.of(outcome)
        if rprobe is not None and settings.cache_dir and outcome.repeatable:
            result_cache.store(settings.cache_dir, rprobe, run)
    for m in missing:
        echo_err(f"istio-vm-lint: no such file or directory: {m}")
    findings = run.findings
    if verbose:
        scope = f" (reporting on {len(report_only)} of them)" if report_only is not None else ""
        echo_err(f"istio-vm-lint: root {settings.root}; config {config_path or 'none'}")
        echo_err(f"istio-vm-lint: read {run.files} files{scope}, {run.resources} resources; ignored "
                 f"{run.ignored_documents} documents without apiVersion/kind and {run.unknown_kinds} of other "
                 f"kinds; ran {run.rules_run} rules")
        if run.cached:
            echo_err(f"istio-vm-lint: result cache {settings.cache_dir}: nothing changed since a run with the "
                     "same inputs; its findings are reused")
        if outcome is not None and outcome.cache_stats is not None:
            hits, misses = outcome.cache_stats
            echo_err(f"istio-vm-lint: parse cache {settings.cache_dir}: {hits} file(s) reused, {misses} parsed")
        for stage, secs in (outcome.timings.items() if outcome is not None else ()):
            echo_err(f"istio-vm-lint: {stage}: {secs * 1000:.1f} ms")
    failed = bool(missing or run.internal_errors or scan.unreadable)

    if write_baseline_path:
        from . import baseline as baseline_mod  # deferred: most runs have no baseline

        n = baseline_mod.write(write_baseline_path, findings, settings.root)
        echo_err(f"istio-vm-lint: wrote {n} finding(s) to baseline {write_baseline_path}")
        if report_only is not None:
            echo_err("istio-vm-lint: note: only findings in the named files were recorded; write the baseline "
                     "from a run on the whole repository (a directory) to record all of them")
        return EXIT_ERROR if failed else EXIT_OK
    bpath = baseline_path or settings.baseline
    if bpath:
        from . import baseline as baseline_mod

        base = baseline_mod.load(bpath)
        reported = None
        if report_only is not None:
            reported = {root_relative(path, settings.root) for path in run.report_paths}
        filtered = baseline_mod.apply(findings, base, settings.root, reported)
        findings = filtered.kept
        if not quiet and (filtered.hidden or filtered.stale):
            stale = (f"; {filtered.stale} baseline entr{'y' if filtered.stale == 1 else 'ies'} matched nothing "
                     f"(fixed? refresh with --write-baseline {bpath})") if filtered.stale else ""
            echo_err(f"istio-vm-lint: baseline {bpath} hid {filtered.hidden} known finding(s){stale}")

    # Counts describe the report scope (the named files in a pre-commit run), not the context.
    rctx = ReportContext(files=run.report_files, resources=run.report_resources,
                         color=_use_color(no_color, color_mode) and fmt == "text", rules=all_rules(), root=settings.root,
                         internal_errors=run.internal_errors,
                         errors=[f"no such file or directory: {m}" for m in missing]
                         + [f"cannot read directory {d}: {why}" for d, why in scan.unreadable])
    out = renderer(fmt)(findings, rctx)
    write_whole(out)
    if fmt == "github":
        from .report.github_format import overflow_message

        note = overflow_message(findings)
        if note:
            echo_err(f"istio-vm-lint: {note}")
    # A run that could not read what it was given must not end with "No problems found".
    if fmt == "text" and not quiet and not (failed and not findings):
        from .report.text_format import render_summary

        echo_err(render_summary(findings, rctx).rstrip("\n"))
        if run.suppressed:
            echo_err(f"({run.suppressed} finding(s) suppressed by comments, annotations or "
                     "per-file-ignores)")
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
