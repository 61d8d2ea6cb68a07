"""Findings and severities: the data every stage after the rules speaks.

A rule never builds a :class:`Finding` itself. It yields a :class:`Problem` that names a
resource and a field path; the engine turns it into a finding with the rule's code and
severity and resolves the path to a 1-based line/column only when the finding is reported.
That keeps rules free of position bookkeeping and lets the loader keep no position index in
memory for files without findings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover
    from .model import Resource

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}

# A field path inside a document: keys (str) and list indexes (int).
FieldPath = Tuple[Union[str, int], ...]


def format_path(path: FieldPath) -> str:
    """Render ``("spec", "ports", 1, "targetPort")`` as ``spec.ports[1].targetPort``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class ResourceRef:
    """The object a finding is about: kind, name, namespace."""

    kind: str
    name: str
    namespace: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "namespace": self.namespace}

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Location:
    """A resolved place in a file (1-based line and column)."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class Related:
    """Another place a finding points to (the other end of a broken reference)."""

    location: Location
    resource: Optional[ResourceRef]
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "resource": self.resource.as_dict() if self.resource else None,
        }


@dataclass
class Problem:
    """What a rule yields: something wrong at ``path`` inside ``resource``.

    ``related`` lists the other ends of a broken edge as ``(resource, path)`` pairs.
    ``location`` is only for problems that are not inside a resource (parse errors).
    ``severity`` overrides the rule's default for this one problem (rare, e.g. "less certain").
    """

    resource: Optional["Resource"]
    path: FieldPath
    message: str
    related: Tuple[Tuple["Resource", FieldPath], ...] = ()
    severity: Optional[str] = None
    location: Optional[Location] = None
    code: Optional[str] = None  # only for multi-code emitters such as the loader
    # Set by the engine in a named-file run: the named-file resource that makes this problem
    # in another file reportable (see engine.caused_by_change).
    cause: Optional["Resource"] = None


@dataclass
class Finding:
    """One located, reported problem: what every output format renders."""

    code: str
    rule: str
    severity: str
    message: str
    location: Location
    resource: Optional[ResourceRef]
    field: str
    related: list[Related] = dataclasses.field(default_factory=list)  # (`field` is an attribute here)
    # Stable identity that survives line shifts: used by baselines and SARIF fingerprints.
    fingerprint: str = ""
    # In a run on named files (pre-commit): the resource in a named file whose change this
    # finding, located in another file, follows from.  None when the finding is in a named
    # file or the whole repository is linted.
    caused_by: Optional[Related] = None

    def cause_note(self) -> str:
        """`` (caused by the change to ServiceEntry vm/a in se.yaml)`` or ``""``."""
        c = self.caused_by
        if c is None:
            return ""
        what = f"{c.resource} in " if c.resource else ""
        return f" (caused by the change to {what}{c.location.file})"

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.location.file, self.location.line, self.location.column, self.code, self.message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "code": self.code,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "resource": self.resource.as_dict() if self.resource else None,
            "field": self.field,
            "related": [r.as_dict() for r in self.related],
            **({"caused_by": self.caused_by.as_dict()} if self.caused_by is not None else {}),
        }
