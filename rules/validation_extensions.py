"""IVL674-IVL679: Istio's Telemetry, EnvoyFilter, WasmPlugin and ProxyConfig validation, done on files.

Ports of ``ValidateTelemetry``, ``ValidateWasmPlugin``, ``ValidateProxyConfig``
(``pkg/config/validation/validation.go``) and ``ValidateEnvoyFilter``
(``pkg/config/validation/envoyfilter/envoyfilter.go``); docs/semantics.md §validation-telemetry,
§validation-envoyfilter, §validation-wasmplugin, §validation-proxyconfig.  Checks the CRDs make
themselves (selector/targetRef exclusivity and shape, provider names, tag override values,
sampling range, custom tag values, the WasmPlugin URL scheme and sha256, env values, port
ranges, ProxyConfig concurrency) are IVL010/IVL011's.  Not ported: the Telemetry access-log
``filter.expression`` CEL parse, and EnvoyFilter's decoding of ``patch.value`` into Envoy's
protobuf types (``xds.BuildXDSObjectFromStruct``), which needs Envoy's API descriptors.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterator

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h
from ._goregexp import go_regexp_error
from ._validation_helpers import policies as p

# --- Telemetry ----------------------------------------------------------------------------


def validate_telemetry(tel: Resource) -> h.Issues:
    """``ValidateTelemetry`` minus its CRD-duplicated errors (§validation-telemetry)."""
    v = h.Issues()
    spec = tel.spec
    p.selector_without_labels(v, tel, "TE-01")
    p.target_ref_issues(v, tel, "TE-01")
    for i, m in enumerate(as_list(spec.get("metrics"))):
        for j, o in enumerate(as_list(as_map(m).get("overrides"))):
            tags = as_map(o).get("tagOverrides")
            if isinstance(tags, dict) and "" in tags:
                v.warn(("spec", "metrics", i, "overrides", j, "tagOverrides", ""), "TE-02",
                       "tagOverrides.name may not be empty")
    tracing = as_list(spec.get("tracing"))
    if len(tracing) > 1:
        v.warn(("spec", "tracing", 1), "TE-03", "multiple tracing is not currently supported")
    for i, t in enumerate(tracing):
        tm = as_map(t)
        if len(as_list(tm.get("providers"))) > 1:
            v.warn(("spec", "tracing", i, "providers", 1), "TE-03", "multiple providers is not currently supported")
        tags = tm.get("customTags")
        if isinstance(tags, dict) and "" in tags:
            v.err(("spec", "tracing", i, "customTags", ""), "TE-04", "tag name may not be empty")
    return v


# --- WasmPlugin ---------------------------------------------------------------------------


def validate_wasm_plugin(wp: Resource) -> h.Issues:
    """``ValidateWasmPlugin`` minus its CRD-duplicated errors (§validation-wasmplugin)."""
    v = h.Issues()
    p.selector_without_labels(v, wp, "WP-01")
    p.target_ref_issues(v, wp, "WP-01")
    seen: set[str] = set()
    for i, env in enumerate(as_list(as_map(wp.spec.get("vmConfig")).get("env"))):
        name = as_map(env).get("name")
        if not isinstance(name, str) or not name or len(name) > 256:
            if isinstance(env, dict):
                break  # Go returns at the first bad env; an empty or long name is IVL010's
            continue
        if name in seen:
            v.err(("spec", "vmConfig", "env", i, "name"), "WP-02", "duplicate env")
            break
        if env.get("valueFrom") not in (None, "INLINE") and env.get("value"):
            break  # "value may only be set when valueFrom is INLINE": the CRD's CEL rule (IVL011)
        seen.add(name)
    return v


# --- ProxyConfig --------------------------------------------------------------------------


def validate_proxy_config(pc: Resource) -> h.Issues:
    """``ValidateProxyConfig``: its errors (selector keys and values, negative concurrency) are
    all CRD rules; the selector warning remains (§validation-proxyconfig)."""
    v = h.Issues()
    p.selector_without_labels(v, pc, "PC-01")
    return v


# --- EnvoyFilter --------------------------------------------------------------------------

_LISTENER_CLASS = ("LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER")
_ROUTE_CLASS = ("ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE")
_OBJECT_TYPES = ("listener", "routeConfiguration", "cluster", "waypoint")
_HCM = "envoy.filters.network.http_connection_manager"
_MAX_PROXY_VERSION = 1024
# xds.ReverseDeprecatedFilterNames (pkg/config/xds/deprecated.go): deprecated name -> canonical.
_DEPRECATED_NAMES = {
    "envoy.buffer": "envoy.filters.http.buffer", "envoy.cors": "envoy.filters.http.cors",
    "envoy.csrf": "envoy.filters.http.csrf", "envoy.http_dynamo_filter": "envoy.filters.http.dynamo",
    "envoy.fault": "envoy.filters.http.fault", "envoy.grpc_http1_bridge": "envoy.filters.http.grpc_http1_bridge",
    "envoy.grpc_json_transcoder": "envoy.filters.http.grpc_json_transcoder",
    "envoy.grpc_web": "envoy.filters.http.grpc_web", "envoy.gzip": "envoy.filters.http.gzip",
    "envoy.health_check": "envoy.filters.http.health_check", "envoy.ip_tagging": "envoy.filters.http.ip_tagging",
    "envoy.lua": "envoy.filters.http.lua", "envoy.rate_limit": "envoy.filters.http.ratelimit",
    "envoy.router": "envoy.filters.http.router", "envoy.squash": "envoy.filters.http.squash",
    "envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
    "envoy.listener.original_dst": "envoy.filters.listener.original_dst",
    "envoy.listener.original_src": "envoy.filters.listener.original_src",
    "envoy.listener.proxy_protocol": "envoy.filters.listener.proxy_protocol",
    "envoy.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
    "envoy.client_ssl_auth": "envoy.filters.network.client_ssl_auth",
    "envoy.http_connection_manager": _HCM, "envoy.mongo_proxy": "envoy.filters.network.mongo_proxy",
    "envoy.ratelimit": "envoy.filters.network.ratelimit", "envoy.redis_proxy": "envoy.filters.network.redis_proxy",
    "envoy.tcp_proxy": "envoy.filters.network.tcp_proxy",
}


def _deprecated_name(v: h.Issues, name: Any, path: FieldPath, http: bool) -> None:
    if not isinstance(name, str):
        return
    new = _DEPRECATED_NAMES.get(name)
    if name == "envoy.ext_authz":  # two canonical names map to it; the match's level tells which
        new = "envoy.filters.http.ext_authz" if http else "envoy.filters.network.ext_authz"
    if new:
        v.warn(path, "EF-09", f"using deprecated filter name {h.goq(name)}; use {h.goq(new)} instead")


# istiod before 1.19 matched a deprecated filter name against the canonical one (``nameMatches``
# in the EnvoyFilter listener patcher, removed by istio/istio#45675); a proxy of 1.16 or older is
# served only by such an istiod (the data plane runs at most two minor versions behind).
_LAST_MINOR_MATCHING_DEPRECATED_NAMES = 16
_PROBE_VERSIONS = tuple(f"1.{m}.{p}" for m in range(0, 41) for p in (0, 1, 2, 5, 9, 12)) + ("2.0.0", "2.1.3")


@functools.lru_cache(maxsize=1024)
def _old_proxies_only(version: str) -> bool:
    """Does ``match.proxy.proxyVersion`` select only proxies of Istio 1.16 or older (so the
    patch is applied by an istiod that still matches deprecated filter names)?  Go's
    ``MatchString`` is an unanchored search, as :func:`re.search`; a pattern Python cannot
    compile counts as matching any version."""
    try:
        rx = re.compile(version)
    except re.error:
        return False
    old = new = False
    for v in _PROBE_VERSIONS:
        if rx.search(v):
            minor = int(v.split(".")[1]) if v.startswith("1.") else 10_000
            if minor <= _LAST_MINOR_MATCHING_DEPRECATED_NAMES:
                old = True
            else:
                new = True
    return old and not new


def _only_old_proxies(version: Any) -> bool:
    return isinstance(version, str) and 0 < len(version) <= _MAX_PROXY_VERSION and _old_proxies_only(version)


def _listener_match(v: h.Issues, apply_to: str, match: dict[str, Any], path: FieldPath) -> None:
    listener = match.get("listener")
    if not isinstance(listener, dict):
        v.err(path, "EF-06", "Envoy filter: applyTo for listener class objects cannot have non listener match")
        return
    fpath = path + ("listener", "filterChain", "filter")
    flt = as_map(listener.get("filterChain")).get("filter")
    if not isinstance(flt, dict):
        return
    if apply_to in ("LISTENER", "FILTER_CHAIN"):
        v.warn(fpath, "EF-07", f"Envoy filter: filter match has no effect when used with {apply_to}")
    name = flt.get("name")
    sub = flt.get("subFilter")
    if not name:
        v.err(fpath, "EF-08", "Envoy filter: filter match has no name to match on")
        return
    if isinstance(sub, dict):
        if apply_to != "HTTP_FILTER":
            v.err(fpath + ("subFilter",), "EF-08", "Envoy filter: subfilter match can be used with applyTo HTTP_FILTER only")
            return
        if name not in (_HCM, "envoy.http_connection_manager"):
            v.err(fpath + ("name",), "EF-08", f"Envoy filter: subfilter match requires filter match with {_HCM}")
            return
        if not sub.get("name"):
            v.err(fpath + ("subFilter",), "EF-08", "Envoy filter: subfilter match has no name to match on")
            return
    if _only_old_proxies(as_map(match.get("proxy")).get("proxyVersion")):
        return  # matched by the istiod that serves these proxies (§envoyfilter-deprecated-names)
    _deprecated_name(v, name, fpath + ("name",), http=False)
    if isinstance(sub, dict):
        _deprecated_name(v, sub.get("name"), fpath + ("subFilter", "name"), http=True)


def validate_envoy_filter(ef: Resource) -> h.Issues:
    """``ValidateEnvoyFilter`` minus its CRD-duplicated errors and the unconditional "exposes
    internal implementation details" warning (§validation-envoyfilter)."""
    v = h.Issues()
    spec = ef.spec
    sel = spec.get("workloadSelector")
    if isinstance(sel, dict):
        labels = as_map(sel.get("labels"))
        bad = False
        for k, val in labels.items():
            if not isinstance(k, str):
                continue
            pair = h.goq(f"{k}={val if isinstance(val, str) else ''}")
            if k == "":
                v.err(("spec", "workloadSelector", "labels", k), "EF-01", f"empty key is not supported in selector: {pair}")
                bad = True
            if "*" in k:
                v.err(("spec", "workloadSelector", "labels", k), "EF-01", f"wildcard is not supported in selector: {pair}")
                bad = True
            elif isinstance(val, str) and "*" in val:
                bad = True  # the CRD's CEL rule on label values (IVL011); Go returns here too
        if bad:
            return v
        if not labels:
            v.warn(("spec", "workloadSelector"), "EF-02", "Envoy filter: workload selector specified without labels, "
                                                          "will be applied to all services in namespace")
    for i, cp in enumerate(as_list(spec.get("configPatches"))):
        if not isinstance(cp, dict):
            continue  # null or not a mapping: IVL010
        path: FieldPath = ("spec", "configPatches", i)
        match = cp.get("match")
        match = match if isinstance(match, dict) else None
        if match is not None and match.get("context") == "WAYPOINT":
            continue  # not validated by Istio yet
        apply_to = cp.get("applyTo")
        if apply_to in (None, "INVALID"):
            v.err(path + (("applyTo",) if "applyTo" in cp else ()), "EF-03", "Envoy filter: missing applyTo")
            continue
        patch = cp.get("patch")
        if not isinstance(patch, dict):
            v.err(path, "EF-04", "Envoy filter: missing patch")
            continue
        operation = patch.get("operation")
        if operation in (None, "INVALID"):
            v.err(path + ("patch",) + (("operation",) if "operation" in patch else ()), "EF-04",
                  "Envoy filter: missing patch operation")
            continue
        if operation != "REMOVE" and patch.get("value") is None:
            v.err(path + ("patch",), "EF-04", "Envoy filter: missing patch value for non-remove operation")
            continue
        version = as_map(as_map(match).get("proxy")).get("proxyVersion")
        if isinstance(version, str) and version:
            vpath = path + ("match", "proxy", "proxyVersion")
            if len(version) > _MAX_PROXY_VERSION:
                v.warn(vpath, "EF-05", f"Envoy filter: proxyVersion match exceeds {_MAX_PROXY_VERSION} characters "
                                       "and will be ignored")
            else:
                err = go_regexp_error(version)
                if err:
                    v.err(vpath, "EF-05", f"Envoy filter: invalid regex for proxy version, [{err}]")
                    continue
        if match is None or not any(match.get(k) is not None for k in _OBJECT_TYPES):
            continue
        mpath = path + ("match",)
        if apply_to in _LISTENER_CLASS:
            _listener_match(v, apply_to, match, mpath)
        elif apply_to in _ROUTE_CLASS and not isinstance(match.get("routeConfiguration"), dict):
            v.err(mpath, "EF-06", "Envoy filter: applyTo for http route class objects cannot have non route "
                                  "configuration match")
        elif apply_to == "CLUSTER" and not isinstance(match.get("cluster"), dict):
            v.err(mpath, "EF-06", "Envoy filter: applyTo for cluster class objects cannot have non cluster match")
    return v


