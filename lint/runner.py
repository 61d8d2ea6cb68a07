"""The pipeline in one call: discover -> load -> rules, with per-stage timings.

Used by the CLI, the tests and the benchmark, so all three exercise the same path.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from .config import Settings
from .discover import Discovered, discover
from .engine import RunResult
from .findings import Finding
from .project import Project
from .rule import Context


@dataclass
class Outcome:
    """What :func:`lint` returns: the project, the run's result and stage timings."""

    project: Project
    result: RunResult
    missing: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    context: Optional[Context] = None
    cache_stats: Optional[tuple[int, int]] = None  # parse cache (hits, misses), when one was used
    # Every unit's own view, for `graph` and `trace`: (unit name, its context, its findings).
    units: list[tuple[str, Context, list[Finding]]] = field(default_factory=list)
    # False when the findings may differ in a run on the same inputs: a render failed (a
    # timeout, a killed kustomize), a rule crashed.  The result cache stores only the others.
    repeatable: bool = True

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings


def lint(paths: Sequence[str], settings: Optional[Settings] = None, *,
         stdin: Optional[tuple[str, bytes]] = None, report_only: Optional[set[str]] = None,
         files: Optional[list[Discovered]] = None, split_samples: bool = True,
         preread: Optional[dict[str, tuple[bytes, bytes]]] = None) -> Outcome:
    """``split_samples=False`` keeps a sample collection one unit (``graph`` and ``trace`` draw
    one mesh: the first unit's).  ``preread``: real path -> (its bytes, their BLAKE2b-128), read
    already (the result cache's key): those files are not read again, nor hashed again."""
    settings = settings or Settings()
    # The load builds millions of small objects and no reference cycles worth collecting; the
    # cyclic collector would walk them repeatedly (about 12% of a 50,000-resource run).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _lint(paths, settings, stdin=stdin, report_only=report_only, files=files, split_samples=split_samples,
                     preread=preread)
    finally:
        if gc_was_enabled:
            gc.enable()


def _lint(paths: Sequence[str], settings: Settings, *, stdin: Optional[tuple[str, bytes]],
          report_only: Optional[set[str]], files: Optional[list[Discovered]], split_samples: bool = True,
          preread: Optional[dict[str, tuple[bytes, bytes]]] = None) -> Outcome:
    from .engine import all_rules
    from .units import run as unit_run
    from .units.adjust import definitions
    from .units.argocd import applications as argo_destinations
    from .units.argocd import applications_elsewhere, apply_destinations
    from .units.load import Sources, build_project
    from .units.merge import combined_project, merge, notice_problems
    from .units.plan import plan as plan_units
    from .units.samples import split_plain_units

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
    plan = plan_units(files, settings, stdin)
    t2 = time.perf_counter()
    if not plan.trivial:
        timings["render"] = t2 - t1
    sources = Sources(report_only, parse_cache, preread)
    displays = {d.real: d for d in files}
    root = settings.root or os.getcwd()
    rules = all_rules()
    runs: list[unit_run.UnitRun] = []
    load_time = rules_time = 0.0
    # A run on named files (pre-commit) lints only the units that contain them (issue 15): the
    # other units are not the change's context, their rules do not run.
    selected = [u for u in plan.units if report_only is None or _contains(u, report_only)] or plan.units
    ta = time.perf_counter()
    projects = [build_project(unit, sources, settings, displays, root) for unit in selected]
    # Argo CD Applications' namespaces (units/argocd.py), from every unit even when not all are linted.
    unloaded = [u for u in plan.units if report_only is not None and not any(u is s for s in selected)]
    destinations = argo_destinations(projects + applications_elsewhere(unloaded, sources), root)
    # Sibling directories that are separate apps (a sample collection) are separate units.
    if split_samples:
        selected, projects = split_plain_units(selected, projects, sources, settings, displays, root)
    apply_destinations(destinations, selected, projects)
    if report_only is not None and len(selected) > 1:
        keep = [i for i, u in enumerate(selected) if _contains(u, report_only)] or list(range(len(selected)))
        selected, projects = [selected[i] for i in keep], [projects[i] for i in keep]
    load_time = time.perf_counter() - ta
    del sources  # the shared scalar cache and per-file parse results: ~25 MB at 50,000 resources
    if len(projects) > 1:
        plan.defined_elsewhere = definitions(selected, projects)
    for unit, project in zip(selected, projects, strict=False):
        tb = time.perf_counter()
        notices = notice_problems(plan, displays) if not runs else []
        runs.append(unit_run.run_unit(unit, project, settings, plan, rules, timings, notices, parse_cache))
        rules_time += time.perf_counter() - tb
    if parse_cache is not None:
        parse_cache.save()
    timings["load"] = load_time
    timings["rules"] = rules_time
    result = merge(runs)
    project = runs[0].project if len(runs) == 1 else combined_project(runs, settings)
    cache_stats = (parse_cache.hits, parse_cache.misses) if parse_cache is not None else None
    units = [(r.unit.name, r.context, list(r.result.findings)) for r in runs]
    repeatable = not result.internal_errors and not any(n.code == "IVL753" for n in plan.notices)
    return Outcome(project, result, missing, timings, runs[0].context, cache_stats, units, repeatable)


def _contains(unit: Any, report_only: set[str]) -> bool:
    """Does the unit read one of the named files (real paths)?  Its own files, a kustomization
    tree's files (bases, patches, the kustomization itself), a chart's directory, stdin."""
    if unit.stdin is not None:
        return True
    reals = {d.real for d in unit.files}
    if unit.tree is not None:
        reals |= set(unit.tree.used_files)
    if reals & report_only:
        return True
    charts = [unit.chart] if unit.chart else [c for c, _ in unit.charts if c]
    return any(r == c or r.startswith(c + os.sep) for c in charts for r in report_only)
