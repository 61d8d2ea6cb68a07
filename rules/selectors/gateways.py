"""IVL106, IVL111: Gateway workload selectors."""

from __future__ import annotations

from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import Workload
from istio_vm_lint.model import Gateway
from istio_vm_lint.rule import Context, rule

from .._messages import sel_str
from ._common import SEARCHED, SELECTABLE, STOCK_GATEWAY_LABELS, looks_like_gateway, nearest, nearest_hint

# --- IVL106 -------------------------------------------------------------------------------------


@rule(
    code="IVL106", family="selectors", name="gateway-selector-matches-nothing", severity="warning",
    summary="A Gateway's selector matches no gateway workload in any namespace, while the repository declares gateway workloads.",
    rationale="""
    A Gateway configures the proxies whose labels match `spec.selector`, in every namespace
    unless istiod runs with `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` (docs/semantics.md §label-selection, §gateway-selector). A selector matching no proxy makes every server of the Gateway, and every
    VirtualService bound to it, dead configuration. `istioctl analyze` (IST0101 "selector")
    and Kiali (KIA0302) check against running Pods, so on a repository of Deployments they
    report every Gateway or nothing; here the pod templates of Deployments etc. (and
    WorkloadEntries/WorkloadGroups, for VM gateways) are searched. Gateway deployments are
    often installed by a chart outside the repository, so the check only runs when the
    repository declares at least one gateway-like workload (an `istio` label, a
    `gateway.istio.io/managed` label or the `inject.istio.io/templates: gateway` annotation). The
    stock selectors of an Istio installation (`istio: ingressgateway`, `egressgateway`,
    `eastwestgateway` and their `app: istio-…` forms) are taken to be satisfied by the
    installation only while the repository deploys no gateway workload of that role (ingress,
    egress, east-west, judged from its labels and name) itself, or a gateway of no stated role
    labelled in the installation's own `istio: <name>` convention (the operator and the
    gateway chart label them so, §installation-gateway-labels); when it does, one of its own
    gateways must match. An application's own gateway of no stated role and without an `istio`
    label (`gateway: payments`) runs beside the installation's and does not replace it.
    """,
    bad="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      selector: {istio: ingress-gateway}   # the Deployment's pods have istio: ingressgateway
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
    """,
    good="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
    """,
    inputs=("Gateway",),
    equivalents=("IST0101:gateway.IngressGatewayPortAnalyzer", "KIA0302"),
    references=("docs/semantics.md §label-selection", "docs/semantics.md §gateway-selector", "docs/semantics.md §analyzer-gateway-ports", "docs/semantics.md §kiali-gateways",
                "docs/semantics.md §installation-gateway-labels"),
)
def gateway_selector_matches_nothing(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    # The gateway-like workloads, found on the first selector that matches nothing (every
    # workload is looked at: most runs never need them); none at all: nothing is reported.
    gateway_like: Optional[list[Workload]] = None
    for gw in ctx.each(Gateway):
        sel = gw.selector
        if not sel:
            continue  # nil/empty selector: applies to every gateway proxy
        if graph.select_any_namespace(sel, SELECTABLE):
            continue
        if gateway_like is None:
            gateway_like = [w for w in graph.workloads if w.kind in SELECTABLE and looks_like_gateway(w)]
        if not gateway_like:
            return
        stock = ""
        if all((k, v) in STOCK_GATEWAY_LABELS or (k, None) in STOCK_GATEWAY_LABELS for k, v in sel.items()):
            role = _stock_role(sel)
            # The repository's gateways of that role (named or labelled so) stand in for the stock
            # one, and so do role-less ones labelled in the installation's convention (an `istio`
            # label, as the operator and the gateway chart set); a role-less gateway of the
            # application's own (`gateway: payments`) runs beside the installation's.
            own = [w for w in gateway_like if _role(w) == role or (_role(w) == "" and "istio" in w.labels)]
            if not own:
                continue  # the installation's own gateway, deployed outside the repository
            # The repository deploys its own gateways of that role: the stock one is not assumed.
            stock = (f"; the repository deploys its own {role or 'gateway'} workloads, so the stock installation "
                     "gateway is not assumed")
        hint = nearest_hint(nearest(gateway_like, sel), sel)
        yield Problem(gw, ("spec", "selector"),
                      f"Gateway {gw.namespace}/{gw.name}: selector {sel_str(sel)} matches none of the {SEARCHED} "
                      f"in any namespace{hint}{stock}; no proxy gets its servers (§gateway-selector)")


_ROLES = ("ingress", "egress", "eastwest")


def _stock_role(sel: dict[str, str]) -> str:
    """ingress / egress / eastwest for a stock selector ('' for the network label alone)."""
    for v in sel.values():
        for role in _ROLES:
            if role in (v or ""):
                return role
    return ""


def _role(w) -> str:
    """The role a declared gateway workload's labels or name suggest ('' when they say none)."""
    words = " ".join([w.resource.name, *w.labels.values()]).lower().replace("-", "")
    roles = [r for r in _ROLES if r in words]
    return roles[0] if len(roles) == 1 else ""


# --- IVL111 -------------------------------------------------------------------------------------


@rule(
    code="IVL111", family="selectors", name="gateway-selector-empty", severity="warning",
    summary="A Gateway has no (or an empty) selector, so it configures every gateway proxy of the mesh.",
    rationale="""
    `Gateway.selector` picks the gateway proxies that get the Gateway's servers; a nil or
    empty selector matches every one of them — ingress, egress and east-west gateways, in all
    namespaces unless `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` (docs/semantics.md §label-selection, §gateway-selector;
    Kiali KIA0302: "an empty selector matches everything"). Ports and hosts meant for one
    ingress then open on the egress and east-west gateways too, and conflict with their own
    Gateways. Istio validation does not warn about it (unlike an empty ServiceEntry
    `workloadSelector`, IVL631), nor does `istioctl analyze` (its Pod match treats an empty
    selector as matching everything).
    """,
    bad="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
    """,
    good="""
    kind: Gateway
    metadata: {name: shop, namespace: istio-system}
    spec:
      selector: {istio: ingressgateway}
      servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
    """,
    inputs=("Gateway",),
    equivalents=("KIA0302",),
    references=("docs/semantics.md §label-selection", "docs/semantics.md §gateway-selector", "docs/semantics.md §kiali-gateways"),
)
def gateway_selector_empty(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for gw in ctx.each(Gateway):
        if gw.selector:
            continue
        raw = gw.spec.get("selector")
        if raw is not None and not isinstance(raw, dict):
            continue  # wrong type: the schema rules report it
        which = "no selector" if raw is None else "an empty selector"
        n = len({id(w.resource) for w in graph.workloads if w.kind in SELECTABLE and looks_like_gateway(w)})
        known = f" (the repository declares {n} gateway workload{'s' if n != 1 else ''})" if n else ""
        yield Problem(gw, ("spec", "selector") if raw is not None else ("spec",),
                      f"Gateway {gw.namespace}/{gw.name} has {which}: its servers are configured on every gateway "
                      f"proxy of the mesh{known}, ingress, egress and east-west alike (§label-selection, §gateway-selector) — select the "
                      "intended gateway, e.g. istio: ingressgateway")
