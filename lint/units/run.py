"""Running the rules over one unit.

Phase 1 runs the single-resource rules over every copy and finds the rejected resources
(their verdicts cached by content in a named-file run); phase 2 runs the cross-resource rules
once per view (``views.py``) without the rejected resources, then once more with them for
their own findings; ``adjust.py`` lowers what the unit cannot know.  The copy findings
(IVL750, ``views.py``) and the planning notices reach ``rules/units.py`` through the context.
"""

from __future__ import annotations

import itertools
import marshal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional

from ..config import Settings
from ..engine import RunResult, collect_problems, finish, is_selected
from ..findings import Problem
from ..model import Resource
from ..placeholders import about_placeholder
from ..project import Project
from ..rule import Context, Rule, Subset
from .adjust import adjust
from .codes import NOTICE_CODES, REJECTING, single_resource_rule
from .plan import PLAIN, Plan, Unit
from .views import copies_elsewhere, copies_of, copy_problems, views, with_copy_beside

if TYPE_CHECKING:  # pragma: no cover
    from .. import relevance
    from ..cache import ParseCache


@dataclass
class UnitRun:
    """The result of running the rules over one unit."""

    unit: Unit
    project: Project
    result: RunResult
    context: Context


def _sub_project(project: Project, resources: list[Resource]) -> Project:
    p = Project(resources=list(resources), files=project.files, problems=project.problems,
                ignored_documents=project.ignored_documents, unknown_kinds=project.unknown_kinds,
                default_namespace=project.default_namespace, gateway_api=project.gateway_api,
                gateway_api_networks=project.gateway_api_networks, network_facts=project.network_facts,
                gateway_api_accounts=project.gateway_api_accounts, operator_gateways=project.operator_gateways,
                extension_providers=project.extension_providers, operator_clusters=project.operator_clusters,
                trust_domains=project.trust_domains)
    return p


def run_unit(unit: Unit, project: Project, settings: Settings, plan_: Plan, rules: Mapping[str, Rule],
             timings: Optional[dict[str, float]] = None, notices: Iterable[Problem] = (),
             verdict_cache: Optional["ParseCache"] = None) -> UnitRun:
    result = RunResult()
    dups = copies_of(project.resources)
    # Phase 1: single-resource rules, over every copy.
    ctx = Context(project, settings)
    if timings is not None:
        ctx.timings = timings  # type: ignore[attr-defined]
    ctx.unit_problems = copy_problems(dups)  # type: ignore[attr-defined]
    for n in notices:
        ctx.unit_problems[n.code or ""].append(n)  # type: ignore[attr-defined]
    named = not all(src.report for src in project.files)  # a run on named files (pre-commit)
    subjects = None
    if not named:
        raw = collect_problems(ctx, settings, rules, result, only=single_resource_rule)
        verdicts: list[tuple[Rule, Problem]] = []
        known: dict[int, bool] = {}
    else:
        # Per-resource rules (scope="resource") report on the named files' resources only: their
        # problems on a context resource cannot have been caused by the change.  Of the context
        # resources only the verdict "rejected" is needed (it takes them out of phase 2): the
        # rejecting rules run over them and their problems are dropped.
        # The reviewed cross-resource rules iterate only what the named files can matter to.
        from .. import relevance  # deferred: only a run on named files needs it (cold start)

        subjects = relevance.subjects(project, dups, settings, ctx.root_namespace,
                                      verdict_cache if as_read(unit) else None)
        raw = collect_problems(ctx, settings, rules, result, only=single_resource_rule,
                               resource_filter=Subset(_in_named_file), subjects=subjects)
        verdict_run = RunResult()
        rejecting = tuple(c for c in rules if c in REJECTING and rules[c].scope == "resource"
                          and is_selected(c, settings))
        known, store = _cached_verdicts(project, rejecting, verdict_cache, as_read(unit))
        unknown = {id(res) for res in project.resources if not res.source.report and id(res) not in known}
        verdicts = []  # none unknown (a warm cache): the rejecting rules would iterate nothing
        if unknown:
            ctx.errors_only = True  # only the errors decide a verdict
            try:
                verdicts = collect_problems(
                    ctx, settings, rules, verdict_run, only=lambda c: c in rejecting,
                    resource_filter=Subset(lambda res: id(res) in unknown), mark=False)
            finally:
                ctx.errors_only = False
        result.internal_errors += verdict_run.internal_errors
        rejected_now = {id(p.resource) for r, p in verdicts if _rejects(p, r, rules)}
        if not verdict_run.internal_errors:
            store(rejected_now)
    rejected: set[int] = {res_id for res_id, bad in known.items() if bad}
    for r, p in itertools.chain(raw, verdicts):
        if _rejects(p, r, rules):
            rejected.add(id(p.resource))
    if rejected:
        for r, p in raw:
            code = p.code or r.code
            if code in REJECTING and p.resource is not None and id(p.resource) in rejected:
                p.message = _with_rejected_note(p.message)
    # Phase 2: everything else, per view, without rejected resources (nothing resolves to
    # them); then, if there are any, once more with them, keeping only their own findings.
    kept = [r for r in project.resources if id(r) not in rejected]
    base = project if len(kept) == len(project.resources) else _sub_project(project, kept)
    first_ctx = _run_views(base, dups, rejected, settings, rules, result, raw, timings,
                           ctx.unit_problems, None, subjects)  # type: ignore[attr-defined]
    if rejected:
        _run_views(project, dups, set(), settings, rules, result, raw, timings, {}, rejected, subjects)
    if named:  # problems on context resources the change did not cause: never reported (make_finding)
        raw = [(r, p) for r, p in raw if p.resource is None or p.resource.source.report or p.cause is not None]
    alternatives, elsewhere = with_copy_beside(dups), copies_elsewhere(dups)
    raw = [(r, adjust(p, r, unit, project, plan_, settings, alternatives, elsewhere)) for r, p in raw]
    finish(project, settings, rules, raw, result)
    return UnitRun(unit, project, result, first_ctx or ctx)



