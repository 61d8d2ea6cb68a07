"""Duplicates that change nothing for traffic are info: two mesh VirtualServices of one
namespace with identical routes (IVL710, §duplicate-mesh-routes) and a leftover AUTO_PASSTHROUGH
host beside one that serves every Kubernetes Service (IVL313, §auto-passthrough-extra-hosts)."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

APP = """\
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: lab}
spec:
  selector: {app: echo}
  ports: [{name: tcp-echo, port: 9000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo-v1, namespace: lab}
spec:
  selector: {matchLabels: {app: echo, version: v1}}
  template:
    metadata: {labels: {app: echo, version: v1}}
    spec:
      containers: [{name: echo, image: echo:1}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: lab}
spec:
  host: echo
  subsets: [{name: v1, labels: {version: v1}}]
"""
STEP1 = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo-mesh, namespace: lab}
spec:
  hosts: [echo]
  tcp:
  - match: [{port: 9000}]
    route:
    - destination: {host: echo, port: {number: 9000}, subset: v1}
"""
STEP2 = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: echo-gw, namespace: lab}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 9000, name: tcp-echo, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo-edge, namespace: lab}
spec:
  hosts: [echo]
  gateways: [mesh, echo-gw]
  tcp:
  - match: [{port: 9000}]
    route:
    - destination: {host: echo, port: {number: 9000}, subset: v1}
"""
CROSS_NETWORK = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: cross-network-gateway, namespace: istio-system}
spec:
  selector: {istio: eastwestgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: [{hosts}]
"""


def _run(root: Path, code: str) -> list[str]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root))).findings
    finally:
        os.chdir(old)
    return sorted(f.severity or "" for f in findings if f.code == code)


def test_identical_mesh_routes_in_two_step_files_are_info(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "step1.yaml").write_text(STEP1)
    (tmp_path / "step2.yaml").write_text(STEP2)
    assert _run(tmp_path, "IVL710") == ["info", "info"]


def test_different_mesh_routes_stay_errors(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "step1.yaml").write_text(STEP1)
    (tmp_path / "step2.yaml").write_text(STEP2.replace("subset: v1", "subset: v2"))
    assert _run(tmp_path, "IVL710") == ["error", "error"]


def test_leftover_global_host_beside_local_is_info(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "expose.yaml").write_text(CROSS_NETWORK.replace("{hosts}", '"*.local", "*.global"'))
    assert _run(tmp_path, "IVL313") == ["info"]


def test_global_host_alone_stays_a_warning(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "expose.yaml").write_text(CROSS_NETWORK.replace("{hosts}", '"*.global"'))
    assert _run(tmp_path, "IVL313") == ["warning"]
