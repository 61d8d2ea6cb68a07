"""Copies of one object inside a unit, and the views that keep them apart.

Kubernetes keeps one object per identity, so copies (tutorial steps, one manifest per
cluster) are never compared with each other: each view picks one copy of every duplicated
identity (a file's own copy, else the nearest), and reports only on the files that chose it.
The copies themselves are reported once (IVL750, ``copy_problems``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

from ..findings import Problem
from ..model import Resource, SourceFile
from ..project import Project


def identity(r: Resource) -> tuple[str, str, str, str]:
    return (r.group, r.kind, r.namespace, r.name)


def copies_of(resources: list[Resource]) -> dict[tuple[str, str, str, str], list[Resource]]:
    groups: dict[tuple[str, str, str, str], list[Resource]] = defaultdict(list)
    group_of: dict[str, str] = {}  # apiVersion -> group (:func:`identity`, once per apiVersion)
    for r in resources:
        if r.name_generated:  # generateName: a new object on every create
            continue
        g = group_of.get(r.api_version)
        if g is None:
            g = group_of[r.api_version] = r.group
        groups[(g, r.kind, r.namespace, r.name)].append(r)
    return {k: sorted(v, key=lambda r: (r.source.path, r.doc_index, r.base))
            for k, v in groups.items() if len(v) > 1}


def _dir_distance(a: str, b: str) -> int:
    pa, pb = a.split("/"), b.split("/")
    n = 0
    while n < len(pa) and n < len(pb) and pa[n] == pb[n]:
        n += 1
    return (len(pa) - n) + (len(pb) - n)


@dataclass
class View:
    """The resources of one choice of copies, and the files it reports on."""

    resources: list[Resource]
    owned: Optional[set[int]]  # ids of the SourceFiles it reports on; None = all


def views(project: Project, dups: dict[tuple[str, str, str, str], list[Resource]]) -> list[View]:
    """One view per distinct choice of copies (see the module docstring)."""
    if not dups:
        return [View(project.resources, None)]
    dup_keys = sorted(dups)
    dup_ids = {id(r) for rs in dups.values() for r in rs}
    unique = [r for r in project.resources if id(r) not in dup_ids]
    by_file: dict[int, SourceFile] = {}
    for r in project.resources:
        by_file.setdefault(id(r.source), r.source)
    groups: dict[tuple[int, ...], list[SourceFile]] = defaultdict(list)
    for src in sorted(by_file.values(), key=lambda s: s.path):
        d = os.path.dirname(src.path.replace(os.sep, "/"))
        choice: list[int] = []
        for k in dup_keys:
            cs = dups[k]
            own = [c for c in cs if c.source is src]
            if own:
                pick = own[0]
            else:
                pick = min(cs, key=lambda c: (_dir_distance(d, os.path.dirname(c.source.path.replace(os.sep, "/"))),
                                              c.source.path, c.doc_index))
            choice.append(id(pick))
        groups[tuple(choice)].append(src)
    by_id = {id(r): r for rs in dups.values() for r in rs}
    out: list[View] = []
    for choice, srcs in sorted(groups.items(), key=lambda kv: kv[1][0].path):  # type: ignore[assignment]
        out.append(View(unique + [by_id[i] for i in choice], {id(s) for s in srcs}))
    # Files without resources (parse errors only) belong to the first view.
    owned_any = {i for v in out for i in (v.owned or ())}
    for src in project.files:
        if id(src) not in owned_any and out[0].owned is not None:
            out[0].owned.add(id(src))
    return out


def with_copy_beside(dups: dict[tuple[str, str, str, str], list[Resource]]) -> set[int]:
    """Ids of the resources that have a copy in their own directory.  A directory whose files
    define the same object more than once is a set of alternatives (tutorial steps
    ``vs-v1.yaml … vs-v7.yaml``, ``enable-mtls.yaml``/``disable-mtls.yaml``), applied one at a
    time: which copy is live, and so what it conflicts with or resolves to, is not stated.
    Identical copies (one manifest per cluster) leave no choice and do not count."""
    out: set[int] = set()
    for cs in dups.values():
        by_dir: dict[str, list[Resource]] = defaultdict(list)
        for c in cs:
            by_dir[os.path.dirname(c.source.path.replace(os.sep, "/"))].append(c)
        for same in by_dir.values():
            if len(same) > 1 and any(c.data != same[0].data for c in same[1:]):
                out.update(id(c) for c in same)
    return out


@dataclass
class Elsewhere:
    """Directories that are alternatives of each other, known from objects they define
    differently (the variants of a tutorial, one per scenario, applied one at a time).

    ``copies``: ``id -> directory`` of every copy of an object defined differently in more than
    one directory (a view that takes the nearest copy for a file whose own directory has none
    makes a choice the repository does not state).  ``siblings``: for two such copies, the
    children of their directories' common ancestor that hold them; whatever lies under one of
    them is never applied together with what lies under the other."""

    copies: dict[int, str]
    siblings: set[frozenset[str]]

    def apart(self, a: str, b: str) -> bool:
        """Are directories ``a`` and ``b`` under two sibling alternatives?"""
        pair = diverge(a, b)
        return pair is not None and frozenset(pair) in self.siblings


def diverge(a: str, b: str) -> Optional[tuple[str, str]]:
    """The children of the common ancestor of ``a`` and ``b`` that hold each (None when one
    holds the other)."""
    pa, pb = a.split("/") if a else [], b.split("/") if b else []
    n = 0
    while n < len(pa) and n < len(pb) and pa[n] == pb[n]:
        n += 1
    if n == len(pa) or n == len(pb):
        return None
    return "/".join(pa[:n + 1]), "/".join(pb[:n + 1])


def copies_elsewhere(dups: dict[tuple[str, str, str, str], list[Resource]]) -> Elsewhere:
    """See :class:`Elsewhere`."""
    out = Elsewhere({}, set())
    for cs in dups.values():
        where = [(c, os.path.dirname(c.source.path.replace(os.sep, "/"))) for c in cs]
        if len({d for _, d in where}) < 2 or all(c.data == cs[0].data for c in cs[1:]):
            continue
        for c, d in where:
            out.copies[id(c)] = d
        for i, (c, d) in enumerate(where):
            for o, e in where[i + 1:]:
                pair = diverge(d, e) if c.data != o.data else None
                if pair is not None:
                    out.siblings.add(frozenset(pair))
    return out


def copy_problems(dups: dict[tuple[str, str, str, str], list[Resource]]) -> dict[str, list[Problem]]:
    """What the unit rules (rules/units.py) report: copies (IVL750), always info.  A rendered
    kustomization cannot hold two (kustomize refuses them: IVL753); in the fallback without a
    render, name prefixes and suffixes are not applied, so copies there are often artefacts; a
    plain directory of differing copies is a set of alternatives."""
    out: dict[str, list[Problem]] = defaultdict(list)
    pairs: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for key, cs in sorted(dups.items()):
        first = cs[0]
        # One finding per directory that holds further copies (tutorial steps vs-v1 … vs-v9
        # are one set of alternatives, not eight findings), at the first of them.
        by_dir: dict[str, list[Resource]] = defaultdict(list)
        for other in cs[1:]:
            by_dir[os.path.dirname(other.source.path)].append(other)
        for group in by_dir.values():
            other = group[0]
            same_dir = os.path.dirname(other.source.path) == os.path.dirname(first.source.path)
            where = "in the same directory" if same_dir else "in another directory"
            if other.source is first.source:
                where = "in the same file"
            g, kind, ns, name = key
            what = f"{kind} {ns}/{name}" if ns else f"{kind} {name}"
            identical = all(o.data == first.data for o in group)
            same = "an identical copy" if identical else "a different definition"
            effect = ("applying both changes nothing" if identical else
                      "if both are applied, the one applied last replaces the other" if not same_dir else
                      "applying the directory keeps only the one applied last")
            more = ""
            if len(group) > 1:
                names = ", ".join(os.path.basename(o.source.path) for o in group[1:4])
                more = f"; {len(group) - 1} more cop{'y' if len(group) == 2 else 'ies'} there: {names}"
                more += ", …" if len(group) > 4 else ""
            p = Problem(
                other, ("metadata", "name"),
                f"{what} is defined again {where} ({same}: {first.source.path}){more}; Kubernetes keeps one "
                f"object per identity, so {effect}; the copies are not compared with each other",
                related=((first, ("metadata", "name")),) + tuple((o, ("metadata", "name")) for o in group[1:]),
                severity="info")
            if identical and not same_dir and len(group) == 1:
                # A file repeating another directory's file (versioned workshop copies): one
                # finding per pair of files, not one per object.
                pairs[(other.source.path, first.source.path)].append(p)
            else:
                out["IVL750"].append(p)
    for (_path, first_path), ps in pairs.items():
        if len(ps) == 1:
            out["IVL750"].append(ps[0])
            continue
        top = min(ps, key=lambda q: q.resource.doc_index if q.resource is not None else 0)
        top.message = (f"{len(ps)} objects of this file are defined again in another directory (identical copies: "
                       f"{first_path}); Kubernetes keeps one object per identity, so applying both changes nothing; "
                       "the copies are not compared with each other")
        top.related = tuple(r for q in ps for r in q.related)
        out["IVL750"].append(top)
    return out
