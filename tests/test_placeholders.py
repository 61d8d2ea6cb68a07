"""Unrendered placeholders ({{ }}, $(VAR), ${VAR}) are never validated as configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from istio_vm_lint.config import Settings
from istio_vm_lint.placeholders import is_placeholder
from istio_vm_lint.runner import lint


@pytest.mark.parametrize("value", ["{{ .Values.host }}", "*.{{ .Values.domain }}", "$(SERVICE_NAME)", "$(kfp-namespace).svc",
                                   "${DOMAIN}", "api.${ENV:-dev}.example.com", "{{host}}"])
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["reviews", "*.example.com", "^/api$", "$100", "a{b}", 80, None, "${", "$(1x)"])
def test_not_placeholders(value: object) -> None:
    assert not is_placeholder(value)


def _codes(tmp_path: Path, text: str) -> list[tuple[int, str]]:
    (tmp_path / "r.yaml").write_text(text)
    return sorted((f.location.line, f.code) for f in lint([str(tmp_path)], Settings()).findings
                  if f.severity != "info")


def test_real_defects_of_a_templated_resource_are_still_reported(tmp_path: Path) -> None:
    # The name is a template; the bad port protocol is a real defect of the same resource.
    got = _codes(tmp_path, """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: "{{ .Release.Name }}-api"
  namespace: vm
spec:
  hosts: ["{{ .Values.host }}", "bad_host!"]
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - number: 443
    name: tls
    protocol: TLS
""")
    assert got and all(line == 7 for line, _ in got), got


def test_unparseable_template_is_info(tmp_path: Path) -> None:
    # Renderer input, wherever it is: an Ansible role's templates/, a Go test harness's
    # manifest template, a workshop file a sed step fills in.  A real syntax error stays an error.
    text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ svc_name }}\n"
    (tmp_path / "roles" / "web" / "templates").mkdir(parents=True)
    (tmp_path / "roles" / "web" / "templates" / "svc.yml").write_text(text)  # an Ansible role
    (tmp_path / "e2e").mkdir()
    (tmp_path / "e2e" / "manifest_template.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: echo\n"
        "  namespace: {{.EchoContext.AppNamespace.Name}}\n")
    (tmp_path / "workshop.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: sso\nspec:\n"
        "  hosts:\n  - %SSO_SVC%\n  location: MESH_INTERNAL\n")
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x\n")
    got = sorted((f.location.file.replace("\\", "/").rsplit("/", 1)[-1], f.location.line, f.code, f.severity,
                  f.message) for f in lint([str(tmp_path)], Settings()).findings)
    assert [g[:4] for g in got] == [("broken.yaml", 4, "IVL001", "error"),
                                    ("manifest_template.yaml", 5, "IVL001", "info"),
                                    ("svc.yml", 4, "IVL001", "info"),
                                    ("workshop.yaml", 7, "IVL001", "info")]
    assert got[1][4].startswith("unrendered template expression ({{ ... }})")
    assert got[1][4].endswith("the file is renderer input: not linted")
    assert got[3][4].startswith("unrendered template placeholder (%SSO_SVC%)")


def test_kustomize_replacement_targets_are_unrendered(tmp_path: Path) -> None:
    from istio_vm_lint import project as project_mod
    from istio_vm_lint.findings import Problem
    from istio_vm_lint.placeholders import about_placeholder, mark_unrendered, replacement_targets

    kustomization = {"replacements": [{"source": {"kind": "ConfigMap", "name": "env", "fieldPath": "data.domain"},
                                       "targets": [{"select": {"kind": "VirtualService", "name": "shop"},
                                                    "fieldPaths": ["spec.hosts.0", "spec.http.[name=main].timeout"]}]}]}
    assert replacement_targets(kustomization) == [({"kind": "VirtualService", "name": "shop"}, ("spec", "hosts", 0)),
                                                  ({"kind": "VirtualService", "name": "shop"}, ("spec", "http"))]
    assert replacement_targets({"replacements": [{"targets": "x"}, None]}) == []
    (tmp_path / "vs.yaml").write_text("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                                      "metadata: {name: shop, namespace: vm}\nspec:\n  hosts: [DOMAIN_PLACEHOLDER_]\n")
    from istio_vm_lint.discover import discover
    proj = project_mod.load_project(discover([str(tmp_path)])[0])
    vs = proj.resources[0]
    problem = Problem(vs, ("spec", "hosts", 0), "domain name invalid")
    assert not about_placeholder(problem)
    mark_unrendered(vs, ("spec", "hosts", 0))
    assert about_placeholder(problem) and not about_placeholder(Problem(vs, ("spec", "gateways"), "m"))


@pytest.mark.parametrize("value", ["./cart.SHOP_NAMESPACE.svc.cluster.local", "api.%DOMAIN%", "__NAMESPACE__/*",
                                   "PROJECT_ID.svc.id.goog/ns/shop/sa/web", "placeholderName", "placeholderNamespace"])
def test_substituted_tokens(value: str) -> None:
    from istio_vm_lint.placeholders import is_substituted

    assert is_substituted(value)


@pytest.mark.parametrize("value", ["ISTIO_MUTUL", "MESH_EXTERNAL", "reviews.shop.svc.cluster.local", "Api.Example.com",
                                   "X-API_KEY", "^/API_V1$", "DOMAIN_PLACEHOLDER_", "placeholder", "placeholder-pod",
                                   "Placeholder", 80])
def test_not_substituted_tokens(value: object) -> None:
    from istio_vm_lint.placeholders import is_substituted

    assert not is_substituted(value)


def test_sed_substituted_namespace_in_sidecar_hosts_is_not_validated(tmp_path: Path) -> None:
    # A docs sample whose README says: sed "s/SHOP_NAMESPACE/$NS/" sidecar.yaml | kubectl apply -f -
    got = _codes(tmp_path, """\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: checkout
  namespace: shop
spec:
  workloadSelector:
    labels: {app: checkout}
  egress:
  - hosts:
    - istio-system/*
    - ./cart.SHOP_NAMESPACE.svc.cluster.local
    - ./bad_host!.shop.svc.cluster.local
""")
    assert got == [(13, "IVL506"), (13, "IVL650")], got


def test_camel_case_placeholder_names_are_not_validated(tmp_path: Path) -> None:
    # A UI test fixture whose test code replaces the name and namespace before applying it.
    got = _codes(tmp_path, """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: placeholderName
  namespace: placeholderNamespace
spec:
  action: AUDIT
  rules:
  - to:
    - operation:
        methods: [GET]
        paths: [/user/profile/*]
---
apiVersion: v1
kind: Service
metadata:
  name: Profile_Svc
  namespace: placeholderNamespace
spec:
  ports: [{port: 80, name: http}]
""")
    assert got == [(17, "IVL006")], got
