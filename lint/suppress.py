"""Suppressions: comment directives, resource annotations and ``per-file-ignores``.

Applied by the engine *after* findings are made, so rules never need to know about them and
the unused-suppression check (IVL009) can tell which directives did something.

Comment directives are read from the raw file text because the YAML loader drops comments
(``SourceFile.raw``).  Forms (codes are codes or prefixes; none means every code)::

    key: value  # istio-vm-lint: disable=IVL101,IVL2 -- reason     (this line)
    # istio-vm-lint: disable=IVL101 -- reason                       (the next content line)
    key: value

    # istio-vm-lint: disable=IVL101      <- before the first content line of a document,
    apiVersion: networking.istio.io/v1      on its ``---`` line, or trailing on its first
    ...                                     content line: the whole document
    # istio-vm-lint: disable-file=IVL5   <- anywhere: the whole file

Annotations (they survive Kustomize/Helm round-trips that lose comments)::

    metadata:
      annotations:
        istio-vm-lint.io/ignore: "IVL101,IVL203"
        galley.istio.io/analyze-suppress: "IST0101"   # istioctl's; applies to rules whose
                                                      # ``equivalents`` name that IST code
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional

from .config import match_length, root_relative
from .discover import excluded
from .findings import Finding, Location, ResourceRef

if TYPE_CHECKING:  # pragma: no cover
    from .config import Settings
    from .project import Project
    from .rule import Rule

ANNOTATION = "istio-vm-lint.io/ignore"
ISTIO_ANNOTATION = "galley.istio.io/analyze-suppress"
MARKER = b"istio-vm-lint:"

# A YAML comment starts at '#' preceded by whitespace or the line start.
_DIRECTIVE_RE = re.compile(
    r"(?:^|\s)#\s*istio-vm-lint:\s*(?P<kind>disable-file|disable)\b"
    r"(?:\s*=\s*(?P<codes>[A-Za-z0-9_*]+(?:\s*,\s*[A-Za-z0-9_*]+)*))?"
    r"\s*(?:--\s*(?P<reason>.*?))?\s*$")
_DOC_MARKER_RE = re.compile(r"^(---|\.\.\.)(\s|$)")


@dataclass
class Directive:
    """One suppression and what it covers.  ``codes`` empty = every code."""

    file: str  # display path of the file it is in
    line: int  # where the directive itself is (for IVL009)
    column: int
    codes: tuple[str, ...]
    scope: str  # "line" | "document" | "file" | "resource"
    first: int = 0  # covered line range (line/document scope), inclusive
    last: int = 0
    resource: Optional[ResourceRef] = None  # "resource" scope
    istio: bool = False  # galley annotation: codes are IST codes
    reason: str = ""
    used: set[str] = field(default_factory=set)  # codes that hid something ("*" when codes empty)
    # Resolves the exact position lazily (annotations): only IVL009 needs it, and resolving
    # re-parses the file for positions, which clean runs should not pay for.
    locate: Optional[Callable[[], Location]] = field(default=None, repr=False, compare=False)

    def covers(self, f: Finding) -> bool:
        if f.location.file != self.file:
            return False
        if self.scope == "file":
            return True
        if self.scope == "resource":
            return f.resource == self.resource
        return self.first <= f.location.line <= self.last

    def matching_code(self, f: Finding, rules: Mapping[str, "Rule"]) -> Optional[str]:
        """The entry of ``codes`` that matches ``f`` (``*`` when all codes), else None."""
        if not self.codes:
            return "*"
        if self.istio:
            r = rules.get(f.code)
            ist = {e.split(":", 1)[0] for e in (r.equivalents if r else ())}
            for c in self.codes:
                if c == "*" or c in ist:
                    return c
            return None
        best, hit = 0, None
        for c in self.codes:
            n = match_length(f.code, (c,)) if c != "*" else 1
            if n > best:
                best, hit = n, c
        return hit


def _split_codes(value: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in value.split(",") if c.strip())


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8"))


def file_text(raw: bytes) -> str:
    """The text of a file for reading comments: the encoding its byte-order mark names
    (UTF-32 before UTF-16, whose mark is a prefix of UTF-32LE's), else UTF-8; lossy."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom):].decode(encoding, "replace")
    return raw.decode("utf-8", "replace")


def parse_comments(path: str, raw: Optional[bytes]) -> list[Directive]:
    """Every comment directive in one file, with the lines it covers.

    Comments are read in the file's own encoding: a UTF-16 file (which the API server and
    the loader read) is suppressed exactly like its UTF-8 twin."""
    if not raw:
        return []
    if MARKER not in raw and raw[:2] not in (b"\xff\xfe", b"\xfe\xff") and raw[:4] != b"\x00\x00\xfe\xff":
        return []  # fast path: no directive in a UTF-8 file
    text = file_text(raw)
    if "istio-vm-lint:" not in text:
        return []
    lines = text.splitlines()
    docs = _document_ranges(lines)
    doc_of: dict[int, tuple[int, int, int]] = {}
    for span in docs:
        for n in range(span[0], span[1] + 1):
            doc_of[n] = span

    out: list[Directive] = []
    for i, line in enumerate(lines, 1):
        if "istio-vm-lint:" not in line:
            continue
        m = _DIRECTIVE_RE.search(line)
        if not m:
            continue
        hash_col = line.index("#", m.start()) + 1
        before = line[:hash_col - 1].strip()
        d = Directive(path, i, hash_col, _split_codes(m.group("codes") or ""), "line",
                      reason=(m.group("reason") or "").strip())
        first, last, content = doc_of.get(i, (1, len(lines), 0))
        if m.group("kind") == "disable-file":
            d.scope = "file"
        elif (_DOC_MARKER_RE.match(before) or (not before and (content == 0 or i < content))
              or (before and i == content)):
            # On the '---' line, in the header before the first content line, or trailing on
            # the first content line: the whole document.
            d.scope, d.first, d.last = "document", first, last
        elif before:
            d.first = d.last = i
        else:
            # Alone on its line: the next line that is not blank or a comment, so several
            # directives can be stacked above one line.
            j = i + 1
            while j <= len(lines) and (not lines[j - 1].strip() or lines[j - 1].lstrip().startswith("#")):
                j += 1
            d.first = d.last = j
        out.append(d)
    return out


def _document_ranges(lines: list[str]) -> list[tuple[int, int, int]]:
    """``(first line, last line, first content line or 0)`` per YAML document of a file.

    Split at ``---``/``...`` lines; a segment with no content (a comment header above the
    first ``---``) is merged into the document that follows, so a directive written there
    covers that document.  A ``---`` at column 0 inside a block scalar is impossible in the
    mapping documents we lint, so a text scan is enough.
    """
    segs: list[list[int]] = [[1, len(lines), 0]]
    for i, line in enumerate(lines, 1):
        if _DOC_MARKER_RE.match(line):
            if i > segs[-1][0]:
                segs[-1][1] = i - 1
                segs.append([i, len(lines), 0])
            continue
        stripped = line.strip()
        if not segs[-1][2] and stripped and not stripped.startswith(("#", "%")):
            segs[-1][2] = i
    merged: list[list[int]] = []
    pending: Optional[int] = None
    for seg in segs:
        if seg[2] == 0 and seg is not segs[-1]:
            pending = seg[0] if pending is None else pending
            continue
        if pending is not None:
            seg = [pending, seg[1], seg[2]]
            pending = None
        merged.append(seg)
    return [(a, b, c) for a, b, c in merged]


def annotation_directives(project: "Project", files: Optional[set[str]] = None) -> list[Directive]:
    """``istio-vm-lint.io/ignore`` and ``galley.istio.io/analyze-suppress`` on resources (of the
    files with these paths, when given: a named-file run reads no context file's annotations)."""
    out: list[Directive] = []
    for res in project.resources:
        if files is not None and res.source.path not in files:
            continue
        ann = res.annotations
        if not ann:
            continue
        for key, istio in ((ANNOTATION, False), (ISTIO_ANNOTATION, True)):
            value = ann.get(key)
            if value is None:
                continue
            codes = _split_codes(value)
            if not codes:
                continue  # an empty value suppresses nothing rather than everything
            path = ("metadata", "annotations", key)
            out.append(Directive(res.source.path, res.line, res.column, codes, "resource", resource=res.ref,
                                 istio=istio, locate=lambda res=res, path=path: project.location(res, path)))  # type: ignore[misc]
    return out


def collect(project: "Project", also: Iterable[str] = ()) -> list[Directive]:
    """All directives of the files that are reported on, and of the context files in ``also``
    (files of findings a change to the named files caused); other context files cannot hide
    anything that is reported."""
    out: list[Directive] = []
    reported: set[str] = set()
    extra = set(also)
    for src in project.files:
        if src.report or src.path in extra:
            reported.add(src.path)
            out.extend(parse_comments(src.path, src.raw))
    out.extend(annotation_directives(project, reported))
    return out


def per_file_ignored(f: Finding, settings: "Settings") -> bool:
    """True when ``per-file-ignores`` has a glob matching the finding's file and code."""
    if not settings.per_file_ignores:
        return False
    rel = root_relative(f.location.file, settings.root)
    for glob, sels in settings.per_file_ignores.items():
        if match_length(f.code, sels) and excluded(rel, (glob,)):
            return True
    return False


@dataclass
class Applied:
    """The findings suppressions left, how many they hid, and the directives."""

    kept: list[Finding]
    suppressed: int
    directives: list[Directive]


def apply(findings: Iterable[Finding], project: "Project", settings: "Settings",
          rules: Mapping[str, "Rule"]) -> Applied:
    """Drop findings hidden by per-file-ignores, comments or annotations; mark directives used.

    ``directives`` of the result are those of the reported files only (a context file's
    suppression that hid nothing in this run is not this run's business)."""
    findings = list(findings)
    caused_files = {f.location.file for f in findings if f.caused_by is not None}
    directives = collect(project, caused_files)
    by_file: dict[str, list[Directive]] = {}
    for d in directives:
        by_file.setdefault(d.file, []).append(d)
    kept: list[Finding] = []
    hidden = 0
    for f in findings:
        if f.code == "IVL000":  # a crash is never hidden
            kept.append(f)
            continue
        if per_file_ignored(f, settings):
            hidden += 1
            continue
        hit = False
        for d in by_file.get(f.location.file, ()):
            if d.covers(f):
                c = d.matching_code(f, rules)
                if c is not None:
                    d.used.add(c)
                    hit = True
        if hit:
            hidden += 1
        else:
            kept.append(f)
    if caused_files:
        reported = {src.path for src in project.files if src.report}
        directives = [d for d in directives if d.file in reported]
    return Applied(kept, hidden, directives)


def unused(directives: Iterable[Directive], rules: Mapping[str, "Rule"],
           selected: Callable[[str], bool]) -> list[tuple[Directive, str]]:
    """``(directive, message)`` for each directive (or code in it) that hid nothing.

    Codes of rules that were not selected are not reported: the directive may well be
    needed when the full rule set runs.  istioctl's annotation is never reported — it is
    mainly there for istioctl.
    """
    out: list[tuple[Directive, str]] = []
    for d in directives:
        if d.istio:
            continue
        where = {"line": "line", "document": "document", "file": "file",
                 "resource": "resource"}[d.scope]
        if not d.codes:
            if not d.used:
                out.append((d, f"suppression (all codes, {where} scope) hides no finding; remove it"))
            continue
        for c in d.codes:
            if c in d.used:
                continue
            known = list(rules) if c in ("*", "ALL") else [code for code in rules if match_length(code, (c,))]
            if not known:
                out.append((d, f"suppression names '{c}', which is not a rule code or prefix"))
            elif any(selected(code) for code in known):
                out.append((d, f"suppression of {c} ({where} scope) hides no finding; remove it"))
    return out


def unused_location(d: Directive) -> Location:
    if d.locate is not None:
        loc = d.locate()
        d.line, d.column, d.locate = loc.line, loc.column, None
    return Location(d.file, d.line, d.column)
