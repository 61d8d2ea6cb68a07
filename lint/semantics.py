"""Istio's naming and scoping rules as pure functions: the one place rules and the graph ask
"what does this host mean", "who can see this resource", "where does a client look for a
DestinationRule", "what TLS mode does this policy set".

Each function names the Istio operation it mirrors (docs/semantics.md); the tests in
tests/test_semantics.py are tables in the style of Istio's
``pkg/config/analysis/analyzers/util/*_test.go``.  Functions that need the repository (the
services behind a host, the DestinationRule a client gets, the namespaces of a Gateway's
proxies) are methods of :class:`~istio_vm_lint.graph.MeshGraph`, built on these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

from .findings import FieldPath
from .model import DestinationRule, VirtualService, _is_ip, as_int, as_list, as_map

# --- host names -----------------------------------------------------------------------------


def resolve_host(name: str, namespace: str, cluster_domain: str) -> str:
    """VS/DR/Sidecar host as Istio resolves it (``ResolveShortnameToFQDN``; the analyzers'
    ``ConvertHostToFQDN``): a short name means ``<name>.<namespace>.svc.<domain>`` of the
    namespace of the resource that wrote it; dotted names, wildcards and IPs are verbatim."""
    if not name or "." in name or name == "*" or _is_ip(name):  # cheap test first: IPv6 has no dot
        return name
    return f"{name}.{namespace}.svc.{cluster_domain}"


def host_matches(pattern: str, host: str) -> bool:
    """Does the (possibly wildcard) ``pattern`` cover ``host``?  ``*.a.com`` covers ``b.a.com``
    and ``c.b.a.com`` but not ``a.com``; ``*`` covers everything."""
    if pattern == host or pattern == "*":
        return True
    if pattern.startswith("*"):
        suffix = pattern[1:]
        return host.endswith(suffix) and len(host) > len(suffix)
    return False


def hosts_overlap(a: str, b: str) -> bool:
    return host_matches(a, b) or host_matches(b, a)


def http_route_paths(vs_spec: Any) -> Optional[list[tuple[str, str]]]:
    """The request paths the ``http`` routes of a VirtualService spec can take, as
    ``(exact|prefix, path)``; None when some route can take any path (a route without match, a
    match without ``uri``, a ``regex`` or case-insensitive uri match), so no path set can be
    told apart from it (docs/semantics.md §gateway-server-merge)."""
    out: list[tuple[str, str]] = []
    routes = vs_spec.get("http") if isinstance(vs_spec, dict) else None
    for route in routes if isinstance(routes, list) else []:
        matches = route.get("match") if isinstance(route, dict) else None
        if not isinstance(matches, list) or not matches:
            return None
        for m in matches:
            uri = m.get("uri") if isinstance(m, dict) else None
            if not isinstance(uri, dict) or m.get("ignoreUriCase"):
                return None
            kind = next((k for k in ("exact", "prefix") if isinstance(uri.get(k), str)), None)
            if kind is None or len(uri) != 1:
                return None
            out.append((kind, uri[kind]))
    return out


def paths_overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Can one request path match both ``(exact|prefix, path)`` matchers?"""
    (ka, pa), (kb, pb) = a, b
    if ka == "exact" and kb == "exact":
        return pa == pb
    if ka == "prefix" and kb == "prefix":
        return pa.startswith(pb) or pb.startswith(pa)
    exact, prefix = (pa, pb) if ka == "exact" else (pb, pa)
    return exact.startswith(prefix)


def kube_fqdn(name: str, namespace: str, cluster_domain: str) -> str:
    return f"{name}.{namespace}.svc.{cluster_domain}"


def cluster_namespace(host: str, cluster_domain: str) -> Optional[str]:
    """The namespace of a Kubernetes service FQDN ``<name>.<ns>.svc.<domain>`` (the analyzers'
    ``GetFullNameFromFQDN``), else None.  ``*.<ns>.svc.<domain>`` (every service of a
    namespace) gives ``<ns>`` too: see :func:`namespace_wildcard` to tell the two apart."""
    suffix = f".svc.{cluster_domain}"
    if host.endswith(suffix):
        parts = host[: -len(suffix)].split(".")
        if len(parts) == 2:
            return parts[1]
    return None


def namespace_wildcard(host: str, cluster_domain: str) -> Optional[str]:
    """``<ns>`` for the namespace-wide host ``*.<ns>.svc.<domain>``, else None."""
    return cluster_namespace(host, cluster_domain) if host.startswith("*.") else None


