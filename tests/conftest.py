"""Shared helpers for the test-suite."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"

# CI-friendly by default; `HYPOTHESIS_PROFILE=long pytest` for a deeper run.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

EXPECT_RE = re.compile(r"#\s*expect:\s*([A-Z0-9 ,]+)")


def expectations(folder: Path) -> set[tuple[str, int, str]]:
    """``(relative file, line, code)`` from ``# expect: CODE[, CODE]`` comments."""
    out: set[tuple[str, int, str]] = set()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in (".yaml", ".yml"):
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            m = EXPECT_RE.search(line)
            if m:
                for code in m.group(1).replace(" ", "").split(","):
                    if code:
                        out.add((path.relative_to(folder).as_posix(), lineno, code))
    return out


def lint_folder(folder: Path, **settings_kw):
    """Lint a folder as a whole repository; returns findings with paths relative to it."""
    from istio_vm_lint.config import Settings, find_config, load_config_file
    from istio_vm_lint.runner import lint

    values = {}
    cfg = find_config(str(folder))
    if cfg:
        values.update(load_config_file(cfg))
    values.update(settings_kw)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return lint(["."], Settings(**values)).findings
    finally:
        os.chdir(cwd)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True, scope="session")
def _parse_cache_outside_the_repo(tmp_path_factory: pytest.TempPathFactory) -> None:
    """CLI runs in tests use a parse cache (the default), kept in a temporary directory so
    the suite never writes into the fixtures; one cache for the whole session, so later
    runs of the same files are warm, which is itself a check that the cache changes nothing."""
    if "ISTIO_VM_LINT_CACHE_DIR" not in os.environ:
        os.environ["ISTIO_VM_LINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("parse-cache"))
    # Not the result cache (lint/result_cache.py): a test that patches the linter in process
    # (a rule that crashes, a Ctrl-C) must really run, not get the findings of an earlier test's
    # run on the same files.  tests/test_result_cache.py switches it on where it is tested.
    os.environ.setdefault("ISTIO_VM_LINT_NO_RESULT_CACHE", "1")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI (`.ci/run`) must fail when a test fails, not because a selection collected nothing
    (pytest's exit code 5)."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
