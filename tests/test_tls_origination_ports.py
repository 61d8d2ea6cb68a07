"""IVL217 and the TLS origination pattern (§tls-origination-ports): port 443 named `https`
declared HTTP is fine when a DestinationRule originates TLS toward the host."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

ENTRY = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments-api, namespace: billing}
spec:
  hosts: [api.payments.example]
  ports:
  - {number: 443, name: https, protocol: HTTP}
  resolution: DNS
  location: MESH_EXTERNAL
"""
ORIGINATE = """\
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: payments-api, namespace: billing}
spec:
  host: api.payments.example
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE}
"""


def _ivl217(root: Path) -> list[str]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root))).findings
    finally:
        os.chdir(old)
    return [f.severity or "" for f in findings if f.code == "IVL217"]


def test_https_port_declared_http_with_tls_origination_is_silent(tmp_path: Path) -> None:
    (tmp_path / "egress.yaml").write_text(ENTRY + ORIGINATE)
    assert _ivl217(tmp_path) == []


def test_origination_on_another_port_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "egress.yaml").write_text(ENTRY + ORIGINATE.replace("number: 443}", "number: 8443}"))
    assert _ivl217(tmp_path) == ["warning"]


def test_https_port_declared_http_without_origination_is_reported(tmp_path: Path) -> None:
    (tmp_path / "egress.yaml").write_text(ENTRY)
    assert _ivl217(tmp_path) == ["warning"]
