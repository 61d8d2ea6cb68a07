"""The command group (``check`` is the default subcommand), ``rules`` and ``explain``.

``lint/cli.py`` is the entry point (``run``) and imports this module only when a command has
to be parsed; the commands live in ``cli_check.py`` (``check``) and ``cli_graph.py``
(``graph``, ``trace``), what they share in ``cli_settings.py`` and ``cli_output.py``.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import click

from . import __version__
from .cli_check_command import check
from .cli_graph import graph_cmd, trace_cmd
from .cli_output import EXIT_ERROR, guarded, write_whole


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
        return guarded(lambda: super(DefaultGroup, self).invoke(ctx))


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
