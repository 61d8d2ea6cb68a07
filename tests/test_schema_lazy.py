"""lint/schema.py compiles an object's properties when a value first has them (cold start):
a keyword it does not support must still be found, so every shipped schema is compiled here
down to its last property."""

from __future__ import annotations

import json
from typing import Any

import pytest
from istio_vm_lint import schema as S


def _compile_everything(node: Any, where: str) -> int:
    """compile_schema every subschema reachable through properties (the rest of a node is
    compiled with it); the number of property schemas compiled."""
    if isinstance(node, list):
        return sum(_compile_everything(x, where) for x in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    for k, sub in (node.get("properties") or {}).items():
        S.compile_schema(sub, "test", f"{where}.{k}")
        count += 1 + _compile_everything(sub, f"{where}.{k}")
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            count += _compile_everything(node[key], f"{where}.{key}")
    for key in ("allOf", "anyOf", "oneOf"):
        count += _compile_everything(node.get(key), f"{where}.{key}")
    return count


@pytest.mark.parametrize("name", S.available_schemas())
def test_every_property_of_every_shipped_schema_compiles(name: str) -> None:
    schema = json.loads(S._read(name) or "null")
    S.compile_schema(schema, name)
    assert _compile_everything(schema, "") >= 1


def test_an_unsupported_keyword_in_a_property_is_refused_when_the_property_is_used() -> None:
    v = S.Validator({"type": "object", "properties": {"a": {"type": "object", "patternProperties": {"^x": {}}},
                                                      "b": {"type": "string"}}}, "test")
    assert v.validate({"b": "ok"}) == []
    with pytest.raises(ValueError):
        v.validate({"a": {}})


def test_null_of_a_required_property_before_and_after_it_is_compiled() -> None:
    v = S.Validator({"type": "object", "required": ["a", "n"],
                     "properties": {"a": {"type": "string"}, "n": {"type": ["string", "null"]}}}, "test")
    for _ in range(2):
        assert [x.what for x in v.validate({"a": None, "n": None})] == ["required"]
        assert v.validate({"a": "x", "n": None}) == []
