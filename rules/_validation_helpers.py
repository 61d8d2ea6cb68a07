"""Shared helpers for the IVL6xx Istio-validation parity rules (``rules/validation_*.py``).

The rules port Istio's Go config validation (``pkg/config/validation``, documented rule by rule
in ``shared/reference/istio-validation.md``; ``H-`` ids below are its §1 helpers) so that a
repository gets the same IST0106 errors and IST0133 warnings as the admission webhook and
``istioctl analyze``, with the same message text, but pointed at the exact field.

Design:

* A kind's validator walks one resource once and returns a list of :class:`Issue`
  (level ``E``/``W``, field path, message, reference rule id).  The result is cached per
  resource, so the error rule, the warning rule and any dedicated rule of that kind share one
  pass.
* Checks whose condition is *identical* to a CRD OpenAPI/CEL constraint are left to the schema
  rules (IVL010/IVL011) so one mistake is reported once; ``docs/validation-coverage.md`` lists
  them.  Where Go validation is stricter than the CRD only the stricter part is reported here.
* Everything is type-tolerant: a field of the wrong type is skipped (IVL010 reports it).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context

# --- issues -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    level: str  # "E" (webhook rejects, IST0106) or "W" (admission warning, IST0133)
    path: FieldPath
    message: str
    rid: str  # reference rule id, e.g. "SE-24"


class Issues:
    """Collector used by the validators: ``v.err(path, rid, msg)`` / ``v.warn(...)``."""

    def __init__(self) -> None:
        self.items: list[Issue] = []

    def err(self, path: FieldPath, rid: str, message: Optional[str]) -> None:
        if message:
            self.items.append(Issue("E", tuple(path), message, rid))

    def warn(self, path: FieldPath, rid: str, message: Optional[str]) -> None:
        if message:
            self.items.append(Issue("W", tuple(path), message, rid))

    def errs(self, path: FieldPath, rid: str, messages: Iterable[str]) -> None:
        for m in messages:
            self.err(path, rid, m)


_CACHE: "weakref.WeakKeyDictionary[Resource, dict[str, list[Issue]]]" = weakref.WeakKeyDictionary()


def issues_of(resource: Resource, validator: Callable[[Resource], Issues]) -> list[Issue]:
    """Run ``validator`` once per resource (several rules read the same result)."""
    per = _CACHE.setdefault(resource, {})
    key = validator.__qualname__
    if key not in per:
        per[key] = validator(resource).items
    return per[key]


def emit(ctx: Context, kind: str, validator: Callable[[Resource], Issues], level: str,
         only: Optional[Sequence[str]] = None, exclude: Sequence[str] = ()) -> Iterator[Problem]:
    """Yield the problems of ``level`` for every resource of ``kind``.

    ``only`` restricts to some reference ids (a dedicated rule); ``exclude`` drops ids that a
    dedicated rule reports instead, so each issue has exactly one code.
    """
    for res in ctx.each(kind):
        seen: set[tuple[FieldPath, str]] = set()
        for issue in issues_of(res, validator):
            if issue.level != level:
                continue
            if only is not None and issue.rid not in only:
                continue
            if issue.rid in exclude:
                continue
            key = (issue.path, issue.message)
            if key in seen:  # Go reports some errors twice; one finding is enough
                continue
            seen.add(key)
            yield Problem(res, issue.path, issue.message)


# --- Go formatting ----------------------------------------------------------------------


def goq(value: str) -> str:
    """Go's ``%q`` (``strconv.Quote``) of a string."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def gov(value: Any) -> str:
    """Go's ``%v`` of a scalar or list of scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return gofloat(value)
    if isinstance(value, int) and abs(value) > 10**30:
        return "%d" % value if value.bit_length() < 14000 else "<huge>"
    if isinstance(value, list):
        return "[" + " ".join(gov(v) for v in value) + "]"
    return str(value)


def gofloat(value: float) -> str:
    """Go's ``%v`` of a float64 (shortest representation, ``1e+06`` for large exponents)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if abs(value) < 1e21 and value == int(value):
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mant}e{sign}{digits}"
    return text


