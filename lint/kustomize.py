"""Kustomize: which kustomizations are roots, what each one uses, and rendering a root.

A kustomization that no other kustomization of the repository uses is a *root*: it is what
somebody applies (``kubectl apply -k``).  Everything it uses (resources, bases, components,
patches, generator inputs ...) is checked through it, never as a loose file.

Rendering runs the real kustomize (``kustomize build`` or ``kubectl kustomize``) on a
temporary wrapper kustomization, outside the repository, that lists the root and asks for
``buildMetadata: [originAnnotations]``, so every rendered resource names the file it came
from and the user's files are never written.  Rendering is refused (the caller falls back to
reading the listed files) when the tree reaches the network (a URL or git reference), leaves
the repository, or needs plugins or Helm; kustomize itself is run without ``--enable-exec``,
``--enable-alpha-plugins`` or ``--enable-helm``, with proxies pointing nowhere and a timeout.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from .discover import KUSTOMIZATION_NAMES, display_path, is_kustomization  # noqa: F401  (kz.is_kustomization)
from .loader import load_documents
from .placeholders import replacement_targets

RENDER_TIMEOUT = 60.0
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
OUR_ANNOTATIONS = (ORIGIN_ANNOTATION, "alpha.config.kubernetes.io/transformations")


def kustomization_file(directory: str) -> Optional[str]:
    return _first_file(directory, KUSTOMIZATION_NAMES)


def _first_file(directory: str, names: Iterable[str]) -> Optional[str]:
    """The path of the first of ``names`` that is a file in ``directory``, else None."""
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def is_remote(entry: str) -> bool:
    """A URL or a git reference (kustomize fetches those)."""
    e = entry.strip()
    return ("://" in e or e.startswith(("git@", "git::", "github.com/", "gitlab.com/", "bitbucket.org/"))
            or "?ref=" in e or "?version=" in e or ".git//" in e or e.startswith("//"))


@dataclass
class Patch:
    """A patch file used by a kustomization; ``target`` from the kustomization, if any."""

    path: str  # real path
    target: dict[str, Any] = field(default_factory=dict)
    json6902: bool = False


@dataclass
class Kustomization:
    """One parsed kustomization file (only what the linter needs)."""

    dir: str  # real directory
    file: str  # real path of the kustomization file
    kind: str = "Kustomization"  # or Component
    namespace: Optional[str] = None
    resources: list[str] = field(default_factory=list)  # real paths of files
    children: list[str] = field(default_factory=list)  # real dirs of kustomizations (resources, bases, components)
    patches: list[Patch] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)  # generator inputs, replacements ...
    remote: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)  # bases whose kustomization a build step writes from a template
    unsupported: list[str] = field(default_factory=list)  # helmCharts, plugins: not rendered
    invalid: Optional[str] = None  # unreadable / not a mapping
    empty: bool = False  # nothing but apiVersion/kind/metadata: a scaffold that builds nothing
    # Label transformers: (labels, also selectors, also pod templates) from `commonLabels` and `labels`.
    labels: list[tuple[dict[str, str], bool, bool]] = field(default_factory=list)
    # Fields its `replacements` overwrite (inline or from `path:` files): (select, field path).
    replaced: list[tuple[dict[str, str], tuple]] = field(default_factory=list)


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _inside(path: str, root: str) -> bool:
    rel = os.path.relpath(path, root)
    return not (rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel))


def parse(kfile: str, root: str) -> Kustomization:
    """Read the kustomization at ``kfile`` (a real path); never raises."""
    d = os.path.dirname(kfile)
    k = Kustomization(d, kfile)
    try:
        with open(kfile, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        k.invalid = exc.strerror or str(exc)
        return k
    try:
        result, _ = load_documents(raw)
    except Exception as exc:  # pragma: no cover - the loader reports, never raises
        k.invalid = str(exc)
        return k
    data = next((doc.data for doc in result.documents if isinstance(doc.data, dict)), None)
    if data is None:
        k.invalid = "not a YAML mapping" if not result.errors else result.errors[0].message
        return k
    if data.get("kind") == "Component":
        k.kind = "Component"
    k.empty = not (set(data) - {"apiVersion", "kind", "metadata"})
    k.labels = _label_transformers(data)
    ns = data.get("namespace")
    if isinstance(ns, str) and ns:
        k.namespace = ns

    def local(entry: str, want_dir: Optional[bool] = None) -> Optional[str]:
        if is_remote(entry):
            k.remote.append(entry)
            return None
        p = os.path.realpath(os.path.join(d, entry))
        if not os.path.exists(p):
            script = writing_script(d, entry)
            if script is not None:
                k.generated.append(f"{entry}, written at build time by {os.path.basename(script)} (a Helm "
                                   "post-renderer or build script)")
            elif os.path.isfile(os.path.join(d, "Chart.yaml")) and entry.endswith((".yaml", ".yml")):
                # A chart's own rendering (`helm template . > all.yaml` before the build, as an
                # Argo CD plugin or a Makefile does): §kustomize-wrapped-charts.
                k.generated.append(f"{entry}, the rendering of the Helm chart beside it, written at build time")
            elif entry.startswith("bases/") and b"+kubebuilder:scaffold" in raw:
                # kubebuilder's config/crd: controller-gen writes the CRDs into bases/ (`make
                # manifests`); a fresh clone has none (docs/semantics.md §ignored-kustomize-inputs)
                k.generated.append(f"{entry}, written by controller-gen (`make manifests`) into this kubebuilder "
                                   "scaffold")
            else:
                k.missing.append(entry)
            return None
        if not _inside(p, root):
            k.outside.append(entry)
            return None
        return p

    for key in ("resources", "bases", "components"):
        for entry in _str_list(data.get(key)):
            p = local(entry)
            if p is None:
                continue
            if os.path.isdir(p):
                if kustomization_file(p) is None:
                    tpl = generated_kustomization(p)
                    if tpl is not None:
                        k.generated.append(f"{entry} (from {os.path.basename(tpl)}), a kustomization generated "
                                           "at build time")
                    else:
                        k.missing.append(entry)
                else:
                    k.children.append(p)
            else:
                k.resources.append(p)
    for item in data.get("patches") if isinstance(data.get("patches"), list) else []:  # type: ignore[union-attr]
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            p = local(item["path"])
            if p is not None:
                target = item.get("target") if isinstance(item.get("target"), dict) else {}
                k.patches.append(Patch(p, target))  # type: ignore[arg-type]
    for entry in _str_list(data.get("patchesStrategicMerge")):
        if "\n" in entry or ":" in entry and not entry.strip().endswith((".yaml", ".yml", ".json")):
            continue  # an inline patch
        p = local(entry)
        if p is not None:
            k.patches.append(Patch(p))
    for item in data.get("patchesJson6902") if isinstance(data.get("patchesJson6902"), list) else []:  # type: ignore[union-attr]
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            p = local(item["path"])
            if p is not None:
                target = item.get("target") if isinstance(item.get("target"), dict) else {}
                k.patches.append(Patch(p, target, json6902=True))  # type: ignore[arg-type]
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in data.get(key) if isinstance(data.get(key), list) else []:  # type: ignore[union-attr]
            if not isinstance(gen, dict):
                continue
            entries = _str_list(gen.get("files")) + _str_list(gen.get("envs")) + _str_list(gen.get("env"))
            for entry in entries:
                p = local(entry.split("=", 1)[1] if "=" in entry else entry)
                if p is not None:
                    k.other_files.append(p)
    for item in data.get("replacements") if isinstance(data.get("replacements"), list) else []:  # type: ignore[union-attr]
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            p = local(item["path"])
            if p is not None:
                k.other_files.append(p)
                k.replaced.extend(_replacement_file_targets(p))
        elif isinstance(item, dict):
            k.replaced.extend(replacement_targets({"replacements": [item]}))
    for key in ("crds", "configurations"):
        for entry in _str_list(data.get(key)):
            p = local(entry)
            if p is not None:
                k.other_files.append(p)
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        p = local(openapi["path"])
        if p is not None:
            k.other_files.append(p)
    if data.get("helmCharts") or data.get("helmChartInflationGenerator"):
        k.unsupported.append("helmCharts (needs kustomize --enable-helm)")
    for key in ("generators", "transformers", "validators"):
        for entry in _str_list(data.get(key)):
            if "\n" in entry:
                continue  # inline configuration of a builtin
            p = local(entry)
            if p is not None:
                k.other_files.append(p)
                if os.path.isfile(p) and not _builtin_plugin_config(p):
                    k.unsupported.append(f"{key} plugin {entry}")
    return k


def _replacement_file_targets(path: str) -> list[tuple[dict[str, str], tuple]]:
    """The targets of a ``replacements: - path:`` file: one replacement, or a list of them."""
    try:
        with open(path, "rb") as fh:
            result, _ = load_documents(fh.read())
    except OSError:
        return []
    out: list[tuple[dict[str, str], tuple]] = []
    for doc in result.documents:
        items = doc.data if isinstance(doc.data, list) else [doc.data]
        out.extend(replacement_targets({"replacements": [i for i in items if isinstance(i, dict)]}))
    return out


def _label_transformers(data: dict[str, Any]) -> list[tuple[dict[str, str], bool, bool]]:
    """``commonLabels`` (labels, selectors and pod templates) and ``labels`` entries
    (``includeSelectors`` adds selectors and templates, ``includeTemplates`` templates only)."""
    out: list[tuple[dict[str, str], bool, bool]] = []
    common = data.get("commonLabels")
    if isinstance(common, dict):
        pairs = {str(k): str(v) for k, v in common.items() if isinstance(k, str) and v is not None}
        if pairs:
            out.append((pairs, True, True))
    for item in data.get("labels") if isinstance(data.get("labels"), list) else []:  # type: ignore[union-attr]
        if not isinstance(item, dict) or not isinstance(item.get("pairs"), dict):
            continue
        pairs = {str(k): str(v) for k, v in item["pairs"].items() if isinstance(k, str) and v is not None}
        selectors = item.get("includeSelectors") is True
        if pairs:
            out.append((pairs, selectors, selectors or item.get("includeTemplates") is True))
    return out


_BUILTIN_PLUGINS = {
    "AnnotationsTransformer", "ConfigMapGenerator", "HashTransformer", "ImageTagTransformer",
    "LabelTransformer", "NamespaceTransformer", "PatchJson6902Transformer", "PatchStrategicMergeTransformer",
    "PatchTransformer", "PrefixSuffixTransformer", "PrefixTransformer", "SuffixTransformer",
    "ReplacementTransformer", "ReplicaCountTransformer", "SecretGenerator", "ValueAddTransformer",
    "SortOrderTransformer",
}


def _builtin_plugin_config(path: str) -> bool:
    """Is the file a configuration of kustomize's builtin plugins only (no exec/container)?"""
    try:
        with open(path, "rb") as fh:
            result, _ = load_documents(fh.read())
    except OSError:
        return False
    docs = [doc.data for doc in result.documents if doc.data is not None]
    if not docs:
        return False
    for data in docs:
        if not isinstance(data, dict) or data.get("kind") not in _BUILTIN_PLUGINS:
            return False
        if str(data.get("apiVersion", "")).split("/")[0] not in ("builtin", ""):
            return False
        ann = (data.get("metadata") or {}).get("annotations") if isinstance(data.get("metadata"), dict) else None
        if isinstance(ann, dict) and "config.kubernetes.io/function" in ann:
            return False
    return True


