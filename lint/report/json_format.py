"""JSON report, contract version 1 (see README "JSON output")."""

from __future__ import annotations

from ..findings import Finding
from . import ReportContext, dumps_json, summary


def render(findings: list[Finding], ctx: ReportContext) -> str:
    doc = {"version": 1, "findings": [f.as_dict() for f in findings], "summary": summary(findings, ctx)}
    return dumps_json(doc)
