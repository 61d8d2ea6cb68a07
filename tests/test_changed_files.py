"""Named-file (pre-commit) runs report what a change breaks elsewhere (issue 15 item 1).

Changing the vm-whoami ServiceEntry's port 80 to 81 breaks the unchanged VirtualService
(IVL201): a run on the ServiceEntry alone must report it, marked as caused by the change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_ecosystem_support import run

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "vm-whoami"


def whoami_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    (repo / ".git").mkdir()
    return repo


def change_port(repo: Path) -> None:
    se = repo / "whoami" / "serviceentry.yaml"
    text = se.read_text()
    assert "  - number: 80\n" in text
    se.write_text(text.replace("  - number: 80\n", "  - number: 81\n"))


def test_unchanged_example_is_clean_file_by_file(tmp_path: Path) -> None:
    repo = whoami_repo(tmp_path)
    for f in sorted((repo / "whoami").glob("*.yaml")):
        r = run(["check", str(f.relative_to(repo)), "--fail-on", "warning"], cwd=repo)
        assert r.exit_code == 0, r.output


def test_change_to_one_file_reports_what_it_breaks_in_another(tmp_path: Path) -> None:
    repo = whoami_repo(tmp_path)
    change_port(repo)
    r = run(["check", "whoami/serviceentry.yaml"], cwd=repo)
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines and all(line.startswith("whoami/virtualservice.yaml:") for line in lines), r.stdout
    assert "IVL201 [error]" in lines[0]
    assert lines[0].endswith("(caused by the change to ServiceEntry whoami/whoami in whoami/serviceentry.yaml)")
    assert r.stderr.strip().endswith("in 1 resources (1 files); 2 of them in other files, caused by the change.")
    doc = json.loads(run(["check", "whoami/serviceentry.yaml", "--format", "json"], cwd=repo).stdout)
    f = doc["findings"][0]
    assert f["code"] == "IVL201" and f["file"] == "whoami/virtualservice.yaml"
    assert f["caused_by"] == {"file": "whoami/serviceentry.yaml", "line": 13, "column": 1,
                              "resource": {"kind": "ServiceEntry", "name": "whoami", "namespace": "whoami"}}
    assert "caused_by" not in json.loads(run(["check", ".", "--format", "json"], cwd=repo).stdout)["findings"][0]
    sarif = json.loads(run(["check", "whoami/serviceentry.yaml", "--format", "sarif"], cwd=repo).stdout)
    res = sarif["runs"][0]["results"][0]
    assert res["properties"]["causedBy"]["file"] == "whoami/serviceentry.yaml"
    assert "caused by the change to ServiceEntry whoami/whoami" in res["message"]["text"]
    gh = run(["check", "whoami/serviceentry.yaml", "--format", "github"], cwd=repo).stdout
    assert "file=whoami/virtualservice.yaml" in gh and "caused by the change" in gh
    # the VirtualService itself named: reported as its own finding, without a cause
    r = run(["check", "whoami/virtualservice.yaml", "--format", "json"], cwd=repo)
    assert all("caused_by" not in f for f in json.loads(r.stdout)["findings"])


def test_unrelated_findings_in_other_files_stay_unreported(tmp_path: Path) -> None:
    repo = whoami_repo(tmp_path)
    # a defect in the Gateway file that the ServiceEntry has nothing to do with
    gw = repo / "istio-system" / "gateway.yaml"
    gw.write_text(gw.read_text() + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                  "metadata:\n  name: lost\n  namespace: whoami\nspec:\n  hosts: [lost.example.com]\n"
                  "  http:\n  - route:\n    - destination:\n        host: nowhere\n")
    assert "IVL501" in run(["check", "."], cwd=repo).stdout
    r = run(["check", "whoami/serviceentry.yaml"], cwd=repo)
    assert r.exit_code == 0 and "IVL501" not in r.stdout, r.output


def test_suppression_in_the_broken_file_still_applies(tmp_path: Path) -> None:
    repo = whoami_repo(tmp_path)
    change_port(repo)
    vs = repo / "whoami" / "virtualservice.yaml"
    vs.write_text("# istio-vm-lint: disable-file\n" + vs.read_text())
    r = run(["check", "whoami/serviceentry.yaml", "--extend-select", "IVL009"], cwd=repo)
    assert r.exit_code == 0 and r.stdout == "", r.output


def test_relabelled_workload_reports_the_selector_it_breaks(tmp_path: Path) -> None:
    """The reverse direction: a WorkloadEntry's label changes and the unchanged ServiceEntry
    now selects nothing (IVL101, whose related location is the nearest workload)."""
    repo = whoami_repo(tmp_path)
    for name in ("deployment.yaml", "workloadgroup.yaml"):
        (repo / "whoami" / name).unlink()
    for f in ("whoami/destinationrule.yaml", "whoami/virtualservice.yaml"):
        (repo / f).unlink()
    we = repo / "whoami" / "workloadentries.yaml"
    assert run(["check", "whoami/workloadentries.yaml", "--select", "IVL101"], cwd=repo).exit_code == 0
    we.write_text(we.read_text().replace("app: whoami\n", "app: whoami-vm\n"))
    r = run(["check", "whoami/workloadentries.yaml", "--select", "IVL101", "--format", "json"], cwd=repo)
    assert r.exit_code == 1, r.output
    (f,) = json.loads(r.stdout)["findings"]
    assert f["file"] == "whoami/serviceentry.yaml" and f["related"][0]["file"] == "whoami/workloadentries.yaml"
    assert f["caused_by"]["file"] == "whoami/workloadentries.yaml"


def test_named_file_run_lints_only_the_units_that_contain_it(tmp_path: Path, monkeypatch: "pytest.MonkeyPatch") -> None:
    """Context for a named-file run is the units containing the named files (issue 15 item 2):
    in a repository of unrelated samples the other samples' rules do not run, and nothing is
    reported from or about them."""
    from istio_vm_lint.units import run as units_mod

    repo = tmp_path / "repo"
    for name in ("a", "b"):
        shutil.copytree(EXAMPLE, repo / "samples" / name)
    (repo / ".git").mkdir()
    (repo / ".istio-vm-lint.toml").write_text('units = ["samples/a", "samples/b"]\n')
    change_port(repo / "samples" / "a")
    ran: list[str] = []
    real = units_mod.run_unit

    def spy(unit, *args, **kwargs):  # type: ignore[no-untyped-def]
        ran.append(unit.name)
        return real(unit, *args, **kwargs)

    monkeypatch.setattr(units_mod, "run_unit", spy)
    r = run(["check", "samples/a/whoami/serviceentry.yaml"], cwd=repo)
    assert r.exit_code == 1, r.output
    assert ran == ["samples/a"], ran
    lines = r.stdout.splitlines()
    assert lines and all(x.startswith("samples/a/whoami/virtualservice.yaml:") for x in lines), r.stdout
    ran.clear()
    r = run(["check", "."], cwd=repo)  # the whole repository: every unit, each sample alone
    assert sorted(ran) == ["samples/a", "samples/b"]
    assert "samples/b/" not in r.stdout and "IVL201" in r.stdout
