"""Deployment units: lint what gets applied together, not every file as one mesh.

A repository is a collection of things applied separately.  The run is split into *units*,
each linted as one mesh, and the findings of all units are merged:

* every kustomization no other kustomization uses (a *root*) is a unit, rendered with the
  real kustomize (``lint/kustomize.py``); the files it uses are checked through it only.
  Without kustomize (or when the tree cannot be rendered safely) the files it lists are read
  as they are, its ``namespace:`` applied, its patch files left out, and one info notice says so;
* a directory with ``Chart.yaml`` is a Helm chart: rendered with ``helm template`` when helm
  is on PATH, otherwise one info notice; its templates are never parsed as YAML;
* the config key ``units`` (globs of directories) makes each matching directory a unit;
* everything else is the *plain* unit; ``shared-paths`` files are added to every unit.

Inside a unit there is one object per identity (group, kind, namespace, name).  Copies are
reported once (IVL750) and never compared with each other: the cross-resource rules run in
*views*, one per distinct choice of copies, where each file sees its own copy or, failing
that, the copy nearest to it; a view reports only on its own files.  Resources the API
server or Istio's webhook would reject take no part in resolution.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import marshal
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional

from . import helm as helm_mod
from . import kustomize as kz
from .config import Settings
from .discover import Discovered, display_path
from .engine import RunResult, collect_problems, finish, is_selected
from .findings import Finding, Location, Problem
from .loader import LoadResult, PositionIndex, ScalarCache, load_documents
from .model import Origin, Resource, SourceFile
from .project import LoadProblem, Project, _add_resource, add_documents, outside_link_problem, read_source
from .rule import Context, Rule

if TYPE_CHECKING:  # pragma: no cover
    from .cache import ParseCache

PLAIN = "."

# Rules whose error findings mean the API server or Istio's validating webhook rejects the
# resource (schema, CRD CEL rules, Istio validation): such a resource never exists.
REJECTING = frozenset({"IVL010", "IVL011", "IVL600", "IVL610", "IVL620", "IVL630", "IVL632", "IVL633",
                       "IVL640", "IVL645", "IVL650"})

# The unit rules themselves (copies, unrendered kustomizations and charts).
UNIT_CODES = frozenset({"IVL750", "IVL751", "IVL752", "IVL753", "IVL754"})

# Findings that say "the other end of a reference does not exist": an unrendered chart may
# define it, so they are not reported above info while a chart is unrendered.
UNRESOLVED_REFERENCE = frozenset({"IVL101", "IVL102", "IVL106", "IVL107", "IVL108", "IVL110", "IVL501",
                                  "IVL502", "IVL503", "IVL506", "IVL508", "IVL720"})


NOTICE_CODES = frozenset({"IVL750", "IVL751", "IVL752", "IVL753"})


def single_resource_rule(code: str) -> bool:
    """Rules that look at one resource at a time (document, schema, Istio validation):
    run once per unit over every copy, before the rejected resources are taken out."""
    return code.startswith(("IVL0", "IVL6"))


@dataclass
class Unit:
    name: str  # root-relative directory ("." for the plain unit)
    kind: str  # plain, config, kustomize, kustomize-files, helm
    files: list[Discovered] = field(default_factory=list)  # read as they are
    ns_override: dict[str, str] = field(default_factory=dict)  # real path -> namespace (kustomization)
    tree: Optional[kz.Tree] = None
    rendered: Optional[bytes] = None
    wrapper: Optional[str] = None  # directory origin paths are relative to
    chart: Optional[str] = None  # helm: chart directory (real)
    stdin: Optional[tuple[str, bytes]] = None
    charts: list[tuple[Optional[str], Optional[bytes]]] = field(default_factory=list)  # rendered charts joined


@dataclass
class Notice:
    code: str
    file: str  # real path
    message: str
    line: int = 1


@dataclass
class Plan:
    units: list[Unit]
    notices: list[Notice] = field(default_factory=list)
    unrendered_charts: list[str] = field(default_factory=list)  # root-relative chart dirs
    # What each unit defines, for references between units (see :func:`definitions`).
    defined_elsewhere: dict[str, set[str]] = field(default_factory=dict)

    @property
    def trivial(self) -> bool:
        return len(self.units) == 1 and self.units[0].kind == PLAIN and not self.notices


# --- planning ---------------------------------------------------------------------------


def _name(path: str) -> str:
    """A unit's name: its directory as displayed (relative to the current directory)."""
    d = display_path(path)
    return d.replace(os.sep, "/") or "."