def gofloat_f(value: float) -> str:
    """Go's ``%f``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6f}"


# --- typed scalar access (no raising) ------------------------------------------------------


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def get_int(m: dict[str, Any], key: str) -> Optional[int]:
    """An integer field; numeric strings count (protobuf JSON accepts them for int64)."""
    v = m.get(key)
    if is_int(v):
        return v
    if isinstance(v, str) and len(v) <= 40 and re.fullmatch(r"-?\d+", v):
        return int(v)
    return None


def _to_float(v: Any) -> Optional[float]:
    try:
        return float(v)
    except (OverflowError, ValueError):
        return math.inf if isinstance(v, int) and v > 0 else (-math.inf if isinstance(v, int) else None)


def get_num(m: dict[str, Any], key: str) -> Optional[float]:
    v = m.get(key)
    if is_num(v):
        return _to_float(v)
    return None


def get_str(m: dict[str, Any], key: str) -> str:
    v = m.get(key)
    return v if isinstance(v, str) else ""


def truthy(m: dict[str, Any], key: str) -> bool:
    """Set to a non-empty value (Go's ``!= ""`` / ``!= nil`` / ``len() > 0`` tests)."""
    v = m.get(key)
    if v is None or v is False:
        return False
    if isinstance(v, (str, list, dict)):
        return len(v) > 0
    return True


def present(m: dict[str, Any], key: str) -> bool:
    """Key present with a non-null value (a proto message pointer that is not nil)."""
    return m.get(key) is not None


def wrapped_bool(m: dict[str, Any], key: str) -> bool:
    """A ``google.protobuf.BoolValue``: ``true`` or ``{value: true}``."""
    v = m.get(key)
    if isinstance(v, dict):
        v = v.get("value")
    return v is True


def wrapped_num(m: dict[str, Any], key: str) -> Optional[float]:
    """A ``DoubleValue``/``UInt32Value``: a number or ``{value: n}``."""
    v = m.get(key)
    if isinstance(v, dict):
        v = v.get("value", 0)
    return _to_float(v) if is_num(v) else None


# --- names and hosts --------------------------------------------------------------------

_LABEL = "[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
_LABEL_RE = re.compile("^" + _LABEL + "$")
_WILDCARD_LABEL_RE = re.compile(r"^(\*|(\*|\*-)?" + _LABEL + ")$")
_QUALIFIED = "(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_TAG_RE = re.compile("^(" + _LABEL + r"(?:\." + _LABEL + ")*/)?(" + _QUALIFIED + ")$")
_LABEL_VALUE_RE = re.compile("^(" + _QUALIFIED + ")?$")


def is_dns_label(value: str) -> bool:
    """``labels.IsDNS1123Label`` (upper case accepted, §0.7)."""
    return len(value) <= 63 and bool(_LABEL_RE.match(value))


def is_wildcard_label(value: str) -> bool:
    return len(value) <= 63 and bool(_WILDCARD_LABEL_RE.match(value))


def _atoi_ok(text: str) -> bool:
    """Go ``strconv.Atoi`` succeeds (optional sign, decimal digits, fits int64)."""
    if len(text) > 21 or not re.fullmatch(r"[+-]?[0-9]+", text):
        return False
    return -(2**63) <= int(text) < 2**63


def dns_labels_error(domain: str) -> Optional[str]:
    """``ValidateDNS1123Labels`` (H-06/H-07)."""
    parts = domain.split(".")
    tld = parts[-1]
    if _atoi_ok(tld):
        return f"domain name {goq(domain)} invalid (top level domain {goq(tld)} cannot be all-numeric)"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            return None
        if not is_dns_label(label):
            return f"domain name {goq(domain)} invalid (label {goq(label)} invalid)"
    return None


def dns_preconditions_error(name: str) -> Optional[str]:
    """``CheckDNS1123Preconditions`` (H-04/H-05). Lengths are in bytes, as in Go."""
    if len(name.encode()) > 255:
        return f"domain name {goq(name)} too long (max 255)"
    if not name:
        return "empty domain name not allowed"
    return None


@functools.lru_cache(maxsize=4096)
def wildcard_domain_error(domain: str) -> Optional[str]:
    """``ValidateWildcardDomain`` (H-04..H-07): an FQDN or short name, wildcard first label."""
    pre = dns_preconditions_error(domain)
    if pre:
        return pre
    first, dot, rest = domain.partition(".")
    if not is_wildcard_label(first):
        return f"domain name {goq(domain)} invalid (label {goq(first)} invalid)"
    if dot:
        return dns_labels_error(rest)
    return None


@functools.lru_cache(maxsize=4096)
def fqdn_error(name: str) -> Optional[str]:
    """``ValidateFQDN``."""
    return dns_preconditions_error(name) or dns_labels_error(name)


def partial_wildcard_error(host: str) -> Optional[str]:
    """``ValidatePartialWildCard`` (H-08)."""
    if "*" in host and len(host) != 1 and not host.startswith("*."):
        return f"partial wildcard {goq(host)} not allowed"
    return None


@functools.lru_cache(maxsize=4096)
def is_ip(value: str) -> bool:
    """``netip.ParseAddr`` succeeds (IPv6 zones accepted)."""
    if not value:
        return False
    try:
        ipaddress.ip_address(value.split("%", 1)[0] if ":" in value else value)
        return True
    except ValueError:
        return False


def ip_error(value: str) -> Optional[str]:
    """``ValidateIPAddress`` (H-09)."""
    return None if is_ip(value) else f"{value} is not a valid IP"


def subnet_error(value: str) -> Optional[str]:
    """``ValidateIPSubnet`` (H-10, or H-09 without a ``/``)."""
    if value.count("/") == 1:
        addr, _, bits = value.partition("/")
        try:
            ip = ipaddress.ip_address(addr)
            if not re.fullmatch(r"[0-9]{1,3}", bits) or (len(bits) > 1 and bits[0] == "0"):
                raise ValueError
            if int(bits) > ip.max_prefixlen:
                raise ValueError
        except ValueError:
            return f"{value} is not a valid CIDR block"
        return None
    return ip_error(value)


def port_error(port: int) -> Optional[str]:
    """``ValidatePort`` (H-01)."""
    if 1 <= port <= 65535:
        return None
    return f"port number {port} must be in the range 1..65535"


def port_name_error(name: str) -> Optional[str]:
    """``ValidatePortName`` (H-02)."""
    return None if is_dns_label(name) else f"invalid port name: {name}"


PROTOCOLS = {"TCP", "UDP", "GRPC", "GRPC-WEB", "HTTP", "HTTP_PROXY", "HTTP2", "HTTPS", "TLS",
             "MONGO", "REDIS", "MYSQL"}
HTTP_PROTOCOLS = {"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"}
TLS_PROTOCOLS = {"HTTPS", "TLS"}
TCP_PROTOCOLS = {"TCP", "HTTPS", "TLS", "MONGO", "REDIS", "MYSQL"}


def parse_protocol(value: str) -> str:
    """``protocol.Parse``: upper-cased known name or ``UNSUPPORTED`` (§0.6)."""
    up = value.upper()
    return up if up in PROTOCOLS else "UNSUPPORTED"


def protocol_error(value: str) -> Optional[str]:
    """``ValidateProtocol`` (H-03): empty means sniffing and is fine."""
    if value and parse_protocol(value) == "UNSUPPORTED":
        return f"unsupported protocol: {value}"
    return None


def unix_address_error(addr: str) -> Optional[str]:
    """``ValidateUnixAddress`` (H-11/H-12) of the path after ``unix://``."""
    if not addr:
        return "unix address must not be empty"
    if addr.startswith("@"):
        return None
    if not addr.startswith("/") or addr.endswith("/"):
        return f"{addr} is not an absolute path to a file"
    return None


# --- durations --------------------------------------------------------------------------

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_DUR_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: Any) -> Optional[int]:
    """A duration in nanoseconds: Go ``time.ParseDuration`` syntax (what Istio's JSON decoding
    of ``google.protobuf.Duration`` accepts), or ``{seconds, nanos}``.  None if unparsable
    (the schema rules report that)."""
    if isinstance(value, dict):
        s, n = value.get("seconds", 0), value.get("nanos", 0)
        if isinstance(s, str) and len(s) <= 21 and re.fullmatch(r"-?\d+", s):
            s = int(s)
        if is_int(s) and is_int(n):
            total = s * 1_000_000_000 + n
            return total if -(2**63) <= total < 2**63 else None
        return None
    if not isinstance(value, str) or not value:
        return None
    text = value
    sign = 1
    if text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        return None
    total = 0
    pos = 0
    while pos < len(text):
        m = _DUR_PART.match(text, pos)
        if not m or (not m.group(1) and not m.group(2)):
            return None
        whole, frac, unit = m.group(1) or "0", (m.group(2) or "")[:20], m.group(3)
        if len(whole.lstrip("0")) > 20:
            return None  # Go: "invalid duration" (overflow)
        scale = _UNITS[unit]
        total += int(whole) * scale
        if frac:
            total += int(frac) * scale // (10 ** len(frac))
        if total >= 2**63:
            return None
        pos = m.end()
    return sign * total


