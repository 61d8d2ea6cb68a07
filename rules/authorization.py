"""IVL117-IVL119: what an AuthorizationPolicy's rules refer to.

An AuthorizationPolicy is evaluated by the proxy of the *server* workload, on the connection
as that proxy sees it: the destination port is the workload's port (after a Service's
targetPort and a WorkloadEntry's port map), the source principal is the client's SPIFFE
identity `<trust domain>/ns/<namespace>/sa/<service account>` (docs/semantics.md
§authorization-attributes).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import AuthorizationPolicy, as_int, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.workload_selectors import policy_scope, selected_workloads

# Service accounts of the installation's own proxies (istioctl profiles and Helm charts).
INSTALLATION_ACCOUNTS = frozenset({
    "istio-ingressgateway-service-account", "istio-egressgateway-service-account",
    "istio-eastwestgateway-service-account", "istio-ingressgateway", "istio-egressgateway", "istio-eastwestgateway",
    "istio-ingress", "istio-egress", "istiod", "istiod-service-account", "istio-reader-service-account",
})
INSTALLATION_NAMESPACES = frozenset({"istio-system", "istio-ingress", "istio-egress", "kube-system", "default"})


def _rule_items(ap: AuthorizationPolicy, section: str, key: str) -> Iterator[tuple[dict[str, Any], FieldPath]]:
    """``spec.rules[i].<section>[j].<key>`` mappings (section: from/to, key: source/operation)."""
    for i, r in enumerate(as_list(ap.spec.get("rules"))):
        for j, item in enumerate(as_list(as_map(r).get(section))):
            inner = as_map(item).get(key)
            if isinstance(inner, dict):
                yield inner, ("spec", "rules", i, section, j, key)


# --- IVL117 -------------------------------------------------------------------------------------


def _known_ports(ctx: Context, w: Workload) -> tuple[set[int], set[int]]:
    """(ports the workload's proxy receives on, service ports that lead there) from the graph's bindings."""
    graph = ctx.graph
    recv: set[int] = set(w.served_ports or ())
    svc_ports: set[int] = set()
    for b in graph.bindings_by_workload.get(id(w), ()):
        for sp, ep in b.ports.items():
            svc_ports.add(sp)
            if ep:
                recv.add(ep)
    return recv, svc_ports


def workload_port_map(ctx: Context, workloads: list[Workload]) -> Optional[tuple[set[int], dict[int, set[int]]]]:
    """Ports the workloads receive on, and for each service port the workload ports it leads to.

    None when some workload's ports are not known from the repository: the PeerAuthentication
    (IVL126) and Sidecar ingress (IVL214) port rules judge only what every selected workload
    shows.
    """
    recv: set[int] = set()
    svc: dict[int, set[int]] = {}
    for w in workloads:
        r, _ = _known_ports(ctx, w)
        if not r:
            return None
        recv |= r
        for b in ctx.graph.bindings_by_workload.get(id(w), ()):
            for sp, ep in b.ports.items():
                if ep:
                    svc.setdefault(sp, set()).add(ep)
    return recv, svc


@rule(
    code="IVL117", family="authorization", name="authorization-port-is-service-port", severity="error",
    summary="An AuthorizationPolicy's to.operation.ports names a service port, but the selected workloads receive that traffic on another port.",
    rationale="""
    An AuthorizationPolicy is enforced by the server's proxy on the inbound connection, and
    `to.operation.ports` compares the port that connection arrives on: the *workload's* port,
    after the Service's `targetPort`, the ServiceEntry's `targetPort` and a WorkloadEntry's
    `ports` map (docs/semantics.md §authorization-attributes). Writing the service port (80)
    where the workload listens on 8080 makes the rule never match: an ALLOW policy then denies
    every request it was written to admit (`403 RBAC: access denied`), a DENY, AUDIT or CUSTOM
    policy silently stops applying (reported as a warning). Only reported when every selected
    workload's ports are known from the repository (bindings to Services/ServiceEntries,
    container ports), the port is a service port of theirs, and none of them receives on it.
    """,
    bad="""
    # ServiceEntry port 80 -> WorkloadEntry ports {http: 8080}
    kind: AuthorizationPolicy
    metadata: {name: payments, namespace: payments}
    spec:
      selector: {matchLabels: {app: payments}}
      rules:
      - to: [{operation: {ports: ["80"]}}]
    """,
    good="""
    kind: AuthorizationPolicy
    metadata: {name: payments, namespace: payments}
    spec:
      selector: {matchLabels: {app: payments}}
      rules:
      - to: [{operation: {ports: ["8080"]}}]
    """,
    inputs=("AuthorizationPolicy",),
    equivalents=(),
    references=("docs/semantics.md §authorization-attributes",),
)
def authorization_port_is_service_port(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for ap in ctx.each(AuthorizationPolicy):
        if ap.target_refs:
            continue  # gateways/waypoints: not modelled
        sel = ap.selector or {}
        if not sel and ap.namespace == ctx.root_namespace:
            continue  # mesh-wide: every proxy of the mesh
        workloads = selected_workloads(graph, sel, policy_scope(ctx, ap))
        if not workloads:
            continue
        recv: set[int] = set()
        svc: set[int] = set()
        for w in workloads:
            r, s = _known_ports(ctx, w)
            if not r:
                break  # a workload whose ports the repository does not show: cannot judge
            recv |= r
            svc |= s
        else:
            for op, path in _rule_items(ap, "to", "operation"):
                for key in ("ports", "notPorts"):
                    for k, raw in enumerate(as_list(op.get(key))):
                        port = as_int(raw)
                        if port is None or port in recv or port not in svc:
                            continue
                        targets = sorted({ep for w in workloads for b in graph.bindings_by_workload.get(id(w), ())
                                          for sp, ep in b.ports.items() if sp == port and ep})
                        shown = ", ".join(str(t) for t in targets) or "another port"
                        what = f"selector {sel_str(sel)}" if sel else f"namespace '{ap.namespace}'"
                        allow = ap.action == "ALLOW" and key == "ports"
                        effect = ("so the rule never matches and the requests it should admit are denied (403)"
                                  if allow else "so the rule never matches and the policy silently does not apply")
                        yield Problem(ap, path + (key, k),
                                      f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{raw}' is a "
                                      f"service port, but the workloads of {what} receive that traffic on port {shown} "
                                      f"(targetPort / WorkloadEntry ports), the port the proxy matches, {effect}",
                                      severity=None if allow else "warning")


# --- IVL118 -------------------------------------------------------------------------------------


def _accounts(ctx: Context) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(ServiceAccount objects per namespace, accounts workloads use per namespace)."""
    declared: dict[str, set[str]] = defaultdict(set)
    used: dict[str, set[str]] = defaultdict(set)
    for sa in ctx.resources("ServiceAccount"):
        declared[sa.namespace].add(sa.name)
    for w in ctx.graph.workloads:
        if w.service_account:
            used[w.namespace].add(w.service_account)
    for ns, names in ctx.gateway_api_accounts.items():  # waypoints and gateways Istio deploys
        used[ns] |= names
    return declared, used


