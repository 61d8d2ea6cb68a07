"""Suppressions: comment directives (line, line above, document, file), annotations,
istioctl's galley annotation, per-file-ignores and IVL009 unused-suppression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from istio_vm_lint.suppress import parse_comments
from test_ecosystem_support import SELECT, VS_BAD, VS_GOOD, make_repo, run


def codes_at(tmp_path: Path, *args: str) -> list[tuple[str, int, str]]:
    r = run(["check", ".", "--format", "json", *args], cwd=tmp_path)
    assert r.exit_code in (0, 1), r.output
    return [(f["file"], f["line"], f["code"]) for f in json.loads(r.stdout)["findings"]]


BAD_LINE = "        host: whoami\n"


@pytest.mark.parametrize("vs", [
    # trailing on the finding's line
    VS_BAD.replace(BAD_LINE, "        host: whoami  # istio-vm-lint: disable=IVL501 -- external\n"),
    # alone on the line above
    VS_BAD.replace(BAD_LINE, "        # istio-vm-lint: disable=IVL501 -- external\n" + BAD_LINE),
    # stacked above, with a blank line
    VS_BAD.replace(BAD_LINE, "        # istio-vm-lint: disable=IVL2\n        # istio-vm-lint: disable=IVL5\n\n" + BAD_LINE),
    # no codes: everything on that line
    VS_BAD.replace(BAD_LINE, BAD_LINE.rstrip() + "  # istio-vm-lint: disable\n"),
    # document header
    "# istio-vm-lint: disable=IVL501 -- reason\n" + VS_BAD,
    # trailing on the '---' line
    "---  # istio-vm-lint: disable=IVL5\n" + VS_BAD,
    # trailing on the document's first line
    VS_BAD.replace("apiVersion: networking.istio.io/v1\n", "apiVersion: networking.istio.io/v1  # istio-vm-lint: disable=IVL501\n", 1),
    # file level, anywhere
    VS_BAD + "# istio-vm-lint: disable-file=IVL501\n",
    VS_BAD + "# istio-vm-lint: disable-file\n",
    # annotation
    VS_BAD.replace("  namespace: vm\n", "  namespace: vm\n  annotations:\n    istio-vm-lint.io/ignore: \"IVL200,IVL501\"\n", 1),
    # istioctl's annotation, through the rule's equivalents (IVL501 ~ IST0101)
    VS_BAD.replace("  namespace: vm\n", "  namespace: vm\n  annotations:\n    galley.istio.io/analyze-suppress: IST0101\n", 1),
])
def test_suppressed(tmp_path: Path, vs: str) -> None:
    make_repo(tmp_path, vs)
    assert codes_at(tmp_path, *SELECT) == []
    r = run(["check", ".", *SELECT], cwd=tmp_path)
    assert r.exit_code == 0 and "1 finding(s) suppressed" in r.stderr


@pytest.mark.parametrize("vs", [
    VS_BAD.replace(BAD_LINE, BAD_LINE.rstrip() + "  # istio-vm-lint: disable=IVL502\n"),  # other code
    VS_BAD.replace(BAD_LINE, "        # istio-vm-lint: disable=IVL501\n        port: {number: 80}\n" + BAD_LINE),
    VS_BAD.replace("  hosts:\n", "  hosts:  # istio-vm-lint: disable=IVL501\n"),  # another line
    VS_BAD.replace(BAD_LINE, "        host: whoami  # istio-vm-lint: disable-line=IVL501\n"),  # not our syntax
    VS_BAD.replace(BAD_LINE, "        host: whoami  # istio-vm-lint:disable=IVL501 because\n"),  # reason needs --
    VS_BAD.replace("  namespace: vm\n", "  namespace: vm\n  annotations:\n    galley.istio.io/analyze-suppress: IST0102\n", 1),
    VS_BAD.replace("  namespace: vm\n", "  namespace: vm\n  annotations:\n    istio-vm-lint.io/ignore: \"\"\n", 1),
    "# istio-vm-lint: disable=IVL501\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n---\n" + VS_BAD,
])
def test_not_suppressed(tmp_path: Path, vs: str) -> None:
    make_repo(tmp_path, vs)
    assert [c for (_, _, c) in codes_at(tmp_path, *SELECT)] == ["IVL501"]


def test_prefixes_in_directives(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD.replace(BAD_LINE, BAD_LINE.rstrip() + "  # istio-vm-lint: disable=ivl5\n"))
    assert codes_at(tmp_path, *SELECT) == []


def test_document_directive_covers_only_its_document(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD + "---\n# istio-vm-lint: disable=IVL002\na: 1\na: 2\n")
    assert {c for (_, _, c) in codes_at(tmp_path, *SELECT)} == {"IVL501"}
    make_repo(tmp_path, "# istio-vm-lint: disable=IVL002\n" + VS_BAD + "---\nkind: A\nkind: B\napiVersion: v1\n")
    assert {c for (_, _, c) in codes_at(tmp_path, *SELECT)} == {"IVL501", "IVL002"}


def test_comments_in_strings_are_not_directives() -> None:
    raw = b"a: 'x # istio-vm-lint: disable=IVL1'\nb: c#istio-vm-lint: disable\n"
    assert parse_comments("f", raw) == []


def test_parse_comments_scopes() -> None:
    raw = (b"# header\n# istio-vm-lint: disable=IVL101 -- why\n---\nkind: X\nspec:\n"
           b"  a: 1 # istio-vm-lint: disable=IVL2,IVL3\n  # istio-vm-lint: disable\n\n  b: 2\n"
           b"---\nkind: Y\n# istio-vm-lint: disable-file=IVL4\n")
    got = [(d.line, d.scope, d.first, d.last, d.codes, d.reason) for d in parse_comments("f", raw)]
    assert got == [
        (2, "document", 1, 9, ("IVL101",), "why"),
        (6, "line", 6, 6, ("IVL2", "IVL3"), ""),
        (7, "line", 9, 9, (), ""),
        (12, "file", 0, 0, ("IVL4",), ""),
    ]


def test_crashes_are_never_suppressed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from istio_vm_lint import engine
    from istio_vm_lint.rule import Rule

    def boom(ctx):  # type: ignore[no-untyped-def]
        for _ in ctx.each("VirtualService"):
            raise ValueError("x")
        yield  # pragma: no cover

    real = engine.all_rules()
    monkeypatch.setattr(engine, "all_rules", lambda: {**real, "IVL999": Rule("IVL999", "b", "error", "", "", "", "", boom)})
    make_repo(tmp_path, VS_GOOD + "# istio-vm-lint: disable-file\n")
    assert [c for (_, _, c) in codes_at_raw(tmp_path)] == ["IVL000"]


def codes_at_raw(tmp_path: Path) -> list[tuple[str, int, str]]:
    r = run(["check", ".", "--format", "json"], cwd=tmp_path)
    return [(f["file"], f["line"], f["code"]) for f in json.loads(r.stdout)["findings"]]


def test_per_file_ignores(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD, config='[per-file-ignores]\n"mesh/vs.yaml" = ["IVL5"]\n')
    assert codes_at(tmp_path, *SELECT) == []
    make_repo(tmp_path, VS_BAD, config='[per-file-ignores]\n"*.yaml" = ["IVL501"]\n')
    assert codes_at(tmp_path, *SELECT) == []
    make_repo(tmp_path, VS_BAD, config='[per-file-ignores]\n"mesh/base.yaml" = ["IVL501"]\n')
    assert len(codes_at(tmp_path, *SELECT)) == 1
    # globs are relative to the root, whatever the working directory
    make_repo(tmp_path, VS_BAD, config='[per-file-ignores]\n"mesh/*" = ["IVL501"]\n')
    r = run(["check", "vs.yaml", "--format", "json", *SELECT], cwd=tmp_path / "mesh")
    assert json.loads(r.stdout)["findings"] == []


def test_unused_suppressions_off_by_default(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_GOOD.replace("  hosts:\n", "  hosts:  # istio-vm-lint: disable=IVL501\n"))
    assert codes_at(tmp_path, *SELECT) == []


def test_unused_suppressions(tmp_path: Path) -> None:
    vs = (VS_GOOD.replace("  hosts:\n", "  hosts:  # istio-vm-lint: disable=IVL501,IVL7\n")
          + "# istio-vm-lint: disable-file=IVL0\n")
    make_repo(tmp_path, vs, config="warn-unused-suppressions = true\n")
    r = run(["check", ".", "--format", "json", "--select", "IVL0,IVL501"], cwd=tmp_path)
    found = [(f["line"], f["code"], f["severity"], f["message"]) for f in json.loads(r.stdout)["findings"]]
    # IVL7 is not selected: not reported; IVL0 hides nothing; IVL501 hides nothing.
    assert [(ln, c, s) for (ln, c, s, _) in found] == [(7, "IVL009", "info"), (13, "IVL009", "info")]
    assert "IVL501" in found[0][3] and "IVL0" in found[1][3]
    assert r.exit_code == 0  # info does not fail by default
    # enabled by naming the code, too
    make_repo(tmp_path, vs)
    assert len(codes_at(tmp_path, "--select", "IVL0,IVL501", "--extend-select", "IVL009")) == 2
    # and disabled by ignoring it
    make_repo(tmp_path, vs, config="warn-unused-suppressions = true\n")
    assert codes_at(tmp_path, *SELECT, "--ignore", "IVL009") == []


def test_used_suppression_is_not_reported(tmp_path: Path) -> None:
    make_repo(tmp_path, VS_BAD.replace(BAD_LINE, BAD_LINE.rstrip() + "  # istio-vm-lint: disable=IVL501\n"),
              config="warn-unused-suppressions = true\n")
    assert codes_at(tmp_path, *SELECT) == []


def test_suppressions_in_context_files_do_not_report(tmp_path: Path) -> None:
    """A pre-commit run on vs.yaml must not report base.yaml's unused directives."""
    make_repo(tmp_path, VS_GOOD, config="warn-unused-suppressions = true\n")
    base = tmp_path / "mesh" / "base.yaml"
    base.write_text("# istio-vm-lint: disable=IVL501\n" + base.read_text())
    r = run(["check", "mesh/vs.yaml", "--format", "json", *SELECT], cwd=tmp_path)
    assert json.loads(r.stdout)["findings"] == []
    r = run(["check", "mesh/base.yaml", "--format", "json", *SELECT], cwd=tmp_path)
    assert [f["code"] for f in json.loads(r.stdout)["findings"]] == ["IVL009"]