def installation_service(host: str, cluster_domain: str, root_namespace: str = "istio-system") -> bool:
    """Is ``host`` a Service every Istio installation creates (istiod, ``istiod-<revision>``, the stock
    ingress/egress/east-west gateways)?  Such hosts resolve without being in the repository
    (docs/semantics.md §installation-services)."""
    from .defaults import INSTALLATION_SERVICES

    ns = cluster_namespace(host, cluster_domain)
    if ns is None or host.startswith("*"):
        return False
    name = host.split(".", 1)[0]
    for n in {ns, "istio-system"} if ns == root_namespace else {ns}:
        if (n, name) in INSTALLATION_SERVICES or (n in ("istio-system", root_namespace) and name.startswith("istiod-")):
            return True
    return False


def parse_gateway_ref(ref: str, vs_ns: str, domain: str) -> tuple[str, str]:
    """``resolveGatewayName``: ``name``, ``ns/name``, ``./name``, ``name.ns[.svc.<domain>]`` ->
    (namespace, name)."""
    if "/" in ref:
        ns, _, name = ref.partition("/")
        return (vs_ns if ns == "." else ns), name
    if "." in ref:
        parts = ref.split(".")
        return parts[1], parts[0]
    return vs_ns, ref


def gateway_key(ref: str, vs_ns: str, domain: str) -> str:
    """A gateway reference as pilot compares it (``resolveGatewayName``): ``mesh`` or ``ns/name``."""
    if ref == "mesh":
        return ref
    ns, name = parse_gateway_ref(ref, vs_ns, domain)
    return f"{ns}/{name}"


def live_gateways(vs: VirtualService, refs: Iterable[str], domain: str) -> list[str]:
    """The references among ``refs`` (a route's gateways) that the VirtualService binds at top
    level (absent: ``mesh``): the others never select the route (§match-gateways)."""
    bound = {gateway_key(g, vs.namespace, domain) for g in vs.gateways}
    return [g for g in refs if gateway_key(g, vs.namespace, domain) in bound]


# --- exportTo -------------------------------------------------------------------------------


def export_scopes(export_to: Iterable[str], owner_ns: str) -> Optional[frozenset[str]]:
    """The namespaces a resource is exported to, ``.`` mapped to its own namespace; None means
    every namespace (``*``).  ``~`` (nobody) contributes nothing."""
    out: set[str] = set()
    for e in export_to:
        if e == "*":
            return None
        if e == ".":
            out.add(owner_ns)
        elif e != "~":
            out.add(e)
    return frozenset(out)


def scopes_overlap(a: Optional[frozenset[str]], b: Optional[frozenset[str]]) -> bool:
    """Can two resources with these :func:`export_scopes` be seen from a common namespace?"""
    return a is None or b is None or bool(a & b)


def in_scope_of(scope: str, owner_ns: str, viewer_ns: str) -> bool:
    """``ScopedFqdn.InScopeOf``: one exportTo entry admits ``viewer_ns`` (``*`` everyone, ``.``
    the owner's namespace, else that namespace)."""
    return scope == "*" or (scope == "." and viewer_ns == owner_ns) or scope == viewer_ns


def visible(export_to: Iterable[str], owner_ns: str, viewer_ns: str) -> bool:
    """Is a resource with this exportTo (already defaulted) visible from ``viewer_ns``?"""
    return any(in_scope_of(e, owner_ns, viewer_ns) for e in export_to)


# --- DestinationRules -----------------------------------------------------------------------


def dr_host(dr: DestinationRule, cluster_domain: str) -> str:
    """The host a DestinationRule applies to: its ``host`` resolved against its own namespace."""
    return resolve_host(dr.host, dr.namespace, cluster_domain)


def lookup_path(client_ns: str, service_ns: Optional[str], root_ns: str) -> list[str]:
    """Namespaces searched for the DestinationRule of a client (pilot ``SidecarScope``
    ``destinationRule`` lookup): the client's namespace, the service's, the root namespace;
    the first with a visible rule for the host wins."""
    path = [client_ns]
    if service_ns and service_ns not in path:
        path.append(service_ns)
    if root_ns not in path:
        path.append(root_ns)
    return path


def tls_mode(policy: Any) -> str:
    """``tls.mode`` of a TrafficPolicy (or port-level settings) as written; "" when unset or
    not a string (the schema rules report a wrong type)."""
    mode = as_map(as_map(policy).get("tls")).get("mode")
    return mode if isinstance(mode, str) else ""


