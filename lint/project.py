"""Load stage: files -> documents -> typed resources, plus the problems found on the way.

The load never raises for bad input: unreadable files, YAML errors, duplicate keys,
unsupported API versions and documents without a name all become problems (reported by
the rules in ``rules/document.py``) and the rest of the input is still loaded.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional

from . import defaults
from .discover import Discovered
from .findings import FieldPath, Location, Problem
from .loader import Hint, LoadResult, PositionIndex, ScalarCache, load_documents
from .mesh_providers import Provider, mesh_providers, mesh_trust_domains, reads_mesh_config
from .model import (
    KIND_NAMES,
    KINDS,
    WORKLOAD_EXTENSION_KINDS,
    OpaqueWorkload,
    Resource,
    SourceFile,
    WorkloadController,
    legacy_workload,
)
from .networks import (
    ISTIO_OPERATOR,
    NetworkFacts,
    add_network_facts,
    operator_cluster,
    operator_gateways,
    reads_network_facts,
)

ALL_KINDS = {**KINDS, **WORKLOAD_EXTENSION_KINDS}
MODELLED_KIND_NAMES = frozenset(k for (_, k) in ALL_KINDS) | frozenset(KIND_NAMES.values())

if TYPE_CHECKING:
    from .cache import ParseCache


@dataclass
class LoadProblem:
    """A problem found while loading (parse error, duplicate key...), for the document rules."""

    code: str
    source: SourceFile
    message: str
    line: int = 1
    column: int = 1
    doc_index: Optional[int] = None
    path: FieldPath = ()
    exact: bool = False  # line/column are the finding's own (not to be re-located by ``path``)


@dataclass
class Project:
    """Everything one unit loaded: resources, files and load problems."""

    resources: list[Resource] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    ignored_documents: int = 0
    unknown_kinds: int = 0
    default_namespace: str = defaults.DEFAULT_NAMESPACE
    # Kubernetes Gateway API Gateways (gateway.networking.k8s.io): not linted, but a
    # VirtualService may bind to them.  (namespace, name) -> listener hostnames (None = any host).
    gateway_api: dict[tuple[str, str], list[Optional[str]]] = field(default_factory=dict)
    # Their topology.istio.io/network labels: (namespace, name) -> network (east-west gateways).
    gateway_api_networks: dict[tuple[str, str], str] = field(default_factory=dict)
    # The service accounts Istio's gateway controller runs their deployments as: namespace -> names.
    gateway_api_accounts: dict[str, set[str]] = field(default_factory=dict)
    # The gateways an IstioOperator installs (components.ingressGateways/egressGateways): (namespace, name),
    # each a Deployment and a Service of that name that istioctl or the operator creates.
    operator_gateways: set[tuple[str, str]] = field(default_factory=set)
    # The (meshID, cluster name, network) each IstioOperator installs, with its file's real path
    # (multi-cluster directories, lint/units/samples.py).
    operator_clusters: list[tuple[Optional[str], tuple[str, str, str]]] = field(default_factory=list)
    # The extension providers of the mesh configs in the repository (lint/mesh_providers.py):
    # None when it holds no mesh config (an istio ConfigMap, an IstioOperator's meshConfig).
    extension_providers: Optional[dict[str, Provider]] = None
    # The trust domains (with aliases) those mesh configs set; None without one.
    trust_domains: Optional[set[str]] = None
    # meshNetworks and IstioOperator east-west gateways (lint/networks.py)
    network_facts: NetworkFacts = field(default_factory=NetworkFacts)
    # Argo CD Applications and ApplicationSets (argoproj.io): not linted; their sources'
    # destination namespaces place namespace-less manifests (lint/units/argocd.py).
    argo_applications: list[dict[str, Any]] = field(default_factory=list)
    _by_kind: Optional[dict[str, list[Resource]]] = None

    def by_kind(self, kind: str) -> list[Resource]:
        if self._by_kind is None:
            index: dict[str, list[Resource]] = defaultdict(list)
            # A total order independent of file and document order, so that every rule's
            # "first"/"others" lists (and so its messages) are the same for any input order.
            for r in sorted(self.resources, key=lambda r: r.sort_key):
                index[r.kind].append(r)
            self._by_kind = dict(index)
        return self._by_kind.get(kind, [])

    def kinds(self, *kinds: str) -> list[Resource]:
        out: list[Resource] = []
        for k in kinds:
            out.extend(self.by_kind(k))
        return out

    @property
    def kinds_present(self) -> set[str]:
        self.by_kind("")
        assert self._by_kind is not None
        return set(self._by_kind)

    def want_positions(self, problems: Iterable[Problem]) -> None:
        """Announce the documents about to be located (see :class:`PositionIndex`)."""
        for p in problems:
            if p.resource is not None and not p.resource.source.report and p.cause is None:
                continue
            if p.resource is not None and p.location is None:
                _want(p.resource)
            for other, _ in p.related:
                _want(other)
            if p.cause is not None:
                _want(p.cause)

    def location(self, resource: Resource, path: FieldPath) -> Location:
        """Resolve a field path to a 1-based position, falling back to the document start.

        A rendered resource may have patch documents (``resource.origins``, latest first): a
        field is located in a patch when the patch holds it and the source document does not
        hold it more exactly; a field both hold is the patch's (it wrote the final value)."""
        path = tuple(path)
        hit, depth = resource.source.positions.lookup_depth(resource.doc_index, resource.base + path,
                                                            _hint(resource))
        if resource.origins and path and path not in _IDENTITY_PATHS:
            for o in resource.origins:
                mapped = o.map(path)
                if mapped is None:
                    continue
                ohit, odepth = o.source.positions.lookup_depth(o.doc_index, mapped)
                if ohit is None:
                    continue
                odepth -= len(mapped) - len(path)  # depth along the resource's own path
                if odepth > max(depth, 0) or (odepth == depth == len(path)):
                    return Location(o.source.path, ohit[0], ohit[1])
        if hit is None:
            return Location(resource.source.path, resource.line, resource.column)
        return Location(resource.source.path, hit[0], hit[1])


