"""IVL65x: Istio's Sidecar validation (``ValidateSidecar``), done on files.

Port of docs/semantics.md §validation-sidecar (SC-01..SC-31).  Required fields (ingress ``port``, egress
``hosts``), null listeners, enums and the CRD's CEL rules (wildcard selector values, TLS
credential combinations, durations below 1ms) are IVL010/IVL011's.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h


def split_host_port(hostport: str) -> tuple[str, str, Optional[str]]:
    """Go ``net.SplitHostPort`` (host, port, error text)."""
    def err(why: str) -> tuple[str, str, str]:
        return "", "", f"address {hostport}: {why}"

    i = hostport.rfind(":")
    if i < 0:
        return err("missing port in address")
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return err("missing ']' in address")
        if end + 1 == len(hostport):
            return err("missing port in address")
        if end + 1 != i:
            return err("too many colons in address") if hostport[end + 1] == ":" else err("missing port in address")
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            return err("too many colons in address")
    if "[" in hostport[j:]:
        return err("unexpected '[' in address")
    if "]" in hostport[k:]:
        return err("unexpected ']' in address")
    return host, hostport[i + 1:], None


def _atoi_error(text: str) -> Optional[str]:
    if h._atoi_ok(text):
        return None
    import re
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return f"strconv.Atoi: parsing {h.goq(text)}: value out of range"
    return f"strconv.Atoi: parsing {h.goq(text)}: invalid syntax"


def _port_checks(v: h.Issues, port: dict[str, Any], pp: FieldPath, rid: str, check_number: bool = True) -> None:
    """Name (optional), protocol and number of a SidecarPort (SC-07/SC-26)."""
    name = h.get_str(port, "name")
    if name:
        v.err(pp + ("name",), rid, h.port_name_error(name))
    v.err(pp + ("protocol",), rid, h.protocol_error(h.get_str(port, "protocol")))
    if check_number:
        num = h.get_int(port, "number")
        n = 0 if num is None else num
        if n >= 0:  # negative: OpenAPI minimum (IVL010)
            v.err(pp + ("number",) if "number" in port else pp, rid, h.port_error(n))


def validate(sc: Resource) -> h.Issues:
    """``ValidateSidecar`` (§validation-sidecar)."""
    v = h.Issues()
    spec = sc.spec
    ws = spec.get("workloadSelector")
    if isinstance(ws, dict):
        bad = h.selector_issues(v, ws.get("labels"), ("spec", "workloadSelector", "labels"), "SC-01",
                                "sidecar: workload selector specified without labels, will be applied to all services in namespace",
                                ("spec", "workloadSelector"), keys_only=True)
        if bad:  # SC-01 returns at once (wildcard values: CEL, IVL011)
            v.items = [i for i in v.items if i.level == "E"]
            return v
    ingress, egress = as_list(spec.get("ingress")), as_list(spec.get("egress"))
    if not ingress and not egress and spec.get("outboundTrafficPolicy") is None and spec.get("inboundConnectionPool") is None:
        return _only(v, ("spec",), "SC-03", "sidecar: empty configuration provided")

    ports: set[int] = set()
    for i, listener in enumerate(ingress):
        if not isinstance(listener, dict) or not isinstance(listener.get("port"), dict):
            continue  # null listener (SC-04) / missing port (SC-05): OpenAPI (IVL010)
        lp = ("spec", "ingress", i)
        port = listener["port"]
        pp = lp + ("port",)
        target = h.get_int(port, "targetPort")
        if target is not None and target > 0:
            v.err(pp + ("targetPort",), "SC-06", "targetPort has no impact on Sidecars")
        _port_checks(v, port, pp, "SC-07")
        bind = h.get_str(listener, "bind")
        if bind:
            v.err(lp + ("bind",), "SC-07", h.ip_error(bind))
        num = h.get_int(port, "number") or 0
        if num in ports:
            v.err(pp + ("number",), "SC-08", "sidecar: ports on IP bound listeners must be unique")
        ports.add(num)
        _default_endpoint(v, h.get_str(listener, "defaultEndpoint"), lp + ("defaultEndpoint",))
        tls = listener.get("tls")
        if isinstance(tls, dict):
            tp = lp + ("tls",)
            if as_list(tls.get("subjectAltNames")):
                v.err(tp + ("subjectAltNames",), "SC-13", "sidecar: subjectAltNames is not supported in ingress tls")
            if tls.get("httpsRedirect") is True:
                v.err(tp + ("httpsRedirect",), "SC-14", "sidecar: httpsRedirect is not supported")
            if h.get_str(tls, "credentialName"):
                v.err(tp + ("credentialName",), "SC-15", "sidecar: credentialName is not currently supported")
            if as_list(tls.get("credentialNames")):
                v.err(tp + ("credentialNames",), "SC-15", "sidecar: credentialNames is not currently supported")
            if as_list(tls.get("tlsCertificates")):
                v.err(tp + ("tlsCertificates",), "SC-15", "sidecar: tls_certificates is not currently supported")
            mode = h.get_str(tls, "mode")
            if mode in ("ISTIO_MUTUAL", "AUTO_PASSTHROUGH"):
                v.err(tp + ("mode",), "SC-16", f"configuration is invalid: cannot set mode to {mode} in sidecar ingress tls")
            if h.parse_protocol(h.get_str(port, "protocol")) not in h.TLS_PROTOCOLS:
                v.err(tp, "SC-17", "server cannot have TLS settings for non HTTPS/TLS ports")
            h.server_tls_issues(v, tls, tp)  # SC-18: the Gateway TLS rules
        pool = listener.get("connectionPool")
        h.connection_pool_issues(v, pool, lp + ("connectionPool",), "SC-19")
        if isinstance(pool, dict) and pool.get("http") is not None and \
                h.parse_protocol(h.get_str(port, "protocol")) not in h.HTTP_PROTOCOLS:
            v.warn(lp + ("connectionPool", "http"), "SC-20",
                   f"sidecar: HTTP connection pool settings are configured for port {num} ({h.goq(h.get_str(port, 'name'))}) "
                   f"but its protocol is not HTTP ({h.get_str(port, 'protocol')}); only TCP settings will apply")
    h.connection_pool_issues(v, spec.get("inboundConnectionPool"), ("spec", "inboundConnectionPool"), "SC-19")

    ports = set()
    uds: set[str] = set()
    catch_all = False
    for i, listener in enumerate(egress):
        if not isinstance(listener, dict):
            continue  # null listener (SC-21): OpenAPI type (IVL010)
        lp = ("spec", "egress", i)
        port = listener.get("port")
        if not isinstance(port, dict):
            if not catch_all:
                if i == len(egress) - 1:
                    catch_all = True
                else:
                    v.err(lp, "SC-22", "sidecar: the egress listener with empty port should be the last listener in the list")
            else:
                v.err(lp, "SC-22", "sidecar: egress can have only one listener with empty port")
                continue
        else:
            pp = lp + ("port",)
            target = h.get_int(port, "targetPort")
            if target is not None and target > 0:
                v.err(pp + ("targetPort",), "SC-06", "targetPort has no impact on Sidecars")
            bind = h.get_str(listener, "bind")
            num = h.get_int(port, "number") or 0
            if num == 0:
                _port_checks(v, port, pp, "SC-25", check_number=False)
                if not bind.startswith("unix://"):
                    v.err(lp + ("bind",) if bind else pp, "SC-25",
                          "sidecar: ports with 0 value must have a unix domain socket bind address")
                else:
                    v.err(lp + ("bind",), "SC-25", h.unix_address_error(bind[len("unix://"):]))
                if h.get_str(listener, "captureMode") not in ("", "DEFAULT", "NONE"):
                    v.err(lp + ("captureMode",), "SC-25", "sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners")
                if bind in uds:
                    v.err(lp + ("bind",), "SC-27", "sidecar: unix domain socket values for listeners must be unique")
                uds.add(bind)
            else:
                _port_checks(v, port, pp, "SC-26")
                if bind:
                    v.err(lp + ("bind",), "SC-26", h.ip_error(bind))
                if num in ports:
                    v.err(pp + ("number",), "SC-27", "sidecar: ports on IP bound listeners must be unique")
                ports.add(num)
        hosts = listener.get("hosts")
        if isinstance(hosts, list) and not hosts:  # absent: OpenAPI "required"
            v.err(lp + ("hosts",), "SC-23", "sidecar: egress listener must contain at least one host")
        _egress_hosts(v, as_list(hosts), lp + ("hosts",), sc.namespace)

    _outbound(v, spec.get("outboundTrafficPolicy"), ("spec", "outboundTrafficPolicy"))
    return v


def _only(v: h.Issues, path: FieldPath, rid: str, msg: str) -> h.Issues:
    out = h.Issues()
    out.err(path, rid, msg)
    return out


def _default_endpoint(v: h.Issues, ep: str, p: FieldPath) -> None:
    """SC-09..SC-12."""
    if not ep:
        return
    if ep.startswith("unix://"):
        v.err(p, "SC-09", h.unix_address_error(ep[len("unix://"):]))
        return
    host, port, err = split_host_port(ep)
    v.err(p, "SC-10", err)
    if host not in ("", "127.0.0.1", "0.0.0.0", "::1", "::"):
        v.err(p, "SC-11", "sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,"
                          "unix://filepath or unset")
    aerr = _atoi_error(port)
    if aerr:
        v.err(p, "SC-12", f"sidecar: defaultEndpoint port ({port}) is not a number: {aerr}")
    else:
        v.err(p, "SC-12", h.port_error(int(port)))


def _egress_hosts(v: h.Issues, hosts: list[Any], p: FieldPath, namespace: str) -> None:
    """SC-24 (syntax), SC-28/SC-29 (duplicates, warnings)."""
    seen: dict[str, dict[str, bool]] = {}
    for j, hostname in enumerate(hosts):
        if not isinstance(hostname, str):
            continue
        hp = p + (j,)
        ns, slash, svc = hostname.partition("/")
        if slash and not ns.startswith("~"):
            if ns == ".":
                ns = namespace
            entry = seen.setdefault(ns, {})
            if svc != "*":
                if svc in entry or entry.get("*"):
                    v.warn(hp, "SC-28", f"duplicated egress host: {hostname}")
            elif entry:
                v.warn(hp, "SC-28", f"duplicated egress host: {hostname}")
            entry[svc] = True
        v.errs(hp, "SC-24", h.ns_slash_host_errors(hostname, gateway=False))
    if seen.get("*", {}).get("*") and len(seen) != 1:
        v.warn(p, "SC-29", "`*/*` host select all resources, no other hosts can be added")


def _outbound(v: h.Issues, tp: Any, p: FieldPath) -> None:
    """``validateSidecarOutboundTrafficPolicy`` (SC-31; SC-30 cannot be written with the CRD enum)."""
    if not isinstance(tp, dict):
        return
    proxy = tp.get("egressProxy")
    if not isinstance(proxy, dict):
        return
    if h.get_str(tp, "mode") != "ALLOW_ANY":
        v.err(p + ("mode",) if "mode" in tp else p, "SC-31",
              "sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode")
        return
    pp = p + ("egressProxy",)
    if "host" in proxy:  # absent: OpenAPI "required"
        v.err(pp + ("host",), "SC-31", h.fqdn_error(h.get_str(proxy, "host")))
    if proxy.get("port") is None:
        v.err(pp, "SC-31", "sidecar: egress_proxy port must be non-nil")
        return
    host = h.get_str(proxy, "host")
    if host == "*":
        v.err(pp + ("host",), "SC-31", f"invalid destination host {host}")
    elif "host" in proxy:
        v.err(pp + ("host",), "SC-31", h.wildcard_domain_error(host))
    subset = h.get_str(proxy, "subset")
    if subset and not h.is_dns_label(subset):
        v.err(pp + ("subset",), "SC-31", f"subset name is invalid: {subset}")
    port = as_map(proxy.get("port"))
    num = h.get_int(port, "number")
    n = 0 if num is None else num
    if n >= 0:
        v.err(pp + ("port",), "SC-31", h.port_error(n))


@rule(
    code="IVL650", family="validation_sidecar", scope="resource", name="sidecar-invalid", severity="error",
    summary="A Sidecar breaks Istio's validation and would be rejected by the admission webhook.",
    rationale="""
    Port of Istio's `ValidateSidecar` (docs/semantics.md §validation-sidecar, SC-01..SC-31): a
    Sidecar must configure something; ingress listeners need valid, unique port numbers,
    names and protocols, a loopback or `unix://` defaultEndpoint and TLS settings Istio supports
    for sidecars (no credentialName, SAN, httpsRedirect, ISTIO_MUTUAL or AUTO_PASSTHROUGH);
    egress listeners need `namespace/dnsName` hosts, unique ports or unix sockets, at most one
    catch-all listener placed last; connection pools follow the DestinationRule rules;
    `egressProxy` requires ALLOW_ANY and a port. The webhook rejects the object
    (`istioctl analyze` IST0106), which for a namespace-wide Sidecar means the intended egress
    lockdown never happens. Required fields, enums and CEL rules are IVL010/IVL011's.
    """,
    bad="""
    kind: Sidecar
    spec:
      egress:
      - hosts: [istio-system/*, whoami]   # not namespace/dnsName
    """,
    good="""
    kind: Sidecar
    spec:
      egress:
      - hosts: [istio-system/*, ./whoami.vm.svc.cluster.local]
    """,
    inputs=("Sidecar",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-sidecar",),
)
def sidecar_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "Sidecar", validate, "E")


@rule(
    code="IVL651", family="validation_sidecar", scope="resource", name="sidecar-validation-warning", severity="warning",
    summary="A Sidecar gets an Istio validation warning (selector without labels, duplicate egress hosts, HTTP pool on a TCP port).",
    rationale="""
    The warnings of Istio's Sidecar validation (docs/semantics.md §validation-sidecar): a `workloadSelector`
    without labels, which makes the Sidecar apply to the whole namespace (SC-02); HTTP
    connection-pool settings on an ingress port whose protocol is not HTTP, so only the TCP
    settings apply (SC-20); duplicate egress hosts, a host already covered by `ns/*` (SC-28)
    and `*/*` combined with other namespaces (SC-29). `kubectl apply` prints them as admission
    warnings, `istioctl analyze` as IST0133.
    """,
    bad="""
    egress:
    - hosts: [istio-system/*, istio-system/istiod.istio-system.svc.cluster.local]
    """,
    good="""
    egress:
    - hosts: [istio-system/*]
    """,
    inputs=("Sidecar",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-sidecar",),
)
def sidecar_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "Sidecar", validate, "W")
