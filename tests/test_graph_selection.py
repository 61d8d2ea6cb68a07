"""Direct tests of the graph selection facts the selector (IVL1xx) and mesh-boundary (IVL3xx)
rules rely on (istio-semantics.md §1.5, §4): namespace scoping, hostname/UDS WorkloadEntries
only under DNS resolution, no WorkloadEntries behind headless Services, the label index, near
misses, WorkloadGroup labels from ``spec.metadata.labels`` and the effective DR subset lookup."""

from __future__ import annotations

import textwrap

from istio_vm_lint.config import Settings
from istio_vm_lint.graph import MeshGraph
from istio_vm_lint.loader import PositionIndex
from istio_vm_lint.model import SourceFile
from istio_vm_lint.project import Project, load_file


def graph_of(*docs: str) -> MeshGraph:
    raw = "\n---\n".join(textwrap.dedent(d).strip("\n") for d in docs).encode()
    project = Project()
    load_file(project, SourceFile("test.yaml", None, PositionIndex(raw), True, raw), raw)
    assert not project.problems, project.problems
    return MeshGraph(project, Settings())


def we(name: str, ns: str, address: str, labels: str, extra: str = "") -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {{name: {name}, namespace: {ns}}}
        spec: {{address: "{address}", labels: {labels}{extra}}}
    """


def se(name: str, ns: str, resolution: str, selector: str) -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {{name: {name}, namespace: {ns}}}
        spec:
          hosts: [{name}.example.internal]
          location: MESH_INTERNAL
          resolution: {resolution}
          ports: [{{number: 80, name: http, protocol: HTTP}}]
          workloadSelector: {{labels: {selector}}}
    """


def selected(graph: MeshGraph, kind: str, name: str) -> list[str]:
    r = next(x for x in graph.project.by_kind(kind) if x.name == name)
    return sorted(b.workload.resource.name for b in graph.bindings_by_service.get(id(r), ()))


def test_service_entry_selects_only_in_its_namespace() -> None:
    g = graph_of(we("a", "vm", "10.0.0.1", "{app: whoami}"), we("b", "other", "10.0.0.2", "{app: whoami}"),
                 se("whoami", "vm", "STATIC", "{app: whoami}"), se("lonely", "default", "STATIC", "{app: whoami}"))
    assert selected(g, "ServiceEntry", "whoami") == ["a"]
    assert selected(g, "ServiceEntry", "lonely") == []
    # what IVL103 uses to say "the matching workloads are in another namespace"
    assert sorted(w.namespace for w in g.select_any_namespace({"app": "whoami"})) == ["other", "vm"]
    assert g.select("default", {"app": "whoami"}) == []


def test_hostname_and_uds_workload_entries_only_under_dns() -> None:
    docs = [we("host", "vm", "vm1.corp.example.com", "{app: x}"), we("sock", "vm", "unix:///var/run/x.sock", "{app: x}"),
            we("ip", "vm", "10.0.0.3", "{app: x}")]
    g = graph_of(*docs, se("static", "vm", "STATIC", "{app: x}"), se("dns", "vm", "DNS", "{app: x}"))
    assert selected(g, "ServiceEntry", "static") == ["ip"]
    assert selected(g, "ServiceEntry", "dns") == ["host", "ip", "sock"]
    # the label index still sees all three (IVL104 compares the two)
    assert sorted(w.resource.name for w in g.select("vm", {"app": "x"}, ("WorkloadEntry",))) == ["host", "ip", "sock"]
    kinds = {w.resource.name: w.address_kind for w in g.select("vm", {"app": "x"})}
    assert kinds == {"host": "hostname", "sock": "uds", "ip": "ip"}


SVC = """
    apiVersion: v1
    kind: Service
    metadata: {{name: {name}, namespace: vm}}
    spec:
      {extra}
      selector: {{app: db}}
      ports: [{{name: tcp, port: 5432, targetPort: 5432}}]
"""

DEPLOY = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: db, namespace: vm}
    spec:
      selector: {matchLabels: {app: db}}
      template:
        metadata: {labels: {app: db}}
        spec: {containers: [{name: db, image: postgres}]}
