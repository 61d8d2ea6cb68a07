"""Multi-network rules against network facts the fixtures do not show: gateways declared by
meshNetworks (repository ConfigMap, IstioOperator, --mesh-config) and Services as IVL306's
gateway evidence (docs/semantics.md §network-gateways)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES, lint_folder

EXAMPLE = FIXTURES / "examples" / "multi-network"


def _copy(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    return repo


def _codes(repo: Path, prefix: str = "IVL31", **settings) -> list[tuple[str, int, str]]:
    return sorted((f.location.file, f.location.line, f.code) for f in lint_folder(repo, **settings)
                  if f.code.startswith(prefix))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _drop_service_label(repo: Path) -> None:
    _edit(repo / "istio-system" / "eastwest-gateway.yaml",
          "    istio: eastwestgateway\n    topology.istio.io/network: network1\nspec:\n  type: LoadBalancer\n",
          "    istio: eastwestgateway\nspec:\n  type: LoadBalancer\n")


def test_unlabelled_gateway_service_is_reported(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    _drop_service_label(repo)
    assert [c for _, _, c in _codes(repo)] == ["IVL312"]


def test_mesh_networks_registry_service_in_istio_operator(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    _drop_service_label(repo)
    (repo / "istio-system" / "operator.yaml").write_text(
        "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: control-plane\n"
        "  namespace: istio-system\nspec:\n  values:\n    global:\n      network: network1\n      meshNetworks:\n"
        "        network1:\n          endpoints:\n          - fromRegistry: cluster1\n          gateways:\n"
        "          - registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local\n"
        "            port: 15443\n", encoding="utf-8")
    assert _codes(repo) == []


def _typo(repo: Path) -> None:
    _edit(repo / "ledger" / "workloadentries.yaml", "  address: 10.20.0.11\n  network: vm-net\n",
          "  address: 10.20.0.11\n  network: vm-nte\n")


def test_mesh_networks_configmap_gateway_makes_the_typo_a_warning(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    _typo(repo)
    findings = [f for f in lint_folder(repo) if f.code == "IVL315"]
    assert [(f.location.line, f.severity) for f in findings] == [(9, "info")]
    (repo / "istio-system" / "mesh-networks.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\ndata:\n"
        "  meshNetworks: |\n    networks:\n      vm-net:\n        endpoints:\n        - fromCidr: 10.20.0.0/24\n"
        "        gateways:\n        - address: 203.0.113.9\n          port: 15443\n", encoding="utf-8")
    findings = [f for f in lint_folder(repo) if f.code == "IVL315"]
    assert [(f.location.line, f.severity) for f in findings] == [(9, "warning")]


def test_mesh_config_network_gateway_silences_the_entry(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    _typo(repo)
    mesh = tmp_path / "networks.yaml"
    mesh.write_text("networks:\n  vm-nte:\n    gateways:\n    - address: 203.0.113.9\n      port: 15443\n",
                    encoding="utf-8")
    assert ("ledger/workloadentries.yaml", 9, "IVL315") not in _codes(repo, mesh_config=str(mesh))


def test_istio_operator_east_west_gateway_is_a_gateway(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    _typo(repo)
    (repo / "istio-system" / "eastwest-operator.yaml").write_text(
        "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: eastwest-vm\nspec:\n"
        "  profile: empty\n  components:\n    ingressGateways:\n    - name: istio-eastwestgateway-vm\n"
        "      label:\n        istio: eastwestgateway-vm\n        topology.istio.io/network: vm-nte\n"
        "      enabled: true\n", encoding="utf-8")
    assert ("ledger/workloadentries.yaml", 9, "IVL315") not in _codes(repo)


def test_cross_network_identity_with_a_gateway_service_only(tmp_path: Path) -> None:
    """IVL306 takes the gateway Service as evidence too, without the gateway Deployment."""
    repo = _copy(tmp_path)
    text = (repo / "istio-system" / "eastwest-gateway.yaml").read_text(encoding="utf-8")
    start = text.index("---\napiVersion: apps/v1\nkind: Deployment")
    end = text.index("---\napiVersion: v1\nkind: Service")
    (repo / "istio-system" / "eastwest-gateway.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    _edit(repo / "ledger" / "workloadentries.yaml",
          "  address: 10.20.0.11\n  network: vm-net\n  serviceAccount: ledger\n",
          "  address: 10.20.0.11\n  network: network1\n")
    assert ("ledger/workloadentries.yaml", 9, "IVL306") in _codes(repo, prefix="IVL306")
