"""Argo CD Applications place namespace-less manifests (lint/units/argocd.py).

An Application's ``spec.destination.namespace`` is the namespace of every namespaced resource
of its source directory that has none (docs/semantics.md §argocd-destination-namespace); the
kustomization's own ``namespace:``, the resource's ``metadata.namespace`` and the config's
``namespaces`` win.  Each test keeps the real finding beside the false one it fixes.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _lint(cwd: Path, **kw):
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return lint(["."], Settings(root=str(cwd), **kw)).findings
    finally:
        os.chdir(old)


def _app(name: str, path: str, namespace: str, extra: str = "") -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/platform/config.git
    targetRevision: main
    path: {path}
{extra}  destination:
    server: https://kubernetes.default.svc
    namespace: {namespace}
"""


_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: ratings
spec:
  selector:
    app: ratings
  ports:
  - name: http
    port: 9080
"""

# A route naming the Service by its namespace-qualified name: right only in namespace 'reviews'.
_ROUTE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts:
  - ratings
  http:
  - route:
    - destination:
        host: ratings.{ns}.svc.cluster.local
"""


def _placed(cwd: Path, **kw) -> dict[tuple[str, str], str]:
    """(kind, name) -> namespace of every resource after the run ('~' marks an assumed one)."""
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    old = os.getcwd()
    os.chdir(cwd)
    try:
        project = lint(["."], Settings(root=str(cwd), **kw)).project
    finally:
        os.chdir(old)
    return {(r.kind, r.name): r.namespace + ("" if r.namespace_explicit else "~") for r in project.resources}


def _blocking(findings, code: str = "IVL501") -> list[str]:
    return [f.location.file.replace("\\", "/") for f in findings if f.code == code and f.severity != "info"]


def _codes(findings, code: str = "IVL501") -> list[tuple[str, str]]:
    return [(f.severity, f.message) for f in findings if f.code == code]


