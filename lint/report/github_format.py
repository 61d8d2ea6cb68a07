"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` per finding.

GitHub shows only 10 error and 10 warning annotations per step and 50 per job and drops
the rest silently (GitHub Actions' annotation limits; adrienverge/yamllint#573), so when
there are more, a ``::notice`` saying how many are hidden is printed *first* (annotations
are displayed in order, so a final notice would itself be cut) and the CLI repeats it on
stderr.  The log keeps every line.

Escaping follows the Actions toolkit: in the message ``%``, ``\\r`` and ``\\n`` become
``%25``, ``%0D`` and ``%0A``; property values additionally escape ``:`` and ``,``.
"""

from __future__ import annotations

from ..config import root_relative
from ..findings import Finding
from . import ReportContext, one_line

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
# Display limits of GitHub annotations (actions/toolkit#734).
PER_STEP = {"error": 10, "warning": 10}
PER_JOB = 50


def escape_data(text: str) -> str:
    """Toolkit escaping; other line separators (\\u2028, \\x0b …) are shown as escapes."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return one_line(text)


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def overflow(findings: list[Finding]) -> int:
    """How many annotations GitHub will not show (an estimate: limits are per step/job)."""
    counts = {"error": 0, "warning": 0, "notice": 0}
    for f in findings:
        counts[COMMANDS[f.severity]] += 1
    hidden_step = sum(max(0, counts[k] - n) for k, n in PER_STEP.items())
    return max(hidden_step, max(0, len(findings) - PER_JOB))


def overflow_message(findings: list[Finding]) -> str:
    hidden = overflow(findings)
    if not hidden:
        return ""
    return (f"istio-vm-lint reported {len(findings)} findings; GitHub shows at most 10 error and 10 warning "
            f"annotations per step (50 per job), so about {hidden} are not shown as annotations. All are in "
            "this log; upload `--format sarif` to code scanning to see every one.")


def render(findings: list[Finding], ctx: ReportContext) -> str:
    lines = []
    note = overflow_message(findings)
    if note:
        lines.append(f"::notice title=istio-vm-lint::{escape_data(note)}")
    for f in findings:
        path = root_relative(f.location.file, ctx.root)
        props = [f"file={escape_property(path)}", f"line={f.location.line}", f"col={f.location.column}",
                 f"title={escape_property(f'{f.code} {f.rule}')}"]
        message = f.message + f.cause_note()
        for rel in f.related:
            what = f" ({rel.resource})" if rel.resource else ""
            message += f"\nrelated: {root_relative(rel.location.file, ctx.root)}:{rel.location.line}{what}"
        lines.append(f"::{COMMANDS[f.severity]} {','.join(props)}::{escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")
