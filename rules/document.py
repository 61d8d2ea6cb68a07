"""IVL0xx document rules: what is wrong with a file or document before any semantics.

These problems are found by the load stage (``lint/project.py``); the rules here give them
codes, documentation and selection like every other rule.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Location, Problem
from istio_vm_lint.rule import Context, rule


def _from_load(ctx: Context, code: str) -> Iterator[Problem]:
    mine = [lp for lp in ctx.load_problems if lp.code == code and lp.source.report]
    for lp in mine:  # announced first: one re-parse per file for all of its problems
        if lp.doc_index is not None and lp.path and not lp.exact:
            lp.source.positions.want(lp.doc_index)
    for lp in mine:
        line, column = lp.line, lp.column
        if lp.doc_index is not None and lp.path and not lp.exact:
            hit = lp.source.positions.lookup(lp.doc_index, lp.path)
            if hit is not None:
                line, column = hit
        message, severity = lp.message, None
        if code == "IVL001" and message.startswith("unrendered template"):
            # A file with template syntax is renderer input (a chart, an Ansible role, a Go test
            # harness, a workshop's sed step), not a manifest someone applies as it is: it is
            # not linted, and not an error.
            if _in_template_dir(lp.source.path):
                message = ("unrendered template in a templates/ directory: not linted (lint the "
                           "rendered output, or render it in a unit)")
            else:
                message = f"{message}; the file is renderer input: not linted"
            severity = "info"
        yield Problem(None, lp.path, message, location=Location(lp.source.path, line, column), code=code,
                      severity=severity)


def _in_template_dir(path: str) -> bool:
    return "templates" in path.replace("\\", "/").split("/")[:-1]


@rule(
    code="IVL000", family="document", name="internal-error", severity="error",
    summary="A rule failed while checking a resource.",
    rationale="""
    A crash in one rule must not hide the findings of the others, and must not pass silently
    either: the failure is reported as a finding naming the rule and the resource, and the
    run exits with status 2 so CI notices. Please report it with the input that caused it.
    """,
    bad="# (no configuration triggers this on purpose)",
    good="# (no configuration triggers this on purpose)",
)
def internal_error(ctx: Context) -> Iterator[Problem]:
    return iter(())


@rule(
    code="IVL001", family="document", name="yaml-parse-error", severity="error",
    summary="The file is not valid YAML (or not readable text), so none of it can be checked.",
    rationale="""
    kubectl, Argo CD and Flux refuse a file that does not parse, so nothing in it reaches the
    cluster. Common causes: tabs used for indentation, an unterminated quote, an unrendered
    Helm template (`{{ .Values.x }}`), a binary or non-UTF-8/UTF-16 file named `.yaml`, YAML
    nested deeper than 100 levels, or aliases that expand to a "billion laughs". Exactly one
    finding is reported per file, at the parser's position; documents before the error are
    still linted, and so is every other file. Only Kubernetes manifests are reported: a file
    with no document holding `apiVersion` and `kind` (and, when it does not parse, no such
    keys in its text) is a lockfile, an application config, a CI file or a binary, and gets
    no finding; neither do its duplicate keys (IVL002). Valid YAML is never reported: where
    the bundled libyaml 0.1.7 rejects what the YAML spec allows (`{tarball: https://…}`, a
    ':' inside a plain scalar of a flow collection), the file is read with ruamel.yaml's
    pure-Python parser. A file that does not parse because of template syntax (`{{ ... }}`
    of Helm, Go templates, Jinja or Ansible; an unquoted `%APP_URL%` or `@VERSION@` that a
    script substitutes) is renderer input, not a manifest applied as it is: reported as
    info, not linted. Render it in a unit (a chart, a kustomization) to have it checked.
    """,
    bad="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: {{ .Values.name }}
    """,
    good="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: whoami
    """,
)
def yaml_parse_error(ctx: Context) -> Iterator[Problem]:
    return _from_load(ctx, "IVL001")


@rule(
    code="IVL002", family="document", name="duplicate-key", severity="error",
    summary="A mapping has the same key twice.",
    rationale="""
    YAML requires unique keys. The Kubernetes API server's strict decoding rejects
    duplicates, and tools that do accept them keep only one value, so the config applied is
    not the config reviewed. The finding points at the second occurrence.
    """,
    bad="""
    spec:
      location: MESH_INTERNAL
      location: MESH_EXTERNAL
    """,
    good="""
    spec:
      location: MESH_INTERNAL
    """,
)
def duplicate_key(ctx: Context) -> Iterator[Problem]:
    return _from_load(ctx, "IVL002")


@rule(
    code="IVL003", family="document", name="unsupported-api-version", severity="error",
    summary="A known kind is declared with an apiVersion Istio/Kubernetes does not serve.",
    rationale="""
    Istio's networking kinds are served as `networking.istio.io/v1`, `v1beta1` and
    `v1alpha3`; PeerAuthentication as `security.istio.io/v1` and `v1beta1`; the Kubernetes
    kinds at their GA versions. Any other version is rejected by the API server
    (Istio's CRD bundle `manifests/charts/base/files/crd-all.gen.yaml` lists the served versions;
    `schemas/` holds one schema per served version). The resource is not checked further,
    with one exception: Deployments, DaemonSets, ReplicaSets and StatefulSets still written
    as `extensions/v1beta1`, `apps/v1beta1` or `apps/v1beta2` (no longer served since
    Kubernetes 1.16) are reported and then read as `apps/v1`, so that the Services,
    ServiceEntries and DestinationRule subsets selecting their pods are not also reported as
    matching nothing.
    """,
    bad="""
    apiVersion: networking.istio.io/v2
    kind: ServiceEntry
    """,
    good="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    """,
)
def unsupported_api_version(ctx: Context) -> Iterator[Problem]:
    return _from_load(ctx, "IVL003")


