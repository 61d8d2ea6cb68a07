"""IVL670-IVL673: Istio's AuthorizationPolicy and RequestAuthentication validation, done on files.

Ports of ``ValidateAuthorizationPolicy`` and ``ValidateRequestAuthentication``
(``pkg/config/validation/validation.go``, value checks from ``pkg/config/security/security.go``;
docs/semantics.md §validation-authorizationpolicy, §validation-requestauthentication).  The CRDs
repeat part of the Go checks as OpenAPI/CEL rules (one of selector/targetRef/targetRefs, label
keys and values, targetRef names and namespaces, serviceAccounts with principals or namespaces,
one JWKS source, the jwksUri scheme, non-empty audiences, header and cookie names, a timeout of
at least 1ms); those are reported once, by IVL010/IVL011.  What only Go validation catches is
here: the action/provider/rules combinations, empty sources and operations, values of the
wrong shape (ports, IPs, service accounts, trust domains, path templates), unknown ``when``
keys, targetRef kinds, the ``istio.io/dry-run`` annotation, JWT rules without issuer or JWKS
URI, JWKS that are not a key set, and Istio's warnings.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h
from ._gourl import parse as url_parse
from ._validation_helpers import policies as p

_SOURCE_LISTS = ("principals", "requestPrincipals", "namespaces", "ipBlocks", "remoteIpBlocks", "notPrincipals",
                 "notRequestPrincipals", "notNamespaces", "notIpBlocks", "notRemoteIpBlocks", "serviceAccounts",
                 "notServiceAccounts", "trustDomains", "notTrustDomains")
_OPERATION_LISTS = ("ports", "methods", "paths", "hosts", "notPorts", "notMethods", "notPaths", "notHosts")
_CUSTOM_UNSUPPORTED_FROM = (("namespaces", "From.Namespaces"), ("notNamespaces", "From.NotNamespaces"),
                            ("serviceAccounts", "From.ServiceAccounts"),
                            ("notServiceAccounts", "From.NotServiceAccounts"),
                            ("trustDomains", "From.TrustDomains"), ("notTrustDomains", "From.NotTrustDomains"),
                            ("principals", "From.Principals"), ("notPrincipals", "From.NotPrincipals"),
                            ("requestPrincipals", "From.RequestPrincipals"),
                            ("notRequestPrincipals", "From.NotRequestPrincipals"))
_CUSTOM_UNSUPPORTED_WHEN = ("source.namespace", "source.serviceAccount", "source.trustDomain", "source.principal")
_DRY_RUN = "istio.io/dry-run"
_GO_BOOLS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})


def _go_name(key: str) -> str:
    """The Go field name Istio prints: ``notIpBlocks`` -> ``NotIpBlocks``."""
    return key[:1].upper() + key[1:]


def _strings(m: dict[str, Any], key: str) -> list[Any]:
    """A repeated string field; an empty list reads as unset, as protojson leaves it nil."""
    return as_list(m.get(key))


def _rules_nil(spec: dict[str, Any]) -> bool:
    """``in.Rules == nil``: absent, null or ``[]`` (protojson allocates no slice for an empty list)."""
    return not as_list(spec.get("rules"))


def _custom_checks(v: h.Issues, rules: list[Any]) -> None:
    for i, r in enumerate(rules):
        rm = as_map(r)
        for j, f in enumerate(as_list(rm.get("from"))):
            src = as_map(f).get("source")
            if not isinstance(src, dict):
                continue
            for key, name in _CUSTOM_UNSUPPORTED_FROM:
                if _strings(src, key):
                    v.err(("spec", "rules", i, "from", j, "source", key), "AP-03",
                          f"{name} is currently not supported with CUSTOM action")
        for j, w in enumerate(as_list(rm.get("when"))):
            key = as_map(w).get("key")
            if isinstance(key, str) and (key in _CUSTOM_UNSUPPORTED_WHEN or key.startswith("request.auth.")):
                v.err(("spec", "rules", i, "when", j, "key"), "AP-03", f"{key} is currently not supported with CUSTOM action")


def _source_checks(v: h.Issues, src: dict[str, Any], path: FieldPath, i: int) -> None:
    """One ``from[].source``."""
    if not any(_strings(src, k) for k in _SOURCE_LISTS):
        v.err(path, "AP-06", f"`from.source` must not be empty, found at rule {i}")
    for key in ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"):
        for msg in p.ip_errors(_strings(src, key)):
            v.err(path + (key,), "AP-07", msg)
    for key, check in (("principals", p.check_empty_values), ("requestPrincipals", p.check_empty_values),
                       ("namespaces", p.check_empty_values), ("serviceAccounts", p.check_crd_service_account),
                       ("trustDomains", p.check_trust_domain_values), ("ipBlocks", p.check_empty_values),
                       ("remoteIpBlocks", p.check_empty_values), ("notPrincipals", p.check_empty_values),
                       ("notRequestPrincipals", p.check_empty_values), ("notNamespaces", p.check_empty_values),
                       ("notServiceAccounts", p.check_crd_service_account),
                       ("notTrustDomains", p.check_trust_domain_values), ("notIpBlocks", p.check_empty_values),
                       ("notRemoteIpBlocks", p.check_empty_values)):
        values = _strings(src, key)
        if values:
            v.err(path + (key,), "AP-08", check(_go_name(key), values))


def _operation_checks(v: h.Issues, op: dict[str, Any], path: FieldPath, i: int) -> None:
    """One ``to[].operation``."""
    if not any(_strings(op, k) for k in _OPERATION_LISTS):
        v.err(path, "AP-10", f"`to.operation` must not be empty, found at rule {i}")
    for key in ("ports", "notPorts"):
        for msg in p.port_errors(_strings(op, key)):
            v.err(path + (key,), "AP-11", msg)
    for key in _OPERATION_LISTS:
        v.err(path + (key,), "AP-11", p.check_empty_values(_go_name(key), _strings(op, key)))
    for key in ("paths", "notPaths"):
        v.err(path + (key,), "AP-11", p.path_template_error(_go_name(key), _strings(op, key)))


def _prefixed(prefix: str, err: Optional[str]) -> Optional[str]:
    return prefix + err if err else None


def _when_checks(v: h.Issues, when: list[Any], path: FieldPath) -> None:
    for j, c in enumerate(when):
        cm = as_map(c)
        key = cm.get("key")
        if not isinstance(key, str):
            continue  # missing or not a string: IVL010
        here = path + (j,)
        if key == "":
            v.err(here + ("key",), "AP-12", "`key` must not be empty")
            continue
        values, not_values = _strings(cm, "values"), _strings(cm, "notValues")
        if not values and not not_values:
            v.err(here, "AP-12", f"at least one of `values` or `notValues` must be set for key {key}")
            continue
        key_err = p.attribute_error(key, [])
        if key_err:  # the key itself: Go says it for values and for notValues, once is enough
            side = "value" if values else "notValue"
            v.err(here + ("key",), "AP-13", f"invalid `{side}` for `key` {key}: {key_err}")
            continue
        v.err(here + ("values",), "AP-13", _prefixed(f"invalid `value` for `key` {key}: ", p.attribute_error(key, values)))
        v.err(here + ("notValues",), "AP-13",
              _prefixed(f"invalid `notValue` for `key` {key}: ", p.attribute_error(key, not_values)))


def validate_authorization_policy(ap: Resource) -> h.Issues:
    """``ValidateAuthorizationPolicy`` minus its CRD-duplicated errors (§validation-authorizationpolicy)."""
    v = h.Issues()
    spec = ap.spec
    action = spec.get("action") if isinstance(spec.get("action"), str) else "ALLOW"
    ann = ap.annotations.get(_DRY_RUN)
    if ann is not None:  # validateMetadata / checkDryRunAnnotation
        where = ("metadata", "annotations", _DRY_RUN)
        if action not in ("ALLOW", "DENY"):
            v.err(where, "AP-01", f"the annotation {_DRY_RUN} currently only supports action ALLOW/DENY, found action "
                                  f"{action} in {ap.namespace}/{ap.name}")
        elif ann not in _GO_BOOLS:
            v.err(where, "AP-01", f"{ap.namespace}/{ap.name} has annotation {_DRY_RUN} with invalid value ({ann}): "
                                  f"strconv.ParseBool: parsing {h.goq(ann)}: invalid syntax")
    p.selector_without_labels(v, ap, "AP-02")
    p.target_ref_issues(v, ap, "AP-02")
    rules = as_list(spec.get("rules"))
    provider = spec.get("provider")
    if action == "CUSTOM":
        if _rules_nil(spec):
            v.err(("spec", "action"), "AP-03", "CUSTOM action without `rules` is meaningless as it will never be "
                                               "triggered, add an empty rule `{}` if you want it be triggered for every request")
        elif not isinstance(provider, dict) or not as_map(provider).get("name"):
            v.err(("spec", "provider") if isinstance(provider, dict) else ("spec", "action"), "AP-03",
                  "`provider.name` must not be empty")
        _custom_checks(v, rules)
    if isinstance(provider, dict) and action != "CUSTOM":
        v.err(("spec", "provider"), "AP-04", f"`provider` must not be with non CUSTOM action, found {action}")
    if action == "DENY" and _rules_nil(spec):
        v.err(("spec", "action"), "AP-04", "DENY action without `rules` is meaningless as it will never be triggered, "
                                           "add an empty rule `{}` if you want it be triggered for every request")
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            continue  # null or not a mapping: IVL010
        rpath: FieldPath = ("spec", "rules", i)
        for j, f in enumerate(as_list(r.get("from"))):
            if not isinstance(f, dict):
                continue
            src = f.get("source")
            if not isinstance(src, dict):
                v.err(rpath + ("from", j), "AP-05", f"`from.source` must not be nil, found at rule {i}")
                continue
            _source_checks(v, src, rpath + ("from", j, "source"), i)
        for j, t in enumerate(as_list(r.get("to"))):
            if not isinstance(t, dict):
                continue
            op = t.get("operation")
            if not isinstance(op, dict):
                v.err(rpath + ("to", j), "AP-09", f"`to.operation` must not be nil, found at rule {i}")
                continue
            _operation_checks(v, op, rpath + ("to", j, "operation"), i)
        _when_checks(v, as_list(r.get("when")), rpath + ("when",))
        # AP-14, Istio's warning that a DENY rule of HTTP attributes only "will deny all traffic to
        # TCP ports under its scope", is not repeated: Istio gives it whatever the workloads serve
        # (IVL124 reports HTTP-only conditions where a selected workload serves TCP).
    return v


# --- RequestAuthentication ----------------------------------------------------------------

_JWK_TYPES = frozenset({"RSA", "EC", "OKP", "oct"})


def _jwks_keys(text: str) -> tuple[list[Any], str]:
    """The keys of an inline JWKS and the parse error ("" when it parses).  A set
    (``{"keys": [...]}``) or a single key, each with a known ``kty``: the shape jwk.Parse needs
    before it looks at the key parameters (which are not checked here)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        return [], f"jwks parse error: failed to unmarshal JSON: {e}"
    if isinstance(data, dict) and "keys" in data:
        keys = data["keys"] if isinstance(data["keys"], list) else None
    elif isinstance(data, dict):
        keys = [data]
    else:
        keys = None
    if keys is None:
        return [], "jwks parse error: expected a JWK set (an object with a \"keys\" list) or a single JWK"
    for i, k in enumerate(keys):
        kty = k.get("kty") if isinstance(k, dict) else None
        if kty not in _JWK_TYPES:
            return [], f"jwks parse error: key at index {i}: invalid key type {json.dumps(kty)}"
    return keys, ""


