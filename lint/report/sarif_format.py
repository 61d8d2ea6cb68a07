"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Follows the OASIS SARIF 2.1.0 specification and GitHub code scanning's upload rules (the
GH1xxx/GH2xxx checks of microsoft/sarif-sdk's validator): every rule carries short/full
descriptions and help (GH2012), every result has a relative URI and a 1-based start line/column
(GH1001/GH1003/GH1005), the other end of a broken edge goes to ``relatedLocations`` (one
``location`` per result, as the spec intends), and ``partialFingerprints`` carry the
line-independent :attr:`Finding.fingerprint` so alerts do not reopen when lines shift.
Validated against the OASIS schema in ``tests/data/sarif-schema-2.1.0.json``.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Optional
from urllib.parse import quote

from .. import __version__
from ..config import root_relative
from ..findings import Finding, Location
from . import ReportContext, documentation, dumps_json, rule_help_markdown, rule_help_text

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "istioVmLint/v1"
SRCROOT = "%SRCROOT%"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _uri(path: str, root: Optional[str]) -> tuple[str, bool]:
    """A relative URI of the real file name, percent-encoded (RFC 3986: every byte but the
    unreserved characters and ``/``, so a newline is ``%0A`` and a byte that is not UTF-8
    is itself, ``%E9``), and whether it is relative to the root."""
    rel = root_relative(path, root)
    under_root = root is not None and not os.path.isabs(rel) and not rel.startswith("<")
    return _quote_path(rel, "/"), under_root


def _quote_path(path: str, safe: str) -> str:
    try:
        raw = os.fsencode(path)  # the name's bytes, undecodable ones included
    except UnicodeEncodeError:  # pragma: no cover - a surrogate os.fsdecode never produces
        raw = path.encode("utf-8", "surrogatepass")
    return quote(raw, safe=safe)


def _physical(loc: Location, root: Optional[str]) -> dict[str, Any]:
    uri, under_root = _uri(loc.file, root)
    art: dict[str, Any] = {"uri": uri}
    if under_root:
        art["uriBaseId"] = SRCROOT
    return {"artifactLocation": art,
            "region": {"startLine": max(1, loc.line), "startColumn": max(1, loc.column)}}


def _rule_descriptor(r: Any) -> dict[str, Any]:
    tags = ["istio"]
    if r.family:
        tags.append(r.family)
    desc: dict[str, Any] = {
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary or r.name},
        "fullDescription": {"text": r.rationale or r.summary or r.name},
        "help": {"text": rule_help_text(r),
                 "markdown": rule_help_markdown(r, "###") + f"\n### Documentation\n\n{documentation(r)}\n"},
        "defaultConfiguration": {"level": LEVELS.get(r.severity, "warning")},
        "properties": {"tags": tags},
    }
    if r.equivalents:
        desc["properties"]["equivalents"] = list(r.equivalents)
    return desc


def escape_text(text: str) -> str:
    """Message text with literal brackets escaped (SARIF 2.1.0, section 3.11.6), since the text embeds
    ``[text](id)`` links."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def related_text(rel: Any) -> str:
    return str(rel.resource) if rel.resource else rel.message or "related"


def message_text(f: Finding) -> str:
    """The message, with each related location embedded as a ``[text](id)`` link: GitHub
    code scanning shows related locations only when the message links them (SARIF 2.1.0, section 3.11.6)."""
    text = f.message + f.cause_note()
    if not f.related:
        return text
    links = ", ".join(f"[{escape_text(related_text(rel))}]({i})" for i, rel in enumerate(f.related, 1))
    return f"{escape_text(text)} (related: {links})"


def invocation(ctx: ReportContext) -> dict[str, Any]:
    """``executionSuccessful`` is false whenever the run exits 2 (missing path, unreadable
    directory, a rule crash), with the reasons as tool execution notifications."""
    notes = list(ctx.errors)
    if ctx.internal_errors and not any("internal error" in n for n in notes):
        notes.append(f"{ctx.internal_errors} rule(s) crashed (reported as IVL000)")
    inv: dict[str, Any] = {"executionSuccessful": not notes}
    if notes:
        inv["toolExecutionNotifications"] = [{"level": "error", "message": {"text": n}} for n in notes]
    return inv


def render(findings: list[Finding], ctx: ReportContext) -> str:
    rules = dict(ctx.rules)
    # Findings of codes without metadata (should not happen) still get a minimal descriptor.
    descriptors = [_rule_descriptor(r) for r in rules.values()]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    for f in findings:
        if f.code not in index:
            index[f.code] = len(descriptors)
            descriptors.append({"id": f.code, "name": f.rule, "shortDescription": {"text": f.rule},
                                "fullDescription": {"text": f.rule}, "help": {"text": f.rule}})
    seen: Counter[str] = Counter()
    results = []
    for f in findings:
        seen[f.fingerprint] += 1
        # Unique per run: GitHub treats equal fingerprints in one upload as one alert.
        fp = f.fingerprint if seen[f.fingerprint] == 1 else f"{f.fingerprint}:{seen[f.fingerprint]}"
        location: dict[str, Any] = {"physicalLocation": _physical(f.location, ctx.root)}
        if f.resource is not None:
            location["logicalLocations"] = [{
                "name": f.resource.name,
                "fullyQualifiedName": f"{f.resource.kind}/{f.resource.namespace}/{f.resource.name}",
                "kind": "resource",
            }]
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVELS.get(f.severity, "warning"),
            "message": {"text": message_text(f)},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT_KEY: fp},
        }
        if f.related:
            result["relatedLocations"] = [
                {"id": i, "physicalLocation": _physical(rel.location, ctx.root),
                 "message": {"text": related_text(rel)}}
                for i, rel in enumerate(f.related, 1)]
        props: dict[str, Any] = {}
        if f.field:
            props["field"] = f.field
        if f.resource is not None:
            props["resource"] = f.resource.as_dict()
        if f.caused_by is not None:
            props["causedBy"] = f.caused_by.as_dict()
        if props:
            result["properties"] = props
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "istio-vm-lint", "version": __version__, "rules": descriptors}},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "invocations": [invocation(ctx)],
    }
    if ctx.root:
        root_uri = "file://" + _quote_path(os.path.abspath(ctx.root).replace(os.sep, "/").rstrip("/") + "/", "/:")
        if not root_uri.startswith("file:///"):  # Windows drive letters
            root_uri = "file:///" + root_uri[len("file://"):]
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root_uri}}
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return dumps_json(doc)
