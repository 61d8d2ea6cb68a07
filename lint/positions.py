"""Positions of fields in a file, for locating findings: :class:`PositionIndex`, built lazily
by parsing again (``load_documents`` with ``record_positions``) only the documents findings
point into."""

from __future__ import annotations

import itertools
from typing import Any, Optional, Union

from .findings import FieldPath


class PositionIndex:
    """Lazily built ``(doc_index, path) -> (line, column)`` lookup for one file.

    Only the documents findings point into are indexed: the engine announces them with
    :meth:`want` before asking, so a file is parsed again once for all of its findings, and
    a 50-document file with one finding keeps one document's positions, not fifty.  A
    lookup nobody announced still works; the second time one misses, the whole file is
    indexed, so a file is never parsed more than twice however its lookups arrive (one
    parse per document would be quadratic in a file of thousands of documents).

    A document announced with a ``hint`` (where its root node is, and the data read from it)
    is parsed alone, from its root's line on, when the file allows it (:meth:`_alone`);
    otherwise, or when that parse does not give back the same root and data, the file is
    parsed from its start as above.
    """

    def __init__(self, raw: Union[bytes, str, None]) -> None:
        self._raw = raw
        self._docs: dict[int, dict[FieldPath, tuple[int, int]]] = {}
        self._pending: set[int] = set()
        self._complete = False  # every document is indexed
        self._parses = 0
        self._hints: dict[int, Hint] = {}
        # Set by project.add_documents: the file loaded without errors (every document read).
        self.clean = False
        self._sliceable: Optional[bool] = None  # decided on first use (see _alone)
        self._slices = 0  # documents parsed alone so far (at most MAX_ALONE)

    def want(self, doc_index: int, hint: Optional[Hint] = None) -> None:
        """Index ``doc_index`` along with the next document that is looked up."""
        if doc_index not in self._docs:
            self._pending.add(doc_index)
            if hint is not None:
                self._hints[doc_index] = hint

    def lookup(self, doc_index: int, path: FieldPath) -> Optional[tuple[int, int]]:
        """Position of ``path``, or of its nearest ancestor that exists in the file."""
        return self.lookup_depth(doc_index, path)[0]

    def lookup_depth(self, doc_index: int, path: FieldPath,
                     hint: Optional[Hint] = None) -> tuple[Optional[tuple[int, int]], int]:
        """Like :meth:`lookup`, with the length of the part of ``path`` that was found (-1 when
        the document has no positions at all)."""
        doc = self._docs.get(doc_index)
        if doc is None and not self._complete:
            if hint is not None:
                self._hints.setdefault(doc_index, hint)
            wanted = self._pending | {doc_index}
            self._pending = set()
            hints = {i: h for i in wanted if (h := self._hints.pop(i, None)) is not None}
            if hints and self._slices + len(hints) <= MAX_ALONE:
                # a few documents: each parsed alone; many: the file once, as below
                self._slices += len(hints)
                for i, alone in self._alone(hints).items():
                    self._docs[i] = alone
                    wanted.discard(i)
            if wanted:
                idx: Optional[dict[int, dict[FieldPath, tuple[int, int]]]] = None
                if self._raw is not None:
                    everything = self._parses > 0
                    from . import loader  # (not at import time: loader.py re-exports this module)

                    _, idx = loader.load_documents(self._raw, record_positions=True if everything else wanted)
                    self._parses += 1
                    if everything:
                        self._docs.update(idx or {})
                        self._complete = True
                for i in wanted:
                    self._docs[i] = (idx or {}).get(i) or {}
            doc = self._docs[doc_index]
        if not doc:
            return None, -1
        p = tuple(path)
        while p:
            hit = doc.get(p)
            if hit is not None:
                return hit, len(p)
            p = p[:-1]
        return None, 0

    def _alone(self, hints: dict[int, Hint]) -> dict[int, dict[FieldPath, tuple[int, int]]]:
        """The positions of the hinted documents that could be parsed alone, each from its root's
        line (the others are left to a parse of the file).

        Only in a file that loaded without errors (no document was cut short, so an alias
        budget or a broken document before this one changes nothing) and that has no
        directive (a ``%TAG`` changes what a tag means), no anchor (no alias can reach across)
        and no break but CR and LF; and only when the parse gives the same root position and
        the same data as the load did: then the document's events are those of the file."""
        out: dict[int, dict[FieldPath, tuple[int, int]]] = {}
        if not self.clean or self._raw is None or self._sliceable is False:
            return out
        from .loader import _BREAK_RE, _decode

        text = _decode(self._raw)
        if text[:1] == "\ufeff":
            text = text[1:]
        if self._sliceable is None:
            self._sliceable = not ("&" in text or "\x85" in text or "\u2028" in text or "\u2029" in text
                                   or text[:1] == "%" or "\n%" in text or "\r%" in text)
            if not self._sliceable:
                return out
        # where each root line starts, in one scan (the text is neither kept nor indexed: memory)
        lines = sorted({h[0] for h in hints.values() if h[0] >= 1})
        starts: dict[int, int] = {1: 0} if lines and lines[0] == 1 else {}
        todo = [n for n in lines if n > 1]
        if todo and "\r" not in text:
            # (the usual case: every break is a LF, the other breaks are excluded above)
            ends = list(itertools.accumulate(len(part) + 1 for part in text.split("\n", todo[-1] - 1)))
            starts.update((n, ends[n - 2]) for n in todo if n - 2 < len(ends) - 1)
        elif todo:
            k = 0
            for n, m in enumerate(_BREAK_RE.finditer(text), 2):
                if n == todo[k]:
                    starts[n] = m.end()
                    k += 1
                    if k == len(todo):
                        break
        for i, (line, column, base, data) in hints.items():
            if line in starts:
                positions = _parse_alone(text[starts[line]:], line, column, base, data)
                if positions is not None:
                    out[i] = positions
        return out


def _parse_alone(text: str, line: int, column: int, base: FieldPath,
                 data: Any) -> Optional[dict[FieldPath, tuple[int, int]]]:
    """Positions of the first document of ``text`` (a file from line ``line`` on), shifted to
    the file's lines, when its root is at ``column`` and it reads as ``data`` at ``base``."""
    from . import loader

    result, idx = loader.load_documents(text, record_positions={0})
    if result.errors or not result.documents or idx is None or 0 not in idx:
        return None
    doc = result.documents[0]
    if doc.index != 0 or doc.line != 1 or doc.column != column:
        return None
    got: Any = doc.data
    for part in base:  # the resource inside its document (an item of a List)
        found = (isinstance(got, list) and isinstance(part, int) and 0 <= part < len(got)) or \
            (isinstance(got, dict) and part in got)
        if not found:
            return None
        got = got[part]
    if got != data:
        return None
    shift = line - 1
    return {p: (ln + shift, col) for p, (ln, col) in idx[0].items()}


# At most this many documents of one file are parsed alone; more are cheaper in one parse.
MAX_ALONE = 4

# (root line, root column, path of the resource in its document, its data): see PositionIndex
Hint = tuple[int, int, FieldPath, Any]
