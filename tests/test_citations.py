"""What the package ships and its documentation cite only what a user can look up.

Rules, messages, SARIF help and the docs cite Istio behaviour as ``docs/semantics.md §<slug>``
(or a bare ``§<slug>``), where ``<slug>`` is a heading of docs/semantics.md.  Nothing shipped
points at the development-time reference material beside the repository (``../shared``), and
no ``§3.4``-style section number survives from it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

SEMANTICS = ROOT / "docs" / "semantics.md"
SHIPPED = [ROOT / "lint", ROOT / "rules", ROOT / "schemas", ROOT / "docs", ROOT / "README.md"]
SUFFIXES = {".py", ".md", ".json", ".txt", ".toml"}
HEADING_RE = re.compile(r"^#{1,6}\s+([a-z0-9]+(?:-[a-z0-9]+)*)\s*$", re.M)
MARK_RE = re.compile(r"§\s*([^\s,;:.)\]}`'\"*]+(?:\.[0-9]+)*)")


def _shipped_files() -> list[Path]:
    out: list[Path] = []
    for top in SHIPPED:
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        out += [p for p in paths if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts]
    return out


def slugs() -> set[str]:
    return set(HEADING_RE.findall(SEMANTICS.read_text(encoding="utf-8")))


def unresolved_marks(text: str, known: set[str]) -> list[str]:
    return [m for m in MARK_RE.findall(text) if m not in known]


def test_semantics_has_sections() -> None:
    known = slugs()
    assert {"host-resolution", "exportto", "port-precedence", "locality-failover"} <= known


def test_section_slugs_are_unique() -> None:
    found = HEADING_RE.findall(SEMANTICS.read_text(encoding="utf-8"))
    dupes = sorted({s for s in found if found.count(s) > 1})
    assert not dupes, f"docs/semantics.md has duplicate section headings: {dupes}"


def test_mark_pattern() -> None:
    known = {"host-resolution", "exportto"}
    assert unresolved_marks("see §host-resolution, §exportto.", known) == []
    assert unresolved_marks("(docs/semantics.md §exportto)", known) == []
    assert unresolved_marks("(§3.4)", known) == ["3.4"]
    assert unresolved_marks("§ 1.2 and §7 A02", known) == ["1.2", "7"]
    assert unresolved_marks("§port-precedence", known) == ["port-precedence"]


@pytest.mark.parametrize("path", _shipped_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shipped_file_cites_only_docs_semantics(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    assert "shared/reference" not in text, f"{path.relative_to(ROOT)} cites ../shared/reference"
    for ref in ("istio-semantics.md", "istio-validation.md", "istio-analyzers.md", "kiali-validations.md",
                "peers-and-ux.md", "style-anchors.md"):
        assert ref not in text, f"{path.relative_to(ROOT)} cites {ref}, which users do not have"
    bad = unresolved_marks(text, slugs())
    assert not bad, f"{path.relative_to(ROOT)}: § marks that are no heading of docs/semantics.md: {sorted(set(bad))}"


def test_rule_metadata_cites_docs_semantics() -> None:
    """Rationale, references (and so explain, SARIF help and docs/rules.md) resolve."""
    from istio_vm_lint.engine import all_rules

    known = slugs()
    for code, r in all_rules().items():
        meta = r.as_dict()
        text = "\n".join(v if isinstance(v, str) else "\n".join(map(str, v)) for v in meta.values())
        assert "shared/" not in text, code
        assert not unresolved_marks(text, known), (code, unresolved_marks(text, known))
        for ref in meta["references"]:
            for m in MARK_RE.findall(ref):
                assert m in known, (code, ref)
