"""IVL183: an AuthorizationPolicy `requestPrincipals` entry whose issuer misspells the issuer of
the repository's RequestAuthentications (docs/semantics.md §request-principals)."""

from __future__ import annotations

import difflib
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import AuthorizationPolicy, as_list, as_map
from istio_vm_lint.placeholders import is_placeholder
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.authorization import _rule_items


def _issuers(ctx: Context) -> list[str]:
    out: set[str] = set()
    for ra in ctx.resources("RequestAuthentication"):
        for jr in as_list(as_map(ra.data.get("spec")).get("jwtRules")):
            iss = as_map(jr).get("issuer")
            if isinstance(iss, str) and iss and not is_placeholder(iss):
                out.add(iss)
    return sorted(out)


def _matches(value: str, issuer: str) -> bool:
    """Can a token of ``issuer`` match ``value``? Istio splits the value at its last '/' into
    issuer and subject; the issuer part is matched exactly, or as a suffix after a leading '*',
    or (without a '/') as a prefix before a trailing '*' (`requestPrincipalGenerator`)."""
    idx = value.rfind("/")
    iss = value[:idx] if idx >= 0 else value
    if value == "*" or (value.startswith("*") and (idx < 0 or iss == "*")):
        return True
    if value.startswith("*"):
        return issuer.endswith(iss[1:])
    if value.endswith("*") and idx < 0:
        return issuer.startswith(value[:-1])
    return iss == issuer


def _near(value: str, issuers: list[str]) -> Optional[str]:
    """The issuer the value's issuer part (before its last '/') misspells."""
    iss = value[:value.rfind("/")] if "/" in value else value.rstrip("*")
    best = difflib.get_close_matches(iss, issuers, n=1, cutoff=0.85)
    return best[0] if best else None


@rule(
    code="IVL183", family="authorization", name="request-principal-issuer-unknown", severity="warning",
    summary="An AuthorizationPolicy's requestPrincipals names an issuer that no RequestAuthentication of the repository accepts, spelt nearly like one that does.",
    rationale="""
    A request principal is `<iss>/<sub>` of a JWT that a RequestAuthentication validated
    (docs/semantics.md §request-principals). A `requestPrincipals` entry whose issuer is a
    misspelling of the issuer the RequestAuthentications accept (`login.corp.example.org` for
    `login.corp.example.com`) matches no token: an ALLOW rule requiring it denies every
    request (403), a DENY rule never applies. Reported only when the repository has
    RequestAuthentications, no issuer of theirs can produce the entry, and one is within
    difflib's 0.85 ratio of it (a token of another issuer may be validated elsewhere).
    """,
    bad="""
    kind: RequestAuthentication
    spec:
      jwtRules: [{issuer: "https://login.corp.example.com", jwksUri: "https://login.corp.example.com/jwks.json"}]
    ---
    kind: AuthorizationPolicy
    spec:
      rules:
      - from: [{source: {requestPrincipals: ["https://login.corp.example.org/*"]}}]
    """,
    good="""
      rules:
      - from: [{source: {requestPrincipals: ["https://login.corp.example.com/*"]}}]
    """,
    inputs=("AuthorizationPolicy",),
    equivalents=(),
    references=("docs/semantics.md §request-principals", "docs/semantics.md §authorization-attributes"),
)
def request_principal_issuer_unknown(ctx: Context) -> Iterator[Problem]:
    issuers = _issuers(ctx)
    if not issuers:
        return
    for ap in ctx.each(AuthorizationPolicy):
        for src, path in _rule_items(ap, "from", "source"):
            for key in ("requestPrincipals", "notRequestPrincipals"):
                for k, raw in enumerate(as_list(src.get(key))):
                    if not isinstance(raw, str) or not raw or is_placeholder(raw):
                        continue
                    if any(_matches(raw, iss) for iss in issuers):
                        continue
                    near = _near(raw, issuers)
                    if near is None:
                        continue
                    allow = ap.action == "ALLOW" and key == "requestPrincipals"
                    effect = ("so the rule never matches and every request it was written to admit is denied (403)"
                              if allow else "so the rule never matches")
                    yield Problem(ap, path + (key, k),
                                  f"AuthorizationPolicy {ap.namespace}/{ap.name} ({ap.action}): {key} '{raw}' names an "
                                  f"issuer no RequestAuthentication of the repository accepts (did you mean '{near}'?), "
                                  f"{effect} (§request-principals)")
