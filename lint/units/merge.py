"""Merging the findings of all units: each finding once, naming the units it holds in; one
project for the report's counts; the planning notices as problems."""

from __future__ import annotations

from collections import defaultdict

from ..config import Settings
from ..discover import Discovered, display_path
from ..engine import RunResult
from ..findings import Finding, Location, Problem
from ..model import SourceFile
from ..project import Project
from .codes import NOTICE_CODES
from .plan import PLAIN, Plan
from .run import UnitRun


def merge(runs: list[UnitRun]) -> RunResult:
    """The findings of every unit once: the same file, line, code and message is one finding,
    naming the units it holds in when the run has more than one unit.  An unused-suppression
    finding (IVL009) holds only when the directive is unused in every unit that reads its file."""
    out = RunResult()
    if len(runs) == 1:
        return runs[0].result
    seen: dict[tuple[str, int, str, str], tuple[Finding, list[str]]] = {}
    unused: dict[tuple[str, int, str, str], int] = defaultdict(int)
    file_units: dict[str, int] = defaultdict(int)
    for run in runs:
        out.internal_errors += run.result.internal_errors
        out.rules_run = max(out.rules_run, run.result.rules_run)
        out.suppressed += run.result.suppressed
        for src in {s.path for s in run.project.files}:
            file_units[src] += 1
        for f in run.result.findings:
            key = (f.location.file, f.location.line, f.code, f.message)
            if f.code == "IVL009":
                unused[key] += 1
            have = seen.get(key)
            if have is None:
                seen[key] = (f, [run.unit.name])
            elif run.unit.name not in have[1]:
                have[1].append(run.unit.name)
    named = sum(1 for r in runs if r.unit.kind != PLAIN) > 0
    for key, (f, names) in seen.items():
        if f.code == "IVL009" and unused[key] < file_units.get(f.location.file, 1):
            continue
        if named and names != [PLAIN] and f.code not in NOTICE_CODES:
            label = "unit" if len(names) == 1 else "units"
            shown = sorted(names)
            more = f" and {len(shown) - 3} more" if len(shown) > 4 else ""
            f.message = f"{f.message} [{label}: {', '.join(shown[:3] if more else shown)}{more}]"
        out.findings.append(f)
    out.findings.sort(key=lambda f: f.sort_key)
    return out


def combined_project(runs: list[UnitRun], settings: Settings) -> Project:
    """One project for the report's counts: every file and resource of every unit, once."""
    p = Project(default_namespace=settings.default_namespace)
    files: dict[int, SourceFile] = {}
    docs: set[tuple[str, int, tuple]] = set()
    for run in runs:
        for src in run.project.files:
            files.setdefault(id(src), src)
        for r in run.project.resources:
            key = (r.source.path, r.doc_index, tuple(r.base))
            if key not in docs:
                docs.add(key)
                p.resources.append(r)
        p.problems.extend(run.project.problems)
        p.ignored_documents += run.project.ignored_documents
        p.unknown_kinds += run.project.unknown_kinds
    p.files = list(files.values())
    return p


def notice_problems(plan_: Plan, displays: dict[str, Discovered]) -> list[Problem]:
    out = []
    for n in plan_.notices:
        disp = displays[n.file].display if n.file in displays else display_path(n.file)
        out.append(Problem(None, (), n.message, location=Location(disp, n.line, 1), code=n.code,
                           severity="warning" if n.code == "IVL753" else "info"))
    return out
