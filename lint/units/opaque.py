"""Files of a unit that the linter cannot read as resources, yet may define what a reference names.

A file that does not parse (a sed template with ``%IMAGE%``, a YAML slip) is reported once
(IVL001) and contributes no resource; an OpenShift ``Template`` holds its objects under
``objects:`` with ``${PARAM}`` names that ``oc process`` fills in.  Either may define the
Service or Gateway another file refers to, so a reference that resolves to nothing, to a name
such a file mentions, is not reported above info (as for an unrendered Helm chart): the
repository does define it, in a form the linter does not read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    from ..findings import Problem
    from ..project import Project

_TEMPLATE_RE = re.compile(rb"^kind:[ \t]*[\"']?Template[\"']?[ \t]*(?:#.*)?$", re.M)
_OBJECTS_RE = re.compile(rb"^objects:", re.M)
_HOST_NS_RE = re.compile(r"\b([a-z0-9][a-z0-9-]*)\.([a-z0-9][a-z0-9-]*)\.svc(?:\.|\b)")
_NS_NAME_RE = re.compile(r"(?<![\w./-])([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9.-]*)\b")


def opaque_files(project: "Project") -> list[tuple[str, str, str]]:
    """``(path, why, text)`` of the unit's files that do not parse or hold an OpenShift Template."""
    cached = getattr(project, "_opaque_files", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    unparsed = {id(lp.source) for lp in project.problems if lp.code == "IVL001"}
    out: list[tuple[str, str, str]] = []
    for src in project.files:
        raw = src.raw
        if not raw:
            continue
        if id(src) in unparsed:
            why = "which does not parse"
        elif _TEMPLATE_RE.search(raw) and _OBJECTS_RE.search(raw):
            why = "an OpenShift Template"
        else:
            continue
        out.append((src.path, why, raw.decode("utf-8", "replace")))
    project._opaque_files = out  # type: ignore[attr-defined]
    return out


def _missing_names(p: "Problem") -> list[str]:
    """Object names the message says are missing: hosts (``name.ns.svc…``) and ``ns/name``
    references other than the reporting resource itself."""
    names = [m.group(1) for m in _HOST_NS_RE.finditer(p.message)]
    own = p.resource.name if p.resource is not None else None
    names += [m.group(2) for m in _NS_NAME_RE.finditer(p.message) if m.group(2) != own]
    return [n for n in dict.fromkeys(names) if len(n) >= 3]


def may_define(p: "Problem", project: "Project") -> Optional[str]:
    """Why a file of the unit the linter cannot read may define what ``p`` finds missing."""
    files = opaque_files(project)
    if not files:
        return None
    for name in _missing_names(p):
        word = re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])")
        for path, why, text in files:
            if word.search(text):
                return f"{path}, {why}, mentions '{name}' and may define it"
    return None
