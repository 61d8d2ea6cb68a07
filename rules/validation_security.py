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
    code="IVL660", family="validation_security", name="peer-authentication-validation-warning", severity="warning",
    summary="A PeerAuthentication has a selector without labels, so it applies to the whole namespace.",
    rationale="""
    A `selector` with no `matchLabels` selects every workload of the namespace (or of the mesh
    in the root namespace): the policy silently behaves like a namespace-wide one, and a second
    namespace-wide PeerAuthentication then makes the result order-dependent. Istio accepts it
    with the warning `workload selector specified without labels` (docs/semantics.md §validation-peerauthentication
    PA-04, `istioctl analyze` IST0133). Remove the empty selector, or add the labels of the
    workloads it is meant for. The other PeerAuthentication checks are CRD CEL rules (IVL011).
    Istio's sidecar and ambient code take such a policy for the namespace-level one
    (§peer-authentication-empty-selector): alone in its namespace it changes nothing, so the
    finding is then info.
    """,
    severity_note="warning when another namespace-wide PeerAuthentication (no selector, or one without labels) "
                  "is in the same namespace, where only the oldest takes effect; info when it is the only one, "
                  "since it then acts exactly as the namespace's policy.",
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
    wide: dict[str, list[Resource]] = {}
    for pa in ctx.resources("PeerAuthentication"):
        sel = pa.spec.get("selector")
        if sel is None or isinstance(sel, dict) and not sel.get("matchLabels"):
            wide.setdefault(pa.namespace, []).append(pa)
    for p in h.emit(ctx, "PeerAuthentication", validate, "W"):
        assert p.resource is not None
        others = sorted((x for x in wide.get(p.resource.namespace, []) if x.key != p.resource.key),
                        key=lambda x: x.sort_key)
        if others:
            o = others[0]
            p.message = (f"{p.message}: it is a namespace-wide policy, and so is PeerAuthentication "
                         f"{o.namespace}/{o.name}; Istio uses only the oldest of them (§peer-authentication-empty-selector)")
            p.related = ((o, ("metadata", "name")),)
        else:
            level = ("mesh-level policy (root namespace" if p.resource.namespace == ctx.root_namespace
                     else "namespace-level policy (namespace")
            p.message = (f"{p.message} (info, not warning: Istio takes it for the {level} "
                         f"'{p.resource.namespace}', the only one there), as if it had no selector; "
                         "§peer-authentication-empty-selector)")
            p.severity = "info"
        yield p
