"""Deployment units (lint/units/, lint/kustomize.py, lint/helm.py).

``fixtures/units/<case>/`` folders carry ``# expect: CODE`` markers like the rule fixtures
(every finding, info included, must match exactly); the layouts under
``fixtures/examples/`` must stay free of errors and warnings (tests/test_examples.py) and are
checked here from sub-directories and without renderers too.  Tests that render with the real
kustomize skip when neither ``kustomize`` nor ``kubectl`` is on PATH; Helm is exercised with a
fake ``helm`` script put on PATH.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from conftest import FIXTURES, expectations, lint_folder

UNITS = FIXTURES / "units"
EXAMPLES = FIXTURES / "examples"
HAVE_KUSTOMIZE = bool(shutil.which("kustomize") or shutil.which("kubectl"))
needs_kustomize = pytest.mark.skipif(not HAVE_KUSTOMIZE, reason="neither kustomize nor kubectl is on PATH")
CASES = sorted(p for p in UNITS.iterdir() if p.is_dir()) if UNITS.is_dir() else []


def _lint(cwd: Path, paths: list[str], **kw):
    from istio_vm_lint.config import Settings, find_config, load_config_file
    from istio_vm_lint.runner import lint

    values = dict(load_config_file(find_config(str(cwd)))) if find_config(str(cwd)) else {}
    values.update(kw)
    values.setdefault("root", str(cwd))
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return lint(paths, Settings(**values)).findings
    finally:
        os.chdir(old)


def _keys(findings) -> set[tuple[str, int, str]]:
    return {(f.location.file.replace("\\", "/"), f.location.line, f.code) for f in findings}


def _blocking(findings) -> list[str]:
    return [f"{f.location.file}:{f.location.line} {f.code} {f.message}" for f in findings
            if f.severity in ("error", "warning")]


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_unit_fixture(folder: Path) -> None:
    if any(folder.rglob("kustomization.yaml")) and not HAVE_KUSTOMIZE:
        pytest.skip("kustomize fixtures need kustomize or kubectl on PATH")
    expected = expectations(folder)
    actual = _keys(lint_folder(folder))
    assert actual == expected, f"missing: {sorted(expected - actual)}\nextra: {sorted(actual - expected)}"


# --- kustomize ------------------------------------------------------------------------


@needs_kustomize
@pytest.mark.parametrize("sub", [".", "overlays/prod", "overlays/staging"])
def test_overlays_clean_from_root_and_each_overlay(sub: str) -> None:
    root = EXAMPLES / "kustomize-overlays"
    findings = _lint(root, [sub])
    assert not _blocking(findings), _blocking(findings)
    assert not [f for f in findings if f.code in ("IVL751", "IVL753")]


@needs_kustomize
def test_patch_defect_reported_in_the_patch_file_from_the_overlay_alone() -> None:
    root = UNITS / "kustomize-patch-defect"
    findings = _lint(root, ["overlays/prod"])
    assert _keys(findings) == {("overlays/prod/canary.yaml", 15, "IVL108")}
    (f,) = findings
    assert f.resource is not None and f.resource.namespace == "reviews"
    assert "reviews/reviews" in f.message
    assert _keys(_lint(root, ["overlays/staging"])) == set()


@needs_kustomize
def test_rendering_leaves_the_tree_untouched(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "kustomize-overlays", repo)
    before = {p: p.stat().st_mtime_ns for p in repo.rglob("*")}
    _lint(repo, ["."])
    after = {p: p.stat().st_mtime_ns for p in repo.rglob("*")}
    assert before == after


def test_fallback_without_kustomize_applies_namespace_and_skips_patches() -> None:
    root = UNITS / "kustomize-patch-defect"
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    old = os.getcwd()
    os.chdir(root)
    try:
        out = lint(["."], Settings(root=str(root), kustomize_command="none"))
    finally:
        os.chdir(old)
    notices = sorted((f.location.file, f.code, f.severity) for f in out.findings if f.code == "IVL751")
    assert notices == [("overlays/prod/kustomization.yaml", "IVL751", "info"),
                       ("overlays/staging/kustomization.yaml", "IVL751", "info")]
    # Patch files are not resources; the base's resources take each overlay's namespace.
    assert not [f for f in out.findings if "canary.yaml" in f.location.file or "route-to-v2" in f.location.file]
    assert not _blocking(out.findings), _blocking(out.findings)
    namespaces = {r.namespace for r in out.project.resources if r.kind == "VirtualService"}
    assert namespaces <= {"reviews", "reviews-staging"}


def test_remote_resources_are_never_rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from istio_vm_lint import kustomize

    def boom(*a, **k):  # pragma: no cover - must not be called
        raise AssertionError("rendered a tree with a remote resource")

    monkeypatch.setattr(kustomize, "render", boom)
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- github.com/example/platform/istio?ref=v1\n- se.yaml\nnamespace: edge\n")
    (tmp_path / "se.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: api\nspec:\n"
        "  hosts: [api.example.com]\n  location: MESH_EXTERNAL\n  resolution: DNS\n"
        "  ports: [{number: 443, name: tls, protocol: TLS}]\n")
    findings = _lint(tmp_path, ["."], kustomize_command="kubectl kustomize")
    assert [(f.code, f.location.line) for f in findings] == [("IVL751", 2)]
    assert "remote resource" in findings[0].message


@needs_kustomize
def test_same_finding_in_two_overlays_is_reported_once_naming_both(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "kustomize-overlays", repo)
    dr = repo / "base" / "destinationrule.yaml"
    dr.write_text(dr.read_text().replace("  host: reviews\n", "  host: reviews\n  trafficPolicy:\n"
                                         "    outlierDetection:\n      consecutiveErrors: 5\n"))
    findings = _lint(repo, ["."])
    assert _keys(findings) == {("base/destinationrule.yaml", 9, "IVL621")}
    assert findings[0].message.endswith("[units: overlays/prod, overlays/staging]"), findings[0].message


# --- Helm -----------------------------------------------------------------------------

FAKE_HELM = r'''#!/bin/sh
# A stand-in for `helm template RELEASE CHART [--values F]... [--namespace NS]`.
ns=default
while [ $# -gt 0 ]; do
  case "$1" in --namespace) ns="$2"; shift;; esac
  shift
done
cat <<YAML
---
# Source: storefront/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: storefront
  namespace: $ns
spec:
  selector:
    app: storefront
  ports:
  - name: http
    port: 80
    targetPort: http
---
# Source: storefront/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: storefront
  namespace: $ns
spec:
  replicas: 2
  selector:
    matchLabels:
      app: storefront
  template:
    metadata:
      labels:
        app: storefront
    spec:
      containers:
      - name: storefront
        image: "registry.example.com/storefront:3.4.1"
        ports:
        - name: http
          containerPort: 8080
YAML
'''


@pytest.fixture
def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    helm.write_text(FAKE_HELM)
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return helm


def test_chart_without_helm_is_one_notice_and_demotes_what_it_could_define() -> None:
    findings = _lint(EXAMPLES / "chart-beside-manifests", ["."], helm_command="none")
    assert not _blocking(findings), _blocking(findings)
    assert [(f.location.file, f.code) for f in findings if f.code == "IVL752"] == [
        ("charts/storefront/Chart.yaml", "IVL752")]
    demoted = [f for f in findings if f.code == "IVL501"]
    assert demoted and all(f.severity == "info" and "Helm chart" in f.message for f in demoted)
    assert not [f for f in findings if "templates/" in f.location.file]  # never parsed as YAML


def test_chart_rendered_with_helm(fake_helm: Path) -> None:
    root = EXAMPLES / "chart-beside-manifests"
    findings = _lint(root, ["."], namespaces={"charts/storefront/**": "storefront"})
    assert not [f for f in findings if f.code in ("IVL501", "IVL752", "IVL753")], [
        (f.code, f.message) for f in findings]


def test_chart_render_locates_findings_in_the_template(fake_helm: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "chart-beside-manifests", repo)
    # The rendered Service now targets a port name no container declares.
    fake_helm.write_text(FAKE_HELM.replace("targetPort: http", "targetPort: web"))
    findings = _lint(repo, ["."], namespaces={"charts/storefront/**": "storefront"})
    files = {f.location.file for f in findings if f.severity in ("error", "warning")}
    assert files == {"charts/storefront/templates/service.yaml"}, [(f.location.file, f.code) for f in findings]


# --- copies and namespaces --------------------------------------------------------------


def test_sibling_demos_copies_are_not_conflicts() -> None:
    # Two demos that each deploy an app and define the Gateway demo-gateway differently: a
    # sample collection, so each demo is its own unit and the copies never meet.
    findings = lint_folder(EXAMPLES / "sibling-demos")
    assert findings == [], [(f.code, f.message) for f in findings]


def test_alternatives_in_one_directory_are_not_conflicts() -> None:
    """Tutorial step files that redefine one object: what a step conflicts with depends on which
    copy is live, which the repository does not state (info, saying so); the copies are IVL750."""
    findings = lint_folder(UNITS / "tutorial-alternatives")
    blocking = [f for f in findings if f.severity != "info"]
    assert not blocking, _blocking(findings)
    assert {f.code for f in findings if f.code == "IVL750"} == {"IVL750"}
    conflicts = [f for f in findings if f.code == "IVL710"]
    assert conflicts and all("alternatives" in f.message for f in conflicts)


@pytest.mark.parametrize(("rel", "pattern", "matches"), [
    ("samples/a", "samples/*", True),
    ("samples/a/whoami", "samples/*", False),  # fnmatch's * would cross '/' and split the sample
    ("apps/shop/x.yaml", "apps/shop/**", True),
    ("apps/shop/a/b.yaml", "apps/shop/**", True),
    ("apps/shop.yaml", "apps/shop/**", False),
    ("mesh.yaml", "**/mesh.yaml", True),
    ("a/b/mesh.yaml", "**/mesh.yaml", True),
    ("envs/prod", "./envs/*/", True),
])
def test_config_globs_are_segment_aware(rel: str, pattern: str, matches: bool) -> None:
    from istio_vm_lint.units.plan import glob_match

    assert glob_match(rel, pattern) is matches


def test_config_units_split_samples(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "sibling-demos", repo)
    (repo / ".istio-vm-lint.toml").write_text('units = ["*-demo"]\n')
    assert _lint(repo, ["."]) == []


def test_namespaces_table_places_namespace_less_resources() -> None:
    findings = lint_folder(EXAMPLES / "namespace-per-path")
    assert findings == [], [(f.code, f.message) for f in findings]


def test_rejected_resource_takes_no_part_in_resolution(tmp_path: Path) -> None:
    (tmp_path / "se.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: everything\n"
        "  namespace: egress\nspec:\n  hosts: ['*']\n  location: MESH_EXTERNAL\n  resolution: NONE\n"
        "  ports: [{number: 443, name: tls, protocol: TLS}]\n")
    (tmp_path / "vs.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: api\n"
        "  namespace: egress\nspec:\n  hosts: [api.example.com]\n  tls:\n  - match: [{sniHosts: [api.example.com]}]\n"
        "    route:\n    - destination:\n        host: api.example.com\n")
    findings = lint_folder(tmp_path)
    codes = {(f.location.file, f.code) for f in findings}
    assert ("vs.yaml", "IVL501") in codes, [(f.location.file, f.code, f.message) for f in findings]
    rejected = [f for f in findings if f.location.file == "se.yaml" and f.severity == "error"]
    assert rejected and all("would not exist" in f.message for f in rejected)


def test_reference_defined_by_another_unit_is_named() -> None:
    from istio_vm_lint.units.adjust import _defined_in_other_units
    from istio_vm_lint.units.plan import Unit

    index = {"svc:reviews.reviews": {"overlays/prod"}, "reviews/reviews-gw": {"overlays/prod"},
             "api.partner.example": {"."}, "reviews.default": {"overlays/prod"}}
    plain, prod = Unit(".", "."), Unit("overlays/prod", "kustomize")
    msg = "destination host 'reviews.reviews.svc.cluster.local' matches no ServiceEntry"
    assert _defined_in_other_units(msg, plain, index) == ["overlays/prod"]
    assert _defined_in_other_units(msg, prod, index) == []
    assert _defined_in_other_units("gateway 'reviews/reviews-gw' does not exist", plain, index) == ["overlays/prod"]
    assert _defined_in_other_units("host 'api.partner.example' is not found", prod, index) == ["."]
    # A VirtualService or DestinationRule named like the service defines no host.
    assert _defined_in_other_units("destination host 'reviews.default.svc.cluster.local' matches no Service",
                                   plain, index) == []
    # An operator's custom resource (namespace-less, another unit) whose name the Service extends.
    index["cr:*:broker"] = {"overlays/prod"}
    assert _defined_in_other_units("destination host 'broker-hdls-svc.amq.svc.cluster.local' matches no Service",
                                   plain, index) == ["overlays/prod"]


def test_empty_kustomization_is_a_scaffold_not_a_render_failure(tmp_path: Path) -> None:
    # A workshop's step folder with a kustomization the participants fill in later.
    (tmp_path / "app-canary").mkdir()
    (tmp_path / "app-canary" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
    findings = _lint(tmp_path, ["."])
    assert [(f.code, f.severity) for f in findings] == [("IVL751", "info")], [(f.code, f.message) for f in findings]
    assert "lists no resources" in findings[0].message


_TUTORIAL_APP = """\
apiVersion: v1
kind: Service
metadata:
  name: customer{ns}
