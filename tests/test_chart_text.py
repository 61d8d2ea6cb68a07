"""Without helm, a reference that resolves to nothing is lowered to info only when an
unrendered chart (or an OpenShift Template) may define the name (lint/units/chart_text.py):
a typo far from every chart stays an error."""

from __future__ import annotations

import os
from pathlib import Path

from istio_vm_lint.config import Settings
from istio_vm_lint.runner import lint

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "values.yaml": "service:\n  name: orders\nworkers:\n  - billing\n",
    "templates/service.yaml": ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"shop.fullname\" . }}-api\n"
                               "spec:\n  selector:\n    app: shop\n  ports:\n  - name: http\n    port: 80\n"),
    "templates/orders.yaml": ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Values.service.name }}\n"
                              "spec:\n  ports:\n  - name: http\n    port: 80\n"),
    "templates/_helpers.tpl": "{{- define \"shop.fullname\" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end }}\n",
}

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
  namespace: shop
spec:
  hosts: [{name}.example.com]
  gateways: [istio-system/public]
  http:
  - route:
    - destination:
        host: {host}
"""


def _repo(tmp_path: Path, hosts: list[str], chart: dict[str, str] = CHART) -> Path:
    for rel, text in chart.items():
        p = tmp_path / "charts" / "shop" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    routes = "---\n".join(VS.format(name=f"r{i}", host=h) for i, h in enumerate(hosts))
    (tmp_path / "istio").mkdir()
    (tmp_path / "istio" / "routes.yaml").write_text(routes)
    (tmp_path / "istio" / "gateway.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: public\n  namespace: istio-system\n"
        "spec:\n  selector:\n    istio: ingressgateway\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n"
        "    hosts: ['*/*.example.com']\n")
    return tmp_path


def _ivl501(root: Path) -> dict[str, str]:
    old = os.getcwd()
    os.chdir(root)
    try:
        findings = lint(["."], Settings(root=str(root), helm_command="none")).findings
    finally:
        os.chdir(old)
    out = {}
    for f in findings:
        if f.code == "IVL501":
            host = f.message.split("destination host '", 1)[1].split("'", 1)[0]
            out[host] = f.severity or ""
    return out


def test_only_names_a_chart_may_define_are_lowered(tmp_path: Path) -> None:
    got = _ivl501(_repo(tmp_path, ["release-shop-api", "orders", "billing", "paymnets"]))
    assert got == {
        "release-shop-api": "info",  # the fullname helper: <release>-shop, then "-api"
        "orders": "info",  # a name the chart's values set
        "billing": "info",  # written in the chart
        "paymnets": "error",  # nothing in the chart can produce it
    }


def test_a_release_named_object_may_be_anything(tmp_path: Path) -> None:
    chart = dict(CHART)
    chart["templates/extra.yaml"] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"
    got = _ivl501(_repo(tmp_path, ["paymnets"], chart))
    assert got == {"paymnets": "info"}


def test_openshift_template_parameters_may_name_anything(tmp_path: Path) -> None:
    root = _repo(tmp_path, ["inventory-prd", "paymnets"])
    (root / "deploy").mkdir()
    (root / "deploy" / "service-template.yaml").write_text(
        "apiVersion: template.openshift.io/v1\nkind: Template\nmetadata:\n  name: service-template\nobjects:\n"
        "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: ${SERVICE_NAME}-prd\n  spec:\n"
        "    ports:\n    - name: http\n      port: 8080\nparameters:\n- name: SERVICE_NAME\n")
    got = _ivl501(root)
    assert got == {"inventory-prd": "info", "paymnets": "error"}
