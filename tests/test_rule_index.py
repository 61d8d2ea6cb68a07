"""The rule index (``rules/_index.py``): each rule's module and inputs, so that a run imports
only the rule modules that can apply (``lint/registry.py``).  It must match the rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from istio_vm_lint import registry
from istio_vm_lint.engine import all_rules
from test_ecosystem_docs import _gen  # tools/gen_rules_doc.py loaded as a module

ROOT = Path(__file__).resolve().parent.parent


def test_index_is_current() -> None:
    current = (ROOT / "rules" / "_index.py").read_text(encoding="utf-8")
    if current != _gen().render_index():
        pytest.fail(f"rules/_index.py is stale: regenerate it with `{registry.INDEX_COMMAND}` and commit it",
                    pytrace=False)


def test_table_is_every_rule_in_order() -> None:
    table = all_rules()
    assert isinstance(table, registry.RuleTable)
    scanned = registry.scan_rules()
    assert list(table) == list(scanned) and len(table) == len(scanned)
    assert dict(table.items()) == scanned
    for code, r in scanned.items():
        assert table.inputs(code) == r.inputs
        assert table[code] is r and code in table
    assert "IVL999" not in table and table.get("IVL999") is None


def test_a_stale_index_fails_loudly() -> None:
    """A rule missing from the index, one it names that no module declares, or wrong inputs
    or module: listing the rules raises (``rules``, SARIF, docs, most tests list them)."""
    index = registry.index_entries(registry.scan_rules())
    some = next(c for c, (module, inputs) in index.items() if inputs and module != "document")
    for stale in ({c: e for c, e in index.items() if c != some},
                  {**index, "IVL998": index[some]},
                  {**index, some: ("document", index[some][1])},
                  {**index, some: (index[some][0], ("NoSuchKind",))}):
        with pytest.raises(registry.StaleIndex):
            registry.RuleTable(stale).values()
        with pytest.raises(registry.StaleIndex):
            registry.RuleTable(stale).items()


def test_a_run_imports_only_the_rule_modules_that_can_apply(tmp_path: Path) -> None:
    """A file of ConfigMaps runs no Gateway, Sidecar or AuthorizationPolicy rule: their
    modules are not imported (and the findings are those of the full rule set: the engine
    skips those rules anyway; tools and tests compare outputs)."""
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: b\n"
                                      "data:\n  k: v\n", encoding="utf-8")
    code = ("import sys; from istio_vm_lint.cli_group import main\n"
            "try:\n    main(['cm.yaml', '--isolated'])\nexcept SystemExit as e:\n    rc = e.code\n"
            "print(rc, ' '.join(m for m in sys.modules if m.startswith('istio_vm_lint.rules.')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rc, *modules = proc.stdout.split("\n")[-2].split()
    assert rc == "0"
    assert "istio_vm_lint.rules.document" in modules  # rules with no inputs always run
    index = registry.index_entries(registry.scan_rules())
    for module in ("validation_gateway", "validation_sidecar", "analyzers_gateway", "analyzers_sidecar"):
        assert all(inputs and "ConfigMap" not in inputs for m, inputs in index.values() if m == module)
        assert f"istio_vm_lint.rules.{module}" not in modules, module
