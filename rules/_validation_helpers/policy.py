"""Connection pools (DestinationRule traffic policy, Sidecar inbound) and server TLS settings."""

from __future__ import annotations

from typing import Any

from istio_vm_lint.findings import FieldPath
from istio_vm_lint.model import as_list, as_map

from .gofmt import gov
from .issues import Issues
from .values import duration_errors, get_int, get_str, parse_duration, truthy


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
