"""YAML loading on ruamel.yaml's C parser, driven event by event.

Why events and not ``get_node()``: the C composer shipped with ruamel.yaml (both the
``clib`` and ``clibz`` builds) fails with ``UnboundLocalError`` on any anchor, alias or
explicit tag, and composing node objects only to throw them away costs more than building
the plain data straight from the event stream (measured: events 0.67x the PyYAML compose
floor, ruamel compose 0.85x).  The events still come from libyaml, so the scanning and
parsing stay in C; they arrive as flat tuples rather than ruamel's event objects (see
``lint/events.py``: that halved the load, to about 0.65x the floor).

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

from ruamel.yaml.cyaml import CSafeLoader
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .events import (
    ALIAS,
    DOC_START,
    MAP,
    MAP_END,
    SCALAR,
    SEQ,
    SEQ_END,
    STREAM_END,
    SWAP,
    event_tuples,
)
from .findings import FieldPath

MAX_DEPTH = 100
MAX_EXPANDED_NODES = 200_000
_MISSING = object()


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
    """A mapping key that appears more than once in a document, where each occurrence is."""

    path: FieldPath
    key: str
    line: int  # 1-based
    column: int
    first_line: int


@dataclass
class Document:
    """One YAML document of a file, as plain data, with its position."""

    index: int  # 0-based position within the file
    data: Any
    line: int  # 1-based line of the document's root node
    column: int
    duplicates: list[DuplicateKey] = field(default_factory=list)


@dataclass
class LoadResult:
    """The documents of a file and its parse errors."""

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

_TEMPLATE_MESSAGE = ("unrendered template expression ({{ ... }}): render the chart first "
                     "(helm template) or exclude this file")

# Placeholders that scripts substitute before applying (``sed s/%APP_URL%/...``, ``@VERSION@``):
# ``%`` and ``@`` cannot start a YAML plain scalar, so an unquoted one is a syntax error.
_PLACEHOLDER_RE = re.compile(r"(?:^|[\s:,\[{-])(%[A-Za-z_][A-Za-z0-9_.]*%|@[A-Za-z_][A-Za-z0-9_.]*@)")


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
        for at in (line, line + 1):  # libyaml may stop at the end of the line before the token
            found = _PLACEHOLDER_RE.search(text if at == line else _line_text(raw, at))
            if found:
                return ParseError(at, found.start(1) + 1, f"unrendered template placeholder ({found.group(1)}): "
                                  "substitute it first or exclude this file")
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
    with SWAP as fast:
        loader = CSafeLoader(raw)
        try:
            get = loader.get_event if fast else event_tuples(loader.get_event)
            result, positions, exc = _load_events(get, raw, record_positions, cache)
        finally:
            with contextlib.suppress(Exception):  # best effort
                loader.dispose()  # type: ignore[attr-defined]
                # The loader refers to itself (as its parser, composer, resolver ...): left so,
                # it and the C parser's buffers wait for the cyclic collector, which the runner
                # turns off; without those references it is freed here.
                loader.__dict__.clear()
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
    """An event (tuple) getter over ruamel.yaml's pure-Python parser, or None when unavailable."""
    try:
        from ruamel.yaml.main import YAML

        return event_tuples(iter(YAML(typ="safe", pure=True).parse(raw)).__next__)
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
    try:
        while True:
            kind = get()[0]
            if kind == STREAM_END:
                break
            if kind != DOC_START:
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


def _path_of(stack: list[tuple], slot: Any) -> FieldPath:
    """The path of the open container whose ancestors' saved states are ``stack``."""
    if not stack:
        return ()
    return tuple(s[_S_SLOT] for s in stack[1:]) + (slot,)


# Indices into a saved container state (see _walk_document).
_S_ANCHOR, _S_SLOT = 7, 10


