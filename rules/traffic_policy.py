"""IVL4xx traffic policy: locality failover, outlier detection and the *effective* DestinationRule.

Failover only works when the effective traffic policy for a (client namespace, host, subset,
port) has ``outlierDetection`` (docs/semantics.md §locality-failover).  The effective policy comes from the
graph: DR lookup path client ns -> service ns -> root ns, same-namespace merge (first top-level
policy wins), subset inheritance and wholesale port-level replacement
(``MeshGraph.effective_dr``, ``EffectiveDR.policy``); ``MeshGraph.policy_layers`` says which
object set or dropped each field, so findings point at the object to change.

Endpoints (for regions and locality) are the graph's bindings of the host's services; when
the repository does not hold them (pods whose locality comes from nodes, services defined
elsewhere) the endpoint rules stay silent.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from istio_vm_lint import defaults
from istio_vm_lint.findings import FieldPath, Problem, format_path
from istio_vm_lint.graph import EffectiveDR, MeshService
from istio_vm_lint.model import DestinationRule, Resource, as_int, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.locality import _failover_region_misspelt, _locality_disabled, _locality_settings
from istio_vm_lint.semantics import tls_mode, traffic_policies

Layer = tuple[DestinationRule, FieldPath, dict, bool]
TOPOLOGY_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")


# --- helpers ------------------------------------------------------------------------------


def _failover_field(lb: Any, implicit: bool = False) -> Optional[str]:
    """``failover`` / ``failoverPriority`` when the loadBalancer configures active failover;
    with ``implicit``, also ``enabled`` for `localityLbSetting: {enabled: true}` alone, which
    asks for Istio's default failover (by region, zone, sub-zone; §locality-failover)."""
    lls = as_map(as_map(lb).get("localityLbSetting"))
    if lls.get("enabled") is False:
        return None
    if as_list(lls.get("failover")):
        return "failover"
    if as_list(lls.get("failoverPriority")):
        return "failoverPriority"
    if implicit and lls.get("enabled") is True and not as_list(lls.get("distribute")):
        return "enabled"
    return None


def _failover_text(field: str) -> str:
    return ("locality failover (`localityLbSetting.enabled: true`: the default failover by region, zone and "
            "sub-zone)" if field == "enabled" else f"locality {field}")


def _where(owner: Resource, path: FieldPath) -> str:
    return f"DestinationRule {owner.namespace}/{owner.name} {format_path(path)}"


def _source(layers: list[Layer], key: str) -> tuple[Optional[tuple[Layer, FieldPath]], Optional[tuple[Layer, tuple[Layer, FieldPath]]]]:
    """Where the effective ``key`` comes from, and (if unset) the port-level layer that dropped it.

    Mirrors ``merge_traffic_policy``: a plain layer overrides the fields it sets; a port-level
    layer replaces ``key`` wholesale (dropping an inherited value when it does not set it)."""
    src: Optional[tuple[Layer, FieldPath]] = None
    dropped = None
    for layer in layers:
        _owner, path, pol, port_level = layer
        if pol.get(key) is not None:
            src, dropped = (layer, path + (key,)), None
        elif port_level and src is not None:
            dropped, src = (layer, src), None
    return src, dropped


def _effective_views(ctx: Context) -> list[tuple[MeshService, EffectiveDR, str, Optional[int], str]]:
    """Every (service, effective DR, subset, port) the repository can route, deduplicated.

    Computed once per run and shared by IVL401/IVL402/IVL404.  Services that no DestinationRule
    host can match (exact or wildcard) are skipped before asking the graph for the effective rule."""
    return ctx.memo("traffic_policy.effective_views", lambda: _compute_effective_views(ctx))


