"""The event-tuple walker of ``lint/loader.py`` gives exactly what the object walker it replaced
gave (``tests/_loader_reference.py``): the same documents (values, types, key order), root
positions, duplicate keys, parse errors and position indexes, on generated YAML (property
tests), on mutations of it (syntax errors anywhere), on every fixture and on the hostile
inputs of ``fixtures/badinput``.  And the swap of the C parser's event classes is undone after
every load, whatever happens during it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import _loader_reference as reference
import pytest
from conftest import FIXTURES
from hypothesis import given
from hypothesis import strategies as st
from istio_vm_lint import events, loader

SCALARS = ["yes", "No", "on", "OFF", "y", "n", "~", "null", "1", "0x1F", "0o17", "017", "1_000", "-0", "+12",
           "1.0", "1e3", "80.0", ".inf", "-.Inf", ".nan", "1e21", "0b101", "3.14", "2001-12-14", "true", "True",
           "a b", "{{ x }}", "é", "a:b", "<<", "-", "?", "9" * 30]
TAGS = ["", "", "", "", "!!str ", "!!int ", "!!bool ", "!!float ", "!!null ", "! ", "!custom ", "!!map ", "!!seq "]


def _scalar_text() -> st.SearchStrategy[str]:
    plain = st.sampled_from(SCALARS) | st.text(alphabet="abx01:._- ", min_size=1, max_size=6).map(str.strip)
    quoted = plain.map(lambda s: f"'{s}'") | plain.map(lambda s: f'"{s}"')
    return st.tuples(st.sampled_from(TAGS), plain | quoted).map(lambda t: (t[0] + t[1]).strip() or "''")


def _anchor() -> st.SearchStrategy[str]:
    return st.sampled_from(["", "", "", "", "&a ", "&b ", "&c "])


NODES = st.recursive(
    st.tuples(st.just("scalar"), _scalar_text(), _anchor()) | st.tuples(st.just("alias"), st.sampled_from("aabbcd"),
                                                                          st.just("")),
    lambda children: (
        st.tuples(st.just("map"),
                  st.lists(st.tuples(st.sampled_from(["a", "b", "name", "<<", "1", "true", "'1'", "~", "a"])
                                     | _scalar_text(), children), max_size=5),
                  _anchor(), st.booleans())
        | st.tuples(st.just("seq"), st.lists(children, max_size=4), _anchor(), st.booleans())
    ),
    max_leaves=25,
)


def _flow(node: Any) -> str:
    kind = node[0]
    if kind == "scalar":
        return node[2] + node[1]
    if kind == "alias":
        return "*" + node[1]
    if kind == "map":
        return node[2] + "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in node[1]) + "}"
    return node[2] + "[" + ", ".join(_flow(v) for v in node[1]) + "]"


def _block(node: Any, indent: int) -> list[str]:
    """Lines of ``node`` as a block collection at ``indent`` (scalars and flow ones inline)."""
    pad = " " * indent
    kind = node[0]
    if kind in ("scalar", "alias") or not node[1] or node[3]:
        return [pad + _flow(node)]
    lines = [pad + node[2].strip()] if node[2] else []
    if kind == "map":
        for k, v in node[1]:
            if v[0] in ("scalar", "alias") or not v[1] or v[3]:
                lines.append(f"{pad}{k}: {_flow(v)}")
            else:
                lines.append(f"{pad}{k}: {v[2].strip()}".rstrip())
                lines.extend(_block((v[0], v[1], "", v[3]), indent + 2))
    else:
        for v in node[1]:
            if v[0] in ("scalar", "alias") or not v[1] or v[3]:
                lines.append(f"{pad}- {_flow(v)}")
            else:
                lines.append(f"{pad}- {v[2].strip()}".rstrip())
                lines.extend(_block((v[0], v[1], "", v[3]), indent + 2))
    return lines


DOCUMENTS = st.lists(NODES.map(lambda n: "\n".join(_block(n, 0)) + "\n"), min_size=1, max_size=3).map(
    lambda docs: "---\n".join(docs))


def _normal(result: Any, index: Any) -> str:
    docs = [(d.index, d.data, d.line, d.column,
             [(x.path, x.key, x.line, x.column, x.first_line) for x in d.duplicates]) for d in result.documents]
    errors = [(e.line, e.column, e.message, e.code) for e in result.errors]
    return repr((docs, errors, index))  # repr: True is not 1, 1 is not 1.0, key order counts


def assert_same(raw: Any, records: tuple[Any, ...] = (False, True, {0}, {1, 2})) -> None:
    for record in records:
        expected = _normal(*reference.load_documents(raw, record_positions=record))
        assert _normal(*loader.load_documents(raw, record_positions=record)) == expected, (raw, record)


@given(DOCUMENTS)
def test_generated_yaml_loads_as_before(text: str) -> None:
    assert_same(text)
    assert_same(text.encode())


@given(DOCUMENTS, st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(list(":-{}[]&*!|>'\"\t#\n ,?%@`")),
                                     st.booleans()), min_size=1, max_size=3))
def test_damaged_yaml_fails_as_before(text: str, edits: list[tuple[int, str, bool]]) -> None:
    for at, char, insert in edits:
        at %= len(text) + 1
        text = text[:at] + char + text[at + (0 if insert else 1):]
    assert_same(text.encode())


def test_fixture_files_load_as_before() -> None:
    files = [p for p in sorted(FIXTURES.rglob("*")) if p.is_file() and not p.is_symlink()
             and (p.suffix in (".yaml", ".yml", ".json") or "badinput" in p.parts)]
    assert len(files) > 500
    for path in files:
        assert_same(path.read_bytes(), (False, True))


def test_hostile_inputs_load_as_before() -> None:
    spec = importlib.util.spec_from_file_location("badinput_make_parity", FIXTURES / "badinput" / "make.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    sys.modules["badinput_make_parity"] = make
    spec.loader.exec_module(make)
    contents = [c.content for c in make.all_cases() if c.content is not None]
    assert len(contents) > 20
    for raw in contents:  # not the few of 0.2-1 MB (time: test_badinput runs them through the CLI)
        if len(raw) < 200_000:
            assert_same(raw, (False, True))


@pytest.mark.parametrize("text", [
    "a: [1, 2\n", "a: *nope\n", "a: &x [*x]\n", "{{ .Values.x }}: 1\n", "a:\n" + "  - [" * 120 + "\n",
    "a: b\n\tc: d\n", "ok: 1\n---\nbad: [\n", "a: {b: https://x.io:80/p}\n",
])
def test_event_classes_are_restored_after_every_load(text: str) -> None:
    module = events.SWAP.module
    before = {name: getattr(module, name) for name in events.FACTORIES} if module is not None else {}
    assert_same(text)
    if module is not None:
        assert {name: getattr(module, name) for name in events.FACTORIES} == before
        assert all(isinstance(cls, type) for cls in before.values())


def test_without_the_swap_the_result_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another parser build (factories not called as expected) falls back to converting the
    event objects: same results."""
    assert events.SWAP.works in (True, None)  # libyaml's parser with today's signatures
    text = (FIXTURES / "badinput" / "cases" / "anchors-and-merges.yaml").read_bytes()
    fast = _normal(*loader.load_documents(text, record_positions=True))
    monkeypatch.setattr(events.SWAP, "works", False)
    assert _normal(*loader.load_documents(text, record_positions=True)) == fast

