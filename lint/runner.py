"""The pipeline in one call: discover -> load -> rules, with per-stage timings.

Used by the CLI, the tests and the benchmark, so all three exercise the same path.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

from .config import Settings
from .discover import Discovered, discover
from .engine import RunResult, run_rules
from .findings import Finding
from .project import Project, load_project
from .rule import Context


@dataclass
class Outcome:
    project: Project
    result: RunResult
    missing: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    context: Optional[Context] = None
    cache_stats: Optional[tuple[int, int]] = None  # parse cache (hits, misses), when one was used

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings


def lint(paths: Sequence[str], settings: Optional[Settings] = None, *,
         stdin: Optional[tuple[str, bytes]] = None, report_only: Optional[set[str]] = None,
         files: Optional[list[Discovered]] = None) -> Outcome:
    settings = settings or Settings()
    # The load builds millions of small objects and no reference cycles worth collecting; the
    # cyclic collector would walk them repeatedly (about 12% of a 50,000-resource run).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _lint(paths, settings, stdin=stdin, report_only=report_only, files=files)
    finally:
        if gc_was_enabled:
            gc.enable()


def _lint(paths: Sequence[str], settings: Settings, *, stdin: Optional[tuple[str, bytes]],
          report_only: Optional[set[str]], files: Optional[list[Discovered]]) -> Outcome:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    missing: list[str] = []
    if files is None:
        files, missing = discover(paths, settings.exclude)
    t1 = time.perf_counter()
    timings["discover"] = t1 - t0
    parse_cache = None
    if settings.cache_dir:
        from .cache import open_cache

        parse_cache = open_cache(settings.cache_dir)
    project = load_project(files, settings.default_namespace, stdin=stdin, report_only=report_only,
                           parse_cache=parse_cache)
    if parse_cache is not None:
        parse_cache.save()
    t2 = time.perf_counter()
    timings["load"] = t2 - t1
    ctx = Context(project, settings)
    ctx.timings = timings  # type: ignore[attr-defined]
    result = run_rules(project, settings, ctx=ctx)
    timings["rules"] = time.perf_counter() - t2
    cache_stats = (parse_cache.hits, parse_cache.misses) if parse_cache is not None else None
    return Outcome(project, result, missing, timings, ctx, cache_stats)
