"""IVL5xx hosts and references: names that resolve to nothing visible.

All resolution comes from the graph (``lint/graph.py``): short names expand against the
*referencing* rule's namespace, ServiceEntry hosts are verbatim, exportTo is honoured.

Certainty (issue: "be precise about what the repo can know"): a repository is often a slice
of the mesh.  A missing host is reported

* as an error when it is a cluster-local name in a namespace the repository declares
  resources in (the repo owns that namespace, so the service should be here);
* as info when it points into a namespace the repository says nothing about;
* as a warning for other DNS names with no ServiceEntry;
* never when it matches ``external-hosts`` or lies in ``external-namespaces`` (config/CLI).
"""

from __future__ import annotations

import fnmatch
from typing import Iterator, Optional

from istio_vm_lint.defaults import ADDON_SERVICES
from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import (
    MeshGraph,
    MeshService,
    cluster_namespace,
    host_matches,
    hosts_overlap,
    installation_service,
    parse_gateway_ref,
    visible,
)
from istio_vm_lint.model import DestinationRule, Gateway, Sidecar, VirtualService, as_list
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._closematch import CloseMatcher
from istio_vm_lint.semantics import dr_host, export_scopes, in_scope_of


def _declared_external(ctx: Context, host: str) -> bool:
    if not isinstance(host, str):
        return _is_declared_external(ctx, host)
    known: dict[str, bool] = ctx.memo("hosts.declared-external", dict)  # by host, once per run
    hit = known.get(host)
    if hit is None:
        hit = known[host] = _is_declared_external(ctx, host)
    return hit


def _is_declared_external(ctx: Context, host: str) -> bool:
    s = ctx.settings
    for pat in s.external_hosts:
        if fnmatch.fnmatchcase(host, pat) or host_matches(pat, host):
            return True
    if installation_service(host, s.cluster_domain, ctx.root_namespace):
        return True  # istiod and the stock gateways' Services come with every installation
    ns = cluster_namespace(host, s.cluster_domain)
    return ns is not None and ns in s.external_namespaces



def _missing_severity(graph: MeshGraph, host: str, domain: str) -> Optional[str]:
    """error / info / warning as described in the module docstring."""
    ns = cluster_namespace(host, domain)
    if ns is not None:
        return "error" if ns in graph.namespaces and not _addon(host, ns) else "info"
    return "warning"


def _addon(host: str, ns: str) -> bool:
    """A Service of Istio's addons in istio-system (§istio-addons)."""
    return ns == "istio-system" and host.split(".", 1)[0] in ADDON_SERVICES


# How the rules of this module choose a severity from what the repository can know (shown by
# `rules`/`explain`), and why a finding was lowered (appended to its message).
SEVERITY_BY_KNOWLEDGE = (
    "{default} when the missing host is a cluster-local name (`<name>.<namespace>.svc.<domain>`, "
    "or a short name) in a namespace the repository declares resources in; info when it points "
    "into a namespace the repository says nothing about or only routes in (no Service, ServiceEntry "
    "or workload there: §routing-only-namespaces), as it may be defined elsewhere, or names a "
    "Service of Istio's addons in istio-system (kiali, grafana, prometheus, tracing...: §istio-addons); warning "
    "for any other DNS name no ServiceEntry defines (it may be declared outside this repository). "
    "Hosts and namespaces in `external-hosts` / `external-namespaces` are never reported.")


def _lowered(severity: Optional[str], default: str, host: str, domain: str) -> str:
    """Why this finding's severity is below the rule's ``default`` ("" when it is not)."""
    if severity in (None, default):
        return ""
    ns = cluster_namespace(host, domain)
    if severity == "info" and ns is not None and _addon(host, ns):
        return (f" (info, not {default}: '{host.split('.', 1)[0]}' is a Service of Istio's addons "
                "(samples/addons), usually installed from Istio's release rather than this repository; list "
                "the host in external-hosts if it is)")
    if severity == "info" and ns is not None:
        return (f" (info, not {default}: the repository declares nothing in namespace '{ns}', so the host may be "
                "defined elsewhere; list the namespace in external-namespaces if it is)")
    if severity == "info":
        return (f" (info, not {default}: the repository declares nothing in that namespace, so it may be defined "
                "elsewhere; list the namespace in external-namespaces if it is)")
    return (f" ({severity}, not {default}: '{host}' is not a cluster-local name, so a ServiceEntry for it may live "
            "outside this repository; list it in external-hosts if it does)")


