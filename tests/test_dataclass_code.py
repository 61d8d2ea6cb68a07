"""The precompiled dataclass methods (lint/_dataclass_exec.py, lint/_dataclass_code.py): the
same code as ``dataclasses`` compiles, and the same classes."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Optional

import pytest
from istio_vm_lint import _dataclass_code as generated
from istio_vm_lint import _dataclass_exec

pytestmark = pytest.mark.skipif(tuple(sys.version_info[:2]) != tuple(generated.VERSION),
                                reason="generated with another Python version (then unused)")


def _shape(code: Any) -> tuple:
    consts = tuple(_shape(c) if hasattr(c, "co_code") else c for c in code.co_consts)
    return (code.co_name, code.co_qualname, code.co_code, code.co_varnames, code.co_names, code.co_freevars,
            code.co_cellvars, code.co_argcount, code.co_kwonlyargcount, code.co_flags, consts)


def test_each_text_is_compiled_as_exec_compiles_it() -> None:
    assert len(generated.TEXTS) == len(generated._codes) and generated.TEXTS
    for text, code in zip(generated.TEXTS, generated._codes, strict=True):
        ns: dict[str, Any] = {}
        exec(compile(text, "<string>", "exec", dont_inherit=True), {}, ns)  # as in dataclasses.py
        assert _shape(ns["__create_fn__"].__code__) == _shape(code), text


def test_classes_are_the_same_with_and_without(monkeypatch: pytest.MonkeyPatch) -> None:
    text = next(t for t in generated.TEXTS if " def __repr__(" in t)
    monkeypatch.setattr(_dataclass_exec, "_CODES", dict(zip(generated.TEXTS, generated._codes, strict=True)))
    monkeypatch.setattr(dataclasses, "exec", _dataclass_exec._exec, raising=False)
    seen: list[str] = []
    real = _dataclass_exec._exec

    def counting(source: Any, globals: Any = None, locals: Any = None) -> None:  # noqa: A002
        seen.append(source)
        real(source, globals, locals)

    monkeypatch.setattr(dataclasses, "exec", counting)

    from istio_vm_lint.findings import Location, ResourceRef

    @dataclasses.dataclass(frozen=True)
    class Ref:  # the field names of ResourceRef: its texts are the precompiled ones
        """A copy of ResourceRef."""

        kind: str
        name: str
        namespace: str

    @dataclasses.dataclass
    class Other:
        """Not in the generated module: compiled by exec."""

        zeta: int
        omega: Optional[str] = None

    assert any(t in _dataclass_exec._CODES for t in seen)  # type: ignore[operator]
    assert any(t not in _dataclass_exec._CODES for t in seen)  # type: ignore[operator]
    a, b = Ref("Service", "a", "ns"), ResourceRef("Service", "a", "ns")
    assert repr(a).replace("Ref(", "ResourceRef(", 1).endswith(repr(b).split("ResourceRef", 1)[1])
    assert a == Ref("Service", "a", "ns") and a != Ref("Service", "b", "ns") and hash(a) == hash(Ref("Service", "a", "ns"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "b"  # type: ignore[misc]
    assert Other(1) == Other(1, None) and repr(Other(2, "x")).endswith("Other(zeta=2, omega='x')")
    assert Location("f", 1, 2) == Location("f", 1, 2)
    assert text in generated.TEXTS
