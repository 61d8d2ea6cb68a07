"""Typed resource model.

Every supported document becomes a :class:`Resource` subclass that knows where it came from
(file, document index, root position) and exposes typed, defaulted views of the fields the
rules read.  The views are tolerant: a field of the wrong type (which the schema rules report)
reads as "absent" instead of raising, so one malformed resource never stops the graph.

Field paths are kept next to the values (``ServicePort.path`` etc.) so a rule can point at
``spec.ports[1].targetPort`` without re-deriving indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Optional, Union

from . import defaults
from .findings import FieldPath
from .model_workloads import (  # noqa: F401  (re-exported: the workload kinds are part of the model)
    ContainerPort,
    CronJob,
    DeploymentConfig,
    KnativeService,
    OpaqueWorkload,
    Pod,
    PodTemplate,
    Rollout,
    WorkloadController,
    _pod_template,
)
from .resource import (  # noqa: F401  (re-exported)
    Origin,
    Resource,
    SourceFile,
    _is_ip,
    as_int,
    as_list,
    as_map,
    as_str,
    str_list,
    str_map,
)

if TYPE_CHECKING:  # pragma: no cover
    pass


# --- shared sub-objects -----------------------------------------------------------------


@dataclass
class ServicePort:
    """A port of a ServiceEntry or Kubernetes Service.

    ``number`` is the service port (SE ``number`` / Service ``port``); ``target_port`` is an
    int, a port name (Services only) or None when not given (the default is then applied by
    :attr:`effective_target`).
    """

    number: Optional[int]
    name: str
    protocol: str
    target_port: Union[int, str, None]
    index: int
    path: FieldPath
    app_protocol: str = ""

    @property
    def effective_target(self) -> Union[int, str, None]:
        # SE targetPort defaults to number; Kubernetes targetPort defaults to port.
        return self.target_port if self.target_port not in (None, 0, "") else self.number


@dataclass
class EndpointSpec:
    """The WorkloadEntry message: a WorkloadEntry spec, an inline SE endpoint or a WG template."""

    address: str
    ports: dict[str, Any]
    labels: dict[str, str]
    network: str
    locality: str
    weight: int
    service_account: str
    path: FieldPath  # path of the WorkloadEntry-shaped mapping in its document

    @property
    def address_kind(self) -> str:
        """``ip``, ``hostname``, ``uds`` or ``none`` (§hostname-workloadentries: only IPs are selectable by STATIC/NONE SEs and Services)."""
        a = self.address
        if not a:
            return "none"
        if a.startswith("unix://"):
            return "uds"
        if _is_ip(a):
            return "ip"
        return "hostname"

    @property
    def tls_mode(self) -> str:
        """``istio`` when the endpoint has a sidecar identity (§workloadentry-identity: tlsMode label, else serviceAccount)."""
        label = self.labels.get("security.istio.io/tlsMode")
        if label:
            return label
        return "istio" if self.service_account else "disabled"


def locality_from_labels(labels: dict[str, str]) -> str:
    """``region/zone/subzone`` from the locality labels (defaults.LOCALITY_LABELS, first set
    wins; dots stand for slashes in label values), or ""."""
    for key in defaults.LOCALITY_LABELS:
        if labels.get(key):
            return labels[key].replace(".", "/")
    return ""


def endpoint_from(spec: Any, path: FieldPath, metadata_labels: Optional[dict[str, str]] = None) -> EndpointSpec:
    s = as_map(spec)
    labels = str_map(s.get("labels"))
    if metadata_labels:
        labels = {**labels, **metadata_labels}  # metadata wins (§label-selection)
    locality = as_str(s.get("locality")) or locality_from_labels(labels)
    weight = as_int(s.get("weight")) or defaults.WE_WEIGHT
    ports = {k: v for k, v in as_map(s.get("ports")).items() if isinstance(k, str)}
    return EndpointSpec(
        address=as_str(s.get("address")),
        ports=ports,
        labels=labels,
        network=as_str(s.get("network")),
        locality=locality,
        weight=weight,
        service_account=as_str(s.get("serviceAccount")),
        path=path,
    )


def export_to(value: Any) -> tuple[str, ...]:
    values = tuple(str_list(value))
    return values or defaults.EXPORT_TO_ALL


# --- resources --------------------------------------------------------------------------


def _ports(raw: Any, base: FieldPath, number_key: str, target_key: str) -> list[ServicePort]:
    out: list[ServicePort] = []
    for i, p in enumerate(as_list(raw)):
        pm = as_map(p)
        target = pm.get(target_key)
        if isinstance(target, bool):
            target = None
        elif isinstance(target, str) and target.isdigit():
            target = int(target)
        elif not isinstance(target, (int, str)):
            target = None
        out.append(ServicePort(
            number=as_int(pm.get(number_key)),
            name=as_str(pm.get("name")),
            protocol=as_str(pm.get("protocol")),
            target_port=target,
            index=i,
            path=base + (i,),
            app_protocol=as_str(pm.get("appProtocol")),
        ))
    return out


class ServiceEntry(Resource):
    @cached_property
    def hosts(self) -> list[str]:
        return str_list(self.spec.get("hosts"))

    @cached_property
    def addresses(self) -> list[str]:
        return str_list(self.spec.get("addresses"))

    @cached_property
    def ports(self) -> list[ServicePort]:
        return _ports(self.spec.get("ports"), ("spec", "ports"), "number", "targetPort")

    @property
    def location_explicit(self) -> bool:
        return isinstance(self.spec.get("location"), str) and bool(self.spec.get("location"))

    @property
    def location(self) -> str:
        return as_str(self.spec.get("location")) or defaults.SE_LOCATION

    @property
    def resolution_explicit(self) -> bool:
        return isinstance(self.spec.get("resolution"), str) and bool(self.spec.get("resolution"))

    @property
    def resolution(self) -> str:
        return as_str(self.spec.get("resolution")) or defaults.SE_RESOLUTION

    @cached_property
    def endpoints(self) -> list[EndpointSpec]:
        return [endpoint_from(e, ("spec", "endpoints", i)) for i, e in enumerate(as_list(self.spec.get("endpoints")))]

    @property
    def has_selector(self) -> bool:
        return isinstance(self.spec.get("workloadSelector"), dict)

    @cached_property
    def selector(self) -> Optional[dict[str, str]]:
        ws = self.spec.get("workloadSelector")
        if not isinstance(ws, dict):
            return None
        return str_map(ws.get("labels"))

    @cached_property
    def export_to(self) -> tuple[str, ...]:
        return export_to(self.spec.get("exportTo"))


class WorkloadEntry(Resource):
    @cached_property
    def endpoint(self) -> EndpointSpec:
        return endpoint_from(self.spec, ("spec",), self.labels)

    @property
    def health_checked(self) -> bool:
        return self.annotations.get("proxy.istio.io/health-checks-enabled") == "true"


class WorkloadGroup(Resource):
    @cached_property
    def template(self) -> EndpointSpec:
        # Generated WorkloadEntries get spec.metadata.labels (not the WorkloadGroup's own
        # metadata.labels), overlaying any template labels (docs/semantics.md §workloadgroup).
        ep = endpoint_from(self.spec.get("template"), ("spec", "template"), self.vm_labels)
        if not ep.service_account:
            ep.service_account = defaults.WG_SERVICE_ACCOUNT
        return ep

    @cached_property
    def vm_labels(self) -> dict[str, str]:
        return str_map(as_map(self.spec.get("metadata")).get("labels"))

    @cached_property
    def probe(self) -> dict[str, Any]:
        return as_map(self.spec.get("probe"))


@dataclass
class Subset:
    """A DestinationRule subset."""

    name: str
    labels: dict[str, str]
    traffic_policy: dict[str, Any]
    index: int
    path: FieldPath


class DestinationRule(Resource):
    @property
    def host(self) -> str:
        return as_str(self.spec.get("host"))

    @cached_property
    def traffic_policy(self) -> dict[str, Any]:
        return as_map(self.spec.get("trafficPolicy"))

    @cached_property
    def subsets(self) -> list[Subset]:
        out = []
        for i, s in enumerate(as_list(self.spec.get("subsets"))):
            sm = as_map(s)
            out.append(Subset(as_str(sm.get("name")), str_map(sm.get("labels")),
                              as_map(sm.get("trafficPolicy")), i, ("spec", "subsets", i)))
        return out

    @cached_property
    def export_to(self) -> tuple[str, ...]:
        return export_to(self.spec.get("exportTo"))

    @cached_property
    def workload_selector(self) -> Optional[dict[str, str]]:
        ws = self.spec.get("workloadSelector")
        return str_map(as_map(ws).get("matchLabels")) if isinstance(ws, dict) else None


@dataclass
class RouteDestination:
    """One destination (or mirror) inside a VirtualService route."""

    host: str
    subset: str
    port: Optional[int]
    route_kind: str  # http, tls or tcp
    path: FieldPath  # path of the ``destination`` mapping
    gateways: tuple[str, ...]  # effective gateways for this route (match-level override)
    is_mirror: bool = False


class VirtualService(Resource):
    @cached_property
    def hosts(self) -> list[str]:
        return str_list(self.spec.get("hosts"))

    @property
    def gateways_explicit(self) -> bool:
        return bool(str_list(self.spec.get("gateways")))

    @cached_property
    def gateways(self) -> tuple[str, ...]:
        return tuple(str_list(self.spec.get("gateways"))) or defaults.VS_GATEWAYS

    @cached_property
    def export_to(self) -> tuple[str, ...]:
        return export_to(self.spec.get("exportTo"))

    @cached_property
    def destinations(self) -> list[RouteDestination]:
        out: list[RouteDestination] = []
        for kind in ("http", "tls", "tcp"):
            for ri, route in enumerate(as_list(self.spec.get(kind))):
                rm = as_map(route)
                gws: set[str] = set()
                for m in as_list(rm.get("match")):
                    gws.update(str_list(as_map(m).get("gateways")))
                route_gws = tuple(sorted(gws)) if gws else self.gateways
                base = ("spec", kind, ri)
                for di, d in enumerate(as_list(rm.get("route"))):
                    dest = as_map(as_map(d).get("destination"))
                    out.append(_destination(dest, kind, base + ("route", di, "destination"), route_gws))
                if kind == "http":
                    if isinstance(rm.get("mirror"), dict):
                        out.append(_destination(rm["mirror"], kind, base + ("mirror",), route_gws, True))
                    for mi, mirror in enumerate(as_list(rm.get("mirrors"))):
                        dest = as_map(as_map(mirror).get("destination"))
                        out.append(_destination(dest, kind, base + ("mirrors", mi, "destination"), route_gws, True))
        return out


def _destination(dest: dict[str, Any], kind: str, path: FieldPath, gws: tuple[str, ...],
                 mirror: bool = False) -> RouteDestination:
    port = as_map(dest.get("port"))
    return RouteDestination(as_str(dest.get("host")), as_str(dest.get("subset")),
                            as_int(port.get("number")), kind, path, gws, mirror)


@dataclass
class GatewayServer:
    """One server of a Gateway: its port, protocol, hosts and TLS."""

    port: Optional[int]
    port_name: str
    protocol: str
    hosts: list[str]
    tls_mode: str
    credential_name: str
    index: int
    path: FieldPath


class Gateway(Resource):
    @cached_property
    def selector(self) -> Optional[dict[str, str]]:
        sel = self.spec.get("selector")
        return str_map(sel) if isinstance(sel, dict) else None

    @cached_property
    def servers(self) -> list[GatewayServer]:
        out = []
        for i, s in enumerate(as_list(self.spec.get("servers"))):
            sm = as_map(s)
            port = as_map(sm.get("port"))
            tls = as_map(sm.get("tls"))
            out.append(GatewayServer(as_int(port.get("number")), as_str(port.get("name")),
                                     as_str(port.get("protocol")).upper(), str_list(sm.get("hosts")),
                                     as_str(tls.get("mode")), as_str(tls.get("credentialName")),
                                     i, ("spec", "servers", i)))
        return out


class Sidecar(Resource):
    @cached_property
    def workload_selector(self) -> Optional[dict[str, str]]:
        ws = self.spec.get("workloadSelector")
        return str_map(as_map(ws).get("labels")) if isinstance(ws, dict) else None

    @cached_property
    def egress_hosts(self) -> list[tuple[str, FieldPath]]:
        out: list[tuple[str, FieldPath]] = []
        for i, eg in enumerate(as_list(self.spec.get("egress"))):
            for j, h in enumerate(as_list(as_map(eg).get("hosts"))):
                if isinstance(h, str):
                    out.append((h, ("spec", "egress", i, "hosts", j)))
        return out


class PeerAuthentication(Resource):
    @cached_property
    def selector(self) -> Optional[dict[str, str]]:
        sel = self.spec.get("selector")
        return str_map(as_map(sel).get("matchLabels")) if isinstance(sel, dict) else None

    @property
    def mtls_mode(self) -> str:
        return as_str(as_map(self.spec.get("mtls")).get("mode")) or "UNSET"


@dataclass
class TargetRef:
    """One ``targetRef``/``targetRefs`` entry of a workload policy (``PolicyTargetReference``)."""

    group: str
    kind: str
    name: str
    namespace: str
    path: FieldPath


class WorkloadPolicy(Resource):
    """A policy that applies to the workloads its selector (or targetRefs) picks: AuthorizationPolicy,
    RequestAuthentication, Telemetry, WasmPlugin (``selector.matchLabels``) and EnvoyFilter
    (``workloadSelector.labels``).  Their schemas and Istio's validation are rules IVL010/IVL011
    and IVL670-IVL689."""

    SELECTOR_KEY = "selector"
    LABELS_KEY = "matchLabels"

    @property
    def selector_path(self) -> FieldPath:
        return ("spec", self.SELECTOR_KEY, self.LABELS_KEY)

    @cached_property
    def selector(self) -> Optional[dict[str, str]]:
        sel = self.spec.get(self.SELECTOR_KEY)
        return str_map(as_map(sel).get(self.LABELS_KEY)) if isinstance(sel, dict) else None

    @cached_property
    def target_refs(self) -> list[TargetRef]:
        out: list[TargetRef] = []
        raw = self.spec.get("targetRefs")
        items: list[tuple[Any, FieldPath]] = [(t, ("spec", "targetRefs", i)) for i, t in enumerate(as_list(raw))]
        if not items and isinstance(self.spec.get("targetRef"), dict):
            items = [(self.spec["targetRef"], ("spec", "targetRef"))]
        for t, path in items:
            tm = as_map(t)
            out.append(TargetRef(as_str(tm.get("group")), as_str(tm.get("kind")), as_str(tm.get("name")),
                                 as_str(tm.get("namespace")), path))
        return out


class EnvoyFilter(WorkloadPolicy):
    SELECTOR_KEY = "workloadSelector"
    LABELS_KEY = "labels"


class AuthorizationPolicy(WorkloadPolicy):
    @property
    def action(self) -> str:
        return as_str(self.spec.get("action")) or "ALLOW"


class ProxyConfig(Resource):
    """``networking.istio.io`` ProxyConfig: validated (schema, ``ValidateProxyConfig``) only."""


class Service(Resource):
    @cached_property
    def selector(self) -> Optional[dict[str, str]]:
        sel = self.spec.get("selector")
        return str_map(sel) if isinstance(sel, dict) else None

    @cached_property
    def ports(self) -> list[ServicePort]:
        return _ports(self.spec.get("ports"), ("spec", "ports"), "port", "targetPort")

    @property
    def service_type(self) -> str:
        return as_str(self.spec.get("type")) or "ClusterIP"

    @property
    def headless(self) -> bool:
        return self.spec.get("clusterIP") == "None"

    @cached_property
    def export_to(self) -> tuple[str, ...]:
        ann = self.annotations.get("networking.istio.io/exportTo", "")
        values = tuple(v.strip() for v in ann.split(",") if v.strip())
        return values or defaults.EXPORT_TO_ALL


class ServiceAccount(Resource):
    pass


class Namespace(Resource):
    pass



# (group, kind) -> (class, supported versions)
ISTIO_NET = "networking.istio.io"
NET_VERSIONS = frozenset({"v1", "v1beta1", "v1alpha3"})
KINDS: dict[tuple[str, str], tuple[type[Resource], frozenset[str]]] = {
    (ISTIO_NET, "ServiceEntry"): (ServiceEntry, NET_VERSIONS),
    (ISTIO_NET, "WorkloadEntry"): (WorkloadEntry, NET_VERSIONS),
    (ISTIO_NET, "WorkloadGroup"): (WorkloadGroup, NET_VERSIONS),
    (ISTIO_NET, "DestinationRule"): (DestinationRule, NET_VERSIONS),
    (ISTIO_NET, "VirtualService"): (VirtualService, NET_VERSIONS),
    (ISTIO_NET, "Gateway"): (Gateway, NET_VERSIONS),
    (ISTIO_NET, "Sidecar"): (Sidecar, NET_VERSIONS),
    ("security.istio.io", "PeerAuthentication"): (PeerAuthentication, frozenset({"v1", "v1beta1"})),
    ("security.istio.io", "AuthorizationPolicy"): (AuthorizationPolicy, frozenset({"v1", "v1beta1"})),
    ("security.istio.io", "RequestAuthentication"): (WorkloadPolicy, frozenset({"v1", "v1beta1"})),
    ("telemetry.istio.io", "Telemetry"): (WorkloadPolicy, frozenset({"v1", "v1alpha1"})),
    ("networking.istio.io", "EnvoyFilter"): (EnvoyFilter, frozenset({"v1alpha3"})),
    ("extensions.istio.io", "WasmPlugin"): (WorkloadPolicy, frozenset({"v1alpha1"})),
    ("networking.istio.io", "ProxyConfig"): (ProxyConfig, frozenset({"v1beta1"})),
    ("", "Service"): (Service, frozenset({"v1"})),
    ("", "Pod"): (Pod, frozenset({"v1"})),
    ("", "ServiceAccount"): (ServiceAccount, frozenset({"v1"})),
    ("", "Namespace"): (Namespace, frozenset({"v1"})),
    ("apps", "Deployment"): (WorkloadController, frozenset({"v1"})),
    ("apps", "StatefulSet"): (WorkloadController, frozenset({"v1"})),
    ("apps", "DaemonSet"): (WorkloadController, frozenset({"v1"})),
    ("apps", "ReplicaSet"): (WorkloadController, frozenset({"v1"})),
    ("batch", "Job"): (WorkloadController, frozenset({"v1"})),
    ("batch", "CronJob"): (CronJob, frozenset({"v1"})),
}
# Workload kinds of the Istio ecosystem with a pod template (see POD_TEMPLATE_KINDS): read
# like KINDS, without a schema of their own (their CRDs are not Istio's or Kubernetes').
WORKLOAD_EXTENSION_KINDS: dict[tuple[str, str], tuple[type[Resource], frozenset[str]]] = {
    ("argoproj.io", "Rollout"): (Rollout, frozenset({"v1alpha1"})),
    ("apps.openshift.io", "DeploymentConfig"): (DeploymentConfig, frozenset({"v1"})),
    ("", "DeploymentConfig"): (DeploymentConfig, frozenset({"v1"})),  # OpenShift 3's legacy group-less API
    ("serving.knative.dev", "Service"): (KnativeService, frozenset({"v1", "v1beta1", "v1alpha1"})),
}
# Kinds loaded under another name, because their own collides with a Kubernetes kind.
KIND_NAMES: dict[tuple[str, str], str] = {("serving.knative.dev", "Service"): "Service.serving.knative.dev"}
# Every kind whose pod template the graph reads (OpaqueWorkload kinds come on top).
POD_TEMPLATE_KINDS: tuple[str, ...] = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                                       "Pod", "Rollout", "DeploymentConfig", "Service.serving.knative.dev")
# Workload APIs Kubernetes stopped serving in 1.16 (extensions/v1beta1, apps/v1beta1,
# apps/v1beta2).  The API server rejects them (IVL003 says so), but old manifests still use
# them, and their pod templates are read anyway: otherwise every Service, ServiceEntry and
# DestinationRule subset that selects those pods would be reported as matching nothing.
LEGACY_WORKLOAD_GROUPS = ("extensions", "apps")
LEGACY_WORKLOAD_VERSIONS = frozenset({"v1beta1", "v1beta2"})
LEGACY_WORKLOAD_KINDS = frozenset({"Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"})


def legacy_workload(group: str, version: str, kind: str) -> bool:
    """``extensions/v1beta1``, ``apps/v1beta1`` or ``apps/v1beta2`` workload controller."""
    return group in LEGACY_WORKLOAD_GROUPS and version in LEGACY_WORKLOAD_VERSIONS and kind in LEGACY_WORKLOAD_KINDS


WORKLOAD_KINDS = frozenset(POD_TEMPLATE_KINDS)
ISTIO_KINDS = frozenset(k for (g, k) in KINDS if g.endswith("istio.io"))
# Kinds read for their selectors and references only, without a generated schema (and so not
# checked by IVL010/IVL011): none since every Istio kind of the model has its schema.
UNVALIDATED_KINDS: frozenset[str] = frozenset()