@rule(
    code="IVL004", family="document", name="missing-name", severity="error",
    summary="A known kind has no usable metadata.name (nor metadata.generateName).",
    rationale="""
    Every Kubernetes object needs a string `metadata.name`; without it the object cannot be
    applied and nothing can refer to it. The resource is not checked further.
    `metadata.generateName` instead of a name is valid on create (the API server appends a
    random suffix; Jobs, Argo CD and Helm hooks use it) and is not reported.
    """,
    bad="""
    apiVersion: networking.istio.io/v1
    kind: WorkloadEntry
    spec:
      address: 10.0.0.1
    """,
    good="""
    apiVersion: networking.istio.io/v1
    kind: WorkloadEntry
    metadata:
      name: vm-1
    spec:
      address: 10.0.0.1
    """,
)
def missing_name(ctx: Context) -> Iterator[Problem]:
    return _from_load(ctx, "IVL004")


@rule(
    code="IVL005", family="document", name="symlink-outside-repository", severity="info",
    summary="A symlink in the linted tree leads outside the repository, so it is not followed.",
    rationale="""
    Like git, the linter never follows a symlink (to a file or a directory) whose target
    resolves outside the repository root, or outside the linted directory when it is not in
    a git repository: whatever lies there is not part of the configuration under review, its
    content would leak into findings, CI logs and uploaded SARIF, and `ln -s / root` would
    make the run walk the whole filesystem. The link is reported once, here, and skipped;
    nothing behind it is linted. Paths named on the command line are always read. If the
    target is meant to be linted, lint it explicitly or replace the link with a copy
    (docs/semantics.md §linted-tree).
    """,
    bad="""
    # deploy/shared -> /etc/platform/istio   (a symlinked directory)
    """,
    good="""
    # deploy/shared -> ../platform/istio     (a target inside the repository)
    """,
)
def symlink_outside_repository(ctx: Context) -> Iterator[Problem]:
    return _from_load(ctx, "IVL005")


@rule(
    code="IVL009", family="document", name="unused-suppression", severity="info",
    summary="A suppression comment or annotation hides no finding.",
    rationale="""
    A suppression that no longer hides anything (the problem was fixed, the code is
    mistyped, or the comment sits on the wrong line) is noise, and worse, it will silently
    hide a *future* finding of that code at that place. Like ruff's RUF100, this check is off
    by default: enable it with `warn-unused-suppressions = true` in the configuration or
    `--extend-select IVL009`. Only suppressions in reported files and of selected rules are
    checked; istioctl's `galley.istio.io/analyze-suppress` annotation is never reported. The
    engine emits this finding after the other rules ran (`lint/suppress.py`).
    """,
    bad="""
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: whoami  # istio-vm-lint: disable=IVL004 -- nothing to hide here
    """,
    good="""
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: whoami
    """,
)
def unused_suppression(ctx: Context) -> Iterator[Problem]:
    return iter(())  # emitted by the engine once suppressions have been applied
