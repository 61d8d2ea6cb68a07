"""IVL295: an external service's port 443 declared HTTP with no TLS origination for it
(docs/semantics.md §tls-origination-ports)."""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import ServiceEntry, VirtualService, as_list
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.protocols import _HTTP_FAMILY, _ORIGINATES, _mesh_routes_elsewhere, _tls_modes_for
from istio_vm_lint.semantics import host_matches, resolve_host


def _routed_at_all(ctx: Context, host: str) -> bool:
    """Does some VirtualService send traffic for ``host`` through a gateway (an egress hop may
    originate TLS with a rule the repository does not show)?"""
    domain = ctx.settings.cluster_domain
    for vs in ctx.each(VirtualService):
        if any(host_matches(resolve_host(h, vs.namespace, domain), host) for h in vs.hosts) \
                and any(g != "mesh" for g in as_list(vs.spec.get("gateways"))):
            return True
    return False


@rule(
    code="IVL295", family="protocols", name="external-https-port-declared-http", severity="warning",
    summary="An external ServiceEntry declares port 443 as HTTP and no DestinationRule originates TLS for it, so neither HTTPS clients nor plain-HTTP clients get through.",
    rationale="""
    A ServiceEntry port's `protocol` decides how the client's sidecar handles the bytes on that
    port (docs/semantics.md §protocol-selection). Port 443 of an external API speaks TLS. Declared
    HTTP, the sidecar runs an HTTP connection manager there: an application that calls
    `https://host` sends a TLS ClientHello, which the HTTP codec rejects; an application that
    sends plain HTTP to port 443 reaches the TLS server in plain text unless a DestinationRule
    originates TLS for that port (istio.io's older TLS-origination layout:
    `number: 443, protocol: HTTP` with `portLevelSettings` port 443 `tls.mode: SIMPLE`;
    docs/semantics.md §tls-origination-ports). Reported for MESH_EXTERNAL ServiceEntries (wildcard
    hosts included) when no DestinationRule of the repository originates TLS for the host's
    port 443 and no VirtualService sends that port elsewhere or through a gateway (an egress
    gateway hop); a host another ServiceEntry declares with a TLS port 443 is IVL730's conflict. Declare the port `TLS` or `HTTPS`, or add the origination. Not checked by
    istioctl or Kiali.
    """,
    bad="""
    kind: ServiceEntry
    spec:
      hosts: ["*.s3.eu-west-1.amazonaws.com"]
      location: MESH_EXTERNAL
      resolution: NONE
      ports: [{number: 443, name: http, protocol: HTTP}]
    """,
    good="""
      ports: [{number: 443, name: tls, protocol: TLS}]
    """,
    inputs=("ServiceEntry", "DestinationRule", "VirtualService"),
    equivalents=(),
    references=("docs/semantics.md §tls-origination-ports", "docs/semantics.md §protocol-selection"),
)
def external_https_port_declared_http(ctx: Context) -> Iterator[Problem]:
    # hosts another ServiceEntry declares with a TLS port 443: that conflict is IVL730's
    tls_443 = {h for se in ctx.resources(ServiceEntry) for p in se.ports
               if p.number == 443 and p.protocol.upper() in ("HTTPS", "TLS") for h in se.hosts}
    for se in ctx.each(ServiceEntry):
        if se.location != "MESH_EXTERNAL":
            continue
        for p in se.ports:
            if p.number != 443 or p.protocol.upper() not in _HTTP_FAMILY:
                continue
            if p.target_port not in (None, 0, "", 443):
                continue  # forwarded to another port: IVL211 judges what reaches it
            hosts = [h for h in se.hosts if isinstance(h, str) and h]
            if not hosts or any(h in tls_443 for h in hosts):
                continue
            if any(mode.upper() in _ORIGINATES for h in hosts for _, _, mode in _tls_modes_for(ctx, h, 443)):
                continue
            if any(_mesh_routes_elsewhere(ctx, h, 443) or _routed_at_all(ctx, h) for h in hosts):
                continue
            yield Problem(se, p.path + ("protocol",),
                          f"ServiceEntry {se.namespace}/{se.name}: port 443 of {hosts[0]} is declared {p.protocol.upper()}"
                          f" and no DestinationRule originates TLS for it: clients calling https:// send TLS that "
                          f"the sidecar parses as HTTP, and plain HTTP reaches the TLS server unencrypted — both "
                          f"fail; declare the port TLS or HTTPS, or originate TLS on it (§tls-origination-ports)")