def test_plain_directory_takes_the_destination_namespace(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", "apps/reviews", "reviews"),
        "apps/reviews/service.yaml": _SERVICE,
        "apps/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    assert _codes(_lint(tmp_path)) == []  # without the Application's namespace: info "holds only if ... 'default'"
    # The real finding: the route names another namespace than the one Argo CD puts the Service in.
    _write(tmp_path, {
        "argocd/frontend.yaml": _app("frontend", "apps/frontend", "frontend"),
        "apps/frontend/service.yaml": _SERVICE.replace("ratings", "frontend"),
        "apps/reviews/route.yaml": _ROUTE.format(ns="frontend"),
    })
    assert _blocking(_lint(tmp_path)) == ["apps/reviews/route.yaml"]


def test_without_an_application_the_namespace_stays_assumed(tmp_path: Path) -> None:
    _write(tmp_path, {
        "apps/reviews/service.yaml": _SERVICE,
        "apps/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    got = _codes(_lint(tmp_path))
    assert got and all(sev == "info" for sev, _ in got)


def test_explicit_namespace_and_config_win(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", "apps/reviews", "reviews"),
        "apps/reviews/service.yaml": _SERVICE.replace("  name: ratings\n", "  name: ratings\n  namespace: bookinfo\n"),
        "apps/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    placed = _placed(tmp_path)
    assert placed[("Service", "ratings")] == "bookinfo" and placed[("VirtualService", "ratings")] == "reviews"
    (tmp_path / "apps/reviews/service.yaml").write_text(_SERVICE)
    placed = _placed(tmp_path, namespaces={"apps/reviews/**": "staging"})
    assert placed[("Service", "ratings")] == placed[("VirtualService", "ratings")] == "staging"


def test_subdirectories_only_with_recurse(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", "apps", "reviews"),
        "apps/reviews/service.yaml": _SERVICE,
        "apps/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    # Argo CD reads only the files directly in the path: these stay assumed (info).
    got = _codes(_lint(tmp_path))
    assert got and all(sev == "info" for sev, _ in got)
    (tmp_path / "argocd/reviews.yaml").write_text(
        _app("reviews", "apps", "reviews", "    directory:\n      recurse: true\n"))
    assert _codes(_lint(tmp_path)) == []


def test_exclude_keeps_a_file_out(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", "apps/reviews", "reviews",
                                    "    directory:\n      exclude: 'route.yaml'\n"),
        "apps/reviews/service.yaml": _SERVICE,
        "apps/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    placed = _placed(tmp_path)  # the route is not the Application's: assumed
    assert placed[("Service", "ratings")] == "reviews" and placed[("VirtualService", "ratings")] == "default~"


def test_one_directory_two_namespaces_stays_assumed(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/reviews-dev.yaml": _app("reviews-dev", "apps/reviews", "dev"),
        "argocd/reviews-prod.yaml": _app("reviews-prod", "apps/reviews", "prod"),
        "apps/reviews/service.yaml": _SERVICE,
        "apps/reviews/route.yaml": _ROUTE.format(ns="prod"),
    })
    got = _codes(_lint(tmp_path))
    assert got and all(sev == "info" for sev, _ in got)


@pytest.mark.parametrize("path", [".", "../elsewhere", "apps/{{.name}}", "missing/dir"])
def test_paths_that_are_not_this_repository_are_not_guessed(tmp_path: Path, path: str) -> None:
    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", path, "reviews"),
        "service.yaml": _SERVICE,
        "route.yaml": _ROUTE.format(ns="reviews"),
    })
    got = _codes(_lint(tmp_path))
    assert got and all(sev == "info" for sev, _ in got)


def test_helm_repository_chart_sources_are_ignored(tmp_path: Path) -> None:
    app = _app("reviews", "apps/reviews", "reviews").replace(
        "    path: apps/reviews\n", "    chart: reviews\n    path: apps/reviews\n")
    _write(tmp_path, {
        "argocd/reviews.yaml": app,
        "apps/reviews/service.yaml": _SERVICE,
        "apps/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    got = _codes(_lint(tmp_path))
    assert got and all(sev == "info" for sev, _ in got)


_KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
{namespace}resources:
- ../../base/reviews
"""


@pytest.mark.parametrize("kustomize", ["kubectl kustomize", "none"])
def test_kustomize_root_without_namespace(tmp_path: Path, kustomize: str) -> None:
    if kustomize != "none" and not __import__("shutil").which("kubectl"):
        pytest.skip("needs kubectl")
    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", "overlays/prod", "reviews"),
        "overlays/prod/kustomization.yaml": _KUSTOMIZATION.format(namespace=""),
        "base/reviews/kustomization.yaml": "resources:\n- service.yaml\n- route.yaml\n",
        "base/reviews/service.yaml": _SERVICE,
        "base/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    # The base lies outside the Application's path: Argo CD builds the overlay, and every
    # resource of the build without a namespace goes to the destination namespace.
    assert _codes(_lint(tmp_path, kustomize_command=kustomize)) == []
    assert _placed(tmp_path, kustomize_command=kustomize)[("Service", "ratings")] == "reviews"
    # The kustomization's own namespace wins over the destination.
    (tmp_path / "overlays/prod/kustomization.yaml").write_text(_KUSTOMIZATION.format(namespace="namespace: shop\n"))
    assert _placed(tmp_path, kustomize_command=kustomize)[("Service", "ratings")] == "shop"


def test_kustomize_namespace_of_the_application_is_used(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", "overlays/prod", "default",
                                    "    kustomize:\n      namespace: reviews\n"),
        "overlays/prod/kustomization.yaml": _KUSTOMIZATION.format(namespace=""),
        "base/reviews/kustomization.yaml": "resources:\n- service.yaml\n- route.yaml\n",
        "base/reviews/service.yaml": _SERVICE,
        "base/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    assert _codes(_lint(tmp_path, kustomize_command="none")) == []
    # Argo CD has kustomize set it on every resource, as a kustomization's namespace: does.
    (tmp_path / "overlays/prod/kustomization.yaml").write_text(_KUSTOMIZATION.format(namespace="namespace: shop\n"))
    assert _placed(tmp_path, kustomize_command="none")[("Service", "ratings")] == "reviews"


def test_malformed_applications_do_not_crash(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/a.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: 3\n",
        "argocd/b.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source: [1]\n"
                         "  sources: [null, {path: 7}]\n  destination: {namespace: [x]}\n",
        "argocd/c.yaml": _app("c", "apps", "Not_A_Namespace"),
        "apps/service.yaml": _SERVICE,
    })
    assert not [f for f in _lint(tmp_path) if f.code == "IVL000"]


_APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: apps
  namespace: argocd
spec:
  goTemplate: true
  generators:
  - git:
      repoURL: https://git.example.com/platform/config.git
      revision: main
      directories:
      - path: apps/*
      - path: apps/legacy
        exclude: true
  template:
    metadata:
      name: '{{.path.basename}}'
    spec:
      project: default
      source:
        repoURL: https://git.example.com/platform/config.git
        targetRevision: main
        path: '{{.path.path}}'
      destination:
        server: https://kubernetes.default.svc
        namespace: '{{.path.basename}}'
"""


def test_application_set_git_directories(tmp_path: Path) -> None:
    _write(tmp_path, {
        "argocd/apps.yaml": _APPSET,
        "apps/reviews/service.yaml": _SERVICE,
        "apps/reviews/route.yaml": _ROUTE.format(ns="reviews"),
        "apps/legacy/service.yaml": _SERVICE.replace("ratings", "legacy"),
    })
    placed = _placed(tmp_path)
    assert placed[("Service", "ratings")] == placed[("VirtualService", "ratings")] == "reviews"
    assert placed[("Service", "legacy")] == "default~"  # excluded by the generator
    # A namespace the generator cannot fill (another generator's parameter) is not guessed.
    (tmp_path / "argocd/apps.yaml").write_text(_APPSET.replace("namespace: '{{.path.basename}}'",
                                                               "namespace: '{{.cluster}}'"))
    assert _placed(tmp_path)[("Service", "ratings")] == "default~"


@pytest.mark.parametrize("value,expected", [
    ("{{path}}", "apps/my_app"), ("{{ .path.path }}", "apps/my_app"), ("{{path.basename}}", "my_app"),
    ("{{.path.basenameNormalized}}", "my-app"), ("{{path[0]}}", "apps"), ("{{index .path.segments 1}}", "my_app"),
    ("x-{{path[5]}}", "x-{{path[5]}}"), ("{{.name}}", "{{.name}}"),
])
def test_git_directory_parameters(value: str, expected: str) -> None:
    from istio_vm_lint.units.argocd import _fill

    assert _fill({"a": [value]}, "apps/my_app") == {"a": [expected]}


def test_run_on_a_named_file_places_it_as_the_full_run(tmp_path: Path) -> None:
    # pre-commit lints only the units holding the named files; the Application is in another.
    from istio_vm_lint.config import Settings
    from istio_vm_lint.discover import discover
    from istio_vm_lint.runner import lint

    _write(tmp_path, {
        "argocd/reviews.yaml": _app("reviews", "overlays/prod", "reviews"),
        "overlays/prod/kustomization.yaml": _KUSTOMIZATION.format(namespace=""),
        "base/reviews/kustomization.yaml": "resources:\n- service.yaml\n- route.yaml\n",
        "base/reviews/service.yaml": _SERVICE,
        "base/reviews/route.yaml": _ROUTE.format(ns="reviews"),
    })
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        files, _ = discover(["."], ())
        named = {os.path.realpath("base/reviews/route.yaml")}
        out = lint([], Settings(root=str(tmp_path), kustomize_command="none"), files=files, report_only=named)
    finally:
        os.chdir(old)
    assert {(r.kind, r.namespace) for r in out.project.resources} == {("Service", "reviews"),
                                                                     ("VirtualService", "reviews")}
