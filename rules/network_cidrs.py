"""IVL294: an endpoint whose `network` contradicts the meshNetworks `fromCidr` ranges the
repository declares (docs/semantics.md §network-cidrs)."""

from __future__ import annotations

import ipaddress
from typing import Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.rule import Context, rule

from ._messages import describe, wkey


def _net(cidr: str) -> Optional[ipaddress._BaseNetwork]:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


@rule(
    code="IVL294", family="multinetwork", name="endpoint-network-contradicts-cidr", severity="warning",
    summary="A WorkloadEntry's network is not the one whose meshNetworks fromCidr range holds its address: its traffic goes through the wrong network's gateway.",
    rationale="""
    meshNetworks says where addresses live: `endpoints: [{fromCidr: ...}]` places an endpoint
    without a `network` on that network (docs/semantics.md §network-cidrs). An explicit
    `network` on a WorkloadEntry (or inline endpoint) wins over the ranges, so a VM whose
    `network` names one network while its address lies in another network's range — and in
    none of its own — is treated as living where it does not: clients on other networks send
    its traffic to the named network's gateway, which cannot reach the address, and clients in
    the named network try the address directly. Usually a WorkloadEntry copied from another
    data centre. Reported only when the repository's meshNetworks give CIDR ranges for both
    networks (or for the address's network and none for the named one). Not checked by
    istioctl or Kiali.
    """,
    bad="""
    # meshNetworks: net-dc1 fromCidr 10.80.0.0/16, net-dc2 fromCidr 10.90.0.0/16
    kind: WorkloadEntry
    spec: {address: 10.90.4.18, network: net-dc1, serviceAccount: reporting}
    """,
    good="""
    spec: {address: 10.90.4.18, network: net-dc2, serviceAccount: reporting}
    """,
    inputs=("WorkloadEntry", "ServiceEntry"),
    equivalents=(),
    references=("docs/semantics.md §network-cidrs", "docs/semantics.md §network-gateways"),
)
def endpoint_network_contradicts_cidr(ctx: Context) -> Iterator[Problem]:
    cidrs = {net: [n for n in (_net(c) for c in found) if n is not None]
             for net, found in ctx.network_facts.cidrs.items()}
    if len(cidrs) < 2 and not any(cidrs.values()):
        return
    for w in sorted(ctx.graph.workloads, key=wkey):
        if w.kind not in ("WorkloadEntry", "Endpoint") or not w.network or w.endpoint is None \
                or w.address_kind != "ip":
            continue
        try:
            addr = ipaddress.ip_address(w.endpoint.address)
        except ValueError:
            continue
        own = cidrs.get(w.network, [])
        if any(addr in n for n in own):
            continue
        holder = next((net for net, ranges in sorted(cidrs.items())
                       if net != w.network and any(addr in n for n in ranges)), None)
        if holder is None:
            continue
        ctx.current = w.resource
        path: FieldPath = ("spec", "network") if w.kind == "WorkloadEntry" else w.endpoint.path + ("network",)
        mine = f" (its ranges: {', '.join(str(n) for n in own)})" if own else ""
        yield Problem(w.resource, path,
                      f"{describe(w)} is on network '{w.network}'{mine}, but its address {addr} lies in "
                      f"{', '.join(str(n) for n in cidrs[holder] if addr in n)}, which meshNetworks assigns to "
                      f"network '{holder}': the explicit network wins, so traffic from other networks goes to "
                      f"'{w.network}''s gateway, which cannot reach it (§network-cidrs)")
    ctx.current = None
