"""The loader's event walker as it was before the event-tuple walker (tests only).

``tests/test_loader_parity.py`` checks that :mod:`istio_vm_lint.loader` gives exactly what this
walker gave (documents, types, positions, duplicate keys, errors) on generated YAML, every
fixture and the hostile inputs.  It walks ruamel.yaml's event objects, one ``_Frame`` object
per open container; the scalar rules and error messages are the loader's own (unchanged).
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import contextlib
from typing import AbstractSet, Any, Optional, Union

from ruamel.yaml import events as E
from ruamel.yaml.cyaml import CSafeLoader
from ruamel.yaml.error import YAMLError

from istio_vm_lint.findings import FieldPath
from istio_vm_lint.loader import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    _TEMPLATE_MESSAGE,
    Document,
    DocumentTooComplex,
    DuplicateKey,
    LoadResult,
    ParseError,
    ScalarCache,
    _error_from_exception,
    _hashable_key,
    _libyaml_may_be_wrong,
    _line_text,
    _plain,
    _tagged,
)


def _pure_events(raw):
    from ruamel.yaml.main import YAML

    return iter(YAML(typ="safe", pure=True).parse(raw)).__next__


def load_documents(
    raw: Union[bytes, str],
    record_positions: Union[bool, AbstractSet[int]] = False,
    cache: Optional[ScalarCache] = None,
) -> tuple[LoadResult, Optional[dict[int, dict[FieldPath, tuple[int, int]]]]]:
    """Parse every document of one file.

    Returns the documents completed before any error, the errors (at most one per file,
    since libyaml cannot resume after a syntax error), and, when asked, the position index
    of every document: ``{doc_index: {path: (line, column)}}`` with 1-based numbers; a
    mapping entry is located at its key, a sequence item at the item.  ``record_positions``
    may be a set of document indices: only those are indexed, and parsing stops after the
    last of them (locating a finding needs its own document, not the whole file).
    """
    cache = cache or ScalarCache()
    loader = CSafeLoader(raw)
    try:
        result, positions, exc = _load_events(loader.get_event, raw, record_positions, cache)
    finally:
        with contextlib.suppress(Exception):  # best effort
            loader.dispose()  # type: ignore[attr-defined]
    if exc is not None and _libyaml_may_be_wrong(exc, raw):
        # The C parser is libyaml 0.1.7 (ruamel.yaml.clib(z) bundles it), which rejects valid
        # YAML that libyaml >= 0.2.1 and every YAML 1.2 parser accept: a plain scalar with
        # ':' or '?' inside a flow collection (``{tarball: https://...}`` in lockfiles).
        # Such a file is read again with ruamel.yaml's pure-Python parser; only when that
        # one fails too is the (C parser's) error reported.
        pure = _pure_events(raw)
        if pure is not None:
            retry, retry_positions, retry_exc = _load_events(pure, raw, record_positions, cache)
            if retry_exc is None:
                return retry, retry_positions
    return result, positions



class _Frame:
    """One open mapping or sequence.  ``slot`` is its key (or index) in the parent; paths are
    only materialised when a position index is being built or a duplicate key is reported."""

    __slots__ = ("container", "is_map", "key", "has_key", "path", "slot", "anchor", "size",
                 "key_mark", "key_marks", "merges", "line", "column")

    def __init__(self, container: Any, is_map: bool, slot: Any, anchor: Optional[str],
                 path: Optional[FieldPath]) -> None:
        self.container = container
        self.is_map = is_map
        self.key: Any = None
        self.has_key = False
        self.slot = slot
        self.path = path
        self.anchor = anchor
        self.size = 1
        self.key_mark: Any = None
        self.key_marks: Optional[dict[Any, Any]] = None  # key -> start mark of its first occurrence
        self.merges: Optional[list[Any]] = None
        self.line = 0
        self.column = 0


def _path_of(stack: list[_Frame]) -> FieldPath:
    return tuple(f.slot for f in stack[1:])



def _load_events(
    get: Any,
    raw: Union[bytes, str],
    record_positions: Union[bool, AbstractSet[int]],
    cache: ScalarCache,
) -> tuple[LoadResult, Optional[dict[int, dict[FieldPath, tuple[int, int]]]], Optional[BaseException]]:
    """Documents (and positions) from one event stream, and the YAML exception that stopped it."""
    docs: list[Document] = []
    errors: list[ParseError] = []
    failure: Optional[BaseException] = None
    wanted: Optional[AbstractSet[int]] = None
    if record_positions is not True and record_positions:
        wanted = record_positions  # type: ignore[assignment]
    last_wanted = max(wanted) if wanted else -1
    positions: Optional[dict[int, dict[FieldPath, tuple[int, int]]]] = {} if record_positions else None
    alias_budget = [MAX_EXPANDED_NODES]  # expanded alias nodes left for the whole file
    DocumentStartEvent, StreamEndEvent = E.DocumentStartEvent, E.StreamEndEvent
    try:
        while True:
            ev = get()
            t = type(ev)
            if t is StreamEndEvent:
                break
            if t is not DocumentStartEvent:
                continue
            doc_index = len(docs)
            pos: Optional[dict[FieldPath, tuple[int, int]]] = None
            if record_positions and (wanted is None or doc_index in wanted):
                pos = {}
            try:
                data, line, col, dups = _walk_document(get, pos, raw, alias_budget, cache)
            except DocumentTooComplex as exc:
                # One finding per file: later documents of a file this broken are not trusted.
                errors.append(ParseError(exc.line, exc.column, exc.message))
                break
            docs.append(Document(doc_index, data, line, col, dups))
            if positions is not None and pos is not None:
                positions[doc_index] = pos
            if wanted is not None and doc_index >= last_wanted:
                break
    except (YAMLError, UnicodeDecodeError, ValueError, OverflowError) as exc:
        errors.append(_error_from_exception(exc, raw))
        failure = exc
    except StopIteration:  # pragma: no cover - a stream without its end event
        pass
    except RecursionError:
        errors.append(ParseError(1, 1, "YAML nesting too deep to read"))
    return LoadResult(docs, errors), positions, failure



def _walk_document(get: Any, pos: Optional[dict[FieldPath, tuple[int, int]]], raw: Union[bytes, str],
                   alias_budget: Optional[list[int]] = None, cache: Optional[ScalarCache] = None):
    """Build plain data for one document from the event stream (iteratively).

    ``alias_budget`` (a one-item list, shared by the documents of a file) is decremented by
    the expanded size of every alias."""
    if alias_budget is None:
        alias_budget = [MAX_EXPANDED_NODES]
    ScalarEvent, MappingStartEvent, SequenceStartEvent = E.ScalarEvent, E.MappingStartEvent, E.SequenceStartEvent
    MappingEndEvent, SequenceEndEvent, AliasEvent = E.MappingEndEvent, E.SequenceEndEvent, E.AliasEvent
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    # Resolved plain scalars and quoted strings, shared (see ScalarCache).
    cache = cache or ScalarCache()
    plain_cache = cache.plain
    text_cache = cache.text
    dups: list[DuplicateKey] = []
    total = 0
    root: Any = None
    root_line = root_col = 1
    first = True
    while True:
        ev = get()
        t = type(ev)
        size = 1
        if t is ScalarEvent:
            tag = ev.tag
            raw_value = ev.value
            if tag is None:
                if ev.implicit[0] and not ev.style:
                    if raw_value in plain_cache:
                        value = plain_cache[raw_value]
                    else:
                        value = plain_cache[raw_value] = _plain(raw_value)
                else:
                    value = text_cache.setdefault(raw_value, raw_value)
            elif tag == "!":
                value = raw_value
            else:
                value = _tagged(tag, raw_value)
            if ev.anchor is not None:
                anchors[ev.anchor] = (value, 1)
        elif t is MappingStartEvent or t is SequenceStartEvent:
            is_map = t is MappingStartEvent
            depth = len(stack) + 1
            mark = ev.start_mark
            if depth > MAX_DEPTH:
                raise DocumentTooComplex(
                    f"YAML nesting deeper than {MAX_DEPTH} levels; not a Kubernetes resource",
                    mark.line + 1, mark.column + 1)
            if first:
                root_line, root_col, first = mark.line + 1, mark.column + 1, False
            if stack:
                parent = stack[-1]
                slot = parent.key if parent.is_map else len(parent.container)
                if pos is not None:
                    path: Optional[FieldPath] = parent.path + (slot,)  # type: ignore[operator]
                    if not parent.is_map:
                        pos[path] = (mark.line + 1, mark.column + 1)  # type: ignore[index]
                else:
                    path = None
            else:
                slot, path = None, ()
            frame = _Frame({} if is_map else [], is_map, slot, ev.anchor, path)
            frame.line, frame.column = mark.line + 1, mark.column + 1
            stack.append(frame)
            continue
        elif t is MappingEndEvent or t is SequenceEndEvent:
            frame = stack.pop()
            value = frame.container
            container_pos = (frame.line, frame.column)
            size = frame.size
            if frame.merges:
                for merged in frame.merges:
                    for m in (merged if isinstance(merged, list) else [merged]):
                        if isinstance(m, dict):
                            for k, v in m.items():
                                value.setdefault(k, v)
            if frame.anchor is not None:
                anchors[frame.anchor] = (value, size)
        elif t is AliasEvent:
            if ev.anchor not in anchors:
                mark = ev.start_mark
                if any(f.anchor == ev.anchor for f in stack):
                    raise DocumentTooComplex(f"YAML alias *{ev.anchor} refers to a node that contains it "
                                             "(a recursive structure)", mark.line + 1, mark.column + 1)
                raise DocumentTooComplex(f"YAML alias *{ev.anchor} refers to an unknown anchor",
                                         mark.line + 1, mark.column + 1)
            value, size = anchors[ev.anchor]
            total += size
            alias_budget[0] -= size
            if total > MAX_EXPANDED_NODES or alias_budget[0] < 0:
                mark = ev.start_mark
                where = "document" if total > MAX_EXPANDED_NODES else "file"
                raise DocumentTooComplex(
                    f"YAML aliases make this {where} expand to more than {MAX_EXPANDED_NODES} nodes "
                    "(an alias bomb?); not read from here on", mark.line + 1, mark.column + 1)
        else:
            # DocumentEndEvent (empty document) or anything unexpected.
            return root, root_line, root_col, dups

        total += 1 if t is not AliasEvent else 0
        if not stack:
            root = value
            if first:
                mark = ev.start_mark
                root_line, root_col = mark.line + 1, mark.column + 1
            # consume the DocumentEndEvent
            get()
            return root, root_line, root_col, dups
        parent = stack[-1]
        parent.size += size
        if parent.is_map:
            if not parent.has_key:
                mark = ev.start_mark
                if t is not ScalarEvent and isinstance(value, (dict, list)):
                    # Unquoted ``{{ ... }}`` parses as a flow mapping used as a key: this is
                    # how an unrendered Helm/Go template shows up.  Kubernetes has no such keys.
                    line, column = container_pos
                    text = _line_text(raw, line)
                    if "{{" in text:
                        raise DocumentTooComplex(_TEMPLATE_MESSAGE, line, text.index("{{") + 1)
                    raise DocumentTooComplex("mapping or sequence used as a mapping key; "
                                             "Kubernetes resources only have string keys",
                                             line, column)
                key = value if type(value) is str else _hashable_key(value)
                parent.key = key
                parent.has_key = True
                parent.key_mark = mark
                if pos is not None:
                    pos[parent.path + (key,)] = (mark.line + 1, mark.column + 1)  # type: ignore[operator]
            else:
                key = parent.key
                parent.has_key = False
                container = parent.container
                if key == "<<" and t is not ScalarEvent:
                    if parent.merges is None:
                        parent.merges = []
                    parent.merges.append(value)
                    continue
                km = parent.key_mark
                if key in container:
                    # (not ``first``: that flag marks the document's root node)
                    earlier = parent.key_marks.get(key) if parent.key_marks else None
                    dups.append(DuplicateKey(_path_of(stack) + (key,), str(key), km.line + 1, km.column + 1,
                                             earlier.line + 1 if earlier is not None else 0))
                else:
                    if parent.key_marks is None:
                        parent.key_marks = {}
                    parent.key_marks[key] = km
                container[key] = value
        else:
            if pos is not None and (t is ScalarEvent or t is AliasEvent):
                mark = ev.start_mark
                pos[parent.path + (len(parent.container),)] = (mark.line + 1, mark.column + 1)  # type: ignore[operator]
            parent.container.append(value)
