"""Istio defaults the linter materialises before evaluating anything, in one place.

Source: docs/semantics.md §defaults (proto3 zero values and pilot feature
flags at the Istio revision named there).  Rules must read the typed model, which applies
these, instead of re-deciding what an omitted field means.
"""

from __future__ import annotations

DEFAULT_NAMESPACE = "default"
CLUSTER_DOMAIN = "cluster.local"
ROOT_NAMESPACE = "istio-system"

# ServiceEntry (api:se): enum zero values.
SE_LOCATION = "MESH_EXTERNAL"
SE_RESOLUTION = "NONE"
# ServicePort.targetPort defaults to number (applied in model.ServicePort).

# exportTo: empty means exported to every namespace (mesh default*ExportTo not set).
EXPORT_TO_ALL: tuple[str, ...] = ("*",)

# VirtualService.gateways omitted means the mesh only.
VS_GATEWAYS: tuple[str, ...] = ("mesh",)

# WorkloadEntry.weight 0/absent is treated as 1.
WE_WEIGHT = 1

# WorkloadGroup.template.serviceAccount empty means "default".
WG_SERVICE_ACCOUNT = "default"

# OutlierDetection.maxEjectionPercent when unset (api:dr, applyOutlierDetection).
OUTLIER_MAX_EJECTION_PERCENT = 10

# Locality label fallbacks for WorkloadEntry.locality, in order.
LOCALITY_LABELS = ("topology.istio.io/locality", "istio-locality")

# Services every Istio installation creates (istioctl profiles, the istiod and gateway Helm
# charts): resolvable without being in the repository (docs/semantics.md §installation-services).
# (namespace, name); the root namespace stands for "istio-system" when it is configured otherwise.
INSTALLATION_SERVICES: frozenset[tuple[str, str]] = frozenset({
    ("istio-system", "istiod"),
    ("istio-system", "istio-ingressgateway"),
    ("istio-system", "istio-egressgateway"),
    ("istio-system", "istio-eastwestgateway"),
    ("istio-ingress", "istio-ingress"),        # helm install istio-ingress istio/gateway -n istio-ingress
    ("istio-ingress", "istio-ingressgateway"),
    ("istio-egress", "istio-egress"),
    ("istio-egress", "istio-egressgateway"),
    ("default", "kubernetes"),  # the API server's own Service, in every cluster
})

# The Services of Istio's telemetry addons (samples/addons: grafana, kiali, prometheus, jaeger,
# loki; `jaeger-query` from the 1.5-1.6 installer's tracing addon), installed from Istio's release
# archive into istio-system rather than kept in a repository (docs/semantics.md §istio-addons).
ADDON_SERVICES = frozenset({"grafana", "kiali", "prometheus", "tracing", "zipkin", "jaeger-collector",
                            "jaeger-query", "loki"})
# ... and the `app` / `app.kubernetes.io/name` label of their pods.
ADDON_APPS = frozenset({"grafana", "kiali", "prometheus", "jaeger", "zipkin", "loki"})

# The Services and Gateways of the sample apps in Istio's release archive (samples/<dir>), which
# tutorials deploy with `kubectl apply -f samples/...` and keep only their own routing for
# (docs/semantics.md §istio-samples): name -> the samples/ directory.
ISTIO_SAMPLE_SERVICES = {"productpage": "bookinfo", "details": "bookinfo", "reviews": "bookinfo",
                         "ratings": "bookinfo", "mongodb": "bookinfo", "mysqldb": "bookinfo",
                         "helloworld": "helloworld", "httpbin": "httpbin", "sleep": "sleep", "curl": "curl",
                         "tcp-echo": "tcp-echo", "echo": "grpc-echo", "ext-authz": "extauthz"}
# The service accounts the samples' manifests create, by the sample Service they run.
ISTIO_SAMPLE_ACCOUNTS = {"bookinfo-productpage": "productpage", "bookinfo-details": "details",
                         "bookinfo-reviews": "reviews", "bookinfo-ratings": "ratings", "httpbin": "httpbin",
                         "sleep": "sleep", "curl": "curl"}
ISTIO_SAMPLE_GATEWAYS = {"bookinfo-gateway": "bookinfo", "helloworld-gateway": "helloworld",
                         "httpbin-gateway": "httpbin", "tcp-echo-gateway": "tcp-echo"}

# The ports istiod (pilot-discovery) listens on whatever its Deployment declares: the defaults of
# --httpAddr, --grpcAddr, --secureGRPCAddr, --monitoringAddr and --httpsAddr
# (pilot/cmd/pilot-discovery/app/cmd.go); its pods are labelled app=istiod, istio=pilot
# (docs/semantics.md §istiod-ports).
ISTIOD_PORTS = frozenset({8080, 15010, 15012, 15014, 15017})

# Multi-network (docs/semantics.md §network-gateways): a Service labelled
# topology.istio.io/network is that network's gateway if it has one of these service ports
# (DefaultNetworkGatewayPort / DefaultNetworkGatewayHBONEPort,
# pilot/pkg/serviceregistry/kube/controller); the label networking.istio.io/gatewayPort
# replaces the mTLS port.
NETWORK_LABEL = "topology.istio.io/network"
NETWORK_GATEWAY_PORT_LABEL = "networking.istio.io/gatewayPort"
NETWORK_GATEWAY_PORT = 15443
NETWORK_GATEWAY_HBONE_PORT = 15008