def duration_errors(value: Any, cel_min: bool = True) -> list[str]:
    """``ValidateDuration`` (H-13/H-14).

    ``cel_min``: the CRD already enforces ``>= 1ms`` on this field (IVL011 reports it), so only
    the millisecond-precision rule, which no CRD rule has, is reported here.
    """
    ns = parse_duration(value)
    if ns is None:
        return []
    if ns < 1_000_000:
        return [] if cel_min else ["duration must be greater than 1ms"]
    if ns % 1_000_000:
        return ["only durations to ms precision are supported"]
    return []


# --- labels, selectors, exportTo ------------------------------------------------------------


def label_errors(labels: dict[Any, Any]) -> list[tuple[Any, str]]:
    """``labels.Instance.Validate`` (H-15/H-16): (key, message) per bad key or value."""
    out: list[tuple[Any, str]] = []
    for k, v in labels.items():
        if not isinstance(k, str):
            continue
        m = _TAG_RE.match(k)
        if m is None:
            out.append((k, f"invalid tag key: {goq(k)}"))
        elif m.group(1) and len(m.group(1)) - 1 > 253:
            out.append((k, f"invalid tag key: {goq(k)} (DNS prefix is too long)"))
        elif len(m.group(2)) > 63:
            out.append((k, f"invalid tag key: {goq(k)} (name is too long)"))
        if isinstance(v, str) and not _LABEL_VALUE_RE.match(v):
            out.append((k, f"invalid tag value: {goq(v)}"))
    return out


