"""Direct tests of the graph facts the port (IVL2xx) and traffic-policy (IVL4xx) rules rely on:
effective endpoint ports (istio-semantics.md §3) and the effective DestinationRule merge
(§1.2, §2.4: port-level replacement, subset inheritance, first top-level policy wins)."""

from __future__ import annotations

import textwrap

from istio_vm_lint.config import Settings
from istio_vm_lint.graph import MeshGraph
from istio_vm_lint.loader import PositionIndex
from istio_vm_lint.model import SourceFile
from istio_vm_lint.project import Project, load_file

SE = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: whoami, namespace: vm}
spec:
  hosts: [whoami.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
  - {number: 9090, name: grpc, protocol: GRPC}
  - {number: 7000, name: admin, protocol: HTTP}
  workloadSelector: {labels: {app: whoami}}
"""


def graph_of(*docs: str) -> MeshGraph:
    raw = "\n---\n".join(textwrap.dedent(d).strip("\n") for d in docs).encode()
    project = Project()
    load_file(project, SourceFile("test.yaml", None, PositionIndex(raw), True, raw), raw)
    assert not project.problems, project.problems
    return MeshGraph(project, Settings())


def binding_ports(graph: MeshGraph, service_kind: str, workload_name: str) -> dict:
    svc = next(r for r in graph.project.by_kind(service_kind))
    for b in graph.bindings_by_service[id(svc)]:
        if b.workload.resource.name == workload_name:
            return b.ports
    raise AssertionError(f"{workload_name} not selected by {service_kind}")


# --- effective endpoint ports (§3) ------------------------------------------------------------


def test_service_entry_port_map_then_target_port_then_number() -> None:
    g = graph_of(SE, """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: vm-1, namespace: vm}
        spec:
          address: 10.0.0.1
          labels: {app: whoami}
          ports: {grpc: 19090, "80": 1234}
    """)
    # map by port *name* wins; numeric keys mean nothing; targetPort; else the number
    assert binding_ports(g, "ServiceEntry", "vm-1") == {80: 8080, 9090: 19090, 7000: 7000}


def test_service_entry_selects_pods_by_named_container_port() -> None:
    g = graph_of(SE, """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: whoami, namespace: vm}
        spec:
          selector: {matchLabels: {app: whoami}}
          template:
            metadata: {labels: {app: whoami}}
            spec:
              containers:
              - name: c
                image: x
                ports:
                - {name: http, containerPort: 3000}
                - {name: other, containerPort: 9090}
    """)
    ports = binding_ports(g, "ServiceEntry", "whoami")
    assert ports[80] == 3000  # container port named like the SE port beats targetPort (§3.1, B04)
    assert ports[9090] == 9090
    w = g.workloads_of[id(g.project.by_kind("Deployment")[0])][0]
    assert w.served_ports == {3000, 9090}


def test_kube_service_named_target_port_drops_workload_entry_without_key() -> None:
    g = graph_of("""
        apiVersion: v1
        kind: Service
        metadata: {name: whoami, namespace: vm}
        spec:
          selector: {app: whoami}
          ports:
          - {name: http, port: 80, targetPort: web}
          - {name: metrics, port: 9100, targetPort: 9100}
    """, """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: with-key, namespace: vm}
        spec: {address: 10.0.0.1, labels: {app: whoami}, ports: {web: 8080, metrics: 19100}}
    """, """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: without-key, namespace: vm}
        spec: {address: 10.0.0.2, labels: {app: whoami}, ports: {http: 8080}}
    """)
    assert binding_ports(g, "Service", "with-key") == {80: 8080, 9100: 19100}  # service port name overrides numeric targetPort (B03)
    assert binding_ports(g, "Service", "without-key") == {80: None, 9100: 9100}  # dropped for 80 (§3.2)


def test_workload_group_serves_its_template_ports() -> None:
    g = graph_of(SE, """
        apiVersion: networking.istio.io/v1
        kind: WorkloadGroup
        metadata: {name: whoami, namespace: vm}
        spec:
          metadata: {labels: {app: whoami}}
          template: {ports: {http: 8081}}
    """)
    assert binding_ports(g, "ServiceEntry", "whoami") == {80: 8081, 9090: 9090, 7000: 7000}
    w = g.workloads_of[id(g.project.by_kind("WorkloadGroup")[0])][0]
    assert w.served_ports == {8081}


# --- effective DestinationRule (§1.2, §2.4) ---------------------------------------------------

DR = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: whoami, namespace: vm}
spec:
  host: whoami.example.internal
  trafficPolicy:
    loadBalancer: {localityLbSetting: {failover: [{from: a, to: b}]}}
    outlierDetection: {consecutive5xxErrors: 5}
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 9090}
      connectionPool: {tcp: {maxConnections: 1}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 7}}
      portLevelSettings:
      - port: {number: 7000}
        loadBalancer: {simple: RANDOM}
  - name: v2
    labels: {version: v2}
"""