def traffic_policies(dr: DestinationRule, port_level: bool = True) -> Iterator[tuple[FieldPath, dict[str, Any]]]:
    """Every TrafficPolicy-shaped object of a DestinationRule with its path: the top-level
    policy, the subsets' policies and (``port_level``) their ``portLevelSettings`` entries."""
    tops: list[tuple[FieldPath, dict[str, Any]]] = []
    if dr.traffic_policy:
        tops.append((("spec", "trafficPolicy"), dr.traffic_policy))
    for s in dr.subsets:
        if s.traffic_policy:
            tops.append((s.path + ("trafficPolicy",), s.traffic_policy))
    for path, tp in tops:
        yield path, tp
        if port_level:
            for i, pls in enumerate(as_list(tp.get("portLevelSettings"))):
                if isinstance(pls, dict):
                    yield path + ("portLevelSettings", i), pls


# --- traffic policy merge (the effective DestinationRule) -------------------------------------


_REPLACED_BY_PORT = ("connectionPool", "outlierDetection", "loadBalancer", "tls")


def merge_traffic_policy(original: Optional[dict[str, Any]], override: Optional[dict[str, Any]],
                         port: Optional[int]) -> Optional[dict[str, Any]]:
    """Istio's ``MergeTrafficPolicy`` (``pilot/pkg/model/destination_rule.go``, §subset-policy, §port-level-settings).

    The override's set fields replace the original's; a matching ``portLevelSettings`` entry of
    the override then replaces connectionPool/outlierDetection/loadBalancer/tls *wholesale*
    (fields it omits fall back to defaults, not to the outer level)."""
    if override is None:
        return original
    if original is not None and original.get("portLevelSettings"):
        original = merge_traffic_policy(None, original, port)
    merged: dict[str, Any] = {}
    if original is not None:
        for k in ("connectionPool", "outlierDetection", "loadBalancer", "tls", "proxyProtocol", "tunnel",
                  "retryBudget"):
            if k in original:
                merged[k] = original[k]
    for k in ("connectionPool", "outlierDetection", "loadBalancer", "tls", "proxyProtocol", "tunnel", "retryBudget"):
        if override.get(k) is not None:
            merged[k] = override[k]
    merged["_source"] = "subset" if original is not None else "top"
    if port is not None:
        for p in as_list(override.get("portLevelSettings")):
            if isinstance(p, dict) and as_int(as_map(p.get("port")).get("number")) == port:
                for k in _REPLACED_BY_PORT:
                    if p.get(k) is not None:
                        merged[k] = p[k]
                    else:
                        merged.pop(k, None)
                merged["_port_level"] = True
                break
    return merged


@dataclass
class EffectiveDR:
    """The DestinationRule(s) a client namespace gets for a host, after lookup and merge."""

    namespace: str  # where the winning rules live
    rules: list[DestinationRule]  # same-namespace rules merged, in file order (first wins)
    top_policy: Optional[dict[str, Any]]
    top_policy_owner: Optional[DestinationRule]
    subsets: dict[str, tuple[DestinationRule, Any]]  # name -> (owner, Subset)

    def policy(self, subset: str = "", port: Optional[int] = None) -> Optional[dict[str, Any]]:
        top = merge_traffic_policy(None, self.top_policy, port) if self.top_policy is not None else None
        if subset and subset in self.subsets:
            owner, sub = self.subsets[subset]
            if sub.traffic_policy:
                return merge_traffic_policy(top, sub.traffic_policy, port)
        return top