def selector_issues(v: Issues, labels: Any, path: FieldPath, rid: str, warning: str,
                    warn_path: FieldPath, keys_only: bool) -> bool:
    """Workload selector labels (H-22..H-24). Returns True when Go would report an error.

    ``keys_only``: the CRD's CEL rule already rejects ``*`` in values, so only key problems
    are reported here; a wildcard value still counts as an error for the early return that
    follows in Go (SE-01, SC-01).  ``keys_only=False`` reports nothing but the warning (the
    CEL rules of matchLabels cover keys and values).
    """
    bad = False
    lm = as_map(labels)
    for k, val in lm.items():
        if not isinstance(k, str):
            continue
        sval = val if isinstance(val, str) else ("" if val is None else str(val))
        pair = goq(f"{k}={sval}")
        if k == "":
            bad = True
            if keys_only:
                v.err(path + (k,), rid, f"empty key is not supported in selector: {pair}")
        if "*" in k or "*" in sval:
            bad = True
            if keys_only and "*" in k:
                v.err(path + (k,), rid, f"wildcard is not supported in selector: {pair}")
    if not lm and warning:
        v.warn(warn_path, rid, warning)
    return bad


def export_to_issues(v: Issues, export_to: Any, namespace: str, path: FieldPath, rid: str,
                     service_entry: bool = False, dr_selector: bool = False,
                     dr_rid: str = "") -> None:
    """``validateExportTo`` (H-17..H-21, DR-08/DR-09)."""
    entries = as_list(export_to)
    if not entries:
        return
    seen: set[str] = set()
    for i, e in enumerate(entries):
        if not isinstance(e, str):
            continue
        key = namespace if e == "." else e
        p = path + (i,)
        if key in seen:
            if key != e:
                v.err(p, rid, f"duplicate entries in exportTo: . and current namespace {namespace}")
            else:
                v.err(p, rid, f"duplicate entries in exportTo for entry {e}")
        elif service_entry and e == "~":
            seen.add(key)
        elif key == "~":
            v.err(p, rid, "exportTo ~ (none) is not allowed for Istio configuration objects")
        elif key in (".", "*") or is_dns_label(key):
            seen.add(key)
        else:
            v.err(p, rid, "only .,*, or a valid DNS 1123 label is allowed as exportTo entry")
    if dr_selector and seen:
        if namespace in seen:
            if len(seen) > 1:
                v.err(path, dr_rid, "destination rule with workload selector cannot have multiple entries in exportTo")
        else:
            v.err(path, dr_rid, "destination rule with workload selector cannot have exportTo beyond current namespace")
    if "*" in seen and len(entries) > 1:
        v.err(path, rid, "cannot have both public (*) and non-public exportTo values for a resource")
    if "~" in seen and len(entries) > 1:
        v.err(path, rid, "cannot export service entry to no one (~) and someone")


# --- HTTP headers -----------------------------------------------------------------------

# Go's class "[!#$%&'*+-.^_`|~A-Za-z0-9]": "+-." is a range, so "," is accepted too.
_TOKEN_RE = re.compile(r"^[!#$%&'*+-.^_`|~A-Za-z0-9]+$")
_PROBE_HEADER_RE = re.compile(r"^[-A-Za-z0-9]+$")
PSEUDO_HEADERS = {":method", ":scheme", ":authority", ":path", ":status"}


def is_jwt_claim(name: str) -> bool:
    """``jwt.ToRoutingClaim(name).Match``: ``@request.auth.claims.x`` or ``...claims[x]``."""
    prefix = "@request.auth.claims"
    if not name.lower().startswith(prefix):
        return False
    rest = name[len(prefix):]
    return (rest.startswith(".") and len(rest) > 1) or (rest.startswith("[") and rest.endswith("]") and len(rest) > 2)


def header_name_error(name: str) -> Optional[str]:
    """``ValidateStrictHTTPHeaderName``: an RFC 7230 token."""
    if name == "":
        return "header name cannot be empty"
    if not _TOKEN_RE.match(name):
        return f"header name {name} is not a valid header name"
    return None


