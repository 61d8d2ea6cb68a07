"""``path:line:col: CODE [severity] message`` — one line per finding, grep- and editor-friendly."""

from __future__ import annotations

from ..findings import Finding
from . import ReportContext, one_line, summary

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_RESET = "\033[0m"


def render(findings: list[Finding], ctx: ReportContext) -> str:
    lines = []
    for f in findings:
        sev = f"[{f.severity}]"
        code = f.code
        if ctx.color:
            sev = f"{_COLORS[f.severity]}{sev}{_RESET}"
            code = f"\033[1m{code}{_RESET}"
        lines.append(f"{one_line(f.location.file)}:{f.location.line}:{f.location.column}: {code} {sev} "
                     f"{one_line(f.message + f.cause_note())}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_summary(findings: list[Finding], ctx: ReportContext) -> str:
    s = summary(findings, ctx)
    sev = s["by_severity"]
    if not findings:
        return f"No problems found in {s['resources']} resources ({s['files']} files).\n"
    caused = sum(1 for f in findings if f.caused_by is not None)
    elsewhere = f"; {caused} of them in other files, caused by the change" if caused else ""
    return (f"Found {len(findings)} problem(s): {sev['error']} error(s), {sev['warning']} warning(s), "
            f"{sev['info']} info, in {s['resources']} resources ({s['files']} files){elsewhere}.\n")
