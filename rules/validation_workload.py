"""IVL64x: Istio's WorkloadEntry and WorkloadGroup validation, done on files.

Ports of ``ValidateWorkloadEntry`` (docs/semantics.md §validation-workloadentry, WE-01..WE-08) and
``ValidateWorkloadGroup`` (§validation-workloadgroup, WG-01..WG-10).  The WorkloadEntry CRD repeats most Go checks as
CEL rules (address or network required, unix:// shape and ports, port names and ranges), so
those are IVL011's; what remains here is what only Go validation catches: hostnames that are
not FQDNs, invalid labels, an unset address with a network, WorkloadGroup metadata labels and
readiness-probe details.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h


def validate_workload_entry(we: Resource) -> h.Issues:
    """``validateWorkloadEntry(we, servicePorts=nil, allowFQDN=true)`` (§validation-workloadentry)."""
    v = h.Issues()
    spec = we.spec
    addr = h.get_str(spec, "address")
    network = h.get_str(spec, "network")
    if addr == "":
        if network == "":
            # WE-01 returns. Both keys absent is the CRD's CEL "Address is required" (IVL011).
            if "address" in spec or "network" in spec:
                v.err(("spec", "address"), "WE-01", "address is required")
            return v
        v.warn(("spec", "network"), "WE-02", f"address is unset with network {h.goq(network)}")
    # WE-03/WE-04 (unix:// shape, unix with ports) and WE-06/WE-07 (port names and
    # ranges): CEL rules of the CRD (IVL011).
    if addr and not addr.startswith("unix://") and not h.is_ip(addr) and h.fqdn_error(addr):
        v.err(("spec", "address"), "WE-05", f"endpoint address {h.goq(addr)} is not a valid FQDN or an IP address")
    for key, msg in h.label_errors(as_map(spec.get("labels"))):
        v.err(("spec", "labels", key), "WE-08", msg)
    return v


_GRPC_TYPE = "*v1alpha3.ReadinessProbe_Grpc"
_METHODS = ("httpGet", "tcpSocket", "exec", "grpc")


def validate_workload_group(wg: Resource) -> h.Issues:
    """``ValidateWorkloadGroup`` (§validation-workloadgroup)."""
    v = h.Issues()
    spec = wg.spec
    if spec.get("template") is None:
        return v  # WG-01: OpenAPI "required" (IVL010); Go returns here
    meta = as_map(spec.get("metadata"))
    bad = h.label_errors(as_map(meta.get("labels")))
    if bad:
        # WG-02 returns. Go prints the multierror of all labels; one finding per label here.
        for key, msg in bad:
            v.err(("spec", "metadata", "labels", key), "WG-02", f"invalid labels: {msg}")
        return v
    probe = spec.get("probe")
    if not isinstance(probe, dict):
        return v
    # WG-03 (negative counters): OpenAPI minimum 0 (IVL010).
    base = ("spec", "probe")
    method = next((m for m in _METHODS if m in probe), None)
    if method is None:
        v.err(base, "WG-10", "unknown health check method <nil>")
    elif method == "httpGet":
        hg = probe.get("httpGet")
        if isinstance(hg, dict):
            # Port range (WG-05) and scheme (WG-06): CEL rules.
            for i, header in enumerate(as_list(hg.get("httpHeaders"))):
                if not isinstance(header, dict):
                    continue  # null header: OpenAPI type (IVL010)
                name = header.get("name")
                p = base + ("httpGet", "httpHeaders", i)
                if name is None:
                    v.err(p, "WG-07", "header name cannot be empty")
                elif isinstance(name, str) and name and "_" in name and h.probe_header_name_error(name.replace("_", "-")) is None:
                    # The CRD pattern allows "_", Go's does not; other bad names fail the pattern.
                    v.err(p + ("name",), "WG-07", h.probe_header_name_error(name))
    elif method == "exec":
        ex = probe.get("exec")
        if isinstance(ex, dict) and isinstance(ex.get("command"), list) and not ex["command"]:
            v.err(base + ("exec", "command"), "WG-09", "exec.command is required")
    elif method == "grpc":
        v.err(base + ("grpc",), "WG-10", f"unknown health check method {_GRPC_TYPE}")
    return v


@rule(
    code="IVL640", family="validation_workload", scope="resource", name="workload-entry-invalid", severity="error",
    summary="A WorkloadEntry breaks Istio's validation and would be rejected by the admission webhook.",
    rationale="""
    Port of Istio's `ValidateWorkloadEntry` (docs/semantics.md §validation-workloadentry): the
    address must be an IP, a `unix://` path or a valid FQDN (WE-05), and the entry's labels
    must be valid Kubernetes label keys and values (WE-08) because they are matched by
    ServiceEntry and Service selectors. An explicitly empty address without a network is
    rejected as well (WE-01). The webhook rejects the VM's registration (`istioctl analyze`
    IST0106). The other WorkloadEntry checks are CRD CEL rules, reported by IVL011.
    """,
    bad="""
    kind: WorkloadEntry
    spec:
      address: vm_1.example.com
      labels: {app: "who ami"}
    """,
    good="""
    kind: WorkloadEntry
    spec:
      address: vm-1.example.com
      labels: {app: whoami}
    """,
    inputs=("WorkloadEntry",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-workloadentry",),
)
def workload_entry_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "WorkloadEntry", validate_workload_entry, "E")


@rule(
    code="IVL641", family="validation_workload", scope="resource", name="workload-entry-validation-warning", severity="warning",
    summary="A WorkloadEntry has a network but no address.",
    rationale="""
    Istio accepts a WorkloadEntry without an address when it names a network, with the warning
    `address is unset with network "<network>"` (docs/semantics.md §validation-workloadentry WE-02, IST0133): such
    an entry is only reachable through that network's east-west gateway, which is easy to get
    wrong for a VM that is actually on the local network.
    """,
    bad="""
    kind: WorkloadEntry
    spec:
      network: vm-network
    """,
    good="""
    kind: WorkloadEntry
    spec:
      address: 10.0.0.1
      network: vm-network
    """,
    inputs=("WorkloadEntry",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-workloadentry",),
)
def workload_entry_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "WorkloadEntry", validate_workload_entry, "W")


@rule(
    code="IVL645", family="validation_workload", scope="resource", name="workload-group-invalid", severity="error",
    summary="A WorkloadGroup breaks Istio's validation and would be rejected by the admission webhook.",
    rationale="""
    Port of Istio's `ValidateWorkloadGroup` (docs/semantics.md §validation-workloadgroup): the labels
    in `spec.metadata.labels`, which every auto-registered VM WorkloadEntry gets, must be valid
    label keys and values (WG-02); a readiness probe must name a method Go validation knows
    (httpGet, tcpSocket or exec: a probe with none, or with `grpc`, which the API and CRD have
    but the webhook does not, is rejected, WG-10); HTTP probe header names may not contain `_`
    although the CRD pattern allows it (WG-07); `exec.command` may not be empty (WG-09). The
    webhook rejects the group (`istioctl analyze` IST0106), so VMs cannot auto-register. Go
    prints all bad labels in one multi-line error; here each label is its own finding, with
    the same `invalid labels: ...` text. The remaining WorkloadGroup checks are CRD rules
    (IVL010/IVL011).
    """,
    bad="""
    kind: WorkloadGroup
    spec:
      metadata:
        labels: {app: "who ami"}
      template: {serviceAccount: whoami}
      probe:
        grpc: {port: 8080}
    """,
    good="""
    kind: WorkloadGroup
    spec:
      metadata:
        labels: {app: whoami}
      template: {serviceAccount: whoami}
      probe:
        httpGet: {port: 8080, path: /ready}
    """,
    inputs=("WorkloadGroup",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-workloadgroup",),
)
def workload_group_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "WorkloadGroup", validate_workload_group, "E")
