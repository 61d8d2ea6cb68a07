"""Recall extensions found with a corpus of realistic repositories: multi-cluster directories
linted as one mesh, "did you mean" hints that are not another unit's definition, principals
in a misspelt namespace (IVL118), misspelt failover regions beside endpoints of unknown
locality (IVL405), and PeerAuthentication DISABLE in a multi-network mesh (IVL306)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import lint_folder


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def _found(repo: Path, code: str) -> list[tuple[str, str, str]]:
    return sorted((f.location.file, f.severity, f.message) for f in lint_folder(repo) if f.code == code)


_IOP = ("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: control-plane\n"
        "  namespace: istio-system\nspec:\n  values:\n    global:\n      meshID: {mesh}\n      multiCluster:\n"
        "        clusterName: {cluster}\n      network: {network}\n")
_APP = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: {n}\n"
        "  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n"
        "        track: primary\n    spec:\n      containers:\n      - name: web\n        image: web:1\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n"
        "  ports:\n  - name: http\n    port: 80\n")
_SHARED_DR = ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: networking.istio.io/v1\n"
              "kind: DestinationRule\nmetadata:\n  name: web\n  namespace: shop\nspec:\n"
              "  host: web.shop.svc.cluster.local\n  subsets:\n  - name: primary\n    labels:\n      tier: primary\n")


_GATEWAY = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ewgw\n  namespace: istio-system\nspec:\n"
            "  selector:\n    matchLabels:\n      istio: eastwestgateway\n  template:\n    metadata:\n      labels:\n"
            "        istio: eastwestgateway\n        topology.istio.io/network: {network}\n    spec:\n      containers:\n"
            "      - name: istio-proxy\n        image: auto\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ewgw\n"
            "  namespace: istio-system\n  labels:\n    topology.istio.io/network: {network}\nspec:\n  type: LoadBalancer\n"
            "  selector:\n    istio: eastwestgateway\n  ports:\n  - name: tls\n    port: 15443\n")


def _clusters(tmp_path: Path, mesh2: str) -> Path:
    # each cluster's east-west gateway differs (its network); the app's pods run in east only
    app = _APP.format(n=3)
    return _write(tmp_path / "repo", {
        "clusters/east/istio.yaml": _IOP.format(mesh="m1", cluster="east", network="net-east"),
        "clusters/east/gateway.yaml": _GATEWAY.format(network="net-east"),
        "clusters/east/app.yaml": app[:app.index("---")],
        "clusters/west/istio.yaml": _IOP.format(mesh=mesh2, cluster="west", network="net-west"),
        "clusters/west/gateway.yaml": _GATEWAY.format(network="net-west"),
        "mesh/web.yaml": _SHARED_DR + "---\n" + app[app.index("---") + 4:],
    })


def test_cluster_directories_of_one_mesh_are_linted_together(tmp_path: Path) -> None:
    found = _found(_clusters(tmp_path, "m1"), "IVL107")
    assert [(f, s) for f, s, _ in found] == [("mesh/web.yaml", "warning")]  # no route uses the subset yet


def test_directories_of_different_meshes_stay_alternatives(tmp_path: Path) -> None:
    # two meshes: the clusters' directories are separate apps, the shared rule sees no pods
    assert _found(_clusters(tmp_path, "m2"), "IVL107") == []


def test_principal_in_a_misspelt_namespace(tmp_path: Path) -> None:
    repo = _write(tmp_path / "repo", {"a.yaml": (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: payments\n---\n"
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: scoring\n"
        "  namespace: payments\nspec:\n  rules:\n  - from:\n    - source:\n        principals:\n"
        "        - cluster.local/ns/payment/sa/api\n        - cluster.local/ns/billing/sa/api\n")})
    found = _found(repo, "IVL118")
    assert len(found) == 1 and "did you mean 'payments'" in found[0][2]  # billing: managed elsewhere


_FAILOVER = ("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: vm-a\n  namespace: shop\n"
             "spec:\n  address: 10.0.0.1\n  locality: {vm}/{vm}a\n  serviceAccount: web\n  labels:\n    app: web\n---\n"
             "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: web\n  namespace: shop\n"
             "spec:\n  host: web.shop.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n"
             "      localityLbSetting:\n        failover:\n        - from: eu-west-1\n          to: {to}\n"
             "    outlierDetection:\n      consecutive5xxErrors: 5\n")


@pytest.mark.parametrize(("vm", "to", "reported"), [
    ("eu-central-1", "eu-central1", True),   # punctuation
    ("eu-centrl-1", "eu-central-1", True),   # one letter
    ("eu-central-2", "eu-central-1", False),  # another region
    ("eu-central-1", "us-east-1", False),    # the pods may live there
])
def test_misspelt_failover_region_beside_pods(tmp_path: Path, vm: str, to: str, reported: bool) -> None:
    repo = _write(tmp_path / "repo", {"app.yaml": _APP.format(n=2), "vm.yaml": _FAILOVER.format(vm=vm, to=to)})
    assert bool(_found(repo, "IVL405")) is reported


def test_peer_authentication_disable_across_networks(tmp_path: Path) -> None:
    gateway = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: istio-eastwestgateway\n  namespace: istio-system\n"
               "  labels:\n    topology.istio.io/network: net-a\nspec:\n  type: LoadBalancer\n  selector:\n"
               "    istio: eastwestgateway\n  ports:\n  - name: tls\n    port: 15443\n")
    vm = ("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: vm-a\n  namespace: shop\n"
          "spec:\n  address: 10.0.0.1\n  network: net-a\n  serviceAccount: web\n  labels:\n    app: web\n---\n"
          "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n"
          "  ports:\n  - name: http\n    port: 80\n")
    pa = ("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n"
          "  namespace: istio-system\nspec:\n  mtls:\n    mode: DISABLE\n")
    repo = _write(tmp_path / "one", {"gw.yaml": gateway, "vm.yaml": vm, "pa.yaml": pa})
    assert _found(repo, "IVL306") == []  # one network: nothing crosses a gateway
    iop = _IOP.format(mesh="m1", cluster="b", network="net-b")
    repo = _write(tmp_path / "two", {"gw.yaml": gateway, "vm.yaml": vm, "pa.yaml": pa, "iop.yaml": iop})
    found = _found(repo, "IVL306")
    assert [(f, s) for f, s, _ in found] == [("pa.yaml", "warning")]


@pytest.mark.skipif(not (shutil.which("kustomize") or shutil.which("kubectl")), reason="needs kustomize")
def test_did_you_mean_is_not_another_units_definition(tmp_path: Path) -> None:
    gw = ("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: web\n  namespace: istio-ingress\n"
          "spec:\n  selector:\n    istio: ingressgateway\n  servers:\n  - port:\n      number: 80\n      name: http\n"
          "      protocol: HTTP\n    hosts:\n    - \"*/*.example.com\"\n")
    vs = ("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: web\nspec:\n"
          "  hosts:\n  - web.example.com\n  gateways:\n  - web\n  http:\n  - route:\n    - destination:\n"
          "        host: web\n")
    files = {".istio-vm-lint.toml": 'shared-paths = ["platform/*.yaml"]\n', "platform/gw.yaml": gw,
             "base/kustomization.yaml": "resources:\n- vs.yaml\n", "base/vs.yaml": vs}
    for ov in ("a", "b"):
        files[f"overlays/{ov}/kustomization.yaml"] = f"namespace: shop-{ov}\nresources:\n- ../../base\n"
    found = _found(_write(tmp_path / "repo", files), "IVL503")
    assert found and all(s == "error" for _, s, _ in found)
