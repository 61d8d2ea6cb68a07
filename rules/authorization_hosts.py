"""IVL182: an AuthorizationPolicy on gateway proxies whose `to.operation.hosts` entry misspells
a host the gateway serves (docs/semantics.md §authorization-gateway-hosts)."""

from __future__ import annotations

import difflib
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import hosts_overlap
from istio_vm_lint.model import AuthorizationPolicy, Gateway, as_list
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.authorization import _rule_items
from istio_vm_lint.rules.authorization_tcp import gateway_workload
from istio_vm_lint.rules.workload_selectors import policy_scope, selected_workloads


def _served(host: str, served: list[str]) -> bool:
    """Can requests for the policy host ``host`` (port stripped, wildcards as Istio allows:
    ``*.x`` suffix, ``x.*`` prefix) arrive at a server admitting ``served``?"""
    if host == "*" or host.endswith("*"):
        return True  # a prefix match ("api.*"): not judged
    return any(s == "*" or hosts_overlap(s, host) for s in served)


def _near(host: str, served: list[str]) -> Optional[str]:
    plain = [s for s in served if "*" not in s]
    best = difflib.get_close_matches(host, plain, n=1, cutoff=0.8)
    return best[0] if best else None


@rule(
    code="IVL182", family="authorization", name="authorization-host-not-served-by-gateway", severity="warning",
    summary="An AuthorizationPolicy on gateway proxies matches `hosts` that none of the Gateway servers on those proxies admits, spelt nearly like one they do.",
    rationale="""
    `to.operation.hosts` is compared with the request's Host (authority) header
    (docs/semantics.md §authorization-gateway-hosts). On a gateway proxy the hosts requests
    can carry are the ones its Gateway servers admit; an entry that is a misspelling of one of
    them (`hr.corp.example.org` for `hr.corp.example.com`) never matches: an ALLOW rule written
    for that host admits nothing (403 for every request to it), a DENY rule never applies.
    Reported only when the policy selects gateway pods of the repository (or, when the gateway
    pods are installed elsewhere, Gateways of the repository have exactly the policy's
    selector), those Gateways admit no `*`, no server admits the entry, and an admitted host
    is within difflib's 0.8 ratio of it (other Gateways for the same pods may live elsewhere).
    """,
    bad="""
    kind: Gateway
    spec:
      selector: {istio: ingress-gateway}
      servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: [hr.corp.example.com]}]
    ---
    kind: AuthorizationPolicy
    spec:
      selector: {matchLabels: {istio: ingress-gateway}}
      rules:
      - to: [{operation: {hosts: [hr.corp.example.org]}}]
    """,
    good="""
      rules:
      - to: [{operation: {hosts: [hr.corp.example.com]}}]
    """,
    inputs=("AuthorizationPolicy",),
    equivalents=(),
    references=("docs/semantics.md §authorization-gateway-hosts", "docs/semantics.md §authorization-attributes"),
)
def authorization_host_not_served(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    gateways = ctx.resources(Gateway)
    if not gateways:
        return
    for ap in ctx.each(AuthorizationPolicy):
        sel = ap.selector or {}
        if ap.target_refs or not sel:
            continue
        workloads = selected_workloads(graph, sel, policy_scope(ctx, ap))
        if workloads:
            if not all(gateway_workload(ctx, w) for w in workloads):
                continue
            on = [gw for gw in gateways if gw.selector and any(all(w.labels.get(k) == v for k, v in gw.selector.items())
                                                                for w in workloads)]
        else:  # gateway pods installed elsewhere: the Gateways with the policy's selector run on them
            on = [gw for gw in gateways if gw.selector == sel]
        served = sorted({h.split("/", 1)[-1].lower() for gw in on for srv in gw.servers for h in srv.hosts})
        if not served or "*" in served:
            continue
        for op, path in _rule_items(ap, "to", "operation"):
            for key in ("hosts", "notHosts"):
                for k, raw in enumerate(as_list(op.get(key))):
                    if not isinstance(raw, str):
                        continue
                    host = raw.lower().rsplit(":", 1)[0] if raw.count(":") == 1 else raw.lower()
                    near = None if _served(host, served) else _near(host, served)
                    if near is None:
                        continue
                    allow = ap.action == "ALLOW" and key == "hosts"
                    effect = ("so the rule never matches and the requests it was written to admit are denied (403)"
                              if allow else "so the rule never matches")
                    names = ", ".join(f"{g.namespace}/{g.name}" for g in on)
                    yield Problem(ap, path + (key, k),
                                  f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}) on the gateway pods of "
                                  f"selector {sel_str(sel)}: {key} '{raw}' is admitted by no server of Gateway(s) {names} "
                                  f"(did you mean '{near}'?), {effect} (§authorization-gateway-hosts)")
