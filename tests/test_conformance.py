"""Parity with istioctl analyze and Kiali on their own test data (see tools/parity.py).

Skipped when ``../shared/conformance`` is absent (a user's clone has no shared/ folder).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "conformance"

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/conformance data")


@pytest.fixture(scope="module")
def parity():
    spec = importlib.util.spec_from_file_location("parity", ROOT / "tools" / "parity.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["parity"] = module
    spec.loader.exec_module(module)
    return module, module.run_all()


def test_istio_analyzer_cases(parity) -> None:
    module, results = parity
    s = module.summarize(results)
    failing = [f"{r.name}: missed={r.missed} extra={r.extra}" for r in results
               if r.source == "istio" and not r.difference and not r.ok]
    assert s["istio_passed"] >= 0.95 * s["istio_in_scope"], "\n".join(failing)


def test_kiali_expectations(parity) -> None:
    module, results = parity
    s = module.summarize(results)
    failing = [f"{r.name}: missed={r.missed} extra={r.extra}" for r in results
               if r.source == "kiali" and not r.difference and not r.ok]
    assert s["kiali_matched"] >= 0.95 * s["kiali_expected"], "\n".join(failing)
    assert s["kiali_clean_ok"] == s["kiali_clean_cases"], "\n".join(failing)


def test_parity_doc_is_current(parity) -> None:
    module, results = parity
    current = (ROOT / "docs" / "parity.md").read_text() if (ROOT / "docs" / "parity.md").exists() else ""
    assert current == module.render(results), "docs/parity.md is stale: run `python tools/parity.py`"
