"""The mesh graph: Gateway -> VirtualService -> ServiceEntry/Service -> WorkloadEntry/WorkloadGroup/Pod.

Built once per run (``Context.graph``) from the typed model, with every resolution rule of
docs/semantics.md applied in one place so rules never re-implement it:

* host names (§host-resolution) and visibility (§exportto), through ``lint/semantics.py``;
* selection (§label-selection, §serviceentry-selection, §service-selection): ServiceEntry ``workloadSelector`` and Service ``selector`` pick
  WorkloadEntries, WorkloadGroups (as the entries they will generate) and pod templates of
  Deployments/StatefulSets/... in the *same namespace*, with the address-kind and headless
  filters; selection goes through a label index, never a pairwise scan;
* effective endpoint ports (§port-precedence): WE ``ports[<service port name>]`` -> SE ``targetPort`` -> ``number``,
  named Service targetPorts through the WE ports map or container port names;
* effective DestinationRule (§destinationrule-lookup, §destinationrule-merge, §subset-policy, §port-level-settings): lookup path client ns -> service ns -> root ns,
  same-namespace merge (first top-level policy wins), subset inheritance and port-level
  replacement of connectionPool/outlierDetection/loadBalancer/tls.

The naming and scoping rules are pure functions in ``lint/semantics.py``; the graph applies
them to the repository (``dr_host``, ``dr_services``, ``drs_by_host``, ``effective_dr``,
``gateway_proxy_namespaces``, ``route_client_namespaces``).

The networkx ``MultiDiGraph`` (:attr:`MeshGraph.g`) carries the same facts as typed edges for
``istio-vm-lint graph`` and for rules that want to walk chains.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .findings import FieldPath
from .model import (
    POD_TEMPLATE_KINDS, DestinationRule, EndpointSpec, Gateway, KnativeService, OpaqueWorkload, Resource, Rollout, Service,
    ServiceEntry, ServicePort, Sidecar, VirtualService, WorkloadController, WorkloadEntry, WorkloadGroup, as_int,
    as_list, locality_from_labels,
)
from .semantics import (  # noqa: F401  (re-exported: rules import them from here)
    EffectiveDR, cluster_namespace, dr_host, host_matches, hosts_overlap, installation_service, kube_fqdn, lookup_path,
    gateway_key, merge_traffic_policy, parse_gateway_ref, policy_layers, resolve_host, visible,
)

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from .config import Settings
    from .project import Project


# --- nodes ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Workload:
    """Something a selector can pick: a WorkloadEntry, a WorkloadGroup's future entries, a pod template."""

    kind: str  # "WorkloadEntry", "WorkloadGroup", "Pod" (template of resource.kind) or "Endpoint"
    resource: Resource
    namespace: str
    labels: dict[str, str]
    ports: dict[str, int]  # named ports: WE/WG ports map; pods: named TCP container ports
    served_ports: Optional[set[int]]  # ports known to be served (pods: containerPorts; WG: template ports); None = unknown
    address_kind: str  # ip, hostname, uds, none, pod, future
    locality: str
    network: str
    service_account: str
    tls_mode: str  # istio or disabled
    labels_path: FieldPath
    ports_path: FieldPath
    endpoint: Optional[EndpointSpec] = None

    @property
    def id(self) -> str:
        r = self.resource
        suffix = "" if self.kind != "Endpoint" or self.endpoint is None else f"#{self.endpoint.path[-1]}"
        return f"{r.kind}/{r.namespace}/{r.name}{suffix}"

    @property
    def has_sidecar(self) -> bool:
        """Best evidence the workload runs an Istio proxy (§auto-mtls, §workloadgroup)."""
        return self.kind == "WorkloadGroup" or self.tls_mode == "istio"


