"""Network facts from documents the model does not otherwise read (docs/semantics.md
§network-gateways): meshNetworks in the ``istio`` ConfigMap (``data.meshNetworks``) or an
IstioOperator (``spec.values.global.meshNetworks``), and the east-west gateways an
IstioOperator installs (``components.ingressGateways[]`` labelled ``topology.istio.io/network``).

The rules only use them to stay silent: a network with a gateway declared there is served, a
Service named by a meshNetworks ``registryServiceName`` is a gateway without a label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

NETWORK_LABEL = "topology.istio.io/network"
ISTIO_OPERATOR = ("install.istio.io", "IstioOperator")


@dataclass
class NetworkFacts:
    """What the repository says about networks and their gateways."""

    # network -> does some declaration give it a gateway
    networks: dict[str, bool] = field(default_factory=dict)
    # meshNetworks registryServiceName (a Service host) -> network
    registry_gateways: dict[str, str] = field(default_factory=dict)
    # meshNetworks endpoints fromCidr: network -> the CIDRs that place endpoints on it
    cidrs: dict[str, list[str]] = field(default_factory=dict)

    def add(self, network: str, has_gateway: bool) -> None:
        self.networks[network] = self.networks.get(network, False) or has_gateway


def mesh_networks(networks: Any, facts: NetworkFacts) -> None:
    """A MeshNetworks ``networks`` map: ``{<name>: {endpoints: [...], gateways: [...]}}``."""
    if not isinstance(networks, dict):
        return
    for name, spec in networks.items():
        if not isinstance(name, str) or not name:
            continue
        eps = spec.get("endpoints") if isinstance(spec, dict) else None
        for ep in eps if isinstance(eps, list) else []:
            cidr = ep.get("fromCidr") if isinstance(ep, dict) else None
            if isinstance(cidr, str) and cidr:
                facts.cidrs.setdefault(name, []).append(cidr)
        gws = spec.get("gateways") if isinstance(spec, dict) else None
        has = False
        for gw in gws if isinstance(gws, list) else []:
            if not isinstance(gw, dict) or not gw:
                continue
            has = True
            svc = gw.get("registryServiceName")
            if isinstance(svc, str) and svc:
                facts.registry_gateways[svc] = name
        facts.add(name, has)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def reads_network_facts(group: str, kind: str, data: Any) -> bool:
    """Does this unmodelled document carry network facts (so the parse cache keeps it whole)?"""
    if (group, kind) == ISTIO_OPERATOR:
        return True
    return group == "" and kind == "ConfigMap" and isinstance(data, dict) and "meshNetworks" in _map(data.get("data"))


def add_network_facts(facts: NetworkFacts, group: str, kind: str, data: Any) -> bool:
    """Read the network facts of an IstioOperator or a ConfigMap with ``data.meshNetworks``;
    False when the document is neither."""
    if not reads_network_facts(group, kind, data):
        return False
    if kind == "ConfigMap":
        text = _map(data.get("data")).get("meshNetworks")
        if isinstance(text, str):
            from .loader import load_documents

            inner, _ = load_documents(text)
            doc = inner.documents[0].data if inner.documents else None
            mesh_networks(_map(doc).get("networks"), facts)
        return True
    spec = _map(data.get("spec"))
    values_global = _map(_map(spec.get("values")).get("global"))
    mesh_networks(values_global.get("meshNetworks"), facts)
    components = _map(spec.get("components"))
    gateways = components.get("ingressGateways")
    for gw in gateways if isinstance(gateways, list) else []:
        gw = _map(gw)
        network = _map(gw.get("label")).get(NETWORK_LABEL)
        if not isinstance(network, str) or not network or gw.get("enabled") is False:
            continue
        ports = _map(_map(_map(gw.get("k8s")).get("service"))).get("ports")
        listed = [_map(p).get("port") for p in ports] if isinstance(ports, list) else None
        # without k8s.service.ports the chart's defaults apply (they include 15443)
        facts.add(network, listed is None or 15443 in listed or 15008 in listed)
    return True


def operator_gateways(data: Any) -> set[tuple[str, str]]:
    """``(namespace, name)`` of the gateways an IstioOperator installs: every enabled entry of
    ``components.ingressGateways`` / ``egressGateways``, in its ``namespace`` (else the
    operator's ``spec.namespace``, ``values.global.istioNamespace``, ``istio-system``);
    istioctl and the operator create a Deployment and a Service of that name
    (docs/semantics.md §operator-services)."""
    spec = _map(_map(data).get("spec"))
    default_ns = spec.get("namespace") or _map(_map(spec.get("values")).get("global")).get("istioNamespace")
    if not isinstance(default_ns, str) or not default_ns:
        default_ns = "istio-system"
    out: set[tuple[str, str]] = set()
    components = _map(spec.get("components"))
    for key in ("ingressGateways", "egressGateways"):
        entries = components.get(key)
        for gw in entries if isinstance(entries, list) else []:
            gw = _map(gw)
            name, ns = gw.get("name"), gw.get("namespace") or default_ns
            if isinstance(name, str) and name and isinstance(ns, str) and gw.get("enabled") is not False:
                out.add((ns, name))
    return out



def operator_cluster(data: Any) -> Optional[tuple[str, str, str]]:
    """``(meshID, cluster name, network)`` an IstioOperator installs its control plane with
    (``spec.values.global``); None when it names neither a cluster nor a network."""
    glob = _map(_map(_map(_map(data).get("spec")).get("values")).get("global"))
    cluster = _map(glob.get("multiCluster")).get("clusterName")
    network, mesh = glob.get("network"), glob.get("meshID")
    if not (isinstance(cluster, str) and cluster) and not (isinstance(network, str) and network):
        return None
    return (mesh if isinstance(mesh, str) else "", cluster if isinstance(cluster, str) else "",
            network if isinstance(network, str) else "")