def _jwks_uri(rule_: dict[str, Any]) -> tuple[str, str]:
    """The JWKS URI and its field name (``jwks_uri`` is the proto name; protojson reads both)."""
    for key in ("jwksUri", "jwks_uri"):
        value = rule_.get(key)
        if isinstance(value, str) and value:
            return value, key
    return "", "jwksUri"


def validate_request_authentication(ra: Resource) -> h.Issues:
    """``ValidateRequestAuthentication`` minus its CRD-duplicated errors (§validation-requestauthentication)."""
    v = h.Issues()
    p.selector_without_labels(v, ra, "RA-01")
    p.target_ref_issues(v, ra, "RA-01")
    for i, r in enumerate(as_list(ra.spec.get("jwtRules"))):
        if not isinstance(r, dict):
            continue
        path: FieldPath = ("spec", "jwtRules", i)
        uri, uri_key = _jwks_uri(r)
        issuer = r.get("issuer")
        if not uri and not (isinstance(issuer, str) and issuer):
            v.err(path, "RA-02", "issuer or jwksUri must be non-empty string")
        if uri:
            u = url_parse(uri)
            # The scheme and the parse error are the CRD's CEL rule on jwksUri (IVL011); what it
            # does not check is the port, which ParseJwksURI converts with strconv.Atoi.
            if not isinstance(u, str) and u.scheme in ("http", "https") and u.port and len(u.port.lstrip("0")) > 18 \
                    and int(u.port) > 2**63 - 1:
                v.err(path + (uri_key,), "RA-03", f"strconv.Atoi: parsing {h.goq(u.port)}: value out of range")
        jwks = r.get("jwks")
        if isinstance(jwks, str) and jwks:
            keys, err = _jwks_keys(jwks)
            v.err(path + ("jwks",), "RA-04", err)
            for k, key in enumerate(keys):
                if key.get("kty") == "oct" or "d" in key:
                    v.warn(path + ("jwks",), "RA-06", f"jwks key at index {k} contains private key material; only "
                                                     "public keys are used for verification")
        if "timeout" in r:
            v.errs(path + ("timeout",), "RA-05", h.duration_errors(r.get("timeout")))
    return v


