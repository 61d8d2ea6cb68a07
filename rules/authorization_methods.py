"""IVL185: AuthorizationPolicy `methods` written in lower case, which no request carries
(docs/semantics.md §authorization-methods)."""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import AuthorizationPolicy, as_list
from istio_vm_lint.placeholders import is_placeholder
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.authorization import _rule_items


@rule(
    code="IVL185", family="authorization", name="authorization-method-not-uppercase", severity="warning",
    summary="An AuthorizationPolicy operation lists an HTTP method that is not upper case, so it matches no request.",
    rationale="""
    `to.operation.methods` (and `notMethods`) become an exact, case-sensitive match on the
    `:method` header (`methodGenerator`, `HeaderMatcher`: no case folding), and HTTP methods are
    case-sensitive tokens that clients send in upper case (`GET`, `POST`)
    (docs/semantics.md §authorization-methods). A value such as `get` or `Post` never matches:
    in an ALLOW rule the requests it was written for are denied (403) unless another rule
    allows them, in a DENY rule nothing is denied, and under `notMethods` every request
    qualifies. Wildcards (`*`, `GE*`) are left alone only when their fixed part is upper
    case. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: AuthorizationPolicy
    spec: {rules: [{to: [{operation: {methods: ["get"], paths: ["/healthz"]}}]}]}
    """,
    good="""
    kind: AuthorizationPolicy
    spec: {rules: [{to: [{operation: {methods: ["GET"], paths: ["/healthz"]}}]}]}
    """,
    inputs=("AuthorizationPolicy",),
    equivalents=(),
    references=("docs/semantics.md §authorization-methods",),
)
def authorization_method_not_uppercase(ctx: Context) -> Iterator[Problem]:
    for ap in ctx.each(AuthorizationPolicy):
        for op, path in _rule_items(ap, "to", "operation"):
            for key in ("methods", "notMethods"):
                for k, raw in enumerate(as_list(op.get(key))):
                    if not isinstance(raw, str) or is_placeholder(raw):
                        continue
                    fixed = raw.replace("*", "")
                    if not fixed or fixed == fixed.upper() or not fixed.isalpha():
                        continue
                    effect = {"ALLOW": "the requests it was written for are not allowed by it (403 unless another "
                                       "rule allows them)",
                              "DENY": "it denies nothing", "AUDIT": "it audits nothing",
                              "CUSTOM": "it sends nothing to the provider"}.get(ap.action, "it never applies")
                    if key == "notMethods":
                        effect = f"every request qualifies ({ap.action} applies to {raw.upper()} too)"
                    yield Problem(ap, path + (key, k),
                                  f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{raw}' is "
                                  f"matched exactly and case-sensitively against the request method, which clients "
                                  f"send in upper case ('{raw.upper()}'), so it matches no request: {effect} "
                                  "(§authorization-methods)")
