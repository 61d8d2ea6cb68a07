"""IVL66x: Istio's PeerAuthentication validation (``ValidatePeerAuthentication``), done on files.

Port of docs/semantics.md §validation-peerauthentication (PA-01..PA-04).  The PeerAuthentication CRD repeats every Go
error as a CEL/OpenAPI rule with the same condition (port-level mTLS requires a selector,
non-empty ``portLevelMtls``, port range, selector keys and values without ``*`` and not empty),
so those are reported once, by the schema rules (IVL010/IVL011).  What only Go validation
reports is the warning for a selector without labels.
"""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Resource
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h


def validate(pa: Resource) -> h.Issues:
    """``ValidatePeerAuthentication`` minus its CEL-duplicated errors (§validation-peerauthentication)."""
    v = h.Issues()
    sel = pa.spec.get("selector")
    if isinstance(sel, dict):
        h.selector_issues(v, sel.get("matchLabels"), ("spec", "selector", "matchLabels"), "PA-04",
                          "workload selector specified without labels", ("spec", "selector"), keys_only=False)
    return v


@rule(
    code="IVL660", family="validation_security", scope="resource", name="peer-authentication-validation-warning", severity="warning",
    summary="A PeerAuthentication has a selector without labels, so it applies to the whole namespace.",
    rationale="""
    A `selector` with no `matchLabels` selects every workload of the namespace (or of the mesh
    in the root namespace): the policy silently behaves like a namespace-wide one, and a second
    namespace-wide PeerAuthentication then makes the result order-dependent. Istio accepts it
    with the warning `workload selector specified without labels` (docs/semantics.md §validation-peerauthentication
    PA-04, `istioctl analyze` IST0133). Remove the empty selector, or add the labels of the
    workloads it is meant for. The other PeerAuthentication checks are CRD CEL rules (IVL011).
    """,
    bad="""
    kind: PeerAuthentication
    spec:
      selector: {}
      mtls: {mode: STRICT}
    """,
    good="""
    kind: PeerAuthentication
    spec:
      selector:
        matchLabels: {app: whoami}
      mtls: {mode: STRICT}
    """,
    inputs=("PeerAuthentication",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-peerauthentication",),
)
def peer_authentication_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "PeerAuthentication", validate, "W")