# --- rules --------------------------------------------------------------------------------


@rule(
    code="IVL670", family="validation_policy", scope="resource", name="authorization-policy-invalid", severity="error",
    summary="An AuthorizationPolicy that Istio's validation rejects (action, provider, rules, sources, operations, conditions).",
    rationale="""
    Istio's admission webhook rejects an AuthorizationPolicy whose `ValidateAuthorizationPolicy`
    returns errors (docs/semantics.md §validation-authorizationpolicy; `istioctl analyze`
    IST0106): a CUSTOM action without rules or without `provider.name`, or with source fields
    and `when` keys the external authorizer cannot see; a `provider` with another action; a
    DENY action without rules; a `from` without `source` or a `to` without `operation`, or
    either empty; ports that are not numbers up to 65535; IP blocks that do not parse; empty
    values; malformed service accounts or trust domains; path templates in the wrong place;
    `when` keys Istio does not know (or that it replaced by the selector or the namespace) and
    values of the wrong shape; a targetRef to a kind policies cannot attach to; an
    `istio.io/dry-run` annotation that is not a boolean or is on a CUSTOM/AUDIT policy. A
    rejected policy does not exist, and the protection it was written for is not there. The
    checks the CRD itself makes are IVL010/IVL011.
    """,
    bad="""
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: ledger-allow, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      action: ALLOW
      rules:
      - to:
        - operation:
            ports: ["http"]          # bad port (http): ports are numbers
    """,
    good="""
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: ledger-allow, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      action: ALLOW
      rules:
      - to:
        - operation:
            ports: ["8080"]
    """,
    inputs=("AuthorizationPolicy",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-authorizationpolicy",),
)
def authorization_policy_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "AuthorizationPolicy", validate_authorization_policy, "E")