# Fields every patch repeats to name its target: located in the resource's own document.
_IDENTITY_PATHS = {("apiVersion",), ("kind",), ("metadata",), ("metadata", "name"), ("metadata", "namespace")}


def _hint(resource: Resource) -> Optional[Hint]:
    """Where the resource's document starts and what it read, so that the position index can
    parse that document alone (``PositionIndex._alone``); not for rendered resources."""
    if resource.origins:
        return None
    return (resource.line, resource.column, resource.base, resource.data)


def _want(resource: Resource) -> None:
    resource.source.positions.want(resource.doc_index, _hint(resource))
    for o in resource.origins:
        o.source.positions.want(o.doc_index)


def outside_link_problem(disc: Discovered, report_only: Optional[set[str]]) -> LoadProblem:
    """IVL005 for a symlink the walk did not follow (``Discovered.outside``)."""
    report = report_only is None or disc.real in report_only
    src = SourceFile(disc.display, disc.real, PositionIndex(None), report)
    where = "the repository" if disc.boundary_is_repo else "the linted directory"
    return LoadProblem("IVL005", src, f"symlink to '{disc.outside}' leads outside {where}; not followed "
                       "(as git does not), so nothing behind it is linted")


def read_source(disc: Discovered) -> tuple[Optional[bytes], Optional[str]]:
    try:
        with open(disc.real, "rb") as fh:
            return fh.read(), None
    except IsADirectoryError:
        return None, "is a directory"
    except OSError as exc:
        return None, exc.strerror or str(exc)


