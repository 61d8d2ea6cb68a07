"""GitHub Actions annotations: syntax, escaping, severities and the display-limit notice."""

from __future__ import annotations

from pathlib import Path

from istio_vm_lint.findings import Finding, Location, Related, ResourceRef
from istio_vm_lint.report import ReportContext
from istio_vm_lint.report.github_format import escape_data, escape_property, overflow, render
from test_ecosystem_support import SELECT, VS_BAD, make_repo, run


def _f(sev: str = "error", msg: str = "m", file: str = "a.yaml", line: int = 1) -> Finding:
    return Finding("IVL101", "selector-matches-nothing", sev, msg, Location(file, line, 3),
                   ResourceRef("ServiceEntry", "a", "vm"), "spec", [], "fp")


def test_escaping() -> None:
    assert escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_severity_commands_and_properties() -> None:
    out = render([_f("error"), _f("warning"), _f("info")], ReportContext())
    lines = out.splitlines()
    assert lines[0] == "::error file=a.yaml,line=1,col=3,title=IVL101 selector-matches-nothing::m"
    assert lines[1].startswith("::warning ") and lines[2].startswith("::notice ")


def test_message_and_path_escaping() -> None:
    out = render([_f(msg="100% broken\nsecond line", file="dir,x/a:b.yaml")], ReportContext())
    assert out == ("::error file=dir%2Cx/a%3Ab.yaml,line=1,col=3,title=IVL101 selector-matches-nothing"
                   "::100%25 broken%0Asecond line\n")


def test_related_in_message() -> None:
    f = _f()
    f.related.append(Related(Location("b.yaml", 9, 1), ResourceRef("WorkloadEntry", "b", "vm")))
    assert render([f], ReportContext()).endswith("::m%0Arelated: b.yaml:9 (WorkloadEntry vm/b)\n")


def test_overflow_notice_first() -> None:
    few = [_f() for _ in range(10)] + [_f("warning") for _ in range(10)]
    assert overflow(few) == 0 and not render(few, ReportContext()).startswith("::notice")
    many = [_f() for _ in range(15)] + [_f("warning") for _ in range(3)]
    assert overflow(many) == 5
    out = render(many, ReportContext()).splitlines()
    assert out[0].startswith("::notice title=istio-vm-lint::") and "15+3" not in out[0]
    assert len(out) == 19
    notes = [_f("info") for _ in range(60)]
    assert overflow(notes) == 10  # 50 per job


def test_cli_paths_are_root_relative_and_overflow_goes_to_stderr(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD)
    r = run(["check", "vs.yaml", "--format", "github", *SELECT], cwd=tmp_path / "mesh")
    assert r.exit_code == 1
    assert r.stdout.startswith("::error file=mesh/vs.yaml,line=12,col=9,title=IVL501 ")
    for i in range(12):
        (tmp_path / "mesh" / f"dup{i}.yaml").write_text("kind: A\nkind: B\napiVersion: v1\n")
    r = run(["check", ".", "--format", "github", *SELECT], cwd=tmp_path)
    assert r.stdout.startswith("::notice title=istio-vm-lint::")
    assert "GitHub shows at most" in r.stderr
