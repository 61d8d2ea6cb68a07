"""Adjusting a unit's findings for what the unit cannot know.

A finding that depends on which of several alternative copies is applied, on a target an
unrendered Helm chart or another unit may define, or on a namespace the repository does not
state is lowered to info, and its message says why.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from typing import Iterator, Optional

from ..config import Settings
from ..defaults import ISTIO_SAMPLE_ACCOUNTS, ISTIO_SAMPLE_GATEWAYS, ISTIO_SAMPLE_SERVICES
from ..discover import display_path
from ..findings import Problem
from ..model import Resource, Service, ServiceEntry, WorkloadController, WorkloadEntry, WorkloadGroup
from ..project import Project
from ..resource import as_list
from ..rule import Rule
from . import chart_text, opaque
from .codes import UNIT_CODES, UNRESOLVED_REFERENCE, single_resource_rule
from .plan import Plan, Unit
from .views import Elsewhere, diverge


def adjust(p: Problem, r: Rule, unit: Unit, project: Project, plan_: Plan, settings: Settings,
            alternatives: frozenset[int] | set[int] = frozenset(),
            elsewhere: Optional[Elsewhere] = None) -> Problem:
    code = p.code or r.code
    sev = p.severity or r.severity
    if sev == "info":
        if code in UNRESOLVED_REFERENCE and plan_.defined_elsewhere and p.resource is not None:
            _correct_nothing_declared(p, unit, plan_.defined_elsewhere)
        return p
    path = p.resource.source.path if p.resource is not None else p.location.file if p.location else ""
    if path and rejection_sample(path):
        negative = ("a Gatekeeper sample meant to be rejected by the constraint beside it"
                    if os.path.basename(path).startswith("example_disallowed")
                    else "the file's name says it is a deliberately invalid sample, a test input")
        p.message = f"{p.message} ({negative}, never applied)"
        p.severity = "info"
        return p
    if p.resource is None:
        return p
    if alternatives and not single_resource_rule(code) and code not in UNIT_CODES and any(
            id(x) in alternatives for x in [p.resource] + [o for o, _ in p.related]):
        p.message = (f"{p.message} (holds for one choice among alternatives: the directory defines "
                     "the same object more than once, e.g. tutorial steps applied one at a time, so "
                     "which copy is applied is not stated)")
        p.severity = "info"
        return p
    if elsewhere is not None and not single_resource_rule(code) and code not in UNIT_CODES:
        alt = _alternative(p, elsewhere)
        if alt is not None:
            x, there = alt
            p.message = (f"{p.message} (with {x.kind} {x.namespace}/{x.name} as {there or '.'}/ defines it: the "
                         "directories define some objects differently, alternatives applied one at a time, so "
                         "whether that one is applied together with this file is not stated)")
            p.severity = "info"
            return p
    if plan_.unrendered_charts and code in UNRESOLVED_REFERENCE:
        may = chart_text.charts_may_define(p, plan_)
        if may is None or may:
            charts = ", ".join((plan_.unrendered_charts if may is None else may)[:3])
            p.message = f"{p.message} (the unrendered Helm chart {charts} may define it)"
            p.severity = "info"
            return p
    if code in UNRESOLVED_REFERENCE and unit.tree is not None:
        gens = [display_path(k.file) for k in unit.tree.kustomizations
                if any(e.startswith(("helmCharts", "generators")) for e in k.unsupported)]
        if gens:
            # §operator-services: kustomize inflates helmCharts only with --enable-helm.
            p.message = (f"{p.message} (the Helm charts or generator plugins of {', '.join(gens[:3])}, not run, "
                         "may define it)")
            p.severity = "info"
            return p
        remote = [display_path(k.file) for k in unit.tree.kustomizations if k.remote]
        if remote:
            # docs/semantics.md §kustomize-wrapped-charts: an install manifest pulled from a URL (never fetched) defines the objects.
            p.message = (f"{p.message} (the remote resources of {', '.join(remote[:3])}, never fetched, may "
                         "define it)")
            p.severity = "info"
            return p
    if code in UNRESOLVED_REFERENCE:
        why = opaque.may_define(p, project, settings.root or os.getcwd())
        if why:
            p.message, p.severity = f"{p.message} ({why})", "info"
            return p
    if plan_.defined_elsewhere and code in UNRESOLVED_REFERENCE:
        others = _defined_in_other_units(p.message, unit, plan_.defined_elsewhere,
                                         (p.resource.name, p.resource.namespace), code)
        what = "defines it"
        if not others and code in opaque.SELECTOR_CODES:
            others, what = _selected_in_other_units(p, unit, plan_.defined_elsewhere), "deploys workloads it selects"
        if not others and code == "IVL107":
            # Another cluster of a multicluster mesh runs the subset's version (§cross-unit-selection).
            others = _subset_endpoints_in_other_units(p, unit, project, plan_.defined_elsewhere)
            what = "deploys endpoints of the service that the subset selects"
        if others:
            p.message = (f"{p.message} (unit {', '.join(others[:3])}, applied separately, {what}; "
                         "whether both go to the same cluster is not stated)")
            p.severity = "info"
            return p
    sample = _istio_sample(p, code, project, plan_)
    if sample:
        p.message, p.severity = f"{p.message} ({sample})", "info"
        return p
    if code == "IVL503" and not _defines_gateways(project, plan_):
        # docs/semantics.md §platform-gateways: with no Gateway anywhere, the routes bind to one the platform provides.
        p.message = (f"{p.message} (the repository defines no Gateway at all, so it binds its routes to a gateway "
                     "the platform it is deployed onto provides, such as a shared ingress gateway; list it in "
                     "external-hosts as namespace/name if it is)")
        p.severity = "info"
        return p
    named = _file_names_its_namespace(p, project, settings)
    if named:
        p.message = (f"{p.message} (holds only if the namespace-less resources are in "
                     f"'{settings.default_namespace}', but their file names '{named}': it is written for another "
                     "namespace and applied there, e.g. with kubectl apply -n; set metadata.namespace)")
        p.severity = "info"
        return p
    if _depends_on_assumed_namespace(p, project, settings):
        p.message = (f"{p.message} (holds only if the namespace-less resources are in "
                     f"'{settings.default_namespace}', which the repository does not state; set "
                     "metadata.namespace, a kustomization namespace or the `namespaces` config)")
        p.severity = "info"
        return p
    # (not when unrendered charts of the unit, read above, may be where its Services come from)
    ns = None if _unit_charts(unit, plan_) else _routing_only_namespace(p, code, project)
    if ns == settings.default_namespace:
        ns = None  # the namespace a repository's own apps go to when none is stated: its routes there are to them
    if ns:
        p.message = (f"{p.message} (the repository defines no Service, ServiceEntry or workload in namespace "
                     f"'{ns}', only routing or policy, so its services are installed from elsewhere, e.g. by a "
                     "product's own installer or chart; list the namespace in external-namespaces if it is, "
                     "§routing-only-namespaces)")
        p.severity = "info"
    return p


def _unit_charts(unit: Unit, plan_: Plan) -> bool:
    """Does an unrendered chart lie in the unit's directory (any, for the plain unit)?"""
    if unit.name == ".":
        return bool(plan_.unrendered_charts)
    return any(c == unit.name or c.startswith(unit.name.rstrip("/") + "/") for c in plan_.unrendered_charts)