class _HostIndex:
    """The graph's hosts, indexed once per run for the hints (ctx.memo) instead of sorted and
    scanned again for every finding (difflib still compares a host with every defined one)."""

    def __init__(self, graph: MeshGraph) -> None:
        hosts = [h for h in graph.services_by_host if not h.startswith("*")]
        self.svc_prefix: dict[str, str] = {}  # 'a.b' -> the first host 'a.b.svc.<rest>'
        for h in graph.services_by_host:
            if ".svc." in h:
                self.svc_prefix.setdefault(h.split(".svc.", 1)[0], h)
        self.by_short: dict[str, list[MeshService]] = {}  # first label -> services, in graph order
        for s in graph.services:
            self.by_short.setdefault(s.host.split(".")[0], []).append(s)
        self.hosts = sorted(hosts)
        self.short: dict[str, list[str]] = {}  # first label -> cluster hosts ('.svc.'), sorted
        for h in self.hosts:
            if ".svc." in h:
                self.short.setdefault(h.split(".")[0], []).append(h)
        # difflib over the hosts and over the short names, each built when a hint first needs it
        self.host_matcher: Optional[CloseMatcher] = None
        self.short_matcher: Optional[CloseMatcher] = None


def _host_index(ctx: Context) -> _HostIndex:
    graph = ctx.graph
    return ctx.memo("hosts.host-index", lambda: _HostIndex(graph))


def _closest_host(ctx: Context, resolved: str, written: str) -> Optional[str]:
    """The host the repository defines that is closest to one that matches nothing (typos):
    difflib's closest match (cutoff 0.85) among the hosts other than ``resolved``, else the
    short name's (0.8) among the short names defined (rules/_closematch.py, same answers)."""
    idx = _host_index(ctx)
    if idx.host_matcher is None:
        idx.host_matcher = CloseMatcher(idx.hosts)
    close = idx.host_matcher.best(resolved, 0.85, exclude=resolved)
    if close is None and written != resolved:  # short name: compare with the short names defined
        # each short name stands for the last (sorted) of its hosts other than ``resolved``;
        # a short name whose only host is ``resolved`` is no candidate
        alone = resolved.split(".")[0] if idx.short.get(resolved.split(".")[0]) == [resolved] else None
        if idx.short_matcher is None:
            idx.short_matcher = CloseMatcher(idx.short)
        near = idx.short_matcher.best(written, 0.8, exclude=alone)
        if near is not None:
            hs = idx.short[near]
            close = hs[-1] if hs[-1] != resolved else hs[-2]
    return close


def _did_you_mean(ctx: Context, resolved: str, written: str) -> str:
    close = _closest_host(ctx, resolved, written)
    return f"; did you mean '{close}'?" if close else ""


def _hint(ctx: Context, written: str, resolved: str, viewer_ns: str) -> str:
    """Explain the classic near misses: dotless ServiceEntry hosts, partial names, exportTo."""
    graph = ctx.graph
    hidden = graph.lookup(resolved, None)
    if hidden:
        s = hidden[0]
        return (f"; {s.kind} {s.namespace}/{s.resource.name} defines it but exportTo {list(s.export_to)} "
                f"hides it from namespace '{viewer_ns}' (§exportto)")
    verbatim = graph.services_by_host.get(written)
    if verbatim and written != resolved:
        s = verbatim[0]
        return (f"; {s.kind} {s.namespace}/{s.resource.name} has host '{written}', but ServiceEntry hosts are "
                f"taken verbatim while '{written}' here means '{resolved}' — use a fully-qualified host in both "
                "(docs/semantics.md §host-resolution)")
    idx = _host_index(ctx)
    if "." in written and "svc" not in written:
        candidate = idx.svc_prefix.get(written)  # 'written' has no 'svc': its '.svc.' comes right after it
        if candidate is not None:
            return (f"; did you mean '{candidate}'? A dotted name is used verbatim, there is no partial "
                    "expansion (§host-resolution)")
    short = written.split(".")[0]
    others = [s for s in idx.by_short.get(short, ()) if s.host != resolved]
    if others:
        s = others[0]
        return f"; did you mean '{s.host}' ({s.kind} {s.namespace}/{s.resource.name})?"
    return _did_you_mean(ctx, resolved, written)


