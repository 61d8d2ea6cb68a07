"""IVL181 (a pod's serviceAccountName its namespace does not declare) and what the unit
cannot know: a namespace that was only assumed, an account another unit declares."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: portal-sa\n{ns}"
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: portal
{ns}spec:
  selector:
    matchLabels: {{app: portal}}
  template:
    metadata:
      labels: {{app: portal}}
    spec:
      serviceAccountName: portal-sa
      containers:
      - name: portal
        image: portal:1
"""
OTHER_SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: other\n  namespace: {ns}\n"


def _ivl181(root: Path) -> list[tuple[str, str]]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root))).findings
    finally:
        os.chdir(old)
    return [(f.location.file.replace(os.sep, "/"), f.severity or "") for f in findings if f.code == "IVL181"]


def test_assumed_namespace_with_the_account_declared_elsewhere_is_info(tmp_path: Path) -> None:
    # The file declares the account in `travel`; its namespace-less Deployment is applied there
    # (kubectl apply -n travel), which the repository does not state.
    (tmp_path / "portal.yaml").write_text(SA.format(ns="  namespace: travel\n") + "---\n" + DEPLOY.format(ns="")
                                          + "---\n" + OTHER_SA.format(ns="default"))
    assert _ivl181(tmp_path) == [("portal.yaml", "info")]


def test_stated_namespace_without_the_account_stays_a_warning(tmp_path: Path) -> None:
    (tmp_path / "portal.yaml").write_text(SA.format(ns="  namespace: travel\n") + "---\n"
                                          + DEPLOY.format(ns="  namespace: shop\n") + "---\n"
                                          + OTHER_SA.format(ns="shop"))
    assert _ivl181(tmp_path) == [("portal.yaml", "warning")]


def test_account_declared_by_another_unit_is_info(tmp_path: Path) -> None:
    # kubeflow's layout: cluster-scoped resources (the account among them) are a kustomization
    # of their own, applied separately.
    app, scoped = tmp_path / "base" / "portal", tmp_path / "base" / "portal" / "cluster-scoped"
    scoped.mkdir(parents=True)
    (app / "kustomization.yaml").write_text("namespace: travel\nresources:\n- deployment.yaml\n- other-sa.yaml\n")
    (app / "deployment.yaml").write_text(DEPLOY.format(ns=""))
    (app / "other-sa.yaml").write_text(OTHER_SA.format(ns="travel"))
    (scoped / "kustomization.yaml").write_text("namespace: travel\nresources:\n- sa.yaml\n")
    (scoped / "sa.yaml").write_text(SA.format(ns=""))
    got = _ivl181(tmp_path)
    assert [sev for _, sev in got] == ["info"], got
