"""IVL63x: Istio's ServiceEntry validation (``ValidateServiceEntry``), done on files.

Port of docs/semantics.md §validation-serviceentry (SE-01..SE-34).  Checks identical to a CRD CEL/OpenAPI rule
(wildcard ``*`` host, duplicate port numbers, port ranges, NONE with endpoints, DNS_ROUND_ROBIN
endpoint count, CIDR with DNS, selector+endpoints, UDS shape) are the schema rules' job and are
listed in docs/validation-coverage.md; SE-14 is IVL731.
"""

from __future__ import annotations

from typing import Any, Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h

RESOLUTIONS = ("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS")
SE_UNDEFINED_PORT = "SE-24"
SE_MULTI_HOST = "SE-33"


def _endpoint_ports(v: h.Issues, ep: dict[str, Any], base: tuple, names: set[str]) -> None:
    for name in as_map(ep.get("ports")):
        if not isinstance(name, str):
            continue
        port = ep["ports"][name]
        if name not in names:
            v.err(base + ("ports", name), SE_UNDEFINED_PORT,
                  f"endpoint port {h.gov(port)} is not defined by the service entry")
        # Port name format and value range: CRD CEL ("port name must be valid",
        # "port must be between 1-65535"), reported by IVL011.


def _endpoint_labels(v: h.Issues, ep: dict[str, Any], base: tuple) -> None:
    for key, msg in h.label_errors(as_map(ep.get("labels"))):
        v.err(base + ("labels", key), "SE-25", msg)


def validate(se: Resource) -> h.Issues:
    """All SE rules for one ServiceEntry, in Go's order (§validation-serviceentry)."""
    v = h.Issues()
    spec = se.spec
    sel = spec.get("workloadSelector")
    # SE-01 (error, returns at once) / SE-02 (warning); the CEL rule covers wildcard values, so only keys are reported.
    if isinstance(sel, dict) and h.selector_issues(v, sel.get("labels"), ("spec", "workloadSelector", "labels"),
                                                   "SE-01", "service entry: workload selector specified without "
                                                   "labels, will be applied to all services in namespace",
                                                   ("spec", "workloadSelector"), keys_only=True):
        v.items = [i for i in v.items if i.level == "E"]
        return v
    # SE-03: CEL "only one of WorkloadSelector or Endpoints can be set".

    raw_res = spec.get("resolution")
    resolution = raw_res if isinstance(raw_res, str) and raw_res else "NONE"
    hosts_raw = as_list(spec.get("hosts"))
    for i, host in enumerate(hosts_raw):
        if not isinstance(host, str) or host == "*":  # "*": CEL "hostname cannot be wildcard"
            continue
        v.err(("spec", "hosts", i), "SE-06", h.wildcard_domain_error(host))
        if resolution != "DYNAMIC_DNS":
            v.warn(("spec", "hosts", i), "SE-07", h.partial_wildcard_error(host))

    addresses = as_list(spec.get("addresses"))
    for i, addr in enumerate(addresses):
        if isinstance(addr, str):
            v.err(("spec", "addresses", i), "SE-08", h.subnet_error(addr))
    # SE-09: CEL "CIDR addresses are allowed only for NONE/STATIC resolution types".

    ports_raw = as_list(spec.get("ports"))
    ports = [(i, p) for i, p in enumerate(ports_raw) if isinstance(p, dict)]
    names: set[str] = set()
    for i, p in ports:
        base = ("spec", "ports", i)
        name = p.get("name")
        sname = name if isinstance(name, str) else ""
        if sname in names and isinstance(name, str):  # absent names: OpenAPI "required" (IVL010)
            v.err(base + ("name",), "SE-11", f"service entry port name {h.goq(sname)} already defined")
        names.add(sname)
        # SE-12 (duplicate number), SE-13/SE-17 (ranges): CEL.  SE-14: IVL731.
        if isinstance(name, str):  # absent name: OpenAPI "required"
            v.err(base + ("name",), "SE-15", h.port_name_error(name))
        v.err(base + ("protocol",), "SE-16", h.protocol_error(h.get_str(p, "protocol")))

    endpoints_raw = as_list(spec.get("endpoints"))
    endpoints = [(i, e) for i, e in enumerate(endpoints_raw) if isinstance(e, dict)]
    if resolution == "NONE":
        # SE-18: CEL "NONE mode cannot set endpoints".
        if isinstance(sel, dict):
            v.warn(("spec", "workloadSelector"), "SE-19",
                   "workloadSelector should not be set when resolution mode is NONE")
    elif resolution == "STATIC":
        for i, ep in endpoints:
            _static_endpoint(v, ep, ("spec", "endpoints", i), names)
    elif resolution in ("DNS", "DNS_ROUND_ROBIN"):
        if not endpoints_raw:
            for i, host in enumerate(hosts_raw):
                if not isinstance(host, str):
                    continue
                err = h.fqdn_error(host)
                if err:
                    v.err(("spec", "hosts", i), "SE-27",
                          "hosts must be FQDN or contain only prefix wildcards if no endpoints are "
                          f"provided for resolution mode {resolution}, {err}")
                    break
        # SE-28: CEL "DNS_ROUND_ROBIN mode cannot have multiple endpoints".
        for i, ep in endpoints:
            base = ("spec", "endpoints", i)
            addr = ep.get("address")
            saddr = addr if isinstance(addr, str) else ""
            if "address" not in ep and "network" not in ep:
                pass  # CEL "Address is required"
            elif not h.is_ip(saddr) and h.fqdn_error(saddr):
                v.err(base + ("address",), "SE-29",
                      f"endpoint address {h.goq(saddr)} is not a valid FQDN or an IP address")
            _endpoint_labels(v, ep, base)
            _endpoint_ports(v, ep, base, names)
        if addresses:
            for _i, p in ports:
                if h.parse_protocol(h.get_str(p, "protocol")) in h.TCP_PROTOCOLS:
                    if len(hosts_raw) > 1:
                        v.warn(("spec", "addresses"), "SE-30",
                               "service entry can not have more than one host specified simultaneously with address and tcp port")
                    break
    elif resolution == "DYNAMIC_DNS":
        for i, host in enumerate(hosts_raw):
            if isinstance(host, str) and not host.startswith("*"):
                v.err(("spec", "hosts", i), "SE-31", f"host must be wildcarded for resolution mode {resolution}")
        if addresses:
            v.err(("spec", "addresses"), "SE-31",
                  f"addresses cannot be set for resolution type {resolution}. HTTP route domains will only be generated"
                  "from the hosts field values")
        if endpoints_raw:
            v.err(("spec", "endpoints"), "SE-31",
                  f"endpoints cannot be set for resolution type {resolution}. Destination IP address determined from hosts"
                  "field values")
        for i, p in ports:
            if h.parse_protocol(h.get_str(p, "protocol")) not in ("HTTP", "TLS", "GRPC", "HTTP2"):
                v.err(("spec", "ports", i, "protocol"), "SE-31",
                      f"only HTTP, TLS, GRPC, and HTTP2 protocols are supported for resolution type {resolution}")
        waypoint = se.labels.get("istio.io/use-waypoint", "")
        if spec.get("location") == "MESH_INTERNAL" and waypoint and waypoint.lower() != "none":
            v.err(("spec", "location"), "SE-31",
                  f"location MESH_INTERNAL with resolution type {resolution} is not supported when using waypoints")
    # Unknown resolution (SE-32): OpenAPI enum.

    if resolution in RESOLUTIONS and resolution != "NONE" and len(hosts_raw) > 1:
        for _i, p in ports:
            proto = h.parse_protocol(h.get_str(p, "protocol"))
            if proto not in h.HTTP_PROTOCOLS and proto not in h.TLS_PROTOCOLS:
                v.err(("spec", "hosts"), SE_MULTI_HOST, "multiple hosts provided with non-HTTP, non-TLS ports")
                break

    h.export_to_issues(v, spec.get("exportTo"), se.namespace, ("spec", "exportTo"), "SE-34", service_entry=True)
    return v


