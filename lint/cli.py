"""Command line: ``istio-vm-lint [check] PATH...``, ``rules``, ``explain CODE``, ``graph PATH``,
``trace TARGET``.

Exit codes are the same in every output format: 0 no finding at or above ``--fail-on``,
1 findings (and nothing else), 2 usage error, bad config, missing path, internal error or
output that could not be written (a closed stdout, a full disk), 130 interrupted (Ctrl-C).
Diagnostics go to stderr so stdout stays machine-readable; a report is written whole or not
at all.

This module is the entry point (``run``) and the command group; the commands live in
``cli_check.py`` (``check``) and ``cli_graph.py`` (``graph``, ``trace``), what they share in
``cli_settings.py`` (root, config, settings, files) and ``cli_output.py`` (guarded streams,
whole reports, exit codes); ``rules`` and ``explain`` are small enough to stay here.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

import click

from . import __version__
from .cli_check import check
from .cli_graph import graph_cmd, trace_cmd
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
    write_whole,
)


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
        out, err = guard_streams()
        try:
            return super().invoke(ctx)
        except OutputError as exc:
            report_output_error(exc, out, err)
            raise SystemExit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            say(err, "istio-vm-lint: interrupted")
            raise SystemExit(EXIT_INTERRUPTED) from None
        finally:
            sys.stdout, sys.stderr = out, err


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="istio-vm-lint")
def main() -> None:
    """Offline linter for Istio mesh config with VMs (ServiceEntry, WorkloadEntry, WorkloadGroup).

    Run `istio-vm-lint PATH...` (same as `istio-vm-lint check PATH...`).
    """


main.add_command(check)
main.add_command(graph_cmd)
main.add_command(trace_cmd)


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


def run() -> None:
    """Console-script entry point: ``main`` plus a fast exit.

    After the report is written and flushed, the interpreter's teardown (freeing every parsed
    document, graph node and module) is pure overhead for a one-shot CLI: 0.17 s at 5,000
    resources, 1.4 s at 50,000 (benchmarks/README.md).  ``os._exit`` skips it.  Tests call
    ``main`` itself, which exits normally.
    """
    reserve_standard_fds()
    # Guarded here too for what click writes before a command runs (--help, --version, usage).
    out, err = guard_streams()
    code = 0
    try:
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
    main()
