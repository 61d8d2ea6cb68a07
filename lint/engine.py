"""Run the rules over a loaded project and turn their problems into located findings.

Selection follows ruff: ``select``/``ignore`` take codes or prefixes and the more specific
entry wins (ties go to ignore).  A rule that raises becomes one ``IVL000`` finding naming
the rule and the resource it was on; the other rules still run and the run exits 2.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import traceback
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .config import Settings
from .findings import Finding, Location, Problem, Related, ResourceRef, format_path, SEVERITY_RANK
from .project import Project
from .rule import Context, Rule, declared_rules

_RULES: Optional[dict[str, Rule]] = None


def all_rules() -> dict[str, Rule]:
    """Every rule, by code: imports each module of ``istio_vm_lint.rules`` once."""
    global _RULES
    if _RULES is None:
        from . import rules as rules_pkg  # type: ignore[attr-defined]

        for info in sorted(pkgutil.iter_modules(rules_pkg.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"{rules_pkg.__name__}.{info.name}")
        out: dict[str, Rule] = {}
        for r in declared_rules():
            if r.code in out:
                raise RuntimeError(f"rule code {r.code} declared twice ({out[r.code].family}, {r.family})")
            out[r.code] = r
        _RULES = dict(sorted(out.items()))
    return _RULES


def _matches(code: str, prefixes: Iterable[str]) -> int:
    """Length of the longest matching prefix (0 = none).  ``ALL`` matches with length 0.5."""
    best = 0
    for p in prefixes:
        if p == "ALL":
            best = max(best, 1)
        elif code.startswith(p):
            best = max(best, len(p) + 1)
    return best


def is_selected(code: str, settings: Settings) -> bool:
    select = settings.select or ("ALL",)
    sel = max(_matches(code, select), _matches(code, settings.extend_select))
    ign = _matches(code, settings.ignore)
    return sel > 0 and sel > ign


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    internal_errors: int = 0
    rules_run: int = 0


INTERNAL = Rule("IVL000", "internal-error", "error", "", "", "", "", lambda ctx: ())


def run_rules(project: Project, settings: Settings, rules: Optional[dict[str, Rule]] = None,
              ctx: Optional[Context] = None) -> RunResult:
    rules = rules if rules is not None else all_rules()
    ctx = ctx or Context(project, settings)
    present = project.kinds_present
    result = RunResult()
    for code, r in rules.items():
        if code == "IVL000" or not is_selected(code, settings):
            continue
        if r.inputs and not present.intersection(r.inputs):
            continue
        result.rules_run += 1
        ctx.current = None
        problems: list[Problem] = []
        try:
            for p in r.check(ctx):
                problems.append(p)
        except Exception as exc:  # one broken rule must not take the run down
            result.internal_errors += 1
            where = ctx.current
            tb = traceback.extract_tb(exc.__traceback__)
            frame = tb[-1] if tb else None
            at = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
            msg = (f"internal error in rule {code} ({r.name}): {type(exc).__name__}: {exc}{at}; "
                   "please report it")
            problems.append(Problem(where, (), msg, code="IVL000",
                                    location=None if where else Location("<internal>", 1, 1)))
        for p in problems:
            f = make_finding(project, settings, rules.get(p.code or code, r) if p.code != "IVL000" else INTERNAL, p)
            if f is not None:
                result.findings.append(f)
    result.findings.sort(key=lambda f: f.sort_key)
    return result


def make_finding(project: Project, settings: Settings, r: Rule, p: Problem) -> Optional[Finding]:
    code = p.code or r.code
    if code != "IVL000" and not is_selected(code, settings):
        return None
    res = p.resource
    if p.location is not None:
        loc = p.location
    elif res is not None:
        loc = project.location(res, p.path)
    else:
        loc = Location("<unknown>", 1, 1)
    if res is not None and not res.source.report:
        return None
    severity = settings.severity.get(code) or p.severity or r.severity
    related = []
    for other, path in p.related:
        related.append(Related(project.location(other, path), other.ref))
    ref: Optional[ResourceRef] = res.ref if res is not None else None
    field_path = format_path(p.path)
    fp_src = "|".join([code, str(ref) if ref else loc.file, field_path,
                       ";".join(sorted(str(r.resource) for r in related))])
    fingerprint = hashlib.sha1(fp_src.encode()).hexdigest()[:16]
    return Finding(code, r.name if code != "IVL000" else "internal-error", severity, p.message,
                   loc, ref, field_path, related, fingerprint)


def fails(findings: Iterable[Finding], fail_on: str) -> bool:
    threshold = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[f.severity] >= threshold for f in findings)
