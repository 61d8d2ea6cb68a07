"""YAML loading on ruamel.yaml's C parser, driven event by event.

Why events and not ``get_node()``: the C composer shipped with ruamel.yaml (both the
``clib`` and ``clibz`` builds) fails with ``UnboundLocalError`` on any anchor, alias or
explicit tag, and composing node objects only to throw them away costs more than building
the plain data straight from the event stream (measured: events 0.67x the PyYAML compose
floor, ruamel compose 0.85x).  The events still come from libyaml, so the scanning and
parsing stay in C.

Positions are not kept during the main load.  When a finding needs a line/column, the file
is parsed again with ``record_positions`` (see :class:`PositionIndex`), which builds a
``path -> (line, column)`` map for every key and item of the documents findings point into.
Clean files therefore never pay for an index, and memory stays flat on large repositories.

Bounds by design: nesting deeper than :data:`MAX_DEPTH` stops the file with a parse finding,
and so does an alias that makes its document larger than :data:`MAX_EXPANDED_NODES` nodes
(counted expanded) or makes the aliases of the whole file expand to more than that -- so a
"billion laughs" file, or many documents each just under the per-document bound, or a
10,000-deep nesting can neither hang nor blow the stack of later stages.  Nodes written out
in the text are not bounded (a large ``kind: List`` export is legitimate): they cost at
least a byte each, so they cannot amplify.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Optional, Union

from ruamel.yaml import events as E
from ruamel.yaml.cyaml import CSafeLoader
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .findings import FieldPath

MAX_DEPTH = 100
MAX_EXPANDED_NODES = 200_000


class DocumentTooComplex(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class ParseError:
    """One parse failure: 1-based position and a reason a person can act on."""

    line: int
    column: int
    message: str
    code: str = "IVL001"


@dataclass
class DuplicateKey:
    path: FieldPath
    key: str
    line: int  # 1-based
    column: int
    first_line: int


@dataclass
class Document:
    index: int  # 0-based position within the file
    data: Any
    line: int  # 1-based line of the document's root node
    column: int
    duplicates: list[DuplicateKey] = field(default_factory=list)


@dataclass
class LoadResult:
    documents: list[Document]
    errors: list[ParseError]


# --- scalar resolution ------------------------------------------------------------------
# Kubernetes decodes YAML with go-yaml v2 semantics (YAML 1.1 booleans and the like), so
# ``yes``/``on`` are booleans there; we follow the API server, not YAML 1.2.

_CONSTANTS: dict[str, Any] = {}
for _w in ("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"):
    _CONSTANTS[_w] = True
for _w in ("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"):
    _CONSTANTS[_w] = False
for _w in ("", "~", "null", "Null", "NULL"):
    _CONSTANTS[_w] = None
# go-yaml v2 does not treat single-letter y/n as bools in practice (k8s keeps them strings).
for _w in ("y", "Y", "n", "N"):
    del _CONSTANTS[_w]

_INT_RE = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_INT_OTHER_RE = re.compile(r"^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
    r"|\.[0-9_]+(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


def _plain(value: str) -> Any:
    if value in _CONSTANTS:
        return _CONSTANTS[value]
    c = value[0]
    if c.isdigit() or c in "+-.":
        if _INT_RE.match(value):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                # More digits than Python converts (sys.get_int_max_str_digits): go-yaml
                # cannot represent it either and keeps the scalar as a string.
                return value
        if _INT_OTHER_RE.match(value):
            v = value.replace("_", "")
            sign = -1 if v.startswith("-") else 1
            v = v.lstrip("+-")
            try:
                if v.startswith("0b"):
                    return sign * int(v[2:], 2)
                if v.startswith("0x"):
                    return sign * int(v[2:], 16)
                if v.startswith("0o"):
                    return sign * int(v[2:], 8)
                return sign * int(v, 8)
            except ValueError:
                return value
        if _FLOAT_RE.match(value):
            v = value.replace("_", "").lower()
            try:
                f = float(v)
            except ValueError:
                return value
            # What the API server receives: YAML becomes JSON (sigs.k8s.io/yaml) before it is
            # decoded, and Go writes the float64 80.0 (or 1e2) as the JSON number 80 (100).
            # So an integral float is the integer it prints as, in every field (ports,
            # targetPort, WorkloadEntry ports values ...); others stay floats (and the schema
            # reports them where an integer is expected).  Go switches to exponent notation
            # from 1e21 on, which no integer field accepts: those stay floats too.
            if f.is_integer() and abs(f) < 1e21:
                return int(f)
            return f
    return value


def _tagged(tag: str, value: str) -> Any:
    """Explicitly tagged scalar.  Unknown or custom tags are data: the string is kept."""
    if tag == "tag:yaml.org,2002:str":
        return value
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
               "tag:yaml.org,2002:null"):
        v = _plain(value) if value else None
        return v if v is not None or tag == "tag:yaml.org,2002:null" else value
    return value


def _hashable_key(key: Any) -> Union[str, None]:
    """A mapping key as the API server sees it.

    Kubernetes converts YAML to JSON (sigs.k8s.io/yaml) before decoding, and JSON keys are
    strings: ``80`` becomes ``"80"``, ``true`` becomes ``"true"``, ``1.0`` becomes ``"1"``.
    Doing the same here keeps ``1`` and ``true`` distinct (they are equal as Python keys) and
    makes ``1`` and ``"1"`` the duplicate they are for the API server.
    """
    if type(key) is str:
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        if key != key:
            return ".nan"
        if key in (float("inf"), float("-inf")):
            return ".inf" if key > 0 else "-.inf"
        return str(int(key)) if key.is_integer() and abs(key) < 1e21 else repr(key)
    if key is None:
        return None
    return repr(key)


# --- the event walker -------------------------------------------------------------------


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


_TEMPLATE_MESSAGE = ("unrendered template expression ({{ ... }}): render the chart first "
                     "(helm template) or exclude this file")


_BREAK_RE = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # YAML 1.1 line breaks (libyaml's)


def _decode(raw: Union[bytes, str]) -> str:
    """The text of ``raw`` as libyaml reads it (BOM-selected UTF-16, else UTF-8), lossy."""
    if isinstance(raw, str):
        return raw
    if raw[:2] == b"\xff\xfe":
        return raw[2:].decode("utf-16-le", "replace")
    if raw[:2] == b"\xfe\xff":
        return raw[2:].decode("utf-16-be", "replace")
    return raw.decode("utf-8", "replace")


def _reader_position(raw: Union[bytes, str], position: int) -> tuple[int, int]:
    """1-based line and column of a reader error at ``position`` (a byte offset for bytes)."""
    if isinstance(raw, bytes):
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            prefix = _decode(raw[: position - position % 2])
        else:
            prefix = raw[:position].decode("utf-8", "replace")
    else:
        prefix = raw[:position]
    lines = _BREAK_RE.split(prefix[1:] if prefix[:1] == "\ufeff" else prefix)
    return len(lines), len(lines[-1]) + 1


def _error_from_exception(exc: BaseException, raw: bytes | str) -> ParseError:
    if isinstance(exc, MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        reason = exc.problem or "invalid YAML"
        if "end of stream" in reason and getattr(exc, "context_mark", None) is not None:
            # An unterminated quote or flow collection: point where it was opened.
            mark = exc.context_mark
        if exc.context:
            reason = f"{reason} ({exc.context})"
        line = mark.line + 1
        text = _line_text(raw, line)
        if "{{" in text:
            return ParseError(line, text.index("{{") + 1, _TEMPLATE_MESSAGE)
        if "\t" in text[: mark.column + 1] and "tab" not in reason:
            reason += "; tabs cannot be used for indentation in YAML"
        return ParseError(line, mark.column + 1, f"YAML syntax error: {reason}")
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        # ReaderError: position is a byte offset into the raw input (a character offset
        # for str input).
        line, col = _reader_position(raw, position)
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        char = getattr(exc, "character", None)
        what = "not valid text in UTF-8/UTF-16"
        if char is not None and isinstance(char, int):
            what = f"byte/character 0x{char:02x} is not allowed ({reason})"
        return ParseError(line, col, f"file is not readable YAML text: {what}")
    lines = str(exc).strip().splitlines()
    return ParseError(1, 1, f"YAML error: {lines[0] if lines else type(exc).__name__}")


class ScalarCache:
    """Resolved scalars shared by every document loaded with it.

    A repository repeats the same keys (``apiVersion``, ``metadata``, ``targetPort``) and
    many values (namespaces, labels, protocols) thousands of times; sharing one object per
    distinct text cuts the loaded data of a 50,000-resource repository by about 70 MB (of
    225 MB), and each text is resolved (int? bool? null?) once.  Hold one for the duration of a load and drop it:
    the objects stay shared, the dictionaries go.
    """

    __slots__ = ("plain", "text")

    def __init__(self) -> None:
        self.plain: dict[str, Any] = {}
        self.text: dict[str, str] = {}


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


def _libyaml_may_be_wrong(exc: BaseException, raw: Union[bytes, str]) -> bool:
    """A syntax error from the C parser that a current parser may not share (see above).

    Not for reader errors (bytes that are not text) and not for unrendered templates, whose
    message is more useful than any second opinion."""
    if not isinstance(exc, MarkedYAMLError) or exc.problem_mark is None:
        return False
    return "{{" not in _line_text(raw, exc.problem_mark.line + 1)


def _pure_events(raw: Union[bytes, str]) -> Any:
    """An event getter over ruamel.yaml's pure-Python parser, or None when unavailable."""
    try:
        from ruamel.yaml.main import YAML

        return iter(YAML(typ="safe", pure=True).parse(raw)).__next__
    except Exception:  # pragma: no cover - a broken ruamel.yaml install
        return None


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


