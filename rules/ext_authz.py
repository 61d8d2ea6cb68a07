"""IVL184: a CUSTOM AuthorizationPolicy whose extension provider the repository's mesh config
does not define, or defines with a service istiod cannot find (docs/semantics.md
§extension-providers)."""

from __future__ import annotations

import difflib
from typing import Iterator, Optional

from istio_vm_lint.findings import Problem
from istio_vm_lint.model import AuthorizationPolicy, as_map, as_str
from istio_vm_lint.placeholders import is_placeholder
from istio_vm_lint.rule import Context, rule
from istio_vm_lint.semantics import cluster_namespace


def _service_problem(ctx: Context, service: str, port: Optional[int]) -> Optional[str]:
    """Why istiod finds no cluster for the provider's ``service`` (``LookupCluster``: the exact
    hostname of a registry service, optionally ``<namespace>/<hostname>``), or None."""
    if not service or is_placeholder(service):
        return None
    ns_part, _, host = service.rpartition("/")
    graph = ctx.graph
    found = [s for s in graph.services_by_host.get(host, ()) if not ns_part or s.namespace == ns_part]
    domain = ctx.settings.cluster_domain
    if found:
        ports = {p.number for s in found for p in s.ports if p.number is not None}
        if port is not None and ports and port not in ports:
            return (f"its service {service} has no port {port} (ports: {', '.join(map(str, sorted(ports)))}): the "
                    "ext_authz filter calls a cluster that does not exist, so every request the policy matches fails "
                    "with the provider's statusOnError (403 by default) (§extension-providers)")
        return None
    if host in ctx.settings.external_hosts or "*" in host:
        return None
    kube_ns = cluster_namespace(host, domain)
    if kube_ns is not None:
        if kube_ns not in graph.namespaces or kube_ns in ctx.settings.external_namespaces:
            return None  # a namespace the repository says nothing about
        near = difflib.get_close_matches(host, sorted(s.host for s in graph.services if s.namespace == kube_ns),
                                         n=1, cutoff=0.8)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        return f"its service {service} is not a Service of namespace '{kube_ns}'{hint}"
    parts = host.split(".")
    if len(parts) <= 2 or host.endswith(".svc") or (len(parts) >= 3 and parts[2] == "svc"):
        # `opa`, `opa.istio-system`, `opa.istio-system.svc`: not a registry hostname
        full = f"{parts[0]}.{parts[1]}.svc.{domain}" if len(parts) >= 2 else ""
        if full and full not in graph.services_by_host and parts[1] not in graph.namespaces:
            return None
        hint = f" (use '{full}')" if full else ""
        return (f"its service '{service}' is not a hostname of the service registry, which istiod looks the "
                f"provider's service up by exactly{hint}")
    return None


@rule(
    code="IVL184", family="authorization", name="custom-authorization-provider-unusable", severity="error",
    summary="A CUSTOM AuthorizationPolicy names an extension provider the repository's mesh config does not define, or one whose service istiod cannot find.",
    rationale="""
    A CUSTOM AuthorizationPolicy hands the matching requests to `provider.name`, an entry of
    the mesh config's `extensionProviders` (docs/semantics.md §extension-providers). When
    istiod cannot use the provider — no entry of that name, or an entry whose `service` is not
    the exact hostname of a registry service (optionally `<namespace>/<hostname>`) — it logs
    an error and generates RBAC rules that deny every request the policy matches
    (`getExtAuthz`, `getBadCustomDenyRules`): a 403 for requests that were meant to be
    checked. A port the found service lacks leaves the ext_authz filter pointing at a cluster
    that does not exist, and the requests fail with its `statusOnError` (403). Reported only
    when the repository holds the mesh config (the `istio` ConfigMap's `mesh`, or an
    IstioOperator's `meshConfig`) and, for a kustomization, when it could be rendered (a patch
    left out may add the provider); a service in a namespace the repository declares nothing
    in is not judged. A provider name that another file of the repository writes (a vendor
    operator's resource listing authorizers, Helm values, an install overlay: mesh config the
    linter does not read) is reported as info. Not checked by istioctl or Kiali.
    """,
    bad="""
    kind: ConfigMap
    metadata: {name: istio, namespace: istio-system}
    data:
      mesh: |-
        extensionProviders:
        - name: opa-ext-authz
          envoyExtAuthzHttp: {service: opa.istio-system.svc.cluster.local, port: 9191}
    ---
    kind: AuthorizationPolicy
    spec: {action: CUSTOM, provider: {name: opa-extauthz}, rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]}
    """,
    good="""
    kind: AuthorizationPolicy
    spec: {action: CUSTOM, provider: {name: opa-ext-authz}, rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]}
    """,
    inputs=("AuthorizationPolicy",),
    equivalents=(),
    references=("docs/semantics.md §extension-providers",),
)
def custom_authorization_provider_unusable(ctx: Context) -> Iterator[Problem]:
    providers = ctx.extension_providers
    if providers is None:
        return
    users: dict[str, set[str]] = {}  # provider name -> files of the CUSTOM policies naming it
    for other in ctx.resources(AuthorizationPolicy):
        if other.action == "CUSTOM":
            other_name = as_str(as_map(other.spec.get("provider")).get("name"))
            if other_name:
                users.setdefault(other_name, set()).add(other.source.path)
    for ap in ctx.each(AuthorizationPolicy):
        if ap.action != "CUSTOM":
            continue
        name = as_str(as_map(ap.spec.get("provider")).get("name"))
        if not name or is_placeholder(name):
            continue  # no provider: Istio's validation (IVL670)
        path = ("spec", "provider", "name")
        head = f"AuthorizationPolicy {ap.namespace}/{ap.name} (CUSTOM): provider '{name}'"
        tail = ("; istiod generates rules that deny every request the policy matches (403) instead of asking "
                "the provider (§extension-providers)")
        if name not in providers:
            known = sorted(providers)
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
            hint = (f" (did you mean '{near[0]}'?)" if near
                    else f" (defined: {', '.join(known[:5])})" if known else " (it defines none)")
            elsewhere = ctx.file_writing(name, users.get(name, ()))
            if elsewhere is not None:
                yield Problem(ap, path, f"{head} is not an extensionProviders entry of the repository's mesh config"
                              f"{hint}, but {elsewhere} writes '{name}' (an operator's resource, Helm values or an "
                              "install overlay not read as mesh config may define it) (§extension-providers)",
                              severity="info")
                continue
            yield Problem(ap, path, f"{head} is not an extensionProviders entry of the repository's mesh config"
                          f"{hint}{tail}")
            continue
        kind, service, port = providers[name]
        if kind not in ("envoyExtAuthzHttp", "envoyExtAuthzGrpc"):
            continue
        why = _service_problem(ctx, service, port)
        if why:
            yield Problem(ap, path, f"{head}: {why}" + ("" if why.endswith(")") and "statusOnError" in why else tail))
