"""Table tests of the policy validators (rules/validation_policy.py, rules/validation_extensions.py).

Each case is a spec (and annotations) with the messages Istio's Go validation gives for it,
written from the Go functions cited in docs/semantics.md (§validation-authorizationpolicy and the
sections after it), not copied from Istio's test tables.  ``E:``/``W:`` prefix the level.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from istio_vm_lint.loader import PositionIndex
from istio_vm_lint.model import KINDS, SourceFile
from istio_vm_lint.rules import validation_extensions as X
from istio_vm_lint.rules import validation_policy as P

GROUPS = {"AuthorizationPolicy": "security.istio.io/v1", "RequestAuthentication": "security.istio.io/v1",
          "Telemetry": "telemetry.istio.io/v1", "EnvoyFilter": "networking.istio.io/v1alpha3",
          "WasmPlugin": "extensions.istio.io/v1alpha1", "ProxyConfig": "networking.istio.io/v1beta1"}
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "AuthorizationPolicy": P.validate_authorization_policy, "RequestAuthentication": P.validate_request_authentication,
    "Telemetry": X.validate_telemetry, "EnvoyFilter": X.validate_envoy_filter, "WasmPlugin": X.validate_wasm_plugin,
    "ProxyConfig": X.validate_proxy_config,
}


def _issues(kind: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> list[str]:
    api = GROUPS[kind]
    cls = KINDS[(api.rpartition("/")[0], kind)][0]
    meta: dict[str, Any] = {"name": "p", "namespace": "ns"}
    if annotations:
        meta["annotations"] = annotations
    data = {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}
    res = cls(kind, api, "p", "ns", True, data, SourceFile("x.yaml", None, PositionIndex(b"")), 0, 1, 1)
    return [f"{i.level}: {i.message}" for i in VALIDATORS[kind](res).items]


AP_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("allow nothing", {}, []),
    ("deny all", {"action": "DENY", "rules": [{}]}, []),
    ("deny without rules", {"action": "DENY"},
     ["E: DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you "
      "want it be triggered for every request"]),
    ("deny with empty rules list", {"action": "DENY", "rules": []},
     ["E: DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you "
      "want it be triggered for every request"]),
    ("custom without rules", {"action": "CUSTOM", "provider": {"name": "opa"}},
     ["E: CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if "
      "you want it be triggered for every request"]),
    ("custom without provider", {"action": "CUSTOM", "rules": [{}]}, ["E: `provider.name` must not be empty"]),
    ("custom with empty provider", {"action": "CUSTOM", "provider": {}, "rules": [{}]},
     ["E: `provider.name` must not be empty"]),
    ("custom with identity fields",
     {"action": "CUSTOM", "provider": {"name": "opa"},
      "rules": [{"from": [{"source": {"principals": ["a"], "ipBlocks": ["10.0.0.1"]}}],
                 "when": [{"key": "request.auth.claims[iss]", "values": ["x"]},
                          {"key": "request.headers[x]", "values": ["y"]}]}]},
     ["E: From.Principals is currently not supported with CUSTOM action",
      "E: request.auth.claims[iss] is currently not supported with CUSTOM action"]),
    ("provider with allow", {"provider": {"name": "opa"}, "rules": [{}]},
     ["E: `provider` must not be with non CUSTOM action, found ALLOW"]),
    ("from without source", {"rules": [{"from": [{}]}]}, ["E: `from.source` must not be nil, found at rule 0"]),
    ("empty source", {"rules": [{"from": [{"source": {}}]}]}, ["E: `from.source` must not be empty, found at rule 0"]),
    ("empty lists count as unset", {"rules": [{"from": [], "to": []}]}, []),
    ("to without operation", {"rules": [{}, {"to": [{}]}]}, ["E: `to.operation` must not be nil, found at rule 1"]),
    ("empty operation", {"rules": [{"to": [{"operation": {"ports": []}}]}]},
     ["E: `to.operation` must not be empty, found at rule 0"]),
    ("ports", {"rules": [{"to": [{"operation": {"ports": ["80", "http", "70000", "99999999999"]}}]}]},
     ['E: bad port (http): strconv.ParseUint: parsing "http": invalid syntax',
      "E: bad port (70000): <nil>",
      'E: bad port (99999999999): strconv.ParseUint: parsing "99999999999": value out of range']),
    ("empty values", {"rules": [{"to": [{"operation": {"methods": ["GET", ""]}}]}]},
     ["E: empty value not allowed, found in Methods"]),
    ("ip blocks", {"rules": [{"from": [{"source": {"ipBlocks": ["10.0.0.0/8", "10.1.2.3", "fe80::1%eth0",
                                                                  "10.0.0.0/33", "10.0.0.1.2", "::/129"]}}]}]},
     ['E: bad CIDR range (10.0.0.0/33): netip.ParsePrefix("10.0.0.0/33"): prefix length out of range',
      "E: bad IP address (10.0.0.1.2)",
      'E: bad CIDR range (::/129): netip.ParsePrefix("::/129"): prefix length out of range']),
    ("service accounts", {"rules": [{"from": [{"source": {"serviceAccounts": ["ns/sa", "a/b/c"]}}]}]},
     ["E: expected format 'serviceAccount' or 'namespace/serviceAccount', found \"a/b/c\" in ServiceAccounts"]),
    ("service account wildcard", {"rules": [{"from": [{"source": {"notServiceAccounts": ["ns/*"]}}]}]},
     ["E: wildcard not allowed, found in NotServiceAccounts"]),
    ("trust domains", {"rules": [{"from": [{"source": {"trustDomains": ["td.local", "*.td", "a*b", "x/y"]}}]}]},
     ['E: wildcard is only allowed at the start or end, found in TrustDomains: "a*b"']),
    ("trust domain slash", {"rules": [{"from": [{"source": {"trustDomains": ["x/y"]}}]}]},
     ["E: trust domain must not contain '/', found in TrustDomains: \"x/y\""]),
    ("path templates", {"rules": [{"to": [{"operation": {"paths": ["/a/{*}/b", "/a/{**}/{*}"]}}]}]},
     ["E: invalid or unsupported path a/{**}/{*}, found in Paths. {**} is not the last operator"]),
    ("path template braces", {"rules": [{"to": [{"operation": {"notPaths": ["/a/{x}"]}}]}]},
     ["E: invalid or unsupported path a/{x}, found in NotPaths. Contains '{' or '}' beyond a supported path template"]),
    ("plain braces without template are checked too", {"rules": [{"to": [{"operation": {"paths": ["/a/{id}"]}}]}]},
     ["E: invalid or unsupported path a/{id}, found in Paths. Contains '{' or '}' beyond a supported path template"]),
    ("when keys", {"rules": [{"when": [
        {"key": "request.headers[x-user]", "values": ["a"]},
        {"key": "request.headers", "values": ["a"]},
        {"key": "source.ip", "notValues": ["10.0.0.0/8"]},
        {"key": "destination.port", "values": ["http"]},
        {"key": "destination.labels[app]", "values": ["x"]},
        {"key": "source.user", "values": ["x"]},
        {"key": "", "values": ["x"]},
        {"key": "connection.sni"}]}]},
     ["E: invalid `value` for `key` request.headers: bad key (request.headers): should have format a[b]",
      'E: invalid `value` for `key` destination.port: bad port (http): strconv.ParseUint: parsing "http": invalid syntax',
      "E: invalid `value` for `key` destination.labels[app]: attribute destination.labels[app] is replaced by the "
      "workload selector",
      "E: invalid `value` for `key` source.user: unknown attribute: source.user",
      "E: `key` must not be empty",
      "E: at least one of `values` or `notValues` must be set for key connection.sni"]),
    ("target ref kinds", {"targetRefs": [{"kind": "Service", "name": "a"}, {"group": "", "kind": "Gateway", "name": "b"},
                                         {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "c"}]},
     ["E: targetRef must be to one of [core/v1/Service networking.istio.io/v1/ServiceEntry "
      "gateway.networking.k8s.io/v1/Gateway gateway.networking.k8s.io/v1/GatewayClass] but was /Gateway"]),
    ("selector without labels", {"selector": {}}, ["W: workload selector specified without labels"]),
    ("http-only deny is not warned", {"action": "DENY", "rules": [{"to": [{"operation": {"paths": ["/x"]}}]}]}, []),
]


@pytest.mark.parametrize("spec, expected", [pytest.param(s, e, id=n) for n, s, e in AP_CASES])
def test_authorization_policy(spec: dict[str, Any], expected: list[str]) -> None:
    assert _issues("AuthorizationPolicy", spec) == expected


@pytest.mark.parametrize("annotation, action, expected", [
    ("true", "ALLOW", []), ("False", "DENY", []), ("1", None, []),
    ("yes", "ALLOW", ['E: ns/p has annotation istio.io/dry-run with invalid value (yes): strconv.ParseBool: '
                      'parsing "yes": invalid syntax']),
    ("true", "AUDIT", ["E: the annotation istio.io/dry-run currently only supports action ALLOW/DENY, found "
                       "action AUDIT in ns/p"]),
])
def test_dry_run_annotation(annotation: str, action: Any, expected: list[str]) -> None:
    spec: dict[str, Any] = {"rules": [{}]}
    if action:
        spec["action"] = action
    assert _issues("AuthorizationPolicy", spec, {"istio.io/dry-run": annotation}) == expected


PUBLIC_RSA = '{"keys": [{"kty": "RSA", "n": "0vx7", "e": "AQAB"}]}'
RA_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("issuer only", {"jwtRules": [{"issuer": "https://a"}]}, []),
    ("jwks uri only", {"jwtRules": [{"jwks_uri": "https://a/keys"}]}, []),
    ("neither", {"jwtRules": [{"audiences": ["a"]}]}, ["E: issuer or jwksUri must be non-empty string"]),
    ("port overflow", {"jwtRules": [{"jwksUri": "https://a:99999999999999999999/keys"}]},
     ['E: strconv.Atoi: parsing "99999999999999999999": value out of range']),
    ("public jwks", {"jwtRules": [{"issuer": "a", "jwks": PUBLIC_RSA}]}, []),
    ("single key", {"jwtRules": [{"issuer": "a", "jwks": '{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}'}]}, []),
    ("not json", {"jwtRules": [{"issuer": "a", "jwks": "{keys: []}"}]},
     ["E: jwks parse error: failed to unmarshal JSON: Expecting property name enclosed in double quotes: line 1 "
      "column 2 (char 1)"]),
    ("unknown key type", {"jwtRules": [{"issuer": "a", "jwks": '{"keys": [{"kty": "DSA"}]}'}]},
     ['E: jwks parse error: key at index 0: invalid key type "DSA"']),
    ("private keys", {"jwtRules": [{"issuer": "a", "jwks": '{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}, '
                                                             '{"kty": "RSA", "n": "x", "e": "AQAB", "d": "y"}, '
                                                             '{"kty": "oct", "k": "z"}]}'}]},
     ["W: jwks key at index 1 contains private key material; only public keys are used for verification",
      "W: jwks key at index 2 contains private key material; only public keys are used for verification"]),
    ("timeout precision", {"jwtRules": [{"issuer": "a", "timeout": "1500us"}]},
     ["E: only durations to ms precision are supported"]),
    ("timeout", {"jwtRules": [{"issuer": "a", "timeout": "5s"}]}, []),
    ("target ref", {"targetRef": {"group": "apps", "kind": "Deployment", "name": "a"}},
     ["E: targetRef must be to one of [core/v1/Service networking.istio.io/v1/ServiceEntry "
      "gateway.networking.k8s.io/v1/Gateway gateway.networking.k8s.io/v1/GatewayClass] but was apps/Deployment"]),
]


@pytest.mark.parametrize("spec, expected", [pytest.param(s, e, id=n) for n, s, e in RA_CASES])
def test_request_authentication(spec: dict[str, Any], expected: list[str]) -> None:
    assert _issues("RequestAuthentication", spec) == expected


EF_VALUE = {"name": "envoy.filters.http.buffer"}
EF_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("valid", {"configPatches": [{"applyTo": "HTTP_FILTER", "patch": {"operation": "ADD", "value": EF_VALUE}}]}, []),
    ("empty key", {"workloadSelector": {"labels": {"": "a"}}}, ['E: empty key is not supported in selector: "=a"']),
    ("wildcard key", {"workloadSelector": {"labels": {"a*": "b"}}}, ['E: wildcard is not supported in selector: "a*=b"']),
    ("no labels", {"workloadSelector": {}},
     ["W: Envoy filter: workload selector specified without labels, will be applied to all services in namespace"]),
    ("missing applyTo", {"configPatches": [{"patch": {"operation": "ADD", "value": EF_VALUE}}]},
     ["E: Envoy filter: missing applyTo"]),
    ("INVALID applyTo", {"configPatches": [{"applyTo": "INVALID"}]}, ["E: Envoy filter: missing applyTo"]),
    ("missing patch", {"configPatches": [{"applyTo": "CLUSTER"}]}, ["E: Envoy filter: missing patch"]),
    ("missing operation", {"configPatches": [{"applyTo": "CLUSTER", "patch": {"value": {}}}]},
     ["E: Envoy filter: missing patch operation"]),
    ("missing value", {"configPatches": [{"applyTo": "CLUSTER", "patch": {"operation": "MERGE"}}]},
     ["E: Envoy filter: missing patch value for non-remove operation"]),
    ("remove needs no value", {"configPatches": [{"applyTo": "CLUSTER", "patch": {"operation": "REMOVE"}}]}, []),
    ("waypoint patches are skipped", {"configPatches": [{"match": {"context": "WAYPOINT"}}]}, []),
    ("proxy version", {"configPatches": [{"applyTo": "CLUSTER", "match": {"proxy": {"proxyVersion": "1\\.2[0-9"}},
                                          "patch": {"operation": "REMOVE"}}]},
     ["E: Envoy filter: invalid regex for proxy version, [error parsing regexp: missing closing ]: `[0-9`]"]),
    ("long proxy version", {"configPatches": [{"applyTo": "CLUSTER", "match": {"proxy": {"proxyVersion": "1" * 1025}},
                                               "patch": {"operation": "REMOVE"}}]},
     ["W: Envoy filter: proxyVersion match exceeds 1024 characters and will be ignored"]),
    ("listener class with cluster match",
     {"configPatches": [{"applyTo": "HTTP_FILTER", "match": {"cluster": {"service": "a"}},
                         "patch": {"operation": "REMOVE"}}]},
     ["E: Envoy filter: applyTo for listener class objects cannot have non listener match"]),
    ("route class with listener match",
     {"configPatches": [{"applyTo": "HTTP_ROUTE", "match": {"listener": {"portNumber": 80}},
                         "patch": {"operation": "REMOVE"}}]},
     ["E: Envoy filter: applyTo for http route class objects cannot have non route configuration match"]),
    ("cluster with route match",
     {"configPatches": [{"applyTo": "CLUSTER", "match": {"routeConfiguration": {"name": "a"}},
                         "patch": {"operation": "REMOVE"}}]},
     ["E: Envoy filter: applyTo for cluster class objects cannot have non cluster match"]),
    ("context only is no object match", {"configPatches": [{"applyTo": "CLUSTER", "match": {"context": "GATEWAY"},
                                                            "patch": {"operation": "REMOVE"}}]}, []),
    ("filter match", {"configPatches": [
        {"applyTo": "LISTENER", "match": {"listener": {"filterChain": {"filter": {"name": "envoy.filters.network.tcp_proxy"}}}},
         "patch": {"operation": "REMOVE"}},
        {"applyTo": "NETWORK_FILTER", "match": {"listener": {"filterChain": {"filter": {}}}}, "patch": {"operation": "REMOVE"}},
        {"applyTo": "NETWORK_FILTER", "match": {"listener": {"filterChain": {"filter": {"name": "x", "subFilter": {"name": "y"}}}}},
         "patch": {"operation": "REMOVE"}},
        {"applyTo": "HTTP_FILTER", "match": {"listener": {"filterChain": {"filter": {"name": "envoy.filters.network.tcp_proxy",
                                                                                     "subFilter": {"name": "y"}}}}},
         "patch": {"operation": "REMOVE"}},
        {"applyTo": "HTTP_FILTER", "match": {"listener": {"filterChain": {"filter": {"name": "envoy.http_connection_manager",
                                                                                     "subFilter": {}}}}},
         "patch": {"operation": "REMOVE"}},
        {"applyTo": "HTTP_FILTER", "match": {"listener": {"filterChain": {"filter": {"name": "envoy.http_connection_manager",
                                                                                     "subFilter": {"name": "envoy.router"}}}}},
         "patch": {"operation": "REMOVE"}}]},
     ["W: Envoy filter: filter match has no effect when used with LISTENER",
      "E: Envoy filter: filter match has no name to match on",
      "E: Envoy filter: subfilter match can be used with applyTo HTTP_FILTER only",
      "E: Envoy filter: subfilter match requires filter match with envoy.filters.network.http_connection_manager",
      "E: Envoy filter: subfilter match has no name to match on",
      'W: using deprecated filter name "envoy.http_connection_manager"; use '
      '"envoy.filters.network.http_connection_manager" instead',
      'W: using deprecated filter name "envoy.router"; use "envoy.filters.http.router" instead']),
]


@pytest.mark.parametrize("spec, expected", [pytest.param(s, e, id=n) for n, s, e in EF_CASES])
def test_envoy_filter(spec: dict[str, Any], expected: list[str]) -> None:
    assert _issues("EnvoyFilter", spec) == expected


@pytest.mark.parametrize("kind, spec, expected", [
    ("Telemetry", {"tracing": [{"providers": [{"name": "a"}]}]}, []),
    ("Telemetry", {"tracing": [{"providers": [{"name": "a"}, {"name": "b"}]}, {}]},
     ["W: multiple tracing is not currently supported", "W: multiple providers is not currently supported"]),
    ("Telemetry", {"tracing": [{"customTags": {"": {"literal": {"value": "x"}}, "ok": {"header": {"name": "x"}}}}]},
     ["E: tag name may not be empty"]),
    ("Telemetry", {"metrics": [{"overrides": [{"tagOverrides": {"": {"operation": "REMOVE"}}}]}]},
     ["W: tagOverrides.name may not be empty"]),
    ("Telemetry", {"selector": {"matchLabels": {}}}, ["W: workload selector specified without labels"]),
    ("WasmPlugin", {"url": "oci://a/b", "vmConfig": {"env": [{"name": "A"}, {"name": "B"}, {"name": "A"}]}},
     ["E: duplicate env"]),
    ("WasmPlugin", {"url": "oci://a/b", "vmConfig": {"env": [{"name": ""}, {"name": "A"}, {"name": "A"}]}}, []),
    ("WasmPlugin", {"url": "oci://a/b", "targetRefs": [{"kind": "GatewayClass", "group": "gateway.networking.k8s.io",
                                                        "name": "istio"}]}, []),
    ("WasmPlugin", {"url": "oci://a/b", "selector": {}}, ["W: workload selector specified without labels"]),
    ("ProxyConfig", {"concurrency": 0}, []),
    ("ProxyConfig", {"selector": {}}, ["W: workload selector specified without labels"]),
])
def test_telemetry_wasm_proxyconfig(kind: str, spec: dict[str, Any], expected: list[str]) -> None:
    assert _issues(kind, spec) == expected


@pytest.mark.parametrize("others,severity,wording", [
    ("", "info", "mesh-level policy (root namespace 'istio-system'"),
    ("---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\n"
     "spec: {mtls: {mode: PERMISSIVE}}\n", "warning", "so is PeerAuthentication istio-system/default"),
])
def test_peer_authentication_empty_selector_severity(tmp_path, others: str, severity: str, wording: str) -> None:
    # §peer-authentication-empty-selector: alone, it is the mesh/namespace policy (info); beside
    # another selector-less one, only the oldest counts (warning).
    import os

    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    (tmp_path / "pa.yaml").write_text(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: mesh, namespace: istio-system}\n"
        "spec:\n  selector: {matchLabels: {}}\n  mtls: {mode: STRICT}\n" + others)
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        got = [f for f in lint(["."], Settings(root=str(tmp_path))).findings if f.code == "IVL660"]
    finally:
        os.chdir(old)
    assert [(f.severity, wording in f.message) for f in got] == [(severity, True)]
