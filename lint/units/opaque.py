"""Files of a unit that the linter cannot read as resources, yet may define what a reference names.

A file that does not parse (a sed template with ``%IMAGE%``, a YAML slip) is reported once
(IVL001) and contributes no resource; an OpenShift ``Template`` holds its objects under
``objects:`` with ``${PARAM}`` names that ``oc process`` fills in.  Either may define the
Service or Gateway another file refers to, so a reference that resolves to nothing, to a name
such a file mentions, is not reported above info (as for an unrendered Helm chart): the
repository does define it, in a form the linter does not read.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Optional

from ..resource import as_map, str_map

if TYPE_CHECKING:  # pragma: no cover
    from ..findings import Problem
    from ..model import Resource
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
        # (``in`` first: a search for a ``^``-anchored pattern tries every position of the file)
        elif b"Template" in raw and _TEMPLATE_RE.search(raw) and _OBJECTS_RE.search(raw):
            why = _TEMPLATE_WHY
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


def may_define(p: "Problem", project: "Project", root: Optional[str] = None) -> Optional[str]:
    """Why a file of the unit the linter cannot read may define what ``p`` finds missing."""
    why = (_istio_operator_gateway(p, project) or _operator_may_create(p, project) or _values_file_beside(p, project)
           or _helm_release_beside(p))
    if why:
        return why
    files = opaque_files(project)
    if not files:
        return None
    params: dict[str, list[re.Pattern[str]]] = {}  # per Template file, built once
    for name in _missing_names(p):
        for path, why, text in files:
            if mentions(text, name):
                return f"{path}, {why}, mentions '{name}' and may define it"
            if why == _TEMPLATE_WHY:
                if path not in params:
                    params[path] = _parameter_names(text)
                if any(pat.fullmatch(name) for pat in params[path]):
                    return f"{path}, {why}, names objects by parameters (oc process -p) and may define '{name}'"
    return None


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` holds ``name`` as a whole name: not inside a longer name or host."""
    return re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", text) is not None


# Findings that a selector matches nothing: the workloads may be deployed elsewhere.
SELECTOR_CODES = frozenset({"IVL101", "IVL102", "IVL106"})


def finding_selector(res: "Resource") -> dict[str, str]:
    """The selector a selector finding (:data:`SELECTOR_CODES`) is about: a Service's or
    Gateway's ``selector``, a ServiceEntry's ``workloadSelector.labels``; empty otherwise."""
    spec = res.spec if isinstance(res.spec, dict) else {}
    if res.kind in ("Service", "Gateway"):
        return str_map(spec.get("selector"))
    if res.kind == "ServiceEntry":
        return str_map(as_map(spec.get("workloadSelector")).get("labels"))
    return {}


_TEMPLATE_WHY = "an OpenShift Template"
_PARAM_NAME_RE = re.compile(r"^[ \t]+name:[ \t]*[\"']?([a-z0-9.-]*\$\{\{?[A-Za-z0-9_]+\}\}?[^\s\"'#]*)", re.M)
_PARAM_RE = re.compile(r"\$\{\{?[A-Za-z0-9_]+\}\}?")


def _parameter_names(text: str) -> list[re.Pattern[str]]:
    """The object names an OpenShift Template sets from parameters (``name: ${SERVICE_NAME}``,
    ``${APP}-svc``), as patterns: ``oc process -p`` gives them any value."""
    out: list[re.Pattern[str]] = []
    for m in _PARAM_NAME_RE.finditer(text):
        parts = _PARAM_RE.split(m.group(1))
        out.append(re.compile("[a-z0-9.-]*".join(re.escape(x) for x in parts)))
    return out


_DOC_SPLIT_RE = re.compile(r"^---[^\n]*$", re.M)
_API_RE = re.compile(r"^apiVersion:[ \t]*[\"']?([^\s\"'#]+)", re.M)
_KIND_RE = re.compile(r"^kind:[ \t]*[\"']?([A-Za-z0-9]+)", re.M)
_META_RE = re.compile(r"^metadata:[ \t]*\n((?:[ \t]+.*\n?|[ \t]*\n)*)", re.M)
_FIELD_RE = {f: re.compile(r"^[ \t]+" + f + r":[ \t]*[\"']?([a-z0-9][a-z0-9.-]*)", re.M) for f in ("name", "namespace")}
# API groups whose kinds create no Services of their own (Kubernetes, Istio, GitOps and
# policy tooling): a resource of another group with a dot is an operator's custom resource.
_NOT_OPERATOR_GROUP = ("k8s.io", "istio.io", "kubernetes.io", "openshift.io", "argoproj.io",
                       "cert-manager.io", "monitoring.coreos.com", "gatekeeper.sh")


