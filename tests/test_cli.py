"""The CLI contract: exit codes in every format, selection, stdin, repository context, manners."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ecosystem_support import SELECT, VS_BAD, make_repo, run, run_process

FORMATS = ("text", "json", "sarif", "github")


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_zero_when_clean(tmp_path: Path, fmt: str) -> None:
    make_repo(tmp_path)
    r = run(["check", ".", *SELECT, "--format", fmt], cwd=tmp_path)
    assert r.exit_code == 0, r.output
    if fmt in ("json", "sarif"):
        json.loads(r.stdout)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_one_with_findings(tmp_path: Path, fmt: str) -> None:
    make_repo(tmp_path, VS_BAD)
    r = run(["check", ".", *SELECT, "--format", fmt], cwd=tmp_path)
    assert r.exit_code == 1, r.output
    assert "IVL501" in r.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_two_on_missing_path(tmp_path: Path, fmt: str) -> None:
    make_repo(tmp_path)
    r = run(["check", "mesh", "nope.yaml", "--format", fmt], cwd=tmp_path)
    assert r.exit_code == 2
    assert "no such file or directory: nope.yaml" in r.stderr
    if fmt in ("json", "sarif"):
        json.loads(r.stdout)  # stdout still parses


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_two_on_bad_config(tmp_path: Path, fmt: str) -> None:
    make_repo(tmp_path, config='fail-on = "sometimes"\n')
    r = run(["check", ".", "--format", fmt], cwd=tmp_path)
    assert r.exit_code == 2
    assert "fail-on" in r.stderr and r.stdout == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_two_on_internal_error(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from istio_vm_lint import engine
    from istio_vm_lint.rule import Rule

    def boom(ctx):  # type: ignore[no-untyped-def]
        for _r in ctx.each("VirtualService"):
            raise KeyError("boom")
        yield  # pragma: no cover

    broken = Rule("IVL999", "broken", "error", "s", "r", "b", "g", boom)
    real = engine.all_rules()
    monkeypatch.setattr(engine, "all_rules", lambda: {**real, "IVL999": broken})
    make_repo(tmp_path)
    r = run(["check", ".", "--format", fmt], cwd=tmp_path)
    assert r.exit_code == 2
    assert "IVL000" in r.stdout and "IVL999" in r.stdout


def test_fail_on_threshold(tmp_path: Path) -> None:
    # The mirror-less partial host is a warning-level IVL501 in the bad fixture; use severity
    # overrides to get a pure warning instead, which does not depend on the rule's wording.
    make_repo(tmp_path, VS_BAD, config='[severity]\nIVL501 = "warning"\n')
    assert run(["check", ".", *SELECT], cwd=tmp_path).exit_code == 0  # default fail-on = error
    assert run(["check", ".", *SELECT, "--fail-on", "warning"], cwd=tmp_path).exit_code == 1
    assert run(["check", ".", *SELECT, "--fail-on", "info"], cwd=tmp_path).exit_code == 1
    r = run(["check", ".", *SELECT, "--fail-on", "bogus"], cwd=tmp_path)
    assert r.exit_code == 2


def test_exit_zero_flag(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    r = run(["check", ".", *SELECT, "--exit-zero"], cwd=tmp_path)
    assert r.exit_code == 0 and "IVL501" in r.stdout


def test_exit_zero_does_not_hide_usage_errors(tmp_path: Path) -> None:
    make_repo(tmp_path)
    assert run(["check", "missing", "--exit-zero"], cwd=tmp_path).exit_code == 2


@pytest.mark.parametrize("args, expect", [
    (["--select", "IVL5"], True),
    (["--select", "IVL50"], True),
    (["--select", "IVL501"], True),
    (["--select", "IVL0"], False),
    (["--select", "ALL", "--ignore", "IVL5"], False),
    (["--select", "ALL", "--ignore", "IVL501"], False),
    (["--select", "IVL501", "--ignore", "IVL5"], True),  # more specific wins
    (["--select", "IVL5", "--ignore", "IVL5"], False),  # ties go to ignore
    (["--select", "IVL0", "--extend-select", "IVL501"], True),
    (["--select", "ivl501"], True),  # case-insensitive
    (["--select", "IVL0,IVL501"], True),
])
def test_selection_prefixes(tmp_path: Path, args: list[str], expect: bool) -> None:
    make_repo(tmp_path, VS_BAD)
    r = run(["check", ".", *args], cwd=tmp_path)
    assert ("IVL501" in r.stdout) is expect, r.output
    assert r.exit_code in (0, 1)


@pytest.mark.parametrize("bad", ["IVL-501", "E501", "IVL5011", ""])
def test_bad_selector_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    make_repo(tmp_path)
    r = run(["check", ".", "--select", bad or ","], cwd=tmp_path)
    if not bad:
        assert r.exit_code == 0  # an empty list selects the default (everything)
        return
    assert r.exit_code == 2
    assert "--select" in r.stderr and bad.upper() in r.stderr


def test_stdin_with_stdin_filename(tmp_path: Path) -> None:
    r = run(["check", "-", "--stdin-filename", "mesh/vs.yaml", "--select", "IVL0"], cwd=tmp_path,
            input=b"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n")
    assert r.exit_code == 1
    assert r.stdout.startswith("mesh/vs.yaml:5:3: IVL002 [error]"), r.stdout


def test_stdin_default_name(tmp_path: Path) -> None:
    r = run(["check", "-", "--format", "json"], cwd=tmp_path, input=b"apiVersion: v1\nkind: [\n")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["findings"][0]["file"] == "<stdin>" and doc["findings"][0]["code"] == "IVL001"


def test_stdin_in_repo_resolves_against_the_rest(tmp_path: Path) -> None:
    """An editor piping a buffer: the rest of the repository is loaded, only stdin reported."""
    make_repo(tmp_path, VS_BAD)
    good = (tmp_path / "mesh" / "vs.yaml").read_text().replace("host: whoami\n", "host: whoami.example.internal\n")
    r = run(["check", "-", "--stdin-filename", "mesh/vs.yaml", *SELECT], cwd=tmp_path, input=good.encode())
    assert r.exit_code == 0, r.output
    r = run(["check", "-", "--stdin-filename", "mesh/vs.yaml", *SELECT], cwd=tmp_path, input=VS_BAD.encode())
    assert r.exit_code == 1 and r.stdout.startswith("mesh/vs.yaml:12:9: IVL501")


def test_named_file_sees_the_rest_of_the_repository(tmp_path: Path) -> None:
    make_repo(tmp_path)
    r = run(["check", "mesh/vs.yaml", *SELECT], cwd=tmp_path)
    assert r.exit_code == 0, r.output  # the ServiceEntry in base.yaml was loaded as context
    r = run(["check", "mesh/vs.yaml", *SELECT, "--no-context"], cwd=tmp_path)
    assert "IVL501" in r.stdout  # without it the host dangles


def test_named_file_limits_where_findings_are_reported(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "mesh" / "broken.yaml").write_text("kind: A\nkind: B\napiVersion: v1\n")  # IVL002 in another file
    r = run(["check", "mesh/vs.yaml", *SELECT], cwd=tmp_path)
    assert r.exit_code == 1
    assert "vs.yaml:12:9: IVL501" in r.stdout and "broken.yaml" not in r.stdout
    r = run(["check", "mesh/broken.yaml", *SELECT], cwd=tmp_path)
    assert "broken.yaml:2:1: IVL002" in r.stdout and "vs.yaml" not in r.stdout
    r = run(["check", ".", *SELECT], cwd=tmp_path)
    assert "broken.yaml" in r.stdout and "vs.yaml" in r.stdout


def test_named_file_from_a_subdirectory(tmp_path: Path) -> None:
    """The git root is found from the file, whatever the working directory."""
    make_repo(tmp_path)
    r = run(["check", "vs.yaml", *SELECT], cwd=tmp_path / "mesh")
    assert r.exit_code == 0, r.output


def test_root_option(tmp_path: Path) -> None:
    make_repo(tmp_path, git=False)
    assert "IVL501" in run(["check", "mesh/vs.yaml", *SELECT], cwd=tmp_path).stdout  # no root: no context
    r = run(["check", "mesh/vs.yaml", *SELECT, "--root", "."], cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout == ""
    r = run(["check", "mesh/vs.yaml", "--root", "nowhere"], cwd=tmp_path)
    assert r.exit_code == 2 and "--root" in r.stderr


def test_context_honours_exclude(tmp_path: Path) -> None:
    make_repo(tmp_path)
    r = run(["check", "mesh/vs.yaml", *SELECT, "--exclude", "base.yaml"], cwd=tmp_path)
    assert "IVL501" in r.stdout


def test_directories_are_linted_on_their_own(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "vs.yaml").write_text((tmp_path / "mesh" / "vs.yaml").read_text())
    r = run(["check", "other", *SELECT], cwd=tmp_path)
    assert "IVL501" in r.stdout


def test_json_stdout_is_clean_with_parse_errors(tmp_path: Path) -> None:
    """Byte-clean machine output: diagnostics never leak into stdout (real process)."""
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "mesh" / "broken.yaml").write_bytes(b"apiVersion: v1\nkind: [\n\t- x: {{ .Values }}\n\xff\xfe")
    (tmp_path / "mesh" / "helm.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n")
    for fmt in ("json", "sarif"):
        p = run_process(["check", ".", "missing-path", "--format", fmt, "-v"], cwd=tmp_path)
        assert p.returncode == 2
        doc = json.loads(p.stdout.decode("utf-8"))
        assert doc
        assert b"no such file" in p.stderr
    p = run_process(["check", ".", "--format", "github"], cwd=tmp_path)
    assert p.returncode == 1
    for line in p.stdout.decode().splitlines():
        assert line.startswith(("::error ", "::warning ", "::notice ")), line
    p = run_process(["check", ".", "--format", "json"], cwd=tmp_path)
    codes = {f["code"] for f in json.loads(p.stdout)["findings"]}
    assert "IVL001" in codes and p.returncode == 1


def test_no_colour_when_piped_or_no_color(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    p = run_process(["check", ".", *SELECT], cwd=tmp_path)
    assert b"\033[" not in p.stdout and b"\033[" not in p.stderr


def test_colour_on_tty_only_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from istio_vm_lint import cli_check as cli

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert cli._use_color(False) is True
    assert cli._use_color(True) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli._use_color(False) is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert cli._use_color(False) is False


def test_progress_only_on_a_tty(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from istio_vm_lint import cli_check as cli

    with cli.Progress(1000):
        pass
    assert capsys.readouterr().err == ""  # captured stderr is not a TTY
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    p = cli.Progress(1000)
    assert p.enabled
    with p:
        p.hook(5, 10)
        p._draw(0.0)
    err = capsys.readouterr().err
    assert "rules 5/10" in err and err.endswith("\r\033[K")


def test_text_output_contract(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    r = run(["check", ".", *SELECT], cwd=tmp_path)
    line = r.stdout.splitlines()[0]
    assert line.startswith("mesh/vs.yaml:12:9: IVL501 [error] "), line
    assert "Found 1 problem(s)" in r.stderr


def test_json_v1_shape(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    doc = json.loads(run(["check", ".", *SELECT, "--format", "json"], cwd=tmp_path).stdout)
    assert doc["version"] == 1 and set(doc) == {"version", "findings", "summary"}
    f = doc["findings"][0]
    assert set(f) == {"file", "line", "column", "code", "rule", "severity", "message", "resource", "field", "related"}
    assert (f["file"], f["line"], f["column"], f["code"]) == ("mesh/vs.yaml", 12, 9, "IVL501")


def test_default_command_and_default_path(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    assert run([*SELECT], cwd=tmp_path).exit_code == 1
    assert run(["mesh", *SELECT], cwd=tmp_path).exit_code == 1


def test_explain_and_rules() -> None:
    r = run(["explain", "IVL009"])
    assert r.exit_code == 0 and "unused-suppression" in r.stdout and "## Why is this bad?" in r.stdout
    assert run(["explain", "IVL998"]).exit_code == 2
    r = run(["rules", "--format", "json"])
    codes = [x["code"] for x in json.loads(r.stdout)["rules"]]
    assert "IVL009" in codes and codes == sorted(codes)


def test_graph_command(tmp_path: Path) -> None:
    make_repo(tmp_path)
    r = run(["graph", ".", "--format", "json"], cwd=tmp_path)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert any(n.get("kind") == "ServiceEntry" for n in doc["nodes"])
    r = run(["graph", ".", "--format", "mermaid", "--focus", "whoami.example.internal"], cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout.startswith("flowchart")
    r = run(["graph", ".", "--format", "dot"], cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout.startswith("digraph")
    assert run(["graph", "nowhere"], cwd=tmp_path).exit_code == 2
    assert run(["graph", ".", "--format", "png"], cwd=tmp_path).exit_code == 2


def test_graph_command_without_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    make_repo(tmp_path)
    monkeypatch.setitem(sys.modules, "istio_vm_lint.graph", None)  # import fails
    r = run(["graph", "."], cwd=tmp_path)
    assert r.exit_code == 2 and "graph export is not available" in r.stderr and r.stdout == ""


# --- found by a black-box audit of the CLI contracts -----------------------------------------


@pytest.mark.parametrize("flag", ["--select", "--ignore", "--extend-select"])
def test_a_selector_that_matches_no_rule_is_a_usage_error(tmp_path: Path, flag: str) -> None:
    """`--select IVL999` (a typo) would run nothing and exit 0: a green CI gate that checked
    nothing. Every selector must match at least one rule."""
    make_repo(tmp_path, VS_BAD)
    r = run(["check", ".", flag, "IVL5,IVL999"], cwd=tmp_path)
    assert r.exit_code == 2
    assert f"'{flag}': 'IVL999' matches no rule" in r.stderr
    make_repo(tmp_path, VS_BAD, config='select = ["IVL9"]\n')
    r = run(["check", "."], cwd=tmp_path)
    assert r.exit_code == 2 and "'select': 'IVL9' matches no rule" in r.stderr


def test_a_file_reached_by_two_names_is_read_once(tmp_path: Path) -> None:
    """A symlink beside its target (or one file named through a symlinked directory) must not
    load the resources twice: each would clash with itself."""
    make_repo(tmp_path, VS_BAD)
    (tmp_path / "mesh" / "alias.yaml").symlink_to("base.yaml")
    (tmp_path / "link").symlink_to(tmp_path / "mesh")
    plain = json.loads(run(["check", "mesh", "--format", "json", "--no-context"], cwd=tmp_path).stdout)
    for args in (["mesh"], ["mesh/base.yaml", "link/base.yaml", "mesh/vs.yaml"]):
        r = run(["check", *args, "--format", "json", "--no-context"], cwd=tmp_path)
        out = json.loads(r.stdout)
        assert out["findings"] == plain["findings"], args
        assert {f["file"] for f in out["findings"]} <= {"mesh/base.yaml", "mesh/vs.yaml"}


def test_stdin_filename_is_displayed_and_rooted_like_a_named_file(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    data = (tmp_path / "mesh" / "vs.yaml").read_bytes()
    named = json.loads(run(["check", "mesh/vs.yaml", "--format", "json"], cwd=tmp_path).stdout)["findings"]
    assert named
    for name in ("./mesh/vs.yaml", str(tmp_path / "mesh" / "vs.yaml")):
        r = run(["check", "--stdin-filename", name, "-", "--format", "json"], cwd=tmp_path, input=data)
        assert json.loads(r.stdout)["findings"] == named, name
    # From a parent directory the buffer's repository is still found (root, config, context).
    r = run(["check", "--stdin-filename", f"{tmp_path.name}/mesh/vs.yaml", "-", "--format", "json"],
            cwd=tmp_path.parent, input=data)
    assert [f["code"] for f in json.loads(r.stdout)["findings"]] == [f["code"] for f in named]


def test_progress_is_passed_in_settings(tmp_path: Path) -> None:
    """The progress hook is per-run state: passed as ``Settings.progress``, not set on a module."""
    from istio_vm_lint import engine
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    (tmp_path / "se.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a, namespace: ns}\n"
        "spec: {hosts: [a.example.com], ports: [{number: 80, name: http, protocol: HTTP}]}\n")
    calls: list[tuple[int, int]] = []
    settings = Settings(root=str(tmp_path), progress=lambda done, total: calls.append((done, total)))
    lint([str(tmp_path)], settings)
    assert calls and calls[-1][0] == calls[-1][1] > 0
    assert not hasattr(engine, "progress_hook")


def test_config_does_not_import_engine() -> None:
    import ast

    import istio_vm_lint.config as config

    tree = ast.parse(Path(config.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module is None for a in n.names}
    assert "engine" not in imported