def _rel(path: str, root: str) -> str:
    r = os.path.relpath(path, root)
    return "." if r == "." else r.replace(os.sep, "/")


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as gitignore and the config docs mean it: ``*``, ``?`` and ``[...]`` stay
    inside one path segment and ``**`` spans segments, so ``samples/*`` names the directories
    directly under ``samples`` and not ``samples/a/b`` (fnmatch's ``*`` crosses ``/``)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            j = pattern.index("]", i + 2)
            body = pattern[i + 1:j]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _glob_match(rel: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    return _glob_regex(pattern).match(rel) is not None


def plan(files: list[Discovered], settings: Settings, stdin: Optional[tuple[str, bytes]] = None) -> Plan:
    """Split the discovered files into units (cheap when there is nothing to split)."""
    read = [d for d in files if d.outside is None]  # symlinks out of the repository are not read
    kfiles = [d.real for d in read if kz.is_kustomization(d.real)]
    chart_dirs = sorted({os.path.dirname(d.real) for d in read if os.path.basename(d.real) == "Chart.yaml"})
    config_units = tuple(getattr(settings, "units", ()) or ())
    shared = tuple(getattr(settings, "shared_paths", ()) or ())
    if not kfiles and not chart_dirs and not config_units:
        return Plan([Unit(PLAIN, PLAIN, list(files), stdin=stdin)])
    root = os.path.realpath(settings.root or os.getcwd())
    by_real = {d.real: d for d in files}
    consumed: set[str] = set()
    units: list[Unit] = []
    notices: list[Notice] = []
    shared_files = [d for d in files if shared and any(_glob_match(_rel(d.real, root), g) for g in shared)]
    shared_reals = {d.real for d in shared_files}

    # Helm charts: the whole chart directory is the chart's.
    unrendered: list[str] = []
    helm_cmd = helm_mod.command(getattr(settings, "helm_command", None))
    for chart in chart_dirs:
        consumed.update(r for r in by_real if r == chart or r.startswith(chart + os.sep))
        if helm_mod.chart_dir_of(os.path.dirname(chart), [c for c in chart_dirs if c != chart]):
            continue  # a subchart: rendered with its parent
        rel = _name(chart)
        chart_yaml = os.path.join(chart, "Chart.yaml")
        if helm_cmd is None:
            unrendered.append(rel)
            why = ("rendering is turned off by `helm-command`" if getattr(settings, "helm_command", None)
                   else "helm is not on PATH; set `helm-command`")
            notices.append(Notice("IVL752", chart_yaml, f"Helm chart {rel} is not rendered ({why}); its templates "
                                  "are not linted and references it could satisfy are reported at most as info"))
            continue
        values = _values_for(_rel(chart, root), chart, settings)
        release_ns = namespace_for(_rel(chart_yaml, root), getattr(settings, "namespaces", None) or {})
        try:
            out = helm_mod.render(helm_cmd, chart, values, namespace=release_ns)
        except kz.RenderError as exc:
            unrendered.append(rel)
            notices.append(Notice("IVL753", chart_yaml, f"Helm chart {rel} could not be rendered: {exc}; its "
                                  "templates are not linted"))
            continue
        units.append(Unit(rel, "helm", list(shared_files), rendered=out, chart=chart))

    # Kustomize roots.
    catalog = kz.Catalog(root)
    roots, components = kz.find_roots([k for k in kfiles if not helm_mod.chart_dir_of(k, chart_dirs)], catalog)
    k_cmd = kz.command(getattr(settings, "kustomize_command", None)) if roots else None
    for comp in components:
        consumed.update(catalog.tree(comp).used_files)
    trees = [catalog.tree(k) for k in roots]
    renders = _render_all(k_cmd, [t.root.dir for t in trees if not t.problems]) if k_cmd is not None else {}
    for k, tree in zip(roots, trees, strict=False):
        consumed.update(tree.used_files)
        rel = _name(k.dir)
        reason = "; ".join(tree.problems[:3]) if tree.problems else None
        if reason is None and k_cmd is not None:
            try:
                got = renders[k.dir]
                if isinstance(got, kz.RenderError):
                    raise got
                out, wrapper = got
            except kz.RenderError as exc:
                notices.append(Notice("IVL753", k.file, f"kustomization {rel} could not be rendered: {exc}; "
                                      "the files it lists are linted as they are"))
            else:
                units.append(Unit(rel, "kustomize", list(shared_files), tree=tree, rendered=out, wrapper=wrapper))
                continue
        elif reason is None:
            why = ("rendering is turned off by `kustomize-command`" if getattr(settings, "kustomize_command", None)
                   else "no kustomize or kubectl on PATH; set `kustomize-command`")
            notices.append(Notice("IVL751", k.file, f"kustomization {rel} is not rendered ({why}); the files it "
                                  "lists are linted as they are, with its namespace, and its patches are not applied"))
        else:
            notices.append(Notice("IVL751", k.file, f"kustomization {rel} is not rendered: {reason}; the files it "
                                  "lists are linted as they are, with its namespace, and its patches are not applied",
                                  _first_line_of(k.file, tree.problems[0])))
        fb_files = [by_real.get(p) or Discovered(display_path(p), p) for p in sorted(tree.resource_files)
                    if p.endswith(kz_yaml_suffixes())]
        ns = {p: n for p, n in tree.resource_files.items() if n}
        units.append(Unit(rel, "kustomize-files", _merge(fb_files, shared_files), ns_override=ns, tree=tree))

    # Config units and the plain unit.  A file beside a kustomization that no kustomization
    # uses (a patch commented out, an alternative) is not applied by `kubectl apply -k`.
    k_dirs = {os.path.dirname(k) for k in kfiles}
    rest = [d for d in files if d.real not in consumed and not kz.is_kustomization(d.real)
            and d.real not in shared_reals and os.path.dirname(d.real) not in k_dirs]
    by_unit: dict[str, list[Discovered]] = defaultdict(list)
    plain: list[Discovered] = []
    for d in rest:
        rel = _rel(d.real, root)
        owner = _config_unit_of(rel, config_units)
        (by_unit[owner] if owner else plain).append(d)
    for name in sorted(by_unit):
        units.append(Unit(name, "config", _merge(by_unit[name], shared_files)))
    if plain or stdin is not None or not units:
        # A rendered chart is installed into the cluster the loose manifests go to: its
        # resources join the plain unit (they satisfy its references) instead of standing alone.
        charts = [u for u in units if u.kind == "helm"]
        units = [u for u in units if u.kind != "helm"]
        units.append(Unit(PLAIN, PLAIN, _merge(plain, shared_files), stdin=stdin,
                          charts=[(u.chart, u.rendered) for u in charts]))
    units.sort(key=lambda u: (u.name == PLAIN, u.name))
    return Plan(units, notices, unrendered)


def _render_all(argv: list[str], dirs: list[str]) -> dict[str, Any]:
    """Render every root once, a few at a time (kustomize spends most of its time starting)."""
    def one(d: str) -> Any:
        try:
            return kz.render(argv, d)
        except kz.RenderError as exc:
            return exc

    if len(dirs) <= 1:
        return {d: one(d) for d in dirs}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1, len(dirs))) as pool:
        return dict(zip(dirs, pool.map(one, dirs), strict=False))


def kz_yaml_suffixes() -> tuple[str, ...]:
    return (".yaml", ".yml", ".json")


def _merge(a: list[Discovered], b: list[Discovered]) -> list[Discovered]:
    seen = {d.real for d in a}
    return a + [d for d in b if d.real not in seen]


def _config_unit_of(rel: str, globs: tuple[str, ...]) -> Optional[str]:
    """The directory (root-relative) of the innermost config unit holding ``rel``."""
    parts = rel.split("/")
    best: Optional[str] = None
    for i in range(1, len(parts)):
        d = "/".join(parts[:i])
        if any(_glob_match(d, g) for g in globs):
            best = d
    return best


def _values_for(rel: str, chart: str, settings: Settings) -> list[str]:
    table = getattr(settings, "helm_values", None) or {}
    best: Optional[tuple[int, list[str]]] = None
    for glob, files in table.items():
        if _glob_match(rel, glob) and (best is None or len(glob) > best[0]):
            best = (len(glob), list(files))
    out: list[str] = []
    for v in (best[1] if best else []):
        p = os.path.realpath(os.path.join(chart, v))
        if os.path.isfile(p):
            out.append(p)
    return out


def _first_line_of(path: str, problem: str) -> int:
    """The line of a kustomization naming the entry a problem is about (for the notice)."""
    try:
        with open(path, "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return 1
    for token in problem.replace("(", " ").replace(")", " ").split():
        token = token.rstrip(",;:")
        if len(token) > 3 and ("/" in token or "." in token) and not token.endswith(".yaml;"):
            for i, line in enumerate(lines, 1):
                if token in line and not line.lstrip().startswith("#"):
                    return i
    return 1


# --- loading ----------------------------------------------------------------------------


class Sources:
    """One :class:`SourceFile` and one parse per file for the whole run, shared by units."""

    def __init__(self, report_only: Optional[set[str]], parse_cache: Optional["ParseCache"]) -> None:
        self.report_only = report_only
        self.parse_cache = parse_cache
        self.cache = ScalarCache()
        self._files: dict[str, tuple[SourceFile, Optional[LoadResult], Optional[str]]] = {}

    def get(self, disc: Discovered) -> tuple[SourceFile, Optional[LoadResult], Optional[str]]:
        have = self._files.get(disc.real)
        if have is not None:
            return have
        raw, err = read_source(disc)
        report = self.report_only is None or disc.real in self.report_only
        src = SourceFile(disc.display, disc.real, PositionIndex(raw), report, raw)
        result: Optional[LoadResult] = None
        if raw is not None:
            key, result = self.parse_cache.get(raw) if self.parse_cache is not None else (b"", None)
            if result is None:
                result, _ = load_documents(raw, cache=self.cache)
                if self.parse_cache is not None:
                    self.parse_cache.put(key, result)
        self._files[disc.real] = (src, result, err)
        return self._files[disc.real]

    def by_real(self, real: str, displays: dict[str, Discovered]) -> tuple[SourceFile, Optional[LoadResult], Optional[str]]:
        return self.get(displays.get(real) or Discovered(display_path(real), real))

    def all_files(self) -> list[SourceFile]:
        return [v[0] for v in self._files.values()]


def _load_files(project: Project, files: Iterable[Discovered], sources: Sources) -> None:
    for disc in sorted(files, key=lambda d: (d.display, d.real)):
        if disc.outside is not None:  # a symlink leaving the repository: never read
            project.problems.append(outside_link_problem(disc, sources.report_only))
            continue
        src, result, err = sources.get(disc)
        project.files.append(src)
        if result is None:
            project.problems.append(LoadProblem("IVL001", src, f"cannot read file: {err}"))
            continue
        add_documents(project, src, result)


def _doc_entries(result: LoadResult) -> list[tuple[int, tuple, dict[str, Any], int, int]]:
    """``(doc_index, base, data, line, column)`` of every resource-shaped document (List items too)."""
    out = []
    for doc in result.documents:
        data = doc.data
        if not isinstance(data, dict):
            continue
        if data.get("kind") == "List" and isinstance(data.get("items"), list):
            for i, item in enumerate(data["items"]):
                if isinstance(item, dict):
                    out.append((doc.index, ("items", i), item, doc.line, doc.column))
            continue
        out.append((doc.index, (), data, doc.line, doc.column))  # type: ignore[arg-type]
    return out


def _name_kind(data: dict[str, Any]) -> tuple[str, str]:
    md = data.get("metadata")
    name = md.get("name") if isinstance(md, dict) else None
    kind = data.get("kind")
    return (name if isinstance(name, str) else ""), (kind if isinstance(kind, str) else "")


def _match_doc(entries, kind: str, name: str):
    """The source document a rendered resource came from: same kind and name, else a name
    the rendered one contains (namePrefix/nameSuffix), else the only one of that kind."""
    same_kind = [e for e in entries if _name_kind(e[2])[1] == kind]
    for e in same_kind:
        if _name_kind(e[2])[0] == name:
            return e
    for e in same_kind:
        n = _name_kind(e[2])[0]
        if n and n in name:
            return e
    if len(same_kind) == 1:
        return same_kind[0]
    return same_kind[0] if same_kind else (entries[0] if entries else None)


@dataclass
class _PatchDoc:
    source: SourceFile
    doc_index: int
    kind: str
    name: str
    json6902: bool
    ops: list[tuple[tuple, int]]  # (op path, item index) for JSON 6902 patches


def _patch_docs(tree: kz.Tree, sources: Sources, displays: dict[str, Discovered]) -> list[_PatchDoc]:
    """Every patch document of the tree, latest applied first (the root's patches last
    applied, so first here; within a kustomization, later patches first)."""
    out: list[_PatchDoc] = []
    for k in tree.kustomizations:  # root first
        for pt in reversed(k.patches):
            src, result, _ = sources.by_real(pt.path, displays)
            if result is None:
                continue
            tkind = pt.target.get("kind") if isinstance(pt.target.get("kind"), str) else ""
            tname = pt.target.get("name") if isinstance(pt.target.get("name"), str) else ""
            for doc in result.documents:
                data = doc.data
                if isinstance(data, list):  # JSON 6902 operations
                    ops = []
                    for i, op in enumerate(data):
                        if isinstance(op, dict) and op.get("op") in ("add", "replace") and "value" in op:
                            ptr = kz.json_pointer(op.get("path"))  # type: ignore[arg-type]
                            if ptr is not None:
                                ops.append((tuple(p if p != "-" else 0 for p in ptr), i))
                    out.append(_PatchDoc(src, doc.index, tkind, tname, True, ops))  # type: ignore[arg-type]
                elif isinstance(data, dict):
                    name, kind = _name_kind(data)
                    out.append(_PatchDoc(src, doc.index, tkind or kind, tname or name, False, []))
    return out


def _origins_for(kind: str, name: str, patches: list[_PatchDoc]) -> tuple[Origin, ...]:
    out: list[Origin] = []
    for p in patches:
        if p.kind and p.kind != kind:
            continue
        if p.name and p.name != name and p.name not in name and not _glob_name(p.name, name):
            continue
        if p.json6902:
            for ptr, i in p.ops:
                out.append(Origin(p.source, p.doc_index, (i, "value"), ptr))
        else:
            out.append(Origin(p.source, p.doc_index))
    return tuple(out)


def _glob_name(pattern: str, name: str) -> bool:
    try:
        import re

        return re.fullmatch(pattern, name) is not None
    except Exception:
        return False


def _load_rendered(project: Project, unit: Unit, sources: Sources, displays: dict[str, Discovered],
                   root: str) -> None:
    assert unit.rendered is not None
    result, _ = load_documents(unit.rendered, cache=sources.cache)
    fallback_file = unit.tree.root.file if unit.tree is not None else os.path.join(unit.chart or root, "Chart.yaml")
    patches = _patch_docs(unit.tree, sources, displays) if unit.tree is not None else []
    seen_files: dict[str, SourceFile] = {}
    helm_docs = helm_mod.split_sources(unit.rendered) if unit.kind == "helm" else []
    for pos, doc in enumerate(result.documents):
        data = doc.data
        if not isinstance(data, dict):
            continue
        if unit.kind == "helm":
            _add_helm_doc(project, unit, pos, data, helm_docs, sources, seen_files, root)
            continue
        origin = kz.origin_of(data, unit.wrapper or root)
        kz.strip_annotations(data)
        if origin is None or not os.path.isfile(origin) or not kz._inside(origin, root):
            origin = fallback_file
        src, parsed, _ = sources.by_real(origin, displays)
        seen_files.setdefault(origin, src)
        name, kind = _name_kind(data)
        entries = _doc_entries(parsed) if parsed is not None else []
        match = _match_doc(entries, kind, name) if origin != fallback_file else None
        if match is None:
            doc_index, base, line, column = 0, (), 1, 1
        else:
            doc_index, base, _, line, column = match
        before = len(project.resources)
        _add_resource(project, src, doc_index, data, base, line, column)
        if len(project.resources) > before and patches:
            res = project.resources[-1]
            orig_name = _name_kind(match[2])[0] if match else name
            res.origins = _origins_for(kind, orig_name or name, patches)
    for real in sorted(seen_files):
        project.files.append(seen_files[real])


def _add_helm_doc(project: Project, unit: Unit, pos: int, data: dict[str, Any],
                  helm_docs: list[tuple[Optional[str], bytes]], sources: Sources,
                  seen: dict[str, SourceFile], root: str) -> None:
    """A document of ``helm template`` output, located in the rendered text of its template
    (``# Source:`` comment): the SourceFile is the template's path with the rendered bytes."""
    assert unit.chart is not None
    source, text = helm_docs[pos] if pos < len(helm_docs) else (None, b"")
    real = None
    if source:
        # "<chart name>/templates/x.yaml" relative to the chart's parent.
        parts = source.split("/", 1)
        real = os.path.realpath(os.path.join(unit.chart, parts[1])) if len(parts) == 2 else None
    if real is None or not os.path.isfile(real):
        real = os.path.join(unit.chart, "Chart.yaml")
    key = f"{real}#{pos}"
    src = seen.get(key)
    if src is None:
        report = sources.report_only is None or real in sources.report_only
        src = SourceFile(display_path(real), real, PositionIndex(text), report, text)
        seen[key] = src
        project.files.append(src)
    res_data = load_documents(text)[0].documents
    index = next((d.index for d in res_data if isinstance(d.data, dict)), 0)
    line = next((d.line for d in res_data if isinstance(d.data, dict)), 1)
    _add_resource(project, src, index, data, (), line, 1)


def build_project(unit: Unit, sources: Sources, settings: Settings, displays: dict[str, Discovered],
                  root: str) -> Project:
    project = Project(default_namespace=settings.default_namespace)
    _load_files(project, unit.files, sources)
    if unit.stdin is not None:
        name, raw = unit.stdin
        src = SourceFile(name, None, PositionIndex(raw), True, raw)
        project.files.append(src)
        result, _ = load_documents(raw, cache=sources.cache)
        add_documents(project, src, result)
    if unit.rendered is not None:
        _load_rendered(project, unit, sources, displays, root)
    for chart, rendered in unit.charts:
        _load_rendered(project, Unit(_name(chart or root), "helm", rendered=rendered, chart=chart), sources,
                       displays, root)
    apply_namespaces(project, settings, root, unit.ns_override)
    return project


def apply_namespaces(project: Project, settings: Settings, root: str,
                     override: Optional[dict[str, str]] = None) -> None:
    """A kustomization's ``namespace:`` (fallback units) replaces the namespace of what it
    lists; a resource without one takes the config's per-path ``namespaces``; else it keeps
    ``--default-namespace`` and ``namespace_explicit`` stays False (the namespace is assumed)."""
    table = getattr(settings, "namespaces", None) or {}
    if not table and not override:
        return
    cache: dict[str, Optional[str]] = {}
    for r in project.resources:
        if r.kind == "Namespace" or r.source.real_path is None:
            continue
        real = r.source.real_path
        forced = override.get(real) if override else None
        if forced:
            r.namespace, r.namespace_explicit = forced, True
            r.__dict__.pop("ref", None)
            continue
        if r.namespace_explicit or not table:
            continue
        if real not in cache:
            cache[real] = namespace_for(_rel(real, os.path.realpath(root)), table)
        ns = cache[real]
        if ns:
            r.namespace, r.namespace_explicit = ns, True
            r.__dict__.pop("ref", None)
    project._by_kind = None


def namespace_for(rel: str, table: dict[str, str]) -> Optional[str]:
    best: Optional[tuple[int, str]] = None
    for glob, ns in table.items():
        if _glob_match(rel, glob) and (best is None or len(glob) > best[0]):
            best = (len(glob), ns)
    return best[1] if best else None


# --- identity and views -----------------------------------------------------------------


def identity(r: Resource) -> tuple[str, str, str, str]:
    return (r.group, r.kind, r.namespace, r.name)


def copies_of(resources: list[Resource]) -> dict[tuple[str, str, str, str], list[Resource]]:
    groups: dict[tuple[str, str, str, str], list[Resource]] = defaultdict(list)
    for r in resources:
        if not getattr(r, "name_generated", False):  # generateName: a new object on every create
            groups[identity(r)].append(r)
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


# --- running ----------------------------------------------------------------------------


@dataclass
class UnitRun:
    unit: Unit
    project: Project
    result: RunResult
    context: Context


def _sub_project(project: Project, resources: list[Resource]) -> Project:
    p = Project(resources=list(resources), files=project.files, problems=project.problems,
                ignored_documents=project.ignored_documents, unknown_kinds=project.unknown_kinds,
                default_namespace=project.default_namespace, gateway_api=project.gateway_api)
    return p


def run_unit(unit: Unit, project: Project, settings: Settings, plan_: Plan, rules: dict[str, Rule],
             timings: Optional[dict[str, float]] = None, notices: Iterable[Problem] = (),
             verdict_cache: Optional["ParseCache"] = None) -> UnitRun:
    result = RunResult()
    dups = copies_of(project.resources)
    # Phase 1: single-resource rules, over every copy.
    ctx = Context(project, settings)
    if timings is not None:
        ctx.timings = timings  # type: ignore[attr-defined]
    ctx.unit_problems = _unit_problems(unit, project, plan_, dups)  # type: ignore[attr-defined]
    for n in notices:
        ctx.unit_problems[n.code or ""].append(n)  # type: ignore[attr-defined]
    named = not all(src.report for src in project.files)  # a run on named files (pre-commit)
    if not named:
        raw = collect_problems(ctx, settings, rules, result, only=single_resource_rule)
        verdicts: list[tuple[Rule, Problem]] = []
        known: dict[int, bool] = {}
    else:
        # Per-resource rules (scope="resource") report on the named files' resources only: their
        # problems on a context resource cannot have been caused by the change.  Of the context
        # resources only the verdict "rejected" is needed (it takes them out of phase 2): the
        # rejecting rules run over them and their problems are dropped.
        raw = collect_problems(ctx, settings, rules, result, only=single_resource_rule,
                               resource_filter=_in_named_file)
        verdict_run = RunResult()
        rejecting = tuple(c for c, r in rules.items() if c in REJECTING and r.scope == "resource"
                          and is_selected(c, settings))
        known, keys = _cached_verdicts(project, rejecting, verdict_cache)
        verdicts = collect_problems(
            ctx, settings, rules, verdict_run, only=lambda c: c in rejecting,
            resource_filter=lambda res: not res.source.report and id(res) not in known, mark=False)
        result.internal_errors += verdict_run.internal_errors
        rejected_now = {id(p.resource) for r, p in verdicts if _rejects(p, r, rules)}
        if verdict_cache is not None and not verdict_run.internal_errors:
            for res_id, key in keys.items():
                if res_id not in known:
                    verdict_cache.put_verdict(key, res_id in rejected_now)
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
                           ctx.unit_problems, None)  # type: ignore[attr-defined]
    if rejected:
        _run_views(project, dups, set(), settings, rules, result, raw, timings, {}, rejected)
    alternatives = _with_copy_beside(dups)
    raw = [(r, _adjust(p, r, unit, project, plan_, settings, alternatives)) for r, p in raw]
    finish(project, settings, rules, raw, result)
    return UnitRun(unit, project, result, first_ctx or ctx)


def _rejects(p: Problem, r: Rule, rules: dict[str, Rule]) -> bool:
    code = p.code or r.code
    return (code in REJECTING and p.resource is not None
            and (p.severity or rules.get(code, r).severity) == "error")


def verdict_key(res: Resource, codes: tuple[str, ...]) -> Optional[bytes]:
    """What the rejection verdict of ``res`` depends on, hashed: its identity, its data and
    the rejecting rules selected (their code is in the cache's identity).  ``marshal``
    version 2 writes equal plain data as equal bytes (no references, no interning flags);
    data marshal cannot write has no key (never cached)."""
    try:
        blob = marshal.dumps((res.group, res.kind, res.version, res.namespace, res.name, res.data, codes), 2)
    except (ValueError, TypeError):
        return None
    return hashlib.blake2b(blob, digest_size=16).digest()


def _cached_verdicts(project: Project, codes: tuple[str, ...],
                     cache: Optional["ParseCache"]) -> tuple[dict[int, bool], dict[int, bytes]]:
    """``(known verdicts, keys)`` of the context resources, by ``id``: from the cache when
    one is used.  A rendered resource (kustomize patches) is never cached."""
    known: dict[int, bool] = {}
    keys: dict[int, bytes] = {}
    if cache is None:
        return known, keys
    for res in project.resources:
        if res.source.report or res.origins:
            continue
        key = verdict_key(res, codes)
        if key is None:
            continue
        keys[id(res)] = key
        v = cache.verdict(key)
        if v is not None:
            known[id(res)] = v
    return known, keys


def _in_named_file(res: Resource) -> bool:
    return res.source.report


def _in_context_file(res: Resource) -> bool:
    return not res.source.report


def _run_views(base: Project, dups: dict[tuple[str, str, str, str], list[Resource]], rejected: set[int],
               settings: Settings, rules: dict[str, Rule], result: RunResult, raw: list[tuple[Rule, Problem]],
               timings: Optional[dict[str, float]], unit_problems: dict[str, list[Problem]],
               only_resources: Optional[set[int]]) -> Optional[Context]:
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
        vraw = collect_problems(vctx, settings, rules, result, only=lambda c: not single_resource_rule(c))
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


def _unit_problems(unit: Unit, project: Project, plan_: Plan,
                   dups: dict[tuple[str, str, str, str], list[Resource]]) -> dict[str, list[Problem]]:
    """What the unit rules (rules/units.py) report: copies (IVL750)."""
    out: dict[str, list[Problem]] = defaultdict(list)
    for key, cs in sorted(dups.items()):
        first = cs[0]
        for other in cs[1:]:
            same_dir = os.path.dirname(other.source.path) == os.path.dirname(first.source.path)
            where = "in the same directory" if same_dir else "in another directory"
            if other.source is first.source:
                where = "in the same file"
            g, kind, ns, name = key
            what = f"{kind} {ns}/{name}" if ns else f"{kind} {name}"
            identical = other.data == first.data
            same = "an identical copy" if identical else "a different definition"
            effect = ("applying both changes nothing" if identical else
                      "if both are applied, the one applied last replaces the other" if not same_dir else
                      "applying the directory keeps only the one applied last")
            out["IVL750"].append(Problem(
                other, ("metadata", "name"),
                f"{what} is defined again {where} ({same}: {first.source.path}); Kubernetes keeps one object "
                f"per identity, so {effect}; the copies are not compared with each other",
                related=((first, ("metadata", "name")),),
                severity="warning" if same_dir and not identical else "info"))
    return out


def _with_copy_beside(dups: dict[tuple[str, str, str, str], list[Resource]]) -> set[int]:
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


def _adjust(p: Problem, r: Rule, unit: Unit, project: Project, plan_: Plan, settings: Settings,
            alternatives: frozenset[int] | set[int] = frozenset()) -> Problem:
    code = p.code or r.code
    sev = p.severity or r.severity
    if sev == "info" or p.resource is None:
        return p
    if alternatives and not single_resource_rule(code) and code not in UNIT_CODES and any(
            id(x) in alternatives for x in [p.resource] + [o for o, _ in p.related]):
        p.message = (f"{p.message} (holds for one choice among alternatives: the directory defines "
                     "the same object more than once, e.g. tutorial steps applied one at a time, so "
                     "which copy is applied is not stated)")
        p.severity = "info"
        return p
    if plan_.unrendered_charts and code in UNRESOLVED_REFERENCE:
        charts = ", ".join(plan_.unrendered_charts[:3])
        p.message = f"{p.message} (the unrendered Helm chart {charts} may define it)"
        p.severity = "info"
        return p
    if plan_.defined_elsewhere and code in UNRESOLVED_REFERENCE:
        others = _defined_in_other_units(p.message, unit, plan_.defined_elsewhere)
        if others:
            p.message = (f"{p.message} (unit {', '.join(others[:3])}, applied separately, defines it; "
                         "whether both go to the same cluster is not stated)")
            p.severity = "info"
            return p
    if _depends_on_assumed_namespace(p, project, settings):
        p.message = (f"{p.message} (holds only if the namespace-less resources are in "
                     f"'{settings.default_namespace}', which the repository does not state; set "
                     "metadata.namespace, a kustomization namespace or the `namespaces` config)")
        p.severity = "info"
    return p


def definitions(units: list[Unit], projects: list[Project]) -> dict[str, set[str]]:
    """``key -> unit names`` for what each unit defines: ``name.namespace`` and
    ``namespace/name`` of every resource and the hosts of its ServiceEntries."""
    out: dict[str, set[str]] = defaultdict(set)
    for unit, project in zip(units, projects, strict=False):
        for r in project.resources:
            out[f"{r.name}.{r.namespace}"].add(unit.name)
            out[f"{r.namespace}/{r.name}"].add(unit.name)
            if r.kind == "ServiceEntry":
                for h in r.spec.get("hosts") or []:
                    if isinstance(h, str):
                        out[h].add(unit.name)
    return dict(out)


_QUOTED_RE = re.compile(r"'([^'\s]+)'")


def _defined_in_other_units(message: str, unit: Unit, index: dict[str, set[str]]) -> list[str]:
    keys = [f"{n}.{ns}" for n, ns in _named_objects(message)] + _QUOTED_RE.findall(message)
    found: set[str] = set()
    for k in keys:
        found.update(u for u in index.get(k, ()) if u != unit.name)
    return sorted(found)


def _depends_on_assumed_namespace(p: Problem, project: Project, settings: Settings) -> bool:
    """Does the finding compare namespaces where one of them was assumed (not stated by the
    resource, a kustomization or the config)?  Either resources of different namespaces are
    involved and one of them was assumed, or the message names a namespace other than the
    resource's own and an assumed resource is involved or is the one named."""
    res = p.resource
    assert res is not None
    involved = [res] + [o for o, _ in p.related]
    assumed_involved = any(not x.namespace_explicit and x.kind != "Namespace" for x in involved)
    if assumed_involved and len({x.namespace for x in involved}) > 1:
        return True
    named = _named_objects(p.message)
    if assumed_involved and any(ns != res.namespace for _, ns in named):
        return True
    assumed = _assumed_names(project)
    return any(name in assumed and ns != settings.default_namespace for name, ns in named)


def _assumed_names(project: Project) -> set[str]:
    cached = getattr(project, "_assumed_names", None)
    if cached is None:
        cached = {r.name for r in project.resources if not r.namespace_explicit and r.kind != "Namespace"}
        project._assumed_names = cached  # type: ignore[attr-defined]
    return cached


_HOST_NS_RE = re.compile(r"\b([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.|\b)")
_NS_NAME_RE = re.compile(r"(?<![\w./-])([a-z0-9-]+)/([a-z0-9][a-z0-9.-]*)\b")


def _named_objects(message: str) -> list[tuple[str, str]]:
    """``(name, namespace)`` pairs the message names: ``name.ns.svc`` hosts and ``ns/name``."""
    out = [(m.group(1), m.group(2)) for m in _HOST_NS_RE.finditer(message)]
    out += [(m.group(2), m.group(1)) for m in _NS_NAME_RE.finditer(message)]
    return out


# --- merging ----------------------------------------------------------------------------


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
