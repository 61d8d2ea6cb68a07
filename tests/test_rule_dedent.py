"""``rule._dedent`` (string methods, for the cold start) gives what ``textwrap.dedent`` does."""

from __future__ import annotations

import random
import textwrap

from istio_vm_lint import rule as rule_mod

CASES = [
    "", "\n", "x", "  x", "\n    a\n    b\n", "\n    a\n      b\n    c\n", "\tx\n\ty", "\tx\n  y", "  x\n\ty",
    "  \n  a\n \t \n  b", "    a\n  \n    b\n", "  a\r\n  b\r\n", "  \r\n  a", "a\n  b", "\n\n  a\n\n", " \t a\n \t b",
    "  a\n   b\n  \tc", "\x0b a\n  b", "  a\u00a0\n  b", '\n        spec:\n          hosts: ["x"]  # expect: IVL001\n',
]


def _reference(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def test_same_as_textwrap_on_edge_cases() -> None:
    for text in CASES:
        assert rule_mod._dedent(text) == _reference(text), repr(text)


def test_same_as_textwrap_on_random_text() -> None:
    rnd = random.Random(7)
    alphabet = [" ", " ", "\t", "\n", "\n", "a", "b", "\r", "#"]
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        assert rule_mod._dedent(text) == _reference(text), repr(text)
