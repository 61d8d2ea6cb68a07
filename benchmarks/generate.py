#!/usr/bin/env python3
"""Generate a realistic synthetic mesh-config repository for benchmarking istio-vm-lint.

    python benchmarks/generate.py OUT_DIR --resources 5000 [--seed 1] [--namespaces 20]
                                          [--docs-per-file 50] [--no-defects] [--validate]

The repository looks like a real GitOps repo of a mesh with VMs:

* ~20 team namespaces (``Namespace`` objects in ``namespaces.yaml``), each with a
  namespace-wide ``Sidecar`` and ``PeerAuthentication`` (STRICT), an ingress ``Gateway`` in
  ``istio-system`` (HTTPS + HTTP redirect, cert-manager ``Certificate``) and a gateway-bound
  ``VirtualService``; the ingress gateway Deployment/Service/ServiceAccount in istio-system.
* Per service: a ``ServiceEntry`` (MESH_INTERNAL, STATIC, ``workloadSelector``), 2-4
  ``WorkloadEntries`` (``ports`` map keyed by port name, ``locality``, ``serviceAccount``), a
  ``WorkloadGroup``, a ``DestinationRule`` (``localityLbSetting`` failover +
  ``outlierDetection``, connection pool, subsets), a ``VirtualService`` with several routes
  (header match, prefix match with retries/timeout, a route to a sibling service, weighted
  split), ServiceAccounts, sometimes pods (``Deployment``) behind the same ServiceEntry,
  sometimes a plain Kubernetes ``Service`` + ``Deployment``, and unrelated kinds
  (``ConfigMap`` with a block scalar, ``HorizontalPodAutoscaler``, ``PodDisruptionBudget``).
* Comments: a header on every file, a comment before some documents and trailing comments.
* Documents are written ~``--docs-per-file`` per file, grouped by namespace.

Output is a pure function of (resources, seed, namespaces, docs-per-file, defects).

Unless ``--no-defects``, a few defects are injected (about one of each kind per 2,500
resources, at least one) so that the rules do real work; ``MANIFEST.json`` (not YAML, so
the linter does not read it) lists them with file and resource:

* ``selector-matches-nothing``: a ServiceEntry whose workloadSelector matches no workload;
* ``we-port-key-not-a-port-name``: a WorkloadEntry ``ports`` key naming no ServiceEntry port;
* ``failover-without-outlier-detection``: a DestinationRule with locality failover and no
  outlierDetection;
* ``vs-unknown-host``: a VirtualService route to a host that nothing defines (IVL501).

Everything else is valid against Istio's CRD schemas: ``--validate`` checks every Istio
document against the ``openAPIV3Schema`` of ``crd-all.gen.yaml`` (unknown fields rejected;
CEL rules are not evaluated, the generator keeps to them by construction).

No third-party dependency: the YAML is written by a small emitter below (the loader of the
linter and PyYAML must both read it; the benchmark checks that).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

# --- a tiny block-style YAML emitter ------------------------------------------------------


class C:
    """A scalar with a trailing comment: ``key: value  # text``."""

    __slots__ = ("value", "text")

    def __init__(self, value: Any, text: str) -> None:
        self.value = value
        self.text = text


_SPECIAL = {"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
            "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
            "y", "Y", "n", "N", "<<", "="}
_NUMBERISH = re.compile(r"^[-+]?(?:[0-9][0-9_:]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+|\.(?:inf|Inf|INF|nan|NaN|NAN)"
                        r"|0b[01_]+|0x[0-9a-fA-F_]+|0o[0-7_]+)$")