def load_project(
    files: Iterable[Discovered],
    default_namespace: str = defaults.DEFAULT_NAMESPACE,
    stdin: Optional[tuple[str, bytes]] = None,
    report_only: Optional[set[str]] = None,
    parse_cache: Optional["ParseCache"] = None,
) -> Project:
    """Load every file.  ``report_only`` (real paths) marks the others as context only.

    With a ``parse_cache``, files whose bytes were parsed before are not parsed again."""
    project = Project(default_namespace=default_namespace)
    sources: list[tuple[SourceFile, Optional[bytes], Optional[str]]] = []
    # Sorted here so that resource order (and every "first wins" tie-break) never depends on
    # the order the caller listed files in.
    for disc in sorted(files, key=lambda d: (d.display, d.real)):
        if disc.outside is not None:  # never read: reported once, not counted as a file
            project.problems.append(outside_link_problem(disc, report_only))
            continue
        raw, err = read_source(disc)
        report = report_only is None or disc.real in report_only
        src = SourceFile(disc.display, disc.real, PositionIndex(raw), report, raw)
        sources.append((src, raw, err))
    if stdin is not None:
        name, raw = stdin
        src = SourceFile(name, None, PositionIndex(raw), True, raw)
        sources.append((src, raw, None))
    cache = ScalarCache()  # shared by every file of this load, dropped at the end
    for src, raw, err in sources:
        project.files.append(src)
        if raw is None:
            project.problems.append(LoadProblem("IVL001", src, f"cannot read file: {err}"))
            continue
        key, result = parse_cache.get(raw) if parse_cache is not None else (b"", None)
        if result is None:
            result, _ = load_documents(raw, cache=cache)
            if parse_cache is not None:
                parse_cache.put(key, result)
        add_documents(project, src, result)
    return project


def load_file(project: Project, src: SourceFile, raw: bytes, cache: Optional[ScalarCache] = None) -> None:
    result, _ = load_documents(raw, cache=cache)
    add_documents(project, src, result)


_MANIFEST_KEY_RE = [re.compile(rb"(?<![A-Za-z0-9_])%s['\"]?[ \t]*:" % key) for key in (b"apiVersion", b"kind")]


def _is_manifest(src: SourceFile, result: LoadResult) -> bool:
    """Does the file hold (or, when it does not parse, look like it holds) a Kubernetes object?

    A document with both ``apiVersion`` and ``kind`` keys makes a manifest.  A file that stops
    parsing before such a document is judged by its text (NUL bytes dropped, so UTF-16/32
    text counts too): both keys must occur.  Lockfiles, application configs and CI files are
    not manifests: nothing that happens to them reaches a cluster, so they get no finding."""
    for doc in result.documents:
        data = doc.data
        if isinstance(data, dict) and "apiVersion" in data and "kind" in data:
            return True
    if not result.errors or src.raw is None:
        return False
    text = src.raw.replace(b"\x00", b"")
    return all(rx.search(text) for rx in _MANIFEST_KEY_RE)


def add_documents(project: Project, src: SourceFile, result: LoadResult) -> None:
    """The resources and load problems of one parsed file.

    Parse problems (IVL001, IVL002) are only kept for files that are Kubernetes manifests
    (see :func:`_is_manifest`)."""
    manifest = _is_manifest(src, result)
    src.positions.clean = not result.errors
    for err in result.errors if manifest else ():
        project.problems.append(LoadProblem(err.code, src, err.message, err.line, err.column))
    for doc in result.documents:
        for dup in doc.duplicates if manifest else ():
            first = f" (first defined on line {dup.first_line})" if dup.first_line else ""
            project.problems.append(LoadProblem(
                "IVL002", src, f"duplicate key '{dup.key}'{first}; the API server rejects or "
                "silently keeps only one value", dup.line, dup.column, doc.index, dup.path, exact=True))
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            project.ignored_documents += 1
            continue
        if is_list_document(data):
            for item, base in list_items(data):
                _add_resource(project, src, doc.index, item, base, doc.line, doc.column)
            continue
        _add_resource(project, src, doc.index, data, (), doc.line, doc.column)


def is_list_document(data: Any) -> bool:
    """``kind: List`` or a typed list (``ServiceEntryList``, ``DeploymentList`` ...) with items:
    what ``kubectl apply`` unpacks into its items."""
    if not isinstance(data, dict):
        return False
    kind = data.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list)


def item_identity(list_doc: dict[str, Any], item: dict[str, Any]) -> tuple[Any, Any]:
    """``(apiVersion, kind)`` of a list item as kubectl reads it: an item of a typed list
    that names neither takes the list's apiVersion and the list's kind without ``List``
    (``ServiceEntryList`` -> ``ServiceEntry``), as the API server writes such lists."""
    api_version, kind = item.get("apiVersion"), item.get("kind")
    list_kind = list_doc.get("kind")
    if (api_version in (None, "") and kind in (None, "") and isinstance(list_kind, str)
            and list_kind != "List" and isinstance(list_doc.get("apiVersion"), str)):
        return list_doc["apiVersion"], list_kind[: -len("List")]
    return api_version, kind