def _compute_effective_views(ctx: Context) -> list[tuple[MeshService, EffectiveDR, str, Optional[int], str]]:
    graph = ctx.graph
    exact_hosts, wild_hosts = graph.drs_by_host
    exact = set(exact_hosts)
    wildcard = bool(wild_hosts)
    out: list[tuple[MeshService, EffectiveDR, str, Optional[int], str]] = []
    seen: set[tuple[Any, ...]] = set()
    keep = ctx.resource_filter  # named-file run: the subject services (lint/relevance.py REVIEWED)
    # non-wildcard services a rule can match, kept, in a stable order (findings must not depend on
    # document order); filtered before sorting: a named-file run keeps a few
    services = [s for s in graph.services if not s.host.startswith("*") and (wildcard or s.host in exact)
                and (keep is None or keep(s.resource))]
    services.sort(key=lambda s: (s.host, s.kind, s.namespace, s.resource.name))
    for svc in services:
        ports = [p.number for p in svc.ports if p.number is not None] or [None]
        for client_ns in sorted(graph.client_namespaces(svc)):
            edr = graph.effective_dr(client_ns, svc.host, svc.namespace)
            if edr is None or not all(_well_formed(r) for r in edr.rules):
                continue  # malformed policies are the schema rules' business
            key = (id(svc.resource), svc.host, tuple(id(r) for r in edr.rules))
            if key in seen:
                continue
            seen.add(key)
            for subset in [""] + sorted(edr.subsets):
                for port in ports:
                    out.append((svc, edr, subset, port, client_ns))
    return out


def _well_formed(dr: DestinationRule) -> bool:
    """portLevelSettings of the right shape everywhere (what the effective merge walks)."""
    for tp in [dr.traffic_policy] + [s.traffic_policy for s in dr.subsets]:
        pls = tp.get("portLevelSettings")
        if pls is not None and not isinstance(pls, list):
            return False
    return True


# --- IVL401 / IVL402 ------------------------------------------------------------------------

_FAILOVER_BAD = """
kind: DestinationRule
metadata: {name: whoami, namespace: vm}
spec:
  host: whoami.example.internal
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        failover:          # never used: no outlierDetection
        - {from: us-east, to: us-west}
"""


@rule(
    code="IVL401", family="traffic_policy", name="failover-without-outlier-detection", severity="warning",
    summary="Locality failover is configured but the effective traffic policy has no outlierDetection, so it never takes effect.",
    rationale="""
    `failover` and `failoverPriority` only work together with `outlierDetection`: "if no
    OutlierDetection specified, this will not take effect" (api:dr). Istio writes failover
    priorities into the endpoints only when the effective policy for that (subset, port) has
    outlier detection, otherwise "Envoy will never drop down to a lower priority"
    (docs/semantics.md §locality-failover). The check runs on the *effective* policy of
    every service port and subset, for every client namespace the repository routes from
    (DR lookup path §destinationrule-lookup). Istio's validation warns (IST0133) only when the failover sits in
    the top-level `trafficPolicy`; this rule also covers subset and port-level policies, which
    Istio never warns about. `localityLbSetting: {enabled: true}` with no failover entries asks
    for Istio's default failover (same region, then zone and sub-zone order) and needs outlier
    detection just the same (docs/semantics.md §default-locality-failover): without it every
    endpoint gets the same priority and traffic is spread across regions; it is reported on
    the effective policy too. When outlierDetection is set somewhere but a port-level entry
    drops it, IVL402 reports that instead. For a rule whose host no service of the repository
    resolves to (or with a `workloadSelector`), only Istio's own per-object check is made.
    """,
    bad=_FAILOVER_BAD,
    good="""
    spec:
      host: whoami.example.internal
      trafficPolicy:
        loadBalancer:
          localityLbSetting:
            failover:
            - {from: us-east, to: us-west}
        outlierDetection:
          consecutive5xxErrors: 5
          interval: 10s
          baseEjectionTime: 30s
    """,
    inputs=("DestinationRule",),
    equivalents=("IST0133",),
    references=("docs/semantics.md §locality-failover", "docs/semantics.md §destinationrule-lookup", "docs/semantics.md §port-level-settings",
                "docs/semantics.md §default-locality-failover"),
)
def failover_without_outlier_detection(ctx: Context) -> Iterator[Problem]:
    for code, problem in _failover_findings(ctx):
        if code == "IVL401":
            yield problem


