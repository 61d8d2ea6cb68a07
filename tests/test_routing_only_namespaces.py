"""IVL501/IVL502 in a namespace where the repository only routes (§routing-only-namespaces):
a product's installer creates the Services there, so a host the repository lacks is info."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

# The dashboard of a management plane that `mgmtctl install` deploys; the repository only
# exposes it through the ingress gateway.
DASHBOARD = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: mgmt, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8091, name: http-ui, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mgmt-dashboard, namespace: mgmt-plane}
spec:
  hosts: ["*"]
  gateways: [istio-system/mgmt]
  http:
  - route:
    - destination: {host: mgmt-ui, port: {number: 8090}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mgmt-ui, namespace: mgmt-plane}
spec:
  host: mgmt-ui
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
"""
APP = """\
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: shop}
spec:
  selector: {app: shop}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: shop}
spec:
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: shop:1}]
"""
# A worker the repository does run in the dashboard's namespace.
WORKER = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: exporter, namespace: mgmt-plane}
spec:
  selector: {matchLabels: {app: exporter}}
  template:
    metadata: {labels: {app: exporter}}
    spec:
      containers: [{name: exporter, image: exporter:1}]
"""


def _severities(root: Path) -> dict[str, list[str]]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root))).findings
    finally:
        os.chdir(old)
    out: dict[str, list[str]] = {}
    for f in findings:
        if f.code in ("IVL501", "IVL502"):
            out.setdefault(f.code, []).append(f.severity or "")
    return out


def test_a_host_in_a_namespace_the_repository_only_routes_in_is_info(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "dashboard.yaml").write_text(DASHBOARD)
    assert _severities(tmp_path) == {"IVL501": ["info"], "IVL502": ["info"]}


def test_a_workload_of_the_repository_in_that_namespace_keeps_the_error(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(APP + WORKER)
    (tmp_path / "dashboard.yaml").write_text(DASHBOARD)
    assert _severities(tmp_path) == {"IVL501": ["error"], "IVL502": ["warning"]}


def test_a_short_host_naming_a_service_of_another_namespace_keeps_the_error(tmp_path: Path) -> None:
    # `shop` expanded in mgmt-plane, while the repository's Service shop lives in namespace shop.
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "dashboard.yaml").write_text(DASHBOARD.replace("mgmt-ui", "shop"))
    assert _severities(tmp_path) == {"IVL501": ["error"], "IVL502": ["warning"]}
