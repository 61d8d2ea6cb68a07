"""IVL181: a pod template's serviceAccountName that its namespace does not declare
(docs/semantics.md §pod-service-account)."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Resource, WorkloadController
from istio_vm_lint.placeholders import is_placeholder
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.authorization import INSTALLATION_ACCOUNTS, _distance


@rule(
    code="IVL181", family="selectors", name="pod-service-account-not-found", severity="warning",
    summary="A Deployment's (StatefulSet's, DaemonSet's ...) pod template names a serviceAccountName its namespace does not declare, in a namespace whose ServiceAccounts the repository declares.",
    rationale="""
    Kubernetes' ServiceAccount admission refuses a pod whose `serviceAccountName` does not exist
    in its namespace, so the controller creates no pod at all: the Service has no endpoints
    (503 UH) and the Deployment never becomes ready (docs/semantics.md §pod-service-account). The
    account is also the workload's mesh identity, `spiffe://<trust domain>/ns/<ns>/sa/<name>`,
    which AuthorizationPolicy principals name: an account renamed in one place (`portal-sa`
    for `portal`) breaks both. Reported only for namespaces in which the repository declares at
    least one ServiceAccount (a repository without them cannot know), never for `default`, and
    at most info while an unrendered Helm chart could create it or when the workload's namespace
    is only assumed (a namespace-less file); the accounts of Istio's own
    installation (istiod, the stock gateways) are not checked. IVL110 checks the accounts of
    VMs.
    """,
    bad="""
    kind: ServiceAccount
    metadata: {name: portal, namespace: portal}
    ---
    kind: Deployment
    metadata: {name: portal, namespace: portal}
    spec:
      template:
        spec:
          serviceAccountName: portal-sa    # no such ServiceAccount: no pod is created
    """,
    good="""
    kind: Deployment
    metadata: {name: portal, namespace: portal}
    spec:
      template:
        spec:
          serviceAccountName: portal
    """,
    inputs=("ServiceAccount",),
    equivalents=(),
    references=("docs/semantics.md §pod-service-account", "docs/semantics.md §workloadentry-identity"),
)
def pod_service_account_not_found(ctx: Context) -> Iterator[Problem]:
    accounts: dict[str, set[str]] = defaultdict(set)
    by_name: dict[str, list[Resource]] = defaultdict(list)
    for sa in ctx.resources("ServiceAccount"):
        accounts[sa.namespace].add(sa.name)
        by_name[sa.name].append(sa)
    if not accounts:
        return
    for wc in ctx.each(WorkloadController):
        if not wc.has_template:
            continue
        pod = wc.pod
        known = accounts.get(wc.namespace)
        name = pod.service_account
        if (known is None or not name or name == "default" or name in known or is_placeholder(name)
                or name in INSTALLATION_ACCOUNTS):
            continue
        spec_path = pod.path + ("spec",)
        spec = wc.data
        for key in spec_path:
            spec = spec.get(key) if isinstance(spec, dict) and isinstance(key, str) else None
        field = "serviceAccountName" if isinstance(spec, dict) and "serviceAccountName" in spec else "serviceAccount"
        near = [k for k in sorted(known, key=lambda k: (_distance(k, name), k))
                if _distance(k, name) <= 2 or (len(k) >= 4 and (name.startswith(k) or k.startswith(name)))]
        hint = f" (did you mean '{near[0]}'?)" if near else f" (declared: {', '.join(sorted(known)[:5])})"
        # The same account declared in another namespace: if the workload's namespace was only
        # assumed, that is probably where it is applied (the unit lowers such findings).
        elsewhere = tuple((sa, ()) for sa in by_name.get(name, ()) if sa.namespace != wc.namespace)
        assumed = "" if wc.namespace_explicit else (
            f" (info, not warning: the {wc.kind}'s namespace is only assumed, and a file without a namespace is "
            "often applied to a namespace prepared beforehand, e.g. with kubectl apply -n)")
        yield Problem(wc, spec_path + (field,),
                      f"{wc.kind} {wc.namespace}/{wc.name}: serviceAccountName '{name}' names ServiceAccount "
                      f"{wc.namespace}/{name}, which is not declared{hint}; the ServiceAccount admission refuses its pods, so none is created "
                      f"(no endpoints), and its mesh identity .../ns/{wc.namespace}/sa/{name} matches no "
                      f"principal written for the declared accounts (§pod-service-account){assumed}", related=elsewhere,
                      severity="info" if assumed else None)