def match_header_name_error(name: str) -> Optional[str]:
    """``ValidateHTTPHeaderNameOrJwtClaimRoute`` (VS-27)."""
    if name == "":
        return "header name cannot be empty"
    if is_jwt_claim(name) or name in PSEUDO_HEADERS:
        return None
    return header_name_error(name)


def cors_header_name_error(name: str) -> Optional[str]:
    if name == "*":
        return None
    return header_name_error(name)


def probe_header_name_error(name: str) -> Optional[str]:
    """``ValidateProbeHeaderName`` (WG-07)."""
    if name == "":
        return "header name cannot be empty"
    if not _PROBE_HEADER_RE.match(name):
        return f"header name {name} is not a valid header name"
    return None


def _is_authority(name: str) -> bool:
    return name.lower() in ("host", ":authority")


def header_add_set_name_error(name: str) -> Optional[str]:
    """``ValidateHTTPHeaderWithAuthorityOperationName`` (request add/set)."""
    if name == "":
        return "header name cannot be empty"
    if name.startswith(":") and not _is_authority(name):
        return f'invalid header {goq(name)}: header cannot have ":" prefix'
    return None


def header_op_name_error(name: str) -> Optional[str]:
    """``ValidateHTTPHeaderOperationName`` (request remove, all response operations)."""
    if name == "":
        return "header name cannot be empty"
    if name.lower() == "host":
        return f"invalid header {goq(name)}: cannot set Host header"
    if name.startswith(":"):
        return f'invalid header {goq(name)}: header cannot have ":" prefix'
    return None


_CTRL_RE = re.compile("[\u0000-\u0008\u000A-\u001F\u007F]")


@functools.lru_cache(maxsize=4096)
def header_value_error(value: str) -> Optional[str]:
    """``ValidateHTTPHeaderValue``: control characters, then Envoy's %VAR% syntax."""
    if _CTRL_RE.search(value):
        return f"header value configuration {value} is invalid"
    err = _envoy_header_value_error(value)
    return f"header value configuration: {err}" if err else None


def _envoy_header_value_error(value: str) -> Optional[str]:
    """Port of ``header_value_validator.go`` (itself a port of Envoy's header parser)."""
    data = value.encode()
    literal, var, exp_array, exp_string, string, exp_delim, exp_args_end, exp_var_end = range(8)
    state = literal
    pos = 0
    n = len(data)
    while pos < n:
        ch = chr(data[pos])
        has_next = pos + 1 < n
        if state == literal:
            if ch == "%":
                if not has_next:
                    return "invalid header configuration. Un-escaped %"
                if chr(data[pos + 1]) == "%":
                    pos += 1
                else:
                    state = var
        elif state == var:
            if ch == "%":
                state = literal
            elif ch == "(":
                state = exp_array
        elif state == exp_array:
            if ch == "[":
                state = exp_string
            elif ch != " ":
                state = string
        elif state == exp_delim:
            if ch == ",":
                state = exp_string
            elif ch == "]":
                state = exp_args_end
            elif ch != " ":
                return "invalid header configuration. Expecting ',', ']', or whitespace"
        elif state == exp_string:
            if ch == '"':
                state = string
            elif ch != " ":
                return "invalid header configuration. Expecting '\"'"
        elif state == string:
            if ch == "\\":
                if not has_next:
                    return "invalid header configuration. Un-terminated backslash in JSON string"
                pos += 1
            elif ch == ")":
                state = exp_var_end
            elif ch == '"':
                state = exp_delim
        elif state == exp_args_end:
            if ch == ")":
                state = exp_var_end
            elif ch != " ":
                return "invalid header configuration. Expecting ')' or whitespace after '{}', but found '{}'"
        elif state == exp_var_end:
            if ch == "%":
                state = literal
            elif ch != " ":
                return "invalid header configuration. Expecting '%' or whitespace after"
        pos += 1
    if state != literal:
        return f"invalid header configuration. Un-terminated variable expression '{value}'"
    return None


# --- connection pools (DestinationRule traffic policy TP-07..TP-17, Sidecar SC-19) -------