# --- rules --------------------------------------------------------------------------------


@rule(
    code="IVL674", family="validation_extensions", scope="resource", name="telemetry-invalid", severity="error",
    summary="A Telemetry that Istio's validation rejects (a custom tracing tag without a name, a targetRef to a kind policies cannot attach to).",
    rationale="""
    Istio's admission webhook rejects a Telemetry whose `ValidateTelemetry` returns errors
    (docs/semantics.md §validation-telemetry; `istioctl analyze` IST0106). Most of its checks are
    also CRD rules (provider names, tag override values, the sampling percentage, custom tag
    values, one of selector/targetRef/targetRefs), reported by IVL010/IVL011; what only Istio's
    validation catches is a `customTags` entry with an empty name and a targetRef to a kind
    other than a Service, ServiceEntry, Gateway API Gateway or GatewayClass. A rejected
    Telemetry does not exist: the access logs, traces or metric changes it configures never
    reach a proxy.
    """,
    bad="""
    apiVersion: telemetry.istio.io/v1
    kind: Telemetry
    metadata: {name: ledger-tracing, namespace: ledger}
    spec:
      tracing:
      - providers: [{name: zipkin}]
        customTags:
          "":                        # tag name may not be empty
            literal: {value: vm}
    """,
    good="""
    apiVersion: telemetry.istio.io/v1
    kind: Telemetry
    metadata: {name: ledger-tracing, namespace: ledger}
    spec:
      tracing:
      - providers: [{name: zipkin}]
        customTags:
          platform:
            literal: {value: vm}
    """,
    inputs=("Telemetry",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-telemetry",),
)
def telemetry_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "Telemetry", validate_telemetry, "E")