@dataclass
class Tree:
    """Everything one root uses, in application order (root first)."""

    root: Kustomization
    kustomizations: list[Kustomization]
    # real path of a resource file -> effective namespace from the kustomizations (outermost
    # `namespace:` on the way from the root), None when none sets one.
    resource_files: dict[str, Optional[str]]
    used_files: set[str]  # every file the tree reads (kustomization files, patches, inputs ...)
    problems: list[str]  # reasons the tree is not rendered (remote, outside, plugins ...)
    # real path of a resource file -> the label transformers over it, innermost kustomization first
    file_labels: dict[str, list[tuple[dict[str, str], bool, bool]]] = field(default_factory=dict)
    # real path of a resource file -> the fields the `replacements` over it overwrite (select, path)
    file_replaced: dict[str, list[tuple[dict[str, str], tuple]]] = field(default_factory=dict)


class Catalog:
    """Parsed kustomizations of one run, keyed by real directory (each parsed once)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self._by_dir: dict[str, Kustomization] = {}

    def get(self, directory: str) -> Optional[Kustomization]:
        if directory not in self._by_dir:
            kfile = kustomization_file(directory)
            if kfile is None:
                return None
            self._by_dir[directory] = parse(os.path.realpath(kfile), self.root)
        return self._by_dir[directory]

    def tree(self, top: Kustomization) -> Tree:
        kustomizations: list[Kustomization] = []
        resource_files: dict[str, Optional[str]] = {}
        used: set[str] = set()
        problems: list[str] = []
        seen: set[str] = set()
        file_labels: dict[str, list[tuple[dict[str, str], bool, bool]]] = {}
        file_replaced: dict[str, list[tuple[dict[str, str], tuple]]] = {}

        def walk(k: Kustomization, ns: Optional[str], depth: int,
                 outer: tuple[tuple[dict[str, str], bool, bool], ...] = (),
                 outer_replaced: tuple[tuple[dict[str, str], tuple], ...] = ()) -> None:
            if k.dir in seen or depth > 100:
                return
            seen.add(k.dir)
            kustomizations.append(k)
            used.add(k.file)
            ns = ns or k.namespace
            labels = tuple(k.labels) + outer  # kustomize applies the inner kustomization's first
            replaced = tuple(k.replaced) + outer_replaced  # replacements reach what the children build too
            rel = display_path(k.file)
            if k.invalid:
                problems.append(f"{rel} cannot be read ({k.invalid})")
            for e in k.remote:
                problems.append(f"{rel} uses a remote resource ({e}); rendering never reaches the network")
            for e in k.outside:
                problems.append(f"{rel} uses {e}, outside the repository")
            for e in k.generated:
                problems.append(f"{rel} uses {e}")
            for e in k.unsupported:
                problems.append(f"{rel} uses {e}; plugins and Helm are not run")
            for e in k.missing:
                if git_ignored(os.path.join(k.dir, e), self.root):
                    problems.append(f"{rel} uses {e}, which is absent and git-ignored (a tool such as a "
                                    "vendoring step fetches or generates it before the build)")
            for p in k.resources:
                resource_files.setdefault(p, ns)
                if labels:
                    file_labels.setdefault(p, list(labels))
                if replaced:
                    file_replaced.setdefault(p, list(replaced))
                used.add(p)
            for pt in k.patches:
                used.add(pt.path)
            used.update(k.other_files)
            for child in k.children:
                ck = self.get(child)
                if ck is not None:
                    walk(ck, ns, depth + 1, labels, replaced)

        walk(top, None, 0)
        return Tree(top, kustomizations, resource_files, used, problems, file_labels, file_replaced)


def git_ignored(path: str, root: str) -> bool:
    """Is ``path`` (inside ``root``, possibly absent) excluded by a ``.gitignore`` of the
    repository?  The common forms only: a name or glob matching any path component below the
    ignore file's directory (``vendor``, ``*.gen``), and a pattern anchored there (``/build``,
    ``deploy/vendor``); negations and ``**`` are not interpreted (never ignored).  An absent
    kustomize input that is ignored is provided by a step before the build
    (docs/semantics.md §ignored-kustomize-inputs)."""
    path = os.path.normpath(os.path.abspath(path))
    root = os.path.normpath(os.path.abspath(root))
    if not _inside(path, root) or path == root:
        return False
    parts = os.path.relpath(path, root).split(os.sep)
    for depth in range(len(parts)):  # the .gitignore of root, then of each directory above path
        base = os.path.join(root, *parts[:depth])
        below = parts[depth:]
        try:
            with open(os.path.join(base, ".gitignore"), encoding="utf-8", errors="replace") as fh:
                lines = fh.read(65536).splitlines()
        except OSError:
            continue
        for line in lines:
            pat = line.strip()
            if not pat or pat.startswith(("#", "!")) or "**" in pat:
                continue
            pat = pat.rstrip("/")
            if "/" in pat.lstrip("/"):
                segs = pat.lstrip("/").split("/")
                if len(segs) <= len(below) and all(fnmatch.fnmatchcase(b, sg) for b, sg in zip(below, segs, strict=False)):
                    return True
            elif pat.startswith("/"):
                if fnmatch.fnmatchcase(below[0], pat[1:]):
                    return True
            elif any(fnmatch.fnmatchcase(b, pat) for b in below):
                return True
    return False


# Templates a Makefile or script turns into the directory's kustomization before building
# (``sed 's/VERSION/1.2.3/' kustomization.template.yaml > kustomization.yaml``).
_KUSTOMIZATION_TEMPLATES = ("kustomization.template.yaml", "kustomization.template.yml", "kustomization.yaml.tpl",
                            "kustomization.yaml.template", "kustomization.yaml.tmpl", "kustomization.yaml.in")


def generated_kustomization(directory: str) -> Optional[str]:
    """The template of a directory that has no kustomization file yet, else None."""
    return _first_file(directory, _KUSTOMIZATION_TEMPLATES)


_SCRIPT_SUFFIXES = (".sh", ".bash")


def writing_script(directory: str, entry: str) -> Optional[str]:
    """A shell script beside the kustomization that writes the absent resource ``entry`` (``cat >
    base.yaml`` in the ``kustomize.sh`` a Helm ``--post-renderer`` runs), else None."""
    if "/" in entry or not entry.endswith((".yaml", ".yml", ".json")):
        return None
    redirect = re.compile(r">>?\s*[\"']?(?:\./)?" + re.escape(entry) + r"(?![\w.-])")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    for name in names:
        if not name.endswith(_SCRIPT_SUFFIXES):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read(65536)
        except OSError:
            continue
        if redirect.search(text):
            return path
    return None


def find_roots(kustomization_files: Iterable[str], catalog: Catalog) -> tuple[list[Kustomization], list[Kustomization]]:
    """``(roots, unused components)`` among the given kustomization files (real paths)."""
    ks: list[Kustomization] = []
    for f in sorted(set(kustomization_files)):
        k = catalog.get(os.path.dirname(f))
        if k is not None and k.file == f:
            ks.append(k)
    used: set[str] = set()
    for k in ks:
        used.update(k.children)
    roots = [k for k in ks if k.dir not in used and k.kind != "Component"]
    components = [k for k in ks if k.dir not in used and k.kind == "Component"]
    return roots, components


# --- rendering --------------------------------------------------------------------------


class RenderError(Exception):
    pass


def command(configured: Optional[str]) -> Optional[list[str]]:
    """The kustomize command to run, as an argv prefix to which the directory is appended;
    None when no kustomize is available (or rendering is turned off)."""
    import shutil  # deferred, like subprocess and tempfile: a plain-manifest run never renders

    if configured is not None:
        words = configured.split()
        if not words or words[0] in ("none", "off"):
            return None
        if shutil.which(words[0]) is None:
            return None
        return words
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def _safe_env(home: Optional[str] = None) -> dict[str, str]:
    """The renderer's environment: no proxies (network attempts fail at once), no kubeconfig,
    and, given ``home``, a throwaway HOME so no user configuration or cache is read."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().endswith("_PROXY") and not k.startswith(("KUSTOMIZE_", "XDG_", "HELM_", "KUBE"))}
    env["KUBECONFIG"] = os.devnull
    if home:
        env["HOME"] = home
        for k in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
            env[k] = home
    # Anything that tried the network would go to a closed local port and fail at once.
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env[k] = "http://127.0.0.1:9"
    env["NO_PROXY"] = env["no_proxy"] = ""
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ALLOW_PROTOCOL"] = "file"
    env["KUSTOMIZE_PLUGIN_HOME"] = os.devnull
    return env


