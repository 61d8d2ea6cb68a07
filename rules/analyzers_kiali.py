"""IVL74x Kiali's pure-configuration checks (docs/semantics.md §kiali), from files alone.

Kiali needs a live cluster; these checks need only the YAML.  Host resolution uses Istio's
rules (``lint/graph.py``) rather than Kiali's looser suffix matching.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import resolve_host, visible
from istio_vm_lint.model import (
    DestinationRule,
    ServiceEntry,
    Sidecar,
    VirtualService,
    WorkloadGroup,
    as_int,
    as_list,
    as_map,
)
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import cluster_namespace, dr_host, namespace_wildcard, parse_gateway_ref, tls_mode


@rule(
    code="IVL740", family="analyzers_kiali", name="overlapping-destination-rules", severity="warning",
    summary="Several DestinationRules in one namespace cover the same host and subset.",
    rationale="""
    For one client, only one DestinationRule per host applies: rules in the same namespace are
    merged with the first top-level traffic policy winning, rules in different namespaces are
    chosen by the lookup path (client namespace, service namespace, root namespace) and never
    combined (docs/semantics.md §destinationrule-lookup, §destinationrule-merge). Two rules for the same host that share a subset name, or
    where either has no subsets, therefore shadow each other in ways that depend on file order
    (Kiali KIA0201); info when the shared subsets are defined identically (labels and
    policy), since whichever is merged first the subset is the same. Only rules in the same namespace are compared: across namespaces the lookup
    path picks exactly one rule per client, so a client-namespace rule that overrides the
    service's own, or a root-namespace `*.local` default beneath a service-namespace rule, is by
    design (docs/semantics.md §destinationrule-placement). Only rules for the same host are
    compared: a wildcard rule (`*.svc.cluster.local`, `*.shop.svc.cluster.local`) beside a rule
    for one service is not a conflict, because istiod picks the most specific host match for each
    service, whatever the order (docs/semantics.md §wildcard-hosts); IVL741 reports the mTLS such
    a specific rule drops. Rules with a workloadSelector apply only to their selected clients
    and are skipped.
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: a, namespace: vm}
    spec: {host: whoami.example.internal, subsets: [{name: v1, labels: {version: v1}}]}
    ---
    kind: DestinationRule
    metadata: {name: b, namespace: vm}
    spec: {host: whoami.example.internal, subsets: [{name: v1, labels: {version: v1}}]}
    """,
    good="""
    kind: DestinationRule
    metadata: {name: a, namespace: vm}
    spec: {host: whoami.example.internal, subsets: [{name: v1, labels: {version: v1}}]}
    """,
    inputs=("DestinationRule",),
    equivalents=("KIA0201",),
    references=("docs/semantics.md §kiali-destinationrules", "docs/semantics.md §destinationrule-lookup", "docs/semantics.md §destinationrule-merge"),
)
def overlapping_destination_rules(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    # Only rules of one namespace are compared (below): the rules of a namespace are indexed by
    # host when a rule of it is iterated (a named-file run iterates a few namespaces' rules,
    # lint/relevance.py).
    in_ns: dict[str, list[DestinationRule]] = defaultdict(list)
    for d in ctx.resources(DestinationRule):
        in_ns[d.namespace].append(d)
    hosts: dict[int, str] = {}
    by_host: dict[str, list[DestinationRule]] = defaultdict(list)
    indexed: set[str] = set()
    for d in ctx.each(DestinationRule):
        if d.namespace not in indexed:
            indexed.add(d.namespace)
            for o in in_ns[d.namespace]:
                if isinstance(o, DestinationRule) and o.workload_selector is None and o.host:
                    hosts[id(o)] = oh = dr_host(o, domain)
                    by_host[oh].append(o)
        if id(d) not in hosts:
            continue  # a workload-scoped rule, or one without a host
        h = hosts[id(d)]
        # Only the same host: between a wildcard and a more specific host istiod takes the most
        # specific match (MostSpecificHostMatch), so neither shadows the other by order.
        cands = [o for o in by_host[h] if o is not d]
        mine = {s.name for s in d.subsets}
        hits: list[tuple[bool, DestinationRule, list[str]]] = []
        for o in cands:
            if _skip_mesh_mtls(o, hosts[id(o)], domain) or _skip_mesh_mtls(d, h, domain):
                continue
            # Only rules of one namespace are merged (order-dependent); across namespaces the lookup
            # path picks exactly one per client: a client-namespace rule overriding the service's
            # own, or a root-namespace default beneath it, is by design (§destinationrule-placement).
            if d.namespace != o.namespace:
                continue
            theirs = {s.name for s in o.subsets}
            shared = sorted(mine & theirs)
            if mine and theirs and not shared:
                continue
            # Identical shared subsets (a rule copied under another name): whichever is merged
            # first, the subset is the same (§destinationrule-merge).
            same = d.spec == o.spec or bool(shared) and all(_subset_def(d, n) == _subset_def(o, n) for n in shared)
            hits.append((same, o, shared))
        if hits:
            same, o, shared = min(hits, key=lambda x: x[0])  # a differing partner first
            what = f"subset(s) {shared}" if shared else "all subsets (one of them defines none)"
            yield Problem(d, ("spec", "host"), f"DestinationRule {d.namespace}/{d.name} and {o.namespace}/{o.name} both "
                          f"apply to host '{h}' for {what}; only one of them takes effect for a given client"
                          + (" (the definitions are identical, so which one does changes nothing; keep one)"
                             if same else ""),
                          related=((o, ("spec", "host")),), severity="info" if same else None)


def _subset_def(dr: DestinationRule, name: str) -> tuple[Any, Any]:
    sub = next(s for s in dr.subsets if s.name == name)
    return sub.labels, sub.traffic_policy


def _skip_mesh_mtls(dr: DestinationRule, host: str, domain: str) -> bool:
    """Mesh-/namespace-wide ISTIO_MUTUAL rules (``*.local``, ``*.<ns>.svc.<domain>``) are meant to overlap."""
    return tls_mode(dr.traffic_policy) == "ISTIO_MUTUAL" and (host in ("*.local", f"*.{domain}") or
                                                              namespace_wildcard(host, domain) == dr.namespace)


@rule(
    code="IVL741", family="analyzers_kiali", name="mesh-mtls-overridden", severity="warning",
    summary="A DestinationRule without TLS settings overrides a mesh- or namespace-wide ISTIO_MUTUAL rule.",
    rationale="""
    DestinationRules are not merged by host specificity: for a host with its own rule, a
    wildcard `*.local` (or `*.<ns>.svc.<domain>`) rule with `tls.mode: ISTIO_MUTUAL` no longer
    applies, so a more specific rule that sets no `tls` silently drops the explicit mTLS
    setting (Kiali KIA0204, docs/semantics.md §kiali-destinationrules, §destinationrule-lookup). With auto mTLS
    on this usually still works, which is why this is a warning: set `tls.mode: ISTIO_MUTUAL`
    in the specific rule to keep the intent explicit.
    """,
    bad="""
    kind: DestinationRule
    metadata: {name: mesh-mtls, namespace: istio-system}
    spec: {host: "*.local", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
    ---
    kind: DestinationRule
    metadata: {name: reviews}
    spec: {host: reviews, trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}}
    """,
    good="""
    kind: DestinationRule
    metadata: {name: reviews}
    spec: {host: reviews, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, connectionPool: {tcp: {maxConnections: 10}}}}
    """,
    inputs=("DestinationRule",),
    equivalents=("KIA0204",),
    references=("docs/semantics.md §kiali-destinationrules", "docs/semantics.md §destinationrule-lookup"),
)
def mesh_mtls_overridden(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    drs = ctx.resources(DestinationRule)
    mesh_wide = [d for d in drs if d.host == "*.local" and tls_mode(d.traffic_policy) == "ISTIO_MUTUAL"]
    ns_wide: dict[str, DestinationRule] = {}
    for d in drs:
        ns = namespace_wildcard(dr_host(d, domain), domain)
        if ns is not None and tls_mode(d.traffic_policy) == "ISTIO_MUTUAL":
            ns_wide[ns] = d
    if not mesh_wide and not ns_wide:
        return
    for d in ctx.each(DestinationRule):
        h = dr_host(d, domain)
        if h.startswith("*") or d in mesh_wide or d in ns_wide.values():
            continue
        tp = d.traffic_policy
        if "tls" in tp or any("tls" in as_map(p) for p in as_list(tp.get("portLevelSettings"))):
            continue
        ns = cluster_namespace(h, domain)
        owner = ns_wide.get(ns) if ns is not None else None
        owner = owner or (mesh_wide[0] if mesh_wide else None)
        if owner is None:
            continue
        yield Problem(d, ("spec", "trafficPolicy") if "trafficPolicy" in d.spec else ("spec", "host"),
                      f"DestinationRule {d.namespace}/{d.name} sets no tls, so for host '{h}' it replaces the ISTIO_MUTUAL "
                      f"setting of {owner.namespace}/{owner.name}; add tls.mode: ISTIO_MUTUAL to keep mTLS explicit",
                      related=((owner, ("spec", "trafficPolicy", "tls", "mode")),))


@rule(
    code="IVL742", family="analyzers_kiali", name="subset-without-labels", severity="warning",
    summary="A DestinationRule subset has no labels while its sibling subsets do, so it is every endpoint of the host.",
    rationale="""
    Subset `labels` filter the host's endpoints (docs/semantics.md §subset-without-labels). In
    a version split (`v1: {version: v1}`, `v2: {version: v2}`) a subset that lost its labels
    selects every endpoint, the other subsets' included, so the canary share silently reaches
    the old version too (Kiali KIA0209). Label-less subsets are legitimate on their own: a DestinationRule whose
    only subsets have no labels uses the subset as a named handle for routing or a
    subset-level traffic policy, as in istio.io's egress-gateway and TLS-origination tasks
    (`host: istio-egressgateway…`, `subsets: [{name: cnn}]`); those stay silent. Reported only
    when another subset of the same DestinationRule has labels.
    """,
    bad="""
    subsets:
    - name: v1
      labels: {version: v1}
    - name: v2          # lost its labels: every endpoint, v1 included
    """,
    good="""
    subsets:
    - name: v1
      labels: {version: v1}
    - name: v2
      labels: {version: v2}
    """,
    inputs=("DestinationRule",),
    equivalents=("KIA0209",),
    references=("docs/semantics.md §subset-without-labels", "docs/semantics.md §kiali-destinationrules"),
)
def subset_without_labels(ctx: Context) -> Iterator[Problem]:
    for d in ctx.each(DestinationRule):
        labelled = [s for s in d.subsets if s.labels]
        if not labelled:
            continue  # every subset is a named handle (egress-gateway pattern): nothing to compare
        for s in d.subsets:
            if not s.labels and s.name:
                yield Problem(d, s.path, f"DestinationRule {d.namespace}/{d.name}: subset '{s.name}' has no labels, so it "
                              f"contains every endpoint of the host, those of subset '{labelled[0].name}' "
                              f"({', '.join(f'{k}={v}' for k, v in sorted(labelled[0].labels.items()))}) included")


def _routes(vs: VirtualService) -> Iterator[tuple[str, int, list]]:
    for kind in ("http", "tls", "tcp"):
        for i, r in enumerate(as_list(vs.spec.get(kind))):
            yield kind, i, as_list(as_map(r).get("route"))


@rule(
    code="IVL743", family="analyzers_kiali", name="single-destination-weight", severity="warning",
    summary="A route with one destination gives it a weight below 100.",
    rationale="""
    With a single destination, Istio sends it all traffic whatever its `weight` says; a value
    like 90 usually means a second destination was forgotten or removed (Kiali KIA1104).
    """,
    bad="""
    route:
    - destination: {host: whoami.example.internal}
      weight: 90
    """,
    good="""
    route:
    - destination: {host: whoami.example.internal}
    """,
    inputs=("VirtualService",),
    equivalents=("KIA1104",),
    references=("docs/semantics.md §kiali-virtualservices",),
)
def single_destination_weight(ctx: Context) -> Iterator[Problem]:
    for vs in ctx.each(VirtualService):
        for kind, i, route in _routes(vs):
            if len(route) == 1:
                w = as_map(route[0]).get("weight")
                if isinstance(w, int) and not isinstance(w, bool) and 0 < w < 100:
                    yield Problem(vs, ("spec", kind, i, "route", 0, "weight"),
                                  f"VirtualService {vs.namespace}/{vs.name}: the only destination of {kind}[{i}] has weight "
                                  f"{w}; it receives 100% of the traffic anyway")


@rule(
    code="IVL744", family="analyzers_kiali", name="duplicate-route-destination", severity="warning",
    summary="One route lists the same host and subset twice.",
    rationale="""
    Destinations inside one route are weighted alternatives; listing the same host and subset
    twice splits traffic between identical targets, usually a copy-paste slip where another
    subset was meant (Kiali KIA1105). Hosts are compared after resolution.
    """,
    bad="""
    route:
    - {destination: {host: whoami.example.internal, subset: v1}, weight: 50}
    - {destination: {host: whoami.example.internal, subset: v1}, weight: 50}
    """,
    good="""
    route:
    - {destination: {host: whoami.example.internal, subset: v1}, weight: 50}
    - {destination: {host: whoami.example.internal, subset: v2}, weight: 50}
    """,
    inputs=("VirtualService",),
    equivalents=("KIA1105",),
    references=("docs/semantics.md §kiali-virtualservices",),
)
def duplicate_route_destination(ctx: Context) -> Iterator[Problem]:
    domain = ctx.settings.cluster_domain
    for vs in ctx.each(VirtualService):
        for kind, i, route in _routes(vs):
            seen: dict[tuple[str, str, object], int] = {}
            for j, d in enumerate(route):
                dest = as_map(as_map(d).get("destination"))
                host = dest.get("host")
                if not isinstance(host, str) or not host:
                    continue
                key = (resolve_host(host, vs.namespace, domain), str(dest.get("subset") or ""),
                       as_int(as_map(dest.get("port")).get("number")))
                if key in seen:
                    yield Problem(vs, ("spec", kind, i, "route", j, "destination"),
                                  f"VirtualService {vs.namespace}/{vs.name}: {kind}[{i}] lists destination '{key[0]}'"
                                  + (f" subset '{key[1]}'" if key[1] else "") + f" twice (also route[{seen[key]}])")
                else:
                    seen[key] = j


@rule(
    code="IVL745", family="analyzers_kiali", name="legacy-gateway-reference", severity="info",
    summary="A gateway is referenced in the legacy dotted form instead of namespace/name.",
    rationale="""
    Istio still accepts `name.namespace` and `name.namespace.svc.cluster.local` for
    `gateways`, but validation warns about them, `istioctl analyze` reports them as missing and
    Kiali suggests `namespace/name` (docs/semantics.md §gateway-references; Kiali KIA1108).
    """,
    bad="""
    gateways: [whoami-gateway.istio-system.svc.cluster.local]
    """,
    good="""
    gateways: [istio-system/whoami-gateway]
    """,
    inputs=("VirtualService",),
    equivalents=("KIA1108",),
    references=("docs/semantics.md §gateway-references",),
)
def legacy_gateway_reference(ctx: Context) -> Iterator[Problem]:
    from .hosts import _gateway_ref_paths

    for vs in ctx.each(VirtualService):
        for path, ref in _gateway_ref_paths(vs):
            if "/" not in ref and "." in ref:
                ns, name = parse_gateway_ref(ref, vs.namespace, ctx.settings.cluster_domain)
                yield Problem(vs, path, f"VirtualService {vs.namespace}/{vs.name}: gateway '{ref}' uses the legacy dotted "
                              f"form; write '{ns}/{name}'")


@rule(
    code="IVL746", family="analyzers_kiali", name="duplicate-service-entry-port", severity="warning",
    summary="Several ServiceEntries declare the same host and port (with the same protocol).",
    rationale="""
    ServiceEntries with the same host are merged or shadowed by age per namespace scope
    (docs/semantics.md §duplicate-hosts, "oldest wins"); two definitions of one host and port make the
    effective endpoints and settings depend on creation order (Kiali KIA1211). Keep one
    ServiceEntry per host and port. Entries not visible to a common namespace are not compared.
    """,
    bad="""
    kind: ServiceEntry
    metadata: {name: a}
    spec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}]}
    ---
    kind: ServiceEntry
    metadata: {name: b}
    spec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}]}
    """,
    good="""
    kind: ServiceEntry
    metadata: {name: a}
    spec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}]}
    """,
    inputs=("ServiceEntry",),
    equivalents=("KIA1211",),
    references=("docs/semantics.md §kiali-serviceentries", "docs/semantics.md §duplicate-hosts"),
)
def duplicate_service_entry_port(ctx: Context) -> Iterator[Problem]:
    # Every ServiceEntry port by (host, number), in the repository's order; each ServiceEntry
    # iterated is reported at its first key (in sorted order) shared with another visible one
    # (a named-file run iterates only the entries it can report on: lint/relevance.py).
    index: dict[tuple[str, int], list[tuple[ServiceEntry, int, str]]] = defaultdict(list)
    for se in ctx.resources(ServiceEntry):
        for h in se.hosts:
            for p in se.ports:
                if p.number is not None:
                    index[(h.lower(), p.number)].append((se, p.index, p.protocol.upper()))
    for se in ctx.each(ServiceEntry):
        found = None
        for key in sorted({(h.lower(), p.number) for h in se.hosts for p in se.ports if p.number is not None}):
            entries = index[key]
            if len(entries) < 2:
                continue
            for e in entries:
                if e[0] is not se:
                    continue
                proto = e[2]
                others = [o for o in entries if o[0] is not se and o[2] == proto and
                          (visible(se.export_to, se.namespace, o[0].namespace) or
                           visible(o[0].export_to, o[0].namespace, se.namespace))]
                if others:
                    found = (key, e[1], others)
                    break
            if found is not None:
                break
        if found is None:
            continue
        (host, number), pi, others = found
        listing = ", ".join(f"{o[0].namespace}/{o[0].name}" for o in others)
        yield Problem(se, ("spec", "ports", pi), f"ServiceEntry {se.namespace}/{se.name} and {listing} both declare "
                      f"host '{host}' port {number}; which definition applies depends on creation order",
                      related=tuple((o[0], ("spec", "ports", o[1])) for o in others))


@rule(
    code="IVL747", family="analyzers_kiali", name="root-sidecar-with-selector", severity="warning",
    summary="The Sidecar in the root namespace has a workloadSelector, so it is not the mesh default.",
    rationale="""
    A Sidecar without selector in the root namespace (`istio-system` by default) is the
    mesh-wide default; one with a selector only applies to matching workloads in that
    namespace, which is rarely the intent of putting it there (api:sidecar; Kiali KIA1006).
    """,
    bad="""
    kind: Sidecar
    metadata: {name: default, namespace: istio-system}
    spec: {workloadSelector: {labels: {app: x}}}
    """,
    good="""
    kind: Sidecar
    metadata: {name: default, namespace: istio-system}
    spec: {egress: [{hosts: ["./*", "istio-system/*"]}]}
    """,
    inputs=("Sidecar",),
    equivalents=("KIA1006",),
    references=("docs/semantics.md §kiali-sidecars",),
)
def root_sidecar_with_selector(ctx: Context) -> Iterator[Problem]:
    for sc in ctx.each(Sidecar):
        if sc.namespace == ctx.root_namespace and sc.workload_selector:
            yield Problem(sc, ("spec", "workloadSelector"), f"Sidecar {sc.namespace}/{sc.name} is in the root namespace "
                          "but has a workloadSelector, so it is not the mesh-wide default")


@rule(
    code="IVL748", family="analyzers_kiali", name="outbound-policy-mode-unset", severity="info",
    summary="A Sidecar's outboundTrafficPolicy has no mode, which means REGISTRY_ONLY.",
    rationale="""
    `Sidecar.outboundTrafficPolicy.mode` is an enum whose zero value is REGISTRY_ONLY, so an
    `outboundTrafficPolicy` block without `mode` blocks traffic to every host not in the
    registry, even when the mesh default is ALLOW_ANY (api:sidecar; Kiali KIA1007). Write the
    mode explicitly.
    """,
    bad="""
    outboundTrafficPolicy: {}
    """,
    good="""
    outboundTrafficPolicy: {mode: ALLOW_ANY}
    """,
    inputs=("Sidecar",),
    equivalents=("KIA1007",),
    references=("docs/semantics.md §kiali-sidecars",),
)
def outbound_policy_mode_unset(ctx: Context) -> Iterator[Problem]:
    for sc in ctx.each("Sidecar"):
        otp = sc.spec.get("outboundTrafficPolicy")
        if isinstance(otp, dict) and not otp.get("mode"):
            yield Problem(sc, ("spec", "outboundTrafficPolicy"), f"Sidecar {sc.namespace}/{sc.name}: outboundTrafficPolicy "
                          "has no mode, which means REGISTRY_ONLY (unknown hosts are blocked)")


@rule(
    code="IVL749", family="analyzers_kiali", name="duplicate-workload-group-labels", severity="warning",
    summary="Two WorkloadGroups in one namespace give their VMs identical labels.",
    rationale="""
    WorkloadGroup `metadata.labels` become the labels of every WorkloadEntry auto-registered
    from the group (docs/semantics.md §workloadgroup). Two groups with identical labels produce VMs
    that every selector sees as the same workload, so services and subsets cannot tell them
    apart (Kiali KIA1702).
    """,
    bad="""
    kind: WorkloadGroup
    metadata: {name: a}
    spec: {metadata: {labels: {app: whoami}}, template: {serviceAccount: whoami}}
    ---
    kind: WorkloadGroup
    metadata: {name: b}
    spec: {metadata: {labels: {app: whoami}}, template: {serviceAccount: whoami}}
    """,
    good="""
    kind: WorkloadGroup
    metadata: {name: b}
    spec: {metadata: {labels: {app: whoami, version: v2}}, template: {serviceAccount: whoami}}
    """,
    inputs=("WorkloadGroup",),
    equivalents=("KIA1702",),
    references=("docs/semantics.md §kiali-serviceentries",),
)
def duplicate_workload_group_labels(ctx: Context) -> Iterator[Problem]:
    # Reported: the groups iterated (a named-file run iterates only those it can report on,
    # lint/relevance.py), each with the others of its namespace and labels; the groups of a
    # namespace are indexed when one of them is iterated.
    in_ns: dict[str, list[WorkloadGroup]] = defaultdict(list)
    for wg in ctx.resources(WorkloadGroup):
        in_ns[wg.namespace].append(wg)
    groups: dict[tuple[str, tuple], list[WorkloadGroup]] = defaultdict(list)
    key_of: dict[int, tuple[str, tuple]] = {}
    indexed: set[str] = set()
    for wg in ctx.each(WorkloadGroup):
        if wg.namespace not in indexed:
            indexed.add(wg.namespace)
            for o in in_ns[wg.namespace]:
                md = o.spec.get("metadata")
                if not isinstance(md, dict):
                    continue
                labels = as_map(md.get("labels"))
                key = key_of[id(o)] = (o.namespace, tuple(sorted((str(k), str(v)) for k, v in labels.items())))
                groups[key].append(o)
        mine = key_of.get(id(wg))
        wgs = groups[mine] if mine is not None else []
        if len(wgs) < 2:
            continue
        others = [o for o in wgs if o is not wg]
        yield Problem(wg, ("spec", "metadata", "labels") if "labels" in as_map(wg.spec.get("metadata"))
                      else ("spec", "metadata"),
                      f"WorkloadGroup {wg.namespace}/{wg.name} has the same labels as {', '.join(o.name for o in others)}; "
                      "their VMs cannot be told apart by selectors",
                      related=tuple((o, ("spec", "metadata")) for o in others))
