"""IVL417-IVL418: locality settings that match no client or no endpoint label
(docs/semantics.md §locality-distribute-from, §failover-priority-labels).

`distribute[].from` is matched against the locality of the *client* proxy (the proxy the
cluster is built for), not against endpoints: istiod applies the first entry whose `from`
matches `proxy.Locality` (pilot/pkg/networking/core/loadbalancer/loadbalancer.go,
`applyLocalityWeights`, `util.LocalityMatch`).
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import DestinationRule, Gateway, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.authorization import _distance
from istio_vm_lint.rules.locality import locality_match
from istio_vm_lint.semantics import traffic_policies


def _norm(part: str) -> str:
    return re.sub(r"[-_.\s]", "", part.lower())


def _client_localities(ctx: Context) -> tuple[set[str], bool]:
    """(localities of the repository's proxies that are known, whether some proxy's locality is unknown).

    A VM's locality is its WorkloadEntry's (or the WorkloadGroup template's); a pod's comes from
    its node unless a locality label pins it; gateway proxies (the stock ones are not in the
    repository) are unknown."""
    known: set[str] = set()
    unknown = bool(list(ctx.resources(Gateway)))
    for w in ctx.graph.workloads:
        if w.kind == "Endpoint" and not w.has_sidecar:
            continue  # an inline endpoint without a proxy is no client
        if w.locality:
            known.add(w.locality)
        else:
            unknown = True
    return known, unknown


def _typo_of(pattern: str, known: set[str]) -> Optional[str]:
    """A known locality that ``pattern`` spells differently only in case or separators
    (``us-east-1c`` for ``us-east1-c``): the same place, written so that it never matches."""
    parts = pattern.split("/")
    for loc in sorted(known):
        lparts = loc.split("/")
        changed = False
        for p, lp in zip(parts, lparts, strict=False):
            if p in ("*", "") or p == lp:
                continue
            if _norm(p) != _norm(lp):
                break
            changed = True
        else:
            if changed:
                return "/".join(lparts[:len(parts)]) + ("/*" if pattern.endswith("/*") and len(parts) > len(lparts) else "")
    return None


@rule(
    code="IVL417", family="locality", name="distribute-from-matches-no-client", severity="warning",
    summary="A locality-weighted `distribute` entry's `from` matches the locality of no client, so it never applies.",
    rationale="""
    `distribute[].from` selects the *clients* an entry applies to: istiod matches it against the
    locality of the proxy the configuration is built for, and the first matching entry wins
    (docs/semantics.md §locality-distribute-from). An entry whose `from` matches no client's
    locality is dead configuration, and the clients it was written for keep the default
    locality-prioritised balancing — typically a typo in the region or zone. A VM client's
    locality is its WorkloadEntry's (or WorkloadGroup template's) `locality`; pods get theirs from
    their node, so when the repository runs pods (or gateways) without a locality label, a
    `from` is only reported when it spells a known locality differently in case or separators
    only (`us-east-1c` for `us-east1-c`). When every proxy of the repository has a known
    locality, a `from` matching none of them is reported.
    """,
    bad="""
    # clients: WorkloadEntries in us-east1/us-east1-b and us-east1/us-east1-c
    distribute:
    - from: us-east1/us-east-1c/*
      to: {"us-east1/us-east1-c/*": 80, "us-east1/us-east1-b/*": 20}
    """,
    good="""
    distribute:
    - from: us-east1/us-east1-c/*
      to: {"us-east1/us-east1-c/*": 80, "us-east1/us-east1-b/*": 20}
    """,
    inputs=("DestinationRule", "WorkloadEntry", "WorkloadGroup"),
    equivalents=(),
    references=("docs/semantics.md §locality-distribute-from", "docs/semantics.md §locality-distribute"),
)
def distribute_from_matches_no_client(ctx: Context) -> Iterator[Problem]:
    objects = [(dr, path, tp) for dr in ctx.each(DestinationRule) for path, tp in traffic_policies(dr)
               if as_list(as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting")).get("distribute"))]
    if not objects:
        return
    known, unknown = _client_localities(ctx)
    if not known:
        return  # the repository shows no client locality at all: nothing to compare with
    shown = ", ".join(sorted(known))
    for dr, path, tp in objects:
        lls = as_map(as_map(tp.get("loadBalancer")).get("localityLbSetting"))
        if lls.get("enabled") is False:
            continue
        for i, entry in enumerate(as_list(lls.get("distribute"))):
            frm = as_str(as_map(entry).get("from"))
            if not frm or any(locality_match(loc, frm) for loc in known):
                continue
            fpath = path + ("loadBalancer", "localityLbSetting", "distribute", i, "from")
            typo = _typo_of(frm, known)
            if typo:
                yield Problem(dr, fpath,
                              f"DestinationRule {dr.namespace}/{dr.name}: distribute[{i}] from '{frm}' spells the "
                              f"locality '{typo}' differently, so it matches no client proxy (client localities: "
                              f"{shown}) and the entry never applies (§locality-distribute-from)")
            elif not unknown:
                yield Problem(dr, fpath,
                              f"DestinationRule {dr.namespace}/{dr.name}: distribute[{i}] from '{frm}' matches the "
                              f"locality of no client proxy in the repository (client localities: {shown}), so the "
                              "entry never applies (§locality-distribute-from)")


# --- IVL418 -------------------------------------------------------------------------------------

# Labels istiod adds to every endpoint from its locality, cluster, network and node
# (pilot/pkg/serviceregistry/util/label/label.go, AugmentLabels).
AUGMENTED_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone",
                    "topology.istio.io/cluster", "topology.istio.io/network", "kubernetes.io/hostname")
# Labels Kubernetes or Istio put on pods at run time: not visible in a pod template.
_RUNTIME_LABELS = ("pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
                   "apps.kubernetes.io/pod-index", "batch.kubernetes.io/job-name", "job-name")
_RUNTIME_PREFIXES = ("service.istio.io/", "security.istio.io/", "istio.io/", "sidecar.istio.io/")


@rule(
    code="IVL418", family="locality", name="failover-priority-label-unknown", severity="warning",
    summary="A `failoverPriority` label is neither a topology label Istio sets nor a label of any endpoint of the host, so it never orders endpoints.",
    rationale="""
    `failoverPriority` lists labels; for each endpoint istiod compares, in order, the client
    proxy's value of each label with the endpoint's, and the first mismatch decides the
    endpoint's priority (docs/semantics.md §failover-priority-labels). Besides the labels an
    endpoint carries, istiod gives every endpoint `topology.kubernetes.io/region`,
    `topology.kubernetes.io/zone`, `topology.istio.io/subzone` (from its locality),
    `topology.istio.io/cluster`, `topology.istio.io/network` and `kubernetes.io/hostname`. A
    label that no endpoint of the host has compares equal or unequal for all of them alike, so
    that priority level never prefers any endpoint — typically a misspelt topology key
    (`topology.kubernetes.io/zones`). Reported when the host's endpoints are all in the
    repository (WorkloadEntries, WorkloadGroups, pod templates, inline endpoints); labels that
    Kubernetes or Istio add to pods at run time are not judged.
    """,
    bad="""
    localityLbSetting:
      failoverPriority:
      - topology.kubernetes.io/region
      - topology.kubernetes.io/zones
    """,
    good="""
      failoverPriority:
      - topology.kubernetes.io/region
      - topology.kubernetes.io/zone
    """,
    inputs=("DestinationRule", "WorkloadEntry", "WorkloadGroup", "ServiceEntry", "Service"),
    equivalents=(),
    references=("docs/semantics.md §failover-priority-labels",),
)
def failover_priority_label_unknown(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for dr in ctx.each(DestinationRule):
        found = []
        for path, tp in traffic_policies(dr):
            found.append((path + ("loadBalancer",), as_map(tp.get("loadBalancer"))))
            for j, pls in enumerate(as_list(tp.get("portLevelSettings"))):
                found.append((path + ("portLevelSettings", j, "loadBalancer"), as_map(as_map(pls).get("loadBalancer"))))
        found = [(p, lb) for p, lb in found if as_list(as_map(lb.get("localityLbSetting")).get("failoverPriority"))]
        if not found:
            continue
        workloads = graph.endpoints(graph.dr_services(dr))
        if not workloads:
            continue
        labels: set[str] = set()
        for w in workloads:
            labels.update(w.labels)
        for path, lb in found:
            lls = as_map(lb.get("localityLbSetting"))
            if lls.get("enabled") is False:
                continue
            for i, raw in enumerate(as_list(lls.get("failoverPriority"))):
                key = as_str(raw).split("=", 1)[0]
                if not key or key in AUGMENTED_LABELS or key in labels or key in _RUNTIME_LABELS:
                    continue
                if key.startswith(_RUNTIME_PREFIXES):
                    continue
                near = next((k for k in AUGMENTED_LABELS + tuple(sorted(labels)) if _norm(k).rstrip("s") == _norm(key).rstrip("s")
                             or (len(key) > 8 and _distance(k, key) <= 2)), None)
                hint = f" (did you mean '{near}'?)" if near else ""
                yield Problem(dr, path + ("localityLbSetting", "failoverPriority", i),
                              f"DestinationRule {dr.namespace}/{dr.name}: failoverPriority label '{key}' is not a "
                              f"topology label istiod sets and no endpoint of {dr.host} has it{hint}, so this level "
                              "never prefers any endpoint (§failover-priority-labels)")