def _static_endpoint(v: h.Issues, ep: dict[str, Any], base: tuple, names: set[str]) -> None:
    """``validateWorkloadEntry(endpoint, servicePorts, allowFQDN=false)`` (SE-21..SE-26)."""
    addr = ep.get("address")
    saddr = addr if isinstance(addr, str) else ""
    network = h.get_str(ep, "network")
    if saddr == "":
        if network == "":
            if "address" in ep or "network" in ep:  # both absent: CEL "Address is required"
                v.err(base + ("address",), "SE-21", "address is required")
            return
        v.warn(base + ("network",), "SE-21", f"address is unset with network {h.goq(network)}")
    unix = saddr.startswith("unix://")
    # unix:// path shape and ports (SE-22): CEL rules on the endpoint.
    if saddr and not unix and not h.is_ip(saddr):
        v.err(base + ("address",), "SE-23", f"endpoint address {h.goq(saddr)} is not a valid IP address")
    _endpoint_ports(v, ep, base, names)
    _endpoint_labels(v, ep, base)
    if unix and len(names) != 1:
        v.err(base + ("address",), "SE-26", "exactly 1 service port required for unix endpoints")


_SE_BAD = """
kind: ServiceEntry
spec:
  hosts: [api.example.com, "*.bad_host.example.com"]
  resolution: STATIC
  ports:
  - {number: 80, name: http_web, protocol: HTTP}
  endpoints:
  - address: vm-1.example.com      # STATIC needs IPs
"""

_SE_GOOD = """
kind: ServiceEntry
spec:
  hosts: [api.example.com]
  resolution: STATIC
  ports:
  - {number: 80, name: http-web, protocol: HTTP}
  endpoints:
  - address: 10.0.0.1
"""


