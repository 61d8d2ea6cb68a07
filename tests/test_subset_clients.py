"""IVL108 for a mesh route whose own namespace runs only gateway proxies: its clients are
elsewhere (the egress pattern with the VirtualService beside the egress gateway and the
DestinationRule in the clients' namespace)."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

EGRESS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-egressgateway, namespace: istio-egress}
spec:
  selector: {matchLabels: {istio: egressgateway}}
  template:
    metadata: {labels: {istio: egressgateway}}
    spec:
      containers: [{name: istio-proxy, image: auto}]
---
apiVersion: v1
kind: Service
metadata: {name: istio-egressgateway, namespace: istio-egress}
spec:
  selector: {istio: egressgateway}
  ports: [{name: tcp-pg, port: 15432}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egressgateway, namespace: istio-egress}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 15432, name: tcp-pg, protocol: TCP}
    hosts: [db.example.com]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: istio-egress}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db-through-egress, namespace: istio-egress}
spec:
  hosts: [db.example.com]
  gateways: [mesh, istio-egress/egressgateway]
  tcp:
  - match: [{gateways: [mesh], port: 5432}]
    route:
    - destination: {host: istio-egressgateway.istio-egress.svc.cluster.local, subset: db, port: {number: 15432}}
  - match: [{gateways: [istio-egress/egressgateway], port: 15432}]
    route:
    - destination: {host: db.example.com, port: {number: 5432}}
"""
CLIENT_DR = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: egressgateway, namespace: billing}
spec:
  host: istio-egressgateway.istio-egress.svc.cluster.local
  subsets: [{name: db}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: billing, namespace: billing}
spec:
  selector: {matchLabels: {app: billing}}
  template:
    metadata: {labels: {app: billing}}
    spec:
      containers: [{name: billing, image: billing:1}]
"""
SIDECAR_APP = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: audit, namespace: istio-egress}
spec:
  selector: {matchLabels: {app: audit}}
  template:
    metadata: {labels: {app: audit}}
    spec:
      containers: [{name: audit, image: audit:1}]
"""


def _ivl108(root: Path) -> list[str]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root))).findings
    finally:
        os.chdir(old)
    return [f.severity or "" for f in findings if f.code == "IVL108"]


def test_route_beside_the_egress_gateway_with_the_rule_in_the_clients_namespace(tmp_path: Path) -> None:
    (tmp_path / "egress.yaml").write_text(EGRESS)
    (tmp_path / "billing.yaml").write_text(CLIENT_DR)
    assert _ivl108(tmp_path) == ["info"]


def test_a_sidecar_client_beside_the_route_still_gets_no_subset(tmp_path: Path) -> None:
    (tmp_path / "egress.yaml").write_text(EGRESS + SIDECAR_APP)
    (tmp_path / "billing.yaml").write_text(CLIENT_DR)
    assert _ivl108(tmp_path) == ["error"]


def _without_gateway_pods(text: str) -> str:
    """The egress manifests without the gateway's Deployment: the gateway comes from the install."""
    docs = text.split("---\n")
    return "---\n".join(d for d in docs if "kind: Deployment" not in d)


def test_route_beside_an_installed_egress_gateway(tmp_path: Path) -> None:
    # istioctl installs the egress gateway; the repository deploys nothing in its namespace.
    (tmp_path / "egress.yaml").write_text(_without_gateway_pods(EGRESS))
    (tmp_path / "billing.yaml").write_text(CLIENT_DR)
    assert _ivl108(tmp_path) == ["info"]


def test_a_mesh_only_route_in_an_empty_namespace_stays_an_error(tmp_path: Path) -> None:
    # Bound to the mesh only: nothing says it sits beside a gateway.
    egress = _without_gateway_pods(EGRESS).replace("gateways: [mesh, istio-egress/egressgateway]", "gateways: [mesh]")
    egress = egress.replace("  - match: [{gateways: [istio-egress/egressgateway], port: 15432}]\n"
                            "    route:\n    - destination: {host: db.example.com, port: {number: 5432}}\n", "")
    egress = egress.replace("match: [{gateways: [mesh], port: 5432}]", "match: [{port: 5432}]")
    (tmp_path / "egress.yaml").write_text(egress)
    (tmp_path / "billing.yaml").write_text(CLIENT_DR)
    assert _ivl108(tmp_path) == ["error"]
