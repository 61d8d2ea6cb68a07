"""Checks on the project's own code: module size, and the rule-authoring contract that rules
read the repository through the Context (typed ``ctx.each``/``ctx.resources`` and accessors),
never ``ctx.project`` directly, and keep no per-run state of their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 700
SOURCES = sorted(p for d in ("lint", "rules") for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)
RULE_MODULES = [p for p in SOURCES if p.is_relative_to(ROOT / "rules")]


def test_no_module_over_700_lines() -> None:
    long = {p.relative_to(ROOT).as_posix(): n for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (at most {MAX_LINES} lines each): {long}"


@pytest.mark.parametrize("path", RULE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_rules_use_the_context_accessors(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    bad: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "project" and isinstance(node.value, ast.Name) \
                and node.value.id == "ctx":
            bad.append(f"line {node.lineno}: ctx.project (use ctx.each/ctx.resources or a Context accessor)")
        elif isinstance(node, ast.Assert) and isinstance(node.test, ast.Call) \
                and isinstance(node.test.func, ast.Name) and node.test.func.id == "isinstance":
            bad.append(f"line {node.lineno}: assert isinstance (iterate ctx.each(<model class>) instead)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "ctx":
            bad.append(f"line {node.lineno}: setattr(ctx, ...) (use ctx.memo(key, compute))")
        elif isinstance(node, ast.Global):
            bad.append(f"line {node.lineno}: global statement (per-run state belongs in ctx.memo)")
    assert not bad, "\n".join(bad)