@rule(
    code="IVL675", family="validation_extensions", scope="resource", name="telemetry-validation-warning", severity="warning",
    summary="A Telemetry that Istio accepts with a warning: several tracing entries or providers, an empty tag override name, a selector without labels.",
    rationale="""
    Istio warns (docs/semantics.md §validation-telemetry; `istioctl analyze` IST0133) when a
    Telemetry lists more than one `tracing` entry or more than one provider in one (only one is
    used, so the others are silently ignored), when a metric `tagOverrides` key is empty, and
    when a `selector` has no labels (the resource then applies to the whole namespace).
    """,
    bad="""
    apiVersion: telemetry.istio.io/v1
    kind: Telemetry
    metadata: {name: ledger-tracing, namespace: ledger}
    spec:
      tracing:
      - providers:
        - name: zipkin
        - name: otel                 # multiple providers is not currently supported
    """,
    good="""
    apiVersion: telemetry.istio.io/v1
    kind: Telemetry
    metadata: {name: ledger-tracing, namespace: ledger}
    spec:
      tracing:
      - providers:
        - name: otel
    """,
    inputs=("Telemetry",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-telemetry",),
)
def telemetry_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "Telemetry", validate_telemetry, "W")


@rule(
    code="IVL676", family="validation_extensions", scope="resource", name="envoy-filter-invalid", severity="error",
    summary="An EnvoyFilter that Istio's validation rejects (patch without applyTo, operation or value, a match that does not fit applyTo, a bad proxyVersion regex, selector keys).",
    rationale="""
    Istio's admission webhook rejects an EnvoyFilter whose `ValidateEnvoyFilter` returns errors
    (docs/semantics.md §validation-envoyfilter; `istioctl analyze` IST0106): a config patch
    without `applyTo`, without `patch` or `patch.operation`, or with an operation other than
    REMOVE and no `patch.value`; a `match` whose object type does not fit `applyTo` (listener
    class patches need a `listener` match, route class ones a `routeConfiguration`, CLUSTER a
    `cluster`); a filter match without a name, or a sub-filter match outside HTTP_FILTER or
    under a filter other than the HTTP connection manager; a `proxyVersion` that is not a valid
    regular expression; an empty or wildcard `workloadSelector` label key. A rejected
    EnvoyFilter does not exist, so the patch it carries is never applied. The decoding of
    `patch.value` into Envoy's types, which Istio also checks, is not done here.
    """,
    bad="""
    apiVersion: networking.istio.io/v1alpha3
    kind: EnvoyFilter
    metadata: {name: ledger-buffer, namespace: ledger}
    spec:
      workloadSelector:
        labels: {app: ledger}
      configPatches:
      - applyTo: HTTP_FILTER
        match:
          context: SIDECAR_INBOUND
          listener:
            filterChain:
              filter:
                name: envoy.filters.network.http_connection_manager
        patch:
          operation: INSERT_BEFORE   # missing patch value for non-remove operation
    """,
    good="""
    apiVersion: networking.istio.io/v1alpha3
    kind: EnvoyFilter
    metadata: {name: ledger-buffer, namespace: ledger}
    spec:
      workloadSelector:
        labels: {app: ledger}
      configPatches:
      - applyTo: HTTP_FILTER
        match:
          context: SIDECAR_INBOUND
          listener:
            filterChain:
              filter:
                name: envoy.filters.network.http_connection_manager
        patch:
          operation: INSERT_BEFORE
          value:
            name: envoy.filters.http.buffer
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer
              max_request_bytes: 1048576
    """,
    inputs=("EnvoyFilter",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-envoyfilter",),
)
def envoy_filter_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "EnvoyFilter", validate_envoy_filter, "E")


