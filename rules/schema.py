"""IVL010-IVL011: what the Kubernetes API server itself would reject, before any semantics.

* IVL010 validates every resource against its JSON Schema (``schemas/``, generated from Istio's
  CRD bundle by ``tools/gen_schemas.py``; small hand-written schemas for the Kubernetes kinds)
  with the compiled validator of ``lint/schema.py``.
* IVL011 evaluates the CRDs' CEL rules (``x-kubernetes-validations``, listed in
  ``schemas/cel_rules.json``).  There is no CEL interpreter here: each rule is implemented in
  Python in :data:`CEL_IMPLEMENTATIONS`, keyed by the exact (kind, rule text), with the same
  meaning and the same message.  The JSON file says *where* each rule applies; the table says
  *what* it checks.  ``tests/test_schemas.py`` fails when the bundle has a rule without an
  implementation, so a newer Istio cannot slip in an unchecked rule.

Both rules are type-tolerant: a value of the wrong type is IVL010's finding, and the CEL checks
skip it instead of raising.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from istio_vm_lint.findings import FieldPath, Problem, format_path
from istio_vm_lint.model import KINDS, UNVALIDATED_KINDS, Resource
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.schema import Violation, cel_rules, number_text, validator_for

from ._goduration import parse_go_duration
from ._gourl import cel_is_url, cel_url_scheme

MAX_PER_RESOURCE = 20

# Kinds with a schema: every kind the model knows (lint/model.py KINDS) but those read for selectors only.
SCHEMA_KINDS: tuple[str, ...] = tuple(sorted({k for (_, k) in KINDS} - UNVALIDATED_KINDS))


# --- IVL010 ---------------------------------------------------------------------------------

def violations_of(ctx: Context, res: Resource) -> list[Violation]:
    """The schema violations of ``res``, computed at most once per run (one ``ctx.memo`` table
    by resource, held so that its id is not reused); not kept in the rejection-verdict pass
    (``Context.errors_only``), where IVL011 asks again only for a resource with a CEL hit."""
    if ctx.errors_only:
        validator = validator_for(res.group, res.kind, res.version)
        return validator.validate(res.data) if validator is not None else []
    found: dict[int, tuple[Resource, list[Violation]]] = ctx.memo("schema-violations", dict)
    hit = found.get(id(res))
    if hit is None or hit[0] is not res:
        validator = validator_for(res.group, res.kind, res.version)
        hit = found[id(res)] = (res, validator.validate(res.data) if validator is not None else [])
    return hit[1]



@rule(
    code="IVL010", family="schema", scope="resource", name="schema-violation", severity="error",
    summary="A field has the wrong type, an unknown name, a missing required value or an out-of-range value.",
    rationale="""
    The Kubernetes API server validates every Istio resource against the OpenAPI schema of its
    CRD before anything else (docs/semantics.md §crd-schema: "enforced by
    the Kubernetes API server on apply, not by the webhook nor by istioctl analyze"), so a
    resource that breaks it never reaches the mesh: `kubectl apply` fails, or worse, a GitOps
    controller keeps retrying while the rest of the change is applied. Unknown fields are
    reported too: `kubectl apply` rejects them (server-side field validation is `Strict`), and
    where they are silently pruned instead, a misspelt `targetport` or `workloadSelecter` is a
    setting that never took effect. The schemas are generated from Istio's `crd-all.gen.yaml`
    (see schemas/PROVENANCE.md); for Kubernetes kinds only the fields the linter reads are
    checked (ports, selectors, pod templates, labels). As on the API server, `null` on a
    non-nullable field counts as absent. At most 20 violations are reported per resource.
    """,
    bad="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: whoami
    spec:
      hosts: [whoami.example.internal]
      ports:
      - number: 8080
        name: http
        targetPort: "8080x"      # not an integer
      resolution: STATIC
      workloadSelecter:          # unknown field (did you mean workloadSelector?)
        labels: {app: whoami}
    """,
    good="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: whoami
    spec:
      hosts: [whoami.example.internal]
      ports:
      - number: 8080
        name: http
        targetPort: 8080
      resolution: STATIC
      workloadSelector:
        labels: {app: whoami}
    """,
    inputs=SCHEMA_KINDS,
    references=("docs/semantics.md §crd-schema", "schemas/PROVENANCE.md"),
)
def schema_violation(ctx: Context) -> Iterator[Problem]:
    for res in ctx.each(*SCHEMA_KINDS):
        violations = violations_of(ctx, res)
        if not violations:
            continue
        shown = violations[:MAX_PER_RESOURCE]
        for i, v in enumerate(shown):
            message = v.message
            if i == len(shown) - 1 and len(violations) > len(shown):
                message += f" (and {len(violations) - len(shown)} more schema violations in this {res.kind}, not shown)"
            yield Problem(res, v.path, message)


# --- CEL rules as Python --------------------------------------------------------------------

# An implementation gets the value CEL calls ``self`` and yields (sub-path, detail): where
# inside ``self`` the violation is best pointed at, and an optional note on what was found.
# Nothing yielded = the rule holds.  It must not raise on any input.
Hit = tuple[FieldPath, Optional[str]]
CelCheck = Callable[[Any], Iterable[Hit]]


def _has(obj: dict[str, Any], key: str) -> bool:
    """CEL ``has(self.key)`` after the API server's pruning of non-nullable nulls."""
    return obj.get(key) is not None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _quote(v: Any) -> str:
    text = str(v)
    return repr(text if len(text) <= 60 else text[:60] + "...")


def _at_most_one(a: str, b: str, point: str) -> CelCheck:
    """``(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) <= 1``, pointed at ``point``."""
    def check(self: Any) -> Iterable[Hit]:
        if isinstance(self, dict) and _has(self, a) and _has(self, b):
            yield (point,), f"both {a} and {b} are set"
    return check


def _se_cidr_needs_static_or_none(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    addresses = self["addresses"] if _has(self, "addresses") else []
    resolution = self["resolution"] if _has(self, "resolution") else "NONE"
    if not isinstance(addresses, list) or not isinstance(resolution, str):
        return
    for i, a in enumerate(addresses):
        if isinstance(a, str) and "/" in a:
            if resolution not in ("STATIC", "NONE"):
                yield ("addresses", i), f"{a} with resolution {resolution}"
            return


def _se_none_without_endpoints(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    resolution = self["resolution"] if _has(self, "resolution") else "NONE"
    if resolution == "NONE" and _has(self, "endpoints"):
        yield ("endpoints",), None if _has(self, "resolution") else "resolution defaults to NONE"


def _se_dns_round_robin_one_endpoint(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    resolution = self["resolution"] if _has(self, "resolution") else ""
    endpoints = self["endpoints"] if _has(self, "endpoints") else []
    if resolution == "DNS_ROUND_ROBIN" and isinstance(endpoints, list) and len(endpoints) > 1:
        yield ("endpoints", 1), f"{len(endpoints)} endpoints"


def _not_wildcard_host(self: Any) -> Iterable[Hit]:
    if self == "*" and isinstance(self, str):
        yield (), None


def _unique_port_numbers(self: Any) -> Iterable[Hit]:
    if not isinstance(self, list):
        return
    seen: dict[Union[int, float], int] = {}
    for i, p in enumerate(self):
        n = p.get("number") if isinstance(p, dict) else None
        if not _is_number(n):
            continue
        if n in seen:
            yield (i, "number"), f"{number_text(n)} is also spec.ports[{seen[n]}]"
        else:
            seen[n] = i  # type: ignore[index]


def _port_range(self: Any) -> Iterable[Hit]:
    if _is_number(self) and not (0 < self <= 65535):
        yield (), f"found {number_text(self)}"


def _address_or_network(self: Any) -> Iterable[Hit]:
    if isinstance(self, dict) and not _has(self, "address") and not _has(self, "network"):
        yield (), None


def _uds_without_ports(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    address = self["address"] if _has(self, "address") else ""
    if isinstance(address, str) and address.startswith("unix://") and _has(self, "ports"):
        yield ("ports",), None


def _uds_absolute_or_abstract(self: Any) -> Iterable[Hit]:
    # ``self.substring(7, 8)`` fails on a bare "unix://": CEL reports the rule as violated.
    if isinstance(self, str) and self.startswith("unix://") and self[7:8] not in ("/", "@"):
        yield (), f"found {_quote(self)}"


def _uds_not_dir(self: Any) -> Iterable[Hit]:
    if isinstance(self, str) and self.startswith("unix://") and self.endswith("/"):
        yield (), f"found {_quote(self)}"


_PORT_NAME = re.compile(r"^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?\Z")


def _port_names(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    for key in self:
        if isinstance(key, str) and not (len(key) < 63 and _PORT_NAME.search(key)):
            yield (key,), f"found {_quote(key)}"


def _no_wildcard_value(self: Any) -> Iterable[Hit]:
    if isinstance(self, str) and "*" in self:
        yield (), f"found {_quote(self)}"


def _no_wildcard_keys(self: Any) -> Iterable[Hit]:
    if isinstance(self, dict):
        for key in self:
            if isinstance(key, str) and "*" in key:
                yield (key,), f"found {_quote(key)}"


def _no_empty_keys(self: Any) -> Iterable[Hit]:
    if isinstance(self, dict) and "" in self:
        yield ("",), None


def _pa_port_level_needs_selector(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict) or not _has(self, "portLevelMtls"):
        return
    selector = self.get("selector")
    labels: Any = {}
    if _has(self, "selector") and isinstance(selector, dict) and _has(selector, "matchLabels"):
        labels = selector["matchLabels"]
    if not isinstance(labels, dict):
        return  # wrong type: IVL010
    if len(labels) == 0:
        yield ("portLevelMtls",), None


_CEL_INT = re.compile(r"[-+]?[0-9]+\Z")  # strconv.ParseInt(s, 10, 64), what CEL int(string) uses


def _pa_port_keys(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    for key in self:
        if not isinstance(key, str):
            continue
        digits = key.lstrip("+-").lstrip("0")  # int() of a long string would hit Python's digit limit
        ok = (bool(_CEL_INT.match(key)) and not key.startswith("-") and len(digits) <= 5
              and 0 < int(digits or "0") <= 65535)
        if not ok:
            yield (key,), f"found {_quote(key)}"


def _probe_scheme(self: Any) -> Iterable[Hit]:
    if isinstance(self, str) and self not in ("", "HTTP", "HTTPS"):
        yield (), f"found {_quote(self)}"


def _duration_at_least_1ms(self: Any) -> Iterable[Hit]:
    if not isinstance(self, str):
        return
    ns = parse_go_duration(self)
    if ns is None or ns < 1_000_000:
        yield (), f"found {_quote(self)}"


def _one_selector_kind(self: Any) -> Iterable[Hit]:
    """``(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1``."""
    if not isinstance(self, dict):
        return
    present = [k for k in ("selector", "targetRef", "targetRefs") if _has(self, k)]
    if len(present) > 1:
        yield (present[-1],), " and ".join(present) + " are set"


def _empty_string(self: Any) -> Iterable[Hit]:
    """``self.size() == 0`` on a string (a targetRef's namespace)."""
    if isinstance(self, str) and self:
        yield (), f"found {_quote(self)}"


_WASM_SCHEMES = ("", "http", "https", "oci", "file")


def _wasm_url_scheme(self: Any) -> Iterable[Hit]:
    if not isinstance(self, str):
        return
    if cel_is_url(self):
        scheme = cel_url_scheme(self)
    else:
        scheme = cel_url_scheme("http://" + self) if cel_is_url("http://" + self) else None
    if scheme is None:
        yield (), f"{_quote(self)} is not a URL"
    elif scheme not in _WASM_SCHEMES:
        yield (), f"found scheme {_quote(scheme)}"


# A whole value like JWKS_URI or <jwks-uri>: a template's token that sed/envsubst replaces before
# applying (as IVL006 treats such tokens), not a URL anyone meant.
_SUBSTITUTED = re.compile(r"[A-Z][A-Z0-9_]{2,}|<[A-Za-z_-]+>|%[A-Za-z_]+%|__[A-Za-z_]+__")


def _http_url_scheme(self: Any) -> Iterable[Hit]:
    if not isinstance(self, str) or _SUBSTITUTED.fullmatch(self):
        return
    scheme = cel_url_scheme(self)
    if scheme is None:
        yield (), f"{_quote(self)} is not a URL"
    elif scheme not in ("http", "https"):
        yield (), f"found scheme {_quote(scheme)}" if scheme else "no scheme"


def _wasm_env_host_without_value(self: Any) -> Iterable[Hit]:
    if isinstance(self, dict) and self.get("valueFrom") == "HOST" and _has(self, "value"):
        yield ("value",), None


def _ef_waypoint_match(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    context = self["context"] if _has(self, "context") else None
    if context == "WAYPOINT" and not _has(self, "waypoint"):
        yield ("context",), "context WAYPOINT without waypoint"
    elif context != "WAYPOINT" and _has(self, "waypoint"):
        yield ("waypoint",), f"context {context}" if isinstance(context, str) else "no context"


def _ap_service_accounts_alone(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict) or not (_has(self, "serviceAccounts") or _has(self, "notServiceAccounts")):
        return
    for key in ("principals", "notPrincipals", "namespaces", "notNamespaces"):
        if _has(self, key):
            yield (key,), None
            return


def _ra_one_jwks(self: Any) -> Iterable[Hit]:
    if not isinstance(self, dict):
        return
    present = [k for k in ("jwksUri", "jwks_uri", "jwks") if _has(self, k)]
    if len(present) > 1:
        yield (present[-1],), " and ".join(present) + " are set"


def _tag_upsert_value(self: Any) -> Iterable[Hit]:
    if isinstance(self, dict) and self.get("operation") == "UPSERT":
        if not _has(self, "value"):
            yield (), "no value"
        elif self["value"] == "":
            yield ("value",), None


def _tag_remove_no_value(self: Any) -> Iterable[Hit]:
    if isinstance(self, dict) and self.get("operation") == "REMOVE" and _has(self, "value"):
        yield ("value",), None


def _both(kinds: Iterable[str], rule_text: str, check: CelCheck) -> dict[tuple[str, str], CelCheck]:
    return {(k, rule_text): check for k in kinds}


_ENDPOINT_KINDS = ("ServiceEntry", "WorkloadEntry", "WorkloadGroup")
_POLICY_KINDS = ("AuthorizationPolicy", "RequestAuthentication", "Telemetry", "WasmPlugin")
_UDS_PORTS = '(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true'
_UDS_ABS = 'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true'
_UDS_DIR = 'self.startsWith("unix://") ? !self.endsWith("/") : true'
_PORT_NAMES = 'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))'
_PORT_RANGE = "0 < self && self <= 65535"
_DURATION = "duration(self) >= duration('1ms')"
_TLS_RULES = {
    "(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1":
        _at_most_one("credentialName", "credentialNames", "credentialNames"),
    "(has(self.credentialNames) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1":
        _at_most_one("credentialNames", "tlsCertificates", "tlsCertificates"),
    "(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1":
        _at_most_one("tlsCertificates", "credentialNames", "tlsCertificates"),
}

# (kind, exact CEL rule text) -> Python implementation.  Every rule of the CRD bundle must be
# here (tests/test_schemas.py::test_every_cel_rule_is_implemented).
CEL_IMPLEMENTATIONS: dict[tuple[str, str], CelCheck] = {
    # ServiceEntry spec
    ("ServiceEntry", "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1"):
        _at_most_one("workloadSelector", "endpoints", "endpoints"),
    ("ServiceEntry", '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && '
                     '!((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))'):
        _se_cidr_needs_static_or_none,
    ("ServiceEntry", '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true'):
        _se_none_without_endpoints,
    ("ServiceEntry", '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? '
                     '((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true'):
        _se_dns_round_robin_one_endpoint,
    ("ServiceEntry", 'self != "*"'): _not_wildcard_host,
    ("ServiceEntry", "self.all(l1, self.exists_one(l2, l1.number == l2.number))"): _unique_port_numbers,
    ("ServiceEntry", "has(self.address) || has(self.network)"): _address_or_network,
    ("WorkloadEntry", "has(self.address) || has(self.network)"): _address_or_network,
    **_both(_ENDPOINT_KINDS, _UDS_PORTS, _uds_without_ports),
    **_both(_ENDPOINT_KINDS, _UDS_ABS, _uds_absolute_or_abstract),
    **_both(_ENDPOINT_KINDS, _UDS_DIR, _uds_not_dir),
    **_both(_ENDPOINT_KINDS, _PORT_NAMES, _port_names),
    **_both(_ENDPOINT_KINDS, _PORT_RANGE, _port_range),
    ("WorkloadGroup", 'self in ["", "HTTP", "HTTPS"]'): _probe_scheme,
    # selectors
    **_both(("ServiceEntry", "Sidecar"), '!self.contains("*")', _no_wildcard_value),
    **_both(("DestinationRule", "PeerAuthentication"), '!self.contains("*")', _no_wildcard_value),
    **_both(("DestinationRule", "PeerAuthentication"), 'self.all(key, !key.contains("*"))', _no_wildcard_keys),
    **_both(("DestinationRule", "PeerAuthentication"), "self.all(key, key.size() != 0)", _no_empty_keys),
    # PeerAuthentication
    ("PeerAuthentication", "has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) "
                           "? self.selector.matchLabels : {}).size() > 0) : true"): _pa_port_level_needs_selector,
    ("PeerAuthentication", "self.all(key, 0 < int(key) && int(key) <= 65535)"): _pa_port_keys,
    # TLS credentials (Gateway servers, Sidecar ingress)
    **{(k, text): fn for k in ("Gateway", "Sidecar") for text, fn in _TLS_RULES.items()},
    # durations
    **_both(("DestinationRule", "Sidecar", "VirtualService", "RequestAuthentication", "Telemetry"), _DURATION,
            _duration_at_least_1ms),
    # workload policies (selector, targetRef(s))
    **_both(_POLICY_KINDS + ("EnvoyFilter", "ProxyConfig"), '!self.contains("*")', _no_wildcard_value),
    **_both(_POLICY_KINDS + ("ProxyConfig",), 'self.all(key, !key.contains("*"))', _no_wildcard_keys),
    **_both(_POLICY_KINDS + ("ProxyConfig",), "self.all(key, key.size() != 0)", _no_empty_keys),
    **_both(_POLICY_KINDS + ("EnvoyFilter",), "self.size() == 0", _empty_string),
    **_both(_POLICY_KINDS, "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + "
                           "(has(self.targetRefs) ? 1 : 0) <= 1", _one_selector_kind),
    ("AuthorizationPolicy", "(has(self.serviceAccounts) || has(self.notServiceAccounts)) ? (!has(self.principals) &&\n"
                            "!has(self.notPrincipals) && !has(self.namespaces) && !has(self.notNamespaces)) : true"):
        _ap_service_accounts_alone,
    ("RequestAuthentication", "(has(self.jwksUri) ? 1 : 0) + (has(self.jwks_uri) ? 1 : 0) + (has(self.jwks) ? 1 : 0) <= 1"):
        _ra_one_jwks,
    ("RequestAuthentication", 'url(self).getScheme() in ["http", "https"]'): _http_url_scheme,
    ("Telemetry", '((has(self.operation) ? self.operation : "") == "UPSERT") ? (self.value != "") : true'):
        _tag_upsert_value,
    ("Telemetry", '((has(self.operation) ? self.operation : "") == "REMOVE") ? !has(self.value) : true'):
        _tag_remove_no_value,
    ("WasmPlugin", 'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : '
                   '(isURL("http://" + self) &&\nurl("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])'):
        _wasm_url_scheme,
    ("WasmPlugin", '(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)'):
        _wasm_env_host_without_value,
    ("EnvoyFilter", "(has(self.workloadSelector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1"):
        _at_most_one("workloadSelector", "targetRefs", "targetRefs"),
    ("EnvoyFilter", 'has(self.context) ? ((self.context == "WAYPOINT") ? has(self.waypoint) : !has(self.waypoint)) '
                    ': !has(self.waypoint)'): _ef_waypoint_match,
    ("EnvoyFilter", _PORT_RANGE): _port_range,
}


class _Trie:
    """The CEL rules of one (group, kind, version), arranged by path so that a resource is
    walked once however many rules apply (a DestinationRule version has ~90)."""

    __slots__ = ("children", "checks", "keys", "items", "values")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.checks: list[tuple[CelCheck, str]] = []
        # filled by freeze(): field children, the list-item child, the map-value child
        self.keys: tuple[tuple[str, _Trie], ...] = ()
        self.items: Optional[_Trie] = None
        self.values: Optional[_Trie] = None

    def freeze(self) -> "_Trie":
        self.keys = tuple((k, c.freeze()) for k, c in self.children.items() if k not in ("[*]", "{*}"))
        self.items = self.children["[*]"].freeze() if "[*]" in self.children else None
        self.values = self.children["{*}"].freeze() if "{*}" in self.children else None
        return self


_TRIES: dict[tuple[str, str, str], Optional[_Trie]] = {}


def _trie_for(group: str, kind: str, version: str) -> Optional[_Trie]:
    key = (group, kind, version)
    if key in _TRIES:
        return _TRIES[key]
    root: Optional[_Trie] = None
    for r in cel_rules():
        if (r.get("group"), r.get("kind"), r.get("version")) != key:
            continue
        impl = CEL_IMPLEMENTATIONS.get((kind, r.get("rule", "")))
        if impl is None:
            continue  # a rule this version of the linter does not know (the tests catch it)
        root = root or _Trie()
        node = root
        for seg in r.get("path", []):
            node = node.children.setdefault(seg, _Trie())
        node.checks.append((impl, r.get("message") or f"failed rule: {r.get('rule')}"))
    _TRIES[key] = root.freeze() if root is not None else None
    return _TRIES[key]


CelHit = tuple[FieldPath, FieldPath, str, Optional[str]]


def _walk(value: Any, node: _Trie, path: list[Union[str, int]], out: list[CelHit]) -> None:
    """Append (rule path, pointed path, message, detail) for every failed check under ``node``.

    ``path`` is a stack (tuples are only built for hits): this runs on every resource."""
    for check, message in node.checks:
        for sub, detail in check(value):
            here = tuple(path)
            out.append((here, here + tuple(sub), message, detail))
    if node.keys and isinstance(value, dict):
        for seg, child in node.keys:
            item = value.get(seg)
            if item is not None:  # absent or pruned null: a field's CEL rules only run when it is set
                path.append(seg)
                _walk(item, child, path, out)
                path.pop()
    if node.items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            if item is not None:
                path.append(i)
                _walk(item, node.items, path, out)
                path.pop()
    if node.values is not None and isinstance(value, dict):
        for k, item in value.items():
            if item is not None:
                path.append(k)
                _walk(item, node.values, path, out)
                path.pop()


CEL_KINDS: tuple[str, ...] = tuple(sorted({k for (k, _) in CEL_IMPLEMENTATIONS}))
_NO_TRIE = _Trie()  # not looked up yet (None: no CEL rules)


@rule(
    code="IVL011", family="schema", scope="resource", name="crd-validation-rule", severity="error",
    summary="A resource breaks one of the CEL rules (x-kubernetes-validations) of Istio's CRDs.",
    rationale="""
    Istio's CRDs carry CEL validation rules that the Kubernetes API server evaluates on every
    create and update (docs/semantics.md §crd-schema); a resource that
    breaks one is rejected with the rule's message, before Istio's webhook or `istioctl
    analyze` see it. Among them: a ServiceEntry cannot have both `workloadSelector` and
    `endpoints`, cannot list endpoints with resolution NONE (also when resolution is simply
    left out), cannot use CIDR addresses unless resolution is STATIC or NONE, cannot have `*`
    as a host or two ports with the same number; endpoint and WorkloadEntry ports must be
    1-65535 with DNS-label names, and a `unix://` address must be an absolute path or
    abstract socket and carry no ports; selectors cannot contain `*`; durations must be at
    least 1ms; a PeerAuthentication with `portLevelMtls` needs a selector; a workload policy
    (AuthorizationPolicy, RequestAuthentication, Telemetry, WasmPlugin, EnvoyFilter) takes one
    of `selector`, `targetRef` and `targetRefs`, never a targetRef namespace; an
    AuthorizationPolicy source cannot mix `serviceAccounts` with principals or namespaces; a JWT
    rule has one JWKS source and an http(s) `jwksUri`; a WasmPlugin `url` has a scheme among
    http, https, oci and file. Each rule of
    `crd-all.gen.yaml` is implemented in Python with the same meaning and reported with the
    CRD's own message, at the field that breaks it.
    """,
    bad="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: whoami
    spec:
      hosts: [whoami.example.internal]
      ports:
      - {number: 8080, name: http}
      resolution: STATIC
      workloadSelector:
        labels: {app: whoami}
      endpoints:                 # only one of WorkloadSelector or Endpoints can be set
      - address: 10.0.0.5
    """,
    good="""
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: whoami
    spec:
      hosts: [whoami.example.internal]
      ports:
      - {number: 8080, name: http}
      resolution: STATIC
      workloadSelector:
        labels: {app: whoami}
    """,
    inputs=CEL_KINDS,
    references=("docs/semantics.md §crd-schema", "schemas/cel_rules.json"),
)
def crd_validation_rule(ctx: Context) -> Iterator[Problem]:
    tries: dict[tuple[str, str], Optional[_Trie]] = {}  # (apiVersion, kind) -> trie, for this loop
    for res in ctx.each(*CEL_KINDS):
        key = (res.api_version, res.kind)
        trie = tries.get(key, _NO_TRIE)
        if trie is _NO_TRIE:
            trie = tries[key] = _trie_for(res.group, res.kind, res.version)
        if trie is None:
            continue
        hits: list[CelHit] = []
        _walk(res.data, trie, [], hits)
        if not hits:
            continue
        violations = violations_of(ctx, res)
        if violations:
            # Where the schema rejects the value itself (IVL010 says so), the CEL rule on it is
            # noise: drop hits at a rejected field and anywhere below a wrongly-typed one.
            exact = {v.path for v in violations}
            typed = {v.path for v in violations if v.what == "type"}
            hits = [h for h in hits if h[1] not in exact
                    and not any(h[1][:n] in typed for n in range(len(h[1])))]
        shown = hits[:MAX_PER_RESOURCE]
        for i, (rule_path, pointed, message, detail) in enumerate(shown):
            text = f"{format_path(rule_path) or res.kind}: {message}"
            if detail:
                text += f" ({detail})"
            if i == len(shown) - 1 and len(hits) > len(shown):
                text += f" (and {len(hits) - len(shown)} more CEL rule violations in this {res.kind}, not shown)"
            yield Problem(res, pointed, text)