def policy_layers(edr: "EffectiveDR", subset: str = "",
                  port: Optional[int] = None) -> list[tuple[DestinationRule, FieldPath, dict[str, Any], bool]]:
    """The TrafficPolicy objects that make up ``edr.policy(subset, port)``, in merge order.

    Each item is ``(owner, path, policy, port_level)``: the top-level ``spec.trafficPolicy``,
    its ``portLevelSettings`` entry for ``port``, the subset's ``trafficPolicy`` and that
    subset's entry for ``port``.  A layer with ``port_level=False`` overrides only the fields
    it sets; a ``port_level`` layer replaces connectionPool/outlierDetection/loadBalancer/tls
    wholesale (same semantics as :func:`merge_traffic_policy`), which lets rules say *which*
    object set or dropped an effective field."""
    layers: list[tuple[DestinationRule, FieldPath, dict[str, Any], bool]] = []

    def add(owner: DestinationRule, path: FieldPath, policy: dict[str, Any]) -> None:
        layers.append((owner, path, policy, False))
        if port is None:
            return
        for i, p in enumerate(as_list(policy.get("portLevelSettings"))):
            if isinstance(p, dict) and as_int(as_map(p.get("port")).get("number")) == port:
                layers.append((owner, path + ("portLevelSettings", i), p, True))
                break

    if edr.top_policy is not None and edr.top_policy_owner is not None:
        add(edr.top_policy_owner, ("spec", "trafficPolicy"), edr.top_policy)
    if subset and subset in edr.subsets:
        owner, sub = edr.subsets[subset]
        if sub.traffic_policy:
            add(owner, sub.path + ("trafficPolicy",), sub.traffic_policy)
    return layers


# --- multi-network --------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkGateway:
    """What istiod reads from a Service labelled ``topology.istio.io/network``
    (``getGatewayDetails``, docs/semantics.md §network-gateways): the network, the mTLS port it
    looked for (15443 or the ``networking.istio.io/gatewayPort`` label) and the ports found
    (0 = not a service port).  ``port_label_invalid``: the label was not a number (istiod warns
    and keeps 15443)."""

    network: str
    wanted_port: int
    port: int
    hbone_port: int
    port_label_invalid: bool = False

    @property
    def accepted(self) -> bool:
        """istiod keeps the Service as a gateway (it listens on the mTLS or the HBONE port)."""
        return bool(self.port or self.hbone_port)


def network_gateway(labels: dict[str, str], service_ports: Iterable[Optional[int]]) -> Optional[NetworkGateway]:
    """``getGatewayDetails`` for a Kubernetes Service: None when it has no network label."""
    from .defaults import NETWORK_GATEWAY_HBONE_PORT, NETWORK_GATEWAY_PORT, NETWORK_GATEWAY_PORT_LABEL, NETWORK_LABEL

    network = labels.get(NETWORK_LABEL, "")
    if not network:
        return None
    wanted, invalid = NETWORK_GATEWAY_PORT, False
    raw = labels.get(NETWORK_GATEWAY_PORT_LABEL, "")
    if raw:
        if re.fullmatch(r"[+-]?[0-9]+", raw):  # strconv.Atoi: an optional sign and ASCII digits
            wanted = int(raw)
        else:
            invalid = True
    numbers = {p for p in service_ports if p is not None}
    return NetworkGateway(network, wanted, wanted if wanted in numbers else 0,
                          NETWORK_GATEWAY_HBONE_PORT if NETWORK_GATEWAY_HBONE_PORT in numbers else 0, invalid)


def gateway_external_address(service_type: str, annotations: dict[str, str], external_ips: Iterable[Any]) -> bool:
    """Can istiod learn an address other networks use for this gateway Service
    (``ConvertService``: a LoadBalancer's ingress status — assumed, a repository has no status —,
    ``spec.externalIPs``, or a NodePort Service annotated ``traffic.istio.io/nodeSelector``)?"""
    if any(isinstance(ip, str) and ip for ip in external_ips):
        return True
    if service_type == "LoadBalancer":
        return True
    return service_type == "NodePort" and "traffic.istio.io/nodeSelector" in annotations


def could_be_kube_host(pattern: str, cluster_domain: str) -> bool:
    """Could the host pattern cover some Kubernetes Service ``<name>.<ns>.svc.<domain>``
    (one the repository does not show)?"""
    p = pattern.lower().rstrip(".")
    if p == "*":
        return True
    kube_tail = f".svc.{cluster_domain}"
    if p.startswith("*"):
        suffix = p[1:]
        if kube_tail.endswith(suffix):
            return True  # *.local, *.cluster.local, *.svc.cluster.local
        # *.<ns>.svc.<domain>: any Service of that namespace
        return suffix.endswith(kube_tail) and suffix[: -len(kube_tail)].count(".") == 1
    return cluster_namespace(p, cluster_domain) is not None


def auto_passthrough_serves(pattern: str, host: str) -> bool:
    """``builtAutoPassthroughFilterChains``: the service hostname is a subset of the server host
    (namespace part already removed)."""
    if host.startswith("*") and pattern.startswith("*"):
        return host == pattern or host.endswith(pattern[1:])
    return host_matches(pattern, host)
