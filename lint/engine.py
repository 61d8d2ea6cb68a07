"""Run the rules over a loaded project and turn their problems into located findings.

Selection follows ruff: ``select``/``ignore`` take codes or prefixes and the more specific
entry wins (ties go to ignore).  A rule that raises becomes one ``IVL000`` finding naming
the rule and the resource it was on; the other rules still run and the run exits 2.

After the rules, per-file-ignores and suppressions (``lint/suppress.py``) are applied here,
in one place, so rules stay unaware of them and unused suppressions can be reported
(IVL009).  Baselines are applied later by the CLI, because only it knows which files the run
reports on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional

from .config import Settings, match_length, root_relative, severity_for
from .findings import SEVERITY_RANK, Finding, Location, Problem, Related, ResourceRef, format_path
from .placeholders import about_placeholder
from .project import Project
from .registry import RuleTable, all_rules, rule_modules  # noqa: F401  (re-exported: engine.all_rules)
from .rule import Context, Rule

if TYPE_CHECKING:  # pragma: no cover
    from .model import Resource

_matches = match_length  # specificity of the best matching selector (0 = none)

def is_selected(code: str, settings: Settings) -> bool:
    select = settings.select or ("ALL",)
    sel = max(_matches(code, select), _matches(code, settings.extend_select))
    ign = _matches(code, settings.ignore)
    return sel > 0 and sel > ign


@dataclass
class RunResult:
    """The findings of a run and its counts."""

    findings: list[Finding] = field(default_factory=list)
    internal_errors: int = 0
    rules_run: int = 0
    suppressed: int = 0  # hidden by per-file-ignores, comments or annotations


INTERNAL = Rule("IVL000", "internal-error", "error", "", "", "", "", lambda ctx: ())


def run_rules(project: Project, settings: Settings, rules: Optional[Mapping[str, Rule]] = None,
              ctx: Optional[Context] = None) -> RunResult:
    rules = rules if rules is not None else all_rules()
    ctx = ctx or Context(project, settings)
    result = RunResult()
    raw = collect_problems(ctx, settings, rules, result)
    return finish(project, settings, rules, raw, result)


def collect_problems(ctx: Context, settings: Settings, rules: Mapping[str, Rule], result: RunResult,
                     only: Optional[Callable[[str], bool]] = None,
                     resource_filter: Optional[Callable[["Resource"], bool]] = None,
                     mark: bool = True,
                     subjects: Optional[tuple[Callable[[str], bool], Callable[["Resource"], bool]]] = None,
                     ) -> list[tuple[Rule, Problem]]:
    """Run the selected rules (those ``only`` accepts, when given) over ``ctx.project``; their
    problems, not yet located.  Counts rules run and internal errors into ``result``.

    ``resource_filter``: the resources the ``scope="resource"`` rules see (``Context.each``);
    ``subjects``: ``(rules, resources)``: the resources the other rules it accepts iterate
    (a named-file run, ``lint/relevance.py``); ``mark``: look for problems the named files
    caused (:func:`mark_caused_by_change`)."""
    present = ctx.project.kinds_present
    total = len(rules)
    raw: list[tuple[Rule, Problem]] = []  # located together, so each file is re-parsed once
    progress_hook = settings.progress  # (done, total); the CLI's progress line
    # The inputs of a rule without importing its module (registry.RuleTable): the modules
    # of rules that cannot apply to the kinds present are never imported (cold start).
    inputs_of = rules.inputs if isinstance(rules, RuleTable) else (lambda c: rules[c].inputs)
    for done, code in enumerate(rules):
        if progress_hook is not None:
            progress_hook(done, total)
        if code == "IVL000" or not is_selected(code, settings):
            continue
        if only is not None and not only(code):
            continue
        inputs = inputs_of(code)
        if inputs and not present.intersection(inputs):
            continue
        r = rules[code]
        result.rules_run += 1
        ctx.current = None
        ctx.resource_filter = resource_filter if r.scope == "resource" else (
            subjects[1] if subjects is not None and subjects[0](code) else None)
        problems: list[Problem] = []
        try:
            for p in r.check(ctx):
                problems.append(p)
        except Exception as exc:  # one broken rule must not take the run down
            result.internal_errors += 1
            where = ctx.current
            import traceback  # deferred: only a crashing rule needs it (cold start)

            tb = traceback.extract_tb(exc.__traceback__)
            frame = tb[-1] if tb else None
            at = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
            msg = (f"internal error in rule {code} ({r.name}): {type(exc).__name__}: {exc}{at}; "
                   "please report it")
            problems.append(Problem(where, (), msg, code="IVL000",
                                    location=None if where else Location("<internal>", 1, 1)))
        raw.extend((r, p) for p in problems)
    ctx.resource_filter = None
    if progress_hook is not None:
        progress_hook(total, total)
    if mark:
        mark_caused_by_change(ctx.project, ctx, (p for _, p in raw))
    return raw


def finish(project: Project, settings: Settings, rules: Mapping[str, Rule], raw: list[tuple[Rule, Problem]],
           result: RunResult) -> RunResult:
    """Locate the problems, apply suppressions (and IVL009) and sort: the findings of one run."""
    project.want_positions(p for _, p in raw)
    for r, p in raw:
        f = make_finding(project, settings, rules.get(p.code or r.code, r) if p.code != "IVL000" else INTERNAL, p)
        if f is not None:
            result.findings.append(f)
    _suppress(project, settings, rules, result)
    result.findings.sort(key=lambda f: f.sort_key)
    return result


UNUSED_SUPPRESSION = "IVL009"


def wants_unused_check(settings: Settings) -> bool:
    """IVL009 runs when ``warn-unused-suppressions`` is on or the code is selected by name."""
    if not is_selected(UNUSED_SUPPRESSION, settings):
        return False
    return settings.warn_unused_suppressions or UNUSED_SUPPRESSION in settings.select + settings.extend_select


def _suppress(project: Project, settings: Settings, rules: Mapping[str, Rule], result: RunResult) -> None:
    from . import suppress

    applied = suppress.apply(result.findings, project, settings, rules)
    result.findings = applied.kept
    result.suppressed = applied.suppressed
    if not wants_unused_check(settings):
        return
    r = rules.get(UNUSED_SUPPRESSION)
    if r is None:
        return
    for d, message in suppress.unused(applied.directives, rules, lambda c: is_selected(c, settings)):
        loc = suppress.unused_location(d)
        sev = severity_for(UNUSED_SUPPRESSION, settings.severity) or r.severity
        fp_src = "|".join([UNUSED_SUPPRESSION, root_relative(loc.file, settings.root), d.scope,
                           str(d.resource or ""), ",".join(d.codes), message])
        result.findings.append(Finding(UNUSED_SUPPRESSION, r.name, sev, message, loc, d.resource, "", [],
                                       _sha1_16(fp_src)))


def mark_caused_by_change(project: Project, ctx: Context, problems: Iterable[Problem]) -> None:
    """For a run on named files (pre-commit): set ``Problem.cause`` on the problems in
    *other* files that the named files can have caused (the named-file resource responsible).

    A problem on a context resource is reported when one of its related resources is in a
    named file (the VirtualService whose port a changed ServiceEntry no longer has), or when
    its resource references one (``MeshGraph.references``).  Everything else in context
    files stays unreported.  Nothing is marked in whole-repository runs.
    """
    if all(src.report for src in project.files):
        return
    refs: dict[int, Optional[Resource]] = {}
    for p in problems:
        res = p.resource
        if res is None or res.source.report:
            continue
        cause = next((other for other, _ in p.related if other.source.report), None)
        if cause is None:
            if id(res) not in refs:
                refs[id(res)] = next((o for o in ctx.graph.references(res) if o.source.report), None)
            cause = refs[id(res)]
        p.cause = cause


def make_finding(project: Project, settings: Settings, r: Rule, p: Problem) -> Optional[Finding]:
    code = p.code or r.code
    if code != "IVL000" and not is_selected(code, settings):
        return None
    res = p.resource
    cause = p.cause
    if res is not None and not res.source.report and cause is None:
        return None  # context-only file (pre-commit run): not located, not reported
    if code != "IVL000" and about_placeholder(p):
        return None  # an unrendered {{ }} / $(VAR) / ${VAR} value: not configuration (placeholders.py)
    if p.location is not None:
        loc = p.location
    elif res is not None:
        loc = project.location(res, p.path)
    else:
        loc = Location("<unknown>", 1, 1)
    severity = severity_for(code, settings.severity) or p.severity or r.severity
    pairs = sorted({(project.location(other, path), other.ref) for other, path in p.related},
                   key=lambda t: (t[0].file, str(t[1]), t[0].line, t[0].column))
    related = [Related(where, what) for where, what in pairs]
    ref: Optional[ResourceRef] = res.ref if res is not None else None
    field_path = format_path(p.path)
    fingerprint = fingerprint_of(code, ref, loc.file, field_path, related, settings.root)
    caused_by = Related(project.location(cause, ()), cause.ref) if cause is not None else None
    return Finding(code, r.name if code != "IVL000" else "internal-error", severity, p.message,
                   loc, ref, field_path, related, fingerprint, caused_by)


def fingerprint_of(code: str, ref: Optional[ResourceRef], file: str, field_path: str,
                   related: Iterable[Related], root: Optional[str]) -> str:
    """Stable identity of a finding: rule, resource (or root-relative file when there is no
    resource), field path and the resources at the other end of the edge.

    No line numbers and no message (messages may quote line numbers), so an edit elsewhere in
    the file or a reformat keeps the fingerprint; the path is made root-relative so a run
    from a subdirectory produces the same key as one from the root.
    """
    ident = f"{ref.kind}/{ref.namespace}/{ref.name}" if ref else root_relative(file, root)
    others = sorted({f"{r.resource.kind}/{r.resource.namespace}/{r.resource.name}" for r in related if r.resource})
    src = "|".join(["v1", code, ident, field_path, ";".join(others)])
    return _sha1_16(src)


def _sha1_16(text: str) -> str:
    """The first 16 hex digits of the SHA-1 of ``text``.  surrogatepass: a file name with
    bytes that are not UTF-8 (only hashed, never written)."""
    try:  # deferred: a run without findings hashes nothing (cold start)
        # CPython's own SHA-1: importing hashlib loads OpenSSL's bindings (about 3 ms) first.
        from _sha1 import sha1
    except ImportError:  # pragma: no cover - an interpreter built without it
        from hashlib import sha1
    return sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def fails(findings: Iterable[Finding], fail_on: str) -> bool:
    threshold = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[f.severity] >= threshold for f in findings)