@rule(
    code="IVL630", family="validation_serviceentry", scope="resource", name="service-entry-invalid", severity="error",
    summary="A ServiceEntry breaks Istio's validation and would be rejected by the admission webhook.",
    rationale="""
    Port of Istio's `ValidateServiceEntry` (docs/semantics.md §validation-serviceentry, SE-01..SE-34):
    host and address syntax, port names (DNS-1123, so a name is required) and protocols,
    duplicate port names, STATIC endpoints that are not IP addresses, DNS endpoints that are not
    FQDNs, invalid endpoint labels, DNS resolution without endpoints on non-FQDN hosts,
    DYNAMIC_DNS restrictions and exportTo syntax. The webhook rejects the object
    (`istioctl analyze` IST0106) with the message shown, so the change never reaches the mesh.
    Checks that the CRD's own CEL/OpenAPI rules enforce identically are reported by IVL010/IVL011
    instead; "multiple hosts with non-HTTP ports" and "endpoint port not defined" have their own
    codes (IVL632, IVL633).
    """,
    bad=_SE_BAD, good=_SE_GOOD,
    inputs=("ServiceEntry",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-serviceentry",),
)
def service_entry_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "ServiceEntry", validate, "E", exclude=(SE_UNDEFINED_PORT, SE_MULTI_HOST))


@rule(
    code="IVL631", family="validation_serviceentry", scope="resource", name="service-entry-validation-warning", severity="warning",
    summary="A ServiceEntry gets an Istio validation warning (accepted, but probably not what was meant).",
    rationale="""
    The warnings of Istio's `ValidateServiceEntry` (docs/semantics.md §validation-serviceentry): a workloadSelector
    without labels (selects every workload of the namespace, SE-02), partial wildcard hosts such
    as `*foo.com` outside DYNAMIC_DNS (SE-07), a workloadSelector with resolution NONE (ignored,
    SE-19), a STATIC endpoint with a network but no address (SE-21), and DNS resolution with
    addresses, several hosts and a TCP port (SE-30). `kubectl apply` prints them as admission
    warnings and `istioctl analyze` as IST0133. SE-14 (addresses required for TCP ports) is
    IVL731.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [api.example.com]
      resolution: NONE
      workloadSelector:
        labels: {app: api}
    """,
    good="""
    kind: ServiceEntry
    spec:
      hosts: [api.example.com]
      resolution: STATIC
      workloadSelector:
        labels: {app: api}
    """,
    inputs=("ServiceEntry",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-serviceentry",),
)
def service_entry_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "ServiceEntry", validate, "W")


@rule(
    code="IVL632", family="validation_serviceentry", scope="resource", name="service-entry-multiple-hosts-non-http-ports", severity="error",
    summary="A ServiceEntry with DNS/STATIC resolution lists several hosts and a port that is not HTTP or TLS.",
    rationale="""
    For plain TCP (and an unset protocol, which counts as TCP here) Envoy cannot tell the hosts
    apart: there is no Host header and no SNI. Istio therefore rejects a ServiceEntry whose
    resolution is not NONE when it has more than one host and any non-HTTP, non-TLS port
    (docs/semantics.md §validation-serviceentry SE-33, IST0106). This is common when several database or broker
    hostnames are grouped in one entry: split them into one ServiceEntry per host, or set the
    port protocol to TLS/HTTPS when the clients use SNI.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [db-1.example.com, db-2.example.com]
      resolution: DNS
      ports:
      - {number: 5432, name: tcp-postgres, protocol: TCP}
    """,
    good="""
    kind: ServiceEntry
    spec:
      hosts: [db-1.example.com]
      resolution: DNS
      ports:
      - {number: 5432, name: tcp-postgres, protocol: TCP}
    """,
    inputs=("ServiceEntry",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-serviceentry SE-33",),
)
def service_entry_multiple_hosts_non_http_ports(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "ServiceEntry", validate, "E", only=(SE_MULTI_HOST,))


@rule(
    code="IVL633", family="validation_serviceentry", scope="resource", name="service-entry-endpoint-port-undefined", severity="error",
    summary="A ServiceEntry endpoint maps a port name that is not one of the entry's port names.",
    rationale="""
    `endpoints[].ports` maps the ServiceEntry's port *names* to the port the endpoint (often a
    VM) listens on. A key that is not a `spec.ports[].name` is a typo or a stale name: Istio
    rejects the entry for STATIC and DNS resolution with `endpoint port <number> is not defined
    by the service entry` (docs/semantics.md §validation-serviceentry SE-24, IST0106; the message prints the
    endpoint's port number, not the name). The finding points at the offending key.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      ports:
      - {number: 80, name: http, protocol: HTTP}
      endpoints:
      - address: 10.0.0.1
        ports: {http-web: 8080}
    """,
    good="""
    kind: ServiceEntry
    spec:
      ports:
      - {number: 80, name: http, protocol: HTTP}
      endpoints:
      - address: 10.0.0.1
        ports: {http: 8080}
    """,
    inputs=("ServiceEntry",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-serviceentry SE-24",),
)
def service_entry_endpoint_port_undefined(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "ServiceEntry", validate, "E", only=(SE_UNDEFINED_PORT,))