@rule(
    code="IVL671", family="validation_policy", scope="resource", name="authorization-policy-validation-warning",
    severity="warning",
    summary="An AuthorizationPolicy whose selector has no labels: Istio accepts it with a warning and applies it to the whole namespace.",
    rationale="""
    `ValidateAuthorizationPolicy` keeps the warning of `validateWorkloadSelector` (docs/semantics.md
    §validation-authorizationpolicy; `istioctl analyze` IST0133): a `selector` without labels
    selects every workload of the namespace, or of the mesh in the root namespace. For an ALLOW
    policy written for one service, every other workload there now denies what the policy does
    not list; for a DENY policy, they deny what it lists. Remove the empty selector to say
    "namespace-wide" explicitly, or add the labels of the intended workloads. Istio's other
    warning, that a DENY rule of HTTP attributes only denies all traffic to TCP ports, is not
    reported here: IVL124 reports HTTP-only conditions where a selected workload serves TCP.
    """,
    bad="""
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: ledger-allow, namespace: ledger}
    spec:
      selector: {}                   # workload selector specified without labels
      action: ALLOW
      rules:
      - from:
        - source:
            principals: [cluster.local/ns/shop/sa/web]
    """,
    good="""
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: ledger-allow, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      action: ALLOW
      rules:
      - from:
        - source:
            principals: [cluster.local/ns/shop/sa/web]
    """,
    inputs=("AuthorizationPolicy",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-authorizationpolicy",),
)
def authorization_policy_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "AuthorizationPolicy", validate_authorization_policy, "W")