def as_read(unit: Unit) -> bool:
    """Are the unit's resources its files' documents as they are (their data a function of
    the file's bytes)?  Not for rendered units, nor for the label transformers an unrendered
    kustomization applies (``load.apply_labels``)."""
    return unit.kind in (PLAIN, "config", "sample") and unit.rendered is None and not unit.charts


def _rejects(p: Problem, r: Rule, rules: Mapping[str, Rule]) -> bool:
    code = p.code or r.code
    return (code in REJECTING and p.resource is not None
            and (p.severity or rules.get(code, r).severity) == "error" and not about_placeholder(p))


def verdict_key(res: Resource, codes: tuple[str, ...]) -> Optional[bytes]:
    """What the rejection verdict of ``res`` depends on, hashed: its identity, its data and
    the rejecting rules selected (their code is in the cache's identity).  ``marshal``
    version 2 writes equal plain data as equal bytes (no references, no interning flags);
    data marshal cannot write has no key (never cached)."""
    try:
        blob = marshal.dumps((res.group, res.kind, res.version, res.namespace, res.name, res.data, codes), 2)
    except (ValueError, TypeError):
        return None
    import hashlib  # deferred: only named-file runs with a cache key verdicts (cold start)

    return hashlib.blake2b(blob, digest_size=16).digest()


def file_verdict_key(content: bytes, namespaces: list[str], codes: tuple[str, ...]) -> bytes:
    """What the rejection verdicts of the resources of a file read as it is depend on, hashed:
    the file's content (their data, kinds and names), the namespaces they got (a default or a
    config's per-path namespace) and the rejecting rules selected."""
    import hashlib  # deferred (cold start)

    blob = marshal.dumps((content, namespaces, codes), 2)
    return hashlib.blake2b(blob, digest_size=16).digest()


