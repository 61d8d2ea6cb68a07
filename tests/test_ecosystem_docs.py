"""Generated docs stay current, and the ecosystem guide covers what the code accepts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _gen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_rules_doc", ROOT / "tools" / "gen_rules_doc.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rules_doc_is_current() -> None:
    import difflib

    import pytest

    gen = _gen()
    path = ROOT / "docs" / "rules.md"
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    expected = gen.render()
    if current != expected:
        diff = list(difflib.unified_diff(current.splitlines(), expected.splitlines(), "docs/rules.md",
                                         "generated", lineterm="", n=0))
        pytest.fail(f"docs/rules.md is stale: regenerate it with `{gen.COMMAND}` and commit it.\n"
                    + "\n".join(diff[:30]) + ("\n..." if len(diff) > 30 else ""), pytrace=False)


def test_rules_doc_lists_every_rule() -> None:
    from istio_vm_lint.engine import all_rules

    text = _gen().render()
    for code, r in all_rules().items():
        assert f"### {code} {r.name}" in text


def test_ecosystem_doc_mentions_every_flag() -> None:
    from istio_vm_lint.cli_check import check

    text = (ROOT / "docs" / "ecosystem.md").read_text(encoding="utf-8")
    hidden = {"--debug", "--help", "--verbose", "--quiet", "--stdin-filename", "--format", "--version"}
    for param in check.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and opt not in hidden:
                assert opt in text, f"{opt} is not documented in docs/ecosystem.md"


def test_ecosystem_doc_snippets_are_valid_yaml_and_toml() -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    from ruamel.yaml import YAML

    text = (ROOT / "docs" / "ecosystem.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(yaml|toml)\n(.*?)```", text, re.S)
    assert blocks
    for lang, body in blocks:
        if lang == "toml":
            from istio_vm_lint.config import settings_from_mapping

            settings_from_mapping(tomllib.loads(body), "docs")  # every key valid
        else:
            list(YAML(typ="safe", pure=True).load_all(body))