@rule(
    code="IVL501", family="hosts", name="destination-host-not-found", severity="error",
    severity_note=SEVERITY_BY_KNOWLEDGE.format(default="error"),
    summary="A VirtualService routes (or mirrors) to a host that no visible ServiceEntry or Service defines.",
    rationale="""
    Istio drops traffic forwarded to destinations found in neither registry (api:vs,
    docs/semantics.md §destination-port). Hosts resolve as Istio does (§host-resolution): a short name expands against
    the VirtualService's namespace, a dotted name is verbatim (no partial expansion), and
    ServiceEntry hosts are never expanded — so a dotless ServiceEntry host can never be
    reached by short name, which `istioctl analyze` misses because it expands them (§host-resolution, §istioctl-analyze). exportTo is honoured (§exportto). A host in a namespace the repository says
    nothing about is reported as info only; declare hosts and namespaces managed elsewhere
    with `external-hosts` / `external-namespaces` (or `--external-host`).
    """,
    bad="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      http:
      - route:
        - destination:
            host: whoami   # means whoami.vm.svc.cluster.local: nothing has that name
    """,
    good="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      hosts: [whoami.example.internal]
      http:
      - route:
        - destination:
            host: whoami.example.internal   # the ServiceEntry's host, verbatim
    """,
    inputs=("VirtualService",),
    equivalents=("IST0101:virtualservice.DestinationHostAnalyzer", "KIA1101"),
    references=("docs/semantics.md §host-resolution", "docs/semantics.md §exportto", "docs/semantics.md §istioctl-analyze",
                "docs/semantics.md §istio-addons"),
)
def destination_host_not_found(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    for vs in ctx.each(VirtualService):
        viewers = sorted(export_scopes([e for e in vs.export_to if e != "*"], vs.namespace) or ())  # named ones
        for d in graph.destinations(vs):
            if d.host == "*" or _declared_external(ctx, d.host):
                continue
            # A route only gateways apply runs in the gateway pods, which see hosts from their own
            # namespace: a host defined somewhere is IVL510's business there (§egress-gateway-hops).
            at_gateways_only = "mesh" not in vs.destinations[d.dest_index].gateways
            if at_gateways_only and graph.lookup(d.host, None):
                continue
            if d.services:
                # The route applies to clients in the namespaces the VS is exported to: the
                # destination must be visible there too (§exportto).
                blind = [ns for ns in viewers if ns != vs.namespace and not graph.lookup(d.host, ns)]
                if blind:
                    s = d.services[0]
                    yield Problem(vs, d.path + ("host",), f"VirtualService {vs.namespace}/{vs.name} is exported to "
                                  f"{blind} but its destination '{d.host}' ({s.kind} {s.namespace}/{s.resource.name}, "
                                  f"exportTo {list(s.export_to)}) is not visible there, so those clients' traffic is dropped",
                                  related=((s.resource, s.host_path),))
                continue
            severity = _missing_severity(graph, d.host, domain)
            written = vs.destinations[d.dest_index].host
            shown = f"'{written}'" + (f" (resolves to '{d.host}')" if written != d.host else "")
            what = "mirror" if vs.destinations[d.dest_index].is_mirror else "destination"
            msg = (f"VirtualService {vs.namespace}/{vs.name}: {what} host {shown} matches no ServiceEntry or "
                   f"Service visible from namespace '{vs.namespace}'{_hint(ctx, written, d.host, vs.namespace)}"
                   f"{_lowered(severity, 'error', d.host, domain)}")
            related = []
            hidden = graph.lookup(d.host, None)
            if hidden:
                related.append((hidden[0].resource, hidden[0].host_path))
            yield Problem(vs, d.path + ("host",), msg, related=tuple(related), severity=severity)


@rule(
    code="IVL502", family="hosts", name="destination-rule-host-not-found", severity="warning",
    severity_note="warning (the rule is ignored; traffic still flows) when the host is a cluster-local name in a namespace the repository declares resources in, or any other DNS name no ServiceEntry defines; info when it points into a namespace the repository says nothing about (it may be defined elsewhere; list it in `external-namespaces`).",
    summary="A DestinationRule's host matches no ServiceEntry or Service, so the rule is ignored.",
    rationale="""
    "Rules defined for services that do not exist in the service registry will be ignored"
    (api:dr, docs/semantics.md §host-resolution). The host resolves against the DestinationRule's own
    namespace (§host-resolution): a short name means `<name>.<dr namespace>.svc.<domain>`, a dotted name is
    verbatim. Wildcard hosts are fine when they cover at least one service or are declared
    external. Same certainty levels as IVL501.
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: whoami, namespace: vm}
    spec:
      host: whoami.vm    # no partial expansion: not whoami.vm.svc.cluster.local
    """,
    good="""
    kind: DestinationRule
    metadata: {name: whoami, namespace: vm}
    spec:
      host: whoami.vm.svc.cluster.local
    """,
    inputs=("DestinationRule",),
    equivalents=("IST0174", "KIA0202"),
    references=("docs/semantics.md §host-resolution", "docs/semantics.md §destinationrule-lookup",
                "docs/semantics.md §istio-addons"),
)
def destination_rule_host_not_found(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    domain = ctx.settings.cluster_domain
    for dr in ctx.each(DestinationRule):
        if not dr.host:
            continue
        host = dr_host(dr, domain)
        if host == "*" or _declared_external(ctx, host):
            continue
        if host.startswith("*") and host_matches(host, f"any.any.svc.{domain}"):
            continue  # e.g. "*.local": covers cluster services the repository need not contain
        if graph.lookup(host, None):
            continue
        sev = _missing_severity(graph, host, domain)
        if sev == "error":
            sev = "warning"
        shown = f"'{dr.host}'" + (f" (resolves to '{host}')" if host != dr.host else "")
        yield Problem(dr, ("spec", "host"),
                      f"DestinationRule {dr.namespace}/{dr.name}: host {shown} matches no ServiceEntry or Service, "
                      f"so the rule is ignored{_hint(ctx, dr.host, host, dr.namespace)}"
                      f"{_lowered(sev, 'warning', host, domain)}", severity=sev)


@rule(
    code="IVL503", family="hosts", name="gateway-not-found", severity="error",
    severity_note="error when the Gateway's namespace is one the repository declares resources in; info when the repository says nothing about that namespace (the Gateway may be defined elsewhere; list it in `external-namespaces`), or defines no Gateway at all (a platform's shared gateway, §platform-gateways).",
    summary="A VirtualService binds to a Gateway that does not exist.",
    rationale="""
    `gateways` entries name Gateways as `name` (VirtualService namespace), `ns/name`, `./name`
    or the legacy `name.ns[.svc.<domain>]` (`resolveGatewayName`, docs/semantics.md §gateway-references);
    `mesh` is reserved. A reference to a Gateway that does not exist binds the routes
    nowhere. Unlike `istioctl analyze`, `./name` and the dotted forms are understood (§gateway-references, §istioctl-analyze). A Gateway in a namespace the repository says nothing about is reported
    as info, and so is any Gateway of a repository that defines none (a platform's shared
    gateway, docs/semantics.md §platform-gateways).
    """,
    bad="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      gateways: [whoami-gw]          # looked up as vm/whoami-gw
    """,
    good="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      gateways: [istio-system/whoami-gw]
    """,
    inputs=("VirtualService",),
    equivalents=("IST0101:virtualservice.GatewayAnalyzer", "KIA1102"),
    references=("docs/semantics.md §gateway-references", "docs/semantics.md §platform-gateways"),
)
def gateway_not_found(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        for path, ref in _gateway_ref_paths(vs):
            if INTERNAL_GATEWAY_MARK in ref:
                continue  # IVL507
            ns, name = parse_gateway_ref(ref, vs.namespace, ctx.settings.cluster_domain)
            if (ns, name) in graph.gateways or (ns, name) in ctx.gateway_api:
                continue
            if ns in ctx.settings.external_namespaces:
                continue
            if f"{ns}/{name}" in ctx.settings.external_hosts:
                continue
            sev = "error" if ns in graph.namespaces else "info"
            why = "" if sev == "error" else (
                f" (info, not error: the repository declares nothing in namespace '{ns}', so the Gateway may be "
                "defined elsewhere; list the namespace in external-namespaces if it is)")
            near = _near_gateway(graph, ns, name)
            yield Problem(vs, path, f"VirtualService {vs.namespace}/{vs.name}: gateway '{ref}' refers to Gateway "
                          f"{ns}/{name}, which does not exist{near}{why}", severity=sev)


def _near_gateway(graph: MeshGraph, ns: str, name: str) -> str:
    """``; did you mean 'istio-system/whoami-gateway'?`` from the Gateways the repository defines."""
    import difflib

    known = sorted(f"{g_ns}/{g_name}" for g_ns, g_name in graph.gateways)
    close = difflib.get_close_matches(f"{ns}/{name}", known, n=1, cutoff=0.8)
    if not close:  # the right name in another namespace
        close = sorted(k for k in known if k.split("/", 1)[1] == name)[:1]
    return f"; did you mean '{close[0]}'?" if close else ""


def _gateway_ref_paths(vs: VirtualService, bound_only: bool = False) -> list[tuple[tuple, str]]:
    """Every Gateway reference of a VirtualService with its path; ``bound_only`` leaves out the
    match entries its top-level gateways do not bind (they bind nothing: §match-gateways, IVL511)."""
    out: list[tuple[tuple, str]] = []
    bound = {parse_gateway_ref(g, vs.namespace, "") for g in vs.gateways if g != "mesh"}
    for i, g in enumerate(as_list(vs.spec.get("gateways"))):
        if isinstance(g, str) and g != "mesh":
            out.append((("spec", "gateways", i), g))
    for kind in ("http", "tls", "tcp"):
        for ri, route in enumerate(as_list(vs.spec.get(kind))):
            if not isinstance(route, dict):
                continue
            for mi, m in enumerate(as_list(route.get("match"))):
                if isinstance(m, dict):
                    for gi, g in enumerate(as_list(m.get("gateways"))):
                        if isinstance(g, str) and g != "mesh" and (
                                not bound_only or parse_gateway_ref(g, vs.namespace, "") in bound):
                            out.append((("spec", kind, ri, "match", mi, "gateways", gi), g))
    return out


INTERNAL_GATEWAY_MARK = "~istio-autogenerated-k8s-gateway~"


def server_admits(server_host: str, vs_ns: str, gw_ns: str) -> Optional[str]:
    """The host pattern of a Gateway server host if it admits VirtualServices from ``vs_ns`` (§gateway-server-hosts)."""
    if "/" in server_host:
        ns, _, pattern = server_host.partition("/")
        if in_scope_of(ns, gw_ns, vs_ns):
            return pattern
        return None
    return server_host


@rule(
    code="IVL504", family="hosts", name="host-not-admitted-by-gateway", severity="error",
    summary="None of a VirtualService's hosts is admitted by the Gateway it binds to.",
    rationale="""
    A VirtualService binds to a Gateway server only when its namespace is admitted by the
    server host's namespace prefix (`ns/`, `./` = the Gateway's own namespace, `*/` or none)
    **and** one of its hosts equals or falls within one of the server hosts (api:gw,
    docs/semantics.md §gateway-server-hosts). Otherwise the routes never reach the gateway. Equivalent to
    `istioctl analyze` IST0132, with the `./` prefix interpreted as Istio's code does.
    """,
    bad="""
    kind: Gateway
    metadata: {name: gw, namespace: istio-system}
    spec:
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["shop/*.example.com"]
    ---
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}   # namespace vm is not admitted
    spec:
      hosts: [whoami.example.com]
      gateways: [istio-system/gw]
    """,
    good="""
    kind: Gateway
    metadata: {name: gw, namespace: istio-system}
    spec:
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["vm/*.example.com"]
    """,
    inputs=("VirtualService", "Gateway"),
    equivalents=("IST0132",),
    references=("docs/semantics.md §gateway-server-hosts",),
)
def host_not_admitted(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        if not vs.hosts:
            continue  # delegate VirtualService
        seen: set[tuple[str, str]] = set()  # once per Gateway: at its top-level entry, listed first
        for path, ref in _gateway_ref_paths(vs, bound_only=True):
            ns, name = parse_gateway_ref(ref, vs.namespace, ctx.settings.cluster_domain)
            if (ns, name) in seen:
                continue
            seen.add((ns, name))
            listeners = ctx.gateway_api.get((ns, name))
            if listeners is not None:
                # Gateway API Gateway: a listener without hostname admits every host.
                if any(h is None or hosts_overlap(h, vh) for h in listeners for vh in vs.hosts):
                    continue
                yield Problem(vs, path, f"VirtualService {vs.namespace}/{vs.name}: none of its hosts {vs.hosts} "
                              f"matches a listener hostname of Gateway {ns}/{name} "
                              f"({sorted(h for h in listeners if h)})")
                continue
            gw = graph.gateways.get((ns, name))
            if gw is None or not isinstance(gw, Gateway):
                continue
            patterns = [p for s in gw.servers for h in s.hosts
                        if (p := server_admits(h, vs.namespace, gw.namespace)) is not None]
            if any(hosts_overlap(p, h) for p in patterns for h in vs.hosts):
                continue
            all_hosts = sorted({h for s in gw.servers for h in s.hosts})
            yield Problem(vs, path, f"VirtualService {vs.namespace}/{vs.name}: none of its hosts "
                          f"{vs.hosts} is admitted by Gateway {gw.namespace}/{gw.name} (server hosts {all_hosts}) "
                          f"for namespace '{vs.namespace}'", related=((gw, ("spec", "servers")),))


STOCK_GATEWAY_NAMESPACE = "istio-system"  # where istioctl installs the stock ingress/egress gateways


def _stock_selector(sel: dict[str, str]) -> bool:
    return bool(sel) and all(k in ("istio", "app") and v in (
        "ingressgateway", "egressgateway", "eastwestgateway", "istio-ingressgateway", "istio-egressgateway",
        "istio-eastwestgateway") for k, v in sel.items())


@rule(
    code="IVL505", family="hosts", name="virtual-service-not-exported-to-gateway", severity="error",
    summary="A gateway-bound VirtualService is not exported to the namespace where the gateway's pods run.",
    rationale="""
    A gateway proxy is configured with the VirtualServices visible from *its own* namespace,
    the namespace of the gateway pods, not the namespace of the Gateway resource (istiod builds
    a gateway's routes from the VirtualServices its proxy can see, docs/semantics.md
    §gateway-pod-namespace). A VirtualService bound to a Gateway whose `exportTo` leaves out the
    gateway pods' namespace never reaches those proxies: its routes silently do not exist there
    (404 from the gateway). When the gateway workloads are in the repository (pod templates the
    Gateway selects) their namespaces are checked: an error when no gateway pod sees the
    VirtualService, a warning when some do not. When they are not, the pods are assumed to run
    in the Gateway's namespace, or in `istio-system` for the stock selectors
    (`istio: ingressgateway` …); the finding is then a warning, and info when `exportTo` names
    another namespace explicitly (it may well be the gateway pods').
    """,
    bad="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      exportTo: ["."]
      gateways: [istio-system/gw]   # the ingress gateway pods run in istio-system
    """,
    good="""
    kind: VirtualService
    metadata: {name: whoami, namespace: vm}
    spec:
      exportTo: [".", istio-system]
      gateways: [istio-system/gw]
    """,
    inputs=("VirtualService",),
    references=("docs/semantics.md §gateway-pod-namespace", "docs/semantics.md §exportto"),
)
def not_exported_to_gateway(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        if "exportTo" not in vs.spec:
            continue
        export = list(vs.export_to)
        for _, ref in _gateway_ref_paths(vs, bound_only=True):
            ns, name = parse_gateway_ref(ref, vs.namespace, ctx.settings.cluster_domain)
            gw = graph.gateways.get((ns, name))
            sel = gw.selector if isinstance(gw, Gateway) else None
            pods = graph.select_any_namespace(sel, ("Pod",)) if sel else []
            pod_ns = sorted({w.namespace for w in pods})
            if pod_ns:
                hidden = [n for n in pod_ns if not visible(export, vs.namespace, n)]
                if not hidden:
                    continue
                first = next(w for w in sorted(pods, key=lambda w: w.resource.sort_key) if w.namespace in hidden)
                yield Problem(vs, ("spec", "exportTo"),
                              f"VirtualService {vs.namespace}/{vs.name} binds to Gateway {ns}/{name}, whose pods "
                              f"({first.resource.kind} {first.namespace}/{first.resource.name}"
                              f"{' and others' if len(pods) > 1 else ''}) run in namespace(s) "
                              f"{', '.join(repr(n) for n in hidden)}, but exportTo {export} does not include "
                              f"{'it' if len(hidden) == 1 else 'them'}: those gateway proxies never get its routes",
                              related=((first.resource, first.labels_path),),
                              severity="error" if len(hidden) == len(pod_ns) else "warning")
                break
            assumed = [ns] + ([STOCK_GATEWAY_NAMESPACE] if sel and _stock_selector(sel) else [])
            if any(visible(export, vs.namespace, n) for n in assumed):
                continue
            elsewhere = any(e not in (".", "*", "~", vs.namespace) for e in export)
            where = " or ".join(repr(n) for n in dict.fromkeys(assumed))
            yield Problem(vs, ("spec", "exportTo"),
                          f"VirtualService {vs.namespace}/{vs.name} binds to Gateway {ns}/{name} but exportTo {export} "
                          f"does not include {where}; the gateway's pods are not in the repository and are assumed to "
                          f"run there (a gateway sees the VirtualServices exported to its pods' namespace): if they "
                          f"do, they never get its routes",
                          severity="info" if elsewhere else "warning")
            break


def _misspelt_namespace(ctx: Context, ns: str, defining: set[str]) -> Optional[str]:
    """The namespace of ``defining`` that ``ns`` (declared nowhere) misspells, by IVL128's test."""
    from istio_vm_lint.rules.sidecar_namespaces import misspells

    if ns in ctx.settings.external_namespaces:
        return None
    return next((d for d in sorted(defining) if misspells(ns, d, ctx.root_namespace)), None)


@rule(
    code="IVL506", family="hosts", name="sidecar-egress-host-not-found", severity="warning",
    severity_note="warning when the egress host's namespace is one the repository declares resources in, or a misspelling of the namespace that defines the host; info when the repository says nothing about that namespace (list it in `external-namespaces`).",
    summary="A Sidecar egress host names a specific service that does not exist in that namespace.",
    rationale="""
    Sidecar `egress.hosts` entries are `namespace/dnsName`; a specific (non-wildcard) name that
    matches no ServiceEntry or Service in that namespace imports nothing, so the workload has
    no route to the service it was meant to reach (api:sidecar, docs/semantics.md §exportto). Wildcards (`*/*`, `./*`, `ns/*.example.com`) are not checked. Certainty levels as
    IVL501, except that a namespace the repository says nothing about is still a warning when
    the host is defined in a namespace spelt within two edits of it (`catalgo/` for `catalog/`,
    not a sibling such as `team-c` beside `team-a`, the test of IVL128): a misspelt namespace
    part, with which the sidecar imports nothing (§sidecar-import-visibility).
    """,
    bad="""
    kind: Sidecar
    spec:
      egress:
      - hosts: ["vm/whoami.example.internl"]
    """,
    good="""
    kind: Sidecar
    spec:
      egress:
      - hosts: ["vm/whoami.example.internal", "istio-system/*"]
    """,
    inputs=("Sidecar",),
    equivalents=("KIA1004",),
    references=("docs/semantics.md §sidecar-resource", "docs/semantics.md §exportto", "docs/semantics.md §host-resolution"),
)
def sidecar_egress_host(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for sc in ctx.each(Sidecar):
        for host, path in sc.egress_hosts:
            ns, sep, name = host.partition("/")
            if not sep or not name or "*" in name or name == "~":
                continue
            ns = sc.namespace if ns == "." else ns
            if ns in ("*", "~") or _declared_external(ctx, name) or ns in ctx.settings.external_namespaces:
                continue
            services = [s for s in graph.services_by_host.get(name, ()) if s.namespace == ns]
            services += [s for s in graph.wildcard_services if s.namespace == ns and host_matches(s.host, name)]
            if services:
                continue
            sev = "warning" if ns in graph.namespaces else "info"
            elsewhere = graph.services_by_host.get(name)
            hint = f"; it is defined in namespace '{elsewhere[0].namespace}'" if elsewhere else ""
            close = None if hint else _closest_host(ctx, name, name)
            if close:
                hint = f"; did you mean '{graph.services_by_host[close][0].namespace}/{close}'?"
            misspelt = _misspelt_namespace(ctx, ns, {s.namespace for s in elsewhere or ()})
            if sev == "info" and misspelt:
                sev = "warning"
                hint = (f"; did you mean '{misspelt}/{name}'? ('{ns}' is a misspelling of the namespace that defines "
                        "it, and the repository declares nothing in it)")
            if sev == "info":
                hint += (f" (info, not warning: the repository declares nothing in namespace '{ns}', so the host may be "
                         "defined elsewhere; list the namespace in external-namespaces if it is)")
            yield Problem(sc, path, f"Sidecar {sc.namespace}/{sc.name}: egress host '{host}' matches no ServiceEntry or "
                          f"Service in namespace '{ns}'{hint}", severity=sev)


@rule(
    code="IVL507", family="hosts", name="internal-gateway-reference", severity="warning",
    summary="A VirtualService binds to a Gateway that Istio generates internally for the Gateway API.",
    rationale="""
    Names containing `~istio-autogenerated-k8s-gateway~` are Gateways Istio creates from
    Kubernetes Gateway API resources. They are an implementation detail that changes between
    releases; bind to the Gateway API Gateway (or route with HTTPRoute) instead
    (istioctl IST0165, docs/semantics.md §analyzer-gateways).
    """,
    bad="""
    kind: VirtualService
    spec:
      gateways: ["istio-ingress/gateway~istio-autogenerated-k8s-gateway~foo"]
    """,
    good="""
    kind: VirtualService
    spec:
      gateways: ["istio-ingress/gateway"]
    """,
    inputs=("VirtualService",),
    equivalents=("IST0165",),
    references=("docs/semantics.md §analyzer-gateways",),
)
def internal_gateway_reference(ctx: Context) -> Iterator[Problem]:
    for vs in ctx.each(VirtualService):
        for path, ref in _gateway_ref_paths(vs):
            if INTERNAL_GATEWAY_MARK in ref:
                yield Problem(vs, path, f"VirtualService {vs.namespace}/{vs.name} references the implementation-"
                              f"generated internal Gateway '{ref}'")


@rule(
    code="IVL508", family="hosts", name="export-to-unknown-namespace", severity="warning",
    summary="exportTo names a namespace the repository does not declare.",
    rationale="""
    `exportTo` entries other than `.`, `*` and `~` are namespace names (docs/semantics.md §exportto).
    A typo silently hides the object from the namespace that was meant (Kiali KIA0005). The
    check only runs when the repository declares Namespace objects, and accepts any namespace
    the repository declares or uses, or that is listed in `external-namespaces`.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:
      exportTo: [".", "fronted"]     # the namespace is "frontend"
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: whoami, namespace: vm}
    spec:
      exportTo: [".", "frontend"]
    """,
    inputs=("VirtualService", "DestinationRule", "ServiceEntry"),
    equivalents=("KIA0005",),
    references=("docs/semantics.md §kiali-export-namespaces",),
)
def export_to_unknown_namespace(ctx: Context) -> Iterator[Problem]:
    if not ctx.resources("Namespace"):
        return
    known = ctx.graph.namespaces | set(ctx.settings.external_namespaces)
    for r in ctx.each("VirtualService", "DestinationRule", "ServiceEntry"):
        for i, e in enumerate(as_list(r.spec.get("exportTo"))):
            if isinstance(e, str) and e not in (".", "*", "~") and e not in known:
                yield Problem(r, ("spec", "exportTo", i), f"{r.kind} {r.namespace}/{r.name}: exportTo namespace "
                              f"'{e}' is not declared in this repository")