@dataclass(eq=False)
class MeshService:
    """One hostname of a ServiceEntry or Kubernetes Service."""

    resource: Resource
    host: str
    namespace: str
    ports: list[ServicePort]
    export_to: tuple[str, ...]
    host_path: FieldPath

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def is_kube(self) -> bool:
        return isinstance(self.resource, Service)

    @property
    def location(self) -> str:
        if isinstance(self.resource, ServiceEntry):
            return self.resource.location
        return "MESH_EXTERNAL" if self.resource.spec.get("type") == "ExternalName" else "MESH_INTERNAL"

    def port(self, number: Optional[int]) -> Optional[ServicePort]:
        for p in self.ports:
            if p.number == number:
                return p
        return None

    @property
    def id(self) -> str:
        return f"{self.resource.kind}/{self.resource.namespace}/{self.resource.name}:{self.host}"


@dataclass
class Binding:
    """A service selected a workload: the effective endpoint port per service port (§port-precedence).

    ``ports[service_port_number]`` is the endpoint port, or None when the workload is dropped
    for that port (named targetPort the workload cannot satisfy)."""

    service_resource: Resource
    workload: Workload
    ports: dict[int, Optional[int]]
    via: str  # "selector" or "endpoints"


@dataclass
class DestinationRef:
    """A resolved VirtualService destination."""

    vs: VirtualService
    dest_index: int
    host: str  # resolved FQDN/host
    services: list[MeshService]  # visible services matching the host (most specific first)
    port: Optional[int]
    subset: str
    path: FieldPath


# --- the graph ------------------------------------------------------------------------------


