"""GitOps repository layouts: what a unit cannot know about the rest of the platform.

Each test is one cause found on public GitOps/platform repositories (kustomize overlays,
Argo CD applications per directory, charts collections, test inputs) and keeps the real
finding beside the false one it fixes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HAVE_KUSTOMIZE = bool(shutil.which("kustomize") or shutil.which("kubectl"))


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _lint(cwd: Path, paths: tuple[str, ...] = (".",), **kw):
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return lint(list(paths), Settings(root=str(cwd), **kw)).findings
    finally:
        os.chdir(old)


def _seen(findings) -> list[tuple[str, str, str]]:
    return sorted((f.location.file.replace("\\", "/"), f.code, f.severity) for f in findings)


# An egress allow-list: one base ServiceEntry + VirtualService with tokens, and one directory per
# external host that fills them with `replacements` read from a file.
_EGRESS = {
    "egress/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: egress
resources:
- allow/api-stripe
""",
    "egress/base/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- service-entry.yaml
- virtual-service.yaml
""",
    "egress/base/service-entry.yaml": """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: external
spec:
  hosts:
  - EXTERNAL_HOST
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - {number: 443, name: tls, protocol: TLS}
""",
    "egress/base/virtual-service.yaml": """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: external
spec:
  hosts:
  - EXTERNAL_HOST
  tls:
  - match:
    - sniHosts: [EXTERNAL_HOST]
    route:
    - destination:
        host: EXTERNAL_HOST
        port: {number: 443}
""",
    "egress/allow/api-stripe/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: stripe-
resources:
- ../../base
configMapGenerator:
- name: external-host
  literals: [EXTERNAL_HOST=api.stripe.com]
replacements:
- path: replacements.yaml
""",
    "egress/allow/api-stripe/replacements.yaml": """\
source:
  kind: ConfigMap
  name: external-host
  fieldPath: data.EXTERNAL_HOST
targets:
- select: {kind: ServiceEntry}
  fieldPaths: [spec.hosts.0]
- select: {kind: VirtualService}
  fieldPaths: [spec.hosts.0, spec.tls.0.match.0.sniHosts.0, spec.tls.0.route.0.destination.host]
""",
}


def test_replacement_targets_are_placeholders_when_the_kustomization_is_not_rendered(tmp_path: Path) -> None:
    from istio_vm_lint import kustomize as kz

    _write(tmp_path, _EGRESS)
    catalog = kz.Catalog(str(tmp_path))
    tree = catalog.tree(catalog.get(os.path.realpath(tmp_path / "egress")))  # type: ignore[arg-type]
    vs = os.path.realpath(tmp_path / "egress/base/virtual-service.yaml")
    assert ({"kind": "VirtualService"}, ("spec", "tls", 0, "route", 0, "destination", "host")) in tree.file_replaced[vs]
    # Without a render the tokens are what the build replaces, not hosts the webhook rejects.
    assert not [f for f in _lint(tmp_path, kustomize_command="none") if f.severity != "info"]
    # A real defect in a field no replacement writes is still reported.
    (tmp_path / "egress/base/service-entry.yaml").write_text(_EGRESS["egress/base/service-entry.yaml"].replace(
        "resolution: DNS", "resolution: DNS\n  addresses: [300.0.0.1]"))
    assert ("egress/base/service-entry.yaml", "IVL630", "error") in _seen(_lint(tmp_path, kustomize_command="none"))


@pytest.mark.skipif(not HAVE_KUSTOMIZE, reason="needs kustomize or kubectl")
def test_replacement_targets_are_placeholders_when_the_build_fails(tmp_path: Path) -> None:
    # The second allow-list entry is plain HTTP: its VirtualService has no `tls`, so the
    # replacement copied from the TLS entry names a missing field and kustomize refuses the build.
    files = dict(_EGRESS)
    files["egress/kustomization.yaml"] += "- allow/plain\n"
    files["egress/allow/plain/kustomization.yaml"] = files["egress/allow/api-stripe/kustomization.yaml"].replace(
        "stripe-", "plain-").replace("api.stripe.com", "downloads.example.org").replace("../../base", "http")
    files["egress/allow/plain/replacements.yaml"] = files["egress/allow/api-stripe/replacements.yaml"].replace(
        "spec.tls.0.route.0.destination.host", "spec.http.0.route.0.destination.host")
    files["egress/allow/plain/http/kustomization.yaml"] = files["egress/base/kustomization.yaml"]
    files["egress/allow/plain/http/service-entry.yaml"] = files["egress/base/service-entry.yaml"]
    files["egress/allow/plain/http/virtual-service.yaml"] = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: external
