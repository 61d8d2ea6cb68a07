"""Multi-network operations of lint/semantics.py (docs/semantics.md §network-gateways,
§auto-passthrough), as tables in the style of pilot's ``network_test.go``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
from istio_vm_lint.mesh import load_mesh_config
from istio_vm_lint.semantics import (
    auto_passthrough_serves,
    could_be_kube_host,
    gateway_external_address,
    network_gateway,
)

NET = "topology.istio.io/network"
PORT = "networking.istio.io/gatewayPort"


@pytest.mark.parametrize("labels, ports, want", [  # getGatewayDetails
    ({}, [15443], None),
    ({NET: ""}, [15443], None),
    ({NET: "n1"}, [15443, 15012], ("n1", 15443, 15443, 0, False)),
    ({NET: "n1"}, [443], ("n1", 15443, 0, 0, False)),           # targetPort 15443 does not count
    ({NET: "n1"}, [15008], ("n1", 15443, 0, 15008, False)),      # HBONE only
    ({NET: "n1", PORT: "35443"}, [35443], ("n1", 35443, 35443, 0, False)),
    ({NET: "n1", PORT: "35443"}, [15443], ("n1", 35443, 0, 0, False)),
    ({NET: "n1", PORT: "tls"}, [15443], ("n1", 15443, 15443, 0, True)),  # Atoi fails: default kept
    ({NET: "n1"}, [None], ("n1", 15443, 0, 0, False)),
])
def test_network_gateway(labels: dict[str, str], ports: list[Optional[int]],
                         want: Optional[tuple[str, int, int, int, bool]]) -> None:
    ng = network_gateway(labels, ports)
    got = None if ng is None else (ng.network, ng.wanted_port, ng.port, ng.hbone_port, ng.port_label_invalid)
    assert got == want
    if ng is not None:
        assert ng.accepted == bool(ng.port or ng.hbone_port)


@pytest.mark.parametrize("service_type, annotations, external_ips, want", [  # ConvertService
    ("LoadBalancer", {}, [], True),
    ("ClusterIP", {}, [], False),
    ("ClusterIP", {}, ["198.51.100.4"], True),
    ("NodePort", {}, [], False),
    ("NodePort", {"traffic.istio.io/nodeSelector": "{}"}, [], True),
    ("ClusterIP", {}, [None, ""], False),
])
def test_gateway_external_address(service_type: str, annotations: dict[str, str], external_ips: list[object],
                                  want: bool) -> None:
    assert gateway_external_address(service_type, annotations, external_ips) is want


@pytest.mark.parametrize("pattern, want", [
    ("*", True), ("*.local", True), ("*.cluster.local", True), ("*.svc.cluster.local", True),
    ("*.shop.svc.cluster.local", True), ("web.shop.svc.cluster.local", True),
    ("*.global", False), ("*.mesh.internal", False), ("*.locl", False), ("*.a.b.svc.cluster.local", False),
])
def test_could_be_kube_host(pattern: str, want: bool) -> None:
    assert could_be_kube_host(pattern, "cluster.local") is want


@pytest.mark.parametrize("pattern, host, want", [  # host.Name.SubsetOf
    ("*.local", "web.shop.svc.cluster.local", True),
    ("*.internal", "*.mesh.internal", True),
    ("*.mesh.internal", "*.internal", False),
    ("*.global", "web.shop.svc.cluster.local", False),
    ("billing.mesh.internal", "billing.mesh.internal", True),
])
def test_auto_passthrough_serves(pattern: str, host: str, want: bool) -> None:
    assert auto_passthrough_serves(pattern, host) is want


def test_mesh_networks_from_configmap(tmp_path: Path) -> None:
    cfg = tmp_path / "istio.yaml"
    cfg.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n"
        "  meshNetworks: |\n    networks:\n      network1:\n        endpoints: [{fromRegistry: cluster1}]\n"
        "        gateways: [{registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local, port: 15443}]\n"
        "      vm-net:\n        endpoints: [{fromCidr: 10.20.0.0/16}]\n", encoding="utf-8")
    mesh = load_mesh_config(str(cfg))
    assert mesh.mesh_networks == (("network1", True), ("vm-net", False))
    assert mesh.root_namespace is None


def test_mesh_networks_document(tmp_path: Path) -> None:
    cfg = tmp_path / "networks.yaml"
    cfg.write_text("networks:\n  vm-net:\n    gateways:\n    - address: 203.0.113.7\n      port: 15443\n",
                   encoding="utf-8")
    assert load_mesh_config(str(cfg)).mesh_networks == (("vm-net", True),)