def render(argv: Sequence[str], directory: str, timeout: float = RENDER_TIMEOUT) -> tuple[bytes, str]:
    """Render the kustomization in ``directory`` through a temporary wrapper that adds origin
    annotations; returns ``(output, wrapper directory)`` (origin paths are relative to the
    wrapper, which is deleted again).  Raises :class:`RenderError`."""
    import shutil
    import subprocess
    import tempfile

    tmp = os.path.realpath(tempfile.mkdtemp(prefix="istio-vm-lint-kustomize-"))
    try:
        with open(os.path.join(tmp, "kustomization.yaml"), "w", encoding="utf-8") as fh:
            fh.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                     f"resources:\n- {_yaml_str(os.path.relpath(directory, tmp))}\n"
                     "buildMetadata: [originAnnotations]\n")
        args = list(argv) + [tmp, "--load-restrictor", "LoadRestrictionsNone"]
        try:
            proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                                  env=_safe_env(tmp), cwd=tmp)
        except subprocess.TimeoutExpired:
            raise RenderError(f"{' '.join(argv)} did not finish within {timeout:.0f}s") from None
        except OSError as exc:
            raise RenderError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            msg = clean_error(err[-1] if err else f"exit status {proc.returncode}").replace(tmp, "<wrapper>")
            raise RenderError(f"{' '.join(argv)} failed: {msg[:400]}")
        return proc.stdout, tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def clean_error(line: str) -> str:
    """The useful part of a kustomize error line: without klog's prefix, the wrapper's
    accumulation chain and absolute paths (shown relative to the current directory)."""
    import re

    m = re.search(r'err="(.*)"\s*$', line)
    if m:
        line = m.group(1).replace('\\"', '"')
    line = re.sub(r"^Error:\s*", "", line)
    marker = "recursed accumulation of path '"
    i = line.rfind(marker)
    if i >= 0:
        j = line.find("': ", i + len(marker))
        if j >= 0:
            line = line[j + 3:]
    cwd = os.getcwd()
    line = re.sub(r"(/[^\s'\"]+)", lambda mm: os.path.relpath(mm.group(1), cwd)
                  if mm.group(1).startswith(cwd + os.sep) else mm.group(1), line)
    return without_addresses(line)


