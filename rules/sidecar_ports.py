"""IVL213-IVL214: Sidecar listener ports that no traffic uses.

A Sidecar `ingress` listener is bound to the port the workload receives on; once a Sidecar
declares ingress listeners, they replace the inbound listeners Istio would derive from the
services (docs/semantics.md §sidecar-ingress-ports). An `egress` listener with a port captures
that port for the services its hosts import (docs/semantics.md §sidecar-egress-ports).
"""

from __future__ import annotations

from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.graph import MeshService, Workload
from istio_vm_lint.model import Sidecar, as_int, as_list, as_map, as_str
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules._messages import sel_str
from istio_vm_lint.rules.authorization import workload_port_map
from istio_vm_lint.rules.workload_selectors import SELECTABLE
from istio_vm_lint.semantics import resolve_host


@rule(
    code="IVL214", family="ports", name="sidecar-ingress-port-not-served", severity="warning",
    summary="A Sidecar ingress listener's port is not a port its workloads receive traffic on (often the service port instead of the targetPort).",
    rationale="""
    `ingress[].port.number` is the port on which traffic arrives at the workload — after the
    Service's `targetPort`, the ServiceEntry's `targetPort` and a WorkloadEntry's `ports` map —
    and once a Sidecar declares `ingress` listeners, Istio builds the inbound listeners from them
    instead of from the services (docs/semantics.md §sidecar-ingress-ports). A listener on a port
    that no traffic arrives on is never used, and the real port gets no configured listener: its
    traffic takes the inbound passthrough chain, without the listener's protocol or the
    `defaultEndpoint` the author wrote. Typically the service port (80) was written where the
    VM receives on its targetPort (8080). Reported when every workload the Sidecar selects has
    ports the repository shows (bindings to Services/ServiceEntries, WorkloadGroup template
    ports, container ports) and none receives on the listener's port; for pods, which may
    listen on ports their template does not declare, only when the port is a service port of
    theirs that leads to another port.
    """,
    bad="""
    # Service ledger: port 80 -> targetPort 8080; WorkloadGroup ledger app=ledger
    kind: Sidecar
    spec:
      workloadSelector: {labels: {app: ledger}}
      ingress:
      - port: {number: 80, protocol: HTTP, name: http}
        defaultEndpoint: 127.0.0.1:8080
    """,
    good="""
      ingress:
      - port: {number: 8080, protocol: HTTP, name: http}
        defaultEndpoint: 127.0.0.1:8080
    """,
    inputs=("Sidecar", "WorkloadEntry", "WorkloadGroup", "Service", "ServiceEntry"),
    equivalents=(),
    references=("docs/semantics.md §sidecar-ingress-ports",),
)
def sidecar_ingress_port_not_served(ctx: Context) -> Iterator[Problem]:
    graph = ctx.graph
    for sc in ctx.each(Sidecar):
        ingress = as_list(sc.spec.get("ingress"))
        sel = sc.workload_selector
        if not ingress or not sel:
            continue  # a namespace-wide ingress covers workloads of every shape: not judged
        workloads: list[Workload] = graph.select(sc.namespace, sel, SELECTABLE)
        if not workloads:
            continue  # IVL720
        ports = workload_port_map(ctx, workloads)
        if ports is None:
            continue
        recv, svc = ports
        pods = any(w.kind == "Pod" for w in workloads)
        for i, ing in enumerate(ingress):
            number = as_int(as_map(as_map(ing).get("port")).get("number"))
            if number is None or number in recv:
                continue
            if pods and number not in svc:
                continue  # a pod may listen on ports its template does not declare
            hint = ""
            if number in svc:
                hint = (f"; {number} is the service port, and the workloads receive that traffic on "
                        f"{', '.join(str(p) for p in sorted(svc[number]))}")
            shown = ", ".join(str(p) for p in sorted(recv))
            yield Problem(sc, ("spec", "ingress", i, "port", "number"),
                          f"Sidecar {sc.namespace}/{sc.name}: ingress listener port {number} is not a port the "
                          f"workloads of {sel_str(sel)} receive traffic on (they receive on {shown}){hint}; the "
                          "listener is never used and the real port's traffic bypasses it "
                          "(§sidecar-ingress-ports)")


def _specific_services(ctx: Context, sc: Sidecar, hosts: list[str]) -> Optional[list[MeshService]]:
    """The services a list of `ns/host` entries imports, or None when an entry is a wildcard or unknown."""
    graph = ctx.graph
    out: list[MeshService] = []
    for raw in hosts:
        ns, sep, host = raw.partition("/")
        if not sep or ns in ("*", "~") or "*" in host:
            return None
        ns = sc.namespace if ns == "." else ns
        found = [s for s in graph.lookup(resolve_host(host, ns, graph.domain)) if s.namespace == ns]
        if not found:
            return None  # IVL506's
        out.extend(found)
    return out or None


@rule(
    code="IVL213", family="ports", name="sidecar-egress-port-not-served", severity="warning",
    summary="A Sidecar egress listener captures a port that none of its (specific) hosts has, so applications calling those services never reach it.",
    rationale="""
    An egress listener with a `port` builds an outbound listener on that port for the services
    its `hosts` import (docs/semantics.md §sidecar-egress-ports). When traffic is captured by
    iptables (no `bind`, `captureMode` not `NONE`), an application reaches that listener only by
    dialling the port: if none of the imported services has it, the application — which dials
    the service port — never uses the listener, and with `REGISTRY_ONLY` and no catch-all
    listener its connections to the real port are dropped. Usually a mistyped port. A listener
    bound to an address (`bind`) or with `captureMode: NONE` is the documented way to expose a
    service on a local port of the application's choosing and is not judged; nor are
    wildcard hosts or hosts the repository does not define.
    """,
    bad="""
    # ServiceEntry queue.team-b.internal: port 5672
    egress:
    - port: {number: 5762, protocol: TCP, name: tcp-amqp}
      hosts: ["./queue.team-b.internal"]
    """,
    good="""
    egress:
    - port: {number: 5672, protocol: TCP, name: tcp-amqp}
      hosts: ["./queue.team-b.internal"]
    """,
    inputs=("Sidecar", "ServiceEntry", "Service"),
    equivalents=(),
    references=("docs/semantics.md §sidecar-egress-ports",),
)
def sidecar_egress_port_not_served(ctx: Context) -> Iterator[Problem]:
    for sc in ctx.each(Sidecar):
        for i, eg in enumerate(as_list(sc.spec.get("egress"))):
            em = as_map(eg)
            number = as_int(as_map(em.get("port")).get("number"))
            if number is None or em.get("bind") or as_str(em.get("captureMode")).upper() == "NONE":
                continue
            hosts = [h for h in as_list(em.get("hosts")) if isinstance(h, str)]
            services = _specific_services(ctx, sc, hosts)
            if not services:
                continue
            ports = {p.number for s in services for p in s.ports if p.number is not None}
            if not ports or number in ports:
                continue
            shown = ", ".join(str(p) for p in sorted(ports))
            names = ", ".join(sorted({s.host for s in services}))
            yield Problem(sc, ("spec", "egress", i, "port", "number"),
                          f"Sidecar {sc.namespace}/{sc.name}: egress listener port {number} is not a port of "
                          f"{names} (ports: {shown}); applications dial the service port, so this captured listener "
                          "is never used (§sidecar-egress-ports)")
