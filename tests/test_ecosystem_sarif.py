"""SARIF 2.1.0: valid against the vendored OASIS schema, and what GitHub code scanning needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from test_ecosystem_support import SELECT, VS_BAD, make_repo, run, run_process

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-04/schema")
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def _validate(validator: jsonschema.Draft4Validator, doc: dict) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def sarif(tmp_path: Path, *args: str) -> dict:
    r = run(["check", ".", "--format", "sarif", *args], cwd=tmp_path)
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)


def test_clean_run_is_valid(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    make_repo(tmp_path)
    doc = sarif(tmp_path, *SELECT)
    _validate(validator, doc)
    assert doc["version"] == "2.1.0" and doc["runs"][0]["results"] == []


def test_findings_are_valid_and_complete(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    make_repo(tmp_path, VS_BAD)
    doc = sarif(tmp_path, *SELECT)
    _validate(validator, doc)
    run_ = doc["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "istio-vm-lint" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    for r in driver["rules"]:  # GitHub GH2012: every rule fully described
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
        assert r["help"]["markdown"] and r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert rules["IVL009"]["defaultConfiguration"]["level"] == "note"
    (res,) = run_["results"]
    assert res["ruleId"] == "IVL501" and driver["rules"][res["ruleIndex"]]["id"] == "IVL501"
    assert res["level"] == "error"
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "mesh/vs.yaml", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 12, "startColumn": 9}
    assert res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "VirtualService/vm/whoami"
    assert res["partialFingerprints"]["istioVmLint/v1"]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_help_matches_explain(tmp_path: Path) -> None:
    make_repo(tmp_path)
    doc = sarif(tmp_path)
    rule = next(r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "IVL002")
    assert rule["help"]["text"] == run(["explain", "IVL002"]).stdout


def test_levels_follow_severity_overrides(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='[severity]\nIVL5 = "info"\n')
    doc = sarif(tmp_path, *SELECT)
    assert [r["level"] for r in doc["runs"][0]["results"]] == ["note"]


def test_uris_are_relative_to_the_root_not_the_cwd(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    r = run(["check", "vs.yaml", "--format", "sarif", *SELECT], cwd=tmp_path / "mesh")
    res = json.loads(r.stdout)["runs"][0]["results"][0]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "mesh/vs.yaml"
    top = sarif(tmp_path, *SELECT)["runs"][0]["results"][0]
    assert res["partialFingerprints"] == top["partialFingerprints"]


def test_fingerprints_survive_line_shifts(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    before = sarif(tmp_path, *SELECT)["runs"][0]["results"][0]
    vs = tmp_path / "mesh" / "vs.yaml"
    vs.write_text("# a comment\n# and another\n" + vs.read_text().replace("  hosts:", "  # note\n  hosts:"))
    after = sarif(tmp_path, *SELECT)["runs"][0]["results"][0]
    assert after["locations"][0]["physicalLocation"]["region"]["startLine"] == 15
    assert after["partialFingerprints"] == before["partialFingerprints"]


def test_parse_errors_and_odd_paths_are_valid(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    make_repo(tmp_path)
    (tmp_path / "mesh" / "with space & ü.yaml").write_text("apiVersion: v1\nkind: [\n")
    (tmp_path / "mesh" / "dup.yaml").write_text("kind: A\nkind: B\napiVersion: v1\n---\nkind: A\nkind: B\napiVersion: v1\n")
    doc = sarif(tmp_path)
    _validate(validator, doc)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert "mesh/with%20space%20%26%20%C3%BC.yaml" in uris
    fps = [r["partialFingerprints"]["istioVmLint/v1"] for r in doc["runs"][0]["results"]]
    assert len(fps) == len(set(fps))  # unique within a run even for look-alike findings


def test_stdin_is_valid(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    r = run(["check", "-", "--format", "sarif"], cwd=tmp_path, input=b"kind: A\nkind: B\napiVersion: v1\n")
    doc = json.loads(r.stdout)
    _validate(validator, doc)
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "%3Cstdin%3E"


def test_related_locations(validator: jsonschema.Draft4Validator) -> None:
    from istio_vm_lint.findings import Finding, Location, Related, ResourceRef
    from istio_vm_lint.report import ReportContext
    from istio_vm_lint.report.sarif_format import render

    ref = ResourceRef("ServiceEntry", "a", "vm")
    other = ResourceRef("WorkloadEntry", "b", "vm")
    f = Finding("IVL101", "x", "warning", "m", Location("a.yaml", 3, 5), ref, "spec.workloadSelector",
                [Related(Location("b.yaml", 7, 1), other)], "abc")
    doc = json.loads(render([f], ReportContext()))
    _validate(validator, doc)
    rel = doc["runs"][0]["results"][0]["relatedLocations"][0]
    assert rel["physicalLocation"]["region"]["startLine"] == 7
    assert rel["message"]["text"] == "WorkloadEntry vm/b"


def test_real_process_output_is_valid(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "mesh" / "broken.yaml").write_bytes(b"apiVersion: v1\nkind: Service\n\t- {{ x }}\n")
    p = run_process(["check", ".", "--format", "sarif"], cwd=tmp_path)
    assert p.returncode == 1
    _validate(validator, json.loads(p.stdout))


def test_related_locations_are_linked_from_the_message(validator: jsonschema.Draft4Validator) -> None:
    """GitHub shows a related location only when the message links it as ``[text](id)``."""
    from istio_vm_lint.findings import Finding, Location, Related, ResourceRef
    from istio_vm_lint.report import ReportContext
    from istio_vm_lint.report.sarif_format import render

    ref = ResourceRef("VirtualService", "a", "vm")
    f = Finding("IVL201", "x", "error", "exportTo ['*'] has no port 80", Location("a.yaml", 3, 5), ref, "spec",
                [Related(Location("b.yaml", 7, 1), ResourceRef("ServiceEntry", "b", "vm")),
                 Related(Location("c.yaml", 2, 1), ResourceRef("WorkloadEntry", "c", "vm"))], "abc")
    doc = json.loads(render([f], ReportContext()))
    _validate(validator, doc)
    res = doc["runs"][0]["results"][0]
    text = res["message"]["text"]
    assert text == ("exportTo \\['*'\\] has no port 80 (related: [ServiceEntry vm/b](1), "
                    "[WorkloadEntry vm/c](2))")
    assert [r["id"] for r in res["relatedLocations"]] == [1, 2]
    # without related locations the message is left as it is
    f.related = []
    assert json.loads(render([f], ReportContext()))["runs"][0]["results"][0]["message"]["text"] == f.message


def test_real_related_finding_links(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    from test_ecosystem_support import BASE

    make_repo(tmp_path)
    (tmp_path / "mesh" / "base.yaml").write_text(BASE.replace("  - number: 80", "  - number: 81"))
    (tmp_path / "mesh" / "vs.yaml").write_text(
        (tmp_path / "mesh" / "vs.yaml").read_text() + "        port:\n          number: 80\n")
    doc = sarif(tmp_path, "--select", "IVL201")
    _validate(validator, doc)
    (res,) = doc["runs"][0]["results"]
    assert "[ServiceEntry vm/whoami](1)" in res["message"]["text"]
    assert res["relatedLocations"][0]["id"] == 1


def test_a_run_that_exits_2_is_not_successful(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    make_repo(tmp_path, VS_BAD)
    r = run(["check", ".", "nope", "--format", "sarif", *SELECT], cwd=tmp_path)
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    _validate(validator, doc)
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert "no such file or directory: nope" in inv["toolExecutionNotifications"][0]["message"]["text"]
    assert doc["runs"][0]["results"]  # what could be read is still reported
    ok = sarif(tmp_path, *SELECT)["runs"][0]["invocations"][0]
    assert ok == {"executionSuccessful": True}


def test_rule_help_cites_only_what_users_have(tmp_path: Path) -> None:
    """Rule help points at docs/rules.md (an anchor that exists) and docs/semantics.md sections,
    never at development-time material."""
    import re

    make_repo(tmp_path)
    doc = sarif(tmp_path)
    text = json.dumps(doc)
    assert "shared/" not in text and "reference/" not in text and "istio-semantics.md" not in text
    root = Path(__file__).resolve().parent.parent
    rules_md = (root / "docs" / "rules.md").read_text(encoding="utf-8")
    anchors = {f"{m.group(1).lower()}-{m.group(2)}" for m in re.finditer(r"^### (IVL\d{3}) (\S+)$", rules_md, re.M)}
    for r in doc["runs"][0]["tool"]["driver"]["rules"]:
        md = r["help"]["markdown"]
        m = re.search(r"docs/rules\.md#([a-z0-9-]+)", md)
        assert m and m.group(1) in anchors, (r["id"], m and m.group(1))
        assert "docs/rules.md#" in r["help"]["text"]
