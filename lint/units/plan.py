"""Planning: which deployment units a run has (see the package docstring).

Kustomize roots (rendered with the real kustomize, or their listed files as a fallback),
Helm charts (``helm template`` when available), the config's ``units`` globs, and the plain
unit; plus the notices (IVL751-IVL753) for what could not be rendered.  Cheap when the
repository has none of them: one plain unit.
"""

from __future__ import annotations

import functools
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from ..config import Settings
from ..discover import Discovered, display_path, is_kustomization

if TYPE_CHECKING:  # pragma: no cover
    from .. import kustomize as kz

PLAIN = "."
_CHART_NOTICES = 3

@dataclass
class Unit:
    """A set of files linted together (a directory, a kustomization, a chart, a sample)."""

    name: str  # root-relative directory ("." for the plain unit)
    kind: str  # plain, config, kustomize, kustomize-files, helm, sample (samples.py)
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
    """A planning problem reported as a finding (a kustomization that could not be rendered...)."""

    code: str
    file: str  # real path
    message: str
    line: int = 1


@dataclass
class Plan:
    """The units of a run and what planning them found."""

    units: list[Unit]
    notices: list[Notice] = field(default_factory=list)
    unrendered_charts: list[str] = field(default_factory=list)  # root-relative chart dirs
    unrendered_chart_dirs: list[str] = field(default_factory=list)  # the same, real paths
    # What each unit defines, for references between units (see :func:`definitions`).
    defined_elsewhere: dict[str, set[str]] = field(default_factory=dict)

    @property
    def trivial(self) -> bool:
        return len(self.units) == 1 and self.units[0].kind == PLAIN and not self.notices


def unit_name(path: str) -> str:
    """A unit's name: its directory as displayed (relative to the current directory)."""
    d = display_path(path)
    return d.replace(os.sep, "/") or "."


def rel_path(path: str, root: str) -> str:
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


