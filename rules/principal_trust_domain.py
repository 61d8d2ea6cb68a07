"""IVL186: an AuthorizationPolicy principal whose trust domain is not the mesh's, for a client
of the repository (docs/semantics.md §principal-trust-domain)."""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import AuthorizationPolicy, as_list, as_str
from istio_vm_lint.placeholders import is_placeholder
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.authorization import INSTALLATION_ACCOUNTS, _accounts, _rule_items

_DEFAULT = "cluster.local"


@rule(
    code="IVL186", family="authorization", name="principal-trust-domain-foreign", severity="warning",
    summary="An AuthorizationPolicy principal names a workload of the repository under a trust domain that is neither the mesh's nor one of its aliases.",
    rationale="""
    A principal is `<trust domain>/ns/<namespace>/sa/<service account>` and is compared with
    the SPIFFE identity in the client's certificate, which carries the mesh's trust domain
    (`trustDomain`, `cluster.local` unless set) (docs/semantics.md §principal-trust-domain).
    istiod rewrites a principal only when its trust domain is the mesh's, one of
    `trustDomainAliases`, or `cluster.local` (`ReplaceTrustDomainAliases`); any other trust
    domain is kept as written and never matches a client of this mesh: an ALLOW rule denies
    the caller it was written for (403), a DENY rule refuses nobody. Typical causes are a
    per-cluster trust domain in a multi-cluster mesh (all clusters of one mesh share one) and a
    policy copied from another mesh. Reported only when the repository holds the mesh config
    (the `istio` ConfigMap or an IstioOperator) and the named service account is one of its
    workloads' or the installation's gateways' (a peer mesh's clients, with their own trust
    domain, are not judged). Not checked
    by istioctl or Kiali.
    """,
    bad="""
    kind: AuthorizationPolicy
    metadata: {name: ledger, namespace: bank}
    spec:
      rules:
      - from:
        - source:
            principals: [east.local/ns/bank/sa/frontend]   # the mesh's trust domain is cluster.local
    """,
    good="""
            principals: [cluster.local/ns/bank/sa/frontend]
    """,
    inputs=("AuthorizationPolicy",),
    equivalents=(),
    references=("docs/semantics.md §principal-trust-domain", "docs/semantics.md §authorization-attributes"),
)
def principal_trust_domain_foreign(ctx: Context) -> Iterator[Problem]:
    domains = ctx.trust_domains
    if domains is None:
        return
    declared, used = _accounts(ctx)
    shown = ", ".join(sorted(domains))
    for ap in ctx.each(AuthorizationPolicy):
        for src, path in _rule_items(ap, "from", "source"):
            for key in ("principals", "notPrincipals"):
                for k, raw in enumerate(as_list(src.get(key))):
                    value = as_str(raw)
                    parts = value.split("/")
                    if len(parts) != 5 or parts[1] != "ns" or parts[3] != "sa" or "*" in value \
                            or is_placeholder(value):
                        continue
                    td, ns, sa = parts[0], parts[2], parts[4]
                    if td in domains or td == _DEFAULT or not td:
                        continue
                    mine = sa in declared.get(ns, set()) | used.get(ns, set()) or (
                        ns in (ctx.root_namespace, "istio-system", "istio-ingress", "istio-egress")
                        and sa in INSTALLATION_ACCOUNTS)
                    if not mine:
                        continue  # not a client of the repository (nor the installation's): a peer mesh's, perhaps
                    yield Problem(ap, path + (key, k),
                                  f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{value}' "
                                  f"has trust domain '{td}', but the mesh's is {shown} (trustDomain and aliases): "
                                  f"istiod keeps it as written, and the workloads running as {ns}/{sa} present an "
                                  f"identity in the mesh's trust domain, so the rule never matches them — use "
                                  "the mesh's trust domain or list it in trustDomainAliases (§principal-trust-domain)")
