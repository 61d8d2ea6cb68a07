"""IVL115, IVL116, IVL119, IVL120: the selectors and targetRefs of workload policies, VirtualService source matches.

AuthorizationPolicy, RequestAuthentication, PeerAuthentication, Telemetry, EnvoyFilter and
WasmPlugin configure the proxies their selector picks.  Which proxies a selector can pick
depends on the kind and on the policy's namespace (docs/semantics.md §policy-selector-scope):

* own namespace only: PeerAuthentication, Telemetry (and Sidecar, IVL720);
* own namespace, and every namespace when the policy is in the root namespace:
  AuthorizationPolicy, RequestAuthentication, EnvoyFilter, WasmPlugin;
* a PeerAuthentication with a selector in the root namespace is ignored altogether (IVL116).

Workloads are the graph's: WorkloadEntries, WorkloadGroups and pod templates.  As for the
ServiceEntry and Sidecar selectors, a selector is only reported when the repository declares
workloads where it searches, and selectors of the installation's stock gateways and runtime
labels (injected by istiod or controllers) are never judged.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import MeshGraph, Workload
from istio_vm_lint.model import (
    AuthorizationPolicy,
    PeerAuthentication,
    Resource,
    VirtualService,
    WorkloadPolicy,
    as_list,
    as_map,
    as_str,
    str_list,
    str_map,
)
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.selectors._common import (
    RUNTIME_LABEL_PREFIXES,
    RUNTIME_LABELS,
    SEARCHED,
    SELECTABLE,
    STOCK_GATEWAY_LABELS,
    near_related,
    nearest_hint,
)

POLICY_KINDS = ("AuthorizationPolicy", "RequestAuthentication", "PeerAuthentication", "Telemetry", "EnvoyFilter",
                "WasmPlugin")
# Kinds whose root-namespace objects select workloads of every namespace (§policy-selector-scope).
ROOT_SELECTS_ALL = frozenset({"AuthorizationPolicy", "RequestAuthentication", "EnvoyFilter", "WasmPlugin"})
GATEWAY_NAME_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name")

_EFFECT = {
    "AuthorizationPolicy": "its rules are enforced on no proxy",
    "RequestAuthentication": "no proxy validates the JWTs it describes",
    "PeerAuthentication": "the namespace-wide or mesh-wide mTLS mode applies instead",
    "Telemetry": "its telemetry settings reach no proxy",
    "EnvoyFilter": "its patches are applied to no proxy",
    "WasmPlugin": "the plugin is loaded by no proxy",
}


def _selector(r: Resource) -> tuple[Optional[dict[str, str]], FieldPath]:
    if isinstance(r, WorkloadPolicy):
        return r.selector, r.selector_path
    if isinstance(r, PeerAuthentication):
        return r.selector, ("spec", "selector", "matchLabels")
    return None, ()


def _unjudgeable(ctx: Context, sel: dict[str, str], namespaces: Optional[list[str]]) -> bool:
    """Selectors the repository cannot decide: runtime labels, the stock gateways, Gateway API gateways."""
    for k in sel:
        if k in RUNTIME_LABELS or k.startswith(RUNTIME_LABEL_PREFIXES):
            return True
    if all((k, v) in STOCK_GATEWAY_LABELS or (k, None) in STOCK_GATEWAY_LABELS for k, v in sel.items()):
        return True  # the installation's own gateway, deployed outside the repository
    for key in GATEWAY_NAME_LABELS:
        name = sel.get(key)
        if name is not None and any(n == name and (namespaces is None or ns in namespaces)
                                    for (ns, n) in ctx.gateway_api):
            return True  # pods that istiod deploys for a Gateway API Gateway of the repository
    return False


def _similar(a: str, b: str) -> bool:
    if a == b:
        return False
    if a in b or b in a:
        return True
    if abs(len(a) - len(b)) > 2:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] <= 2


def near_miss(candidates: list[Workload], sel: dict[str, str]) -> Optional[Workload]:
    """A workload the selector was probably meant for: all pairs but one equal (at least one), or a
    pair whose value is a near spelling of the workload's.  None when the selector names labels
    nothing in the repository resembles — most likely workloads deployed from elsewhere."""
    best: Optional[tuple[int, Workload]] = None
    for w in sorted(candidates, key=lambda w: (w.namespace, w.resource.kind, w.resource.name)):
        equal = sum(1 for k, v in sel.items() if w.labels.get(k) == v)
        close = any(k in w.labels and _similar(v, w.labels[k]) for k, v in sel.items())
        if (equal >= 1 and equal >= len(sel) - 1) or close:
            score = 2 * equal + close
            if best is None or score > best[0]:
                best = (score, w)
    return best[1] if best else None


def policy_scope(ctx: Context, r: Resource) -> Optional[list[str]]:
    """Namespaces whose workloads the policy's selector can pick; None = every namespace."""
    if r.kind in ROOT_SELECTS_ALL and r.namespace == ctx.root_namespace:
        return None
    return [r.namespace]


