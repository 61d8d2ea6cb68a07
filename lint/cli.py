"""Command line: ``istio-vm-lint [check] PATH...``, ``rules``, ``explain CODE``, ``graph PATH``,
``trace TARGET``.

Exit codes are the same in every output format: 0 no finding at or above ``--fail-on``,
1 findings (and nothing else), 2 usage error, bad config, missing path, internal error or
output that could not be written (a closed stdout, a full disk), 130 interrupted (Ctrl-C).
Diagnostics go to stderr so stdout stays machine-readable; a report is written whole or not
at all.

This module is the entry point (``run``).  It imports neither click nor the linter: the
command group, ``rules`` and ``explain`` are in ``cli_group.py`` (``main`` here is that
group, imported on first use), the commands in ``cli_check.py`` (``check``) and
``cli_graph.py`` (``graph``, ``trace``), what they share in ``cli_settings.py`` (root,
config, settings, files) and ``cli_output.py`` (guarded streams, whole reports, exit codes).
``istio-vm-lint --version`` is answered here without them (a pre-commit or editor
integration may call it on every run); ``tests/test_cli_startup.py`` checks what each fast
path imports.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

from . import __version__, cli_output
from .cli_output import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    OutputError,
    guard_streams,
    report_output_error,
    reserve_standard_fds,
    say,
)

# What click's version option prints (`istio-vm-lint --version`, tests/test_cli_startup.py
# compares the two).
VERSION_LINE = f"istio-vm-lint, version {__version__}\n"
_GROUP_NAMES = ("main", "DefaultGroup", "rules_cmd", "explain", "explain_text")


def __getattr__(name: str) -> Any:
    """``main`` (the click group) and the other names of ``cli_group.py``, imported on first use."""
    if name in _GROUP_NAMES:
        from . import cli_group

        return getattr(cli_group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run() -> None:
    """Console-script entry point: ``main`` plus a fast exit.

    After the report is written and flushed, the interpreter's teardown (freeing every parsed
    document, graph node and module) is pure overhead for a one-shot CLI: 0.17 s at 5,000
    resources, 1.4 s at 50,000 (benchmarks/README.md).  ``os._exit`` skips it, and what a
    command hands to ``cli_output.keep_until_exit`` (the run's outcome) is not freed when the
    command returns either.  Tests call ``main`` itself, which exits normally and keeps nothing.
    """
    # No cyclic garbage collection in this one-shot process: importing click and the linter
    # allocates tens of thousands of objects, which set off full collections that find next
    # to nothing (about 5% of a one-file run); lint() turns the collector off for the run
    # itself anyway (runner.py), and os._exit below skips the teardown.
    gc.disable()
    cli_output._KEPT = []  # a command's results are not freed before os._exit (keep_until_exit)
    reserve_standard_fds()
    # Guarded here too for what click writes before a command runs (--help, --version, usage).
    out, err = guard_streams()
    code = 0
    try:
        if sys.argv[1:] == ["--version"]:  # click's answer, without importing click and the commands
            sys.stdout.write(VERSION_LINE)
            sys.stdout.flush()
        else:
            from . import cli_fast

            parsed = cli_fast.parse(sys.argv[1:])  # a plain check run: no click (cli_fast.py)
            if parsed is not None and cli_fast.accepted(parsed[1]):
                cli_fast.run(*parsed)
            from .cli_group import main

            main(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except OutputError as exc:
        report_output_error(exc, out, err)
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
                say(sys.stderr, f"istio-vm-lint: {OutputError(name, exc)}")
            if code in (EXIT_OK, EXIT_FINDINGS):
                code = EXIT_ERROR
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    from .cli_group import main

    main()