def without_addresses(text: str) -> str:
    """Go prints some structs with their pointers (`merging from generator &{0xc0001b0540 ...}`):
    the addresses differ from run to run, and a finding's message must not (baselines, CI diffs)."""
    import re

    return re.sub(r"\b0x[0-9a-f]{8,}\b", "0x…", text)


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def origin_of(data: dict[str, Any], wrapper: str) -> Optional[str]:
    """The real path of the file a rendered resource came from (None for generated ones)."""
    md = data.get("metadata")
    ann = md.get("annotations") if isinstance(md, dict) else None
    raw = ann.get(ORIGIN_ANNOTATION) if isinstance(ann, dict) else None
    if not isinstance(raw, str):
        return None
    result, _ = load_documents(raw.encode("utf-8"))
    doc = next((d.data for d in result.documents if isinstance(d.data, dict)), None)
    if doc is None or doc.get("repo") or not isinstance(doc.get("path"), str):
        return None
    return os.path.realpath(os.path.join(wrapper, doc["path"]))


def strip_annotations(data: dict[str, Any]) -> None:
    """Remove the annotations the wrapper asked for (they are ours, not the user's)."""
    md = data.get("metadata")
    ann = md.get("annotations") if isinstance(md, dict) else None
    if not isinstance(ann, dict):
        return
    for key in OUR_ANNOTATIONS:
        ann.pop(key, None)
    if not ann:
        del md["annotations"]  # type: ignore[union-attr]


def json_pointer(path: str) -> Optional[tuple[Any, ...]]:
    """``/spec/http/0/route`` -> ``("spec", "http", 0, "route")``."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    out: list[Any] = []
    for part in path[1:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        out.append(int(part) if part.isdigit() else part)
    return tuple(out)