def selected_workloads(graph: MeshGraph, sel: dict[str, str], scope: Optional[list[str]]) -> list[Workload]:
    if scope is None:
        return graph.select_any_namespace(sel, SELECTABLE)
    return [w for ns in scope for w in graph.select(ns, sel, SELECTABLE)]


# --- IVL115 -------------------------------------------------------------------------------------


@rule(
    code="IVL115", family="workload_selectors", name="policy-selector-matches-nothing", severity="warning",
    summary="An AuthorizationPolicy, RequestAuthentication, PeerAuthentication, Telemetry, EnvoyFilter or WasmPlugin selector matches no workload it can apply to.",
    rationale="""
    A workload policy configures the proxies whose labels include every pair of its selector
    (`WorkloadPolicyMatcher.isSelected`, docs/semantics.md §policy-selector-scope). Which
    proxies it can reach depends on the kind: PeerAuthentication and Telemetry select only in
    their own namespace; AuthorizationPolicy, RequestAuthentication, EnvoyFilter and WasmPlugin
    select in their own namespace and, when they live in the root namespace (`istio-system`),
    in every namespace. A selector that matches no workload there is configuration that is
    silently applied nowhere: an ALLOW or DENY policy that protects nothing (fail-open), JWTs
    nobody validates, an mTLS exception that never applies. Workloads are WorkloadEntries,
    WorkloadGroups (their future entries) and the pod templates of Deployments, StatefulSets
    etc., so policies for VMs are judged too (`istioctl analyze` knows Pods only). Silent when
    the repository declares no workload where the selector searches or none resembles the
    selector (all pairs but one equal, or a value spelt nearly alike: otherwise the workloads are
    most likely deployed from elsewhere) and no workload of another namespace matches it exactly
    (the policy was put in the wrong namespace), for selectors of the
    installation's stock gateways (`istio: ingressgateway` …), for pods of a Gateway API
    Gateway the repository declares, and for labels set at run time (`service.istio.io/…`,
    `topology.istio.io/…`, `pod-template-hash` …). A root-namespace PeerAuthentication with a
    selector is IVL116.
    """,
    bad="""
    kind: AuthorizationPolicy
    metadata: {name: orders-allow, namespace: shop}
    spec:
      selector:
        matchLabels: {app: order}     # the WorkloadEntries have app: orders
      action: ALLOW
      rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]
    """,
    good="""
    kind: AuthorizationPolicy
    metadata: {name: orders-allow, namespace: shop}
    spec:
      selector:
        matchLabels: {app: orders}
      action: ALLOW
      rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]
    """,
    inputs=POLICY_KINDS,
    equivalents=("IST0127", "KIA0004"),
    references=("docs/semantics.md §policy-selector-scope",),
)
def policy_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    root = ctx.root_namespace
    for r in ctx.each(*POLICY_KINDS):
        sel, path = _selector(r)
        if not sel:
            continue  # no (or empty) selector: namespace-wide / mesh-wide
        if isinstance(r, WorkloadPolicy) and r.target_refs:
            continue  # targetRefs and a selector together are rejected by validation
        if isinstance(r, PeerAuthentication) and r.namespace == root:
            continue  # IVL116
        scope = policy_scope(ctx, r)
        if selected_workloads(graph, sel, scope):
            continue
        candidates = selected_workloads(graph, {}, scope)
        if not candidates:
            continue  # the repository declares no workload there: nothing to compare against
        if _unjudgeable(ctx, sel, scope):
            continue
        near = near_miss(candidates, sel)
        others = [] if scope is None else sorted(
            (w for w in graph.select_any_namespace(sel, SELECTABLE)
             if w.namespace != r.namespace and w.resource.namespace_explicit and r.namespace_explicit),
            key=lambda w: (w.namespace, w.resource.name))
        if near is None and not others:
            continue  # nothing resembles the selector: workloads deployed from elsewhere, not a typo
        where = "in any namespace (a root-namespace policy selects in all of them)" if scope is None \
            else f"in namespace '{r.namespace}'"
        hint = nearest_hint(near, sel)
        elsewhere = ""
        if others:
            elsewhere = (f"; {others[0].resource.kind} {others[0].namespace}/{others[0].resource.name} matches but "
                         f"a {r.kind} selects only in its own namespace")
        effect = _EFFECT.get(r.kind, "it applies to no proxy")
        if isinstance(r, AuthorizationPolicy) and r.action in ("DENY", "CUSTOM"):
            effect += " (the requests it should refuse are let through)"
        yield Problem(r, path,
                      f"{r.kind} {r.namespace}/{r.name}: selector {sel_str(sel)} matches none of the {SEARCHED} "
                      f"{where}{hint}{elsewhere}; {effect}",
                      related=near_related(near))