# --- issue 11 item 11: comments in UTF-16 (and UTF-32) files ------------------------------

DUP_WITH_DIRECTIVES = (
    "# istio-vm-lint: disable=IVL002 -- whole document\n"
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  name: a\n"
    "---\n"
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n"
    "  name: b  # istio-vm-lint: disable=IVL002 -- this line\n"
    "---\n"
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: c\n  name: c\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_suppression_comments_work_in_every_encoding_the_loader_reads(tmp_path: Path, encoding: str) -> None:
    text = DUP_WITH_DIRECTIVES
    raw = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # with the byte-order mark libyaml needs
        raw = ("\ufeff" + text).encode(encoding)
    (tmp_path / "sa.yaml").write_bytes(raw)
    assert codes_at(tmp_path) == [("sa.yaml", 18, "IVL002")]
    assert [d.line for d in parse_comments("sa.yaml", raw)] == [1, 12]


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be"])
def test_a_utf32_file_can_suppress_its_unreadable_text_finding(tmp_path: Path, encoding: str) -> None:
    # Neither kubectl (go-yaml) nor libyaml read UTF-32: the file is one IVL001, which a
    # file-level directive written in that encoding can hide like any other.
    sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"
    text = "\ufeff# istio-vm-lint: disable-file=IVL001 -- generated elsewhere\n" + sa
    (tmp_path / "x.yaml").write_bytes(text.encode(encoding) if encoding == "utf-32-be" else text[1:].encode(encoding))
    assert codes_at(tmp_path) == []
    (tmp_path / "x.yaml").write_bytes(sa.encode("utf-32"))
    assert [c for _, _, c in codes_at(tmp_path)] == ["IVL001"]
