"""Host names in VirtualService validation: Go's ``host.Name`` ``Matches``/``SubsetOf`` and the
gateway-bound host and gateway-name checks (VS-04, VS-05, VS-08)."""

from __future__ import annotations

from typing import Any, Optional

from istio_vm_lint.findings import FieldPath

from .gofmt import goq
from .issues import Issues
from .names import dns_preconditions_error, fqdn_error, is_dns_label, wildcard_domain_error

SNI_FORMAT = "outbound_.<port>_._.<hostname>"


def _wild(n: str) -> bool:
    return n.startswith("*")


def name_matches(a: str, b: str) -> bool:
    """``host.Name.Matches`` (wildcard-aware overlap)."""
    if _wild(a):
        if _wild(b):
            return b[1:].endswith(a[1:]) if len(a) < len(b) else a[1:].endswith(b[1:])
        return b.endswith(a[1:])
    if _wild(b):
        return a.endswith(b[1:])
    return a == b


def name_subset_of(a: str, b: str) -> bool:
    """``host.Name.SubsetOf``."""
    if _wild(a):
        if _wild(b):
            return len(a) >= len(b) and a[1:].endswith(b[1:])
        return False
    if _wild(b):
        return a.endswith(b[1:])
    return a == b


def gateway_bound_host_error(sni: bool, domain: str) -> Optional[str]:
    """``ValidateWildcardDomainForVirtualServiceBoundToGateway`` (VS-08)."""
    pre = dns_preconditions_error(domain)
    if pre:
        return pre
    if sni and domain.startswith("outbound_"):
        parts = domain.split("_")
        if len(parts) < 4:
            return f"domain name {domain} invalid, should follow '{SNI_FORMAT}' format"
        direction, port, hostname = parts[0], parts[1].strip("."), parts[3].strip(".")
        if direction != "outbound":
            return f"domain name {goq(domain)} invalid (label {goq(direction)} invalid)"
        if not any(ch.isdigit() for ch in port):
            return f"domain name {goq(domain)} invalid (label {goq(port)} invalid). should follow {SNI_FORMAT} format"
        if not any(ch.isalpha() and ch.isascii() for ch in hostname):
            return f"domain name {goq(domain)} invalid (label {goq(hostname)} invalid). should follow {SNI_FORMAT} format"
        return None
    return wildcard_domain_error(domain)


def gateway_names(v: Issues, names: list[Any], path: FieldPath, gateway_semantics: bool) -> None:
    """``validateGatewayNames`` (VS-04/VS-05; the legacy-format warning is IVL745)."""
    for i, name in enumerate(names):
        if not isinstance(name, str):
            continue
        p = path + (i,)
        ns, slash, gw = name.partition("/")
        if not slash:
            v.err(p, "VS-05", fqdn_error(name))
            return  # Go stops at the first entry without "/"
        if not ns or not gw:
            v.err(p, "VS-04", "config namespace and gateway name cannot be empty")
        if not is_dns_label(ns):
            v.err(p, "VS-04", f"invalid value for namespace: {goq(ns)}")
        if not is_dns_label(gw) and not gateway_semantics:
            v.err(p, "VS-04", f"invalid value for gateway name: {goq(gw)}")