@rule(
    code="IVL672", family="validation_policy", scope="resource", name="request-authentication-invalid", severity="error",
    summary="A RequestAuthentication that Istio's validation rejects (JWT rule without issuer or JWKS URI, JWKS that does not parse, timeout precision, targetRef kind).",
    rationale="""
    Istio's admission webhook rejects a RequestAuthentication whose
    `ValidateRequestAuthentication` returns errors (docs/semantics.md
    §validation-requestauthentication; `istioctl analyze` IST0106): a JWT rule with neither
    `issuer` nor `jwksUri`, inline `jwks` that is not a JSON Web Key set, a `jwksUri` whose port
    is not a number Go can read, a `timeout` that is not a whole number of milliseconds, or a
    targetRef to a kind policies cannot attach to. A rejected RequestAuthentication does not
    exist: tokens are not validated, and AuthorizationPolicies that require
    `requestPrincipals` deny every request. The checks the CRD makes itself (one JWKS source,
    an http/https `jwksUri`, non-empty values, header names) are IVL010/IVL011.
    """,
    bad="""
    apiVersion: security.istio.io/v1
    kind: RequestAuthentication
    metadata: {name: ledger-jwt, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      jwtRules:
      - audiences: [ledger]          # issuer or jwksUri must be non-empty string
        forwardOriginalToken: true
    """,
    good="""
    apiVersion: security.istio.io/v1
    kind: RequestAuthentication
    metadata: {name: ledger-jwt, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      jwtRules:
      - issuer: https://login.example.com
        jwksUri: https://login.example.com/.well-known/jwks.json
        audiences: [ledger]
    """,
    inputs=("RequestAuthentication",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-requestauthentication",),
)
def request_authentication_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "RequestAuthentication", validate_request_authentication, "E")


@rule(
    code="IVL673", family="validation_policy", scope="resource", name="request-authentication-validation-warning",
    severity="warning",
    summary="A RequestAuthentication that Istio accepts with a warning: private key material in inline JWKS, or a selector without labels.",
    rationale="""
    Istio warns (docs/semantics.md §validation-requestauthentication; `istioctl analyze` IST0133)
    when inline `jwks` carries private key material (an RSA, EC or OKP key with its private
    parameter `d`, or a symmetric `oct` key): verification needs only the public keys, and the
    private ones are now readable by everyone who can read the mesh config. It also warns about
    a `selector` without labels, which makes the policy namespace-wide.
    """,
    bad="""
    apiVersion: security.istio.io/v1
    kind: RequestAuthentication
    metadata: {name: ledger-jwt, namespace: ledger}
    spec:
      selector: {}                   # no labels: applies to the whole namespace
      jwtRules:
      - issuer: https://login.example.com
    """,
    good="""
    apiVersion: security.istio.io/v1
    kind: RequestAuthentication
    metadata: {name: ledger-jwt, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      jwtRules:
      - issuer: https://login.example.com
    """,
    inputs=("RequestAuthentication",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-requestauthentication",),
)
def request_authentication_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "RequestAuthentication", validate_request_authentication, "W")