def connection_pool_issues(v: Issues, pool: Any, path: FieldPath, rid: str = "TP-07") -> None:
    """``validateConnectionPool``. Durations with a CRD ``>= 1ms`` rule only get H-14 here."""
    if not isinstance(pool, dict):
        return
    http, tcp = pool.get("http"), pool.get("tcp")
    if http is None and tcp is None:
        v.err(path, rid, "connection pool must have at least one field")
        return
    if isinstance(http, dict):
        hp = path + ("http",)
        for key, msg in (("http1MaxPendingRequests", "http1 max pending requests must be non-negative"),
                         ("http2MaxRequests", "http2 max requests must be non-negative"),
                         ("maxRequestsPerConnection", "max requests per connection must be non-negative"),
                         ("maxRetries", "max retries must be non-negative")):
            n = get_int(http, key)
            if n is not None and n < 0:
                v.err(hp + (key,), rid, msg)
        if http.get("idleTimeout") is not None:
            v.errs(hp + ("idleTimeout",), rid, duration_errors(http["idleTimeout"]))
        if http.get("h2UpgradePolicy") == "UPGRADE" and http.get("useClientProtocol") is True:
            v.err(hp + ("useClientProtocol",), rid, "use client protocol must not be true when H2UpgradePolicy is UPGRADE")
        n = get_int(http, "maxConcurrentStreams")
        if n is not None and n < 0:
            v.err(hp + ("maxConcurrentStreams",), rid, "max concurrent streams must be non-negative")
        ka = http.get("http2KeepAlive")
        if isinstance(ka, dict):
            kp = hp + ("http2KeepAlive",)
            for key in ("interval", "timeout"):
                if ka.get(key) is None:
                    v.err(kp, rid, f"http2 keepalive {key} is required")
                else:
                    v.errs(kp + (key,), rid, duration_errors(ka[key]))
    if isinstance(tcp, dict):
        tp = path + ("tcp",)
        n = get_int(tcp, "maxConnections")
        if n is not None and n < 0:
            v.err(tp + ("maxConnections",), rid, "max connections must be non-negative")
        for key in ("connectTimeout", "maxConnectionDuration"):
            if tcp.get(key) is not None:
                v.errs(tp + (key,), rid, duration_errors(tcp[key]))
        idle = tcp.get("idleTimeout")
        if idle is not None:
            ns = parse_duration(idle)
            if ns is not None and ns // 1_000_000 != 0:  # 0s disables the timeout; no CRD rule here
                v.errs(tp + ("idleTimeout",), rid, duration_errors(idle, cel_min=False))
        ka = tcp.get("tcpKeepalive")
        if isinstance(ka, dict):
            for key in ("time", "interval"):
                if ka.get(key) is not None:
                    v.errs(tp + ("tcpKeepalive", key), rid, duration_errors(ka[key]))


# --- Go regexp syntax (VS-29) ----------------------------------------------------------------

_PERL_CLASSES = set("dDsSwW")
_ESCAPE_OK = set("afnrtv") | set("bBAz") | _PERL_CLASSES


