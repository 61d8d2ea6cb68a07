"""IVL416: locality-weighted distribution toward localities without endpoints
(docs/semantics.md §locality-distribute).

For a client whose locality matches a `distribute[].from`, istiod gives each endpoint group the
weight of the first `to` key whose locality pattern matches it and removes every endpoint group
that no `to` key matches (pilot/pkg/networking/core/loadbalancer/loadbalancer.go,
`applyLocalityWeights`; patterns as `LocalityMatch` in pilot/pkg/networking/util/util.go).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterator

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import DestinationRule, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import traffic_policies

from ._messages import describe, wkey


def _locality_settings(lb: Any) -> list[str]:
    """The localityLbSetting fields a loadBalancer configures (failover, failoverPriority, distribute)."""
    lls = as_map(as_map(lb).get("localityLbSetting"))
    if lls.get("enabled") is False:
        return []
    return [k for k in ("failover", "failoverPriority", "distribute") if as_list(lls.get(k))]


def _locality_disabled(lb: Any) -> bool:
    return as_map(as_map(lb).get("localityLbSetting")).get("enabled") is False


def locality_match(locality: str, pattern: str) -> bool:
    """pilot/pkg/networking/util/util.go LocalityMatch: `*` or an omitted zone/subzone matches anything."""
    lr, lz, ls = (locality.split("/", 2) + ["", ""])[:3]
    pr, pz, ps = (pattern.split("/", 2) + ["", ""])[:3]
    return ((pr == "*" or pr == lr) and (pz in ("*", "") or pz == lz) and (ps in ("*", "") or ps == ls))


@rule(
    code="IVL416", family="locality", name="distribute-to-locality-without-endpoints", severity="warning",
    severity_note="error when no `to` locality of a distribute entry has an endpoint: the clients it matches get no endpoint at all.",
    summary="A locality-weighted `distribute` sends a share of traffic to a locality where the host has no endpoint.",
    rationale="""
    `localityLbSetting.distribute` gives, for clients in the `from` locality, each `to`
    locality a weight; endpoints in localities that no `to` key matches are removed for those
    clients (docs/semantics.md §locality-distribute). A `to` key that matches no endpoint —
    usually a typo, a zone written as a region, or a missing `/*` level — weighs nothing, and the
    endpoints it was meant for receive no traffic from those clients; when no `to` key matches
    any endpoint, every endpoint is removed and those clients get 503s. Endpoint localities come
    from the WorkloadEntries, inline endpoints and WorkloadGroups of the host (`locality`, else
    the `topology.istio.io/locality` label); silent unless every endpoint's locality is known
    (pods get theirs from their nodes). `from` keys name client localities and are not judged.
    """,
    bad="""
    localityLbSetting:
      distribute:
      - from: us-east-1/*
        to:
          "us-east-1/*": 80
          "us-west2/*": 20       # endpoints are in us-east-1 and us-west-2
    """,
    good="""
        to:
          "us-east-1/*": 80
          "us-west-2/*": 20
    """,
    inputs=("DestinationRule", "WorkloadEntry", "ServiceEntry"),
    equivalents=(),
    references=("docs/semantics.md §locality-distribute", "docs/semantics.md §locality"),
)
def distribute_without_endpoints(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for dr in ctx.each(DestinationRule):
        objects = [(p, tp) for p, tp in traffic_policies(dr)
                   if as_list(as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting")).get("distribute"))]
        if not objects:
            continue
        workloads = graph.endpoints(graph.dr_services(dr))
        if not workloads or any(w.kind == "Pod" or not w.locality for w in workloads):
            continue
        localities = sorted({w.locality for w in workloads})
        shown = ", ".join(localities)
        for path, tp in objects:
            lls = as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting"))
            if lls.get("enabled") is False:
                continue
            for i, entry in enumerate(as_list(lls.get("distribute"))):
                to = as_map(as_map(entry).get("to"))
                keys = [k for k in to if isinstance(k, str) and k]
                if not keys:
                    continue
                empty = [k for k in keys if not any(locality_match(loc, k) for loc in localities)]
                if not empty:
                    continue
                epath = path + ("loadBalancer", "localityLbSetting", "distribute", i)
                frm = as_map(entry).get("from")
                if len(empty) == len(keys):
                    yield Problem(dr, epath + ("to",),
                                  f"DestinationRule {dr.namespace}/{dr.name}: distribute[{i}] (from {frm!r}) sends "
                                  f"traffic only to {empty}, where no endpoint of {dr.host} is (endpoint localities: "
                                  f"{shown}); every endpoint is removed for those clients (503)", severity="error")
                    continue
                for k in empty:
                    yield Problem(dr, epath + ("to", k),
                                  f"DestinationRule {dr.namespace}/{dr.name}: distribute[{i}] (from {frm!r}) gives "
                                  f"{to.get(k)!r} to '{k}', where no endpoint of {dr.host} is (endpoint localities: "
                                  f"{shown}): that weight applies to no endpoint, and the endpoints that no `to` key "
                                  f"matches get no traffic from those clients")


# --- IVL405 with endpoints of unknown locality (rules/traffic_policy.py) ---------------------


def _region_typo(a: str, b: str) -> bool:
    """Are two region names one name spelt twice?  The same letters and digits apart from
    punctuation (`eu-central1`, `eu-central-1`), or an edit or two apart with the same digits
    (`eu-centrl-1`); `us-east-1` and `us-east-2` are two regions."""
    if a == b:
        return False
    if re.sub(r"[-_.]", "", a.lower()) == re.sub(r"[-_.]", "", b.lower()):
        return True
    if re.sub(r"[^0-9]", "", a) != re.sub(r"[^0-9]", "", b) or min(len(a), len(b)) < 5:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.9


def _failover_region_misspelt(dr: DestinationRule, fpath: FieldPath, tp: dict,
                              known: list) -> Iterator[Problem]:
    """Some endpoints' locality is unknown (pods, auto-registered VMs), so a `to` region without
    known endpoints may hold them; but a `to` region that is a misspelling of the region of an
    endpoint whose locality is known, a region no failover entry names, is a typo on one side."""
    if not known:
        return
    lls = as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting"))
    entries = [as_map(e) for e in as_list(lls.get("failover"))]
    named = {as_str(e.get(k)) for e in entries for k in ("from", "to")}
    by_region: dict[str, Any] = {}
    for w in sorted(known, key=wkey):
        by_region.setdefault(w.locality.split("/", 1)[0], w)
    for i, em in enumerate(entries):
        value = as_str(em.get("to"))
        if not value or "/" in value or "*" in value or value in by_region:
            continue
        near = next((r for r in sorted(by_region) if r not in named and _region_typo(value, r)), None)
        if near is None:
            continue
        w = by_region[near]
        yield Problem(dr, fpath + (i, "to"),
                      f"DestinationRule {dr.namespace}/{dr.name}: failover to '{value}': no endpoint of {dr.host} with "
                      f"a known locality is in that region, but {describe(w)} is in '{near}', which no failover entry "
                      f"names: one of the two is misspelt, so clients fail over to nothing there and that endpoint "
                      f"only ever gets the lowest priority (§locality-failover)",
                      related=((w.resource, w.labels_path),))
