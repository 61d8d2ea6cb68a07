"""Baselines: record today's findings so that CI fails only on new ones.

The key is :attr:`Finding.fingerprint` (rule + resource identity + field path + the other
end of the edge; no line numbers, no cwd-dependent paths), so entries survive unrelated
edits and line shifts.  Fingerprints may repeat (e.g. two documents without a name in one
file), so matching is by count: a baseline entry hides one finding.

The file is JSON, sorted, with no timestamps, so writing it twice gives the same bytes and
its diffs in review show exactly which findings were accepted or fixed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

from .config import ConfigError, root_relative
from .findings import Finding

BASELINE_VERSION = 1
DEFAULT_BASELINE = ".istio-vm-lint-baseline.json"


def entry(f: Finding, root: Optional[str]) -> dict[str, str]:
    """What is stored per finding: the key plus enough for a reviewer to recognise it."""
    return {
        "fingerprint": f.fingerprint,
        "code": f.code,
        "file": root_relative(f.location.file, root),
        "resource": str(f.resource) if f.resource else "",
        "field": f.field,
        "message": f.message,
    }


def render(findings: Iterable[Finding], root: Optional[str]) -> str:
    entries = sorted((entry(f, root) for f in findings),
                     key=lambda e: (e["file"], e["code"], e["resource"], e["field"], e["fingerprint"], e["message"]))
    doc = {"version": BASELINE_VERSION, "tool": "istio-vm-lint", "findings": entries}
    from .report import dumps_json

    return dumps_json(doc)


def write(path: str, findings: Iterable[Finding], root: Optional[str]) -> int:
    """Write the baseline atomically; returns the number of entries."""
    text = render(findings, root)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return text.count('"fingerprint":')


@dataclass
class Baseline:
    """A baseline file: its path and the findings it records."""

    path: str
    entries: list[dict[str, str]]


def load(path: str) -> Baseline:
    """Read a baseline; an unreadable or malformed one is a usage error (exit 2)."""
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"baseline {path}: no such file (create it with --write-baseline {path})") from None
    except OSError as exc:
        raise ConfigError(f"baseline {path}: cannot read: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"baseline {path}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION or not isinstance(doc.get("findings"), list):
        raise ConfigError(f"baseline {path}: not an istio-vm-lint baseline (version {BASELINE_VERSION})")
    entries = [e for e in doc["findings"] if isinstance(e, dict) and isinstance(e.get("fingerprint"), str)]
    return Baseline(path, entries)


@dataclass
class Filtered:
    """The findings a baseline did not hide, and the counts for the summary."""

    kept: list[Finding]
    hidden: int
    stale: int  # baseline entries that matched nothing (fixed, or their resource was renamed)


def apply(findings: Iterable[Finding], baseline: Baseline, root: Optional[str],
          reported_files: Optional[set[str]] = None) -> Filtered:
    """Hide findings the baseline knows.

    ``reported_files`` (root-relative) limits the stale count to files this run reported
    on: a pre-commit run on two files must not call every other entry stale.
    """
    budget = Counter(e["fingerprint"] for e in baseline.entries)
    kept: list[Finding] = []
    hidden = 0
    for f in findings:
        if budget[f.fingerprint] > 0:
            budget[f.fingerprint] -= 1
            hidden += 1
        else:
            kept.append(f)
    stale = 0
    left = Counter({k: v for k, v in budget.items() if v > 0})
    for e in baseline.entries:
        fp = e["fingerprint"]
        if left[fp] <= 0:
            continue
        if reported_files is not None and e.get("file") not in reported_files:
            continue
        left[fp] -= 1
        stale += 1
    return Filtered(kept, hidden, stale)