# --- IVL116 -------------------------------------------------------------------------------------


@rule(
    code="IVL116", family="workload_selectors", name="root-peer-authentication-selector-ignored", severity="warning",
    summary="A PeerAuthentication with a selector in the root namespace is ignored by Istio.",
    rationale="""
    Istio composes a workload's mTLS mode from at most three PeerAuthentications: the
    mesh-wide one (root namespace, no selector), the namespace-wide one (no selector) and a
    workload one (a selector, in a namespace *other than* the root namespace). A
    PeerAuthentication that has a selector and lives in the root namespace fits none of these
    and is skipped (`ComposePeerAuthentication`, docs/semantics.md §policy-selector-scope), so
    its mode — typically a STRICT requirement or a PERMISSIVE exception for a port — never
    applies. Put a workload policy in the workload's namespace; drop the selector for a
    mesh-wide one.
    """,
    bad="""
    kind: PeerAuthentication
    metadata: {name: vm-strict, namespace: istio-system}
    spec:
      selector: {matchLabels: {app: orders}}
      mtls: {mode: STRICT}
    """,
    good="""
    kind: PeerAuthentication
    metadata: {name: vm-strict, namespace: shop}
    spec:
      selector: {matchLabels: {app: orders}}
      mtls: {mode: STRICT}
    """,
    inputs=("PeerAuthentication",),
    equivalents=(),
    references=("docs/semantics.md §policy-selector-scope",),
)
def root_peer_authentication_selector_ignored(ctx: Context) -> Iterator[Problem]:
    root = ctx.root_namespace
    for pa in ctx.each(PeerAuthentication):
        if pa.namespace != root or not pa.selector:
            continue
        yield Problem(pa, ("spec", "selector"),
                      f"PeerAuthentication {pa.namespace}/{pa.name} has a selector ({sel_str(pa.selector)}) but lives in "
                      f"the root namespace '{root}': Istio applies root-namespace PeerAuthentications only without a "
                      "selector (mesh-wide), so this one is ignored and its mode "
                      f"({pa.mtls_mode}) applies nowhere — move it to the workloads' namespace")


# --- IVL120 -------------------------------------------------------------------------------------


def _source_matches(vs: VirtualService) -> Iterator[tuple[dict[str, Any], FieldPath, tuple[str, ...], bool]]:
    """Every ``<http|tls|tcp>[i].match[j]`` with its effective gateways and whether source fields are
    ignored (an HTTP match that names gateways: ``sourceMatchHTTP`` then checks the gateways only)."""
    for kind in ("http", "tls", "tcp"):
        for i, route in enumerate(as_list(vs.spec.get(kind))):
            for j, m in enumerate(as_list(as_map(route).get("match"))):
                if isinstance(m, dict):
                    own = tuple(str_list(m.get("gateways")))
                    yield m, ("spec", kind, i, "match", j), own or vs.gateways, kind == "http" and bool(own)