@functools.lru_cache(maxsize=4096)
def go_regexp_error(expr: str) -> Optional[str]:
    """Best-effort port of Go ``regexp/syntax`` parse errors (``error parsing regexp: ...``).

    Covers what users hit in practice: PCRE-only constructs (lookaround, backreferences,
    ``\\Z``), unbalanced parentheses and brackets, repetition without an argument, nested
    repetition and repeat counts above 1000.  Anything Go would accept is accepted.
    """

    def err(code: str, arg: str) -> str:
        return f"error parsing regexp: {code}: `{arg}`"

    depth = 0
    i, n = 0, len(expr)
    can_repeat = False  # is there an operand the next repetition operator applies to?
    last_was_repeat = False
    while i < n:
        c = expr[i]
        if c == "\\":
            if i + 1 >= n:
                return err("trailing backslash at end of expression", "")
            d = expr[i + 1]
            if d in "123456789":
                if i + 2 < n and expr[i + 2].isdigit():
                    i += 3  # octal
                else:
                    return err("invalid escape sequence", expr[i:i + 2])
            elif d == "0" or d in _ESCAPE_OK or (ord(d) < 128 and not d.isalnum()) or ord(d) >= 128:
                i += 2
            elif d in "pP":
                if i + 2 < n and expr[i + 2] == "{":
                    end = expr.find("}", i + 2)
                    if end < 0:
                        return err("invalid character class range", expr[i:])
                    i = end + 1
                else:
                    i += 3
            elif d == "x":
                if i + 2 < n and expr[i + 2] == "{":
                    end = expr.find("}", i + 2)
                    if end < 0 or not re.fullmatch(r"[0-9A-Fa-f]+", expr[i + 3:end]):
                        return err("invalid escape sequence", expr[i:end + 1 if end >= 0 else n])
                    i = end + 1
                elif re.fullmatch(r"[0-9A-Fa-f]{2}", expr[i + 2:i + 4]):
                    i += 4
                else:
                    return err("invalid escape sequence", expr[i:i + 4])
            elif d == "Q":
                end = expr.find("\\E", i + 2)
                i = n if end < 0 else end + 2
            else:
                return err("invalid escape sequence", expr[i:i + 2])
            can_repeat, last_was_repeat = True, False
            continue
        if c == "[":
            j = i + 1
            if j < n and expr[j] == "^":
                j += 1
            if j < n and expr[j] == "]":
                j += 1
            prev: Optional[str] = None
            while j < n and expr[j] != "]":
                if expr[j] == "\\":
                    j += 2
                    prev = None
                    continue
                if expr[j] == "[" and expr[j + 1:j + 2] == ":":
                    end = expr.find(":]", j + 2)
                    if end >= 0:
                        j = end + 2
                        prev = None
                        continue
                if expr[j] == "-" and prev is not None and j + 1 < n and expr[j + 1] != "]":
                    hi = expr[j + 1]
                    if hi == "\\":
                        j += 3
                        prev = None
                        continue
                    if hi < prev:
                        return err("invalid character class range", f"{prev}-{hi}")
                    j += 2
                    prev = None
                    continue
                prev = expr[j]
                j += 1
            if j >= n:
                return err("missing closing ]", expr[i:])
            i = j + 1
            can_repeat, last_was_repeat = True, False
            continue
        if c == "(":
            if expr.startswith("(?", i):
                m = re.match(r"\(\?(P?<[A-Za-z0-9_]+>|[imsU]*(-[imsU]+)?[:)])", expr[i:])
                if not m:
                    if expr.startswith("(?P<", i) or expr.startswith("(?<", i) and not expr.startswith(("(?<=", "(?<!"), i):
                        end = expr.find(">", i)
                        return err("invalid named capture", expr[i:end + 1] if end >= 0 else expr[i:])
                    return err("invalid or unsupported Perl syntax", expr[i:i + 3])
                if m.group(0).endswith(")"):
                    i += len(m.group(0))
                    continue
                i += len(m.group(0))
            else:
                i += 1
            depth += 1
            can_repeat, last_was_repeat = False, False
            continue
        if c == ")":
            if depth == 0:
                return err("unexpected )", expr)
            depth -= 1
            i += 1
            can_repeat, last_was_repeat = True, False
            continue
        if c == "|":
            i += 1
            can_repeat, last_was_repeat = False, False
            continue
        if c in "*+?":
            op = c
            if i + 1 < n and expr[i + 1] == "?":
                op += "?"
            if last_was_repeat:
                return err("invalid nested repetition operator", expr[i - 1:i + len(op)] if i else op)
            if not can_repeat:
                return err("missing argument to repetition operator", op)
            i += len(op)
            last_was_repeat = True
            continue
        if c == "{":
            m = re.match(r"\{(\d+)(,(\d*))?\}\??", expr[i:])
            if m:
                lo = int(m.group(1)[:5])
                hi = m.group(3)[:5] if m.group(3) else m.group(3)
                if lo > 1000 or (hi and int(hi) > 1000) or (hi and int(hi) < lo):
                    return err("invalid repeat count", m.group(0).rstrip("?"))
                if last_was_repeat:
                    return err("invalid nested repetition operator", m.group(0))
                if not can_repeat:
                    return err("missing argument to repetition operator", m.group(0))
                i += len(m.group(0))
                last_was_repeat = True
                continue
        i += 1
        can_repeat, last_was_repeat = c not in "^$", False
        if c in "^$":
            can_repeat = True  # Go allows "^*" (repeat of an empty-width assertion)
    if depth:
        return err("missing closing )", expr)
    return None


def string_regexp_error(expr: str, where: str) -> Optional[str]:
    """``validateStringRegexp`` (VS-29)."""
    if len(expr.encode()) > 1024:
        return f"{goq(where)}: regex is too large, max length allowed is 1024"
    e = go_regexp_error(expr)
    if e:
        return f"{goq(where)}: {e}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"
    return None


# --- Gateway / Sidecar shared pieces ------------------------------------------------------------

CIPHER_SUITES = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                 "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
                 "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
                 "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA"}


def _valid_cipher(cs: str) -> bool:
    """``security.IsValidCipherSuite``."""
    if cs in ("", "ALL") or not cs[0].isalnum():
        return True
    return cs in CIPHER_SUITES


