"""Names, hosts, addresses, ports, protocols, labels, selectors and exportTo (Istio's
``pkg/config/validation`` helpers ``ValidateFQDN``, ``ValidateWildcardDomain``, ``ValidatePort``...)."""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any, Optional

from istio_vm_lint.findings import FieldPath
from istio_vm_lint.model import as_list, as_map

from .gofmt import goq
from .issues import Issues
from .values import get_int, get_str

_LABEL = "[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
_LABEL_RE = re.compile("^" + _LABEL + "$")
_WILDCARD_LABEL_RE = re.compile(r"^(\*|(\*|\*-)?" + _LABEL + ")$")
_QUALIFIED = "(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_TAG_RE = re.compile("^(" + _LABEL + r"(?:\." + _LABEL + ")*/)?(" + _QUALIFIED + ")$")
_LABEL_VALUE_RE = re.compile("^(" + _QUALIFIED + ")?$")


def is_dns_label(value: str) -> bool:
    """``labels.IsDNS1123Label`` (upper case accepted, §webhook-validation)."""
    return len(value) <= 63 and bool(_LABEL_RE.match(value))


def is_wildcard_label(value: str) -> bool:
    return len(value) <= 63 and bool(_WILDCARD_LABEL_RE.match(value))


_ATOI_RE = re.compile(r"[+-]?[0-9]+")


def _atoi_ok(text: str) -> bool:
    """Go ``strconv.Atoi`` succeeds (optional sign, decimal digits, fits int64)."""
    if len(text) > 21 or not _ATOI_RE.fullmatch(text):
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
    """``CheckDNS1123Preconditions`` (H-04/H-05). Lengths are in bytes, as in Go.

    YAML's ``"\\ud800"`` escapes can leave lone surrogates in a string; they count three bytes,
    the length of the U+FFFD Go puts in their place (``surrogatepass`` instead of a crash).
    """
    if len(name.encode("utf-8", "surrogatepass")) > 255:
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
    """``protocol.Parse``: upper-cased known name or ``UNSUPPORTED`` (§webhook-validation)."""
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
