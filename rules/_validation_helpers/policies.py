"""Pieces shared by the validation of workload policies (AuthorizationPolicy, RequestAuthentication,
Telemetry, WasmPlugin, EnvoyFilter, ProxyConfig): ``validatePolicyTargetReference``, the
selector-without-labels warning of ``validateWorkloadSelector``, and the ``security`` package's
value checks (``pkg/config/security/security.go``) that AuthorizationPolicy uses.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Optional

from istio_vm_lint.findings import FieldPath
from istio_vm_lint.model import Resource, as_list, as_map

from .gofmt import goq
from .issues import Issues

# validatePolicyTargetReference: allowedTargetRefs, printed with GroupVersionKind.String().
ALLOWED_TARGET_REFS = (("core", "Service"), ("networking.istio.io", "ServiceEntry"),
                       ("gateway.networking.k8s.io", "Gateway"), ("gateway.networking.k8s.io", "GatewayClass"))
_ALLOWED_TEXT = ("[core/v1/Service networking.istio.io/v1/ServiceEntry gateway.networking.k8s.io/v1/Gateway "
                 "gateway.networking.k8s.io/v1/GatewayClass]")


def target_ref_issues(v: Issues, res: Resource, rid: str, refs: bool = True, single: bool = True) -> None:
    """``validatePolicyTargetReference`` of ``targetRef`` and every ``targetRefs`` item: only the
    group/kind check, since an empty name and a namespace are CRD rules (IVL010/IVL011)."""
    items: list[tuple[Any, FieldPath]] = []
    if single and isinstance(res.spec.get("targetRef"), dict):
        items.append((res.spec["targetRef"], ("spec", "targetRef")))
    if refs:
        items += [(t, ("spec", "targetRefs", i)) for i, t in enumerate(as_list(res.spec.get("targetRefs")))
                  if isinstance(t, dict)]
    for t, path in items:
        group, kind = t.get("group"), t.get("kind")
        group = group if isinstance(group, str) else ""
        kind = kind if isinstance(kind, str) else ""
        if (group or "core", kind) not in ALLOWED_TARGET_REFS:
            v.err(path + ("kind",), rid, f"targetRef must be to one of {_ALLOWED_TEXT} but was {group}/{kind}")


def selector_without_labels(v: Issues, res: Resource, rid: str, key: str = "selector", labels: str = "matchLabels",
                            message: str = "workload selector specified without labels") -> None:
    """The warning of ``validateWorkloadSelector``: a selector that is set but has no labels
    (its key and value errors are the CRDs' CEL rules, IVL011)."""
    sel = res.spec.get(key)
    if isinstance(sel, dict) and not as_map(sel.get(labels)):
        v.warn(("spec", key), rid, message)


# --- security.* value checks --------------------------------------------------------------


def check_empty_values(key: str, values: list[Any]) -> Optional[str]:
    """``CheckEmptyValues``."""
    if any(x == "" for x in values):
        return f"empty value not allowed, found in {key}"
    return None


def check_wildcard_values(key: str, values: list[Any]) -> Optional[str]:
    """``CheckWildcardValues``."""
    err = check_empty_values(key, values)
    if err:
        return err
    for value in values:
        if not isinstance(value, str):
            continue
        count = value.count("*")
        if count > 1:
            return f"at most one wildcard is allowed, found in {key}: {goq(value)}"
        if count == 1 and value != "*" and not value.startswith("*") and not value.endswith("*"):
            return f"wildcard is only allowed at the start or end, found in {key}: {goq(value)}"
    return None


def check_trust_domain_values(key: str, values: list[Any]) -> Optional[str]:
    """``CheckTrustDomainValues``."""
    err = check_wildcard_values(key, values)
    if err:
        return err
    for value in values:
        if isinstance(value, str) and "/" in value:
            return f"trust domain must not contain '/', found in {key}: {goq(value)}"
    return None


def check_crd_service_account(key: str, values: list[Any]) -> Optional[str]:
    """``CheckServiceAccount`` on a field whose CRD already bounds it (at most 16 values of at
    most 320 characters, IVL010): Go stops at those errors, so nothing else is reported."""
    if len(values) > 16 or any(isinstance(x, str) and len(x) > 320 for x in values):
        return None
    return check_service_account(key, values)


def check_service_account(key: str, values: list[Any]) -> Optional[str]:
    """``CheckServiceAccount``."""
    if len(values) > 16:
        return "may not have more than 16 values"
    fmt = "expected format 'serviceAccount' or 'namespace/serviceAccount'"
    for value in values:
        if not isinstance(value, str):
            continue
        if value == "":
            return f"empty value not allowed, found in {key}"
        if "*" in value:
            return f"wildcard not allowed, found in {key}"
        if value.count("/") not in (0, 1):
            return f"{fmt}, found {goq(value)} in {key}"
        if len(value) > 320:
            return f"value cannot exceed 320 characters, found {goq(value)} in {key}"
        ns, sep, sa = value.partition("/")
        if sep and not ns:
            return f"{fmt}, found empty namespace {goq(value)} in {key}"
        if sep and not sa:
            return f"{fmt}, found empty serviceAccount {goq(value)} in {key}"
    return None


def _parse_addr_ok(text: str) -> bool:
    """``netip.ParseAddr``: IPv4 dotted decimal without leading zeros, IPv6 with an optional zone."""
    if not text:
        return False
    try:
        if ":" in text:
            addr, _, zone = text.partition("%")
            if "%" in text and not zone:
                return False
            ipaddress.IPv6Address(addr)
        else:
            ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _parse_prefix_error(value: str) -> Optional[str]:
    """``netip.ParsePrefix``'s error, or None.  Host bits may be set (Go keeps them)."""
    addr, _, bits = value.rpartition("/")
    head = f"netip.ParsePrefix({goq(value)})"
    if "%" in addr:
        return f"{head}: IPv6 zones cannot be present in a prefix"
    if not _parse_addr_ok(addr):
        return f"{head}: ParseAddr({goq(addr)}): unable to parse IP"
    if not re.fullmatch(r"0|[1-9][0-9]{0,2}", bits):
        return f"{head}: bad bits after slash: {goq(bits)}"
    if int(bits) > (128 if ":" in addr else 32):
        return f"{head}: prefix length out of range"
    return None


def ip_errors(values: list[Any]) -> list[str]:
    """``ValidateIPs``: one error per bad address or CIDR range."""
    out = []
    for v in values:
        if not isinstance(v, str):
            continue
        if "/" in v:
            err = _parse_prefix_error(v)
            if err:
                out.append(f"bad CIDR range ({v}): {err}")
        elif not _parse_addr_ok(v):
            out.append(f"bad IP address ({v})")
    return out


def port_errors(values: list[Any]) -> list[str]:
    """``ValidatePorts``: ``strconv.ParseUint(port, 10, 32)`` and at most 65535."""
    out = []
    for p in values:
        if not isinstance(p, str):
            continue  # a number where a string is expected: IVL010
        if not re.fullmatch(r"[0-9]+", p):
            out.append(f"bad port ({p}): strconv.ParseUint: parsing {goq(p)}: invalid syntax")
        elif len(p.lstrip("0")) > 10 or int(p) > 2**32 - 1:
            out.append(f"bad port ({p}): strconv.ParseUint: parsing {goq(p)}: value out of range")
        elif int(p) > 65535:
            out.append(f"bad port ({p}): <nil>")
    return out


MATCH_ONE, MATCH_ANY = "{*}", "{**}"
_VALID_LITERAL = re.compile(r"[a-zA-Z0-9\-._~%!$&'()+,;:@=]+\Z")


def path_template_error(key: str, paths: list[Any]) -> Optional[str]:
    """``CheckValidPathTemplate``."""
    for path in paths:
        if not isinstance(path, str):
            continue
        templated = MATCH_ONE in path or MATCH_ANY in path
        found_any = False
        path = path.strip("/")
        for glob in path.split("/"):
            if glob == MATCH_ONE and not found_any:
                continue
            if glob == MATCH_ANY and not found_any:
                found_any = True
                continue
            if glob in (MATCH_ANY, MATCH_ONE) and found_any:
                return f"invalid or unsupported path {path}, found in {key}. {{**}} is not the last operator"
            if "{" in glob or "}" in glob:
                return (f"invalid or unsupported path {path}, found in {key}. Contains '{{' or '}}' beyond a "
                        "supported path template")
            if templated and not _VALID_LITERAL.match(glob):
                return (f"invalid or unsupported path {path}, found in {key}. Contains segment {glob} with invalid "
                        "string literal")
    return None


def _map_key_error(key: str) -> Optional[str]:
    open_ = key.find("[")
    if key.endswith("]") and open_ > 0 and open_ < len(key) - 2:
        return None
    return f"bad key ({key}): should have format a[b]"


def attribute_error(key: str, values: list[Any]) -> Optional[str]:
    """``ValidateAttribute``: the ``when`` condition keys and their values."""
    err = check_empty_values(key, values)
    if err:
        return err
    if key.startswith("request.headers"):
        return _map_key_error(key)
    if key in ("source.ip", "remote.ip", "destination.ip"):
        errs = ip_errors(values)
        return "; ".join(errs) if errs else None
    if key == "source.serviceAccount":
        return check_service_account(key, values)
    if key == "source.trustDomain":
        return check_wildcard_values(key, values)
    if key in ("source.namespace", "source.principal", "request.auth.principal", "request.auth.audiences",
               "request.auth.presenter", "connection.sni"):
        return None
    if key.startswith("request.auth.claims"):
        return _map_key_error(key)
    if key == "destination.port":
        errs = port_errors(values)
        return "; ".join(errs) if errs else None
    if key.startswith("experimental.envoy.filters."):
        return _map_key_error(key)
    if key == "destination.namespace":
        return f"attribute {key} is replaced by the metadata.namespace"
    if key.startswith("destination.labels"):
        return f"attribute {key} is replaced by the workload selector"
    if key in ("destination.name", "destination.user"):
        return f"deprecated attribute {key}: only supported in v1alpha1"
    return f"unknown attribute: {key}"
