"""docs/validation-coverage.md accounts for every rule of Istio's Go validation.

Every numbered rule id of ``shared/reference/istio-validation.md`` (GW-, VS-, DR-, TP-, SE-,
WE-, WG-, SC-, PA-, H-) must appear in the coverage document, either as implemented by an
IVL6xx rule or with the rule that covers it instead, so a rule added to the reference cannot
be silently forgotten.  Skipped when the shared reference is not checked out next to the repo.
"""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, SHARED

REFERENCE = SHARED / "reference" / "istio-validation.md"
COVERAGE = ROOT / "docs" / "validation-coverage.md"
ID_RE = re.compile(r"\b((?:GW|VS|DR|TP|SE|WE|WG|SC|PA|H)-\d{2})\b")


def _reference_ids() -> set[str]:
    text = REFERENCE.read_text(encoding="utf-8")
    # numbered rules are the first cell of a table row; VS-63 is defined in prose (§3.4)
    ids = set(re.findall(r"^\| ((?:GW|VS|DR|TP|SE|WE|WG|SC|PA|H)-\d{2}) \|", text, re.M))
    ids.update(m for m in ID_RE.findall(text) if m.startswith("VS-"))
    return ids


def _coverage_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in COVERAGE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| ((?:GW|VS|DR|TP|SE|WE|WG|SC|PA|H)-\d{2}) \|", line)
        if m:
            rows[m.group(1)] = line
    return rows


@pytest.mark.skipif(not REFERENCE.is_file(), reason="../shared/reference is not available")
def test_every_reference_rule_is_in_the_coverage_doc() -> None:
    ids = _reference_ids()
    assert len(ids) >= 256, f"expected the 256 numbered rules, parsed {len(ids)}"
    rows = _coverage_rows()
    missing = sorted(ids - set(rows), key=lambda r: (r.split("-")[0], int(r.split("-")[1])))
    assert not missing, f"rules of istio-validation.md missing from docs/validation-coverage.md: {missing}"


def test_every_coverage_row_names_a_status_and_a_rule() -> None:
    rows = _coverage_rows()
    assert rows, "docs/validation-coverage.md has no rule rows"
    for rid, line in rows.items():
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2] in ("implemented", "schema", "other rule"), f"{rid}: unknown status {cells[2]!r}"
        assert re.search(r"IVL\d{3}", cells[3]), f"{rid}: no rule code in {cells[3]!r}"


def test_codes_in_the_coverage_doc_are_registered() -> None:
    from istio_vm_lint.engine import all_rules

    registered = set(all_rules())
    text = COVERAGE.read_text(encoding="utf-8")
    mentioned = set(re.findall(r"\bIVL6\d{2}\b", text))
    assert mentioned, "no IVL6xx code mentioned"
    assert not mentioned - registered, f"coverage doc names unregistered codes: {sorted(mentioned - registered)}"
    ivl6 = {c for c in registered if c.startswith("IVL6")}
    assert not ivl6 - mentioned, f"IVL6xx rules missing from the coverage doc: {sorted(ivl6 - mentioned)}"