def server_tls_issues(v: Issues, tls: Any, p: FieldPath) -> None:
    """``validateTLSOptions`` (Gateway GW-18..GW-25, Sidecar ingress SC-18)."""
    if not isinstance(tls, dict):
        return
    mode = get_str(tls, "mode") or "PASSTHROUGH"
    ciphers = [c for c in as_list(tls.get("cipherSuites")) if isinstance(c, str)]
    if tls.get("minProtocolVersion") in ("TLSV1_0", "TLSV1_1") and not ciphers:
        v.warn(p + ("minProtocolVersion",), "GW-18",
               "TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.")
    invalid, valid, dup = set(), set(), set()
    for c in ciphers:
        if not _valid_cipher(c):
            invalid.add(c)
        elif c in valid:
            dup.add(c)
        else:
            valid.add(c)
    if invalid:
        v.warn(p + ("cipherSuites",), "GW-19", f"ignoring invalid cipher suites: {gov(sorted(invalid))}")
    if dup:
        v.warn(p + ("cipherSuites",), "GW-19", f"ignoring duplicate cipher suites: {gov(sorted(dup))}")
    has = {k: truthy(tls, k) for k in ("serverCertificate", "privateKey", "caCertificates", "tlsCertificates",
                                       "credentialName", "credentialNames", "caCrl")}
    if mode == "ISTIO_MUTUAL":
        for key, what in (("serverCertificate", "server certificate"), ("privateKey", "private key"),
                          ("caCertificates", "CA bundle"), ("tlsCertificates", "tlsCertificates"),
                          ("credentialName", "credentialName"), ("credentialNames", "credentialNames")):
            if has[key]:
                v.err(p + (key,), "GW-20", f"ISTIO_MUTUAL TLS cannot have associated {what}")
        return
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH") and any(has.values()):
        v.warn(p + ("mode",) if "mode" in tls else p, "GW-21", f"{mode} mode does not use certificates, they will be ignored")
    sources = sum((has["serverCertificate"] and has["privateKey"], has["credentialName"], has["credentialNames"],
                   has["tlsCertificates"]))
    # credentialNames with tlsCertificates or credentialName: the CRD's CEL rules (IVL011).
    cel = has["credentialNames"] and (has["tlsCertificates"] or has["credentialName"])
    if sources > 1 and not cel:
        v.err(p, "GW-22", "only one of credential_name, credential_names, server_certificate/private_key, "
                          "tls_certificates should be specified")
    mtls = mode in ("MUTUAL", "OPTIONAL_MUTUAL")
    if mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL") and (has["credentialName"] or has["credentialNames"]):
        return
    if mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        prefix = "MUTUAL TLS" if mtls else "SIMPLE TLS"
        if mtls and not has["caCertificates"]:
            v.err(p, "GW-23", f"{prefix} requires a client CA bundle")
        # more than 2 tlsCertificates (a warning): the CRD's maxItems (IVL010).
        if has["tlsCertificates"]:
            certs = [(as_map(c), p + ("tlsCertificates", i)) for i, c in enumerate(as_list(tls.get("tlsCertificates")))]
        else:
            certs = [(tls, p)]
        for cert, cp in certs:
            if not truthy(cert, "serverCertificate"):
                v.err(cp, "GW-24", f"{prefix} requires a server certificate")
            if not truthy(cert, "privateKey"):
                v.err(cp, "GW-24", f"{prefix} requires a private key")
    if has["caCrl"]:
        if has["credentialName"]:
            v.err(p + ("caCrl",), "GW-25", "CRL is not supported with credentialName. CRL has to be specified in the credential")
        if mode == "SIMPLE":
            v.err(p + ("caCrl",), "GW-25", "CRL is not supported with SIMPLE TLS")


def _hostname_part_errors(hostname: str, gateway: bool) -> list[str]:
    """``validateSidecarOrGatewayHostnamePart``."""
    out: list[str] = []
    if hostname != "*" and "." not in hostname:
        out.append("short names (non FQDN) are not allowed")
    err = wildcard_domain_error(hostname)
    if err:
        if not gateway:
            out.append(err)
        if not is_ip(hostname):
            out.append(err)
    pw = partial_wildcard_error(hostname)
    if pw:
        out.append(pw)
    return out


def ns_slash_host_errors(hostname: str, gateway: bool, gateway_semantics: bool = False) -> list[str]:
    """``ValidateNamespaceSlashWildcardHostname`` (H-25; GW-05, SC-24)."""
    ns, slash, name = hostname.partition("/")
    if not slash:
        if gateway:
            return _hostname_part_errors(hostname, True)
        return ["host must be of form namespace/dnsName"]
    out: list[str] = []
    if not ns or not name:
        out.append("config namespace and dnsName in host entry cannot be empty")
    if not gateway:
        n = ns[1:] if ns.startswith("~") else ns
        if n not in ("", "*", ".") and not is_dns_label(n):
            out.append(f"invalid namespace value {goq(ns)} in sidecar")
    elif ns not in ("*", ".") and (ns != "~" or not gateway_semantics) and not is_dns_label(ns):
        out.append(f"invalid namespace value {goq(ns)} in gateway")
    out.extend(_hostname_part_errors(name, gateway))
    return out


def port_text(port: dict[str, Any]) -> str:
    """Proto text of a Port/SidecarPort for Go's ``%v`` (single spaces; protobuf-go randomises them)."""
    parts = []
    n = get_int(port, "number")
    if n:
        parts.append(f"number:{n}")
    for key in ("protocol", "name"):
        if get_str(port, key):
            parts.append(f"{key}:{goq(get_str(port, key))}")
    t = get_int(port, "targetPort")
    if t:
        parts.append(f"target_port:{t}")
    return " ".join(parts)