def glob_match(rel: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    return _glob_regex(pattern).match(rel) is not None


def _kustomize_wrapped_charts(chart_dirs: list[str], kfiles: list[str], by_real: dict[str, Discovered],
                              consumed: set[str]) -> tuple[list[str], list[str]]:
    """A chart directory that holds a kustomization too is a kustomize root: Argo CD's source
    detection takes the kustomization over Chart.yaml (util/app/discovery ``Discover``), Flux and
    ``kubectl apply -k`` build it with kustomize; the chart only pins a dependency, rendered
    into a file the kustomization lists (docs/semantics.md §kustomize-wrapped-charts).  Its
    ``templates/`` and ``charts/`` are not applied: consumed, not linted.  Returns the chart
    directories left and the kustomizations that may be roots."""
    from .. import helm as helm_mod
    from .. import kustomize as kz

    wrappers = [c for c in chart_dirs if kz.kustomization_file(c) is not None]
    if not wrappers:
        return chart_dirs, kfiles
    inner = [os.path.join(w, sub) for w in wrappers for sub in ("templates", "charts")]
    consumed.update(r for r in by_real if helm_mod.chart_dir_of(r, inner))
    return ([c for c in chart_dirs if c not in wrappers and not helm_mod.chart_dir_of(c, wrappers)],
            [k for k in kfiles if not helm_mod.chart_dir_of(k, inner)])


def plan(files: list[Discovered], settings: Settings, stdin: Optional[tuple[str, bytes]] = None) -> Plan:
    """Split the discovered files into units (cheap when there is nothing to split)."""
    read = [d for d in files if d.outside is None]  # symlinks out of the repository are not read
    kfiles = [d.real for d in read if is_kustomization(d.real)]
    chart_dirs = sorted({os.path.dirname(d.real) for d in read if os.path.basename(d.real) == "Chart.yaml"})
    config_units = tuple(getattr(settings, "units", ()) or ())
    shared = tuple(getattr(settings, "shared_paths", ()) or ())
    if not kfiles and not chart_dirs and not config_units:
        return Plan([Unit(PLAIN, PLAIN, list(files), stdin=stdin)])
    from .. import helm as helm_mod  # deferred: a run without charts or kustomizations (cold start)
    from .. import kustomize as kz
    root = os.path.realpath(settings.root or os.getcwd())
    by_real = {d.real: d for d in files}
    consumed: set[str] = set()
    units: list[Unit] = []
    notices: list[Notice] = []
    shared_files = [d for d in files if shared and any(glob_match(rel_path(d.real, root), g) for g in shared)]
    shared_reals = {d.real for d in shared_files}
    chart_dirs, kfiles = _kustomize_wrapped_charts(chart_dirs, kfiles, by_real, consumed)

    # Helm charts: the whole chart directory is the chart's.  Without helm every chart is
    # unrendered for the same reason: a notice each for the first few, then one for the rest.
    unrendered: list[str] = []
    unrendered_dirs: list[str] = []
    helm_cmd = helm_mod.command(getattr(settings, "helm_command", None))
    for chart in chart_dirs:
        consumed.update(r for r in by_real if r == chart or r.startswith(chart + os.sep))
        if helm_mod.chart_dir_of(os.path.dirname(chart), [c for c in chart_dirs if c != chart]):
            continue  # a subchart: rendered with its parent
        rel = unit_name(chart)
        chart_yaml = os.path.join(chart, "Chart.yaml")
        if helm_cmd is None:
            unrendered.append(rel)
            unrendered_dirs.append(chart)
            why = ("rendering is turned off by `helm-command`" if getattr(settings, "helm_command", None)
                   else "helm is not on PATH; set `helm-command`")
            if len(unrendered) <= _CHART_NOTICES + 1:
                notices.append(Notice("IVL752", chart_yaml, f"Helm chart {rel} is not rendered ({why}); its "
                                      "templates are not linted and references it could satisfy are reported at "
                                      "most as info"))
            if len(unrendered) > _CHART_NOTICES + 1:  # one cause: the last notice speaks for the rest
                more = unrendered[_CHART_NOTICES:]
                names = ", ".join(more[:4]) + (", …" if len(more) > 4 else "")
                notices[-1].message = (f"{len(more)} more Helm charts are not rendered ({why}): {names}; their "
                                       "templates are not linted and references they could satisfy are reported "
                                       "at most as info")
            continue
        values = _values_for(rel_path(chart, root), chart, settings)
        release_ns = namespace_for(rel_path(chart_yaml, root), getattr(settings, "namespaces", None) or {})
        try:
            out = helm_mod.render(helm_cmd, chart, values, namespace=release_ns)
        except kz.RenderError as exc:
            unrendered.append(rel)
            unrendered_dirs.append(chart)
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
    renders = (_render_all(k_cmd, [t for t in trees if not t.problems and not t.root.empty],
                           getattr(settings, "cache_dir", None))
               if k_cmd is not None else {})
    for k, tree in zip(roots, trees, strict=False):
        consumed.update(tree.used_files)
        rel = unit_name(k.dir)
        if k.empty:  # a scaffold a workshop fills in later: it builds nothing, there is nothing to lint
            notices.append(Notice("IVL751", k.file, f"kustomization {rel} lists no resources yet: nothing to render "
                                  "or lint"))
            continue
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
    rest = [d for d in files if d.real not in consumed and not is_kustomization(d.real)
            and d.real not in shared_reals and os.path.dirname(d.real) not in k_dirs]
    by_unit: dict[str, list[Discovered]] = defaultdict(list)
    plain: list[Discovered] = []
    for d in rest:
        rel = rel_path(d.real, root)
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
    return Plan(units, notices, unrendered, unrendered_dirs)


def _render_all(argv: list[str], trees: list[kz.Tree], cache_dir: Optional[str] = None) -> dict[str, Any]:
    """Render every root once, a few at a time (kustomize spends most of its time starting);
    with a cache directory, a root whose inputs did not change is not rendered again."""
    from .. import kustomize as kz
    from ..render_cache import cached_render, open_render_cache

    cache = open_render_cache(cache_dir, argv)

    def one(tree: kz.Tree) -> Any:
        try:
            return cached_render(cache, tree, lambda: kz.render(argv, tree.root.dir))
        except kz.RenderError as exc:
            return exc

    if len(trees) <= 1:
        return {t.root.dir: one(t) for t in trees}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1, len(trees))) as pool:
        return dict(zip([t.root.dir for t in trees], pool.map(one, trees), strict=False))


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
        if any(glob_match(d, g) for g in globs):
            best = d
    return best


def _values_for(rel: str, chart: str, settings: Settings) -> list[str]:
    table = getattr(settings, "helm_values", None) or {}
    best: Optional[tuple[int, list[str]]] = None
    for glob, files in table.items():
        if glob_match(rel, glob) and (best is None or len(glob) > best[0]):
            best = (len(glob), list(files))
    out: list[str] = []
    for v in (best[1] if best else []):
        p = os.path.realpath(os.path.join(chart, v))
        if os.path.isfile(p):
            out.append(p)
    return out


def namespace_for(rel: str, table: dict[str, str]) -> Optional[str]:
    best: Optional[tuple[int, str]] = None
    for glob, ns in table.items():
        if glob_match(rel, glob) and (best is None or len(glob) > best[0]):
            best = (len(glob), ns)
    return best[1] if best else None


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