def list_items(data: dict[str, Any], base: FieldPath = ()) -> list[tuple[Any, FieldPath]]:
    """The items of a list document, lists nested in it flattened (as kubectl does), each with
    its path in the document so findings point into the item.  An item that inherits its
    type from a typed list is a copy with ``apiVersion``/``kind`` filled in."""
    out: list[tuple[Any, FieldPath]] = []
    for i, item in enumerate(data["items"]):
        where = base + ("items", i)
        if is_list_document(item):  # nesting is bounded by the loader's MAX_DEPTH
            out.extend(list_items(item, where))
            continue
        if isinstance(item, dict):
            api_version, kind = item_identity(data, item)
            if (api_version, kind) != (item.get("apiVersion"), item.get("kind")):
                item = {**item, "apiVersion": api_version, "kind": kind}
        out.append((item, where))
    return out


GATEWAY_API_GATEWAY = ("gateway.networking.k8s.io", "Gateway")  # read for VirtualService gateway refs
ARGO_APPLICATION = ("argoproj.io", "Application")  # read for its destination namespace
ARGO_APPLICATION_SET = ("argoproj.io", "ApplicationSet")  # the Applications its git directory generator makes


def reads_whole(api_version: str, kind: str, data: Any = None) -> bool:
    """Does the model read more of such a document than its apiVersion and kind?  (Kinds it
    does not are only counted; the parse cache keeps no more of them than that.)  ``data``:
    an unmodelled kind with a pod template is read as an :class:`OpaqueWorkload`."""
    group, _, version = api_version.rpartition("/")
    key = (group, kind)
    return (key in ALL_KINDS or key in (GATEWAY_API_GATEWAY, ARGO_APPLICATION, ARGO_APPLICATION_SET)
            or legacy_workload(group, version, kind)
            or reads_network_facts(group, kind, data) or reads_mesh_config(group, kind, data)
            or (data is not None and OpaqueWorkload.looks_like(data)))


def _add_resource(project: Project, src: SourceFile, doc_index: int, data: Any, base: FieldPath,
                  line: int, column: int) -> None:
    if not isinstance(data, dict):
        project.ignored_documents += 1
        return
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        project.ignored_documents += 1
        return
    group, _, version = api_version.rpartition("/")
    entry = ALL_KINDS.get((group, kind))
    legacy = legacy_workload(group, version, kind)
    if legacy:
        # Not served since Kubernetes 1.16, but read on as the apps/v1 kind: its pod template
        # still tells which workloads the selectors and subsets mean (model.legacy_workload).
        entry = (WorkloadController, frozenset({version}))
        project.problems.append(LoadProblem(
            "IVL003", src, f"{kind} apiVersion '{api_version}' is no longer served (removed in Kubernetes "
            "1.16): the API server rejects it; use apps/v1 (its pod template is still used here for "
            "selector and subset matching)", line, column, doc_index, base + ("apiVersion",)))
    if entry is None:
        project.unknown_kinds += 1
        if (group, kind) == GATEWAY_API_GATEWAY:
            _add_gateway_api(project, data)
            return
        if (group, kind) == ISTIO_OPERATOR:
            project.operator_gateways |= operator_gateways(data)
            cluster = operator_cluster(data)
            if cluster is not None:
                project.operator_clusters.append((src.real_path, cluster))
        if (group, kind) in (ARGO_APPLICATION, ARGO_APPLICATION_SET):
            project.argo_applications.append(data)
            return
        providers = mesh_providers(group, kind, data)
        if providers is not None:
            project.extension_providers = {**(project.extension_providers or {}), **providers}
        domains = mesh_trust_domains(group, kind, data)
        if domains is not None:
            project.trust_domains = (project.trust_domains or set()) | domains
        if add_network_facts(project.network_facts, group, kind, data) or providers is not None:
            return
        if not OpaqueWorkload.looks_like(data):
            return
        # An unmodelled kind with a pod template: its pods can satisfy selectors.  Named
        # Kind.group when the kind alone is one the model reads (a CRD called Service).
        entry = (OpaqueWorkload, frozenset({version}))
        if kind in MODELLED_KIND_NAMES:
            kind = f"{kind}.{group}" if group else f"{kind}.core"
    cls, versions = entry
    kind = KIND_NAMES.get((group, kind), kind)
    if version not in versions:
        project.problems.append(LoadProblem(
            "IVL003", src, f"{kind} does not support apiVersion '{api_version}' (supported: "
            + ", ".join(f"{group + '/' if group else ''}{v}" for v in sorted(versions)) + ")",
            line, column, doc_index, base + ("apiVersion",)))
        return
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    generated = False
    if name is None and isinstance(metadata, dict):
        # metadata.generateName is valid on create (kubectl create, Argo CD/Helm hooks, Jobs).
        prefix = metadata.get("generateName")
        if isinstance(prefix, str) and prefix:
            name, generated = prefix, True
    if not isinstance(name, str) or not name:
        if cls is OpaqueWorkload:
            return  # not a kind this linter knows: its metadata is not its business
        what = "has no metadata" if not isinstance(metadata, dict) else (
            "has no metadata.name (nor metadata.generateName)" if name in (None, "") else f"has a non-string metadata.name ({type(name).__name__})")
        path = base + (("metadata", "name") if isinstance(metadata, dict) else ("kind",))
        project.problems.append(LoadProblem("IVL004", src, f"{kind} {what}; it cannot be applied or referenced",
                                            line, column, doc_index, path))
        return
    ns_raw = metadata.get("namespace") if isinstance(metadata, dict) else None
    if kind == "Namespace":
        namespace, explicit = "", True
    elif isinstance(ns_raw, str) and ns_raw:
        namespace, explicit = ns_raw, True
    else:
        namespace, explicit = project.default_namespace, False
    res = cls(kind, api_version, name, namespace, explicit, data, src, doc_index, line, column, base,
              name_generated=generated)
    project.resources.append(res)