def _line_text(raw: Union[bytes, str], line: int) -> str:
    lines = _BREAK_RE.split(_decode(raw))
    return lines[line - 1] if 0 < line <= len(lines) else ""


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


class PositionIndex:
    """Lazily built ``(doc_index, path) -> (line, column)`` lookup for one file.

    Only the documents findings point into are indexed: the engine announces them with
    :meth:`want` before asking, so a file is parsed again once for all of its findings, and
    a 50-document file with one finding keeps one document's positions, not fifty.  A
    lookup nobody announced still works; the second time one misses, the whole file is
    indexed, so a file is never parsed more than twice however its lookups arrive (one
    parse per document would be quadratic in a file of thousands of documents).
    """

    def __init__(self, raw: Union[bytes, str, None]) -> None:
        self._raw = raw
        self._docs: dict[int, dict[FieldPath, tuple[int, int]]] = {}
        self._pending: set[int] = set()
        self._complete = False  # every document is indexed
        self._parses = 0

    def want(self, doc_index: int) -> None:
        """Index ``doc_index`` along with the next document that is looked up."""
        if doc_index not in self._docs:
            self._pending.add(doc_index)

    def lookup(self, doc_index: int, path: FieldPath) -> Optional[tuple[int, int]]:
        """Position of ``path``, or of its nearest ancestor that exists in the file."""
        return self.lookup_depth(doc_index, path)[0]

    def lookup_depth(self, doc_index: int, path: FieldPath) -> tuple[Optional[tuple[int, int]], int]:
        """Like :meth:`lookup`, with the length of the part of ``path`` that was found (-1 when
        the document has no positions at all)."""
        doc = self._docs.get(doc_index)
        if doc is None and not self._complete:
            wanted = self._pending | {doc_index}
            self._pending = set()
            idx: Optional[dict[int, dict[FieldPath, tuple[int, int]]]] = None
            if self._raw is not None:
                everything = self._parses > 0
                _, idx = load_documents(self._raw, record_positions=True if everything else wanted)
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