@rule(
    code="IVL677", family="validation_extensions", scope="resource", name="envoy-filter-validation-warning", severity="warning",
    summary="An EnvoyFilter that Istio accepts with a warning: a filter match ignored by LISTENER/FILTER_CHAIN, a deprecated filter name, a selector without labels.",
    rationale="""
    Istio warns (docs/semantics.md §validation-envoyfilter; `istioctl analyze` IST0133) when a
    `filterChain.filter` match is given to a LISTENER or FILTER_CHAIN patch (it has no effect
    there, so the patch applies to more than the author meant), when a match names a filter by
    its deprecated name (`envoy.http_connection_manager` instead of
    `envoy.filters.network.http_connection_manager`: since Istio 1.19 istiod compares only the
    canonical names, so the match never matches; a patch whose `match.proxy.proxyVersion`
    selects only proxies of 1.16 or older is not reported, since the istiod serving them still
    matches the old names, as in the stats filters of generated 1.6-1.8 install manifests), when `proxyVersion` is longer than 1024 characters (ignored), and
    when `workloadSelector` has no labels (applied to every workload of the namespace). Istio's
    unconditional warning that EnvoyFilter exposes implementation details is not repeated.
    """,
    bad="""
    apiVersion: networking.istio.io/v1alpha3
    kind: EnvoyFilter
    metadata: {name: ledger-buffer, namespace: ledger}
    spec:
      workloadSelector:
        labels: {app: ledger}
      configPatches:
      - applyTo: HTTP_FILTER
        match:
          listener:
            filterChain:
              filter:
                name: envoy.http_connection_manager   # deprecated filter name
        patch:
          operation: INSERT_BEFORE
          value: {name: envoy.filters.http.buffer}
    """,
    good="""
    apiVersion: networking.istio.io/v1alpha3
    kind: EnvoyFilter
    metadata: {name: ledger-buffer, namespace: ledger}
    spec:
      workloadSelector:
        labels: {app: ledger}
      configPatches:
      - applyTo: HTTP_FILTER
        match:
          listener:
            filterChain:
              filter:
                name: envoy.filters.network.http_connection_manager
        patch:
          operation: INSERT_BEFORE
          value: {name: envoy.filters.http.buffer}
    """,
    inputs=("EnvoyFilter",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-envoyfilter", "docs/semantics.md §envoyfilter-deprecated-names"),
)
def envoy_filter_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "EnvoyFilter", validate_envoy_filter, "W")


