"""IVL184: a CUSTOM provider missing from the repository's mesh config but written in another
file (a vendor operator's resource listing its authorizers) is info, not an error."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

MESH = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    extensionProviders:
    - name: stdout-json
      envoyFileAccessLog: {path: /dev/stdout}
"""

POLICY = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-auth, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  action: CUSTOM
  provider: {name: shop-authorizer}
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
"""

OPERATOR_CR = """\
apiVersion: operator.example.io/v1alpha2
kind: Istio
metadata: {name: default, namespace: platform-system}
spec:
  config:
    authorizers:
    - name: shop-authorizer
      service: authz.shop.svc.cluster.local
      port: 8000
"""


def _run(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, str, str]]:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    settings = Settings()
    settings.root = str(tmp_path)
    settings.select = ["IVL184"]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        out = lint(["."], settings)
    finally:
        os.chdir(cwd)
    return [(f.code, f.severity, f.message) for f in out.findings]


def test_provider_missing_everywhere_is_an_error(tmp_path: Path) -> None:
    found = _run(tmp_path, {"mesh.yaml": MESH, "policy.yaml": POLICY})
    assert [(c, s) for c, s, _ in found] == [("IVL184", "error")]


def test_provider_written_by_an_operator_resource_is_info(tmp_path: Path) -> None:
    found = _run(tmp_path, {"mesh.yaml": MESH, "policy.yaml": POLICY, "istio-cr.yaml": OPERATOR_CR})
    assert [(c, s) for c, s, _ in found] == [("IVL184", "info")]
    assert "istio-cr.yaml writes 'shop-authorizer'" in found[0][2]


def test_another_policy_naming_it_is_no_definition(tmp_path: Path) -> None:
    other = POLICY.replace("name: ext-auth", "name: ext-auth-2")
    found = _run(tmp_path, {"mesh.yaml": MESH, "policy.yaml": POLICY, "policy2.yaml": other})
    assert [(c, s) for c, s, _ in found] == [("IVL184", "error"), ("IVL184", "error")]
