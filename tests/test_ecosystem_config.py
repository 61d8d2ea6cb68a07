"""Configuration: both file forms, every key, CLI precedence, and errors that name the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from istio_vm_lint.config import Settings, config_keys, load_config_file
from test_ecosystem_support import SELECT, VS_BAD, make_repo, run


def findings(tmp_path: Path, *args: str, cwd: Path | None = None) -> list[dict]:
    r = run(["check", *(args or (".",)), "--format", "json"], cwd=cwd or tmp_path)
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)["findings"]


def test_every_key_parses(tmp_path: Path) -> None:
    cfg = tmp_path / ".istio-vm-lint.toml"
    cfg.write_text('''
select = ["IVL0", "IVL5"]
ignore = ["IVL502"]
extend-select = ["IVL009"]
exclude = ["charts/**"]
fail-on = "warning"
default-namespace = "apps"
cluster-domain = "corp.local"
root-namespace = "istio-config"
external-hosts = ["*.googleapis.com"]
external-namespaces = ["legacy"]
warn-unused-suppressions = true
baseline = "bl.json"
mesh-config = "mesh.yaml"
cache-dir = ".cache/ivl"
units = ["samples/*", "envs/*"]
shared-paths = ["mesh/*.yaml"]
kustomize-command = "kubectl kustomize"
helm-command = "helm"

[namespaces]
"apps/shop/**" = "shop"

[helm-values]
"charts/*" = ["values-prod.yaml"]

[per-file-ignores]
"generated/*.yaml" = ["IVL5"]

[severity]
IVL501 = "warning"
IVL5 = "info"
''')
    values = load_config_file(str(cfg))
    s = Settings(**values)
    assert s.select == ("IVL0", "IVL5") and s.ignore == ("IVL502",) and s.extend_select == ("IVL009",)
    assert s.fail_on == "warning" and s.default_namespace == "apps" and s.cluster_domain == "corp.local"
    assert s.root_namespace == "istio-config" and s.external_hosts == ("*.googleapis.com",)
    assert s.external_namespaces == ("legacy",) and s.warn_unused_suppressions is True
    assert s.per_file_ignores == {"generated/*.yaml": ("IVL5",)}
    assert s.severity == {"IVL501": "warning", "IVL5": "info"}
    assert s.baseline == str(tmp_path / "bl.json")
    assert s.mesh_config == str(tmp_path / "mesh.yaml")
    assert s.cache_dir == str(tmp_path / ".cache" / "ivl")
    assert s.units == ("samples/*", "envs/*") and s.shared_paths == ("mesh/*.yaml",)
    assert s.namespaces == {"apps/shop/**": "shop"} and s.helm_values == {"charts/*": ("values-prod.yaml",)}
    assert s.kustomize_command == "kubectl kustomize" and s.helm_command == "helm"
    assert set(config_keys()) == {k.replace("_", "-") for k in values} | {"per-file-ignores", "severity",
                                                                          "namespaces", "helm-values"}
    documented = (Path(__file__).resolve().parent.parent / "docs" / "ecosystem.md").read_text()
    for key in config_keys():
        assert f"`{key}`" in documented, f"config key {key} is not documented in docs/ecosystem.md"


def test_pyproject_table(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.istio-vm-lint]\nselect = ["IVL0", "IVL501"]\nignore = ["IVL501"]\n')
    assert findings(tmp_path, ".") == []  # (a command-line --select would start a new selection)


def test_dotfile_wins_over_pyproject(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='fail-on = "error"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.istio-vm-lint]\nignore = ["IVL501"]\n')
    assert len(findings(tmp_path, ".", *SELECT)) == 1


def test_pyproject_without_table_is_ignored(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "istio-vm-lint"\n')
    assert len(findings(tmp_path, ".", *SELECT)) == 1


def test_config_is_read_from_the_root(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='select = ["IVL0", "IVL501"]\nignore = ["IVL501"]\n')
    assert findings(tmp_path, "vs.yaml", cwd=tmp_path / "mesh") == []
    assert findings(tmp_path, ".", cwd=tmp_path / "mesh") == []


def test_config_found_upwards_without_git(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, git=False, config='select = ["IVL0", "IVL501"]\nignore = ["IVL501"]\n')
    assert findings(tmp_path, ".", cwd=tmp_path / "mesh") == []


def test_cli_overrides_config(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='select = ["IVL0"]\nfail-on = "info"\nignore = ["IVL502"]\n')
    assert findings(tmp_path, ".") == []
    assert len(findings(tmp_path, ".", "--select", "IVL501")) == 1  # --select replaces
    r = run(["check", ".", "--select", "IVL501", "--fail-on", "error", "--ignore", "IVL501"], cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout == ""  # --ignore adds; tie goes to ignore
    assert len(findings(tmp_path, ".", "--extend-select", "IVL501")) == 1
    assert findings(tmp_path, ".", "--isolated", "--select", "IVL0") == []


def test_explicit_config_option(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "ci.toml").write_text('select = ["IVL0", "IVL501"]\nignore = ["IVL501"]\n')
    assert findings(tmp_path, ".", "--config", "ci.toml") == []
    assert findings(tmp_path, ".", "--isolated", "--config", "ci.toml") == []
    r = run(["check", ".", "--config", "nope.toml"], cwd=tmp_path)
    assert r.exit_code == 2 and "nope.toml" in r.stderr


def test_settings_reach_the_rules(tmp_path: Path) -> None:
    """default-namespace and external-hosts change what IVL501 sees."""
    make_repo(tmp_path, VS_BAD, config='external-hosts = ["whoami.vm.svc.cluster.local"]\n')
    assert findings(tmp_path, ".", *SELECT) == []
    make_repo(tmp_path, VS_BAD, config='external-namespaces = ["vm"]\n')
    assert findings(tmp_path, ".", *SELECT) == []


def test_severity_override_and_fail_on(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='fail-on = "info"\n[severity]\nIVL5 = "info"\n')
    r = run(["check", ".", *SELECT], cwd=tmp_path)
    assert r.exit_code == 1 and "[info]" in r.stdout
    make_repo(tmp_path, VS_BAD, config='[severity]\nIVL5 = "info"\nIVL501 = "warning"\n')
    assert "[warning]" in run(["check", ".", *SELECT], cwd=tmp_path).stdout  # longest selector wins


@pytest.mark.parametrize("text, key", [
    ('selct = ["IVL0"]\n', "selct"),
    ('select = "IVL0,IVL-1"\n', "select"),
    ('select = [1]\n', "select"),
    ('fail-on = "never"\n', "fail-on"),
    ('fail-on = 3\n', "fail-on"),
    ('cluster-domain = ""\n', "cluster-domain"),
    ('warn-unused-suppressions = "yes"\n', "warn-unused-suppressions"),
    ('per-file-ignores = ["x"]\n', "per-file-ignores"),
    ('[per-file-ignores]\n"a/*" = ["E501"]\n', "per-file-ignores.a/*"),
    ('[per-file-ignores]\n"a/*" = 3\n', "per-file-ignores"),
    ('[severity]\nIVL501 = "fatal"\n', "severity.IVL501"),
    ('[severity]\nE501 = "info"\n', "severity.E501"),
    ('severity = "info"\n', "severity"),
    ('root = "/"\n', "root"),
    ('select = [\n', "invalid TOML"),
])
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    make_repo(tmp_path, config=text)
    r = run(["check", "."], cwd=tmp_path)
    assert r.exit_code == 2, r.output
    assert "configuration error" in r.stderr and key in r.stderr and ".istio-vm-lint.toml" in r.stderr
    assert r.stdout == ""


def test_unknown_key_suggests(tmp_path: Path) -> None:
    make_repo(tmp_path, config='fail_onn = "error"\n')
    assert "did you mean 'fail-on'" in run(["check", "."], cwd=tmp_path).stderr


def test_bad_pyproject_table(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool]\nistio-vm-lint = 3\n# tool.istio-vm-lint\n')
    r = run(["check", "."], cwd=tmp_path)
    assert r.exit_code == 2 and "pyproject.toml" in r.stderr