def _near(name: str, known: set[str]) -> Optional[str]:
    for k in sorted(known):
        if k != name and (k.startswith(name) or name.startswith(k) or _distance(k, name) <= 2):
            return k
    return None


def _distance(a: str, b: str) -> int:
    if abs(len(a) - len(b)) > 2:
        return 3
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _principal_parts(p: str) -> Optional[tuple[str, str]]:
    """``<td>/ns/<ns>/sa/<sa>`` without wildcards -> (ns, sa)."""
    if "*" in p:
        return None
    parts = p.split("/")
    if len(parts) == 5 and parts[1] == "ns" and parts[3] == "sa" and parts[2] and parts[4]:
        return parts[2], parts[4]
    return None


@rule(
    code="IVL118", family="authorization", name="authorization-source-not-found", severity="warning",
    summary="An AuthorizationPolicy source names a service account or namespace that the repository shows does not exist.",
    rationale="""
    `from.source.principals` are the clients' SPIFFE identities
    `<trust domain>/ns/<namespace>/sa/<service account>`, `from.source.namespaces` their
    namespaces (docs/semantics.md §authorization-attributes). A principal whose service
    account does not exist matches no client: an ALLOW rule denies the caller it was written
    for (403), a DENY rule refuses nobody. Checked, like IVL110, only in namespaces where the
    repository declares ServiceAccounts: an account counts as existing when a ServiceAccount
    object declares it or a workload (pod template, WorkloadEntry, WorkloadGroup) runs as it,
    including the deployments Istio creates for Gateway API Gateways of its classes (a waypoint
    `waypoint` runs as `waypoint`, docs/semantics.md §gateway-api-deployments);
    `default` and the installation's gateway and istiod accounts always exist. A namespace
    that appears nowhere in the repository is reported only when it is a near miss of one that
    does (`payment` for `payments`; in a principal, only when that namespace has the account):
    other namespaces may be managed elsewhere. Wildcard
    entries (`*`, prefixes, suffixes) are not judged. Kiali reports the same as KIA0106/KIA0101
    against the live cluster.
    """,
    bad="""
    kind: AuthorizationPolicy
    metadata: {name: payments, namespace: payments}
    spec:
      rules:
      - from:
        - source:
            principals: [cluster.local/ns/shop/sa/frontend]   # the web pods run as sa "web"
    """,
    good="""
    kind: AuthorizationPolicy
    metadata: {name: payments, namespace: payments}
    spec:
      rules:
      - from:
        - source:
            principals: [cluster.local/ns/shop/sa/web]
    """,
    inputs=("AuthorizationPolicy",),
    equivalents=("KIA0106", "KIA0101", "IST0101:authz.AuthorizationPoliciesAnalyzer"),
    references=("docs/semantics.md §authorization-attributes", "docs/semantics.md §gateway-api-deployments"),
)
def authorization_source_not_found(ctx: Context) -> Iterator[Problem]:
    declared, used = _accounts(ctx)
    known_ns = set(ctx.graph.namespaces) | set(ctx.settings.external_namespaces) | INSTALLATION_NAMESPACES \
        | {ctx.root_namespace}
    for ap in ctx.each(AuthorizationPolicy):
        for src, path in _rule_items(ap, "from", "source"):
            for key in ("principals", "notPrincipals"):
                for k, raw in enumerate(as_list(src.get(key))):
                    parts = _principal_parts(as_str(raw))
                    if parts is None:
                        continue
                    ns, sa = parts
                    if ns not in declared and ns not in known_ns and len(ns) >= 4:
                        # a namespace the repository never mentions, spelt nearly like one where the
                        # account exists (`payment` for `payments`)
                        near_ns = next((n for n in sorted(set(declared) | set(used))
                                        if _distance(n, ns) <= 2 and sa in declared.get(n, set()) | used.get(n, set())),
                                       None)
                        if near_ns is not None:
                            yield Problem(ap, path + (key, k),
                                          f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{raw}' "
                                          f"names namespace '{ns}', which the repository declares nothing in (did you "
                                          f"mean '{near_ns}', where service account '{sa}' exists?); no client has that "
                                          "identity")
                        continue
                    if ns not in declared or sa == "default":
                        continue  # the repository declares no ServiceAccount there: it cannot know
                    if sa in declared[ns] or sa in used.get(ns, ()):
                        continue
                    if ns in (ctx.root_namespace, "istio-system", "istio-ingress", "istio-egress") \
                            and sa in INSTALLATION_ACCOUNTS:
                        continue
                    have = declared[ns] | used.get(ns, set())
                    near = _near(sa, have)
                    hint = f" (did you mean '{near}'?)" if near else f" (declared: {', '.join(sorted(have)[:5])})"
                    yield Problem(ap, path + (key, k),
                                  f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{raw}' names "
                                  f"service account '{sa}', which namespace '{ns}' does not declare and no workload "
                                  f"there runs as{hint}; no client has that identity")
            for key in ("namespaces", "notNamespaces"):
                for k, raw in enumerate(as_list(src.get(key))):
                    name = as_str(raw)
                    if not name or "*" in name or name in known_ns:
                        continue
                    near = next((n for n in sorted(ctx.graph.namespaces)
                                 if len(name) >= 4 and _distance(n, name) <= 2), None)
                    if near is None:
                        continue  # a namespace managed elsewhere, most likely
                    yield Problem(ap, path + (key, k),
                                  f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{name}' is a "
                                  f"namespace the repository declares nothing in (did you mean '{near}'?); no client "
                                  "comes from it")
