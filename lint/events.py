"""ruamel.yaml's C parser events as flat tuples, for the loader's walker (``lint/loader.py``).

ruamel.yaml's C parser builds one Python event object per YAML node, and each of those
constructors is three nested Python ``__init__`` calls; that was a third of the load.  The
parser looks its event classes up in its module's globals at run time, so while the loader
reads a file it swaps them for the small factories below, which return flat tuples
``(kind, value, start_mark, anchor, tag, plain)`` (end events and document/stream events are
shared constants: nothing of them is read).  The walker then keeps the open container's
state in local variables and saves it on a stack only when a nested container opens.

The swap is guarded: a process-wide lock (one load at a time; nested loads do not re-swap),
the original classes are restored when the load ends however it ends, and a self-test on
first use checks that the parser calls the factories with today's signatures; if it does not
(another parser build), or the parser is not libyaml's, events are converted from the
objects instead (:func:`event_tuples`), with the same result, only slower.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Optional

from ruamel.yaml import events as E
from ruamel.yaml.cyaml import CSafeLoader

SCALAR, MAP, SEQ, MAP_END, SEQ_END, ALIAS, DOC_START, DOC_END, STREAM_START, STREAM_END = range(10)
MAP_END_EV = (MAP_END, None, None, None, None, None)
SEQ_END_EV = (SEQ_END, None, None, None, None, None)
DOC_START_EV = (DOC_START, None, None, None, None, None)
DOC_END_EV = (DOC_END, None, None, None, None, None)
STREAM_START_EV = (STREAM_START, None, None, None, None, None)
STREAM_END_EV = (STREAM_END, None, None, None, None, None)


def _f_scalar(anchor: Any, tag: Any, implicit: Any, value: Any, start_mark: Any = None, end_mark: Any = None,
              style: Any = None) -> tuple:
    return (SCALAR, value, start_mark, anchor, tag, implicit[0] and not style)


def _f_mapping_start(anchor: Any, tag: Any, implicit: Any, start_mark: Any = None, end_mark: Any = None,
                     flow_style: Any = None) -> tuple:
    return (MAP, None, start_mark, anchor, None, None)


def _f_sequence_start(anchor: Any, tag: Any, implicit: Any, start_mark: Any = None, end_mark: Any = None,
                      flow_style: Any = None) -> tuple:
    return (SEQ, None, start_mark, anchor, None, None)


def _f_alias(anchor: Any, start_mark: Any = None, end_mark: Any = None) -> tuple:
    return (ALIAS, None, start_mark, anchor, None, None)


def _f_mapping_end(start_mark: Any = None, end_mark: Any = None) -> tuple:
    return MAP_END_EV


def _f_sequence_end(start_mark: Any = None, end_mark: Any = None) -> tuple:
    return SEQ_END_EV


def _f_document_start(start_mark: Any = None, end_mark: Any = None, explicit: Any = None, version: Any = None,
                      tags: Any = None) -> tuple:
    return DOC_START_EV


def _f_document_end(start_mark: Any = None, end_mark: Any = None, explicit: Any = None) -> tuple:
    return DOC_END_EV


def _f_stream_start(start_mark: Any = None, end_mark: Any = None, encoding: Any = None) -> tuple:
    return STREAM_START_EV


def _f_stream_end(start_mark: Any = None, end_mark: Any = None) -> tuple:
    return STREAM_END_EV


FACTORIES = {
    "ScalarEvent": _f_scalar, "MappingStartEvent": _f_mapping_start,
    "SequenceStartEvent": _f_sequence_start, "AliasEvent": _f_alias,
    "MappingEndEvent": _f_mapping_end, "SequenceEndEvent": _f_sequence_end,
    "DocumentStartEvent": _f_document_start, "DocumentEndEvent": _f_document_end,
    "StreamStartEvent": _f_stream_start, "StreamEndEvent": _f_stream_end,
}


def event_tuple(ev: Any) -> tuple:
    """The tuple of one ruamel.yaml event object (the pure-Python parser, or no swap)."""
    t = type(ev)
    if t is E.ScalarEvent:
        return (SCALAR, ev.value, ev.start_mark, ev.anchor, ev.tag, ev.implicit[0] and not ev.style)
    if t is E.MappingStartEvent:
        return (MAP, None, ev.start_mark, ev.anchor, None, None)
    if t is E.SequenceStartEvent:
        return (SEQ, None, ev.start_mark, ev.anchor, None, None)
    if t is E.AliasEvent:
        return (ALIAS, None, ev.start_mark, ev.anchor, None, None)
    if t is E.MappingEndEvent:
        return MAP_END_EV
    if t is E.SequenceEndEvent:
        return SEQ_END_EV
    if t is E.DocumentStartEvent:
        return DOC_START_EV
    if t is E.DocumentEndEvent:
        return DOC_END_EV
    if t is E.StreamEndEvent:
        return STREAM_END_EV
    return STREAM_START_EV


def event_tuples(get_event: Any) -> Any:
    """A getter of event tuples over a getter of event objects."""
    return lambda: event_tuple(get_event())


class _EventSwap:
    """Context manager: the C parser's event classes replaced by the factories (see above)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0
        self.module: Any = None
        self.saved: dict[str, Any] = {}
        self.works: Optional[bool] = None  # decided by the self-test on first use

    def _parser_module(self) -> Any:
        module = sys.modules.get(getattr(CSafeLoader.__mro__[1], "__module__", ""))
        if module is None:
            for name in ("_ruamel_yaml", "_ruamel_yaml_clibz"):
                candidate = sys.modules.get(name)
                if candidate is not None and getattr(candidate, "CParser", None) is CSafeLoader.__mro__[1]:
                    module = candidate
        if module is None or not all(isinstance(getattr(module, n, None), type) for n in FACTORIES):
            return None
        return module

    def __enter__(self) -> bool:
        """True when the parser now produces tuples."""
        self.lock.acquire()
        try:
            if self.works is None:
                self.works = False
                self.module = self._parser_module()
                if self.module is not None:
                    self.works = self._self_test()
            if self.works and self.depth == 0:
                self._swap()
            self.depth += 1
            return bool(self.works)
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.depth -= 1
        try:
            if self.depth == 0 and self.saved:
                self._restore()
        finally:
            self.lock.release()

    def _swap(self) -> None:
        self.saved = {name: getattr(self.module, name) for name in FACTORIES}
        for name, factory in FACTORIES.items():
            setattr(self.module, name, factory)

    def _restore(self) -> None:
        for name, original in self.saved.items():
            setattr(self.module, name, original)
        self.saved = {}

    def _self_test(self) -> bool:
        sample = "%YAML 1.1\n---\na: &x 'b'\nc: !t d\ne: [*x, {f: g}]\n...\n--- !s\n- 1\n"
        try:
            slow = [_norm(event_tuple(ev)) for ev in _events(CSafeLoader(sample).get_event)]
            self._swap()
            try:
                fast = [_norm(ev) for ev in _events(CSafeLoader(sample).get_event)]
            finally:
                self._restore()
        except Exception:
            return False
        return fast == slow


def _events(get: Any) -> Any:
    for _ in range(100):
        ev = get()
        yield ev
        if ev is STREAM_END_EV or type(ev) is E.StreamEndEvent:
            return


SWAP = _EventSwap()


def _norm(ev: tuple) -> tuple:
    mark = ev[2]
    return ev[:2] + ((mark.line, mark.column) if mark is not None else None,) + ev[3:]
