"""A custom resource inside a `kind: List` may create the Service a route names (an install
Gateway of a vendor's operator), and a Gateway host for another namespace's routes
(`shop/*`) makes a finding on namespace-less VirtualServices rest on the assumed namespace."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint
from istio_vm_lint.units.opaque import _list_items

EGRESS_LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: egress}
  - apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: api, namespace: egress}
    spec:
      hosts: [api.partner.example]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: DNS
  - apiVersion: install.mesh-vendor.example/v1
    kind: Gateway
    metadata:
      name: partner-egress
      namespace: egress
    spec:
      type: EGRESS
  - apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: api-via-egress, namespace: egress}
    spec:
      hosts: [api.partner.example]
      http:
      - route:
        - destination: {host: partner-egress.egress.svc.cluster.local, port: {number: 80}}
"""
ASSUMED = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop/*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop}
spec:
  hosts: ["*"]
  gateways: [shop-gateway]
  http:
  - route:
    - destination: {host: storefront, port: {number: 8080}}
---
apiVersion: v1
kind: Service
metadata: {name: storefront}
spec:
  selector: {app: storefront}
  ports: [{name: http, port: 8080}]
"""


def _findings(root: Path, code: str) -> list[str]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root))).findings
    finally:
        os.chdir(old)
    return [f.severity or "" for f in findings if f.code == code]


def test_list_items_are_read_as_documents() -> None:
    items = _list_items(EGRESS_LIST)
    assert len(items) == 4
    assert items[2].startswith("apiVersion: install.mesh-vendor.example/v1\nkind: Gateway\nmetadata:\n  name: partner-egress")


def test_an_install_gateway_inside_a_list_may_create_the_routed_service(tmp_path: Path) -> None:
    (tmp_path / "egress.yaml").write_text(EGRESS_LIST)
    assert _findings(tmp_path, "IVL501") == ["info"]


def test_a_gateway_host_for_another_namespace_rests_on_the_assumed_namespace(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(ASSUMED)
    assert _findings(tmp_path, "IVL504") == ["info"]
    (tmp_path / "shop.yaml").write_text(ASSUMED.replace("{name: shop-gateway}", "{name: shop-gateway, namespace: shop}")
                                        .replace("{name: shop}", "{name: shop, namespace: front}")
                                        .replace("[shop-gateway]", "[shop/shop-gateway]")
                                        .replace("{name: storefront}", "{name: storefront, namespace: front}"))
    assert _findings(tmp_path, "IVL504") == ["error"]