def test_port_level_settings_replace_wholesale() -> None:
    g = graph_of(SE, DR)
    edr = g.effective_dr("vm", "whoami.example.internal", "vm")
    assert edr is not None
    top = edr.policy("", 80)
    assert top["outlierDetection"] == {"consecutive5xxErrors": 5}
    assert "failover" in top["loadBalancer"]["localityLbSetting"]
    p9090 = edr.policy("", 9090)
    # the port-level entry sets only connectionPool: outlierDetection, loadBalancer and tls fall to defaults
    assert p9090["connectionPool"] == {"tcp": {"maxConnections": 1}}
    assert "outlierDetection" not in p9090 and "loadBalancer" not in p9090 and "tls" not in p9090


def test_subset_inherits_and_overrides_set_fields() -> None:
    g = graph_of(SE, DR)
    edr = g.effective_dr("vm", "whoami.example.internal", "vm")
    assert edr is not None
    v1 = edr.policy("v1", 80)
    assert v1["connectionPool"] == {"tcp": {"maxConnections": 7}}  # subset overrides
    assert v1["outlierDetection"] == {"consecutive5xxErrors": 5}  # and inherits the rest
    assert v1["tls"] == {"mode": "ISTIO_MUTUAL"}
    v1_7000 = edr.policy("v1", 7000)  # subset port-level entry replaces wholesale
    assert v1_7000["loadBalancer"] == {"simple": "RANDOM"}
    assert "outlierDetection" not in v1_7000
    v1_9090 = edr.policy("v1", 9090)  # top-level port entry applies first, then the subset
    assert "outlierDetection" not in v1_9090
    assert v1_9090["connectionPool"] == {"tcp": {"maxConnections": 7}}
    assert edr.policy("v2", 80) == edr.policy("", 80)  # subset without policy = top level


def test_policy_layers_attribute_fields() -> None:
    g = graph_of(SE, DR)
    edr = g.effective_dr("vm", "whoami.example.internal", "vm")
    assert edr is not None
    layers = g.policy_layers(edr, "v1", 7000)
    assert [(path, port_level) for _owner, path, _pol, port_level in layers] == [
        (("spec", "trafficPolicy"), False),
        (("spec", "subsets", 0, "trafficPolicy"), False),
        (("spec", "subsets", 0, "trafficPolicy", "portLevelSettings", 0), True),
    ]
    layers = g.policy_layers(edr, "", 9090)
    assert [path for _o, path, _p, _l in layers] == [("spec", "trafficPolicy"), ("spec", "trafficPolicy", "portLevelSettings", 0)]
    assert g.policy_layers(edr, "v2", None) == [(edr.top_policy_owner, ("spec", "trafficPolicy"), edr.top_policy, False)]


def test_first_top_level_policy_wins_and_client_namespace_first() -> None:
    g = graph_of(SE, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: a-first, namespace: vm}
        spec:
          host: whoami.example.internal
          trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
          subsets: [{name: v1, labels: {version: v1}}]
    """, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: b-second, namespace: vm}
        spec:
          host: whoami.example.internal
          trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}}
          subsets: [{name: v1, labels: {version: other}}, {name: v2, labels: {version: v2}}]
    """, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: client-side, namespace: frontend}
        spec:
          host: whoami.example.internal
          trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
    """)
    edr = g.effective_dr("vm", "whoami.example.internal", "vm")
    assert edr is not None and edr.top_policy_owner is not None
    assert edr.top_policy_owner.name == "a-first"
    assert "outlierDetection" not in (edr.policy("", 80) or {})  # the second rule's policy is discarded
    assert edr.subsets["v1"][1].labels == {"version": "v1"}  # first definition of a subset name wins
    assert set(edr.subsets) == {"v1", "v2"}  # subsets are concatenated
    client = g.effective_dr("frontend", "whoami.example.internal", "vm")
    assert client is not None and client.namespace == "frontend"
    assert (client.policy("", 80) or {}).get("tls") == {"mode": "ISTIO_MUTUAL"}