spec:
  selector: {{app: customer}}
  ports:
  - {{name: http, port: 8080}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: customer{ns}
spec:
  selector:
    matchLabels: {{app: customer}}
  template:
    metadata:
      labels: {{app: customer}}
    spec:
      containers:
      - {{name: customer, image: quay.io/example/customer:1.0, ports: [{{containerPort: 8080}}]}}
"""
_TUTORIAL_DR = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: default
  namespace: tutorial
spec:
  host: "*.tutorial.svc.cluster.local"
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
"""


@pytest.mark.parametrize(("ns", "severity"), [("", "info"), ("\n  namespace: default", "warning")])
def test_wildcard_host_over_a_namespace_the_app_is_applied_to(tmp_path: Path, ns: str, severity: str) -> None:
    # The tutorial's app has no namespace (`kubectl apply -n tutorial -f app.yaml`): the
    # wildcard rule covers it there. With the app pinned to `default`, it covers nothing.
    (tmp_path / "app.yaml").write_text(_TUTORIAL_APP.format(ns=ns))
    (tmp_path / "dr.yaml").write_text(_TUTORIAL_DR)
    got = [(f.code, f.severity) for f in _lint(tmp_path, ["."]) if f.code == "IVL502"]
    assert got == [("IVL502", severity)], got


_LABELLED_BASE = {
    "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                          "resources: [app.yaml]\nlabels:\n- includeSelectors: true\n  pairs:\n"
                          "    app.kubernetes.io/component: web\n",
    "app.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, team: platform}
    spec:
      containers:
      - {name: web, image: registry.example.com/web:1.0, ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
""",
}
_LABELLED_OVERLAY = {
    "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                          "resources: [../base, policy.yaml]\ncommonLabels:\n  team: storefront\n",
    "policy.yaml": """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web, namespace: shop}
spec:
  selector:
    matchLabels: {app: web, team: storefront}
  action: ALLOW
  rules:
  - from:
    - source: {namespaces: [shop]}
""",
}


@pytest.mark.parametrize("command", ["none", "kubectl kustomize"])
def test_label_transformers_apply_without_a_render(tmp_path: Path, command: str) -> None:
    # The policy's selector holds only once the overlay's commonLabels (team: storefront, over
    # the base's team: platform) and the base's labels (includeSelectors) reach the pod
    # template, as they do when kustomize renders it.
    if command != "none" and not HAVE_KUSTOMIZE:
        pytest.skip("needs kubectl")
    for sub, files in (("base", _LABELLED_BASE), ("overlay", _LABELLED_OVERLAY)):
        (tmp_path / sub).mkdir()
        for name, text in files.items():
            (tmp_path / sub / name).write_text(text)
    findings = _lint(tmp_path, ["."], kustomize_command=command)
    assert not _blocking(findings), _blocking(findings)


def test_stdin_in_a_sample_collection_is_linted_with_its_sample(tmp_path: Path) -> None:
    # An editor sends the buffer of echo-demo/istio.yaml: its Service is in echo-demo/app.yaml.
    from test_ecosystem_support import run

    repo = tmp_path / "repo"
    shutil.copytree(UNITS / "sample-collection", repo)
    (repo / ".git").mkdir()
    text = (repo / "echo-demo" / "istio.yaml").read_bytes()
    r = run(["check", "-", "--stdin-filename", "echo-demo/istio.yaml", "--format", "json", "--no-cache"],
            cwd=repo, input=text)
    import json

    codes = sorted({f["code"] for f in json.loads(r.output)["findings"]})
    assert codes == ["IVL107", "IVL702"], r.output


def test_trace_sees_every_sample_of_a_collection(tmp_path: Path) -> None:
    # graph and trace draw one mesh: a host only the second demo defines is still found.
    from test_ecosystem_support import run

    repo = tmp_path / "repo"
    shutil.copytree(UNITS / "sample-collection", repo)
    (repo / ".git").mkdir()
    (repo / "httpbin-demo" / "admin.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: httpbin-admin, namespace: demo}\n"
        "spec:\n  selector: {app: backend}\n  ports:\n  - {name: http, port: 8001, targetPort: 80}\n")
    r = run(["trace", "httpbin-admin.demo.svc.cluster.local"], cwd=repo)
    assert r.exit_code == 0 and "Service demo/httpbin-admin" in r.output, r.output


def test_scenario_directories_are_alternatives(tmp_path: Path) -> None:
    """Scenario directories that define some objects differently (the sidecar and gateway
    variants of an egress tutorial, a plain and a TLS proxy) are applied one at a time: their
    conflicts with each other are info, saying so; a conflict with an object every scenario
    applies stays an error."""
    findings = lint_folder(UNITS / "scenario-variants")
    assert not [f for f in findings if f.severity != "info"], _blocking(findings)
    lowered = [f for f in findings if f.code in ("IVL710", "IVL740")]
    assert {f.code for f in lowered} == {"IVL710", "IVL740"}
    assert all("alternatives applied one at a time" in f.message for f in lowered)
    repo = tmp_path / "repo"
    shutil.copytree(UNITS / "scenario-variants", repo)
    (repo / "mesh-defaults.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: inventory-retries, namespace: shop}\n"
        "spec:\n  hosts: [inventory.partner.example]\n  tls:\n  - match:\n    - port: 8443\n"
        "      sniHosts: [inventory.partner.example]\n    route:\n    - destination:\n"
        "        host: inventory.partner.example\n        port: {number: 8443}\n")
    errors = {(Path(f.location.file).name, f.code) for f in lint_folder(repo) if f.severity == "error"}
    assert ("mesh-defaults.yaml", "IVL710") in errors
    assert ("virtual-service.yaml", "IVL710") in errors


def test_file_naming_its_namespace_is_not_in_the_assumed_one(tmp_path: Path) -> None:
    """A namespace-less file whose DestinationRule names ``helloworld.sample.svc...`` is applied
    in ``sample``: subset routing that fails only in the assumed namespace is info; without that
    host the same routing is an error."""
    findings = [f for f in lint_folder(UNITS / "namespace-assumed") if f.code == "IVL108"]
    assert findings and all(f.severity == "info" and "helloworld.sample" in f.message for f in findings)
    repo = tmp_path / "repo"
    repo.mkdir()
    text = (UNITS / "namespace-assumed" / "samples" / "helloworld.yaml").read_text()
    (repo / "helloworld.yaml").write_text(text.replace("helloworld.sample.svc.cluster.local", "helloworld"))
    assert not [f for f in lint_folder(repo) if f.code == "IVL108"]
    (repo / "helloworld.yaml").write_text(text.split("kind: DestinationRule")[0].rsplit("---", 1)[0])
    assert [f.severity for f in lint_folder(repo) if f.code == "IVL108"] == ["error"]


def test_git_ignored_patterns(tmp_path: Path) -> None:
    """The .gitignore forms that mark kustomize inputs provided before the build
    (docs/semantics.md §ignored-kustomize-inputs): a name at any depth, a glob, a pattern
    anchored at the ignore file's directory; negations and paths outside are never ignored."""
    from istio_vm_lint.kustomize import git_ignored

    (tmp_path / ".gitignore").write_text("# vendored bases\nvendor/\n*.pem\n/build\n!keep.pem\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / ".gitignore").write_text("generated/out\n")
    assert git_ignored(str(tmp_path / "vendor" / "katalog" / "istio"), str(tmp_path))
    assert git_ignored(str(tmp_path / "apps" / "vendor" / "base"), str(tmp_path))
    assert git_ignored(str(tmp_path / "certs" / "ca-cert.pem"), str(tmp_path))
    assert git_ignored(str(tmp_path / "build" / "all.yaml"), str(tmp_path))
    assert not git_ignored(str(tmp_path / "apps" / "build" / "all.yaml"), str(tmp_path))  # anchored at the root
    assert git_ignored(str(tmp_path / "deploy" / "generated" / "out" / "x.yaml"), str(tmp_path))
    assert not git_ignored(str(tmp_path / "generated" / "out"), str(tmp_path))  # anchored at deploy/
    assert not git_ignored(str(tmp_path / "base" / "deployment.yaml"), str(tmp_path))
    assert not git_ignored(str(tmp_path.parent / "vendor"), str(tmp_path))  # outside the repository


@needs_kustomize
def test_base_whose_kustomization_is_generated_is_a_notice(tmp_path: Path) -> None:
    """An overlay over a base whose kustomization a Makefile writes from a template
    (``sed 's/VERSION/.../' kustomization.template.yaml > kustomization.yaml``) cannot be rendered
    from the repository: an IVL751 notice, not a failed render (IVL753); a base with neither
    stays a failure."""
    (tmp_path / "base").mkdir()
    (tmp_path / "overlay").mkdir()
    (tmp_path / "base" / "kustomization.template.yaml").write_text(
        "resources:\n- se.yaml\nimages:\n- name: operator\n  newTag: VERSION\n")
    (tmp_path / "base" / "se.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: api\n  namespace: edge\nspec:\n"
        "  hosts: [api.example.com]\n  location: MESH_EXTERNAL\n  resolution: DNS\n"
        "  ports: [{number: 443, name: tls, protocol: TLS}]\n")
    (tmp_path / "overlay" / "kustomization.yaml").write_text("resources:\n- ../base\nnamespace: edge\n")
    findings = _lint(tmp_path, ["."])
    assert [(f.code, f.severity) for f in findings] == [("IVL751", "info")], _blocking(findings)
    assert "generated at build time" in findings[0].message
    (tmp_path / "base" / "kustomization.template.yaml").unlink()
    assert "IVL753" in {f.code for f in _lint(tmp_path, ["."])}


def test_many_charts_without_helm_are_not_one_notice_each(tmp_path: Path) -> None:
    """Without helm every chart is unrendered for the same reason: the first three get their
    notice, one more notice names the count and the rest (a chart-per-service repository would
    otherwise bury its findings under a hundred identical notices)."""
    for i in range(8):
        chart = tmp_path / "services" / f"svc{i}" / "chart"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: svc{i}\nversion: 0.1.{i}\n")
        (chart / "templates" / "service.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n"
                                                          "  name: {{ .Release.Name }}\n")
    notices = [f for f in _lint(tmp_path, ["."], helm_command="none") if f.code == "IVL752"]
    assert [Path(f.location.file).parent.parent.name for f in notices] == ["svc0", "svc1", "svc2", "svc3"]
    assert notices[-1].message.startswith("5 more Helm charts are not rendered")
    assert all(f.severity == "info" for f in notices)


@needs_kustomize
def test_resource_written_by_a_post_renderer_script_is_a_notice(tmp_path: Path) -> None:
    """The kustomize post-renderer of ``helm install --post-renderer ./kustomize.sh``: the script
    writes helm's output to ``base.yaml`` and builds the kustomization over it, so the absent
    ``base.yaml`` is an IVL751 notice, not a failed render; without the script it is IVL753."""
    (tmp_path / "kustomization.yaml").write_text("resources:\n- base.yaml\npatches:\n- path: gateway-patch.yaml\n")
    (tmp_path / "gateway-patch.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: istio-ingressgateway\nspec:\n  replicas: 3\n")
    (tmp_path / "kustomize.sh").write_text("#!/bin/sh\ncat > base.yaml\nexec kubectl kustomize . && rm base.yaml\n")
    findings = _lint(tmp_path, ["."])
    assert [(f.code, f.severity) for f in findings] == [("IVL751", "info")], _blocking(findings)
    assert "written at build time by kustomize.sh" in findings[0].message
    (tmp_path / "kustomize.sh").write_text("#!/bin/sh\nexec kubectl kustomize .\n")
    assert "IVL753" in {f.code for f in _lint(tmp_path, ["."])}


def test_identical_file_in_another_directory_is_one_copy_notice(tmp_path: Path) -> None:
    """A workshop that keeps one copy of its steps per product version repeats whole files:
    identical copies in another directory change nothing, so a repeated file is one IVL750
    notice naming the count, not one per object; a copy that differs keeps its own notice."""
    objects = ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: httpbin\n  namespace: demo\n---\n"
               "apiVersion: v1\nkind: Service\nmetadata:\n  name: httpbin\n  namespace: demo\nspec:\n"
               "  selector:\n    app: httpbin\n  ports:\n  - name: http\n    port: 8000\n    targetPort: 8080\n---\n"
               "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: httpbin\n  namespace: demo\nspec:\n"
               "  selector:\n    matchLabels: {app: httpbin}\n  template:\n    metadata:\n      labels: {app: httpbin}\n"
               "    spec:\n      serviceAccountName: httpbin\n      containers:\n      - name: httpbin\n"
               "        image: registry.example.com/httpbin:2.1\n        ports:\n        - containerPort: 8080\n")
    for version in ("v1-17", "v1-18"):
        (tmp_path / version / "steps").mkdir(parents=True)
        (tmp_path / version / "steps" / "httpbin.yaml").write_text(objects)
    copies = [f for f in _lint(tmp_path, ["."]) if f.code == "IVL750"]
    assert len(copies) == 1 and copies[0].message.startswith("3 objects of this file are defined again"), copies
    (tmp_path / "v1-18" / "steps" / "httpbin.yaml").write_text(
        objects.replace("  name: httpbin\n  namespace: demo\n---", "  name: httpbin\n  namespace: demo\n"
                        "  labels: {team: web}\n---", 1))
    copies = sorted(f.message[:40] for f in _lint(tmp_path, ["."]) if f.code == "IVL750")
    assert copies == ["2 objects of this file are defined again",
                      "ServiceAccount demo/httpbin is defined a"], copies


def test_render_errors_carry_no_go_pointer_addresses() -> None:
    """kustomize prints some structs with their heap addresses, which change from run to run;
    the IVL753 message must be the same in every run (baselines, CI diffs)."""
    from istio_vm_lint.kustomize import clean_error

    line = ('Error: merging from generator &{0xc0001b0540 0xc000848b00}: id resid.ResId{Name:"kiali"} '
            "does not exist; cannot merge or replace")
    assert clean_error(line) == ('merging from generator &{0x… 0x…}: id resid.ResId{Name:"kiali"} does not exist; '
                                 "cannot merge or replace")
    assert clean_error("Error: port 0x1F4 is fine") == "port 0x1F4 is fine"
