"""Argo CD Applications: the namespace of what an Application deploys from this repository.

An Argo CD ``Application`` names a directory of the repository (``spec.source.path``, or each
of ``spec.sources``) and a destination namespace.  Argo CD puts every namespaced resource
that has no ``metadata.namespace`` into that namespace
(docs/semantics.md §argocd-destination-namespace).  A platform repository (app-of-apps) therefore often writes its manifests without
namespaces; without this step they would all be *assumed* to be in ``--default-namespace``.

An ``ApplicationSet`` whose git directory generator walks this repository makes one such
Application per matching directory (its template with ``{{path}}``, ``{{path.basename}}`` ...
filled in); other generators are not expanded.

After the units are loaded, :func:`applications` reads the Applications of every unit and
:func:`apply_destinations` gives the namespace-less resources of each source its
Application's destination namespace, marked as stated (``namespace_explicit``):

* a kustomize root at the path (rendered, or its files as a fallback): every resource of that
  unit without a namespace after kustomize ran (the kustomization's own ``namespace:`` wins);
  with ``spec.source.kustomize.namespace`` Argo CD has kustomize set that namespace on every
  resource of the build, as a kustomization's ``namespace:`` does;
* a plain directory: the YAML files directly in it, or below it with ``directory.recurse``,
  honouring ``directory.include`` / ``exclude``;
* a Helm chart source (``chart:``, or a chart directory) is left alone: its release namespace
  is the chart's (``namespaces`` config), as before.

What is never guessed: a source whose path does not exist in the repository (another
repository), the repository root itself (``path: .``, usually another repository's root), a
path or namespace that is still a template (``{{...}}``, ``${...}``, ``<...>``),
and a directory that several Applications deploy to different namespaces (it stays assumed).
The config's ``namespaces`` table and a resource's own namespace always win.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from ..resource import as_list, as_map, as_str

if TYPE_CHECKING:  # pragma: no cover
    from ..project import Project
    from .load import Sources
    from .plan import Unit

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_TEMPLATE = re.compile(r"\{\{|\$\{|\$\(|<[^>]*>")
_KUSTOMIZE_UNITS = ("kustomize", "kustomize-files")


@dataclass(frozen=True)
class Destination:
    """One source of one Application: the directory (real path) and the namespace it gets."""

    directory: str
    namespace: str
    recurse: bool = False
    include: str = ""
    exclude: str = ""
    kustomize_namespace: bool = False  # spec.source.kustomize.namespace, not the destination


def applications(projects: list["Project"], root: str) -> list[Destination]:
    """The sources of the repository's Argo CD Applications that deploy a directory of it."""
    real_root = os.path.realpath(root)
    found: dict[tuple[str, str], Destination] = {}
    for project in projects:
        for app in project.argo_applications:
            specs = (_generated_specs(app, real_root) if app.get("kind") == "ApplicationSet"
                     else [as_map(app.get("spec"))])
            for spec in specs:
                _add_sources(spec, real_root, found)
    by_dir: dict[str, set[str]] = {}
    for d in found.values():
        by_dir.setdefault(d.directory, set()).add(d.namespace)
    # A directory deployed to several namespaces (dev and prod Applications of one path):
    # which copy a finding is about is unknown, so its resources stay assumed.
    return sorted((d for d in found.values() if len(by_dir[d.directory]) == 1),
                  key=lambda d: (d.directory, d.namespace))


def _add_sources(spec: dict[str, Any], real_root: str, found: dict[tuple[str, str], Destination]) -> None:
    dest_ns = as_str(as_map(spec.get("destination")).get("namespace")) or ""
    sources = [as_map(spec.get("source"))] if isinstance(spec.get("source"), dict) else []
    sources += [as_map(s) for s in as_list(spec.get("sources"))]
    for src in sources:
        d = _destination(src, dest_ns, real_root)
        if d is not None:
            found.setdefault((d.directory, repr(d)), d)


# The parameters of a git directory generator, in the fasttemplate and the goTemplate spelling:
# path / path.path, path.basename, path.basenameNormalized, path[n] / index .path.segments n.
_PARAM = re.compile(r"\{\{-?\s*(?:\.?path(?:\.path)?|\.?path\.(basename|basenameNormalized)|path\[(\d+)\]"
                    r"|index \.path\.segments (\d+))\s*-?\}\}")


def _generated_specs(appset: dict[str, Any], real_root: str) -> list[dict[str, Any]]:
    """The Application specs an ApplicationSet's git directory generators make from this
    repository's directories: ``template.spec`` with the path parameters filled in.  Other
    generators (lists, clusters, matrices) and other parameters are not expanded; whatever is
    left templated is not guessed (``_destination``)."""
    from .plan import glob_match, rel_path

    spec = as_map(appset.get("spec"))
    template = as_map(as_map(spec.get("template")).get("spec"))
    if not template:
        return []
    out: list[dict[str, Any]] = []
    for gen in as_list(spec.get("generators")):
        git = as_map(as_map(gen).get("git"))
        if git.get("pathParamPrefix"):
            continue
        include: list[str] = []
        exclude: list[str] = []
        for d in as_list(git.get("directories")):
            p = as_str(as_map(d).get("path")).strip().strip("/")
            if p:
                (exclude if as_map(d).get("exclude") is True else include).append(p)
        if not include:
            continue
        for dirpath, dirnames, _ in os.walk(real_root):
            dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))  # as the generator skips them
            rel = rel_path(dirpath, real_root)
            if rel == "." or not any(glob_match(rel, g) for g in include) or any(glob_match(rel, g) for g in exclude):
                continue
            out.append(_fill(template, rel))
    return out