def _add_gateway_api(project: Project, data: dict[str, Any]) -> None:
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = metadata.get("name")  # type: ignore[union-attr]
    if not isinstance(name, str):
        return
    ns = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else project.default_namespace  # type: ignore[union-attr]
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    hostnames: list[Optional[str]] = []
    listeners = spec.get("listeners")  # type: ignore[union-attr]
    for listener in listeners if isinstance(listeners, list) else []:  # anything else: schema's business
        if isinstance(listener, dict):
            h = listener.get("hostname")
            hostnames.append(h if isinstance(h, str) and h else None)
    project.gateway_api[(ns, name)] = hostnames  # type: ignore[index]
    account = _gateway_api_account(name, metadata, spec)  # type: ignore[arg-type]
    if account:
        project.gateway_api_accounts.setdefault(ns, set()).add(account)  # type: ignore[arg-type]
    labels = metadata.get("labels")  # type: ignore[union-attr]
    network = labels.get("topology.istio.io/network") if isinstance(labels, dict) else None
    if isinstance(network, str) and network:
        project.gateway_api_networks[(ns, name)] = network  # type: ignore[index]


# GatewayClasses whose Gateways Istio deploys itself, and whether the deployment's name (and
# service account) is the Gateway's own or ``<gateway>-<class>`` (docs/semantics.md
# §gateway-api-deployments).
_ISTIO_GATEWAY_CLASSES = {"istio": False, "istio-waypoint": True, "istio-east-west": True}


def _gateway_api_account(name: str, metadata: dict[str, Any], spec: dict[str, Any]) -> Optional[str]:
    """The service account of the deployment Istio creates for a Gateway API Gateway of one of
    its classes: the ``gateway.istio.io/service-account`` annotation, else the Gateway's name
    (waypoint and east-west classes) or ``<name>-<class>``; None for other classes and for
    unmanaged Gateways (an address of type Hostname names an existing Service)."""
    cls = spec.get("gatewayClassName")
    if not isinstance(cls, str) or cls not in _ISTIO_GATEWAY_CLASSES:
        return None
    addresses = spec.get("addresses")
    if isinstance(addresses, list) and any(isinstance(a, dict) and a.get("type") == "Hostname" for a in addresses):
        return None
    annotations = metadata.get("annotations")
    override = annotations.get("gateway.istio.io/service-account") if isinstance(annotations, dict) else None
    if isinstance(override, str) and override:
        return override
    return name if _ISTIO_GATEWAY_CLASSES[cls] else f"{name}-{cls}"