# Missing hosts (docs/semantics.md §routing-only-namespaces).
_HOST_CODES = frozenset({"IVL501", "IVL502", "IVL590"})


def _routing_only_namespace(p: Problem, code: str, project: Project) -> Optional[str]:
    """The namespace of the host ``p`` finds missing when the unit defines no Service,
    ServiceEntry or workload there (only routing or policy) and no service of that name in any
    namespace (a short host expanded in the wrong namespace stays a mistake).  None otherwise."""
    if code not in _HOST_CODES:
        return None
    m = _HOST_NS_RE.search(p.message.split("; ", 1)[0])
    if m is None:
        return None
    name, ns = m.group(1), m.group(2)
    hosting = getattr(project, "_hosting", None)
    if hosting is None:
        namespaces: set[str] = set()
        names: set[str] = set()
        for r in project.resources:
            if isinstance(r, (Service, ServiceEntry, WorkloadController, WorkloadEntry, WorkloadGroup)):
                namespaces.add(r.namespace)
            elif r.kind == "Namespace":
                namespaces.add(r.name)  # a namespace the repository creates is one it runs things in
            if isinstance(r, Service):
                names.add(r.name)
            elif isinstance(r, ServiceEntry):
                names.update(h.split(".", 1)[0] for h in r.hosts)
        hosting = project._hosting = (namespaces, names)  # type: ignore[attr-defined]
    return ns if ns not in hosting[0] and name not in hosting[1] else None


