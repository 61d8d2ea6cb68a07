"""Schemas and CEL rules of the workload-policy kinds (AuthorizationPolicy, RequestAuthentication,
Telemetry, EnvoyFilter, WasmPlugin, ProxyConfig) and the Go ``net/url`` port they rely on.

Cases written from the semantics (Go's ``net/url``, Kubernetes' CEL URL library, the CRD rule
texts in ``schemas/cel_rules.json``), not copied from Istio's tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from istio_vm_lint import schema as S
from istio_vm_lint.model import KINDS
from istio_vm_lint.rules._gourl import cel_is_url, cel_url_scheme, parse, parse_request_uri

POLICY_KINDS = {
    ("security.istio.io", "AuthorizationPolicy"): ("v1", "v1beta1"),
    ("security.istio.io", "RequestAuthentication"): ("v1", "v1beta1"),
    ("telemetry.istio.io", "Telemetry"): ("v1", "v1alpha1"),
    ("networking.istio.io", "EnvoyFilter"): ("v1alpha3",),
    ("extensions.istio.io", "WasmPlugin"): ("v1alpha1",),
    ("networking.istio.io", "ProxyConfig"): ("v1beta1",),
}


@pytest.mark.parametrize("group, kind", sorted(POLICY_KINDS))
def test_policy_kinds_have_schemas_for_every_served_version(group: str, kind: str) -> None:
    assert (group, kind) in KINDS
    for version in POLICY_KINDS[(group, kind)]:
        assert version in KINDS[(group, kind)][1]
        assert S.validator_for(group, kind, version) is not None, (kind, version)


@pytest.mark.parametrize("raw, scheme", [
    ("oci://ghcr.io/acme/filter:1.0", "oci"),
    ("https://example.com/a.wasm", "https"),
    ("HTTP://example.com/a.wasm", "http"),
    ("file:///opt/filters/a.wasm", "file"),
    ("localhost:5000/filter", "localhost"),  # a scheme, opaque rest: what Go reads
    ("mailto:ops@example.com", "mailto"),
    ("/abs/path", ""),
])
def test_request_uri_schemes(raw: str, scheme: str) -> None:
    u = parse_request_uri(raw)
    assert not isinstance(u, str), u
    assert u.scheme == scheme


@pytest.mark.parametrize("raw", ["", "ghcr.io/acme/filter:1.0", "relative/path", "http://exa mple.com/",
                                 "http://[::1/x", "http://host:80x/", "http://a%zz/", "://x", "a\x7fb"])
def test_request_uri_errors(raw: str) -> None:
    assert isinstance(parse_request_uri(raw), str)


def test_parse_is_more_lenient_than_parse_request_uri() -> None:
    assert not isinstance(parse("relative/path"), str)
    assert isinstance(parse("a:b/c"), str) is False  # scheme "a", opaque
    assert isinstance(parse("1a:b/c"), str)  # first path segment in URL cannot contain colon
    assert isinstance(parse("https://x/#%zz"), str)  # bad escape in the fragment
    u = parse("https://login.example.com:8443/jwks")
    assert not isinstance(u, str) and u.port == "8443" and u.scheme == "https"


def test_cel_url_library() -> None:
    assert cel_is_url("https://example.com") and not cel_is_url("example.com")
    assert cel_url_scheme("https://example.com/keys") == "https"
    assert cel_url_scheme("example.com/keys") is None


def _cel(kind: str, group: str, version: str, spec: dict[str, Any]) -> list[tuple[tuple, str]]:
    from istio_vm_lint.rules.schema import _trie_for, _walk

    trie = _trie_for(group, kind, version)
    assert trie is not None
    hits: list[Any] = []
    _walk({"apiVersion": f"{group}/{version}", "kind": kind, "metadata": {"name": "x"}, "spec": spec}, trie, [], hits)
    return [(pointed, message) for _, pointed, message, _ in hits]


@pytest.mark.parametrize("url, ok", [
    ("oci://ghcr.io/acme/filter:1.0", True),
    ("ghcr.io/acme/filter:1.0", True),  # no scheme: read as http://ghcr.io/...
    ("https://example.com/filter.wasm", True),
    ("file:///opt/filter.wasm", True),
    ("s3://bucket/filter.wasm", False),
    ("localhost:5000/filter", False),  # "localhost" parses as a scheme
])
def test_wasm_url_scheme_rule(url: str, ok: bool) -> None:
    hits = _cel("WasmPlugin", "extensions.istio.io", "v1alpha1", {"url": url})
    assert (not hits) == ok, hits
    if not ok:
        assert hits[0][1] == "url must have schema one of [http, https, file, oci]"


@pytest.mark.parametrize("uri, ok", [
    ("https://login.example.com/.well-known/jwks.json", True),
    ("http://keycloak.auth.svc.cluster.local:8080/realms/shop/protocol/openid-connect/certs", True),
    ("login.example.com/jwks.json", False),
    ("ftp://login.example.com/jwks.json", False),
    ("JWKS_URI", True),  # a template token replaced before applying: not judged
])
def test_jwks_uri_scheme_rule(uri: str, ok: bool) -> None:
    hits = _cel("RequestAuthentication", "security.istio.io", "v1", {"jwtRules": [{"issuer": "x", "jwksUri": uri}]})
    assert (not hits) == ok, hits


def test_policy_cel_rules_point_at_the_field() -> None:
    hits = _cel("AuthorizationPolicy", "security.istio.io", "v1",
                {"selector": {"matchLabels": {"app": "a"}}, "targetRef": {"kind": "Service", "name": "a"},
                 "rules": [{"from": [{"source": {"serviceAccounts": ["ns/sa"], "namespaces": ["ns"]}}]}]})
    assert sorted(hits) == sorted([
        (("spec", "targetRef"), "only one of targetRefs or selector can be set"),
        (("spec", "rules", 0, "from", 0, "source", "namespaces"), "Cannot set serviceAccounts with namespaces or principals"),
    ])
    hits = _cel("RequestAuthentication", "security.istio.io", "v1",
                {"jwtRules": [{"issuer": "x", "jwks": "{}", "jwksUri": "https://x/keys", "timeout": "0.5ms"}]})
    assert sorted(m for _, m in hits) == ["must be a valid duration greater than 1ms", "only one of jwks or jwksUri can be set"]
    hits = _cel("Telemetry", "telemetry.istio.io", "v1",
                {"metrics": [{"overrides": [{"tagOverrides": {"a": {"operation": "UPSERT"},
                                                               "b": {"operation": "REMOVE", "value": "x"},
                                                               "c": {"value": "x"}}}]}]})
    assert sorted(m for _, m in hits) == ["value must be set when operation is UPSERT",
                                          "value must not be set when operation is REMOVE"]
    hits = _cel("EnvoyFilter", "networking.istio.io", "v1alpha3",
                {"workloadSelector": {"labels": {"app": "a*"}},
                 "configPatches": [{"match": {"context": "SIDECAR_INBOUND", "waypoint": {"portNumber": 0}}},
                                   {"match": {"context": "WAYPOINT"}}]})
    assert sorted(m for _, m in hits) == ["only support waypointMatch when context is WAYPOINT",
                                          "only support waypointMatch when context is WAYPOINT",
                                          "port must be between 1-65535", "wildcard is not supported in selector"]
    hits = _cel("WasmPlugin", "extensions.istio.io", "v1alpha1",
                {"url": "oci://x/y", "vmConfig": {"env": [{"name": "A", "valueFrom": "HOST", "value": "v"},
                                                           {"name": "B", "valueFrom": "HOST"}]}})
    assert hits == [(("spec", "vmConfig", "env", 0, "value"), "value may only be set when valueFrom is INLINE")]
    hits = _cel("ProxyConfig", "networking.istio.io", "v1beta1", {"selector": {"matchLabels": {"": "a", "b*": "c"}}})
    assert sorted(m for _, m in hits) == ["key must not be empty", "wildcard not allowed in label key match"]