def _fill(node: Any, rel: str) -> Any:
    """``node`` with the git directory parameters of directory ``rel`` substituted in its strings."""
    if isinstance(node, dict):
        return {k: _fill(v, rel) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, rel) for v in node]
    if not isinstance(node, str) or "{{" not in node:
        return node
    segments = rel.split("/")

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            base = segments[-1]
            return re.sub(r"[^a-zA-Z0-9-]", "-", base) if m.group(1) == "basenameNormalized" else base
        index = m.group(2) or m.group(3)
        if index is not None:
            n = int(index)
            return segments[n] if n < len(segments) else m.group(0)
        return rel

    return _PARAM.sub(one, node)


def _destination(src: dict[str, Any], dest_ns: str, real_root: str) -> Optional[Destination]:
    if src.get("chart") is not None or src.get("ref") is not None and src.get("path") is None:
        return None  # a Helm repository chart, or a values-only reference source
    path = as_str(src.get("path"))
    if not path or _TEMPLATE.search(path):
        return None
    kz_ns = as_str(as_map(src.get("kustomize")).get("namespace")) or ""
    ns = kz_ns or dest_ns
    if not _DNS_LABEL.match(ns):
        return None  # none, or a template: the resources stay assumed
    rel = path.strip().strip("/")
    if rel in ("", ".") or rel.startswith("..") or os.path.isabs(path):
        return None
    directory = os.path.realpath(os.path.join(real_root, rel))
    if not directory.startswith(real_root + os.sep) or not os.path.isdir(directory):
        return None
    if os.path.isfile(os.path.join(directory, "Chart.yaml")) and not _has_kustomization(directory):
        return None  # a Helm chart: its release namespace is the chart's
    d = as_map(src.get("directory"))
    return Destination(directory, ns, d.get("recurse") is True, as_str(d.get("include")) or "",
                       as_str(d.get("exclude")) or "", bool(kz_ns))


def _has_kustomization(directory: str) -> bool:
    return any(os.path.isfile(os.path.join(directory, n)) for n in ("kustomization.yaml", "kustomization.yml",
                                                                    "Kustomization"))


def apply_destinations(destinations: list[Destination], units: list["Unit"], projects: list["Project"]) -> None:
    """Give the namespace-less resources each Application deploys its destination namespace."""
    if not destinations:
        return
    by_dir = {d.directory: d for d in destinations}
    for unit, project in zip(units, projects, strict=False):
        root_dir = unit.tree.root.dir if unit.kind in _KUSTOMIZE_UNITS and unit.tree is not None else None
        whole = by_dir.get(root_dir) if root_dir else None
        # The unit's ``shared-paths`` files are not the Application's (a rendered unit's files
        # are only those; a fallback unit's are the files its kustomizations list, and those).
        shared = ({d.real for d in unit.files} - set(unit.tree.resource_files)
                  if whole is not None and unit.tree is not None else set())
        changed = False
        forced = whole is not None and whole.kustomize_namespace
        for r in project.resources:
            if r.namespace_explicit and not forced or r.kind == "Namespace" or r.source.real_path is None:
                continue
            real = r.source.real_path
            if forced and real in shared:
                continue
            if whole is not None and real not in shared:
                ns: Optional[str] = whole.namespace
            elif whole is None and root_dir is None:
                ns = _directory_namespace(real, destinations, by_dir)
            else:
                ns = None
            if ns:
                r.namespace, r.namespace_explicit = ns, True
                r.forget("ref")
                changed = True
        if changed:
            project._by_kind = None


def _directory_namespace(real: str, destinations: list[Destination], by_dir: dict[str, Destination]) -> Optional[str]:
    """The namespace of a file an Application deploys as a plain directory (innermost wins)."""
    parent = os.path.dirname(real)
    if not real.endswith((".yaml", ".yml", ".json")):
        return None
    d = by_dir.get(parent)
    if d is None:
        d = next((x for x in sorted(destinations, key=lambda x: -len(x.directory))
                  if x.recurse and parent.startswith(x.directory + os.sep)), None)
    if d is None or _has_kustomization(d.directory):
        return None  # a kustomize root: Argo CD builds it, the loose files are not applied as they are
    rel = os.path.relpath(real, d.directory).replace(os.sep, "/")
    if d.include and not _globs(rel, d.include):
        return None
    if d.exclude and _globs(rel, d.exclude):
        return None
    return d.namespace


def _globs(rel: str, pattern: str) -> bool:
    """Argo CD's ``include``/``exclude``: a glob, or ``{a,b}`` alternatives, matched on the
    path relative to the source directory (and on the file name)."""
    p = pattern.strip()
    alts = [a.strip() for a in p[1:-1].split(",")] if p.startswith("{") and p.endswith("}") else [p]
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, a) or fnmatch.fnmatchcase(name, a) for a in alts if a)


def applications_elsewhere(units: list["Unit"], sources: "Sources") -> list["Project"]:
    """The Applications in the files of units a run on named files does not load (pre-commit):
    the placement of the named files' resources must not depend on which files were named.
    Only files that mention ``argoproj.io`` are parsed (through ``sources``, once)."""
    from ..project import Project, add_documents, read_source

    found = Project()
    for unit in units:
        for d in unit.files:
            if d.outside is not None:
                continue
            got = sources.preread.get(d.real)
            raw = got[0] if got is not None else read_source(d)[0]
            if raw is None or b"argoproj.io" not in raw:
                continue
            src, result, _ = sources.get(d)
            if result is not None:
                add_documents(found, src, result)
    return [found] if found.argo_applications else []