# References to what Istio's sample apps define (docs/semantics.md §istio-samples).
_SAMPLE_CODES = frozenset({"IVL108", "IVL118", "IVL501", "IVL502", "IVL503", "IVL506"})
_ACCOUNT_RE = re.compile(r"names service account '([a-z0-9][a-z0-9.-]*)'")
_MISSING_GATEWAY_RE = re.compile(r"Gateway ([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9.-]*), which does not exist")


def _istio_sample(p: Problem, code: str, project: Project, plan_: Plan) -> Optional[str]:
    """Why the missing end of ``p`` is most likely one of Istio's sample apps, applied from
    Istio's release rather than kept in the repository: every name the finding's first clause
    says is missing is a Service (or Gateway) of a sample, and the repository defines nothing of
    that name in any unit or namespace (a repository with its own Service of that name, or a
    rejected copy of the Gateway, keeps its finding). None otherwise."""
    if code not in _SAMPLE_CODES:
        return None
    first = p.message.split("; ", 1)[0]
    if code == "IVL503":
        names, pool = [m.group(2) for m in _MISSING_GATEWAY_RE.finditer(first)], ISTIO_SAMPLE_GATEWAYS
    elif code == "IVL118":  # a principal of a sample's service account: the sample's Service must be absent
        names = [ISTIO_SAMPLE_ACCOUNTS.get(m.group(1), "") for m in _ACCOUNT_RE.finditer(first)]
        pool = ISTIO_SAMPLE_SERVICES
    else:
        names, pool = [m.group(1) for m in _HOST_NS_RE.finditer(first)], ISTIO_SAMPLE_SERVICES
    if not names or any(n not in pool for n in names):
        return None
    prefix = "gateway:" if code == "IVL503" else "app:"
    defined = _defined_names(project)
    if any(prefix + n in defined or prefix + n in plan_.defined_elsewhere for n in names):
        return None
    name = names[0]
    what = "Gateway" if code == "IVL503" else "Service"
    if code == "IVL118":
        return (f"the account is that of Istio's {pool[name]} sample (samples/{pool[name]}), whose manifest creates it "
                "and which tutorials apply from Istio's release; the repository deploys no such sample")
    return (f"'{name}' is a {what} of Istio's {pool[name]} sample (samples/{pool[name]}), which tutorials apply "
            "from Istio's release, and the repository defines nothing named so; list it in external-hosts or "
            "external-namespaces if it comes from there")


def _app_names(r: Resource) -> list[str]:
    """``app:<name>`` for what defines a service called so (a Service, the first label of a
    ServiceEntry's short or cluster-local host), ``gateway:<name>`` for a Gateway.  A workload alone does not count: the samples ship
    extra versions as Deployments whose Service comes from the main manifest
    (``bookinfo-ratings-v2.yaml``), and tutorials copy those."""
    if r.kind == "Gateway":
        return [f"gateway:{r.name}"]
    if r.kind == "Service":
        return [f"app:{r.name}"]
    if r.kind == "ServiceEntry":  # a cluster-local or short host; `httpbin.org` is not the httpbin sample
        return [f"app:{h.split('.', 1)[0]}" for h in as_list(r.spec.get("hosts"))
                if isinstance(h, str) and ("." not in h or ".svc." in h)]
    return []


def _defined_names(project: Project) -> set[str]:
    """:func:`_app_names` of the unit's resources, rejected ones too."""
    cached = getattr(project, "_app_names", None)
    if cached is None:
        cached = {k for r in project.resources for k in _app_names(r)}
        project._app_names = cached  # type: ignore[attr-defined]
    return cached
# The note of a finding lowered to info because the unit declares nothing in the namespace.
_NOTHING_DECLARED_RE = re.compile(r" \(info, not \w+: the repository declares nothing in (?:namespace '[^']*'|that "
                                  r"namespace), so [^;()]*; list the namespace in external-namespaces if it is\)")


def _correct_nothing_declared(p: Problem, unit: Unit, index: dict[str, set[str]]) -> None:
    """An info finding that says "the repository declares nothing in namespace X" while another
    unit of the repository defines the missing object (a shared gateway in its own Argo CD
    application): the note is replaced by the unit that defines it."""
    assert p.resource is not None
    m = _NOTHING_DECLARED_RE.search(p.message)
    if m is None:
        return
    rest = p.message[:m.start()] + p.message[m.end():]
    others = _defined_in_other_units(rest, unit, index, (p.resource.name, p.resource.namespace), p.code or "")
    if others:
        p.message = (f"{rest} (unit {', '.join(others[:3])}, applied separately, defines it; "
                     "whether both go to the same cluster is not stated)")


