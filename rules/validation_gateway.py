"""IVL60x: Istio's Gateway validation (``ValidateGateway``), done on files.

Port of docs/semantics.md §validation-gateway (GW-01..GW-25).  Required fields (server ``port``/``hosts``,
port ``number``/``protocol``/``name``), null servers and the CRD's CEL rules on TLS credential
combinations are IVL010/IVL011's; only what Go validation adds is reported here.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h


def validate(gw: Resource) -> h.Issues:
    """``ValidateGateway`` (§validation-gateway)."""
    v = h.Issues()
    semantics = gw.annotations.get("internal.istio.io/gateway-semantics") == "gateway"
    if not h.is_dns_label(gw.name) and not semantics:
        v.err(("metadata", "name"), "GW-01", f"invalid gateway name: {h.goq(gw.name)}")
    servers = gw.spec.get("servers")
    if (isinstance(servers, list) and not servers) or (servers is None and isinstance(gw.data.get("spec"), dict)):
        v.err(("spec", "servers"), "GW-02", "gateway must have at least one server")
    for i, s in enumerate(as_list(servers)):
        if isinstance(s, dict):  # null server (GW-03): OpenAPI type (IVL010)
            _server(v, s, ("spec", "servers", i), semantics)
    names: set[str] = set()
    for i, s in enumerate(as_list(servers)):
        port = as_map(s).get("port") if isinstance(s, dict) else None
        if not isinstance(port, dict):
            continue
        name = h.get_str(port, "name")
        if name in names and "name" in port:  # absent name: OpenAPI "required" (IVL010)
            v.err(("spec", "servers", i, "port", "name"), "GW-16",
                  f"port names in servers must be unique: duplicate name {name}")
        names.add(name)
        tls = as_map(s.get("tls"))
        if h.parse_protocol(h.get_str(port, "protocol")) not in h.HTTP_PROTOCOLS and tls.get("httpsRedirect") is True:
            v.warn(("spec", "servers", i, "tls", "httpsRedirect"), "GW-17",
                   "tls.httpsRedirect should only be used with http servers")
    return v


def _server(v: h.Issues, s: dict, p: tuple, semantics: bool) -> None:
    hosts = s.get("hosts")
    if isinstance(hosts, list) and not hosts:  # absent: OpenAPI "required"
        v.err(p + ("hosts",), "GW-04", "server config must contain at least one host")
    for j, host in enumerate(as_list(hosts)):
        if isinstance(host, str):
            v.errs(p + ("hosts", j), "GW-05", h.ns_slash_host_errors(host, gateway=True, gateway_semantics=semantics))
    port = s.get("port")
    bind = h.get_str(s, "bind")
    port_ok = isinstance(port, dict)  # missing port (GW-06): OpenAPI "required"
    if isinstance(port, dict):
        pp = p + ("port",)
        proto = port.get("protocol")
        if h.parse_protocol(h.get_str(port, "protocol")) == "UNSUPPORTED":
            port_ok = False
            if isinstance(proto, str):  # absent: OpenAPI "required"
                v.err(pp + ("protocol",), "GW-07", f"invalid protocol {h.goq(proto)}, supported protocols are "
                                                   "HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP")
        num = h.get_int(port, "number")
        n = num if num is not None else 0
        if n > 0 or not bind.startswith("unix://"):
            err = h.port_error(n)
            if err:
                port_ok = False
                if num is not None and num >= 0:  # absent: "required"; negative: OpenAPI minimum
                    v.err(pp + ("number",), "GW-08", err)
        target = h.get_int(port, "targetPort")
        if target is not None and target > 0:
            port_ok = False
            v.err(pp + ("targetPort",), "GW-09", "targetPort has no impact on Gateways")
        if "name" in port and h.get_str(port, "name") == "":  # absent: OpenAPI "required"
            port_ok = False
            v.err(pp + ("name",), "GW-10", f"port name must be set: {h.port_text(port)}")
        elif "name" not in port:
            port_ok = False
    if bind.startswith("unix://"):
        v.err(p + ("bind",), "GW-11", h.unix_address_error(bind[len("unix://"):]))
        if isinstance(port, dict) and h.get_int(port, "number"):
            v.err(p + ("port", "number"), "GW-11", f"port number must be 0 for unix domain socket: {h.port_text(port)}")
    elif bind:
        v.err(p + ("bind",), "GW-12", h.ip_error(bind))
    tls = s.get("tls")
    h.server_tls_issues(v, tls, p + ("tls",))
    if port_ok and isinstance(port, dict):
        proto = h.parse_protocol(h.get_str(port, "protocol"))
        if proto in h.TLS_PROTOCOLS and tls is None:
            v.err(p + ("port", "protocol"), "GW-13", "server must have TLS settings for HTTPS/TLS protocols")
        elif proto not in h.TLS_PROTOCOLS and tls is not None:
            t = as_map(tls)
            if proto in h.HTTP_PROTOCOLS:
                passthrough = (h.get_str(t, "mode") or "PASSTHROUGH") in ("PASSTHROUGH", "AUTO_PASSTHROUGH")
                if not passthrough or any(h.truthy(t, k) for k in ("caCertificates", "privateKey", "serverCertificate")):
                    v.err(p + ("tls",), "GW-14", "server cannot have TLS settings for plain text HTTP ports")
            else:
                v.err(p + ("tls",), "GW-15", "server cannot have TLS settings for non HTTPS/TLS ports")


@rule(
    code="IVL600", family="validation_gateway", scope="resource", name="gateway-invalid", severity="error",
    summary="A Gateway breaks Istio's validation and would be rejected by the admission webhook.",
    rationale="""
    Port of Istio's `ValidateGateway` (docs/semantics.md §validation-gateway, GW-01..GW-25):
    the Gateway name must be a DNS label, servers need hosts in `namespace/dnsName` form (no
    short names, no partial wildcards), a supported protocol, a port number in range (0 only for
    `unix://` binds), a non-empty and unique port name and no targetPort; HTTPS/TLS servers need
    `tls` settings, plain HTTP and TCP servers may not terminate TLS; and the TLS settings
    themselves must be consistent (ISTIO_MUTUAL without certificates, one certificate source,
    SIMPLE/MUTUAL with a certificate and key or a credentialName, MUTUAL with a client CA, CRL
    restrictions). The webhook rejects the object (`istioctl analyze` IST0106). Required fields
    and the CRD's CEL rules are reported by IVL010/IVL011.
    """,
    bad="""
    kind: Gateway
    spec:
      servers:
      - port: {number: 443, name: https, protocol: HTTPS}
        hosts: [whoami]                # short name, and no tls settings
    """,
    good="""
    kind: Gateway
    spec:
      servers:
      - port: {number: 443, name: https, protocol: HTTPS}
        hosts: [whoami.example.com]
        tls: {mode: SIMPLE, credentialName: whoami-cert}
    """,
    inputs=("Gateway",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-gateway",),
)
def gateway_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "Gateway", validate, "E")


@rule(
    code="IVL601", family="validation_gateway", scope="resource", name="gateway-validation-warning", severity="warning",
    summary="A Gateway gets an Istio validation warning (ignored TLS settings or ciphers).",
    rationale="""
    The warnings of Istio's Gateway validation (docs/semantics.md §validation-gateway): `tls.httpsRedirect` on
    a non-HTTP server (GW-17), TLS 1.0/1.1 as minimum version without explicit cipher suites
    (GW-18: the defaults no longer include compatible ciphers, so old clients fail), unknown or
    duplicate cipher suites that Envoy ignores (GW-19), and certificates configured on a
    PASSTHROUGH/AUTO_PASSTHROUGH server, where they are ignored (GW-21). `kubectl apply` prints
    them as admission warnings, `istioctl analyze` as IST0133.
    """,
    bad="""
    servers:
    - port: {number: 443, name: tls, protocol: TLS}
      hosts: [whoami.example.com]
      tls: {mode: PASSTHROUGH, credentialName: whoami-cert}
    """,
    good="""
    servers:
    - port: {number: 443, name: tls, protocol: TLS}
      hosts: [whoami.example.com]
      tls: {mode: PASSTHROUGH}
    """,
    inputs=("Gateway",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-gateway",),
)
def gateway_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "Gateway", validate, "W")