@rule(
    code="IVL120", family="workload_selectors", name="source-match-matches-no-client", severity="warning",
    summary="A mesh VirtualService match on sourceLabels or sourceNamespace can match no client the VirtualService applies to.",
    rationale="""
    `sourceLabels` and `sourceNamespace` restrict a route to clients whose proxy has those
    labels or runs in that namespace (docs/semantics.md §source-match). For the `mesh`
    gateway the clients are the sidecars of the namespaces the VirtualService is exported to;
    the match is compiled into the client's own routes only when its labels and namespace fit
    (`sourceMatchHTTP`/`sourceMatchTCP` in pilot). A match that fits no such workload is a
    dead route: the canary for "requests from the VMs", the rerouting of one namespace's
    traffic silently never happens and the requests fall through to the next route. Reported
    when no WorkloadEntry, WorkloadGroup or pod template in the reachable namespaces has the
    labels but one resembles them (silent when the repository declares no workload there or
    none is a near miss, and for runtime labels),
    and when `sourceNamespace` names a namespace the VirtualService is not exported to (or a
    near spelling of a namespace of the repository that exists nowhere). An HTTP
    match that also names `gateways` is reported too: for HTTP, Istio then checks the gateways
    only and ignores `sourceLabels`/`sourceNamespace`, so the route applies to every client.
    Gateway-bound matches are not judged (the gateway pods are usually not in the repository).
    """,
    bad="""
    kind: VirtualService
    metadata: {name: ratings, namespace: ratings}
    spec:
      hosts: [ratings.mesh.internal]
      http:
      - match:
        - sourceLabels: {app: fronted}     # the clients have app: frontend
        route: [{destination: {host: ratings.mesh.internal, subset: v2}}]
      - route: [{destination: {host: ratings.mesh.internal, subset: v1}}]
    """,
    good="""
    kind: VirtualService
    metadata: {name: ratings, namespace: ratings}
    spec:
      hosts: [ratings.mesh.internal]
      http:
      - match:
        - sourceLabels: {app: frontend}
        route: [{destination: {host: ratings.mesh.internal, subset: v2}}]
      - route: [{destination: {host: ratings.mesh.internal, subset: v1}}]
    """,
    inputs=("VirtualService",),
    equivalents=(),
    references=("docs/semantics.md §source-match",),
)
def source_match_matches_no_client(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for vs in ctx.each(VirtualService):
        exported = {vs.namespace if e == "." else e for e in vs.export_to}
        everywhere = "*" in exported
        for m, path, gws, ignored in _source_matches(vs):
            sns = as_str(m.get("sourceNamespace"))
            if ignored:
                fields = [f for f in ("sourceLabels", "sourceNamespace") if m.get(f)]
                if fields:
                    yield Problem(vs, path + (fields[0],),
                                  f"VirtualService {vs.namespace}/{vs.name}: this HTTP match names gateways "
                                  f"({', '.join(gws)}), so Istio ignores its {' and '.join(fields)} and applies the "
                                  "route to every client of those gateways — drop the match's gateways (the "
                                  "VirtualService's own list still applies) to keep the source restriction")
                continue
            if any(g != "mesh" for g in gws):
                continue  # gateway clients: not judged
            if sns and not everywhere and sns not in exported:
                yield Problem(vs, path + ("sourceNamespace",),
                              f"VirtualService {vs.namespace}/{vs.name}: sourceNamespace '{sns}' is not among the "
                              f"namespaces the VirtualService is exported to ({', '.join(sorted(exported)) or 'none'}), "
                              "so no client there ever gets this route")
                continue
            if sns and sns not in graph.namespaces and sns not in ctx.settings.external_namespaces:
                near_ns = next((n for n in sorted(graph.namespaces) if len(sns) >= 4 and _similar(sns, n)
                                and abs(len(n) - len(sns)) <= 2), None)
                if near_ns is not None:
                    yield Problem(vs, path + ("sourceNamespace",),
                                  f"VirtualService {vs.namespace}/{vs.name}: sourceNamespace '{sns}' is a namespace the "
                                  f"repository declares nothing in (did you mean '{near_ns}'?); the route never matches")
                    continue
            sel = str_map(m.get("sourceLabels"))
            if not sel:
                continue
            scope = [sns] if sns else (None if everywhere else sorted(exported - {"~"}))
            if selected_workloads(graph, sel, scope):
                continue
            candidates = selected_workloads(graph, {}, scope)
            if not candidates or _unjudgeable(ctx, sel, scope):
                continue
            near = near_miss(candidates, sel)
            if near is None:
                continue  # nothing resembles the labels: clients deployed from elsewhere
            hint = nearest_hint(near, sel)
            where = "in any namespace" if scope is None else \
                f"in namespace{'s' if len(scope) > 1 else ''} {', '.join(repr(n) for n in scope)}"
            yield Problem(vs, path + ("sourceLabels",),
                          f"VirtualService {vs.namespace}/{vs.name}: sourceLabels {sel_str(sel)} match none of the "
                          f"{SEARCHED} {where} (the clients this VirtualService applies to){hint}; the route never "
                          "matches and requests fall through to the next one",
                          related=near_related(near))


# --- IVL119 -------------------------------------------------------------------------------------

_TARGET_KINDS = {("gateway.networking.k8s.io", "Gateway"), ("", "Service"), ("core", "Service"),
                 ("networking.istio.io", "ServiceEntry")}


@rule(
    code="IVL119", family="workload_selectors", name="policy-target-ref-not-found", severity="warning",
    summary="A workload policy's targetRef names a Gateway, Service or ServiceEntry that does not exist in its namespace.",
    rationale="""
    `targetRef`/`targetRefs` attach an AuthorizationPolicy, RequestAuthentication, Telemetry,
    WasmPlugin or EnvoyFilter to a Kubernetes Gateway API Gateway, or (for waypoints) to a
    Service or ServiceEntry, always of the policy's own namespace (`ShouldAttachPolicy`,
    docs/semantics.md §policy-selector-scope). A reference to an object that does not exist
    attaches the policy to nothing — an authorization rule that protects nothing, JWTs nobody
    validates. Reported when the repository declares objects of that kind in the policy's
    namespace (so a missing one is a typo, not an object managed elsewhere). A
    `targetRef.namespace` other than the policy's is rejected by the CRD's CEL rule ("cross
    namespace referencing is not currently supported"), which IVL011 reports.
    """,
    bad="""
    kind: AuthorizationPolicy
    metadata: {name: edge-allow, namespace: edge}
    spec:
      targetRefs:
      - {group: gateway.networking.k8s.io, kind: Gateway, name: public-gw}   # the Gateway is "public"
      action: ALLOW
      rules: [{to: [{operation: {hosts: [shop.example.com]}}]}]
    """,
    good="""
    kind: AuthorizationPolicy
    metadata: {name: edge-allow, namespace: edge}
    spec:
      targetRefs:
      - {group: gateway.networking.k8s.io, kind: Gateway, name: public}
      action: ALLOW
      rules: [{to: [{operation: {hosts: [shop.example.com]}}]}]
    """,
    inputs=("AuthorizationPolicy", "RequestAuthentication", "Telemetry", "EnvoyFilter", "WasmPlugin"),
    equivalents=(),
    references=("docs/semantics.md §policy-selector-scope",),
)
def policy_target_ref_not_found(ctx: Context) -> Iterator[Problem]:
    gw_api = ctx.gateway_api
    services = {(s.namespace, s.name) for s in ctx.resources("Service")}
    entries = {(s.namespace, s.name) for s in ctx.resources("ServiceEntry")}
    for r in ctx.each(WorkloadPolicy):  # AuthorizationPolicy, RequestAuthentication, Telemetry, EnvoyFilter, WasmPlugin
        for t in r.target_refs:
            if t.namespace and t.namespace != r.namespace:
                continue  # the CRD's CEL rule rejects it (IVL011: "cross namespace referencing is not currently supported")
            group = t.group or ""
            if (group, t.kind) not in _TARGET_KINDS or not t.name:
                continue
            if t.kind == "Gateway":
                known, what = set(gw_api), "Gateway API Gateway"
            elif t.kind == "Service":
                known, what = services, "Service"
            else:
                known, what = entries, "ServiceEntry"
            here = sorted(n for (ns, n) in known if ns == r.namespace)
            if not here or (r.namespace, t.name) in known:
                continue  # the repository declares no such objects there: it may be managed elsewhere
            hint = f" (there: {', '.join(here[:5])})"
            yield Problem(r, t.path + ("name",),
                          f"{r.kind} {r.namespace}/{r.name}: targetRef {t.kind} '{t.name}' matches no {what} in namespace "
                          f"'{r.namespace}'{hint}; a policy attaches only to targets of its own namespace, so it applies "
                          "to nothing")
