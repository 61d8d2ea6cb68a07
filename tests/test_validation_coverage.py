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


# --- message fidelity of the shared helpers (Go behaviour the IVL6xx messages depend on) ---------


@pytest.mark.parametrize("value, expected", [
    ("a.example.com", None),
    ("*.example.com", None),
    ("*", None),
    ("short", None),
    ("istio.io.", None),
    ("", "empty domain name not allowed"),
    ("a_b.example.com", 'domain name "a_b.example.com" invalid (label "a_b" invalid)'),
    ("foo.b_r.com", 'domain name "b_r.com" invalid (label "b_r" invalid)'),  # Go prints the rest only
    ("10.1.2.3", 'domain name "1.2.3" invalid (top level domain "3" cannot be all-numeric)'),
    ("app*.example.com", 'domain name "app*.example.com" invalid (label "app*" invalid)'),
])
def test_wildcard_domain_messages(value: str, expected: object) -> None:
    from istio_vm_lint.rules._validation_helpers import wildcard_domain_error

    assert wildcard_domain_error(value) == expected


@pytest.mark.parametrize("expr, expected", [
    ("^/api/v[0-9]+(/.*)?$", None),
    ("(?i)abc", None),
    ("[[:alpha:]]+", None),
    ("(?=x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
    ("a\\1", "error parsing regexp: invalid escape sequence: `\\1`"),
    ("(abc", "error parsing regexp: missing closing ): `(abc`"),
    ("abc)", "error parsing regexp: unexpected ): `abc)`"),
    ("[abc", "error parsing regexp: missing closing ]: `[abc`"),
    ("*a", "error parsing regexp: missing argument to repetition operator: `*`"),
    ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
    ("a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"),
])
def test_go_regexp_errors(expr: str, expected: object) -> None:
    from istio_vm_lint.rules._goregexp import go_regexp_error

    assert go_regexp_error(expr) == expected


@pytest.mark.parametrize("value, expected", [
    ("plain", None), ("100%%", None), ("%HOSTNAME%", None), ('%REQ(x-a)%', None),
    ("abc%", "header value configuration: invalid header configuration. Un-escaped %"),
    ("%START", "header value configuration: invalid header configuration. Un-terminated variable expression '%START'"),
    ("a\nb", "header value configuration a\nb is invalid"),
])
def test_header_values(value: str, expected: object) -> None:
    from istio_vm_lint.rules._validation_helpers import header_value_error

    assert header_value_error(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1:80", ("127.0.0.1", "80", None)),
    ("[::1]:80", ("::1", "80", None)),
    (":80", ("", "80", None)),
    ("127.0.0.1", ("", "", "address 127.0.0.1: missing port in address")),
    ("1:2:3", ("", "", "address 1:2:3: too many colons in address")),
])
def test_split_host_port(value: str, expected: tuple) -> None:
    from istio_vm_lint.rules.validation_sidecar import split_host_port

    assert split_host_port(value) == expected


def test_go_quoting() -> None:
    from istio_vm_lint.rules._validation_helpers import goq

    assert goq('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'