@rule(
    code="IVL678", family="validation_extensions", scope="resource", name="wasm-plugin-invalid", severity="error",
    summary="A WasmPlugin that Istio's validation rejects (duplicate vmConfig env names, a targetRef to a kind plugins cannot attach to).",
    rationale="""
    Istio's admission webhook rejects a WasmPlugin whose `ValidateWasmPlugin` returns errors
    (docs/semantics.md §validation-wasmplugin; `istioctl analyze` IST0106). The URL scheme, the
    sha256 format, name lengths, env values with `valueFrom: HOST` and port ranges are CRD rules
    (IVL010/IVL011); what only Istio's validation catches is two `vmConfig.env` entries with the
    same name and a targetRef to a kind other than a Service, ServiceEntry, Gateway API Gateway
    or GatewayClass. A rejected WasmPlugin does not exist: the plugin is loaded by no proxy.
    """,
    bad="""
    apiVersion: extensions.istio.io/v1alpha1
    kind: WasmPlugin
    metadata: {name: ledger-audit, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      url: oci://registry.example.com/wasm/audit:1.2.0
      vmConfig:
        env:
        - {name: AUDIT_LEVEL, value: full}
        - {name: AUDIT_LEVEL, value: basic}   # duplicate env
    """,
    good="""
    apiVersion: extensions.istio.io/v1alpha1
    kind: WasmPlugin
    metadata: {name: ledger-audit, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      url: oci://registry.example.com/wasm/audit:1.2.0
      vmConfig:
        env:
        - {name: AUDIT_LEVEL, value: full}
    """,
    inputs=("WasmPlugin",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-wasmplugin",),
)
def wasm_plugin_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "WasmPlugin", validate_wasm_plugin, "E")


