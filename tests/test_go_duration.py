"""rules/_goduration.py against the table Go tests time.ParseDuration with (src/time/time_test.go,
parseDurationTests and parseDurationErrorTests), plus the inputs the rules meet."""

from __future__ import annotations

from typing import Optional

import pytest
from istio_vm_lint.rules._goduration import parse_go_duration

NS, US, MS, S, M, H = 1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000

GO_OK = [
    ("0", 0), ("5s", 5 * S), ("30s", 30 * S), ("1478s", 1478 * S),
    ("-5s", -5 * S), ("+5s", 5 * S), ("-0", 0), ("+0", 0),
    ("5.0s", 5 * S), ("5.6s", 5 * S + 600 * MS), ("5.s", 5 * S), (".5s", 500 * MS), ("1.0s", S), ("1.00s", S),
    ("1.004s", S + 4 * MS), ("1.0040s", S + 4 * MS), ("100.00100s", 100 * S + MS),
    ("10ns", 10 * NS), ("11us", 11 * US), ("12\u00b5s", 12 * US), ("12\u03bcs", 12 * US), ("13ms", 13 * MS),
    ("14s", 14 * S), ("15m", 15 * M), ("16h", 16 * H),
    ("3h30m", 3 * H + 30 * M), ("10.5s4m", 4 * M + 10 * S + 500 * MS), ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
    ("1h2m3s4ms5us6ns", H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS), ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
    ("52763797000ns", 52763797000), ("0.3333333333333333333h", 20 * M), ("9007199254740993ns", (1 << 53) + 1),
    ("9223372036854775807ns", (1 << 63) - 1), ("9223372036854775.807us", (1 << 63) - 1),
    ("9223372036s854ms775us807ns", (1 << 63) - 1), ("-9223372036854775808ns", -(1 << 63)),
    ("-9223372036854775.808us", -(1 << 63)), ("-9223372036s854ms775us808ns", -(1 << 63)),
    ("-2562047h47m16.854775808s", -(1 << 63)), ("0.100000000000000000000h", 6 * M),
    ("0.830103483285477580700h", 49 * M + 48 * S + 372539827 * NS),
]
GO_ERRORS = ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xffff", "hello \xffff world", "\ufffd",
             "9223372036854775810ns", "9223372036854775808ns", "-9223372036854775809ns", "9223372036854776us",
             "3000000h", "9223372036854775.808us", "9223372036854ms775us808ns"]
# Inputs from the rules' own tests: spaces, exponents, huge digit strings must not raise.
OURS = [("1 s", None), ("1e3s", None), ("99999999999h", None), ("0" * 5000 + "1s", S), ("9" * 5000 + "s", None),
        ("1." + "5" * 5000 + "s", 1_555_555_555), ("bogus", None), ("1sec", None), ("1.5ms", 1_500_000)]


@pytest.mark.parametrize("text, ns", GO_OK + [(e, None) for e in GO_ERRORS] + OURS)
def test_parse_go_duration(text: str, ns: Optional[int]) -> None:
    assert parse_go_duration(text) == ns


def test_validation_helper_accepts_protobuf_form() -> None:
    from istio_vm_lint.rules._validation_helpers import parse_duration

    assert parse_duration({"seconds": 2, "nanos": 5}) == 2 * S + 5
    assert parse_duration({"seconds": "2"}) == 2 * S
    assert parse_duration("1h2m") == H + 2 * M
    assert parse_duration(5) is None
