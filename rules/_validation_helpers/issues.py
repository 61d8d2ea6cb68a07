"""The validators' result type (:class:`Issues`, one list per resource and kind) and :func:`emit`,
which turns issues into problems for a rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import Resource
from istio_vm_lint.rule import Context


@dataclass(frozen=True)
class Issue:
    """One problem a validator found: level, field path, message, reference rule id."""

    level: str  # "E" (webhook rejects, IST0106) or "W" (admission warning, IST0133)
    path: FieldPath
    message: str
    rid: str  # reference rule id, e.g. "SE-24"


class Issues:
    """Collector used by the validators: ``v.err(path, rid, msg)`` / ``v.warn(...)``."""

    def __init__(self) -> None:
        self.items: list[Issue] = []

    def err(self, path: FieldPath, rid: str, message: Optional[str]) -> None:
        if message:
            self.items.append(Issue("E", tuple(path), message, rid))

    def warn(self, path: FieldPath, rid: str, message: Optional[str]) -> None:
        if message:
            self.items.append(Issue("W", tuple(path), message, rid))

    def errs(self, path: FieldPath, rid: str, messages: Iterable[str]) -> None:
        for m in messages:
            self.err(path, rid, m)


Validator = Callable[[Resource], Issues]

# A validator -> the same validator without the analyses that only warn (registered with
# :func:`errors_only`): what :func:`emit` runs for errors when ``Context.errors_only`` is set
# (the rejection verdicts of the context resources of a named-file run).
_ERRORS_ONLY: dict[Validator, Validator] = {}


def errors_only(full: Validator) -> Callable[[Validator], Validator]:
    """Register the decorated function as ``full`` giving the same errors and fewer warnings."""
    def deco(fn: Validator) -> Validator:
        _ERRORS_ONLY[full] = fn
        return fn
    return deco


def issues_of(ctx: Context, resource: Resource, validator: Callable[[Resource], Issues]) -> list[Issue]:
    """Run ``validator`` once per resource and run (several rules read the same result): one
    memo per validator, by resource (held, so that its id is not reused)."""
    found: dict[int, tuple[Resource, list[Issue]]] = ctx.memo(("validation-issues", validator.__qualname__), dict)
    hit = found.get(id(resource))
    if hit is None or hit[0] is not resource:
        hit = found[id(resource)] = (resource, validator(resource).items)
    return hit[1]


def emit(ctx: Context, kind: str, validator: Callable[[Resource], Issues], level: str,
         only: Optional[Sequence[str]] = None, exclude: Sequence[str] = ()) -> Iterator[Problem]:
    """Yield the problems of ``level`` for every resource of ``kind``.

    ``only`` restricts to some reference ids (a dedicated rule); ``exclude`` drops ids that a
    dedicated rule reports instead, so each issue has exactly one code.
    """
    if level == "E" and ctx.errors_only:
        validator = _ERRORS_ONLY.get(validator, validator)
    for res in ctx.each(kind):
        seen: set[tuple[FieldPath, str]] = set()
        for issue in issues_of(ctx, res, validator):
            if issue.level != level:
                continue
            if only is not None and issue.rid not in only:
                continue
            if issue.rid in exclude:
                continue
            key = (issue.path, issue.message)
            if key in seen:  # Go reports some errors twice; one finding is enough
                continue
            seen.add(key)
            yield Problem(res, issue.path, issue.message)