class MeshGraph:
    def __init__(self, project: "Project", settings: "Settings", root_namespace: Optional[str] = None) -> None:
        self.project = project
        self.settings = settings
        # Istio's root namespace: the Context passes the one the mesh config implies
        self.root_namespace = root_namespace or settings.root_namespace
        self.domain = settings.cluster_domain
        self.services: list[MeshService] = []
        self.services_by_host: dict[str, list[MeshService]] = defaultdict(list)
        self.wildcard_services: list[MeshService] = []
        self.services_of: dict[int, list[MeshService]] = defaultdict(list)  # id(resource) -> services
        self.workloads: list[Workload] = []
        self.workloads_of: dict[int, list[Workload]] = defaultdict(list)
        self._label_index: dict[tuple[str, str, str], list[Workload]] = defaultdict(list)
        self._ns_workloads: dict[str, list[Workload]] = defaultdict(list)
        self.bindings_by_service: dict[int, list[Binding]] = defaultdict(list)
        self.bindings_by_workload: dict[int, list[Binding]] = defaultdict(list)
        self.drs_by_ns: dict[str, list[DestinationRule]] = defaultdict(list)
        self.gateways: dict[tuple[str, str], Gateway] = {}
        self.namespaces: set[str] = set()  # namespaces the repository declares anything in
        self._dr_idx: dict[str, tuple[dict[str, list[DestinationRule]], list[tuple[str, DestinationRule]]]] = {}
        self._edr_cache: dict[tuple[str, str, Optional[str]], Optional[EffectiveDR]] = {}
        self._dests: dict[int, list[DestinationRef]] = {}
        self._any_ns_cache: dict[Any, list[Workload]] = {}  # select_any_namespace
        self._lookup_cache: dict[tuple[str, Optional[str]], list[MeshService]] = {}  # lookup
        self._endpoints_cache: dict[tuple[int, ...], tuple[list[Resource], list[Workload]]] = {}  # endpoints()
        # The networkx graph (`g`) is built from these indexes on first use (export, `graph`):
        # rules read the indexes, so a lint run pays for neither networkx nor a second copy.
        self._build()

    # ---- the networkx view
    @cached_property
    def g(self) -> "nx.MultiDiGraph":
        """The whole mesh as a networkx MultiDiGraph (nodes: resources, services, workloads; typed edges)."""
        import networkx as nx

        nodes, edges = self._records()
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(nodes.items())
        graph.add_edges_from(edges)
        return graph

    # ---- building
    def _build(self) -> None:
        p = self.project
        for r in p.resources:
            if r.namespace:
                self.namespaces.add(r.namespace)
            if r.kind == "Namespace":
                self.namespaces.add(r.name)
        for r in p.by_kind("WorkloadEntry"):
            assert isinstance(r, WorkloadEntry)
            ep = r.endpoint
            self._add_workload(Workload("WorkloadEntry", r, r.namespace, ep.labels, _int_ports(ep.ports), None,
                                        ep.address_kind, ep.locality, ep.network, ep.service_account, ep.tls_mode,
                                        ("spec", "labels") if "labels" in r.spec else ("metadata", "labels"),
                                        ("spec", "ports"), ep))
        for r in p.by_kind("WorkloadGroup"):
            assert isinstance(r, WorkloadGroup)
            ep = r.template
            ports = _int_ports(ep.ports)
            self._add_workload(Workload("WorkloadGroup", r, r.namespace, ep.labels, ports,
                                        set(ports.values()) if ports else None, "future", ep.locality, ep.network,
                                        ep.service_account, "istio", ("spec", "metadata", "labels"),
                                        ("spec", "template", "ports"), ep))
        opaque = sorted((r for r in p.resources if isinstance(r, OpaqueWorkload)), key=lambda r: (r.kind, r.sort_key))
        for r in p.kinds(*POD_TEMPLATE_KINDS) + opaque:
            assert isinstance(r, WorkloadController)
            pod = r.pod
            if not r.has_template:
                # A Rollout with workloadRef: its pods are the referenced Deployment's, read as
                # that Deployment when the repository has it, else known by the Rollout's selector.
                ref = r.workload_ref if isinstance(r, Rollout) else None
                if ref is None or any(d.name == ref[1] and d.namespace == r.namespace for d in p.by_kind(ref[0])):
                    continue
            named = {}
            for cp in pod.container_ports:
                if cp.name and cp.number is not None and cp.protocol.upper() == "TCP" and cp.name not in named:
                    named[cp.name] = cp.number
            served: Optional[set[int]] = {cp.number for cp in pod.container_ports if cp.number is not None}
            if isinstance(r, (OpaqueWorkload, KnativeService)) or not r.has_template:
                served = None  # unknown: an operator or Knative's queue-proxy decides the pods' ports
            w = Workload("Pod", r, r.namespace, pod.labels, named, served, "pod",
                         locality_from_labels(pod.labels),
                         pod.labels.get("topology.istio.io/network", ""), pod.service_account,
                         "istio" if pod.annotations.get("sidecar.istio.io/inject") != "false"
                         and pod.labels.get("sidecar.istio.io/inject") != "false" else "disabled",
                         pod.path + ("metadata", "labels"), pod.path + ("spec", "containers"))
            self._add_workload(w)
            if isinstance(r, Rollout):
                # Canary experiment steps run extra ReplicaSets of the same pod spec, relabelled
                # by the experiment template (a preview Service selects them); the canary/stable
                # (active/preview) pods carry the strategy's ephemeral labels too.
                for labels, path in r.experiment_labels:
                    extra = dataclass_replace(w, labels={**pod.labels, **labels}, labels_path=path)
                    self._add_workload(extra)
        for r in p.by_kind("ServiceEntry"):
            assert isinstance(r, ServiceEntry)
            for i, h in enumerate(as_list(r.spec.get("hosts"))):
                if isinstance(h, str) and h:
                    self._add_service(MeshService(r, h, r.namespace, r.ports, r.export_to, ("spec", "hosts", i)))
            for ep in r.endpoints:
                self._add_workload(Workload("Endpoint", r, r.namespace, ep.labels, _int_ports(ep.ports), None,
                                            ep.address_kind, ep.locality, ep.network, ep.service_account, ep.tls_mode,
                                            ep.path + ("labels",), ep.path + ("ports",), ep), index=False)
        for r in p.by_kind("Service"):
            assert isinstance(r, Service)
            self._add_service(MeshService(r, kube_fqdn(r.name, r.namespace, self.domain), r.namespace, r.ports,
                                          r.export_to, ("metadata", "name")))
        for r in p.by_kind("DestinationRule"):
            self.drs_by_ns[r.namespace].append(r)  # type: ignore[arg-type]
        for r in p.by_kind("Gateway"):
            self.gateways[(r.namespace, r.name)] = r  # type: ignore[assignment]
        # selection edges
        for r in p.by_kind("ServiceEntry"):
            self._bind_service_entry(r)  # type: ignore[arg-type]
        for r in p.by_kind("Service"):
            self._bind_kube_service(r)  # type: ignore[arg-type]

    # The routing indexes are built on first use (a named-file run may ask for neither).
    @cached_property
    def vs_by_gateway(self) -> dict[tuple[str, str], list[VirtualService]]:
        out: dict[tuple[str, str], list[VirtualService]] = defaultdict(list)
        for r in self.project.by_kind("VirtualService"):
            for _, gw_ns, gw_name in self.vs_gateway_refs(r):  # type: ignore[arg-type]
                out[(gw_ns, gw_name)].append(r)  # type: ignore[arg-type]
        return out

    @cached_property
    def _routes_from(self) -> dict[str, set[str]]:  # service node id -> namespaces of the VSs routing to it
        out: dict[str, set[str]] = defaultdict(set)
        for r in self.project.by_kind("VirtualService"):
            for dref in self.destinations(r):  # type: ignore[arg-type]
                for svc in dref.services:
                    out[svc.id].add(r.namespace)
        return out

    def _records(self) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str, dict[str, Any]]]]:
        """Nodes and typed edges of the whole mesh, derived from the indexes on demand (export only)."""
        from .graph_records import records

        return records(self)

    def _add_workload(self, w: Workload, index: bool = True) -> None:
        self.workloads.append(w)
        self.workloads_of[id(w.resource)].append(w)
        if index:
            self._ns_workloads[w.namespace].append(w)
            for k, v in w.labels.items():
                self._label_index[(w.namespace, k, v)].append(w)

    def _add_service(self, svc: MeshService) -> None:
        self.services.append(svc)
        self.services_of[id(svc.resource)].append(svc)
        if svc.host.startswith("*"):
            self.wildcard_services.append(svc)
        self.services_by_host[svc.host].append(svc)

    # ---- selection
    def select(self, namespace: str, selector: dict[str, str], kinds: Optional[Iterable[str]] = None) -> list[Workload]:
        """Workloads in ``namespace`` whose labels include every selector pair (index lookup)."""
        kinds_set = set(kinds) if kinds else None
        if not selector:
            cands = list(self._ns_workloads.get(namespace, ()))
        else:
            items = sorted(selector.items(), key=lambda kv: len(self._label_index.get((namespace, kv[0], kv[1]), ())))
            first = self._label_index.get((namespace, items[0][0], items[0][1]), [])
            cands = [w for w in first if all(w.labels.get(k) == v for k, v in items[1:])]
        if kinds_set is not None:
            cands = [w for w in cands if w.kind in kinds_set]
        return cands

    def select_any_namespace(self, selector: dict[str, str], kinds: Optional[Iterable[str]] = None) -> list[Workload]:
        """:meth:`select` in every namespace (sorted), memoised per selector and kinds: gateway
        selectors are asked for again by every route bound to the gateway."""
        kinds = tuple(kinds) if kinds is not None else None
        try:
            key = (tuple(selector.items()), kinds)
            hit = self._any_ns_cache.get(key)
        except TypeError:  # an unhashable label value: not memoised
            key, hit = None, None
        if hit is None:
            hit = []
            for ns in sorted(self._ns_workloads):
                hit.extend(self.select(ns, selector, kinds))
            if key is not None:
                self._any_ns_cache[key] = hit
        return list(hit)

    def near_misses(self, namespace: str, selector: dict[str, str]) -> list[tuple[Workload, list[str]]]:
        """Workloads in the namespace that match all but some selector pairs (for messages)."""
        scores: dict[int, tuple[Workload, int]] = {}
        for k, v in selector.items():
            for w in self._label_index.get((namespace, k, v), ()):
                prev = scores.get(id(w))
                scores[id(w)] = (w, (prev[1] if prev else 0) + 1)
        best = sorted(scores.values(), key=lambda t: -t[1])
        out = []
        for w, _n in best[:3]:
            missing = [f"{k}={v}" for k, v in selector.items() if w.labels.get(k) != v]
            out.append((w, missing))
        return out

    def _bind_service_entry(self, se: ServiceEntry) -> None:
        """§port-precedence, §serviceentry-selection: selector (same ns; hostname/UDS WEs only with DNS resolution) or endpoints."""
        dns = se.resolution in ("DNS", "DNS_ROUND_ROBIN")
        targets: list[tuple[Workload, str]] = []
        if se.selector is not None:
            for w in self.select(se.namespace, se.selector, ("WorkloadEntry", "WorkloadGroup", "Pod")):
                if w.address_kind in ("hostname", "uds") and not dns:
                    continue
                targets.append((w, "selector"))
        else:
            targets = [(w, "endpoints") for w in self.workloads_of[id(se)] if w.kind == "Endpoint"]
        for w, via in targets:
            ports: dict[int, Optional[int]] = {}
            for p in se.ports:
                if p.number is None:
                    continue
                if w.address_kind == "uds":
                    ports[p.number] = None
                    continue
                ep = w.ports.get(p.name) if p.name else None
                if ep:
                    ports[p.number] = ep
                elif isinstance(p.target_port, int) and p.target_port > 0:
                    ports[p.number] = p.target_port
                else:
                    ports[p.number] = p.number
            b = Binding(se, w, ports, via)
            self.bindings_by_service[id(se)].append(b)
            self.bindings_by_workload[id(w)].append(b)

    def _bind_kube_service(self, svc: Service) -> None:
        """§named-target-port, §service-selection: same namespace; pods always; WEs only with an IP address and a non-headless Service."""
        if svc.selector is None or not svc.selector:
            return
        if svc.service_type == "ExternalName":
            return
        for w in self.select(svc.namespace, svc.selector, ("WorkloadEntry", "WorkloadGroup", "Pod")):
            if w.kind != "Pod" and (svc.headless or w.address_kind not in ("ip", "future")):
                continue
            ports: dict[int, Optional[int]] = {}
            for p in svc.ports:
                if p.number is None:
                    continue
                tp = p.target_port
                if isinstance(tp, str):
                    ports[p.number] = w.ports.get(tp)  # named targetPort: map or dropped
                elif w.kind == "Pod":
                    ports[p.number] = tp if isinstance(tp, int) and tp > 0 else p.number
                else:
                    ep = w.ports.get(p.name) if p.name else None
                    ports[p.number] = ep or (tp if isinstance(tp, int) and tp > 0 else p.number)
            b = Binding(svc, w, ports, "selector")
            self.bindings_by_service[id(svc)].append(b)
            self.bindings_by_workload[id(w)].append(b)

    # ---- hosts
    def lookup(self, host: str, viewer_ns: Optional[str] = None) -> list[MeshService]:
        """Services for a resolved host visible from ``viewer_ns`` (None = ignore visibility).

        An exact hostname wins over wildcard services; a wildcard *reference* (``*.example.com``)
        returns every service it covers.  Of one hostname defined in several namespaces, a viewer
        gets its own namespace's definition; Kubernetes Services win over ServiceEntries of the
        same hostname otherwise (§kubernetes-service-wins).  Memoised per (host, viewer)."""
        key = (host, viewer_ns)
        hit = self._lookup_cache.get(key)
        if hit is None:
            hit = self._lookup_cache[key] = self._lookup(host, viewer_ns)
        return list(hit)

    def _lookup(self, host: str, viewer_ns: Optional[str]) -> list[MeshService]:
        def vis(s: MeshService) -> bool:
            return viewer_ns is None or visible(s.export_to, s.namespace, viewer_ns)

        if host.startswith("*"):
            return [s for s in self.services if host_matches(host, s.host) and vis(s)]
        exact = [s for s in self.services_by_host.get(host, ()) if vis(s)]
        if exact:
            own = [s for s in exact if s.namespace == viewer_ns]
            if own and len(own) < len(exact):
                exact = own  # a sidecar's own namespace wins a hostname (selectServices)
            kube = [s for s in exact if s.is_kube]
            return kube or exact
        wild = [s for s in self.wildcard_services if host_matches(s.host, host) and vis(s)]
        wild.sort(key=lambda s: -len(s.host))
        return wild[:1] if wild else []

    def vs_gateway_refs(self, vs: VirtualService) -> list[tuple[str, str, str]]:
        """(as written, namespace, name) for each non-mesh gateway the VS binds to (§gateway-references):
        its top-level list; a match-level entry it does not bind there is ignored (§match-gateways).
        A delegate's own lists are kept as written: its root's binding decides."""
        out: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        refs = list(vs.gateways) if vs.hosts else [*vs.gateways, *(g for d in vs.destinations for g in d.gateways)]
        for ref in refs:
            key = gateway_key(ref, vs.namespace, self.domain)
            if key != "mesh" and key not in seen:
                seen.add(key)
                ns, _, name = key.partition("/")
                out.append((ref, ns, name))
        return out

    def destinations(self, vs: VirtualService) -> list[DestinationRef]:
        out = self._dests.get(id(vs))  # memoised: the build and a dozen rules ask for every route
        if out is None:
            out = self._dests[id(vs)] = [
                DestinationRef(vs, i, host, self.lookup(host, vs.namespace), d.port, d.subset, d.path)
                for i, d in enumerate(vs.destinations) if d.host
                for host in (resolve_host(d.host, vs.namespace, self.domain),)]
        return list(out)

    # ---- DestinationRules
    def _dr_index(self, namespace: str) -> tuple[dict[str, list[DestinationRule]], list[tuple[str, DestinationRule]]]:
        """Per-namespace index of selector-less rules: exact resolved host -> rules, plus wildcard rules."""
        idx = self._dr_idx.get(namespace)
        if idx is None:
            exact: dict[str, list[DestinationRule]] = defaultdict(list)
            wild: list[tuple[str, DestinationRule]] = []
            for dr in self.drs_by_ns.get(namespace, ()):
                if dr.workload_selector is not None:
                    continue  # applies only to selected clients in its own namespace
                h = self.dr_host(dr)
                if not h:
                    continue
                if h.startswith("*"):
                    wild.append((h, dr))
                else:
                    exact[h].append(dr)
            idx = self._dr_idx[namespace] = (dict(exact), wild)
        return idx

    def lookup_path(self, client_ns: str, service_ns: Optional[str] = None) -> list[str]:
        """Namespaces a client in ``client_ns`` searches for a DestinationRule, in order."""
        return lookup_path(client_ns, service_ns, self.root_namespace)

    def dr_host(self, dr: DestinationRule) -> str:
        """The host ``dr`` applies to (resolved against its namespace)."""
        return dr_host(dr, self.domain)

    def dr_services(self, dr: DestinationRule) -> list[MeshService]:
        """The services of a (non-wildcard) DestinationRule host, as visible from its namespace."""
        host = self.dr_host(dr)
        if not host or host.startswith("*"):
            return []
        return self.lookup(host, dr.namespace)

    @cached_property
    def drs_by_host(self) -> tuple[dict[str, list[DestinationRule]], list[tuple[str, DestinationRule]]]:
        """Every selector-less DestinationRule of the repository by resolved host: exact hosts,
        and (host, rule) pairs for wildcard hosts.  Which of them a client gets is
        :meth:`effective_dr`'s business."""
        exact: dict[str, list[DestinationRule]] = defaultdict(list)
        wild: list[tuple[str, DestinationRule]] = []
        for r in self.project.by_kind("DestinationRule"):
            if not isinstance(r, DestinationRule) or r.workload_selector is not None:
                continue
            h = self.dr_host(r)
            if h.startswith("*"):
                wild.append((h, r))
            elif h:
                exact[h].append(r)
        return dict(exact), wild

    def endpoints(self, services: Iterable[MeshService]) -> list[Workload]:
        """The workloads bound to any of ``services``, once each, in a stable order (memoised
        per list of services: a dozen rules ask for the endpoints of the same destinations)."""
        resources = [s.resource for s in services]
        key = tuple(id(r) for r in resources)
        hit = self._endpoints_cache.get(key)
        if hit is None:
            out: list[Workload] = []
            seen: set[int] = set()
            for r in resources:
                for b in self.bindings_by_service.get(id(r), ()):
                    if id(b.workload) not in seen:
                        seen.add(id(b.workload))
                        out.append(b.workload)
            hit = self._endpoints_cache[key] = (resources, sorted(out, key=lambda w: w.id))
        return list(hit[1])

    def gateway_proxy_namespaces(self, gw_ns: str, gw_name: str) -> list[str]:
        """Namespaces of the proxies that serve Gateway ``gw_ns/gw_name``: its own namespace, then
        (when the repository has them) the namespaces of the pods its selector picks in any
        namespace."""
        gw = self.gateways.get((gw_ns, gw_name))
        extra = sorted({w.namespace for w in self.select_any_namespace(gw.selector, ("Pod",))}
                       if gw is not None and gw.selector else set())
        return [gw_ns] + extra

    def route_client_namespaces(self, vs: VirtualService, gateways: Iterable[str]) -> list[str]:
        """Namespaces of the clients of a route bound to ``gateways``: ``mesh`` means the
        sidecars of the VirtualService's namespace, a Gateway its proxies."""
        out: list[str] = []
        for g in gateways:
            if g == "mesh":
                nss = [vs.namespace]
            else:
                nss = self.gateway_proxy_namespaces(*parse_gateway_ref(g, vs.namespace, self.domain))
            for ns in nss:
                if ns not in out:
                    out.append(ns)
        return out

    def drs_for_host(self, namespace: str, host: str, viewer_ns: str) -> list[DestinationRule]:
        """Rules in ``namespace`` for ``host`` (most specific host pattern), visible to ``viewer_ns``."""
        exact, wild = self._dr_index(namespace)

        def vis(dr: DestinationRule) -> bool:
            return namespace == viewer_ns or visible(dr.export_to, namespace, viewer_ns)

        best = [dr for dr in exact.get(host, ()) if vis(dr)]
        if best:
            return best
        best_len = -1
        for h, dr in wild:
            if not host_matches(h, host) or not vis(dr):
                continue
            score = 1000 if h == host else len(h)
            if score > best_len:
                best, best_len = [dr], score
            elif score == best_len:
                best.append(dr)
        return best

    def effective_dr(self, client_ns: str, host: str, service_ns: Optional[str] = None) -> Optional[EffectiveDR]:
        """The DestinationRule a client in ``client_ns`` gets for ``host`` (lookup path, §destinationrule-lookup).  Memoised:
        several rule families ask for the same (client, host) pairs."""
        key = (client_ns, host, service_ns)
        if key not in self._edr_cache:
            self._edr_cache[key] = self._effective_dr(client_ns, host, service_ns)
        return self._edr_cache[key]

    def _effective_dr(self, client_ns: str, host: str, service_ns: Optional[str]) -> Optional[EffectiveDR]:
        for ns in self.lookup_path(client_ns, service_ns):
            rules = self.drs_for_host(ns, host, client_ns)
            if rules:
                rules = sorted(rules, key=lambda d: (d.source.path, d.doc_index))
                top_owner = next((d for d in rules if d.traffic_policy), None)
                subsets: dict[str, tuple[DestinationRule, Any]] = {}
                for d in rules:
                    for s in d.subsets:
                        if s.name and s.name not in subsets:
                            subsets[s.name] = (d, s)
                return EffectiveDR(ns, rules, top_owner.traffic_policy if top_owner else None, top_owner, subsets)
        return None

    def references(self, r: Resource) -> list[Resource]:
        """The resources ``r`` depends on through an edge of the graph: a VirtualService's
        gateways and destination services, a DestinationRule's services, the workloads a
        ServiceEntry/Service selects (and, for a workload, the services that select it: its
        ports map is keyed by their port names), a Gateway's proxies, a Sidecar's workloads.
        Used to tell which findings in unchanged files a change can have caused."""
        out: list[Resource] = []
        if isinstance(r, VirtualService):
            for _, gw_ns, gw_name in self.vs_gateway_refs(r):
                gw = self.gateways.get((gw_ns, gw_name))
                if gw is not None:
                    out.append(gw)
            for d in self.destinations(r):
                out.extend(s.resource for s in d.services)
        elif isinstance(r, DestinationRule):
            if r.host:
                out.extend(s.resource for s in self.lookup(resolve_host(r.host, r.namespace, self.domain), r.namespace))
        elif isinstance(r, (ServiceEntry, Service)):
            out.extend(b.workload.resource for b in self.bindings_by_service.get(id(r), ()))
        elif isinstance(r, Gateway):
            if r.selector:
                out.extend(w.resource for w in self.select_any_namespace(r.selector, ("Pod",)))
        elif isinstance(r, Sidecar) and r.workload_selector:
            out.extend(w.resource for w in self.select(r.namespace, r.workload_selector))
        for w in self.workloads_of.get(id(r), ()):
            out.extend(b.service_resource for b in self.bindings_by_workload.get(id(w), ()))
        return out

    def client_namespaces(self, svc: MeshService) -> set[str]:
        """Namespaces that can be clients of ``svc`` as far as the repo knows (for DR lookup):
        its own and those of the VirtualServices routing to it.  (The clients of one route
        are :meth:`route_client_namespaces`.)"""
        return {svc.namespace} | self._routes_from.get(svc.id, set())

    # ---- export
    def to_json(self, focus: Optional[str] = None) -> dict[str, Any]:
        g = self._focused(focus)
        nodes = []
        for n, data in sorted(g.nodes(data=True), key=lambda t: str(t[0])):
            r = data.get("resource")
            item = {"id": n, "kind": data.get("kind")}
            if r is not None:
                item.update({"name": r.name, "namespace": r.namespace, "file": r.source.path, "line": r.line})
            for k in ("host", "labels", "ports", "address_kind", "locality"):
                if k in data:
                    item[k] = data[k]
            nodes.append(item)
        edges = []
        for u, v, data in sorted(g.edges(data=True), key=lambda t: (str(t[0]), str(t[1]), str(t[2].get("type")))):
            e = {"from": u, "to": v}
            for k, val in data.items():
                if k == "ports" and isinstance(val, dict):
                    val = {str(a): b for a, b in val.items()}
                e[k] = val
            edges.append(e)
        return {"version": 1, "nodes": nodes, "edges": edges}

    def _focused(self, focus: Optional[str]) -> "nx.MultiDiGraph":
        import networkx as nx

        if not focus:
            return self.g
        seeds = [n for n, d in self.g.nodes(data=True)
                 if focus == n or focus in str(n) or focus == d.get("host")]
        keep: set[Any] = set()
        for s in seeds:
            keep.add(s)
            keep.update(nx.ancestors(self.g, s))
            keep.update(nx.descendants(self.g, s))
        return self.g.subgraph(keep)

    # ---- traffic-policy provenance (used by rules/traffic_policy.py) -----------------------
    def policy_layers(self, edr: "EffectiveDR", subset: str = "",
                      port: Optional[int] = None) -> list[tuple[DestinationRule, FieldPath, dict[str, Any], bool]]:
        """The TrafficPolicy objects that make up ``edr.policy(subset, port)`` (see
        :func:`~istio_vm_lint.semantics.policy_layers`)."""
        return policy_layers(edr, subset, port)

def _rid(r: Resource) -> str:
    return f"{r.kind}/{r.namespace}/{r.name}"


def _int_ports(ports: dict[str, Any]) -> dict[str, int]:
    out = {}
    for k, v in ports.items():
        n = as_int(v)
        if n is not None:
            out[k] = n
    return out


def build_graph(project: "Project", settings: "Settings", root_namespace: Optional[str] = None) -> MeshGraph:
    return MeshGraph(project, settings, root_namespace)


# --- rendering for `istio-vm-lint graph` --------------------------------------------------


def export_graph(graph: MeshGraph, fmt: str, focus: Optional[str] = None) -> str:
    """The graph as mermaid, dot or json, without findings (see ``lint/graph_export.py``)."""
    from .graph_export import export_graph as export

    return export(graph, fmt, focus)