def custom_resources(project: "Project") -> list[tuple[str, str, str, str]]:
    """``(kind, namespace or "", name, path)`` of the custom resources the unit's files hold
    (read from the text: the model does not keep kinds it does not know)."""
    cached = getattr(project, "_custom_resources", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    out: list[tuple[str, str, str, str]] = []
    for src in project.files:
        raw = src.raw
        if not raw or not _may_hold_custom_resource(raw):
            continue
        text = raw.decode("utf-8", "replace").lstrip("\ufeff")
        for doc in (d for whole in _DOC_SPLIT_RE.split(text) for d in (whole, *_list_items(whole))):
            api, kind, meta = _API_RE.search(doc), _KIND_RE.search(doc), _META_RE.search(doc)
            if api is None or kind is None or meta is None:
                continue
            group = api.group(1).rpartition("/")[0]
            if "." not in group or group.endswith(_NOT_OPERATOR_GROUP):
                continue
            name = _FIELD_RE["name"].search(meta.group(1))
            ns = _FIELD_RE["namespace"].search(meta.group(1))
            if name is not None:
                out.append((kind.group(1), ns.group(1) if ns else "", name.group(1), src.path))
    project._custom_resources = out  # type: ignore[attr-defined]
    return out


_ITEMS_RE = re.compile(r"^items:[ \t]*\n", re.M)
_ITEM_RE = re.compile(r"^([ \t]*)-[ \t]+(?=\S)", re.M)


def _list_items(doc: str) -> list[str]:
    """The items of a ``kind: List`` document (``items: [- apiVersion: ...]``), each as the text
    of a document of its own: the item's ``- `` and indentation removed."""
    m = _ITEMS_RE.search(doc)
    if m is None or not _KIND_RE.search(doc):
        return []
    body = doc[m.end():]
    first = _ITEM_RE.match(body)
    if first is None:
        return []
    width = len(first.group(1)) + 2
    items: list[list[str]] = []
    for line in body.split("\n"):
        if line.startswith(first.group(1) + "-") and _ITEM_RE.match(line):
            items.append([line[width:]])
        elif not line.strip():
            continue
        elif len(line) - len(line.lstrip(" \t")) < width:
            break  # back at the List's own keys
        elif items:
            items[-1].append(line[width:])
    return ["\n".join(item) + "\n" for item in items]


# ``apiVersion:`` anywhere in the bytes: every match of _API_RE (at a line start, in the text)
# is one of these, with the same value when the value is printable ASCII.
_API_ANYWHERE_RE = re.compile(rb"apiVersion:[ \t]*[\"']?([^\s\"'#]+)")


def _may_hold_custom_resource(raw: bytes) -> bool:
    """False when no document of the file can be a custom resource for :func:`custom_resources`:
    no ``apiVersion`` value in it has a group of the kind it keeps.  A quick look at the bytes
    (a ``^``-anchored search of the text tries every position); any value that is not plain
    printable ASCII is left to the full reading."""
    for value in set(_API_ANYWHERE_RE.findall(raw)):
        if not all(0x21 <= b <= 0x7E for b in value):
            return True
        group = value.decode("ascii").rpartition("/")[0]
        if "." in group and not group.endswith(_NOT_OPERATOR_GROUP):
            return True
    return False


def _istio_operator_gateway(p: "Problem", project: "Project") -> Optional[str]:
    """A gateway an IstioOperator of the unit installs: its Service is the missing host."""
    if not project.operator_gateways:
        return None
    for svc, ns in ((m.group(1), m.group(2)) for m in _HOST_NS_RE.finditer(p.message.split("; ", 1)[0])):
        if (ns, svc) in project.operator_gateways:
            return (f"an IstioOperator of the repository installs gateway '{svc}' in namespace '{ns}', whose Service "
                    "istioctl or the operator creates")
    return None


def _operator_may_create(p: "Problem", project: "Project") -> Optional[str]:
    """A custom resource of the missing host's namespace whose name the Service name extends
    (``<resource>-<suffix>``) or equals: its operator may create that Service."""
    hosts = [(m.group(1), m.group(2)) for m in _HOST_NS_RE.finditer(p.message.split("; ", 1)[0])]
    if not hosts:
        return None
    crs = custom_resources(project)
    if not crs:
        return None
    for svc, ns in hosts:
        for kind, cr_ns, cr_name, path in crs:
            if cr_ns not in ("", ns) or len(cr_name) < 3:
                continue
            if svc == cr_name or svc.startswith(cr_name + "-"):
                return (f"{path} declares {kind} {ns}/{cr_name}, whose operator may create Service '{svc}'; "
                        "operators name the Services they create after the resource")
    return None


_VALUES_NAME_RE = re.compile(r"(^|[-_.])values([-_.][^/]*)?\.ya?ml$")
_MANIFEST_RE = re.compile(rb"^(apiVersion|kind):", re.M)


def _values_file_beside(p: "Problem", project: "Project") -> Optional[str]:
    """A Helm values file (``values.yaml``, ``helm-values.yaml``: no ``apiVersion``/``kind``) in
    the directory of the reporting resource, with no chart there: the application is installed
    from a chart elsewhere (``helm install x repo/chart --values …``), which may define the
    missing host (docs/semantics.md §operator-services)."""
    res = p.resource
    if res is None or not _HOST_NS_RE.search(p.message.split("; ", 1)[0]):
        return None
    here = os.path.dirname(res.source.path)
    if os.path.isfile(os.path.join(here, "Chart.yaml")):
        return None  # a chart's own values: the chart is rendered or reported (IVL752)
    for src in project.files:
        name = os.path.basename(src.path)
        if os.path.dirname(src.path) == here and _VALUES_NAME_RE.search(name) and src.raw \
                and not _MANIFEST_RE.search(src.raw):
            return f"{src.path}, Helm values for a chart installed from elsewhere, suggests that chart may define it"
    return None


# `helm install <release> <chart>` / `helm upgrade --install <release> <chart>` in a tutorial's
# instructions: the chart's Services are named after the release (`<release>` or
# `<release>-<chart>`, the charts' `fullname` helper).
_HELM_CMD_RE = re.compile(r"\bhelm\s+(?:upgrade\s+)?(?:install|-i\b|--install\b)([^\n`]*)")
_HELM_VALUE_FLAGS = frozenset({"-n", "--namespace", "-f", "--values", "--set", "--set-string", "--set-file",
                               "--version", "--repo", "--kube-context", "--timeout", "-o", "--output",
                               "--post-renderer", "--description", "--username", "--password"})
# (lint/result_cache.py keys the content of these files beside every linted file)
INSTRUCTION_NAME_RE = re.compile(r"(readme.*|.*\.(md|adoc|rst|txt|sh|bash))$", re.I)


def helm_releases(directory: str) -> list[tuple[str, str]]:
    """``(release, file name)`` of the ``helm install`` commands in the instructions and scripts
    of ``directory`` (its own files only, never below or above it)."""
    out: list[tuple[str, str]] = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return out
    for name in names:
        path = os.path.join(directory, name)
        if not INSTRUCTION_NAME_RE.fullmatch(name) or not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read(200_000)
        except OSError:
            continue
        for m in _HELM_CMD_RE.finditer(text):
            words = m.group(1).replace("\\", " ").split()
            skip = False
            for w in words:
                if skip:
                    skip = False
                elif w.startswith("-"):
                    skip = w in _HELM_VALUE_FLAGS
                else:
                    if re.fullmatch(r"[a-z0-9][a-z0-9-]*", w) and w not in ("install", "upgrade"):
                        out.append((w, name))
                    break
    return out


def _helm_release_beside(p: "Problem") -> Optional[str]:
    """Instructions or a script in the reporting resource's directory install a Helm release
    whose Services the missing host names (``helm install my-keycloak bitnami/keycloak`` and a
    route to ``my-keycloak``): the chart, installed from elsewhere, may define it
    (docs/semantics.md §operator-services)."""
    res = p.resource
    real = res.source.real_path if res is not None else None
    hosts = [m.group(1) for m in _HOST_NS_RE.finditer(p.message.split("; ", 1)[0])]
    if real is None or not hosts:
        return None
    for release, fname in helm_releases(os.path.dirname(real)):
        for svc in hosts:
            if svc == release or svc.startswith(release + "-"):
                return (f"{fname} installs Helm release '{release}' from a chart outside the repository, whose "
                        f"Services are named after the release, so it may define '{svc}'")
    return None