spec:
  hosts:
  - EXTERNAL_HOST
  http:
  - route:
    - destination:
        host: EXTERNAL_HOST
"""
    _write(tmp_path, files)
    seen = _seen(_lint(tmp_path))
    assert ("egress/kustomization.yaml", "IVL753", "warning") in seen, seen
    assert [s for s in seen if s[2] != "info"] == [("egress/kustomization.yaml", "IVL753", "warning")], seen


_SHOP_VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: storefront
  namespace: shop
spec:
  hosts: [shop.example.com]
  gateways: [{gateway}]
  http:
  - route:
    - destination:
        host: storefront
"""
_SHOP_SVC = """\
apiVersion: v1
kind: Service
metadata:
  name: storefront
  namespace: shop
spec:
  selector: {app: storefront}
  ports:
  - {name: http, port: 80, targetPort: 8080}
"""
_GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: istio-ingress
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*.example.com"]
"""
_KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{}"


def test_gateway_of_a_repository_without_gateways_is_the_platforms(tmp_path: Path) -> None:
    # A component repository (an application, a Kubeflow component) binds its routes to the
    # shared ingress gateway of the platform it is installed onto, in its own namespace.
    _write(tmp_path, {"deploy/vs.yaml": _SHOP_VS.format(gateway="shop-gateway"), "deploy/svc.yaml": _SHOP_SVC})
    got = [f for f in _lint(tmp_path) if f.code == "IVL503"]
    assert [f.severity for f in got] == ["info"] and "defines no Gateway at all" in got[0].message
    # A repository with Gateways that names one it does not define: a misspelling, kept.
    _write(tmp_path, {"deploy/gateway.yaml": _GATEWAY.replace("istio-ingress", "shop")})
    got = [f for f in _lint(tmp_path) if f.code == "IVL503"]
    assert [f.severity for f in got] == ["error"], [f.message for f in got]


def test_info_names_the_unit_that_defines_the_gateway(tmp_path: Path) -> None:
    # One Argo CD application per directory: the platform's ingress, and an app binding to it.
    _write(tmp_path, {
        "platform/ingress/kustomization.yaml": _KUSTOMIZATION.format("- gateway.yaml\n"),
        "platform/ingress/gateway.yaml": _GATEWAY,
        "apps/shop/kustomization.yaml": _KUSTOMIZATION.format("- vs.yaml\n- svc.yaml\n"),
        "apps/shop/vs.yaml": _SHOP_VS.format(gateway="istio-ingress/public"),
        "apps/shop/svc.yaml": _SHOP_SVC,
    })
    got = [f for f in _lint(tmp_path, kustomize_command="none") if f.code == "IVL503"]
    assert [f.severity for f in got] == ["info"], [f.message for f in got]
    assert "unit platform/ingress, applied separately, defines it" in got[0].message
    assert "declares nothing" not in got[0].message


@pytest.mark.parametrize("name, negative", [
    ("invalid.yaml", True), ("experiment-invalid.yaml", True), ("malformed-rollout.yml", True),
    ("route_single_invalid_host.yaml", True), ("invalidation-webhook.yaml", False),
    ("valid.yaml", False), ("invalid.json", False)])
def test_test_inputs_named_invalid(tmp_path: Path, name: str, negative: bool) -> None:
    from istio_vm_lint.units.adjust import rejection_sample

    assert rejection_sample(str(tmp_path / name)) is negative


def test_deliberately_invalid_sample_is_info(tmp_path: Path) -> None:
    broken = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {}\nspec:\n  replicas: 1\n   paused: x\n"
    _write(tmp_path, {"samples/invalid.yaml": broken.format("sample"), "deploy/web.yaml": broken.format("web")})
    assert _seen(_lint(tmp_path)) == [("deploy/web.yaml", "IVL001", "error"),
                                      ("samples/invalid.yaml", "IVL001", "info")]


@pytest.mark.skipif(not HAVE_KUSTOMIZE, reason="needs kustomize or kubectl")
def test_fields_set_by_inline_patches_are_located_in_the_kustomization(tmp_path: Path) -> None:
    # An overlay that patches the base's VirtualService inline (block and one-line patches):
    # the findings point at the lines of the kustomization that wrote the values.
    _write(tmp_path, {
        "base/kustomization.yaml": _KUSTOMIZATION.format("- vs.yaml\n- svc.yaml\n"),
        "base/vs.yaml": _SHOP_VS.replace("  gateways: [{gateway}]\n", ""),
        "base/svc.yaml": _SHOP_SVC,
        "prod/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../base
patches:
- target: {kind: VirtualService, name: storefront}
  patch: |-
    - op: add
      path: /spec/http/0/route/0/destination/port
      value:
        number: 8080
patchesJson6902:
- target: {group: networking.istio.io, version: v1, kind: VirtualService, name: storefront}
  patch: '[{"op": "add", "path": "/spec/http/0/timeout", "value": "5x"}]'
""",
    })
    got = {f.code: (f.location.file.replace("\\", "/"), f.location.line, f.location.column)
           for f in _lint(tmp_path, ("prod",)) if f.severity != "info"}
    assert got == {"IVL201": ("prod/kustomization.yaml", 11, 9), "IVL011": ("prod/kustomization.yaml", 14, 58)}, got


