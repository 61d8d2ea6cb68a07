"""IVL293: a port of a server-first protocol (SMTP, FTP, SSH, POP3, IMAP, MySQL) declared HTTP
(docs/semantics.md §server-first-protocols)."""

from __future__ import annotations

import re
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Service, ServiceEntry
from istio_vm_lint.rule import Context, rule

# Well-known ports whose server speaks first, and the protocol names that say so.
_PORTS = {21: "FTP", 22: "SSH", 25: "SMTP", 110: "POP3", 143: "IMAP", 587: "SMTP", 3306: "MySQL"}
_NAMES = {"smtp": "SMTP", "ftp": "FTP", "ssh": "SSH", "pop3": "POP3", "imap": "IMAP", "mysql": "MySQL"}
_HTTP = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})
_NAMED_NON_HTTP = frozenset({"tcp", "tls", "https", "mongo", "mysql", "redis"})
# Name tokens of the HTTP companions such servers ship with (a MySQL exporter's metrics port, a
# mail server's web UI, an SFTP gateway's REST API): a port named ``http-mysql-exporter`` is
# an HTTP port about MySQL, not MySQL.
_HTTP_COMPANIONS = frozenset({"exporter", "metrics", "prometheus", "stats", "monitor", "monitoring", "health",
                              "ui", "webui", "web", "www", "gui", "admin", "console", "dashboard", "portal",
                              "api", "rest", "webhook", "manager", "proxy"})


def _declared(r: object, p: object) -> Optional[tuple[str, str]]:
    """(field, protocol) when the port is declared with an HTTP-family protocol."""
    if isinstance(r, ServiceEntry):
        raw = p.protocol.upper()  # type: ignore[attr-defined]
        return ("protocol", raw) if raw in _HTTP else None
    app = p.app_protocol  # type: ignore[attr-defined]
    if app:
        raw = {"kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP"}.get(app, app.upper())
        return ("appProtocol", raw) if raw in _HTTP else None
    prefix = (p.name or "").lower().split("-", 1)[0]  # type: ignore[attr-defined]
    return ("name", prefix.upper()) if prefix.upper() in _HTTP else None


def _server_first(p: object) -> Optional[str]:
    tokens = re.split(r"[-_.]", (p.name or "").lower())  # type: ignore[attr-defined]
    if not _HTTP_COMPANIONS.intersection(tokens):
        for token in tokens:
            if token in _NAMES:
                return _NAMES[token]
    numbers = {p.number, p.effective_target}  # type: ignore[attr-defined]
    return next((_PORTS[n] for n in sorted(x for x in numbers if isinstance(x, int)) if n in _PORTS), None)


@rule(
    code="IVL293", family="protocols", name="server-first-protocol-declared-http", severity="error",
    summary="A port of a server-first protocol (SMTP, FTP, SSH, POP3, IMAP, MySQL) is declared HTTP, so neither side ever speaks.",
    rationale="""
    In a server-first protocol the server sends the first bytes (an SMTP or FTP banner, the SSH
    version string, MySQL's handshake) and the client waits for them (docs/semantics.md
    §server-first-protocols). A port declared HTTP (ServiceEntry `protocol`, Service
    `appProtocol` or an `http-` name) gets an HTTP connection manager, which waits for the
    client's request before it opens the upstream connection: the client waits for a banner
    that never comes and the connection times out. Istio's documentation requires such ports
    to be declared TCP. Reported when the port's name says the protocol (`smtp`, `ftp`, `ssh`,
    `pop3`, `imap`, `mysql`; not a name that also says it is an HTTP companion such as
    `http-mysql-exporter` or `http-smtp-admin`) or its number is the protocol's well-known port (21, 22, 25, 110,
    143, 587, 3306) and the port is declared HTTP, HTTP2 or gRPC. Not checked by istioctl or
    Kiali.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: [smtp.corp.internal]
      ports: [{number: 25, name: smtp, protocol: HTTP}]
    """,
    good="""
      ports: [{number: 25, name: tcp-smtp, protocol: TCP}]
    """,
    inputs=("ServiceEntry", "Service"),
    equivalents=(),
    references=("docs/semantics.md §server-first-protocols", "docs/semantics.md §protocol-selection"),
)
def server_first_protocol_declared_http(ctx: Context) -> Iterator[Problem]:
    for r in ctx.each(ServiceEntry, Service):
        for p in r.ports:
            declared = _declared(r, p)
            if declared is None:
                continue
            if (p.name or "").lower().split("-", 1)[0] in _NAMED_NON_HTTP:
                continue  # the name says TCP/TLS/a database: IVL217 reports the contradiction
            proto = _server_first(p)
            if proto is None:
                continue
            field, raw = declared
            number = p.number if p.number is not None else "?"
            how = f"its {field} is {raw}" if field != "name" else f"its name '{p.name}' declares {raw}"
            yield Problem(r, p.path + ((field,) if field != "name" else ("name",)),
                          f"{r.kind} {r.namespace}/{r.name}: port {number} carries {proto}, a server-first protocol, "
                          f"but {how}: the proxy waits for an HTTP request before it connects upstream while the "
                          f"client waits for the server's greeting, so every connection hangs until it times out — "
                          "declare it TCP (§server-first-protocols)")
