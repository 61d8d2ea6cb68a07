"""Inline kustomize patches (``patches: [{patch: |- ...}]``): located where they are written.

An inline patch is a block scalar inside the kustomization file, so its fields are not nodes
of the kustomization document.  Each one becomes a position source of its own: the file's
text with every line blanked except the block's, which keep their indentation, so that the
patch parses as a YAML document whose line and column numbers are those of the
kustomization file (a document's root may be indented).  A finding on a field the patch sets
is then reported on the patch's line in the kustomization, like one in a patch file.
"""

from __future__ import annotations

from typing import Any, Optional

from ..loader import PositionIndex, load_documents
from ..model import SourceFile


def _block_lines(raw: bytes, key_line: int) -> Optional[tuple[int, int]]:
    """(first, last) 1-based lines of the literal block scalar whose key is on ``key_line``."""
    lines = raw.split(b"\n")
    if not 1 <= key_line <= len(lines):
        return None
    head = lines[key_line - 1].rstrip(b"\r")
    stripped = head.strip()
    if stripped.startswith(b"- ") and b":" not in stripped:
        indicator = stripped[2:].split(b"#", 1)[0].strip()  # a sequence item: `- |`
    else:
        indicator = head.partition(b":")[2].split(b"#", 1)[0].strip()
    if not indicator.startswith(b"|"):
        return None  # a quoted or folded scalar: lines do not map one to one
    key_indent = len(head) - len(head.lstrip())
    first = key_line + 1
    content_indent: Optional[int] = None
    last = key_line
    for n in range(first, len(lines) + 1):
        text = lines[n - 1].rstrip(b"\r")
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip(b" "))
        if content_indent is None:
            if indent <= key_indent:
                return None
            content_indent = indent
        elif indent < content_indent:
            break
        last = n
    return (first, last) if content_indent is not None else None


def _one_line(raw: bytes, key_line: int, value: Optional[str]) -> Optional[bytes]:
    """A one-line value (``patch: '[{"op": "add", ...}]'``) placed at its line and column: its
    positions are those of the kustomization, escapes aside."""
    lines = raw.split(b"\n")
    if value is None or "\n" in value or not 1 <= key_line <= len(lines):
        return None
    head = lines[key_line - 1].rstrip(b"\r")
    rest = head.partition(b":")[2].lstrip(b" ")
    if not rest or rest[:1] in (b"|", b">"):
        return None
    column = len(head) - len(rest) + (1 if rest[:1] in (b"'", b'"') else 0)
    return b"\n" * (key_line - 1) + b" " * column + value.encode() + b"\n"


def inline_patch_source(src: SourceFile, key_line: int,
                        value: Optional[str] = None) -> Optional[tuple[SourceFile, int, Any]]:
    """A position source for the inline patch whose ``patch:`` key is on ``key_line`` of the
    kustomization ``src``, its document index and the patch's parsed data (one document); None
    when it cannot be mapped line for line.  ``value``: the patch text, for a one-line value."""
    raw = src.raw
    if raw is None:
        return None
    span = _block_lines(raw, key_line)
    if span is None:
        text = _one_line(raw, key_line, value)
        if text is None:
            return None
    else:
        first, last = span
        lines = raw.split(b"\n")
        text = b"\n" * (first - 1) + b"\n".join(lines[first - 1:last]) + b"\n"
    result, _ = load_documents(text)
    docs = [d for d in result.documents if d.data is not None]
    if len(docs) != 1:
        return None
    return SourceFile(src.path, src.real_path, PositionIndex(text), src.report, None), docs[0].index, docs[0].data