_SELECTOR_KINDS = ("WasmPlugin", "ProxyConfig")
_SELECTOR_VALIDATORS = {"WasmPlugin": validate_wasm_plugin, "ProxyConfig": validate_proxy_config}


@rule(
    code="IVL679", family="validation_extensions", scope="resource", name="selector-without-labels-warning",
    severity="warning",
    summary="A WasmPlugin or ProxyConfig whose selector has no labels: Istio accepts it with a warning and applies it to the whole namespace.",
    rationale="""
    `validateWorkloadSelector`, which `ValidateWasmPlugin` and `ValidateProxyConfig` call
    (docs/semantics.md §validation-wasmplugin, §validation-proxyconfig; `istioctl analyze`
    IST0133), warns "workload selector specified without labels": an empty `selector` selects
    every workload of the namespace (of the mesh in the root namespace), so the plugin or proxy
    settings reach workloads they were not written for. Remove the empty selector to make that
    explicit, or give it the labels of the intended workloads. The same warning for the other
    policy kinds is part of their validation-warning rules.
    """,
    bad="""
    apiVersion: extensions.istio.io/v1alpha1
    kind: WasmPlugin
    metadata: {name: ledger-audit, namespace: ledger}
    spec:
      selector: {}                   # workload selector specified without labels
      url: oci://registry.example.com/wasm/audit:1.2.0
    """,
    good="""
    apiVersion: extensions.istio.io/v1alpha1
    kind: WasmPlugin
    metadata: {name: ledger-audit, namespace: ledger}
    spec:
      selector:
        matchLabels: {app: ledger}
      url: oci://registry.example.com/wasm/audit:1.2.0
    """,
    inputs=_SELECTOR_KINDS, equivalents=("IST0133",),
    references=("docs/semantics.md §validation-wasmplugin", "docs/semantics.md §validation-proxyconfig"),
)
def selector_without_labels_warning(ctx: Context) -> Iterator[Problem]:
    for kind in _SELECTOR_KINDS:
        yield from h.emit(ctx, kind, _SELECTOR_VALIDATORS[kind], "W")
