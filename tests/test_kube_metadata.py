"""Kubernetes metadata the API server rejects (IVL006-IVL008): the API server's messages, at
the exact field, for every kind the linter reads; unrendered templates are not judged."""

from __future__ import annotations

from pathlib import Path

import pytest
from istio_vm_lint.config import Settings
from istio_vm_lint.model import KINDS
from istio_vm_lint.runner import lint

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
             "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
         "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def findings(tmp_path: Path, text: str, codes: str = "IVL006,IVL007,IVL008") -> list[tuple[int, str, str]]:
    (tmp_path / "x.yaml").write_text(text)
    out = lint([str(tmp_path)], Settings(select=tuple(codes.split(","))))
    return sorted((f.location.line, f.code, f.message) for f in out.findings)


@pytest.mark.parametrize("group, kind", sorted(KINDS))
def test_every_kind_has_its_name_and_namespace_checked(tmp_path: Path, group: str, kind: str) -> None:
    api = f"{group}/{sorted(KINDS[(group, kind)][1])[0]}" if group else "v1"
    got = findings(tmp_path, f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: Bad_Name\n  namespace: Shop\n")
    expected_name = DNS1035 if kind == "Service" else LABEL if kind == "Namespace" else SUBDOMAIN
    assert got[0] == (4, "IVL006", f'{kind} Bad_Name: metadata.name: Invalid value: "Bad_Name": {expected_name}; '
                      "the API server rejects it")
    if kind == "Namespace":  # cluster-scoped: the API server clears metadata.namespace
        assert len(got) == 1
    else:
        assert got[1] == (5, "IVL006", f'{kind} Bad_Name: metadata.namespace: Invalid value: "Shop": {LABEL}; '
                          "the API server rejects it")


def test_valid_names_by_kind(tmp_path: Path) -> None:
    ok = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: 2fa.v1, namespace: shop}\n---\n"
          "apiVersion: v1\nkind: Service\nmetadata: {name: web-1}\n---\n"
          "apiVersion: v1\nkind: Namespace\nmetadata: {name: 2fa}\n---\n"
          "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: '{{ .Values.sa }}', namespace: '{{ .Release.Namespace }}'}\n")
    assert findings(tmp_path, ok) == []
    cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: " + "c" * 53 + "}\n"
    assert [m.split(": ")[-1] for _, _, m in findings(tmp_path, cron)] == [
        "must be no more than 52 characters; the API server rejects it"]


def test_labels_keys_and_values(tmp_path: Path) -> None:
    text = """apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: has space
    example.com/team: ok
    /x: y
    version: ""
spec:
  selector:
    app: "v1-"
"""
    got = findings(tmp_path, text)
    assert [(line, code) for line, code, _ in got] == [(6, "IVL007"), (8, "IVL007"), (12, "IVL007")]
    assert got[0][2].startswith('Service web: metadata.labels: Invalid value: "has space": a valid label must be '
                                "an empty string or consist of alphanumeric characters, '-', '_' or '.'")
    assert 'metadata.labels: Invalid value: "/x": prefix part must be non-empty' in got[1][2]
    assert got[2][2].startswith('Service web: spec.selector: Invalid value: "v1-"')


def test_quoted_target_port_is_an_invalid_port_name(tmp_path: Path) -> None:
    text = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n"
            "  - port: 80\n    targetPort: \"8080\"\n  - port: 81\n    targetPort: http\n  - port: 82\n    targetPort: 8082\n")
    got = findings(tmp_path, text)
    assert got == [(7, "IVL008", 'Service web: spec.ports[0].targetPort: Invalid value: "8080": must contain at '
                    "least one letter (a-z); the API server rejects it (write the number without quotes, "
                    "targetPort: 8080, to mean port 8080)")]


def test_generate_name_is_checked_as_a_prefix(tmp_path: Path) -> None:
    ok = "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: db-migrate-, namespace: vm}\n"
    assert findings(tmp_path, ok) == []
    bad = "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: DB_migrate-, namespace: vm}\n"
    assert [(line, code, m.split(": Invalid")[0]) for line, code, m in findings(tmp_path, bad)] == [
        (3, "IVL006", "Job DB_migrate-: metadata.generateName")]


def test_unknown_kinds_read_for_their_pod_template_are_not_judged(tmp_path: Path) -> None:
    text = ("apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: Web_1, labels: {a: b c}}\n"
            "spec:\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: x}]}\n")
    assert findings(tmp_path, text) == []


def test_substituted_placeholders_are_templates_not_names(tmp_path: Path) -> None:
    """Test and demo templates that sed/envsubst fill in before applying (argo-rollouts' e2e
    `ROLLOUT_NAME-active`, `REPLACEME`, `$$name$$`) are not objects the API server would see."""
    text = ("apiVersion: v1\nkind: Service\nmetadata: {name: ROLLOUT_NAME-active}\n---\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: REPLACEME}\n---\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: 'e2e-$$name$$'}\n"
            "spec:\n  selector: {matchLabels: {app: 'e2e-$$name$$'}}\n"
            "  template:\n    metadata: {labels: {app: 'e2e-$$name$$'}}\n"
            "    spec: {containers: [{name: app, image: nginx}]}\n---\n"
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: Bad_Name}\n")
    assert [(line, code) for line, code, _ in findings(tmp_path, text)] == [(20, "IVL006")]
