"""A rule that raises becomes one IVL000 finding; nothing else is lost; the CLI exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from istio_vm_lint import engine, registry
from istio_vm_lint.cli import main
from istio_vm_lint.config import Settings
from istio_vm_lint.findings import Problem
from istio_vm_lint.rule import Context, Rule
from istio_vm_lint.runner import lint

SE = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: whoami
  namespace: vm
spec:
  hosts: [whoami.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP}
  workloadSelector:
    labels: {app: whoami}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: boom
  namespace: vm
spec:
  hosts: [boom.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP}
  workloadSelector:
    labels: {app: boom}
"""
BOOM_LINE = 15  # the second document starts here
DUP = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n  namespace: vm\n  name: sa\n"


def _rule(code: str, name: str, check: Any, inputs: tuple[str, ...] = ()) -> Rule:
    return Rule(code, name, "error", "test rule", "", "", "", check, inputs, (), (), "test")


def _crash_on_boom(ctx: Context) -> Iterator[Problem]:
    # Reports first (whatever the iteration order), then fails on one resource.
    for se in ctx.each("ServiceEntry"):
        if se.name != "boom":
            yield Problem(se, ("spec", "hosts"), f"saw {se.name}")
    for se in ctx.each("ServiceEntry"):
        if se.name == "boom":
            raise KeyError("spec.nope")


def _crash_at_start(ctx: Context) -> Iterator[Problem]:
    raise ZeroDivisionError("division by zero")
    yield  # pragma: no cover


def _crash_in_graph(ctx: Context) -> Iterator[Problem]:
    raise RecursionError("maximum recursion depth exceeded")
    yield  # pragma: no cover


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "se.yaml").write_text(SE)
    (tmp_path / "sa.yaml").write_text(DUP)
    return tmp_path


@pytest.fixture
def broken_rules(monkeypatch: pytest.MonkeyPatch) -> dict[str, Rule]:
    """The real rules plus three broken ones, as the engine and the CLI see them."""
    rules = dict(engine.all_rules())
    extra = {
        "IVL990": _rule("IVL990", "crash-on-boom", _crash_on_boom, ("ServiceEntry",)),
        "IVL991": _rule("IVL991", "crash-at-start", _crash_at_start),
        "IVL992": _rule("IVL992", "crash-recursion", _crash_in_graph),
    }
    rules.update(extra)
    monkeypatch.setattr(registry, "_RULES", dict(sorted(rules.items())))
    return extra


def _internal(findings: list[Any]) -> list[Any]:
    return [f for f in findings if f.code == "IVL000"]


def test_one_ivl000_per_broken_rule_naming_rule_and_resource(repo: Path, broken_rules: dict[str, Rule],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    out = lint(["."], Settings())
    internal = _internal(out.findings)
    assert out.result.internal_errors == 3
    assert len(internal) == 3
    by_rule = {next(c for c in broken_rules if c in f.message): f for f in internal}
    assert set(by_rule) == set(broken_rules)

    boom = by_rule["IVL990"]
    assert "crash-on-boom" in boom.message and "KeyError" in boom.message
    assert boom.resource is not None and (boom.resource.kind, boom.resource.namespace, boom.resource.name) == \
        ("ServiceEntry", "vm", "boom")
    assert (boom.location.file, boom.location.line) == ("se.yaml", BOOM_LINE)
    assert boom.severity == "error" and boom.rule == "internal-error"

    start = by_rule["IVL991"]
    assert start.resource is None and "ZeroDivisionError" in start.message
    assert "RecursionError" in by_rule["IVL992"].message

    # What the broken rule found before it failed is kept; the other rules still ran.
    assert [f.message for f in out.findings if f.code == "IVL990"] == ["saw whoami"]
    assert [(f.location.file, f.location.line) for f in out.findings if f.code == "IVL002"] == [("sa.yaml", 6)]


def test_ivl000_cannot_be_deselected(repo: Path, broken_rules: dict[str, Rule], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ignoring IVL000 (or selecting only other codes) must not hide a crash."""
    monkeypatch.chdir(repo)
    out = lint(["."], Settings(select=("IVL990",), ignore=("IVL000",)))
    assert len(_internal(out.findings)) == 1 and out.result.internal_errors == 1


@pytest.mark.parametrize("fmt", ["json", "text", "sarif", "github"])
def test_cli_exits_2_and_still_reports(repo: Path, broken_rules: dict[str, Rule], fmt: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["check", "--format", fmt, "--isolated", "."])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    if fmt == "json":
        doc = json.loads(result.stdout)
        codes = [f["code"] for f in doc["findings"]]
        assert codes.count("IVL000") == 3 and "IVL002" in codes
        boom = next(f for f in doc["findings"] if f["code"] == "IVL000" and "IVL990" in f["message"])
        assert boom["resource"] == {"kind": "ServiceEntry", "name": "boom", "namespace": "vm"}
        assert (boom["file"], boom["line"]) == ("se.yaml", BOOM_LINE)
    elif fmt == "text":
        assert result.stdout.count(" IVL000 [error] ") == 3
    elif fmt == "sarif":
        doc = json.loads(result.stdout)
        assert sum(r["ruleId"] == "IVL000" for run in doc["runs"] for r in run["results"]) == 3


def test_exit_2_even_with_exit_zero(repo: Path, broken_rules: dict[str, Rule], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["check", "--format", "json", "--exit-zero", "--isolated", "."])
    assert result.exit_code == 2


def test_no_internal_error_without_broken_rules(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    out = lint(["."], Settings())
    assert not _internal(out.findings) and out.result.internal_errors == 0
    result = CliRunner().invoke(main, ["check", "--format", "json", "--isolated", "."])
    assert result.exit_code == 1  # the duplicate key
