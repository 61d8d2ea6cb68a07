"""Sample collections: sibling directories that are separate apps, applied one at a time.

A repository of samples (a workshop's chapters, a vendor's demos, Istio's own ``samples/``)
holds directories that each deploy a complete app of their own.  Linted as one mesh, their
objects meet objects they are never applied with: two demos' Gateways "conflict", one demo's
mesh-wide DestinationRule "overrides" another demo's rules, one demo's gateway Deployment
stops the stock installation gateway from being assumed for another.

Nothing in such a repository says how it is applied, so the split is inferred, and only from
evidence that the siblings cannot be one mesh: directory P is a *collection* when at least two
of its child directories are *apps* (their files define a workload — a pod template, a
WorkloadEntry or a WorkloadGroup — and a Service or ServiceEntry) and two of those apps define
the same app object (a workload, Service, ServiceEntry or Gateway: same kind, namespace and
name; a namespace-less manifest matches any namespace) differently.  One mesh cannot hold two different definitions of one object, so those
siblings are alternatives; each app child then becomes its own unit (and is examined the same
way for nested collections).  The usual layout of one application — a directory per namespace
or per service (``shop/``, ``payments/``, ``istio-system/``), each with its own objects — never
redefines an object, so it stays one unit; copies of a step file inside one directory remain
the business of the alternatives logic of ``lint/units.py``.  A ``units`` config turns this off.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable, Optional

from ..model import Resource, Service, ServiceEntry, WorkloadEntry, WorkloadGroup
from ..model_workloads import WorkloadController
from .load import Sources, build_project
from .plan import PLAIN, Unit, glob_match, unit_name

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings
    from ..discover import Discovered
    from ..project import Project

# Kinds whose redefinition shows that two directories are not one mesh (an app's own objects;
# routing and policy files are copied between tutorial steps on purpose).
_APP_KINDS = frozenset({"Service", "ServiceEntry", "Gateway", "WorkloadEntry", "WorkloadGroup"})


def _is_workload(r: Resource) -> bool:
    return isinstance(r, (WorkloadController, WorkloadEntry, WorkloadGroup))


def _app_object(r: Resource) -> bool:
    return r.kind in _APP_KINDS or isinstance(r, WorkloadController)


def _rel_dir(r: Resource, root: str) -> Optional[str]:
    real = r.source.real_path
    if real is None:
        return None
    rel = os.path.relpath(os.path.dirname(real), root).replace(os.sep, "/")
    return None if rel.startswith("..") else ("" if rel == "." else rel)


def _child(parent: str, d: str) -> Optional[str]:
    """The child of ``parent`` (root-relative, "" for the root) that holds directory ``d``."""
    if parent == "":
        rest = d
    elif d.startswith(parent + "/"):
        rest = d[len(parent) + 1:]
    else:
        return None
    if not rest:
        return None  # a file directly in ``parent``
    first = rest.split("/", 1)[0]
    return f"{parent}/{first}" if parent else first


def sample_dirs(resources: Iterable[Resource], root: str,
                operator_clusters: Iterable[tuple[Optional[str], tuple[str, str, str]]] = ()) -> list[str]:
    """Root-relative directories that are separate apps (see the module docstring), outermost
    first; empty when the repository does not look like a sample collection.
    ``operator_clusters``: the (real path, cluster identity) of each IstioOperator
    (``Project.operator_clusters``)."""
    by_dir: dict[str, list[Resource]] = defaultdict(list)
    dirs: dict[int, Optional[str]] = {}  # per source file: relpath is slow
    for r in resources:
        if id(r.source) not in dirs:
            dirs[id(r.source)] = _rel_dir(r, root)
        d = dirs[id(r.source)]
        if d is not None:
            by_dir[d].append(r)
    if len(by_dir) < 2:
        return []
    clusters: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for real, ident in operator_clusters:
        if real is not None:
            rel = os.path.relpath(os.path.dirname(real), root).replace(os.sep, "/")
            if not rel.startswith(".."):
                clusters["" if rel == "." else rel].add(ident)
    out: list[str] = []

    def visit(parent: str, dirs: list[str]) -> None:
        children: dict[str, list[str]] = defaultdict(list)
        for d in dirs:
            c = _child(parent, d)
            if c is not None:
                children[c].append(d)
        if not children:
            return
        apps = [c for c, ds in sorted(children.items()) if _is_app(r for d in ds for r in by_dir[d])]
        if len(apps) >= 2 and _redefine(apps, children, by_dir) and not _clusters_of_one_mesh(apps, clusters):
            out.extend(apps)
        for c, ds in sorted(children.items()):
            visit(c, ds)

    visit("", sorted(by_dir))
    return out


def _clusters_of_one_mesh(apps: list[str], clusters: dict[str, set[tuple[str, str, str]]]) -> bool:
    """Are the app directories the clusters of one multi-cluster mesh?  Each holds an
    IstioOperator installing a control plane of the same mesh (``meshID``) with its own cluster
    name or network: what one cluster defines differently from another (its east-west gateway,
    its replicas) is applied to another cluster of the same mesh, not instead of it
    (docs/semantics.md §multicluster-directories), so they are linted as one mesh."""
    ids = []
    for c in apps:
        found = {i for d, got in clusters.items() if d == c or d.startswith(c + "/") for i in got}
        if len(found) != 1:
            return False
        ids.append(found.pop())
    return len({m for m, _, _ in ids}) == 1 and len({(cl, net) for _, cl, net in ids}) == len(ids)


def _is_app(resources: Iterable[Resource]) -> bool:
    workload = service = False
    for r in resources:
        workload = workload or _is_workload(r)
        service = service or isinstance(r, (Service, ServiceEntry))
        if workload and service:
            return True
    return False


def _redefine(apps: list[str], children: dict[str, list[str]], by_dir: dict[str, list[Resource]]) -> bool:
    """Do two of the app directories define one app object differently?  A namespace-less
    manifest goes wherever it is applied, so it is the same object as one of that kind and
    name in any namespace."""
    # Per identity: the copies by namespace (explicit ones) and the namespace-less ones, so
    # that each object is compared only with those it can be (the same namespace, or any
    # when either has none stated); one app's objects are never compared with each other.
    seen: dict[tuple[str, str, str], tuple[dict[str, list[tuple[str, Resource]]], list[tuple[str, Resource]]]] = {}
    group_of: dict[str, str] = {}  # apiVersion -> group, split once per apiVersion
    for c in apps:
        for d in children[c]:
            for r in by_dir[d]:
                if not _app_object(r) or getattr(r, "name_generated", False) or not r.name:
                    continue
                group = group_of.get(r.api_version)
                if group is None:
                    group = group_of[r.api_version] = r.group
                key = (group, r.kind, r.name)
                got = seen.get(key)
                if got is None:
                    seen[key] = got = ({}, [])
                by_ns, loose = got
                if r.namespace_explicit:
                    candidates: Iterable[tuple[str, Resource]] = itertools.chain(by_ns.get(r.namespace, ()), loose)
                else:
                    candidates = itertools.chain(itertools.chain.from_iterable(by_ns.values()), loose)
                for other_c, o in candidates:
                    if other_c != c and o.data != r.data:  # (the deep comparison last: it is the costly one)
                        return True
                if r.namespace_explicit:
                    by_ns.setdefault(r.namespace, []).append((c, r))
                else:
                    loose.append((c, r))
    return False


def owner(rel_path: str, samples: list[str]) -> Optional[str]:
    """The innermost sample directory holding the root-relative file ``rel_path``."""
    best: Optional[str] = None
    for s in samples:
        if rel_path.startswith(s + "/") and (best is None or len(s) > len(best)):
            best = s
    return best


def split_plain_units(units: list[Unit], projects: list["Project"], sources: Sources, settings: "Settings",
                      displays: dict[str, "Discovered"], root: str) -> tuple[list[Unit], list["Project"]]:
    """Replace the plain unit by one unit per sample directory (see :func:`sample_dirs`) and
    what is left; other units, and runs with a ``units`` config, are kept as they are."""
    if getattr(settings, "units", ()):
        return units, projects
    real_root = os.path.realpath(root)
    shared = tuple(getattr(settings, "shared_paths", ()) or ())
    out_units: list[Unit] = []
    out_projects: list[Project] = []
    for unit, project in zip(units, projects, strict=False):
        samples = sample_dirs(project.resources, real_root, project.operator_clusters) if unit.kind == PLAIN else []
        if not samples:
            out_units.append(unit)
            out_projects.append(project)
            continue
        groups: dict[str, list[Discovered]] = defaultdict(list)
        rest: list[Discovered] = []
        common: list[Discovered] = []
        for d in unit.files:
            rel = os.path.relpath(d.real, real_root).replace(os.sep, "/")
            if shared and any(glob_match(rel, g) for g in shared):
                common.append(d)
                continue
            o = owner(rel, samples)
            (groups[o] if o else rest).append(d)
        # Text read from stdin (an editor's buffer) belongs to the sample its name places it in.
        stdin_owner = None
        if unit.stdin is not None:
            stdin_rel = os.path.relpath(os.path.realpath(unit.stdin[0]), real_root).replace(os.sep, "/")
            stdin_owner = owner(stdin_rel, samples)
            if stdin_owner is not None:
                groups.setdefault(stdin_owner, [])
        new = [Unit(unit_name(os.path.join(real_root, name)), "sample", files + common,
                    stdin=unit.stdin if name == stdin_owner else None)
               for name, files in sorted(groups.items())]
        plain_stdin = unit.stdin if stdin_owner is None else None
        if rest or plain_stdin is not None or unit.charts:
            new.append(Unit(PLAIN, PLAIN, rest + common, stdin=plain_stdin, charts=unit.charts))
        for u in new:
            out_units.append(u)
            out_projects.append(build_project(u, sources, settings, displays, root))
    return out_units, out_projects