def test_istio_sample_services_the_repository_defines_nowhere(tmp_path: Path) -> None:
    # A workshop that routes Bookinfo, applied from Istio's release (samples/bookinfo), into
    # `default`; its own app's route to a missing Service is still an error.
    route = ("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {0}, namespace: default}}\n"
             "spec:\n  hosts: [{0}]\n  http:\n  - route:\n    - destination: {{host: {0}}}\n")
    _write(tmp_path, {"labs/reviews.yaml": route.format("reviews"), "labs/cart.yaml": route.format("cart")})
    got = {(f.location.file, f.severity) for f in _lint(tmp_path) if f.code == "IVL501"}
    assert got == {("labs/reviews.yaml", "info"), ("labs/cart.yaml", "error")}, got
    # The repository deploys `reviews` itself, in another namespace: the route is wrong.
    _write(tmp_path, {"app/svc.yaml": _SHOP_SVC.replace("storefront", "reviews")})
    got = {(f.location.file, f.severity) for f in _lint(tmp_path) if f.code == "IVL501"}
    assert got == {("labs/reviews.yaml", "error"), ("labs/cart.yaml", "error")}, got


def test_chart_directory_with_a_kustomization_is_a_kustomize_root(tmp_path: Path) -> None:
    # The ingress directory pins Istio's gateway chart (Chart.yaml) and is built with kustomize
    # (Argo CD's detection prefers the kustomization): its Gateway is defined, by that unit.
    _write(tmp_path, {
        "ingress/Chart.yaml": "apiVersion: v2\nname: ingress\nversion: 0.1.0\n"
                              "dependencies:\n- {name: gateway, version: 1.22.0, repository: https://example.org/charts}\n",
        "ingress/charts/gateway/Chart.yaml": "apiVersion: v2\nname: gateway\nversion: 1.22.0\n",
        "ingress/charts/gateway/templates/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n"
                                                         "  name: {{ .Release.Name }}\n",
        "ingress/kustomization.yaml": _KUSTOMIZATION.format("- gateway.yaml\n"),
        "ingress/gateway.yaml": _GATEWAY,
        "shop/kustomization.yaml": _KUSTOMIZATION.format("- vs.yaml\n- svc.yaml\n"),
        "shop/vs.yaml": _SHOP_VS.format(gateway="istio-ingress/public"),
        "shop/svc.yaml": _SHOP_SVC,
    })
    findings = _lint(tmp_path, kustomize_command="none", helm_command="none")
    assert not [f for f in findings if f.code in ("IVL001", "IVL752")], [f.message for f in findings]
    got = [f for f in findings if f.code == "IVL503"]
    assert [f.severity for f in got] == ["info"] and "unit ingress, applied separately, defines it" in got[0].message


def test_remote_resources_of_a_unit_may_define_what_it_misses(tmp_path: Path) -> None:
    # The Argo Workflows install is pulled by URL; the route to its UI Service is not an error.
    _write(tmp_path, {
        "argo/kustomization.yaml": _KUSTOMIZATION.format(
            "- https://github.com/argoproj/argo-workflows/releases/download/v3.5.0/install.yaml\n- vs.yaml\n"),
        "argo/vs.yaml": _SHOP_VS.format(gateway="mesh").replace("storefront", "argo-server").replace("shop", "argo"),
    })
    got = [f for f in _lint(tmp_path) if f.code == "IVL501"]
    assert [f.severity for f in got] == ["info"] and "remote resources" in got[0].message


def test_absent_chart_rendering_listed_by_the_kustomization_beside_the_chart(tmp_path: Path) -> None:
    # `helm template . > all.yaml && kustomize build` (an Argo CD plugin): all.yaml is written at
    # build time, so the kustomization is not rendered (a notice), not a failed build.
    _write(tmp_path, {
        "app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "app/templates/svc.yaml": _SHOP_SVC,
        "app/kustomization.yaml": _KUSTOMIZATION.format("- all.yaml\n"),
    })
    seen = _seen(_lint(tmp_path, helm_command="none"))
    assert ("app/kustomization.yaml", "IVL751", "info") in seen and not [s for s in seen if s[2] != "info"], seen