def _cached_verdicts(project: Project, codes: tuple[str, ...], cache: Optional["ParseCache"],
                     per_file: bool = False) -> tuple[dict[int, bool], Callable[[set[int]], None]]:
    """``(known verdicts, store)`` of the context resources, by ``id``: from the cache when one
    is used; ``store(rejected ids)`` writes back the verdicts found in this run.  With
    ``per_file`` (the unit's resources are its files' documents as they are, ``as_read``)
    one entry holds the verdicts of a whole file; otherwise each resource has its own,
    keyed by its data.  A rendered resource (kustomize patches) is never cached."""
    known: dict[int, bool] = {}
    keys: dict[int, bytes] = {}
    files: list[tuple[bytes, list[Resource]]] = []
    if cache is None:
        return known, lambda rejected: None
    by_file: dict[int, list[Resource]] = {}
    for res in project.resources:
        src = res.source
        if src.report:
            continue
        got = by_file.get(id(src))
        if got is None:
            by_file[id(src)] = got = []
        got.append(res)
    for group in by_file.values():
        raw = group[0].source.raw
        if per_file and raw is not None and not any(r.origins for r in group):
            fkey = file_verdict_key(cache.key_of(raw), [r.namespace for r in group], codes)
            got_v = cache.file_verdicts(fkey, len(group))
            if got_v is not None:
                for r, bad in zip(group, got_v, strict=True):
                    known[id(r)] = bad
            else:
                files.append((fkey, group))
            continue
        for res in group:
            if res.origins:
                continue
            key = verdict_key(res, codes)
            if key is None:
                continue
            keys[id(res)] = key
            v = cache.verdict(key)
            if v is not None:
                known[id(res)] = v

    def store(rejected: set[int]) -> None:
        for res_id, key in keys.items():
            if res_id not in known:
                cache.put_verdict(key, res_id in rejected)
        for fkey, group in files:
            cache.put_file_verdicts(fkey, [id(r) in rejected for r in group])

    return known, store


def _in_named_file(res: Resource) -> bool:
    return res.source.report


def _in_context_file(res: Resource) -> bool:
    return not res.source.report


def _run_views(base: Project, dups: dict[tuple[str, str, str, str], list[Resource]], rejected: set[int],
               settings: Settings, rules: Mapping[str, Rule], result: RunResult, raw: list[tuple[Rule, Problem]],
               timings: Optional[dict[str, float]], unit_problems: dict[str, list[Problem]],
               only_resources: Optional[set[int]], subjects: "Optional[relevance.Subjects]" = None) -> Optional[Context]:
    """Run the cross-resource rules over each view of ``base``; append the problems each view
    owns to ``raw`` (only those on ``only_resources``, when given)."""
    view_dups = {k: [r for r in v if id(r) not in rejected] for k, v in dups.items()}
    view_dups = {k: v for k, v in view_dups.items() if len(v) > 1}
    first_ctx: Optional[Context] = None
    for i, v in enumerate(views(base, view_dups)):
        vp = base if v.owned is None else _sub_project(base, v.resources)
        vctx = Context(vp, settings)
        if timings is not None:
            vctx.timings = timings  # type: ignore[attr-defined]
        vctx.unit_problems = unit_problems if i == 0 else {}  # type: ignore[attr-defined]
        vraw = collect_problems(vctx, settings, rules, result, only=lambda c: not single_resource_rule(c),
                                subjects=subjects)
        if v.owned is not None:
            vraw = [(r, p) for r, p in vraw if _owned(p.code or r.code, p, v.owned, vp, i == 0)]
        if only_resources is not None:
            vraw = [(r, p) for r, p in vraw if p.resource is not None and id(p.resource) in only_resources]
        raw.extend(vraw)
        if first_ctx is None:
            first_ctx = vctx
    return first_ctx


def _owned(code: str, p: Problem, owned: set[int], project: Project, first: bool) -> bool:
    if code in NOTICE_CODES:
        return first
    if p.resource is not None:
        return id(p.resource.source) in owned
    if p.location is not None:
        for src in project.files:
            if src.path == p.location.file:
                return id(src) in owned
    return first


REJECTED_NOTE = "the resource would be rejected, so it would not exist (nothing resolves to it)"


def _with_rejected_note(message: str) -> str:
    return message if REJECTED_NOTE in message else f"{message.rstrip('.')}; {REJECTED_NOTE}"
