"""Output formats.  Each module exposes ``render(findings, ctx) -> str``; all of them write
only to the string they return (the CLI prints it to stdout), so stdout stays parseable."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from ..findings import Finding

FORMATS = ("text", "json", "sarif", "github")


@dataclass
class ReportContext:
    """What a report needs besides the findings."""

    files: int = 0
    resources: int = 0
    color: bool = False
    rules: Mapping[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # Repository root: SARIF URIs and GitHub annotation paths are relative to it, because
    # code scanning matches alerts across runs by path and the checkout dir varies.
    root: Optional[str] = None
    internal_errors: int = 0
    # Why the run failed (exit 2) although it produced a report: missing paths, unreadable
    # directories.  SARIF says executionSuccessful: false with these as notifications.
    errors: list[str] = field(default_factory=list)


# Everything str.splitlines() breaks on, plus other control characters (tab is kept), and
# lone surrogates: the bytes of a file name that are not UTF-8 (os.fsdecode), which no
# output encoding can write.  Compiled on first use (re's cache), not by every run.
_UNPRINTABLE = "[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]"
_SURROGATE = "[\ud800-\udfff]"


def _escape(ch: str) -> str:
    if "\udc80" <= ch <= "\udcff":  # an undecodable byte of a file name
        return f"\\x{ord(ch) - 0xdc00:02x}"
    return repr(ch)[1:-1]


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters shown as escapes (``\\n``), and
    bytes of a file name that are not UTF-8 as ``\\xNN``.

    Messages quote user data (keys, names, file names) verbatim, and one of those containing
    a newline would otherwise split a finding over two lines of a line-oriented format.
    Only the line-oriented formats (text, GitHub) escape; JSON and SARIF carry the real
    text (see :func:`dumps_json`).
    """
    return re.sub(_UNPRINTABLE, lambda m: _escape(m.group()), text)


def dumps_json(doc: Any) -> str:
    """``doc`` as indented JSON text that carries every string exactly.

    Non-ASCII text stays readable (``ensure_ascii=False``); a lone surrogate (a byte of a
    file name that is not UTF-8, decoded by ``os.fsdecode``) cannot be encoded as UTF-8,
    so it is written as its ``\\udcNN`` escape, which JSON allows: a reader gets the same
    string back, and ``os.fsencode`` of it the file name's bytes.
    """
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return re.sub(_SURROGATE, lambda m: f"\\u{ord(m.group()):04x}", text)


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


def rule_help_text(r: Any) -> str:
    """Long help of a rule as plain text (``explain``, SARIF ``help.text``)."""
    sev = f"{r.severity}, lower when the repository cannot know" if getattr(r, "severity_note", "") else r.severity
    parts = [f"{r.code} {r.name} [{sev}]", "", "## What it does", r.summary, "",
             "## Why is this bad?", r.rationale, "", "## Example", r.bad, "", "## Use instead", r.good]
    if getattr(r, "severity_note", ""):
        parts += ["", "## Severity", r.severity_note]
    if r.inputs:
        parts += ["", "## Reads", ", ".join(r.inputs)]
    if r.equivalents:
        parts += ["", "## Equivalent checks", ", ".join(r.equivalents)]
    if r.references:
        parts += ["", "## References", *r.references]
    parts += ["", "## Documentation", documentation(r)]
    return "\n".join(parts) + "\n"


def rule_doc_anchor(r: Any) -> str:
    """``docs/rules.md#ivl501-destination-host-not-found`` (GitHub's heading anchor)."""
    return f"docs/rules.md#{r.code.lower()}-{r.name}"


def documentation(r: Any) -> str:
    """Where a user reads more: files of the istio-vm-lint repository (the one the pre-commit
    hook and `pip install` come from), never development-time material."""
    return (f"This rule: {rule_doc_anchor(r)}; the Istio behaviour it relies on: the docs/semantics.md sections "
            "cited above; both in the istio-vm-lint repository.")


def rule_help_markdown(r: Any, heading: str = "##") -> str:
    """Long help of a rule as Markdown (SARIF ``help.markdown`` and ``docs/rules.md``)."""
    h = heading
    parts = [f"{h} What it does", "", r.summary, "", f"{h} Why is this bad?", "", r.rationale, "",
             f"{h} Example", "", "```yaml", r.bad, "```", "", f"{h} Use instead", "", "```yaml", r.good, "```"]
    if getattr(r, "severity_note", ""):
        parts += ["", f"{h} Severity", "", r.severity_note]
    if r.inputs:
        parts += ["", f"{h} Reads", "", ", ".join(f"`{k}`" for k in r.inputs)]
    if r.equivalents:
        parts += ["", f"{h} Equivalent checks", "", ", ".join(f"`{e}`" for e in r.equivalents)]
    if r.references:
        parts += ["", f"{h} References", ""] + [f"- {ref}" for ref in r.references]
    return "\n".join(parts) + "\n"
