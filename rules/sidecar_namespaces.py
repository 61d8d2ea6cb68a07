"""IVL128: a Sidecar egress `namespace/*` entry whose namespace is a misspelling of one the
repository declares (docs/semantics.md §sidecar-import-visibility)."""

from __future__ import annotations

from typing import Iterator

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import Sidecar
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.rules.authorization import INSTALLATION_NAMESPACES, _distance


def _siblings(a: str, b: str) -> bool:
    """``team-a``/``team-c``, ``prod-1``/``prod-2``, ``us-east``/``us-west``: a family of namespaces,
    not a misspelling — unlike ``external-service``/``external-services``, whose last parts
    differ only by a truncation."""
    if "-" not in a or "-" not in b:
        return False
    (pa, sa), (pb, sb) = a.rsplit("-", 1), b.rsplit("-", 1)
    if pa != pb:
        return False
    short = min(len(sa), len(sb)) <= 2 or sa.isdigit() or sb.isdigit()
    return short or not (sa.startswith(sb) or sb.startswith(sa))


def misspells(ns: str, known: str, root_namespace: str) -> bool:
    """Is ``ns`` (a namespace the repository declares nothing in) a misspelling of ``known``?
    Within two edits, at least five characters, not a sibling, not an installation namespace."""
    if ns in (known, root_namespace) or len(ns) < 5 or ns in INSTALLATION_NAMESPACES:
        return False
    return _distance(known, ns) <= 2 and not _siblings(known, ns)


@rule(
    code="IVL128", family="scoping", name="sidecar-egress-namespace-typo", severity="warning",
    summary="A Sidecar egress `namespace/*` host names a namespace the repository has nothing in, spelt nearly like one it declares, so it imports nothing.",
    rationale="""
    An egress `hosts` entry `ns/*` imports the services of namespace `ns` that are visible to the
    Sidecar's namespace (docs/semantics.md §sidecar-import-visibility). A namespace part that is
    a misspelling (`billnig/*` for `billing/*`) matches no namespace: nothing is imported, and with
    `outboundTrafficPolicy: REGISTRY_ONLY` the calls to the intended namespace are blackholed
    (502/connection reset), otherwise they leave as passthrough without routing, mTLS or
    policy. Reported only when the repository declares nothing in the named namespace and it is
    within two edits of a namespace the repository does declare, and not a sibling of it
    (`team-c` beside `team-a`) — other namespaces may be managed elsewhere. Entries naming one
    host are IVL506's.
    """,
    bad="""
    kind: Sidecar
    metadata: {name: default, namespace: team-a}
    spec:
      egress:
      - hosts: ["./*", "billnig/*"]     # the services live in namespace billing
    """,
    good="""
      egress:
      - hosts: ["./*", "billing/*"]
    """,
    inputs=("Sidecar",),
    equivalents=(),
    references=("docs/semantics.md §sidecar-import-visibility",),
)
def sidecar_egress_namespace_typo(ctx: Context) -> Iterator[Problem]:
    known = set(ctx.graph.namespaces)
    if not known:
        return
    skip = known | set(ctx.settings.external_namespaces) | INSTALLATION_NAMESPACES | {ctx.root_namespace}
    for sc in ctx.each(Sidecar):
        for raw, path in sc.egress_hosts:
            ns, sep, host = raw.partition("/")
            if not sep or ns.startswith(("*", ".", "~")) or not host.startswith("*") or ns in skip or len(ns) < 5:
                continue
            near = next((n for n in sorted(known) if misspells(ns, n, ctx.root_namespace)), None)
            if near is None:
                continue
            yield Problem(sc, path,
                          f"Sidecar {sc.namespace}/{sc.name}: egress host '{raw}' names namespace '{ns}', in which the "
                          f"repository declares nothing (did you mean '{near}/{host}'?); it imports no service "
                          "(§sidecar-import-visibility)")
