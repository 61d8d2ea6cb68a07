"""Output formats.  Each module exposes ``render(findings, ctx) -> str``; all of them write
only to the string they return (the CLI prints it to stdout), so stdout stays parseable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..findings import Finding

FORMATS = ("text", "json", "sarif", "github")


@dataclass
class ReportContext:
    files: int = 0
    resources: int = 0
    color: bool = False
    rules: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def summary(findings: list[Finding], ctx: ReportContext) -> dict[str, Any]:
    by_sev = {"error": 0, "warning": 0, "info": 0}
    by_code: dict[str, int] = {}
    for f in findings:
        by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
        by_code[f.code] = by_code.get(f.code, 0) + 1
    return {"files": ctx.files, "resources": ctx.resources, "findings": len(findings),
            "by_severity": by_sev, "by_code": dict(sorted(by_code.items())), **ctx.extra}


def renderer(fmt: str) -> Callable[[list[Finding], ReportContext], str]:
    import importlib

    module = importlib.import_module(f"{__name__}.{fmt}_format")
    return module.render  # type: ignore[no-any-return]