def _defines_gateways(project: Project, plan_: Plan) -> bool:
    """Does the repository define any Gateway (Istio's or the Gateway API's), in any unit?"""
    if plan_.defined_elsewhere:
        return GATEWAY_KEY in plan_.defined_elsewhere
    return any(r.kind == "Gateway" for r in project.resources)


def _alternative(p: Problem, elsewhere: Elsewhere) -> Optional[tuple[Resource, str]]:
    """The first related object of ``p`` that lies in an alternative of the finding's directory
    (a sibling scenario, or a copy chosen from another branch), with its directory; None when
    there is none, or when an object of the finding's own kind that is not an alternative is
    involved too (a conflict with an object applied in every scenario holds in each)."""
    assert p.resource is not None
    here = os.path.dirname(p.resource.source.path.replace(os.sep, "/"))
    found: Optional[tuple[Resource, str]] = None
    for x, _ in p.related:
        there = os.path.dirname(x.source.path.replace(os.sep, "/"))
        if elsewhere.apart(here, there) or (id(x) in elsewhere.copies and diverge(here, there) is not None):
            found = found or (x, there)
        elif x.kind == p.resource.kind and x is not p.resource:
            return None
    return found


def rejection_sample(path: str) -> bool:
    """Is ``path`` a manifest that exists to be refused (docs/semantics.md §policy-samples)?
    A policy engine's negative sample, ``example_disallowed*.yaml`` beside the ``constraint.yaml``
    it must violate (the Gatekeeper library's layout, copied into GitOps repositories with the
    constraints), or a test input whose file name says it is invalid: a word of the name
    (split at ``-``, ``_`` and ``.``) is ``invalid`` or ``malformed`` (``invalid.yaml``,
    ``malformed-rollout.yaml``, ``route-single-invalid-host.yaml``)."""
    base = os.path.basename(path)
    if not base.endswith((".yaml", ".yml")):
        return False
    if base.startswith("example_disallowed"):
        return os.path.isfile(os.path.join(os.path.dirname(path), "constraint.yaml"))
    words = re.split(r"[-_.]", base.rsplit(".", 1)[0].lower())
    return not _NEGATIVE_WORDS.isdisjoint(words)


# Words of a file name that mark a deliberately invalid test input.
_NEGATIVE_WORDS = frozenset({"invalid", "malformed"})


def definitions(units: list[Unit], projects: list[Project]) -> dict[str, set[str]]:
    """``key -> unit names`` for what each unit defines: ``name.namespace`` and
    ``namespace/name`` of every resource, ``svc:name.namespace`` of its Services and the hosts
    of its ServiceEntries, ``dr:name.namespace`` of the cluster hosts of its DestinationRules."""
    out: dict[str, set[str]] = defaultdict(set)
    for unit, project in zip(units, projects, strict=False):
        for r in project.resources:
            out[f"{r.name}.{r.namespace}"].add(unit.name)
            for key in _app_names(r):
                out[key].add(unit.name)
            out[f"{r.namespace}/{r.name}"].add(unit.name)
            if not r.namespace_explicit and r.kind in ("Service", "ServiceEntry", "Gateway", "ServiceAccount"):
                out[f"{r.name}.*"].add(unit.name)
            if r.kind == "Service":
                out[f"svc:{r.name}.{r.namespace}"].add(unit.name)
                # what a wildcard host over a namespace covers (a namespace-less Service: any)
                out[f"svcns:{r.namespace if r.namespace_explicit else '*'}"].add(unit.name)
            if r.kind == "Gateway":
                out[GATEWAY_KEY].add(unit.name)
            if r.kind == "DestinationRule" and isinstance(r.spec.get("host"), str):
                parts = r.spec["host"].split(".")
                if len(parts) == 1 or len(parts) == 2 or parts[2] == "svc":
                    out[f"dr:{parts[0]}.{parts[1] if len(parts) > 1 else r.namespace}"].add(unit.name)
            if r.kind == "ServiceEntry":
                for h in r.spec.get("hosts") or []:
                    if isinstance(h, str):
                        out[h].add(unit.name)
                        out[f"svc:{h}"].add(unit.name)
            labels = _workload_labels(r)
            if labels:
                token = f"{unit.name}\0{r.kind}/{r.namespace}/{r.name}"
                ns = r.namespace if r.namespace_explicit else "*"
                for k, v in labels.items():
                    out[f"pod:{ns}:{k}={v}"].add(token)
                    out[f"pod::{k}={v}"].add(token)  # any namespace (Gateway selectors)
        for _kind, ns, name, _path in opaque.custom_resources(project):  # §operator-services
            out[f"cr:{ns or '*'}:{name}"].add(unit.name)
    return dict(out)