_PLAIN_OK = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./*:@,=+-]*$")


def scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    s = str(v)
    if s in _SPECIAL or _NUMBERISH.match(s) or not _PLAIN_OK.match(s) or s.endswith(":") or ": " in s:
        return json.dumps(s)
    return s


def _emit_map(d: dict[str, Any], ind: str, out: list[str]) -> None:
    for k, v in d.items():
        key = scalar(k)
        comment = ""
        if isinstance(v, C):
            v, comment = v.value, "  # " + v.text
        if isinstance(v, dict) and v:
            out.append(f"{ind}{key}:{comment}")
            _emit_map(v, ind + "  ", out)
        elif isinstance(v, list) and v:
            out.append(f"{ind}{key}:{comment}")
            _emit_list(v, ind, out)
        elif isinstance(v, dict):
            out.append(f"{ind}{key}: {{}}{comment}")
        elif isinstance(v, list):
            out.append(f"{ind}{key}: []{comment}")
        elif isinstance(v, str) and "\n" in v:
            out.append(f"{ind}{key}: |{comment}")
            for line in v.rstrip("\n").split("\n"):
                out.append(f"{ind}  {line}" if line else "")
        else:
            out.append(f"{ind}{key}: {scalar(v)}{comment}")


def _emit_list(items: list[Any], ind: str, out: list[str]) -> None:
    for it in items:
        comment = ""
        if isinstance(it, C):
            it, comment = it.value, "  # " + it.text
        if isinstance(it, dict) and it:
            sub: list[str] = []
            _emit_map(it, ind + "  ", sub)
            sub[0] = f"{ind}- {sub[0][len(ind) + 2:]}"
            out.extend(sub)
        elif isinstance(it, (dict, list)):
            raise ValueError("nested empty/list items are not used by the generator")
        else:
            out.append(f"{ind}- {scalar(it)}{comment}")


def dump_document(doc: dict[str, Any], comments: Iterable[str] = ()) -> str:
    out = [f"# {c}" if c else "#" for c in comments]
    _emit_map(doc, "", out)
    return "\n".join(out) + "\n"


# --- the model of the synthetic mesh ------------------------------------------------------

TEAM_NAMESPACES = [
    "payments", "orders", "catalog", "inventory", "shipping", "billing", "accounts", "search",
    "reviews", "ratings", "checkout", "pricing", "fraud", "ledger", "notifications", "identity",
    "loyalty", "reporting", "warehouse", "partners", "media", "support", "analytics", "promotions",
]
SERVICE_WORDS = [
    "api", "worker", "gateway", "store", "cache", "indexer", "scheduler", "sync", "export",
    "import", "auth", "profile", "ledger", "quote", "router", "mailer", "audit", "tracker",
    "resolver", "archiver", "matcher", "planner", "feed", "reconciler",
]
REGIONS = {
    "us-east1": ["us-east1-b", "us-east1-c", "us-east1-d"],
    "us-west1": ["us-west1-a", "us-west1-b"],
    "europe-west4": ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
}
FAILOVER = {"us-east1": "us-west1", "us-west1": "us-east1", "europe-west4": "us-east1"}
DOMAIN = "mesh.internal"
INGRESS_SELECTOR = {"istio": "ingressgateway"}

DEFECT_KINDS = (
    "selector-matches-nothing",
    "we-port-key-not-a-port-name",
    "failover-without-outlier-detection",
    "vs-unknown-host",
)


@dataclass
class Doc:
    data: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    defect: Optional[str] = None

    @property
    def ref(self) -> str:
        md = self.data["metadata"]
        ns = md.get("namespace", "")
        return f"{self.data['kind']}/{ns + '/' if ns else ''}{md['name']}"


def meta(name: str, ns: Optional[str], labels: Optional[dict[str, str]] = None,
         annotations: Optional[dict[str, str]] = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if ns is not None:
        md["namespace"] = ns
    if labels:
        md["labels"] = dict(labels)
    if annotations:
        md["annotations"] = dict(annotations)
    return md


class Generator:
    def __init__(self, resources: int, seed: int = 1, namespaces: int = 20, defects: bool = True) -> None:
        if namespaces < 1 or namespaces > len(TEAM_NAMESPACES):
            raise ValueError(f"namespaces must be 1..{len(TEAM_NAMESPACES)}")
        self.target = resources
        self.rng = random.Random(seed)
        self.seed = seed
        self.namespaces = TEAM_NAMESPACES[:namespaces]
        self.with_defects = defects
        self.services: dict[str, list[str]] = {ns: [] for ns in self.namespaces}
        self.ip = 0

    # -- helpers
    def next_ip(self) -> str:
        self.ip += 1
        n = self.ip
        return f"10.{64 + (n >> 16) % 64}.{(n >> 8) & 255}.{n & 255 or 1}"

    def host(self, svc: str, ns: str) -> str:
        return f"{svc}.{ns}.{DOMAIN}"

    # -- per-namespace infrastructure
    def namespace_docs(self, ns: str) -> list[Doc]:
        return [
            Doc({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": meta(ns, None, {"istio-injection": "enabled", "team": ns})},
                [f"Team {ns}: VMs and pods, sidecar-injected."]),
        ]

    def namespace_policy(self, ns: str) -> list[Doc]:
        return [
            Doc({"apiVersion": "networking.istio.io/v1", "kind": "Sidecar", "metadata": meta("default", ns),
                 "spec": {"egress": [{"hosts": ["./*", "istio-system/*"]}],
                          "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}},
                ["Namespace-wide egress scope: own namespace and istio-system."]),
            Doc({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": meta("default", ns),
                 "spec": {"mtls": {"mode": "STRICT"}}}),
        ]

    def ingress_docs(self, ns: str) -> list[Doc]:
        """Gateway + Certificate (istio-system) and the gateway-bound VS (team namespace)."""
        host = f"{ns}.example.com"
        gw = Doc({"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": meta(f"{ns}-gateway", "istio-system"),
                  "spec": {"selector": dict(INGRESS_SELECTOR), "servers": [
                      {"port": {"number": C(8443, "container port (Service 443 -> 8443)"), "name": f"https-{ns}",
                                "protocol": "HTTPS"},
                       "hosts": [f"{ns}/{host}"], "tls": {"mode": "SIMPLE", "credentialName": f"{ns}-example-com-tls"}},
                      {"port": {"number": 8080, "name": f"http-{ns}", "protocol": "HTTP"},
                       "hosts": [f"{ns}/{host}"], "tls": {"httpsRedirect": True}},
                  ]}},
                 [f"Ingress for {host}: HTTPS terminated at the gateway, HTTP redirected."])
        cert = Doc({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta(f"{ns}-example-com", "istio-system"),
                    "spec": {"secretName": f"{ns}-example-com-tls", "dnsNames": [host],
                             "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-prod"}}})
        svcs = self.services[ns][:8] or []
        routes = []
        for svc in svcs:
            routes.append({"name": svc, "match": [{"uri": {"prefix": f"/{svc}/"}}],
                           "rewrite": {"uri": "/"},
                           # subset v1: mesh VirtualServices do not apply at the gateway (IST0140)
                           "route": [{"destination": {"host": self.host(svc, ns), "port": {"number": 8080},
                                                      "subset": "v1"}}]})
        if not routes:
            return [gw, cert]
        vs = Doc({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta(f"{ns}-ingress", ns),
                  "spec": {"hosts": [host], "gateways": [f"istio-system/{ns}-gateway"], "http": routes}},
                 ["Public entry points of the team's services."])
        return [gw, cert, vs]

    def istio_system_docs(self) -> list[Doc]:
        lbl = {"app": "istio-ingressgateway", **INGRESS_SELECTOR}
        return [
            Doc({"apiVersion": "v1", "kind": "Namespace", "metadata": meta("istio-system", None)}),
            Doc({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("istio-ingressgateway", "istio-system")}),
            Doc({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": meta("istio-ingressgateway", "istio-system", lbl),
                 "spec": {"replicas": 3, "selector": {"matchLabels": dict(lbl)}, "template": {
                     "metadata": {"annotations": {"inject.istio.io/templates": "gateway"},
                                  "labels": {**lbl, "sidecar.istio.io/inject": "true"}},
                     "spec": {"serviceAccountName": "istio-ingressgateway", "containers": [
                         {"name": "istio-proxy", "image": "auto", "ports": [
                             {"name": "http2", "containerPort": 8080, "protocol": "TCP"},
                             {"name": "https", "containerPort": 8443, "protocol": "TCP"}]}]}}}},
                ["Ingress gateway workload (pods labelled istio: ingressgateway)."]),
            Doc({"apiVersion": "v1", "kind": "Service", "metadata": meta("istio-ingressgateway", "istio-system", lbl),
                 "spec": {"type": "LoadBalancer", "selector": dict(lbl), "ports": [
                     {"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                     {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]}}),
        ]

    # -- one service
    def service_bundle(self, ns: str, index: int) -> list[Doc]:
        rng = self.rng
        svc = f"{SERVICE_WORDS[index % len(SERVICE_WORDS)]}-{index // len(SERVICE_WORDS) + 1}"
        host = self.host(svc, ns)
        grpc = rng.random() < 0.5
        mixed = rng.random() < 0.4  # pods (v1) behind the same ServiceEntry as the VMs
        n_we = rng.randint(2, 4)
        docs: list[Doc] = []

        se_ports: list[dict[str, Any]] = [{"number": 8080, "name": "http", "protocol": "HTTP"}]
        we_ports: dict[str, int] = {"http": 8080}
        if grpc:
            se_ports.append({"number": 9090, "name": "grpc", "protocol": "GRPC"})
            we_ports["grpc"] = 9090
        selector = {"app": svc}
        se = Doc({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": meta(svc, ns, {"app": svc}),
                  "spec": {"hosts": [host], "location": "MESH_INTERNAL", "resolution": "STATIC",
                           "ports": se_ports, "workloadSelector": {"labels": dict(selector)}}},
                 [f"{svc}: VMs{' and pods' if mixed else ''} behind one mesh-internal host."])
        docs.append(se)

        docs.append(Doc({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(f"{svc}-vm", ns)}))
        vm_versions = ["v2"] * n_we if mixed else [("v1", "v2")[i % 2] for i in range(n_we)]
        regions = list(REGIONS)
        # VMs in a primary region and in its failover region (the DestinationRule fails over there).
        primary = regions[rng.randrange(len(regions))]
        for i in range(n_we):
            region = primary if (i // 2) % 2 == 0 else FAILOVER[primary]
            if n_we == 2 and i == 1:
                region = FAILOVER[primary]
            zone = REGIONS[region][rng.randrange(len(REGIONS[region]))]
            ports = dict(we_ports)
            we = Doc({"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
                      "metadata": meta(f"{svc}-vm-{i + 1}", ns, {"app": svc, "version": vm_versions[i]}),
                      "spec": {"address": self.next_ip(), "labels": {"app": svc, "version": vm_versions[i]},
                               "ports": ports, "locality": f"{region}/{zone}", "serviceAccount": f"{svc}-vm"}})
            docs.append(we)
        if rng.random() < 0.7:
            docs.append(Doc({"apiVersion": "networking.istio.io/v1", "kind": "WorkloadGroup", "metadata": meta(f"{svc}-vms", ns),
                             "spec": {"metadata": {"labels": {"app": svc, "version": vm_versions[-1]}},
                                      "template": {"serviceAccount": f"{svc}-vm", "ports": dict(we_ports)},
                                      "probe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                "periodSeconds": 10, "initialDelaySeconds": 5}}},
                            ["Bootstrap template for the VMs (istioctl x workload entry configure)."]))
        if mixed:
            docs.append(Doc({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(svc, ns)}))
            docs.append(self.deployment(svc, ns, {"app": svc, "version": "v1"}, f"{svc}-v1", svc,
                                        [("http", 8080)] + ([("grpc", 9090)] if grpc else [])))

        region = primary
        dr_spec: dict[str, Any] = {
            "host": host,
            "trafficPolicy": {
                "connectionPool": {"tcp": {"maxConnections": rng.choice([100, 200, 500]), "connectTimeout": "3s"},
                                   "http": {"http1MaxPendingRequests": 64, "maxRequestsPerConnection": 100}},
                "loadBalancer": {"simple": "LEAST_REQUEST", "localityLbSetting": {
                    "enabled": True, "failover": [{"from": region, "to": FAILOVER[region]}]}},
                "outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s",
                                     "maxEjectionPercent": 100},
            },
            "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                        {"name": "v2", "labels": {"version": "v2"},
                         "trafficPolicy": {"connectionPool": {"http": {"idleTimeout": "60s"}}}}],
        }
        dr = Doc({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": meta(svc, ns), "spec": dr_spec})
        docs.append(dr)

        if rng.random() < 0.85:
            http: list[dict[str, Any]] = [
                {"name": "canary", "match": [{"headers": {"x-canary": {"exact": "true"}}}],
                 "route": [{"destination": {"host": host, "port": {"number": 8080}, "subset": "v2"}}]},
            ]
            if rng.random() < 0.6:
                http.append({"name": "api-v2", "match": [{"uri": {"prefix": "/api/v2/"}}],
                             "route": [{"destination": {"host": host, "port": {"number": 8080}, "subset": "v2"}}],
                             "timeout": "10s", "retries": {"attempts": 3, "perTryTimeout": "2s",
                                                           "retryOn": "5xx,reset,connect-failure"}})
            siblings = self.services[ns]
            if siblings and rng.random() < 0.5:
                other = siblings[rng.randrange(len(siblings))]
                http.append({"name": "legacy", "match": [{"uri": {"prefix": "/legacy/"}}],
                             "route": [{"destination": {"host": self.host(other, ns), "port": {"number": 8080}}}]})
            w = rng.choice([90, 80, 95])
            http.append({"name": "default", "route": [
                {"destination": {"host": host, "port": {"number": 8080}, "subset": "v1"}, "weight": w},
                {"destination": {"host": host, "port": {"number": 8080}, "subset": "v2"}, "weight": 100 - w}]})
            vs = Doc({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta(svc, ns),
                      "spec": {"hosts": [host], "http": http}})
            docs.append(vs)

        if rng.random() < 0.3:
            api = f"{svc}-web"
            docs.append(Doc({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(api, ns)}))
            docs.append(Doc({"apiVersion": "v1", "kind": "Service", "metadata": meta(api, ns, {"app": api}),
                             "spec": {"selector": {"app": api}, "ports": [
                                 {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}},
                            [f"Web frontend of {svc}, on Kubernetes."]))
            docs.append(self.deployment(api, ns, {"app": api, "version": "v1"}, api, api, [("http", 8080)]))
            if rng.random() < 0.5:
                docs.append(Doc({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(api, ns),
                                 "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": api},
                                          "minReplicas": 2, "maxReplicas": 10, "metrics": [
                                              {"type": "Resource", "resource": {"name": "cpu", "target": {
                                                  "type": "Utilization", "averageUtilization": 70}}}]}}))
            if rng.random() < 0.5:
                docs.append(Doc({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(api, ns),
                                 "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": api}}}}))
        docs.append(Doc({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(f"{svc}-config", ns, {"app": svc}),
                         "data": {"LOG_LEVEL": rng.choice(["info", "debug", "warn"]),
                                  "UPSTREAM_TIMEOUT": "5s", "FEATURE_FLAGS": "checkout-v2,fast-path",
                                  "application.yaml": (f"server:\n  port: 8080\nupstream:\n  host: {host}\n"
                                                       f"  retries: 3\nmetrics:\n  enabled: true\n")}}))
        self.services[ns].append(svc)
        return docs

    def deployment(self, name: str, ns: str, labels: dict[str, str], dep_name: str, sa: str,
                   ports: list[tuple[str, int]]) -> Doc:
        rng = self.rng
        return Doc({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(dep_name, ns, labels),
                    "spec": {"replicas": rng.choice([2, 3]), "selector": {"matchLabels": dict(labels)}, "template": {
                        "metadata": {"labels": dict(labels)},
                        "spec": {"serviceAccountName": sa, "containers": [{
                            "name": name.split("-")[0], "image": f"registry.example.com/{ns}/{name}:1.{rng.randrange(40)}.0",
                            "ports": [{"name": pn, "containerPort": pp, "protocol": "TCP"} for pn, pp in ports],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                          "limits": {"memory": "256Mi"}},
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5}}]}}}})

    # -- the whole repository
    def build(self) -> tuple[list[Doc], dict[str, list[Doc]], list[Doc]]:
        """(namespaces.yaml docs, team namespace -> docs, istio-system docs)."""
        ns_docs = [d for ns in self.namespaces for d in self.namespace_docs(ns)]
        system = self.istio_system_docs()
        ns_docs.insert(0, system.pop(0))
        per_ns: dict[str, list[Doc]] = {ns: self.namespace_policy(ns) for ns in self.namespaces}
        # Gateway + Certificate per namespace (+ an ingress VirtualService once it has a service),
        # added at the end.
        fixed = len(ns_docs) + len(system) + sum(len(v) for v in per_ns.values()) + 2 * len(self.namespaces)
        total = fixed
        n_services = 0
        bundles: list[tuple[str, list[Doc]]] = []
        while total < self.target:
            ns = self.namespaces[n_services % len(self.namespaces)]
            index = n_services // len(self.namespaces)
            if not self.services[ns]:
                total += 1  # the namespace's ingress VirtualService
            bundle = self.service_bundle(ns, index)
            bundles.append((ns, bundle))
            total += len(bundle)
            n_services += 1
        # Exactly ``target`` documents: drop unrelated kinds from the last bundles.
        excess = total - self.target
        for _, bundle in reversed(bundles):
            for d in reversed(list(bundle)):
                if excess > 0 and d.data["kind"] in ("ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
                    bundle.remove(d)
                    excess -= 1
            if excess <= 0:
                break
        if self.with_defects and bundles:
            # One of each defect kind per 2,500 resources, in distinct bundles chosen by seed.
            per_kind = max(1, self.target // 2500)
            pick_rng = random.Random(self.seed * 7919 + 1)
            order = pick_rng.sample(range(len(bundles)), len(bundles))
            used: set[int] = set()
            for kind in DEFECT_KINDS:
                wanted = per_kind
                for bi in order:
                    if wanted == 0:
                        break
                    kinds = {d.data["kind"] for d in bundles[bi][1]}
                    if bi in used or (kind == "vs-unknown-host" and "VirtualService" not in kinds):
                        continue
                    used.add(bi)
                    self._inject(bundles[bi][1], kind)
                    wanted -= 1
        for ns, bundle in bundles:
            per_ns[ns].extend(bundle)
        for ns in self.namespaces:
            ing = self.ingress_docs(ns)
            system.extend(d for d in ing if d.data["metadata"].get("namespace") == "istio-system")
            per_ns[ns].extend(d for d in ing if d.data["metadata"].get("namespace") == ns)
        return ns_docs, per_ns, system

    def _inject(self, bundle: list[Doc], kind: str) -> None:
        """Apply one defect to an already generated bundle (mutates the documents)."""
        by_kind: dict[str, list[Doc]] = {}
        for d in bundle:
            by_kind.setdefault(d.data["kind"], []).append(d)
        if kind == "selector-matches-nothing":
            se = by_kind["ServiceEntry"][0]
            app = se.data["spec"]["workloadSelector"]["labels"]["app"]
            se.data["spec"]["workloadSelector"]["labels"] = {"app": f"{app}-legacy"}
            se.defect = kind
        elif kind == "we-port-key-not-a-port-name":
            we = by_kind["WorkloadEntry"][0]
            ports = we.data["spec"]["ports"]
            ports.pop("http")
            ports["web"] = 8080  # not a port name of the ServiceEntry: silently ignored by Istio
            we.defect = kind
        elif kind == "failover-without-outlier-detection":
            dr = by_kind["DestinationRule"][0]
            del dr.data["spec"]["trafficPolicy"]["outlierDetection"]
            dr.defect = kind
        elif kind == "vs-unknown-host":
            vs = by_kind["VirtualService"][0]
            spec = vs.data["spec"]
            missing = f"{vs.data['metadata']['name']}-old.{vs.data['metadata']['namespace']}.{DOMAIN}"
            spec["http"].insert(1, {"name": "old-backend", "match": [{"uri": {"prefix": "/old/"}}],
                                    "route": [{"destination": {"host": missing, "port": {"number": 8080}}}]})
            vs.defect = kind
        else:  # pragma: no cover
            raise ValueError(kind)


@dataclass
class Manifest:
    resources: int
    files: int
    bytes: int
    seed: int
    namespaces: int
    docs_per_file: int
    kinds: dict[str, int]
    defects: list[dict[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _chunks(docs: list[Doc], size: int) -> list[list[Doc]]:
    return [docs[i:i + size] for i in range(0, len(docs), size)] or [[]]


def generate(out_dir: str, resources: int, seed: int = 1, namespaces: int = 20, docs_per_file: int = 50,
             defects: bool = True) -> Manifest:
    """Write the repository under ``out_dir`` (created; existing YAML under it is removed)."""
    gen = Generator(resources, seed, namespaces, defects)
    ns_docs, per_ns, system = gen.build()
    os.makedirs(out_dir, exist_ok=True)
    for dirpath, _, names in os.walk(out_dir):
        for n in names:
            if n.endswith((".yaml", ".yml")):
                os.remove(os.path.join(dirpath, n))
    files: list[tuple[str, list[Doc], str]] = [("namespaces.yaml", ns_docs, "Namespaces of the mesh.")]
    for k, chunk in enumerate(_chunks(system, docs_per_file)):
        files.append((f"istio-system/istio-system-{k + 1:03d}.yaml", chunk, "Mesh ingress: gateway workload, Gateways, certificates."))
    for ns in gen.namespaces:
        for k, chunk in enumerate(_chunks(per_ns[ns], docs_per_file)):
            files.append((f"{ns}/{ns}-{k + 1:03d}.yaml", chunk, f"Team {ns}: services on VMs and Kubernetes."))
    kinds: dict[str, int] = {}
    found: list[dict[str, str]] = []
    total_bytes = 0
    count = 0
    for rel, docs, title in files:
        parts = [f"# {title}\n# Generated by benchmarks/generate.py (seed {seed}); part of a synthetic benchmark repository.\n"]
        for i, d in enumerate(docs):
            kinds[d.data["kind"]] = kinds.get(d.data["kind"], 0) + 1
            count += 1
            if d.defect:
                found.append({"defect": d.defect, "file": rel, "resource": d.ref})
            text = dump_document(d.data, d.comments)
            parts.append(("---\n" if i else "") + text)
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = "".join(parts).encode()
        total_bytes += len(data)
        with open(path, "wb") as fh:
            fh.write(data)
    manifest = Manifest(count, len(files), total_bytes, seed, len(gen.namespaces), docs_per_file,
                        dict(sorted(kinds.items())), found)
    with open(os.path.join(out_dir, "MANIFEST.json"), "w") as fh:
        json.dump(manifest.as_dict(), fh, indent=2)
        fh.write("\n")
    return manifest


def write_small_file(path: str, seed: int = 1) -> int:
    """One small realistic file (a single service's documents); returns the document count."""
    gen = Generator(12, seed, 1, defects=False)
    docs = gen.service_bundle(gen.namespaces[0], 0)
    text = "# One service of the synthetic benchmark repository.\n" + "---\n".join(dump_document(d.data, d.comments) for d in docs)
    with open(path, "w") as fh:
        fh.write(text)
    return len(docs)


# --- schema check against Istio's CRDs ----------------------------------------------------


def _strict(schema: Any) -> Any:
    """A copy of a structural schema that rejects unknown fields (k8s would prune them)."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-validations")}
    if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def load_crd_validators(crd_path: str) -> dict[tuple[str, str, str], Any]:
    import jsonschema
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=False)
    with open(crd_path) as fh:
        crds = [d for d in yaml.load_all(fh) if d]
    out: dict[tuple[str, str, str], Any] = {}
    for crd in crds:
        spec = crd["spec"]
        for v in spec["versions"]:
            schema = _strict(v["schema"]["openAPIV3Schema"])
            schema["properties"].update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                         "metadata": {"type": "object"}})
            out[(spec["group"], spec["names"]["kind"], v["name"])] = jsonschema.Draft7Validator(schema)
    return out


def validate_tree(root: str, crd_path: str) -> list[str]:
    """Schema errors of every Istio document under ``root`` (empty = valid)."""
    from ruamel.yaml import YAML

    validators = load_crd_validators(crd_path)
    yaml = YAML(typ="safe", pure=False)
    errors: list[str] = []
    checked = 0
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            if not n.endswith(".yaml"):
                continue
            path = os.path.join(dirpath, n)
            with open(path) as fh:
                for i, doc in enumerate(yaml.load_all(fh)):
                    if not isinstance(doc, dict) or "istio.io" not in str(doc.get("apiVersion", "")):
                        continue
                    group, _, version = doc["apiVersion"].rpartition("/")
                    v = validators.get((group, doc["kind"], version))
                    if v is None:
                        errors.append(f"{path}#{i}: no schema for {doc['apiVersion']} {doc['kind']}")
                        continue
                    checked += 1
                    for e in v.iter_errors(doc):
                        where = ".".join(str(p) for p in e.absolute_path)
                        errors.append(f"{path}#{i} {doc['kind']}/{doc['metadata'].get('name')}: {where}: {e.message}")
    if checked == 0:
        errors.append("no Istio document found")
    return errors


def default_crd_path() -> Optional[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.environ.get("ISTIO_CRDS"), os.path.join(here, "..", "..", "shared", "istio-crds", "crd-all.gen.yaml"),
                 "/work/shared/istio-crds/crd-all.gen.yaml"):
        if cand and os.path.exists(cand):
            return os.path.abspath(cand)
    return None


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output directory (YAML files under it are replaced)")
    ap.add_argument("--resources", "-n", type=int, default=5000, help="number of resources (documents) [5000]")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--docs-per-file", type=int, default=50)
    ap.add_argument("--no-defects", action="store_true", help="do not inject defects")
    ap.add_argument("--validate", action="store_true", help="check Istio documents against the CRD schemas")
    ap.add_argument("--crds", default=None, help="crd-all.gen.yaml (default: shared/istio-crds)")
    args = ap.parse_args(argv)
    m = generate(args.out, args.resources, args.seed, args.namespaces, args.docs_per_file, not args.no_defects)
    print(f"wrote {m.resources} resources in {m.files} files ({m.bytes / 1e6:.1f} MB) to {args.out}; "
          f"{len(m.defects)} injected defects (see MANIFEST.json)")
    if args.validate:
        crds = args.crds or default_crd_path()
        if not crds:
            print("--validate: crd-all.gen.yaml not found (use --crds)", file=sys.stderr)
            return 2
        errors = validate_tree(args.out, crds)
        for e in errors[:50]:
            print(e, file=sys.stderr)
        if errors:
            print(f"{len(errors)} schema error(s)", file=sys.stderr)
            return 1
        print(f"all Istio documents valid against {crds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
