"""IVL107 across the clusters of one mesh: a DestinationRule in the primary cluster's directory
names a subset whose version only the remote cluster's directory runs.  The directories define
the same Deployment differently, so they are separate units; the subset's endpoints are in the
other one (§cross-unit-selection)."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint


def _app(version: str) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: quotes, namespace: trading}}
spec:
  selector: {{app: quotes}}
  ports: [{{name: grpc, port: 7070}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: quotes, namespace: trading}}
spec:
  selector: {{matchLabels: {{app: quotes, version: "{version}"}}}}
  template:
    metadata: {{labels: {{app: quotes, version: "{version}"}}}}
    spec:
      containers: [{{name: quotes, image: "quotes:{version}"}}]
"""


ROUTING = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: quotes, namespace: trading}
spec:
  host: quotes.trading.svc.cluster.local
  subsets:
  - {name: current, labels: {version: "2.4"}}
  - {name: previous, labels: {version: "2.3"}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: quotes, namespace: trading}
spec:
  hosts: [quotes.trading.svc.cluster.local]
  http:
  - route:
    - destination: {host: quotes.trading.svc.cluster.local, subset: current}
      weight: 90
    - destination: {host: quotes.trading.svc.cluster.local, subset: previous}
      weight: 10
"""


def _ivl107(root: Path) -> list[str]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root))).findings
    finally:
        os.chdir(old)
    return [f.severity or "" for f in findings if f.code == "IVL107"]


def test_a_subset_whose_version_runs_in_the_other_clusters_directory_is_info(tmp_path: Path) -> None:
    (tmp_path / "primary").mkdir()
    (tmp_path / "remote").mkdir()
    (tmp_path / "primary" / "app.yaml").write_text(_app("2.4"))
    (tmp_path / "primary" / "routing.yaml").write_text(ROUTING)
    (tmp_path / "remote" / "app.yaml").write_text(_app("2.3"))
    assert _ivl107(tmp_path) == ["info"]


def test_a_version_no_directory_runs_stays_an_error(tmp_path: Path) -> None:
    (tmp_path / "primary").mkdir()
    (tmp_path / "remote").mkdir()
    (tmp_path / "primary" / "app.yaml").write_text(_app("2.4"))
    (tmp_path / "primary" / "routing.yaml").write_text(ROUTING)
    (tmp_path / "remote" / "app.yaml").write_text(_app("2.2"))
    assert _ivl107(tmp_path) == ["error"]
