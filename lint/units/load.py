"""Loading a unit: its files, a kustomize or Helm rendering and stdin -> one ``Project``.

``Sources`` reads and parses each file once for the whole run (units share files); rendered
resources are located back in the file they came from, with the kustomize patches that
changed them as ``Origin``s; per-path ``namespaces`` from the config and a kustomization's
``namespace:`` (fallback units) are applied last.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

from ..config import Settings
from ..discover import Discovered, display_path
from ..loader import LoadResult, PositionIndex, ScalarCache, load_documents
from ..model import Origin, SourceFile, as_list, as_map
from ..project import LoadProblem, Project, _add_resource, add_documents, outside_link_problem, read_source
from ..sed_templates import mark_sed_tokens
from .plan import Unit, namespace_for, rel_path, unit_name

if TYPE_CHECKING:  # pragma: no cover
    from .. import kustomize as kz
    from ..cache import ParseCache


class Sources:
    """One :class:`SourceFile` and one parse per file for the whole run, shared by units."""

    def __init__(self, report_only: Optional[set[str]], parse_cache: Optional["ParseCache"],
                 preread: Optional[dict[str, tuple[bytes, bytes]]] = None) -> None:
        self.report_only = report_only
        self.parse_cache = parse_cache
        self.preread = preread or {}  # real path -> (bytes, content key): read for the result cache
        self.cache = ScalarCache()
        self._files: dict[str, tuple[SourceFile, Optional[LoadResult], Optional[str]]] = {}
        self._whole: dict[str, LoadResult] = {}
        self.sed_memo: dict[str, dict[str, set[str]]] = {}  # per directory: sed substitutions of its scripts

    def get(self, disc: Discovered) -> tuple[SourceFile, Optional[LoadResult], Optional[str]]:
        have = self._files.get(disc.real)
        if have is not None:
            return have
        got = self.preread.get(disc.real)
        raw: Optional[bytes]
        err: Optional[str]
        if got is not None:
            raw, err = got[0], None
            if self.parse_cache is not None:
                self.parse_cache.seed(raw, got[1])
        else:
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

    def whole(self, real: str, displays: dict[str, Discovered]) -> tuple[SourceFile, Optional[LoadResult]]:
        """The file's documents as written, for reading what the model does not keep (a
        kustomization's inline patches, a patch file's operations): the parse cache stores only
        ``apiVersion`` and ``kind`` of a kind the model does not read, so with a cache the
        file is parsed again (these are few and small)."""
        src, result, _ = self.by_real(real, displays)
        if result is None or self.parse_cache is None or src.raw is None:
            return src, result
        got = self._whole.get(real)
        if got is None:
            got = self._whole[real] = load_documents(src.raw)[0]
        return src, got

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
    """A kustomization patch document: what it targets and the paths it touches."""

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
        out.extend(_inline_patch_docs(k.file, sources, displays))
        for pt in reversed(k.patches):
            src, result = sources.whole(pt.path, displays)
            if result is None:
                continue
            tkind = pt.target.get("kind")
            tname = pt.target.get("name")
            tkind = tkind if isinstance(tkind, str) else ""
            tname = tname if isinstance(tname, str) else ""
            for doc in result.documents:
                pd = _patch_doc(src, doc.index, doc.data, tkind, tname)
                if pd is not None:
                    out.append(pd)
    return out


def _patch_doc(src: SourceFile, index: int, data: Any, tkind: str, tname: str) -> Optional[_PatchDoc]:
    from .. import kustomize as kz

    if isinstance(data, list):  # JSON 6902 operations
        ops = []
        for i, op in enumerate(data):
            if isinstance(op, dict) and op.get("op") in ("add", "replace") and "value" in op:
                ptr = kz.json_pointer(op.get("path"))  # type: ignore[arg-type]
                if ptr is not None:
                    ops.append((tuple(p if p != "-" else 0 for p in ptr), i))
        return _PatchDoc(src, index, tkind, tname, True, ops)
    if isinstance(data, dict):
        name, kind = _name_kind(data)
        return _PatchDoc(src, index, tkind or kind, tname or name, False, [])
    return None


def _inline_patch_docs(file: str, sources: Sources, displays: dict[str, Discovered]) -> list[_PatchDoc]:
    """The inline patches of one kustomization (``patch: |-``, inline patchesStrategicMerge and
    patchesJson6902 entries), latest first, each located in the kustomization file
    (lint/units/inline_patches.py)."""
    from .inline_patches import inline_patch_source

    src, result = sources.whole(file, displays)
    doc = next((d for d in (result.documents if result is not None else []) if isinstance(d.data, dict)), None)
    if doc is None or src.raw is None:
        return []
    found: list[tuple[Any, dict[str, Any], str]] = []  # (path of the inline text, target, text)
    for key in ("patches", "patchesJson6902"):
        for j, item in enumerate(as_list(doc.data.get(key))):
            if isinstance(item, dict) and isinstance(item.get("patch"), str):
                found.append(((key, j, "patch"), as_map(item.get("target")), item["patch"]))
    for j, entry in enumerate(as_list(doc.data.get("patchesStrategicMerge"))):
        if isinstance(entry, str) and "\n" in entry:
            found.append((("patchesStrategicMerge", j), {}, entry))
    out: list[_PatchDoc] = []
    for path, target, value in reversed(found):
        at = src.positions.lookup(doc.index, path)
        mapped = inline_patch_source(src, at[0], value) if at is not None else None
        if mapped is None:
            continue
        psrc, index, data = mapped
        tkind = target.get("kind") if isinstance(target.get("kind"), str) else ""
        tname = target.get("name") if isinstance(target.get("name"), str) else ""
        pd = _patch_doc(psrc, index, data, tkind, tname)
        if pd is not None:
            out.append(pd)
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
    from .. import helm as helm_mod  # deferred with the rendering (cold start)
    from .. import kustomize as kz

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
        _load_rendered(project, Unit(unit_name(chart or root), "helm", rendered=rendered, chart=chart), sources,
                       displays, root)
    if unit.kind == "kustomize-files" and unit.tree is not None and unit.tree.file_labels:
        apply_labels(project, unit.tree.file_labels)
    if unit.kind == "kustomize-files" and unit.tree is not None and unit.tree.file_replaced:
        mark_replaced(project, unit.tree.file_replaced)
    if unit.kind == "kustomize-files":
        # read without kustomize: the patches left out may be what sets the mesh config's
        # extension providers (a component patching the istio ConfigMap), so they are unknown
        project.extension_providers = None
        project.trust_domains = None
    apply_namespaces(project, settings, root, unit.ns_override)
    mark_sed_tokens(project, root, sources.sed_memo)
    return project


def mark_replaced(project: Project, file_replaced: dict[str, list[tuple[dict[str, str], tuple]]]) -> None:
    """The fields an unrendered kustomization's ``replacements`` overwrite hold placeholders
    in the files (``EXTERNAL_HOST``, a copied value): what is there is not the configuration
    applied, so problems at or under them are dropped (``placeholders.mark_unrendered``).  A
    target is matched by kind and name; the name also when a prefix or suffix was added."""
    from ..placeholders import mark_unrendered

    for r in project.resources:
        for select, path in file_replaced.get(r.source.real_path or "", ()):
            kind, name = select.get("kind"), select.get("name")
            if kind and kind != r.kind:
                continue
            if name and name != r.name and name not in r.name and r.name not in name:
                continue
            mark_unrendered(r, path)


_SELECTOR_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"})
_TEMPLATE_KINDS = _SELECTOR_KINDS | {"CronJob"}  # kustomize's built-in field specs (not CRDs)


def apply_labels(project: Project, file_labels: dict[str, list[tuple[dict[str, str], bool, bool]]]) -> None:
    """The label transformers of an unrendered kustomization (``commonLabels``, ``labels``), as
    kustomize applies them: every object's labels; with selectors, a Service's selector and a
    workload's ``spec.selector.matchLabels``; with templates, the pod template's labels.  Without
    them a selector the transformer completes would match nothing.  The parsed data is shared
    with other units, so a resource gets its own copy."""
    import copy

    for r in project.resources:
        transformers = file_labels.get(r.source.real_path or "")
        if not transformers:
            continue
        data = copy.deepcopy(r.data)
        for pairs, selectors, templates in transformers:
            _add_labels(data, ("metadata", "labels"), pairs)
            if selectors and r.kind == "Service" and isinstance(as_map(data.get("spec")).get("selector"), dict):
                _add_labels(data, ("spec", "selector"), pairs)
            elif selectors and r.kind in _SELECTOR_KINDS:
                _add_labels(data, ("spec", "selector", "matchLabels"), pairs)
            template = getattr(type(r), "TEMPLATE_PATH", None) if r.kind in _TEMPLATE_KINDS else None
            if templates and template:
                _add_labels(data, tuple(template) + ("metadata", "labels"), pairs)
        r.data = data
        for cached in ("metadata", "spec", "labels", "annotations"):
            r.__dict__.pop(cached, None)


def _add_labels(data: dict[str, Any], path: tuple[str, ...], pairs: dict[str, str]) -> None:
    node: Any = data
    for part in path:
        if not isinstance(node, dict):
            return
        if not isinstance(node.get(part), dict):
            if node.get(part) is not None:
                return
            node[part] = {}
        node = node[part]
    node.update(pairs)


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
            r.forget("ref")
            continue
        if r.namespace_explicit or not table:
            continue
        if real not in cache:
            cache[real] = namespace_for(rel_path(real, os.path.realpath(root)), table)
        ns = cache[real]
        if ns:
            r.namespace, r.namespace_explicit = ns, True
            r.forget("ref")
    project._by_kind = None
