"""IVL61x: Istio's VirtualService validation (``ValidateVirtualService``), done on files.

Port of docs/semantics.md §validation-virtualservice (VS-01..VS-63).  Required fields, null list entries and
durations below 1ms are CRD rules (IVL010/IVL011); the legacy ``name.namespace`` gateway
warning of VS-05 is IVL745.  The unreachable/overlapping-match warnings (VS-63, istioctl
IST0130/IST0131) have their own code, IVL612.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h

UNREACHABLE = h.UNREACHABLE
CORS_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"}
GRPC_STATUS = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
               "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
               "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}
RETRY_ON = {"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx",
            "refused-stream", "retriable-status-codes", "retriable-headers", "envoy-ratelimited",
            "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted",
            "unavailable"}
# net/http StatusText: the status codes Go knows (retryOn accepts these numbers).
HTTP_STATUS = {100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305,
               307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417,
               418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508,
               510, 511}


# --- routes -----------------------------------------------------------------------------


def _string_match(v: h.Issues, sm: Any, where: str, path: FieldPath, allow_empty_prefix: bool = False) -> None:
    """``validateStringMatch`` / ``validateStringMatchRegexp`` (VS-28/VS-29)."""
    if not isinstance(sm, dict):
        return
    if ("prefix" in sm and not allow_empty_prefix and "exact" not in sm and "regex" not in sm
            and h.get_str(sm, "prefix") == ""):
        v.err(path + ("prefix",), "VS-28", f"{h.goq(where)}: prefix string match should not be empty")
    if "regex" in sm and "exact" not in sm and "prefix" not in sm:
        _regex(v, sm.get("regex"), where, path + ("regex",))


def _regex(v: h.Issues, value: Any, where: str, path: FieldPath) -> None:
    if not isinstance(value, str):
        return
    if value == "":
        v.err(path, "VS-29", f"{h.goq(where)}: regex string match should not be empty")
    else:
        v.err(path, "VS-29", h.string_regexp_error(value, where))


def _header_ops(v: h.Issues, headers: Any, path: FieldPath) -> None:
    """Header manipulation of a route or destination (VS-32)."""
    hm = as_map(headers)
    if not hm:
        return  # most routes and destinations: nothing to check
    for side in ("request", "response"):
        ops = as_map(hm.get(side))
        for op in ("add", "set"):
            for name, val in as_map(ops.get(op)).items():
                if not isinstance(name, str):
                    continue
                p = path + (side, op, name)
                if side == "request":
                    v.err(p, "VS-32", h.header_add_set_name_error(name))
                else:
                    v.err(p, "VS-32", h.header_op_name_error(name))
                if isinstance(val, str):
                    v.err(p, "VS-32", h.header_value_error(val))
        for i, name in enumerate(as_list(ops.get("remove"))):
            if isinstance(name, str):
                v.err(path + (side, "remove", i), "VS-32", h.header_op_name_error(name))


def _destination(v: h.Issues, dest: Any, path: FieldPath) -> None:
    """``validateDestination`` (VS-57)."""
    if not isinstance(dest, dict):
        return
    host = dest.get("host")
    if isinstance(host, str):
        if host == "*":
            v.err(path + ("host",), "VS-57", f"invalid destination host {host}")
        else:
            v.err(path + ("host",), "VS-57", h.wildcard_domain_error(host))
    subset = dest.get("subset")
    if isinstance(subset, str) and subset and not h.is_dns_label(subset):
        v.err(path + ("subset",), "VS-57", f"subset name is invalid: {subset}")
    port = dest.get("port")
    if isinstance(port, dict):
        num = h.get_int(port, "number")
        if num is None and port.get("number") is None:
            num = 0
        if num is not None and num >= 0:  # negative: OpenAPI minimum
            v.err(path + ("port", "number") if "number" in port else path + ("port",), "VS-57", h.port_error(num))


def _route_destinations(v: h.Issues, routes: list[Any], path: FieldPath, gateway_semantics: bool, http: bool) -> None:
    """``validateHTTPRouteDestinations`` / ``validateRouteDestinations`` (VS-56/VS-57)."""
    total = 0
    for i, rd in enumerate(routes):
        if not isinstance(rd, dict):
            continue  # null: OpenAPI type (IVL010)
        p = path + (i,)
        # missing destination: OpenAPI "required" (IVL010)
        if http:
            _header_ops(v, rd.get("headers"), p + ("headers",))
        if not gateway_semantics:
            _destination(v, rd.get("destination"), p + ("destination",))
        w = h.get_int(rd, "weight") or 0
        if w < 0:
            v.err(p + ("weight",), "VS-56", f"weight {w} < 0")
        total += w
    if len(routes) > 1 and total == 0:
        v.err(path, "VS-56", "total destination weight = 0")


def _percentage(v: h.Issues, pct: Any, path: FieldPath) -> None:
    """``validatePercentage`` (VS-37)."""
    if not isinstance(pct, dict):
        return
    val = h.get_num(pct, "value") or 0.0
    if val < 0.0 or val > 100.0 or (0.0 < val < 0.0001):
        v.err(path, "VS-37", f"percentage {h.gofloat(val)} is neither 0.0, nor in range [0.0001, 100.0]")


def _http_route(v: h.Issues, r: dict[str, Any], p: FieldPath, delegate_vs: bool, gateway_semantics: bool) -> None:
    name = h.get_str(r, "name")
    redirect, direct, route = r.get("redirect"), r.get("directResponse"), r.get("route")
    has_route = isinstance(route, list) and len(route) > 0
    # route conflicts (VS-14..VS-25)
    if not delegate_vs and r.get("delegate") is not None:
        if redirect is not None:
            v.err(p + ("redirect",), "VS-14", f"root HTTP route {name} must not specify redirect")
        if has_route:  # an empty list decodes to nil in Go
            v.err(p + ("route",), "VS-15", f"root HTTP route {name} must not specify route")
    else:
        if delegate_vs and r.get("delegate") is not None:
            v.err(p + ("delegate",), "VS-16", "delegate HTTP route cannot contain delegate")
        if redirect is not None:
            if has_route:
                v.err(p + ("route",), "VS-17", "HTTP route cannot contain both route and redirect")
            if r.get("fault") is not None:
                v.err(p + ("fault",), "VS-18", "HTTP route cannot contain both fault and redirect")
            if r.get("rewrite") is not None:
                v.err(p + ("rewrite",), "VS-19", "HTTP route rule cannot contain both rewrite and redirect")
            if direct is not None:
                v.err(p + ("directResponse",), "VS-20", "HTTP route rule cannot contain both direct_response and redirect")
        elif direct is not None:
            if has_route:
                v.err(p + ("route",), "VS-21", "HTTP route cannot contain both route and direct_response")
            if r.get("fault") is not None:
                v.err(p + ("fault",), "VS-22", "HTTP route cannot contain both fault and direct_response")
            if r.get("rewrite") is not None:
                v.err(p + ("rewrite",), "VS-23", "HTTP route rule cannot contain both rewrite and direct_response")
        elif not has_route:
            v.err(p, "VS-24", "HTTP route, redirect or direct_response is required")
        if r.get("mirror") is not None and as_list(r.get("mirrors")):
            v.err(p + ("mirrors",), "VS-25", "HTTP route cannot contain both mirror and mirrors")

    matches = as_list(r.get("match"))
    for j, m in enumerate(matches):
        if not isinstance(m, dict):
            continue
        mp = p + ("match", j)
        for hname, hm in as_map(m.get("headers")).items():
            if not isinstance(hname, str):
                continue
            v.err(mp + ("headers", hname), "VS-27", h.match_header_name_error(hname))
            _string_match(v, hm, "headers", mp + ("headers", hname))
        for hname, hm in as_map(m.get("withoutHeaders")).items():
            if not isinstance(hname, str):
                continue
            v.err(mp + ("withoutHeaders", hname), "VS-27", h.match_header_name_error(hname))
            if not (isinstance(hm, dict) and hm.get("regex") == "*"):
                _string_match(v, hm, "withoutHeaders", mp + ("withoutHeaders", hname))
        uri = m.get("uri")
        if isinstance(uri, dict) and "regex" in uri and "exact" not in uri and "prefix" not in uri:
            _regex(v, uri.get("regex"), "uri", mp + ("uri", "regex"))
        for key in ("scheme", "method", "authority"):
            _string_match(v, m.get(key), key, mp + (key,))
        for qname, qm in as_map(m.get("queryParams")).items():
            _string_match(v, qm, "queryParams", mp + ("queryParams", qname))
    for j, m in enumerate(matches):
        if not isinstance(m, dict):
            continue
        mp = p + ("match", j)
        _l4_match_common(v, m, mp)
        sn = m.get("sourceNamespace")
        if isinstance(sn, str) and sn and not h.is_dns_label(sn):
            v.err(mp + ("sourceNamespace",), "VS-31", f"sourceNamespace match {sn} is invalid")

    _header_ops(v, r.get("headers"), p + ("headers",))
    _cors(v, r.get("corsPolicy"), p + ("corsPolicy",))
    _fault(v, r.get("fault"), p + ("fault",))

    mpct = r.get("mirrorPercent")
    if mpct is not None:
        val = h.wrapped_num(r, "mirrorPercent")
        if val is not None and val > 100:
            shown = h.gov(int(val)) if math.isfinite(val) else h.gofloat(val)
            v.err(p + ("mirrorPercent",), "VS-39", f"mirror_percent must have a max value of 100 (it has {shown})")
        v.warn(p + ("mirrorPercent",), "VS-39", 'using deprecated setting "mirrorPercent", use "mirrorPercentage" instead')
    mp_ = r.get("mirrorPercentage")
    if isinstance(mp_, dict):
        val = h.get_num(mp_, "value") or 0.0
        if val > 100:
            v.err(p + ("mirrorPercentage",), "VS-40", f"mirror_percentage must have a max value of 100 (it has {h.gofloat_f(val)})")
        if val < 0:
            v.err(p + ("mirrorPercentage",), "VS-40", f"mirror_percentage must have a min value of 0 (it has {h.gofloat_f(val)})")
    _destination(v, r.get("mirror"), p + ("mirror",))
    for j, mirror in enumerate(as_list(r.get("mirrors"))):
        if not isinstance(mirror, dict) or not isinstance(mirror.get("destination"), dict):
            continue  # null mirror / missing destination: OpenAPI (IVL010)
        mp = p + ("mirrors", j)
        _destination(v, mirror["destination"], mp + ("destination",))
        pct = mirror.get("percentage")
        if isinstance(pct, dict):
            val = h.get_num(pct, "value") or 0.0
            if val > 100:
                v.err(mp + ("percentage",), "VS-58", f"mirror percentage must have a max value of 100 (it has {h.gofloat_f(val)})")
            if val < 0:
                v.err(mp + ("percentage",), "VS-58", f"mirror percentage must have a min value of 0 (it has {h.gofloat_f(val)})")
    _redirect(v, redirect, matches, p + ("redirect",))
    _direct_response(v, direct, p + ("directResponse",))
    _retries(v, r.get("retries"), p + ("retries",))
    _rewrite(v, r.get("rewrite"), p + ("rewrite",))
    _authority_rewrite(v, r, p)
    _route_destinations(v, as_list(route), p + ("route",), gateway_semantics, http=True)
    if r.get("timeout") is not None:
        v.errs(p + ("timeout",), "VS-59", h.duration_errors(r["timeout"]))


def _l4_match_common(v: h.Issues, m: dict[str, Any], mp: FieldPath) -> None:
    """Port, sourceLabels and gateways of a match (VS-30)."""
    port = h.get_int(m, "port")
    if port:
        v.err(mp + ("port",), "VS-30", h.port_error(port))
    for key, msg in h.label_errors(as_map(m.get("sourceLabels"))):
        v.err(mp + ("sourceLabels", key), "VS-30", msg)
    h.gateway_names(v, as_list(m.get("gateways")), mp + ("gateways",), False)


def _cors(v: h.Issues, cors: Any, p: FieldPath) -> None:
    """``validateCORSPolicy`` (VS-33..VS-35)."""
    if not isinstance(cors, dict):
        return
    for i, origin in enumerate(as_list(cors.get("allowOrigins"))):
        if not isinstance(origin, dict):
            continue
        op = p + ("allowOrigins", i)
        value = ""
        for key in ("exact", "prefix", "regex"):
            if key in origin:
                value = h.get_str(origin, key)
                break
        if value == "":
            v.err(op, "VS-33", f"'{value}' is not a valid match type for CORS allow origins")
            continue
        if "regex" in origin and "exact" not in origin and "prefix" not in origin:
            v.err(op + ("regex",), "VS-33", h.string_regexp_error(value, "corsPolicy.allowOrigins"))
    for i, method in enumerate(as_list(cors.get("allowMethods"))):
        if isinstance(method, str) and method not in CORS_METHODS:
            v.err(p + ("allowMethods", i), "VS-34", f"{h.goq(method)} is not a supported HTTP method")
    for key in ("allowHeaders", "exposeHeaders"):
        for i, name in enumerate(as_list(cors.get(key))):
            if isinstance(name, str):
                v.err(p + (key, i), "VS-35", h.cors_header_name_error(name))
    if cors.get("maxAge") is not None:
        v.errs(p + ("maxAge",), "VS-35", h.duration_errors(cors["maxAge"]))
        ns = h.parse_duration(cors["maxAge"])
        if ns is not None and ns % 1_000_000_000 > 0:
            v.err(p + ("maxAge",), "VS-35", "max_age duration is accurate only to seconds precision")


def _fault(v: h.Issues, fault: Any, p: FieldPath) -> None:
    """``validateHTTPFaultInjection`` (VS-36..VS-38)."""
    if not isinstance(fault, dict):
        return
    abort, delay = fault.get("abort"), fault.get("delay")
    if abort is None and delay is None:
        v.err(p, "VS-36", "HTTP fault injection must have an abort and/or a delay")
    if isinstance(abort, dict):
        ap = p + ("abort",)
        _percentage(v, abort.get("percentage"), ap + ("percentage",))
        if "grpcStatus" in abort:
            status = h.get_str(abort, "grpcStatus")
            if status not in GRPC_STATUS:
                v.err(ap + ("grpcStatus",), "VS-37",
                      f"gRPC status {h.goq(status)} is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md "
                      "for a list of supported codes, for example 'NOT_FOUND'")
        elif "http2Error" in abort:
            v.err(ap + ("http2Error",), "VS-37", "HTTP/2 abort fault injection not supported yet")
        elif "httpStatus" in abort:
            http_status = h.get_int(abort, "httpStatus")
            if http_status is not None and (http_status < 200 or http_status > 600):
                v.err(ap + ("httpStatus",), "VS-37", f"HTTP status {http_status} is not in range 200-599")
        # no error type: a warning Go drops (§webhook-validation)
    if isinstance(delay, dict):
        dp = p + ("delay",)
        _percentage(v, delay.get("percentage"), dp + ("percentage",))
        if delay.get("fixedDelay") is not None:
            v.errs(dp + ("fixedDelay",), "VS-38", h.duration_errors(delay["fixedDelay"]))
        elif delay.get("exponentialDelay") is not None:
            v.errs(dp + ("exponentialDelay",), "VS-38", h.duration_errors(delay["exponentialDelay"]))
            v.err(dp + ("exponentialDelay",), "VS-38", "exponentialDelay not supported yet")


def _redirect(v: h.Issues, redirect: Any, matches: list[Any], p: FieldPath) -> None:
    """``validateHTTPRedirect`` (VS-41..VS-46): only the first failing check is reported."""
    if not isinstance(redirect, dict):
        return
    uri, prefix = h.get_str(redirect, "uri"), h.get_str(redirect, "prefixRewrite")
    if uri and prefix:
        v.err(p + ("prefixRewrite",), "VS-41", "redirect may only specify one of uri or prefix_rewrite")
        return
    if prefix:
        for m in matches:
            u = as_map(m).get("uri") if isinstance(m, dict) else None
            if u is not None and not (isinstance(u, dict) and "prefix" in u):
                v.err(p + ("prefixRewrite",), "VS-42", "redirect prefix_rewrite requires all URI matches to use prefix match type")
                return
    if not uri and not prefix and not h.get_str(redirect, "authority") and redirect.get("port") is None \
            and redirect.get("derivePort") is None and not h.get_str(redirect, "scheme"):
        v.err(p, "VS-43", "redirect must specify URI, authority, scheme, or port")
        return
    code = h.get_int(redirect, "redirectCode")
    if code and (code < 300 or code > 399):
        v.err(p + ("redirectCode",), "VS-44", f"{code} is not a valid redirect code, must be 3xx")
        return
    scheme = h.get_str(redirect, "scheme")
    if scheme and scheme not in ("http", "https"):
        v.err(p + ("scheme",), "VS-45", 'invalid redirect scheme, must be "http" or "https"')
        return
    port = h.get_int(redirect, "port")
    if port is not None and port > 0:
        v.err(p + ("port",), "VS-46", h.port_error(port))


def _direct_response(v: h.Issues, direct: Any, p: FieldPath) -> None:
    """``validateHTTPDirectResponse`` (VS-47/VS-48)."""
    if not isinstance(direct, dict):
        return
    body = as_map(direct.get("body"))
    size = 0
    if isinstance(body.get("string"), str):
        size = len(body["string"].encode("utf-8", "surrogatepass"))
    elif isinstance(body.get("bytes"), str):
        size = len(body["bytes"]) * 3 // 4  # base64
    if size > 1024 * 1024:
        v.err(p + ("body",), "VS-47", "large direct_responses may impact control plane performance, must be less than 1MB")
    elif size > 100 * 1024:
        v.warn(p + ("body",), "VS-47", "large direct_responses may impact control plane performance")
    status = h.get_int(direct, "status")
    if status is not None and (status < 200 or status > 600):
        v.err(p + ("status",), "VS-48", f"HTTP status {status} is not in range 200-599")


def _retries(v: h.Issues, retries: Any, p: FieldPath) -> None:
    """``ValidateHTTPRetry`` (VS-49..VS-51)."""
    if not isinstance(retries, dict):
        return
    attempts = h.get_int(retries, "attempts") or 0
    if attempts < 0:
        v.err(p + ("attempts",), "VS-49", "attempts cannot be negative")
    retry_on = h.get_str(retries, "retryOn")
    if attempts == 0 and (retries.get("perTryTimeout") is not None or retry_on
                          or retries.get("retryRemoteLocalities") is not None):
        v.err(p + ("attempts",) if "attempts" in retries else p, "VS-50",
              "http retry policy configured when attempts are set to 0 (disabled)")
    if retries.get("perTryTimeout") is not None:
        v.errs(p + ("perTryTimeout",), "VS-51", h.duration_errors(retries["perTryTimeout"]))
    if retry_on:
        for policy in retry_on.split(","):
            code = int(policy) if h._atoi_ok(policy) else 0
            if code not in HTTP_STATUS and policy not in RETRY_ON:
                v.err(p + ("retryOn",), "VS-51", f"{h.goq(policy)} is not a valid retryOn policy")
    if retries.get("backoff") is not None:
        v.errs(p + ("backoff",), "VS-51", h.duration_errors(retries["backoff"]))


def _rewrite(v: h.Issues, rewrite: Any, p: FieldPath) -> None:
    """``validateHTTPRewrite`` (VS-52..VS-54)."""
    if not isinstance(rewrite, dict):
        return
    uri = h.get_str(rewrite, "uri")
    rr = rewrite.get("uriRegexRewrite")
    if uri and rr is not None:
        v.err(p + ("uriRegexRewrite",), "VS-52", "rewrite may only contain one of URI or UriRegexRewrite")
        return
    if not uri and rr is None and not h.get_str(rewrite, "authority"):
        v.err(p, "VS-53", "rewrite must specify at least one of URI, UriRegexRewrite, or authority. "
                          "Only one of URI or UriRegexRewrite may be specified")
        return
    if isinstance(rr, dict):
        match, repl = h.get_str(rr, "match"), h.get_str(rr, "rewrite")
        if not match or not repl:
            err: Optional[str] = "UriRegexRewrite requires both Rewrite and Match fields to be specified"
        else:
            err = h.string_regexp_error(match, "HTTPRewrite.UriRegexRewrite.Match")
        if err:
            # errors.Join prints its errors on separate lines; one line here.
            v.err(p + ("uriRegexRewrite",), "VS-54", f"UriRegexRewrite has errors; {err}")


def _authority_rewrite(v: h.Issues, r: dict[str, Any], p: FieldPath) -> None:
    """``validateAuthorityRewrite`` (VS-55)."""
    current = h.get_str(as_map(r.get("rewrite")), "authority")
    request = as_map(as_map(r.get("headers")).get("request"))
    for op in ("set", "add"):
        for k, val in as_map(request.get(op)).items():
            if not isinstance(k, str) or k.lower() not in ("host", ":authority"):
                continue
            sval = val if isinstance(val, str) else ""
            if current:
                v.err(p + ("headers", "request", op, k), "VS-55",
                      f"authority header cannot be set multiple times: have {h.goq(current)}, attempting to set {h.goq(sval)}")
                return
            current = sval


def _tls_route(v: h.Issues, tls: dict[str, Any], p: FieldPath, hosts: list[str], gateway_bound: bool,
               gateway_semantics: bool) -> None:
    """``validateTLSRoute`` (VS-60/VS-61)."""
    matches = tls.get("match")
    if isinstance(matches, list) and not matches:  # absent: OpenAPI "required"
        v.err(p + ("match",), "VS-60", "TLS route must have at least one match condition")
    for j, m in enumerate(as_list(matches)):
        if not isinstance(m, dict):
            continue  # null match: OpenAPI type (IVL010)
        mp = p + ("match", j)
        sni = m.get("sniHosts")
        if isinstance(sni, list) and not sni:  # absent: OpenAPI "required"
            v.err(mp + ("sniHosts",), "VS-60", "TLS match must have at least one SNI host")
        for k, s in enumerate(as_list(sni)):
            if isinstance(s, str):
                _sni_host(v, s, mp + ("sniHosts", k), hosts, gateway_bound)
        for k, subnet in enumerate(as_list(m.get("destinationSubnets"))):
            if isinstance(subnet, str):
                v.err(mp + ("destinationSubnets", k), "VS-61", h.subnet_error(subnet))
        _l4_match_common(v, m, mp)
    if not as_list(tls.get("route")):
        v.err(p, "VS-60", "TLS route is required")
    _route_destinations(v, as_list(tls.get("route")), p + ("route",), gateway_semantics, http=False)


def _sni_host(v: h.Issues, sni: str, p: FieldPath, hosts: list[str], gateway_bound: bool) -> None:
    err = h.gateway_bound_host_error(True, sni) if gateway_bound else h.wildcard_domain_error(sni)
    if err:
        if h.is_ip(sni):
            v.warn(p, "VS-61", f"using an IP address ({h.goq(sni)}) goes against SNI spec and most clients do not support this")
        else:
            v.err(p, "VS-61", err)
        return
    if any(h.name_subset_of(sni, x) for x in hosts):
        return
    v.err(p, "VS-61", f"SNI host {h.goq(sni)} is not a compatible subset of any of the virtual service hosts: [{', '.join(hosts)}]")


def _tcp_route(v: h.Issues, tcp: dict[str, Any], p: FieldPath, gateway_semantics: bool) -> None:
    """``validateTCPRoute`` (VS-62)."""
    for j, m in enumerate(as_list(tcp.get("match"))):
        if not isinstance(m, dict):
            continue  # null match: OpenAPI type (IVL010)
        mp = p + ("match", j)
        for k, subnet in enumerate(as_list(m.get("destinationSubnets"))):
            if isinstance(subnet, str):
                v.err(mp + ("destinationSubnets", k), "VS-62", h.subnet_error(subnet))
        _l4_match_common(v, m, mp)
    if not as_list(tcp.get("route")):
        v.err(p, "VS-62", "TCP route is required")
    _route_destinations(v, as_list(tcp.get("route")), p + ("route",), gateway_semantics, http=False)


# --- the resource ---------------------------------------------------------------------------


def validate(vs: Resource) -> h.Issues:
    """``ValidateVirtualService`` (§validation-virtualservice)."""
    return _validate(vs, True)


@h.errors_only(validate)
def validate_errors(vs: Resource) -> h.Issues:
    """:func:`validate` without the unreachable rules (VS-63: warnings only)."""
    return _validate(vs, False)


def _validate(vs: Resource, unreachable: bool) -> h.Issues:
    v = h.Issues()
    spec = vs.spec
    hosts_raw = as_list(spec.get("hosts"))
    hosts = [x for x in hosts_raw if isinstance(x, str)]
    gateways = as_list(spec.get("gateways"))
    http_routes, tls_routes, tcp_routes = as_list(spec.get("http")), as_list(spec.get("tls")), as_list(spec.get("tcp"))
    delegate = not hosts_raw
    if delegate:
        if gateways:
            v.err(("spec", "gateways"), "VS-01", "delegate virtual service must have no gateways specified")
        if tls_routes:
            v.err(("spec", "tls"), "VS-02", "delegate virtual service must have no tls route specified")
        if tcp_routes:
            v.err(("spec", "tcp"), "VS-03", "delegate virtual service must have no tcp route specified")
    gateway_semantics = vs.annotations.get("internal.istio.io/route-semantics") == "gateway"
    to_gateway = False
    if gateways:
        h.gateway_names(v, gateways, ("spec", "gateways"), gateway_semantics)
        to_gateway = "mesh" not in gateways
    to_mesh = not to_gateway
    if not to_gateway:
        gw_text = h.gov([g for g in gateways if isinstance(g, str)])
        for i, r in enumerate(http_routes):
            for j, m in enumerate(as_list(as_map(r).get("match"))):
                for key in ("headers", "withoutHeaders"):
                    for name in as_map(as_map(m).get(key)):
                        if isinstance(name, str) and h.is_jwt_claim(name):
                            v.err(("spec", "http", i, "match", j, key, name), "VS-06",
                                  f"JWT claim based routing (key: {name}) is only supported for gateway, found no gateways: {gw_text}")
    sni = any(as_list(as_map(m).get("sniHosts")) for t in tls_routes for m in as_list(as_map(t).get("match")))
    all_valid = True
    for i, host in enumerate(hosts_raw):
        if not isinstance(host, str):
            continue
        err = h.gateway_bound_host_error(sni, host) if to_gateway else h.wildcard_domain_error(host)
        if err:
            if not h.is_ip(host):
                v.err(("spec", "hosts", i), "VS-08" if to_gateway else "VS-07", err)
                all_valid = False
        elif to_mesh and host == "*":
            v.err(("spec", "hosts", i), "VS-09", "wildcard host * is not allowed for virtual services bound to the mesh gateway")
            all_valid = False
    if all_valid:
        for i, a in enumerate(hosts):
            for j in range(i + 1, len(hosts)):
                if h.name_matches(a, hosts[j]):
                    v.err(("spec", "hosts", j), "VS-10", f"duplicate hosts in virtual service: {a} & {hosts[j]}")
    if not http_routes and not tcp_routes and not tls_routes:
        v.err(("spec",), "VS-11", "http, tcp or tls must be provided in virtual service")
    for i, r in enumerate(http_routes):
        if isinstance(r, dict):  # null: OpenAPI type (IVL010)
            _http_route(v, r, ("spec", "http", i), delegate, gateway_semantics)
    for i, r in enumerate(tls_routes):
        if isinstance(r, dict):
            _tls_route(v, r, ("spec", "tls", i), hosts, to_gateway, gateway_semantics)
    for i, r in enumerate(tcp_routes):
        if isinstance(r, dict):
            _tcp_route(v, r, ("spec", "tcp", i), gateway_semantics)
    h.export_to_issues(v, spec.get("exportTo"), vs.namespace, ("spec", "exportTo"), "VS-13")
    if unreachable:
        h.unreachable_routes(v, "http", http_routes)
        h.unreachable_routes(v, "tcp", tcp_routes)
        h.unreachable_routes(v, "tls", tls_routes)
    return v


@rule(
    code="IVL610", family="validation_virtualservice", scope="resource", name="virtual-service-invalid", severity="error",
    summary="A VirtualService breaks Istio's validation and would be rejected by the admission webhook.",
    rationale="""
    Port of Istio's `ValidateVirtualService` (docs/semantics.md §validation-virtualservice,
    VS-01..VS-62): delegate restrictions, gateway reference syntax, host syntax and duplicates,
    `*` on mesh-bound services, conflicting route actions (route + redirect, directResponse +
    fault...), header names and values (including Envoy `%VAR%` syntax), string matches (empty
    prefixes, RE2 regexes), CORS, fault injection, mirrors, redirects, retries, rewrites,
    destination hosts/subsets/ports, weights and TLS/TCP route matches (SNI hosts must be a
    subset of the VirtualService hosts). The webhook rejects the object (`istioctl analyze`
    IST0106). Regex errors reproduce Go's `regexp/syntax` messages for the common cases.
    Required fields, null entries and durations below 1ms are the schema rules'
    (IVL010/IVL011).
    """,
    bad="""
    kind: VirtualService
    spec:
      hosts: [whoami.vm.svc.cluster.local]
      http:
      - redirect: {uri: /v2}
        route:
        - destination: {host: whoami.vm.svc.cluster.local}
    """,
    good="""
    kind: VirtualService
    spec:
      hosts: [whoami.vm.svc.cluster.local]
      http:
      - route:
        - destination: {host: whoami.vm.svc.cluster.local}
    """,
    inputs=("VirtualService",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-virtualservice",),
)
def virtual_service_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "VirtualService", validate, "E")


@rule(
    code="IVL611", family="validation_virtualservice", scope="resource", name="virtual-service-validation-warning", severity="warning",
    summary="A VirtualService gets an Istio validation warning (deprecated mirrorPercent, IP SNI host, large body).",
    rationale="""
    The warnings of Istio's VirtualService validation other than unreachable rules
    (docs/semantics.md §validation-virtualservice): the deprecated `mirrorPercent` (VS-39), an IP address used as a
    TLS `sniHosts` entry, which goes against the SNI specification (VS-61), and a
    `directResponse` body above 100 KiB (VS-47). `kubectl apply` prints them as admission
    warnings, `istioctl analyze` as IST0133. The legacy `name.namespace` gateway warning (VS-05)
    is IVL745, unreachable rules are IVL612.
    """,
    bad="""
    http:
    - mirror: {host: shadow.vm.svc.cluster.local}
      mirrorPercent: 10
    """,
    good="""
    http:
    - mirror: {host: shadow.vm.svc.cluster.local}
      mirrorPercentage: {value: 10}
    """,
    inputs=("VirtualService",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-virtualservice",),
)
def virtual_service_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "VirtualService", validate, "W", exclude=(UNREACHABLE,))


@rule(
    code="IVL612", family="validation_virtualservice", scope="resource", name="virtual-service-unreachable-rule", severity="warning",
    summary="A VirtualService route or match can never be used because an earlier one already catches its traffic.",
    rationale="""
    Routes are evaluated in order and the first match wins. A rule after a rule without
    `match`, a match identical to an earlier one (ignoring its name), or an HTTP `uri.prefix`
    match covered by an earlier, shorter prefix with compatible port, method, authority,
    headers and query parameters is dead configuration, usually a mis-ordering that sends
    traffic to the wrong destination (docs/semantics.md §validation-virtualservice-matches VS-63; istioctl IST0130 for
    unused rules, IST0131 for ineffective matches). The finding points at the unused rule or
    match and uses Istio's message.
    """,
    bad="""
    http:
    - route: [{destination: {host: whoami}}]
    - match: [{uri: {prefix: /v2}}]          # never reached
      route: [{destination: {host: whoami-v2}}]
    """,
    good="""
    http:
    - match: [{uri: {prefix: /v2}}]
      route: [{destination: {host: whoami-v2}}]
    - route: [{destination: {host: whoami}}]
    """,
    inputs=("VirtualService",), equivalents=("IST0130",),
    references=("docs/semantics.md §validation-virtualservice-matches",),
)
def virtual_service_unreachable_rule(ctx: Context) -> Iterator[Problem]:
    return (p for p in h.emit(ctx, "VirtualService", validate, "W", only=(UNREACHABLE,)) if not _is_match_level(p))


def _is_match_level(p: Problem) -> bool:
    """Istio words a dead *match* "rule R match M is not used"; a dead *rule* "rule R not used"."""
    return " match " in p.message and " is not used " in p.message


@rule(
    code="IVL613", family="validation_virtualservice", scope="resource", name="virtual-service-ineffective-match", severity="warning",
    summary="A match inside a VirtualService route can never apply because an earlier match already catches it.",
    rationale="""
    The match-level half of VS-63 (docs/semantics.md §validation-virtualservice-matches; istioctl IST0131): a match that
    duplicates an earlier one, or an HTTP `uri.prefix` match covered by an earlier, shorter
    prefix with compatible port, method, authority, headers and query parameters. The route
    may still be used through its other matches, but this one is dead and usually hides a
    mis-ordering. IVL612 reports whole rules that can never be used.
    """,
    bad="""
    http:
    - match: [{uri: {prefix: /api}}]
      route: [{destination: {host: whoami}}]
    - match: [{uri: {prefix: /api/v2}}, {uri: {prefix: /v2}}]   # the first match is dead
      route: [{destination: {host: whoami-v2}}]
    """,
    good="""
    http:
    - match: [{uri: {prefix: /api/v2}}, {uri: {prefix: /v2}}]
      route: [{destination: {host: whoami-v2}}]
    - match: [{uri: {prefix: /api}}]
      route: [{destination: {host: whoami}}]
    """,
    inputs=("VirtualService",), equivalents=("IST0131",),
    references=("docs/semantics.md §validation-virtualservice-matches",),
)
def virtual_service_ineffective_match(ctx: Context) -> Iterator[Problem]:
    return (p for p in h.emit(ctx, "VirtualService", validate, "W", only=(UNREACHABLE,)) if _is_match_level(p))