"""


def test_headless_service_keeps_pods_and_drops_workload_entries() -> None:
    g = graph_of(DEPLOY, we("db-vm", "vm", "10.0.0.9", "{app: db}"), we("db-dns", "vm", "db.corp.example.com", "{app: db}"),
                 SVC.format(name="db", extra="type: ClusterIP"), SVC.format(name="db-headless", extra="clusterIP: None"))
    assert selected(g, "Service", "db") == ["db", "db-vm"]  # pod template + IP entry, not the hostname entry
    assert selected(g, "Service", "db-headless") == ["db"]  # pods only


def test_label_index_requires_every_pair_and_near_misses_name_the_difference() -> None:
    g = graph_of(we("v1", "vm", "10.0.0.1", "{app: whoami, version: v1}"),
                 we("v2", "vm", "10.0.0.2", "{app: whoami, version: v2}"),
                 we("other", "vm", "10.0.0.3", "{app: other, version: v2}"))
    assert [w.resource.name for w in g.select("vm", {"app": "whoami", "version": "v2"})] == ["v2"]
    assert g.select("vm", {"app": "whoami", "version": "v3"}) == []
    assert len(g.select("vm", {})) == 3  # empty selector: the whole namespace (§1.5)
    misses = g.near_misses("vm", {"app": "whoami", "version": "v3"})
    assert {w.resource.name for w, _ in misses} == {"v1", "v2"}
    assert all(missing == ["version=v3"] for _, missing in misses)


def test_workload_entry_metadata_labels_win_and_workload_group_uses_spec_metadata() -> None:
    g = graph_of(we("a", "vm", "10.0.0.1", "{app: spec, tier: web}").replace(
                     "metadata: {name: a, namespace: vm}", "metadata: {name: a, namespace: vm, labels: {app: meta}}"),
                 """
        apiVersion: networking.istio.io/v1
        kind: WorkloadGroup
        metadata: {name: g, namespace: vm, labels: {app: ignored}}
        spec:
          metadata: {labels: {app: group}}
          template: {serviceAccount: sa}
    """)
    assert [w.resource.name for w in g.select("vm", {"app": "meta", "tier": "web"})] == ["a"]
    assert g.select("vm", {"app": "spec"}) == []
    assert [w.kind for w in g.select("vm", {"app": "group"})] == ["WorkloadGroup"]
    assert g.select("vm", {"app": "ignored"}) == []


def test_effective_dr_subsets_follow_the_lookup_path() -> None:
    dr = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {{name: whoami, namespace: {ns}}}
        spec:
          host: whoami.example.internal
          {body}
    """
    g = graph_of(se("whoami", "vm", "STATIC", "{app: whoami}"),
                 dr.format(ns="vm", body="subsets: [{name: v1, labels: {version: v1}}]"),
                 dr.format(ns="web", body="trafficPolicy: {connectionPool: {tcp: {maxConnections: 1}}}"))
    assert "v1" in g.effective_dr("vm", "whoami.example.internal", "vm").subsets
    assert "v1" in g.effective_dr("api", "whoami.example.internal", "vm").subsets  # via the service namespace
    web = g.effective_dr("web", "whoami.example.internal", "vm")
    assert web.namespace == "web" and not web.subsets  # client namespace first, no cross-namespace merge


def test_match_gateway_the_virtual_service_does_not_bind_is_not_an_edge() -> None:
    """A match-level gateway binds nothing unless the top-level list (absent: mesh) names it too
    (docs/semantics.md §match-gateways): no index entry, export edge or reference for it."""
    gws = "\n---\n".join(f"""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {{name: {n}, namespace: istio-system}}
        spec:
          selector: {{istio: {n}}}
          servers: [{{port: {{number: 80, name: http, protocol: HTTP}}, hosts: ["*"]}}]
    """ for n in ("ingress", "egress"))
    g = graph_of(gws, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: partner, namespace: shop}
        spec:
          hosts: [api.partner.example]
          gateways: [istio-system/ingress]
          http:
          - match: [{gateways: [istio-system/ingress, istio-system/egress]}]
            route: [{destination: {host: api.partner.example}}]
    """, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: unbound, namespace: shop}
        spec:
          hosts: [other.partner.example]
          http:
          - match: [{gateways: [istio-system/egress]}]
            route: [{destination: {host: other.partner.example}}]
    """)
    vs = {r.name: r for r in g.project.by_kind("VirtualService")}
    assert [v.name for v in g.vs_by_gateway[("istio-system", "ingress")]] == ["partner"]
    assert ("istio-system", "egress") not in g.vs_by_gateway
    assert g.vs_gateway_refs(vs["unbound"]) == []  # no top-level list: bound to mesh only
    assert [r.name for r in g.references(vs["partner"]) if r.kind == "Gateway"] == ["ingress"]
    _, edges = g._records()
    binds = sorted((a, b) for a, b, e in edges if e["type"] == "binds")
    assert len(binds) == 1 and "ingress" in binds[0][0] and "partner" in binds[0][1], binds


def test_rollout_pods_carry_the_strategys_ephemeral_labels() -> None:
    # The canary/stable (active/preview) pods of a Rollout carry the template's labels plus the
    # strategy's ephemeral metadata; a subset typo still selects nothing.
    rollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: pricing, namespace: shop}
        spec:
          selector: {matchLabels: {app: pricing}}
          template: {metadata: {labels: {app: pricing}}, spec: {containers: [{name: c, image: i}]}}
          strategy:
            %s
    """
    g = graph_of(rollout % "canary: {canaryMetadata: {labels: {role: canary}}, stableMetadata: {labels: {role: stable}}}")
    assert {w.labels.get("role") for w in g.workloads if w.namespace == "shop"} == {None, "canary", "stable"}
    assert g.select("shop", {"app": "pricing", "role": "canary"})
    assert not g.select("shop", {"app": "pricing", "role": "canry"})
    g = graph_of(rollout % "blueGreen: {activeService: a, previewService: p, previewMetadata: {labels: {role: preview}}}")
    assert {w.labels.get("role") for w in g.workloads if w.namespace == "shop"} == {None, "preview"}
