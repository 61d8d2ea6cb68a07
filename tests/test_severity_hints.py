"""Severity that depends on what the repository can know says so, and dangling references
get "did you mean" hints from what the repository defines (issue 15 item 7)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_ecosystem_support import run

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "vm-whoami"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "r")
    return tmp_path / "r"


def findings(repo: Path, code: str) -> list[dict]:
    r = run(["check", ".", "--isolated", "--format", "json", "--select", code], cwd=repo)
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)["findings"]


def set_host(repo: Path, host: str) -> None:
    vs = repo / "whoami" / "virtualservice.yaml"
    vs.write_text(vs.read_text().replace("host: whoami.example.internal", f"host: {host}"))


@pytest.mark.parametrize("host,severity,hint,why", [
    # a typo of a host the repository defines: did you mean; not cluster-local, so a warning
    ("whoami.example.internl", "warning", "did you mean 'whoami.example.internal'", "(warning, not error: "),
    ("whoam.example.internal", "warning", "did you mean 'whoami.example.internal'", "external-hosts"),
    # a namespace the repository says nothing about: info, and the message says why
    ("whoami.other.svc.cluster.local", "info", "", "(info, not error: the repository declares nothing in namespace "
                                                   "'other'"),
    # a short name in a namespace the repository owns: error, nothing lowered
    ("whoami-v3", "error", "", ""),
    # an addon Istio's release installs in istio-system (the repository has its Gateway there): info
    ("kiali.istio-system.svc.cluster.local", "info", "", "(info, not error: 'kiali' is a Service of Istio's addons"),
    ("kialli.istio-system.svc.cluster.local", "error", "", ""),
])
def test_dangling_host_hints_and_lowered_severity(repo: Path, host: str, severity: str, hint: str, why: str) -> None:
    set_host(repo, host)
    (f, *_) = findings(repo, "IVL501")
    assert f["severity"] == severity
    assert hint in f["message"] and why in f["message"], f["message"]
    if severity == "error":
        assert ", not error" not in f["message"]


def test_gateway_typo_did_you_mean(repo: Path) -> None:
    vs = repo / "whoami" / "virtualservice.yaml"
    vs.write_text(vs.read_text().replace("istio-system/whoami-gateway", "istio-system/whoami-gatway"))
    (f,) = findings(repo, "IVL503")
    assert f["severity"] == "error" and "did you mean 'istio-system/whoami-gateway'?" in f["message"], f
    vs.write_text(vs.read_text().replace("istio-system/whoami-gatway", "whoami-gateway"))  # wrong namespace
    (f,) = findings(repo, "IVL503")
    assert "did you mean 'istio-system/whoami-gateway'?" in f["message"], f
    vs.write_text(vs.read_text().replace("- whoami-gateway", "- elsewhere/whoami-gw"))
    (f,) = findings(repo, "IVL503")
    assert f["severity"] == "info" and "(info, not error: the repository declares nothing in namespace 'elsewhere'" \
        in f["message"], f


def test_destination_rule_host_typo(repo: Path) -> None:
    dr = repo / "whoami" / "destinationrule.yaml"
    dr.write_text(dr.read_text().replace("host: whoami.example.internal", "host: whoami.example.internl"))
    (f,) = findings(repo, "IVL502")
    assert f["severity"] == "warning" and "did you mean 'whoami.example.internal'" in f["message"], f


@pytest.mark.parametrize("code", ["IVL501", "IVL502", "IVL503", "IVL506", "IVL103"])
def test_rules_and_explain_say_the_severity_depends_on_the_repository(code: str) -> None:
    listing = run(["rules"]).stdout
    line = next(x for x in listing.splitlines() if x.startswith(code))
    assert line.split()[1].endswith("*"), line
    assert "* lower (warning or info) when the finding depends on what the repository cannot know" in listing
    text = run(["explain", code]).stdout
    assert "lower when the repository cannot know]" in text.splitlines()[0]
    note = text.split("## Severity", 1)[1]
    assert "info" in note or "warning" in note
    doc = json.loads(run(["rules", "--format", "json"]).stdout)
    (r,) = [x for x in doc["rules"] if x["code"] == code]
    assert r["severity_note"]


def test_rules_with_a_fixed_severity_have_no_note() -> None:
    doc = json.loads(run(["rules", "--format", "json"]).stdout)
    (r,) = [x for x in doc["rules"] if x["code"] == "IVL201"]
    assert r["severity_note"] == ""
    assert "## Severity" not in run(["explain", "IVL201"]).stdout