@rule(
    code="IVL402", family="traffic_policy", name="outlier-detection-dropped-by-port-override", severity="warning",
    summary="A portLevelSettings entry drops the outlierDetection that locality failover needs on that port.",
    rationale="""
    Port-level settings replace `connectionPool`, `outlierDetection`, `loadBalancer` and `tls`
    wholesale: "Traffic settings specified at the destination-level will not be inherited when
    overridden by port-level settings" (api:dr; `MergeTrafficPolicy`, docs/semantics.md §port-level-settings, §locality-failover). A port-level entry that sets a failover `loadBalancer` (or keeps the
    one from a subset) without repeating `outlierDetection` leaves that port with failover but
    no outlier detection, so traffic never leaves a failing locality — while the rule looks
    correct on paper. Istio's validation does not warn about port-level policies. The finding
    is at the entry that drops it; related locations show where failover and the dropped
    outlierDetection are set.
    """,
    bad="""
    trafficPolicy:
      loadBalancer:
        localityLbSetting:
          failover: [{from: us-east, to: us-west}]
      outlierDetection: {consecutive5xxErrors: 5}
      portLevelSettings:
      - port: {number: 80}
        loadBalancer:        # replaces the top level: outlierDetection is not inherited
          localityLbSetting:
            failover: [{from: us-east, to: us-west}]
    """,
    good="""
      portLevelSettings:
      - port: {number: 80}
        loadBalancer:
          localityLbSetting:
            failover: [{from: us-east, to: us-west}]
        outlierDetection: {consecutive5xxErrors: 5}
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §port-level-settings", "docs/semantics.md §locality-failover"),
)
def outlier_detection_dropped(ctx: Context) -> Iterator[Problem]:
    for code, problem in _failover_findings(ctx):
        if code == "IVL402":
            yield problem


def _failover_findings(ctx: Context) -> list[tuple[str, Problem]]:
    """IVL401/IVL402 share one walk over the effective policies (once per run)."""
    return ctx.memo("traffic_policy.failover_findings", lambda: _compute_failover_findings(ctx))


def _compute_failover_findings(ctx: Context) -> list[tuple[str, Problem]]:
    graph = ctx.graph
    out: list[tuple[str, Problem]] = []
    seen: set[tuple[Any, ...]] = set()
    for svc, edr, subset, port, client_ns in _effective_views(ctx):
        policy = edr.policy(subset, port)
        if not policy or policy.get("outlierDetection") is not None:
            continue
        field = _failover_field(policy.get("loadBalancer"), implicit=True)
        if field is None:
            continue
        layers = graph.policy_layers(edr, subset, port)
        lb_src, _ = _source(layers, "loadBalancer")
        if lb_src is None:
            continue  # cannot attribute (should not happen): stay silent
        (lb_owner, lb_layer_path, _pol, _pl), lb_path = lb_src
        failover_path = lb_path + ("localityLbSetting", field)
        _od_src, dropped = _source(layers, "outlierDetection")
        where = f" (subset '{subset}')" if subset else ""
        on_port = f" port {port}" if port is not None else ""
        if dropped is None:
            key = ("IVL401", id(lb_owner), failover_path)
            if key in seen:
                continue
            seen.add(key)
            top_level = lb_layer_path == ("spec", "trafficPolicy")
            istio = ("Istio's validation warns about this one (IST0133)" if top_level and field != "enabled" else
                     "Istio's validation does not warn about subset/port-level policies" if field != "enabled" else
                     "Istio's validation does not warn about it")
            msg = (f"DestinationRule {lb_owner.namespace}/{lb_owner.name} configures {_failover_text(field)} for "
                   f"{svc.host}{on_port}{where}, but the effective traffic policy has no outlierDetection, so "
                   f"failover never happens (§locality-failover); add outlierDetection next to it — {istio}")
            related: tuple[tuple[Resource, FieldPath], ...] = ()
            if edr.namespace != svc.namespace:
                home = graph.effective_dr(svc.namespace, svc.host, svc.namespace)
                home_od = (home.policy(subset, port) or {}).get("outlierDetection") if home else None
                if home is not None and home_od is not None and home.top_policy_owner is not None:
                    msg += (f"; DestinationRule {home.top_policy_owner.namespace}/{home.top_policy_owner.name} has "
                            f"outlierDetection, but clients in namespace '{client_ns}' use this rule instead "
                            "(lookup path: client namespace first, §destinationrule-lookup)")
                    related = ((home.top_policy_owner, ("spec", "trafficPolicy")),)
            out.append(("IVL401", Problem(lb_owner, failover_path, msg, related=related)))
        else:
            (drop_owner, drop_path, _p, _l), ((od_owner, _odp, _o, _ol), od_path) = dropped
            key = ("IVL402", id(drop_owner), drop_path)
            if key in seen:
                continue
            seen.add(key)
            if lb_owner is drop_owner and lb_layer_path == drop_path:
                how = f"sets {_failover_text(field)} but not outlierDetection"
            else:
                how = (f"does not set outlierDetection, while {_failover_text(field)} still applies "
                       f"(from {_where(lb_owner, failover_path)})")
            msg = (f"DestinationRule {drop_owner.namespace}/{drop_owner.name}: the portLevelSettings entry for port "
                   f"{port} {how}; port-level settings replace outlierDetection wholesale, so the one at "
                   f"{_where(od_owner, od_path)} is not inherited and {svc.host}{on_port}{where} never fails over — "
                   "repeat outlierDetection in this entry (§locality-failover)")
            out.append(("IVL402", Problem(drop_owner, drop_path, msg,
                                          related=((lb_owner, failover_path), (od_owner, od_path)))))
    # DestinationRules no service of the repository resolves to (host defined elsewhere, or a
    # workloadSelector rule): only the per-object check Istio itself makes (IST0133 parity,
    # top-level trafficPolicy with failover and no outlierDetection).
    covered = {id(r) for _s, edr, _sub, _p, _c in _effective_views(ctx) for r in edr.rules}
    for dr in ctx.resources(DestinationRule):
        tp = dr.traffic_policy
        if id(dr) in covered or not tp or tp.get("outlierDetection") is not None:
            continue
        field = _failover_field(tp.get("loadBalancer"))
        if field is None:
            continue
        out.append(("IVL401", Problem(dr, ("spec", "trafficPolicy", "loadBalancer", "localityLbSetting", field),
                                      f"DestinationRule {dr.namespace}/{dr.name} configures locality {field} for "
                                      f"{dr.host or '?'} without outlierDetection in the same traffic policy, so "
                                      "failover never happens (§locality-failover); Istio's validation warns about this one "
                                      "(IST0133)")))
    return out


# --- IVL403 ---------------------------------------------------------------------------------


@rule(
    code="IVL403", family="traffic_policy", name="outlier-detection-never-ejects", severity="warning",
    summary="outlierDetection is configured so that no host can ever be ejected.",
    rationale="""
    `consecutive5xxErrors: 0` disables 5xx-based ejection (Istio sets the enforcement to 0,
    `applyOutlierDetection`; api:dr "can be disabled by setting the value to 0"). Without
    `consecutiveGatewayErrors` or local-origin failure counting nothing is ever ejected, so
    locality failover gated on outlier detection never triggers although its requirement looks
    met (docs/semantics.md §outlier-detection). Note that `maxEjectionPercent: 0` does not
    disable ejection: Istio leaves Envoy's 10% default in place (see IVL404 for small pools).
    """,
    bad="""
    outlierDetection:
      consecutive5xxErrors: 0
      interval: 10s
    """,
    good="""
    outlierDetection:
      consecutive5xxErrors: 0
      consecutiveGatewayErrors: 3
      interval: 10s
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §outlier-detection", "docs/semantics.md §locality-failover"),
)
def outlier_detection_never_ejects(ctx: Context) -> Iterator[Problem]:
    for dr in ctx.each(DestinationRule):
        for path, tp in traffic_policies(dr):
            od = tp.get("outlierDetection")
            if not isinstance(od, dict) or "consecutive5xxErrors" not in od:
                continue
            if as_int(od.get("consecutive5xxErrors")) != 0:
                continue
            if (as_int(od.get("consecutiveGatewayErrors")) or 0) > 0:
                continue
            if od.get("splitExternalLocalOriginErrors") is True and (as_int(od.get("consecutiveLocalOriginFailures")) or 0) > 0:
                continue
            if as_list(od.get("outlierDetectionHttpErrorCodes")):
                continue
            failover = _failover_field(tp.get("loadBalancer"))
            extra = f"; the locality {failover} next to it therefore never triggers" if failover else ""
            yield Problem(dr, path + ("outlierDetection", "consecutive5xxErrors"),
                          f"DestinationRule {dr.namespace}/{dr.name}: consecutive5xxErrors: 0 disables 5xx ejection and "
                          f"neither consecutiveGatewayErrors nor local-origin failures are counted, so this outlier "
                          f"detection never ejects a host{extra} (§outlier-detection)")