def _workload_labels(r: Resource) -> dict[str, str]:
    """The labels a selector sees on what ``r`` runs (pod template, WorkloadEntry, the entries
    a WorkloadGroup registers); empty for anything else."""
    if isinstance(r, WorkloadController):
        return r.pod.labels
    if isinstance(r, WorkloadEntry):
        return r.endpoint.labels
    if isinstance(r, WorkloadGroup):
        return r.template.labels
    return {}


# The key of definitions() under which the units that define a Gateway are listed.
GATEWAY_KEY = "kind:Gateway"

def _selected_in_other_units(p: Problem, unit: Unit, index: dict[str, set[str]]) -> list[str]:
    """Units other than ``unit`` that deploy a workload the finding's selector matches: in the
    selecting resource's namespace (a namespace-less workload goes to whatever namespace it is
    applied in), any namespace for a Gateway (docs/semantics.md §cross-unit-selection)."""
    res = p.resource
    assert res is not None
    sel = opaque.finding_selector(res)
    if not sel:
        return []
    spaces = [""] if res.kind == "Gateway" else [res.namespace, "*"]
    return _units_with_pods(index, sel, spaces, unit)


def _units_with_pods(index: dict[str, set[str]], sel: dict[str, str], spaces: list[str], unit: Unit) -> list[str]:
    """Units other than ``unit`` with a pod template, in one of ``spaces``, that carries every
    label pair of ``sel`` (``index``: :func:`definitions`)."""
    found: set[str] = set()
    for ns in spaces:
        tokens: set[str] | None = None
        for k, v in sel.items():
            have = index.get(f"pod:{ns}:{k}={v}", set())
            tokens = set(have) if tokens is None else tokens & have
            if not tokens:
                break
        found.update(t.split("\0", 1)[0] for t in tokens or ())
    found.discard(unit.name)
    return sorted(found)


def _subset_endpoints_in_other_units(p: Problem, unit: Unit, project: Project,
                                     index: dict[str, set[str]]) -> list[str]:
    """Units other than ``unit`` that deploy a workload of the DestinationRule's service (the
    unit's Service selector) carrying the labels of the subset IVL107 finds empty: in a
    multicluster mesh the other cluster's directory runs that version, and the endpoints of
    every cluster are the service's (docs/semantics.md §cross-unit-selection)."""
    res = p.resource
    assert res is not None
    subsets = as_list(res.spec.get("subsets")) if isinstance(res.spec, dict) else []
    if len(p.path) < 3 or p.path[:2] != ("spec", "subsets") or not isinstance(p.path[2], int) \
            or p.path[2] >= len(subsets) or not isinstance(subsets[p.path[2]], dict):
        return []
    labels = subsets[p.path[2]].get("labels")
    m = _HOST_NS_RE.search(p.message.split("; ", 1)[0].split(" endpoint(s) of ", 1)[-1])
    if not isinstance(labels, dict) or not labels or m is None:
        return []
    name, ns = m.group(1), m.group(2)
    svc = next((r for r in project.resources if isinstance(r, Service) and r.name == name and r.namespace == ns), None)
    if svc is None or not svc.selector:
        return []
    sel = {**svc.selector, **{str(k): str(v) for k, v in labels.items()}}
    return _units_with_pods(index, sel, [ns, "*"], unit)


_QUOTED_RE = re.compile(r"'([^'\s]+)'")


