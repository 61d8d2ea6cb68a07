"""IVL75x: deployment units (``lint/units/``): copies of one object, unrendered
kustomizations and Helm charts, renders that fail.

These rules do not inspect resources themselves: the unit planner finds the facts once per
run and hands them over as ``ctx.unit_problems``; the rules give them a code, metadata and
the usual selection, severity and suppression handling.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.rule import Context, rule


def _given(ctx: Context, code: str) -> Iterator[Problem]:
    yield from getattr(ctx, "unit_problems", {}).get(code, ())


@rule(
    code="IVL750", family="units", name="duplicate-object-definition", severity="info",
    summary="The same object (group, kind, namespace, name) is defined more than once in one deployment unit.",
    rationale="""
    Kubernetes keeps one object per identity: applying a second definition replaces the first
    (docs/semantics.md §deployment-units). Repositories hold copies on purpose (tutorial steps
    `vs-v1.yaml` ... `vs-v3.yaml`, the same gateway in every demo folder, a rendered bundle beside
    its sources), so the linter reports the copy once and never compares copies with each other;
    a reference resolves to the copy nearest the referrer. Copies are info: a rendered
    kustomization cannot hold two (kustomize refuses them, IVL753), a fallback without a render
    does not apply name prefixes (so its copies are often artefacts), a plain directory of
    differing copies is a set of alternatives applied one at a time (`enable-mtls.yaml`/
    `disable-mtls.yaml`, tutorial steps), and identical copies change nothing. One finding per
    directory of copies, and one per file that repeats another directory's file identically
    (versioned workshop copies), naming how many objects it repeats. Findings of other rules that involve a differing copy
    in one directory hold only for one choice among alternatives and are lowered to info,
    saying so. Sibling directories that are separate apps (a sample collection) are separate
    units and never meet (docs/semantics.md §sample-collections).
    """,
    bad="""
    # vs-v1.yaml
    kind: VirtualService
    metadata: {name: reviews, namespace: shop}
    ---
    # vs-v2.yaml, same directory
    kind: VirtualService
    metadata: {name: reviews, namespace: shop}
    """,
    good="""
    # demo-a/gateway.yaml and demo-b/gateway.yaml with units = ["demo-*"] in the config:
    # each demo is its own unit, so each holds one copy
    kind: Gateway
    metadata: {name: demo-gateway, namespace: demo}
    """,
)
def duplicate_object_definition(ctx: Context) -> Iterator[Problem]:
    yield from _given(ctx, "IVL750")


@rule(
    code="IVL751", family="units", name="kustomization-not-rendered", severity="info",
    summary="A root kustomization could not be rendered; the files it lists are linted as they are.",
    rationale="""
    What `kubectl apply -k` applies is kustomize's output, not its input files: patches,
    `namespace:`, name prefixes and replacements change the resources
    (docs/semantics.md §deployment-units). Without a kustomize binary, or when the tree needs the
    network (remote resources), Helm or plugins, or uses a base whose kustomization a build step
    writes from a template (`kustomization.template.yaml`, `kustomization.yaml.tpl`) or a resource
    a script beside it writes (`cat > base.yaml` in a Helm post-renderer's `kustomize.sh`), the
    linter does not render it; it reads the
    listed files, applies the kustomization's namespace and leaves patch files out, which is
    an approximation. Install kustomize or kubectl, or set `kustomize-command`. A listed input
    that is absent but excluded by the repository's `.gitignore` (bases a vendoring step
    downloads into `vendor/`, generated certificates) is provided before the build
    (docs/semantics.md §ignored-kustomize-inputs): such a tree is not rendered either, and
    that is this notice, not a render failure (IVL753).
    """,
    bad="""
    # kustomization.yaml
    resources:
    - https://github.com/example/config//base?ref=v1
    """,
    good="""
    # kustomization.yaml
    resources:
    - ../base
    """,
)
def kustomization_not_rendered(ctx: Context) -> Iterator[Problem]:
    yield from _given(ctx, "IVL751")


@rule(
    code="IVL752", family="units", name="helm-chart-not-rendered", severity="info",
    summary="A Helm chart could not be rendered because helm is not available; its templates are not linted.",
    rationale="""
    A chart's templates are Go templates, not manifests, so they are never parsed as YAML
    (docs/semantics.md §deployment-units). With `helm` on PATH the chart is rendered with
    `helm template` (values files from `helm-values`) and linted as its own unit. Without it the
    chart's resources are unknown, so references elsewhere that the chart could satisfy
    (hosts, gateways, selectors) are reported at most as info. One cause, one notice: without
    helm the first three charts get a notice each and a fourth counts and names the rest.
    """,
    bad="""
    # charts/shop/Chart.yaml, with helm not installed
    apiVersion: v2
    name: shop
    version: 0.1.0
    """,
    good="""
    # plain manifests only
    kind: Gateway
    metadata: {name: shop-gateway, namespace: shop}
    """,
)
def helm_chart_not_rendered(ctx: Context) -> Iterator[Problem]:
    yield from _given(ctx, "IVL752")


@rule(
    code="IVL753", family="units", name="render-failed", severity="warning",
    summary="kustomize or helm failed to render a unit.",
    rationale="""
    A kustomization or chart that does not render cannot be applied either
    (docs/semantics.md §deployment-units). The linter falls back to the listed files (kustomize)
    or skips the templates (Helm) and reports the renderer's message here. Missing local files,
    a patch whose target does not exist, and chart dependencies that are not vendored are the
    usual causes.
    """,
    bad="""
    # kustomization.yaml
    resources: [vs.yaml]
    patches:
    - path: patch.yaml    # patches VirtualService 'missing', which no resource defines
    """,
    good="""
    # kustomization.yaml
    resources: [vs.yaml]
    """,
)
def render_failed(ctx: Context) -> Iterator[Problem]:
    yield from _given(ctx, "IVL753")