# --- IVL404 ---------------------------------------------------------------------------------


@rule(
    code="IVL404", family="traffic_policy", name="outlier-ejection-cap-blocks-failover", severity="warning",
    summary="With this few endpoints, maxEjectionPercent lets outlier detection eject no host, so failover cannot trigger.",
    rationale="""
    Envoy ejects a host only while `(ejected + 1) / hosts` stays within `max_ejection_percent`
    (strict since envoy#27909; Istio does not set `always_eject_one_host`). Istio leaves the
    field unset when `maxEjectionPercent` is 0 or omitted, so the default is 10%: with fewer
    than 10 endpoints no host is ever ejected (older proxies ejected at most one), and
    locality failover never happens (docs/semantics.md §ejection-cap, §repository-limits; #34605). Only reported when the repository holds every endpoint of the
    host (WorkloadEntries or inline endpoints), with the arithmetic in the message; the exact
    behaviour depends on the Envoy build of your Istio release.
    """,
    bad="""
    # 3 WorkloadEntries, failover + outlierDetection without maxEjectionPercent: 3 x 10% < 1
    outlierDetection: {consecutive5xxErrors: 5}
    """,
    good="""
    outlierDetection: {consecutive5xxErrors: 5, maxEjectionPercent: 100}
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §ejection-cap", "docs/semantics.md §locality-failover", "docs/semantics.md §repository-limits"),
)
def outlier_ejection_cap(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    seen: set[tuple[Any, ...]] = set()
    for svc, edr, subset, port, _client in _effective_views(ctx):
        policy = edr.policy(subset, port)
        if not policy or _failover_field(policy.get("loadBalancer")) is None:
            continue
        od = policy.get("outlierDetection")
        if not isinstance(od, dict):
            continue
        workloads = graph.endpoints([svc])
        if not workloads or any(w.kind not in ("WorkloadEntry", "Endpoint") or w.address_kind != "ip"
                                for w in workloads):
            continue  # pods, auto-registered VMs, DNS names and network gateways: count unknown
        if subset:
            labels = edr.subsets[subset][1].labels
            workloads = [w for w in workloads if all(w.labels.get(k) == v for k, v in labels.items())]
        n = len(workloads)
        if n == 0:
            continue
        pct = as_int(od.get("maxEjectionPercent")) or defaults.OUTLIER_MAX_EJECTION_PERCENT
        if n * pct >= 100:
            continue
        layers = graph.policy_layers(edr, subset, port)
        od_src, _ = _source(layers, "outlierDetection")
        if od_src is None:
            continue
        (owner, _lp, _pol, _pl), od_path = od_src
        path = od_path + ("maxEjectionPercent",) if "maxEjectionPercent" in od else od_path
        key = (id(owner), path)
        if key in seen:
            continue
        seen.add(key)
        stated = f"maxEjectionPercent {pct}%" if as_int(od.get("maxEjectionPercent")) else \
            f"maxEjectionPercent unset (Envoy default {pct}%)"
        where = f" subset '{subset}'" if subset else ""
        yield Problem(owner, path,
                      f"DestinationRule {owner.namespace}/{owner.name}: {svc.host}{where} has {n} endpoint(s) in the "
                      f"repository and {stated}: {n} x {pct}% = {n * pct / 100:g} < 1, so current Envoy ejects no host "
                      f"(older ones at most one) and locality failover cannot trigger; set maxEjectionPercent to "
                      f"{'100' if n == 1 else f'at least {-(-100 // n)} (or 100)'} (§ejection-cap)")


# --- IVL405 / IVL406 ------------------------------------------------------------------------


def _failover_objects(ctx: Context) -> Iterator[tuple[DestinationRule, FieldPath, dict, str]]:
    for dr in ctx.each(DestinationRule):
        for path, tp in traffic_policies(dr):
            field = _failover_field(tp.get("loadBalancer"))
            if field:
                yield dr, path + ("loadBalancer", "localityLbSetting", field), tp, field


@rule(
    code="IVL405", family="traffic_policy", name="failover-region-without-endpoints", severity="warning",
    summary="A locality failover target region has no endpoint of the host, or a region name is actually a zone.",
    rationale="""
    `failover` entries name *regions* (the first segment of `region/zone/subzone`); Istio
    only rejects `/`, `*` and from = to (docs/semantics.md §locality-failover, #37850).
    A `to` region in which no endpoint of the host lives gives those clients nothing to fail
    over to — usually a typo or a zone name — and a `from`/`to` that equals an endpoint *zone*
    is the region/zone confusion. Endpoint localities come from the WorkloadEntries, inline
    endpoints and WorkloadGroups the host's services select (`locality`, else the
    `topology.istio.io/locality` label, §locality). When some endpoint's locality is unknown
    (pods get theirs from nodes, auto-registered VMs from their bootstrap), a `to` region is
    reported only when it is a misspelling of the region of an endpoint whose locality is known
    and which no failover entry names (`eu-central1` / `eu-central-1`; regions that differ in
    a digit, `us-east-1` / `us-east-2`, are distinct).
    """,
    bad="""
    localityLbSetting:
      failover:
      - {from: us-east-1, to: us-west1}    # endpoints are in us-east-1 and us-west-2
    """,
    good="""
      failover:
      - {from: us-east-1, to: us-west-2}
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §locality", "docs/semantics.md §locality-failover"),
)
def failover_region_without_endpoints(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for dr, fpath, tp, field in _failover_objects(ctx):
        if field != "failover":
            continue
        workloads = graph.endpoints(graph.dr_services(dr))
        if not workloads:
            continue
        if any(w.kind == "Pod" or not w.locality for w in workloads):
            yield from _failover_region_misspelt(dr, fpath, tp, [w for w in workloads if w.kind != "Pod" and w.locality])
            continue
        regions = {w.locality.split("/", 1)[0] for w in workloads}
        zones = {w.locality.split("/")[1] for w in workloads if w.locality.count("/") >= 1}
        shown = ", ".join(sorted(regions))
        lls = as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting"))
        for i, entry in enumerate(as_list(lls.get("failover"))):
            em = as_map(entry)
            for key in ("from", "to"):
                value = as_str(em.get(key))
                if not value or "/" in value or "*" in value or value in regions:
                    continue
                if value in zones:
                    msg = (f"'{value}' is a zone of the endpoints, not a region (regions: {shown}); failover names "
                           "regions only, zones fail over implicitly")
                elif key == "to":
                    msg = (f"'{value}': no endpoint of {dr.host} is in that region (endpoint regions: {shown}), so "
                           "this failover target gives clients nothing to fail over to")
                else:
                    continue  # clients may live in regions without endpoints
                yield Problem(dr, fpath + (i, key), f"DestinationRule {dr.namespace}/{dr.name}: failover {key} {msg} (§locality-failover)")


@rule(
    code="IVL406", family="traffic_policy", name="endpoint-without-locality", severity="warning",
    summary="Locality failover is configured for a host whose WorkloadEntry endpoints have no locality.",
    rationale="""
    Failover priorities are computed from endpoint localities. A WorkloadEntry (or inline
    ServiceEntry endpoint) without `locality` and without a `topology.istio.io/locality` /
    `istio-locality` label has an empty locality, so it never counts as local: it always lands
    in the lowest priority, or the failover has nothing to order (docs/semantics.md §locality, §locality-failover). Only WorkloadEntries and inline endpoints are checked; pods get
    their locality from nodes and auto-registered VMs from their bootstrap metadata.
    """,
    bad="""
    kind: WorkloadEntry
    spec:
      address: 10.0.0.11      # no locality, no topology.istio.io/locality label
    """,
    good="""
    kind: WorkloadEntry
    spec:
      address: 10.0.0.11
      locality: us-east-1/us-east-1a
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §locality", "docs/semantics.md §locality-failover"),
)
def endpoint_without_locality(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    seen: set[int] = set()
    for dr, fpath, tp, field in _failover_objects(ctx):
        if field == "failoverPriority":
            lls = as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting"))
            labels = [as_str(x).split("=", 1)[0] for x in as_list(lls.get("failoverPriority"))]
            if not any(lbl in TOPOLOGY_LABELS for lbl in labels):
                continue  # custom labels: locality not involved
        for w in graph.endpoints(graph.dr_services(dr)):
            if w.kind not in ("WorkloadEntry", "Endpoint") or w.locality or w.endpoint is None or id(w) in seen:
                continue
            seen.add(id(w))
            what = (f"WorkloadEntry {w.resource.namespace}/{w.resource.name}" if w.kind == "WorkloadEntry"
                    else f"endpoint {w.endpoint.address or '?'} of ServiceEntry {w.resource.namespace}/{w.resource.name}")
            yield Problem(w.resource, w.endpoint.path + ("address",),
                          f"{what} has no locality (no `locality` field or topology.istio.io/locality label) while "
                          f"DestinationRule {dr.namespace}/{dr.name} configures locality {field} for {dr.host}: this "
                          "endpoint is never local to any client and always gets the lowest priority (§locality)",
                          related=((dr, fpath),))


# --- IVL407 ---------------------------------------------------------------------------------


@rule(
    code="IVL407", family="traffic_policy", name="locality-lb-disabled-with-settings", severity="warning",
    summary="localityLbSetting has `enabled: false` together with failover, failoverPriority or distribute, which are then dead config.",
    rationale="""
    `localityLbSetting.enabled: false` turns locality load balancing off for this rule
    (api:dr; docs/semantics.md §locality-lb-setting), so the `failover`, `failoverPriority` or `distribute`
    entries beside it are never applied. Either remove `enabled: false` or remove the dead
    settings, so readers do not believe failover is in place.
    """,
    bad="""
    localityLbSetting:
      enabled: false
      failover: [{from: us-east, to: us-west}]
    """,
    good="""
    localityLbSetting:
      failover: [{from: us-east, to: us-west}]
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §locality-lb-setting",),
)
def locality_lb_disabled_with_settings(ctx: Context) -> Iterator[Problem]:
    for dr in ctx.each(DestinationRule):
        for path, tp in traffic_policies(dr):
            lls = as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting"))
            if lls.get("enabled") is not False:
                continue
            dead = [k for k in ("failover", "failoverPriority", "distribute") if as_list(lls.get(k))]
            if dead:
                yield Problem(dr, path + ("loadBalancer", "localityLbSetting", "enabled"),
                              f"DestinationRule {dr.namespace}/{dr.name}: localityLbSetting.enabled is false, so "
                              f"{', '.join(dead)} beside it {'is' if len(dead) == 1 else 'are'} never applied (§locality-lb-setting)")


# --- IVL409 ---------------------------------------------------------------------------------

_PORT_REPLACED = ("connectionPool", "outlierDetection", "loadBalancer", "tls")


@rule(
    code="IVL409", family="traffic_policy", name="port-level-settings-drop-policy", severity="info",
    summary="A portLevelSettings entry silently drops destination-level settings it does not repeat.",
    rationale="""
    A port-level policy replaces `connectionPool`, `outlierDetection`, `loadBalancer` and `tls`
    wholesale: "Traffic settings specified at the destination-level will not be inherited when
    overridden by port-level settings, i.e. default values will be applied to fields omitted in
    port-level traffic policies" (api:dr; `MergeTrafficPolicy`, docs/semantics.md §port-level-settings). An entry that sets only, say, `connectionPool` turns the destination's
    outlier detection, load balancer and TLS back to defaults on that port. Checked for entries
    naming a port of a service defined in the repository (others are IVL206's or unknowable).
    Reported as info; as a warning when TLS origination (`tls.mode: SIMPLE`/`MUTUAL`) is dropped, because that
    port then sends plaintext, and when `failover`, `failoverPriority` or `distribute` is dropped
    (also by an entry's own `loadBalancer` without `localityLbSetting`; §locality-distribute). Dropped outlier detection under locality failover is IVL402.
    """,
    bad="""
    trafficPolicy:
      tls: {mode: SIMPLE}
      portLevelSettings:
      - port: {number: 443}
        connectionPool: {tcp: {maxConnections: 10}}   # tls is not inherited: plaintext to 443
    """,
    good="""
      portLevelSettings:
      - port: {number: 443}
        connectionPool: {tcp: {maxConnections: 10}}
        tls: {mode: SIMPLE}
    """,
    inputs=("DestinationRule",),
    references=("docs/semantics.md §port-level-settings",),
)
def port_level_settings_drop_policy(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for dr in ctx.each(DestinationRule):
        if not _well_formed(dr):
            continue
        # Only entries for real ports of a service the repository defines: an entry for a port
        # the service lacks is unused (IVL206), and for unknown hosts the port cannot be judged.
        service_ports = {p.number for s in graph.dr_services(dr) for p in s.ports if p.number is not None}
        if not service_ports:
            continue
        top = dr.traffic_policy
        objects: list[tuple[FieldPath, dict, dict]] = []
        if top:
            objects.append((("spec", "trafficPolicy"), top, top))
        for sub in dr.subsets:
            if sub.traffic_policy:
                outer = {**{k: v for k, v in top.items() if k in _PORT_REPLACED and v is not None},
                         **{k: v for k, v in sub.traffic_policy.items() if v is not None}}
                objects.append((sub.path + ("trafficPolicy",), sub.traffic_policy, outer))
        for path, tp, outer in objects:
            for i, entry in enumerate(as_list(tp.get("portLevelSettings"))):
                if not isinstance(entry, dict):
                    continue
                dropped = [k for k in _PORT_REPLACED if outer.get(k) is not None and entry.get(k) is None]
                if "outlierDetection" in dropped and _failover_field(entry.get("loadBalancer")):
                    dropped.remove("outlierDetection")  # IVL402's case
                lost_lb = _locality_settings(outer.get("loadBalancer"))
                elb = entry.get("loadBalancer")
                if lost_lb and elb is not None and not _locality_settings(elb) and not _locality_disabled(elb):
                    dropped.append("loadBalancer.localityLbSetting")  # the entry's own loadBalancer replaces it
                if not dropped:
                    continue
                mode = tls_mode(outer).upper()
                severe = "tls" in dropped and mode in ("SIMPLE", "MUTUAL")
                port = as_int(as_map(entry.get("port")).get("number"))
                if port not in service_ports:
                    continue
                extra = (f"; TLS origination ({mode}) is lost, so port {port} sends plaintext" if severe else "")
                if lost_lb and any(k.startswith("loadBalancer") for k in dropped):
                    severe, extra = True, extra + (f"; the locality load-balancing settings ({', '.join(lost_lb)}) "
                                                   f"are lost on port {port}, which follows the mesh-wide ones")
                yield Problem(dr, path + ("portLevelSettings", i),
                              f"DestinationRule {dr.namespace}/{dr.name}: the portLevelSettings entry for port {port} does "
                              f"not repeat {', '.join(dropped)}; port-level settings replace these wholesale, so on that "
                              f"port they fall back to defaults instead of the destination-level values{extra} (§port-level-settings)",
                              severity="warning" if severe else None)