def _walk_document(get: Any, pos: Optional[dict[FieldPath, tuple[int, int]]], raw: Union[bytes, str],
                   alias_budget: Optional[list[int]] = None, cache: Optional[ScalarCache] = None):
    """Build plain data for one document from the event tuples (iteratively).

    ``alias_budget`` (a one-item list, shared by the documents of a file) is decremented by
    the expanded size of every alias.  The open container's state lives in local variables;
    opening a nested one saves it on ``stack`` as a tuple (fields in the order of the
    assignment below) and closing it restores the parent's.  A scalar (nine events in ten)
    is stored where it belongs in its own branch; the others share the code at the end.

    Sizes: ``total`` counts the document's nodes as expanded so far (a scalar 1, a container
    1 when it closes, an alias the size of what it repeats), so a container's expanded size
    is 1 + what ``total`` grew by while it was open (``opened``, the count when it opened)."""
    if alias_budget is None:
        alias_budget = [MAX_EXPANDED_NODES]
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[tuple] = []
    cache = cache or ScalarCache()  # resolved plain scalars and quoted strings, shared
    plain_cache = cache.plain
    plain_get = plain_cache.get
    text_setdefault = cache.text.setdefault
    missing = _MISSING
    dups: list[DuplicateKey] = []
    total = 0
    depth = 0
    root_line = root_col = 1
    first = True
    # The open container: its data, kind, pending key, the mark of each key's first occurrence
    # (for duplicate reports), merge sources, anchor, node count when it opened, start mark,
    # slot in its parent and (only when positions are recorded) its path.
    container: Any = None
    is_map = has_key = False
    key: Any = None
    key_mark: Any = None
    kmarks: Any = None
    merges: Any = None
    anchor: Any = None
    opened = 0
    start: Any = None
    slot: Any = None
    path: Any = ()
    closed: Any = None  # start mark of the container closed last
    while True:
        k, v, mark, ev_anchor, tag, plain = get()
        if k == SCALAR:
            if tag is None:
                if plain:
                    value = plain_get(v, missing)
                    if value is missing:
                        value = plain_cache[v] = _plain(v)
                else:
                    value = text_setdefault(v, v)
            elif tag == "!":
                value = v
            else:
                value = _tagged(tag, v)
            if ev_anchor is not None:
                anchors[ev_anchor] = (value, 1)
            total += 1
            if is_map:
                if has_key:  # a value ("<<" with a scalar is an ordinary key)
                    has_key = False
                    if key in container:
                        earlier = kmarks[key]
                        dups.append(DuplicateKey(_path_of(stack, slot) + (key,), str(key),
                                                 key_mark.line + 1, key_mark.column + 1, earlier.line + 1))
                    else:
                        kmarks[key] = key_mark
                    container[key] = value
                else:
                    key = value if type(value) is str else _hashable_key(value)
                    has_key = True
                    key_mark = mark
                    if pos is not None:
                        pos[path + (key,)] = (mark.line + 1, mark.column + 1)
                continue
            if container is not None:
                if pos is not None:
                    pos[path + (len(container),)] = (mark.line + 1, mark.column + 1)
                container.append(value)
                continue
            if first:
                root_line, root_col = mark.line + 1, mark.column + 1
            get()  # consume the DocumentEndEvent
            return value, root_line, root_col, dups
        elif k in (MAP, SEQ):
            depth += 1
            if depth > MAX_DEPTH:
                raise DocumentTooComplex(
                    f"YAML nesting deeper than {MAX_DEPTH} levels; not a Kubernetes resource",
                    mark.line + 1, mark.column + 1)
            if first:
                root_line, root_col, first = mark.line + 1, mark.column + 1, False
            if container is not None:
                new_slot = key if is_map else len(container)
                new_path: Any = None
                if pos is not None:
                    new_path = path + (new_slot,)
                    if not is_map:
                        pos[new_path] = (mark.line + 1, mark.column + 1)
                stack.append((container, is_map, key, has_key, key_mark, kmarks, merges, anchor, opened,
                              start, slot, path))
            else:
                new_slot, new_path = None, ()
            if k == MAP:
                container, is_map, kmarks = {}, True, {}
            else:
                container, is_map, kmarks = [], False, None
            key = key_mark = merges = None
            has_key = False
            anchor, opened, start, slot, path = ev_anchor, total, mark, new_slot, new_path
            continue
        elif k in (MAP_END, SEQ_END):
            value = container
            vsize = 1 + total - opened
            closed = start
            if merges:
                for merged in merges:
                    for m in (merged if isinstance(merged, list) else [merged]):
                        if isinstance(m, dict):
                            for mk, mv in m.items():
                                value.setdefault(mk, mv)
            if anchor is not None:
                anchors[anchor] = (value, vsize)
            depth -= 1
            if stack:
                (container, is_map, key, has_key, key_mark, kmarks, merges, anchor, opened,
                 start, slot, path) = stack.pop()
            else:
                container = anchor = None
            total += 1
        elif k == ALIAS:
            if ev_anchor not in anchors:
                if (container is not None and anchor == ev_anchor) or any(s[_S_ANCHOR] == ev_anchor for s in stack):
                    raise DocumentTooComplex(f"YAML alias *{ev_anchor} refers to a node that contains it "
                                             "(a recursive structure)", mark.line + 1, mark.column + 1)
                raise DocumentTooComplex(f"YAML alias *{ev_anchor} refers to an unknown anchor",
                                         mark.line + 1, mark.column + 1)
            value, vsize = anchors[ev_anchor]
            total += vsize
            alias_budget[0] -= vsize
            if total > MAX_EXPANDED_NODES or alias_budget[0] < 0:
                where = "document" if total > MAX_EXPANDED_NODES else "file"
                raise DocumentTooComplex(
                    f"YAML aliases make this {where} expand to more than {MAX_EXPANDED_NODES} nodes "
                    "(an alias bomb?); not read from here on", mark.line + 1, mark.column + 1)
        else:
            # DocumentEndEvent (empty document) or anything unexpected.
            return None, root_line, root_col, dups

        # A closed container or an alias: its place in the parent.
        if container is None:
            if first:
                root_line, root_col = mark.line + 1, mark.column + 1
            get()  # consume the DocumentEndEvent
            return value, root_line, root_col, dups
        if is_map:
            if not has_key:
                if isinstance(value, (dict, list)):
                    # Unquoted ``{{ ... }}`` parses as a flow mapping used as a key: this is
                    # how an unrendered Helm/Go template shows up.  Kubernetes has no such keys.
                    # (Pointed at the container closed last: an alias's is not its own.)
                    cline, ccol = (closed.line + 1, closed.column + 1) if closed is not None else (0, 0)
                    text = _line_text(raw, cline)
                    if "{{" in text:
                        raise DocumentTooComplex(_TEMPLATE_MESSAGE, cline, text.index("{{") + 1)
                    raise DocumentTooComplex("mapping or sequence used as a mapping key; "
                                             "Kubernetes resources only have string keys",
                                             cline, ccol)
                key = value if type(value) is str else _hashable_key(value)
                has_key = True
                key_mark = mark
                if pos is not None:
                    pos[path + (key,)] = (mark.line + 1, mark.column + 1)
            else:
                has_key = False
                if key == "<<":
                    if merges is None:
                        merges = []
                    merges.append(value)
                    continue
                if key in container:
                    earlier = kmarks[key]
                    dups.append(DuplicateKey(_path_of(stack, slot) + (key,), str(key),
                                             key_mark.line + 1, key_mark.column + 1, earlier.line + 1))
                else:
                    kmarks[key] = key_mark
                container[key] = value
        else:
            if pos is not None and k == ALIAS:
                pos[path + (len(container),)] = (mark.line + 1, mark.column + 1)
            container.append(value)


# The position index lives in positions.py (it parses with load_documents above).
from .positions import Hint, PositionIndex  # noqa: E402,F401  (re-exported)