def _defined_in_other_units(message: str, unit: Unit, index: dict[str, set[str]],
                            own: tuple[str, str] = ("", ""), code: str = "") -> list[str]:
    # The hosts the finding is about (its first clause: hints such as "did you mean" follow).
    hosts = [(m.group(1), m.group(2)) for m in _HOST_NS_RE.finditer(message.split("; ", 1)[0])]
    if any(unit.name in index.get(f"svc:{n}.{ns}", ()) for n, ns in hosts):
        return []  # the unit defines the service itself: the finding is about its own copy
    # Neither the reporting resource itself (a copy of it elsewhere defines nothing it lacks) nor
    # the near miss a selector finding names ("; nearest: Deployment ns/x has ...") is the
    # missing end of the reference.
    message = message.split("; nearest: ", 1)[0]
    # Nor is a "did you mean" suggestion: it names what does exist (in this unit too, when a
    # shared path defines it), not the missing end.
    message = message.split("; did you mean ", 1)[0]
    # A host is defined by a Service of that name and namespace (a subset, IVL108, by a
    # DestinationRule for the host), not by any object that happens to share the name.
    kind = "dr" if code == "IVL108" else "svc"
    keys = ([f"{kind}:{m.group(1)}.{m.group(2)}" for m in _HOST_NS_RE.finditer(message)]
            # an operator's custom resource named like the Service, or a prefix of it (§operator-services)
            + [f"cr:{ns}:{prefix}" for n, ns in hosts if kind == "svc" for prefix in _name_prefixes(n)]
            + [f"cr:*:{prefix}" for n, _ in hosts if kind == "svc" for prefix in _name_prefixes(n)]
            + [f"{m.group(2)}.{m.group(1)}" for m in _NS_NAME_RE.finditer(message) if (m.group(2), m.group(1)) != own]
            + _QUOTED_RE.findall(message))
    # A namespace-less Service or Gateway elsewhere goes to whatever namespace it is applied in.
    keys += [f"{n}.*" for n, _ in hosts]
    # A wildcard host over a namespace (`*.shop.svc.cluster.local`) covers another unit's
    # Services there, or its namespace-less ones applied there.
    for m in _WILD_NS_RE.finditer(message.split("; ", 1)[0]):
        keys += [f"svcns:{m.group(1)}", "svcns:*"]
    found: set[str] = set()
    for k in keys:
        found.update(u for u in index.get(k, ()) if u != unit.name)
    return sorted(found)


def _name_prefixes(name: str) -> list[str]:
    """``a-b-c`` -> ``a-b-c``, ``a-b``, ``a``: the names of a resource whose operator may name a
    Service ``name`` (``<resource>[-<suffix>]``); at least three characters."""
    parts = name.split("-")
    return [p for p in ("-".join(parts[:i]) for i in range(len(parts), 0, -1)) if len(p) >= 3]


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
    # A Gateway server host for another namespace's routes (`bookinfo/*`) admits namespace-less
    # VirtualServices applied there (`kubectl apply -n bookinfo`).
    if assumed_involved and any(ns != res.namespace for ns in _NS_WILD_HOST_RE.findall(p.message)):
        return True
    assumed = _assumed_names(project)
    if any(name in assumed and ns != settings.default_namespace for name, ns in named):
        return True
    # A wildcard host over another namespace (`*.tutorial.svc.cluster.local`) would cover the
    # namespace-less Services if they were applied there (`kubectl apply -n tutorial`).
    wild = _WILD_NS_RE.search(p.message.split("; ", 1)[0])
    return wild is not None and wild.group(1) != settings.default_namespace and any(
        r.kind in ("Service", "ServiceEntry") and not r.namespace_explicit for r in project.resources)


def _file_names_its_namespace(p: Problem, project: Project, settings: Settings) -> Optional[str]:
    """Is the finding about a short host expanded in the assumed namespace (``helloworld`` ->
    ``helloworld.default.svc``) while a namespace-less manifest of the same file names that
    service in another namespace (``host: helloworld.sample.svc.cluster.local``)?  Then the file
    was written for that namespace and is applied there (``kubectl apply -n sample``).  Returns
    the host that names it."""
    res = p.resource
    assert res is not None
    if res.namespace_explicit or res.kind == "Namespace":
        return None
    names = {m.group(1) for m in _HOST_NS_RE.finditer(p.message.split("; ", 1)[0]) if m.group(2) == res.namespace}
    if not names:
        return None
    suffix = f".svc.{settings.cluster_domain}"
    for r in project.resources:
        if r.source is not res.source or r.namespace_explicit:
            continue
        for text in _strings(r.spec):
            if text.endswith(suffix):
                parts = text[: -len(suffix)].split(".")
                if len(parts) == 2 and parts[0] in names and parts[1] != res.namespace:
                    return text
    return None


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


_WILD_NS_RE = re.compile(r"'\*\.([a-z0-9-]+)\.svc\.")
_NS_WILD_HOST_RE = re.compile(r"'([a-z0-9][a-z0-9-]*)/\*")


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


