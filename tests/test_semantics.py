"""lint/semantics.py and the MeshGraph operations built on it, tested as tables the way
Istio tests its analyzer utilities (pkg/config/analysis/analyzers/util/hosts_test.go:
TestConvertHostToFQDN, TestGetResourceNameFromHost, TestScopedFqdn_InScopeOf)."""

from __future__ import annotations

import textwrap
from typing import Optional

import pytest
from istio_vm_lint.config import Settings
from istio_vm_lint.graph import MeshGraph
from istio_vm_lint.loader import PositionIndex
from istio_vm_lint.model import DestinationRule, SourceFile, VirtualService
from istio_vm_lint.project import Project, load_file
from istio_vm_lint.rule import Context
from istio_vm_lint.semantics import (
    cluster_namespace,
    export_scopes,
    host_matches,
    in_scope_of,
    lookup_path,
    namespace_wildcard,
    parse_gateway_ref,
    resolve_host,
    scopes_overlap,
    tls_mode,
    traffic_policies,
    visible,
)

D = "cluster.local"


@pytest.mark.parametrize("host, namespace, want", [  # TestConvertHostToFQDN
    ("reviews.bookinfo.svc.cluster.local", "bookinfo", "reviews.bookinfo.svc.cluster.local"),
    ("reviews.bookinfo.svc.cluster.local", "foo", "reviews.bookinfo.svc.cluster.local"),
    ("reviews", "bookinfo", "reviews.bookinfo.svc.cluster.local"),
    ("reviews", "foo", "reviews.foo.svc.cluster.local"),
    ("reviews.bookinfo", "foo", "reviews.bookinfo"),  # no partial expansion
    ("*", "foo", "*"), ("*.example.com", "foo", "*.example.com"), ("10.0.0.1", "foo", "10.0.0.1"),
    ("2001:db8::1", "foo", "2001:db8::1"), ("", "foo", ""),
])
def test_resolve_host(host: str, namespace: str, want: str) -> None:
    assert resolve_host(host, namespace, D) == want


@pytest.mark.parametrize("host, want", [  # TestGetResourceNameFromHost (namespace part)
    ("foo.default.svc.cluster.local", "default"), ("foo.other.svc.cluster.local", "other"),
    ("foo", None), ("foo.svc.cluster.local", None), ("a.b.c.svc.cluster.local", None),
    ("foo.default.svc.example.org", None), ("*.default.svc.cluster.local", "default"),
])
def test_cluster_namespace(host: str, want: Optional[str]) -> None:
    assert cluster_namespace(host, D) == want


@pytest.mark.parametrize("host, want", [
    ("*.vm.svc.cluster.local", "vm"), ("whoami.vm.svc.cluster.local", None), ("*.local", None),
    ("*.a.b.svc.cluster.local", None), ("*.svc.cluster.local", None),
])
def test_namespace_wildcard(host: str, want: Optional[str]) -> None:
    assert namespace_wildcard(host, D) == want


@pytest.mark.parametrize("pattern, host, want", [
    ("*.a.com", "b.a.com", True), ("*.a.com", "c.b.a.com", True), ("*.a.com", "a.com", False),
    ("*", "anything", True), ("a.com", "a.com", True), ("a.com", "b.a.com", False),
])
def test_host_matches(pattern: str, host: str, want: bool) -> None:
    assert host_matches(pattern, host) is want


@pytest.mark.parametrize("scope, owner, viewer, want", [  # TestScopedFqdn_InScopeOf
    ("*", "bookinfo", "bookinfo", True), ("*", "bookinfo", "foo", True),
    (".", "bookinfo", "bookinfo", True), (".", "bookinfo", "foo", False),
    ("bookinfo", "bookinfo", "bookinfo", True), ("bookinfo", "bookinfo", "foo", False),
    ("~", "bookinfo", "bookinfo", False),
])
def test_in_scope_of(scope: str, owner: str, viewer: str, want: bool) -> None:
    assert in_scope_of(scope, owner, viewer) is want
    assert visible([scope], owner, viewer) is want


@pytest.mark.parametrize("export_to, want", [
    (["*"], None), ([".", "*"], None), (["."], {"vm"}), ([".", "istio-system"], {"vm", "istio-system"}),
    (["~"], set()), (["a", "~"], {"a"}),
])
def test_export_scopes(export_to: list[str], want: Optional[set[str]]) -> None:
    got = export_scopes(export_to, "vm")
    assert (got if got is None else set(got)) == want


def test_scopes_overlap() -> None:
    assert scopes_overlap(None, frozenset())
    assert scopes_overlap(frozenset({"a"}), frozenset({"a", "b"}))
    assert not scopes_overlap(frozenset({"a"}), frozenset({"b"}))
    assert not scopes_overlap(frozenset(), frozenset())


@pytest.mark.parametrize("ref, want", [  # resolveGatewayName
    ("gw", ("vs-ns", "gw")), ("other/gw", ("other", "gw")), ("./gw", ("vs-ns", "gw")),
    ("gw.other", ("other", "gw")), ("gw.other.svc.cluster.local", ("other", "gw")),
])
def test_parse_gateway_ref(ref: str, want: tuple[str, str]) -> None:
    assert parse_gateway_ref(ref, "vs-ns", D) == want


@pytest.mark.parametrize("client, service, root, want", [
    ("a", "b", "istio-system", ["a", "b", "istio-system"]),
    ("a", "a", "istio-system", ["a", "istio-system"]),
    ("a", None, "istio-system", ["a", "istio-system"]),
    ("istio-system", "b", "istio-system", ["istio-system", "b"]),
    ("a", "b", "mesh-root", ["a", "b", "mesh-root"]),
])
def test_lookup_path(client: str, service: Optional[str], root: str, want: list[str]) -> None:
    assert lookup_path(client, service, root) == want


@pytest.mark.parametrize("policy, want", [
    ({"tls": {"mode": "ISTIO_MUTUAL"}}, "ISTIO_MUTUAL"), ({"tls": {}}, ""), ({}, ""), (None, ""),
    ({"tls": {"mode": 3}}, ""), ({"tls": "SIMPLE"}, ""),
])
def test_tls_mode(policy: object, want: str) -> None:
    assert tls_mode(policy) == want


# --- graph operations -------------------------------------------------------------------------

REPO = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: whoami, namespace: vm}
spec:
  hosts: [whoami.vm.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: whoami}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: whoami-1, namespace: vm}
spec: {address: 10.0.0.1, labels: {app: whoami, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: whoami, namespace: vm}
spec:
  host: whoami
  subsets: [{name: v1, labels: {version: v1}}]
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings: [{port: {number: 80}, tls: {mode: DISABLE}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mesh-default, namespace: mesh-root}
spec: {host: "*.local", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: selected, namespace: vm}
spec: {host: whoami, workloadSelector: {matchLabels: {app: client}}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingressgateway, namespace: gateways}
spec: {template: {metadata: {labels: {istio: ingressgateway}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: whoami, namespace: frontend}
spec:
  hosts: [whoami.example.com]
  gateways: [edge/ingress, mesh]
  http: [{route: [{destination: {host: whoami.vm.svc.cluster.local, subset: v1}}]}]
"""


def _project() -> Project:
    raw = textwrap.dedent(REPO).encode()
    project = Project()
    load_file(project, SourceFile("repo.yaml", None, PositionIndex(raw), True, raw), raw)
    assert not project.problems, project.problems
    return project


def _graph(**settings: object) -> MeshGraph:
    return Context(_project(), Settings(**settings)).graph  # type: ignore[arg-type]


def _dr(g: MeshGraph, name: str) -> DestinationRule:
    return next(r for r in g.project.by_kind("DestinationRule") if r.name == name)  # type: ignore[return-value]


def test_dr_host_services_and_index() -> None:
    g = _graph()
    dr = _dr(g, "whoami")
    assert g.dr_host(dr) == "whoami.vm.svc.cluster.local"
    assert [s.resource.name for s in g.dr_services(dr)] == ["whoami"]
    assert g.dr_services(_dr(g, "mesh-default")) == []  # wildcard host: no single service
    exact, wild = g.drs_by_host
    assert [d.name for d in exact["whoami.vm.svc.cluster.local"]] == ["whoami"]  # selector rules excluded
    assert [(h, d.name) for h, d in wild] == [("*.local", "mesh-default")]
    assert [w.resource.name for w in g.endpoints(g.dr_services(dr))] == ["whoami-1"]


def test_traffic_policies_and_their_tls_modes() -> None:
    dr = _dr(_graph(), "whoami")
    modes = [(path, tls_mode(tp)) for path, tp in traffic_policies(dr)]
    assert modes == [(("spec", "trafficPolicy"), "ISTIO_MUTUAL"),
                     (("spec", "trafficPolicy", "portLevelSettings", 0), "DISABLE")]
    assert [p for p, _ in traffic_policies(dr, port_level=False)] == [("spec", "trafficPolicy")]


def test_gateway_proxies_and_route_clients() -> None:
    g = _graph()
    assert g.gateway_proxy_namespaces("edge", "ingress") == ["edge", "gateways"]
    assert g.gateway_proxy_namespaces("edge", "missing") == ["edge"]
    vs = next(r for r in g.project.by_kind("VirtualService") if isinstance(r, VirtualService))
    assert g.route_client_namespaces(vs, vs.gateways) == ["edge", "gateways", "frontend"]


def test_root_namespace_of_the_lookup_path_follows_the_mesh_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = "whoami.vm.svc.cluster.local"
    g = _graph()
    assert g.lookup_path("frontend", "vm") == ["frontend", "vm", "istio-system"]
    edr = g.effective_dr("frontend", host, "vm")
    assert edr is not None and [r.name for r in edr.rules] == ["whoami"]
    assert g.effective_dr("frontend", "other.frontend.svc.cluster.local", "frontend") is None
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text("rootNamespace: mesh-root\n")
    g = _graph(mesh_config=str(mesh))
    assert g.root_namespace == "mesh-root"
    edr = g.effective_dr("frontend", "other.frontend.svc.cluster.local", "frontend")
    assert edr is not None and edr.namespace == "mesh-root" and [r.name for r in edr.rules] == ["mesh-default"]
    # an explicit root-namespace setting wins over the mesh config
    assert _graph(mesh_config=str(mesh), root_namespace="custom").root_namespace == "custom"


@pytest.mark.parametrize(("a", "b", "overlap"), [
    (("exact", "/a"), ("exact", "/a"), True),
    (("exact", "/a"), ("exact", "/b"), False),
    (("prefix", "/a"), ("exact", "/ab"), True),
    (("exact", "/b"), ("prefix", "/a"), False),
    (("prefix", "/api"), ("prefix", "/api/v1"), True),
    (("prefix", "/orders"), ("prefix", "/payments"), False),
    (("prefix", "/"), ("exact", "/x"), True),
])
def test_paths_overlap(a, b, overlap) -> None:
    from istio_vm_lint.semantics import paths_overlap

    assert paths_overlap(a, b) is overlap
    assert paths_overlap(b, a) is overlap


@pytest.mark.parametrize(("spec", "paths"), [
    ({"http": [{"match": [{"uri": {"prefix": "/a"}}, {"uri": {"exact": "/b"}}]}]}, [("prefix", "/a"), ("exact", "/b")]),
    ({"http": [{"route": []}]}, None),                                   # no match: every path
    ({"http": [{"match": [{"headers": {"x": {"exact": "1"}}}]}]}, None),  # no uri: every path
    ({"http": [{"match": [{"uri": {"regex": "/a.*"}}]}]}, None),
    ({"http": [{"match": [{"uri": {"prefix": "/a"}, "ignoreUriCase": True}]}]}, None),
    ({"tcp": [{"route": []}]}, []),
])
def test_http_route_paths(spec, paths) -> None:
    from istio_vm_lint.semantics import http_route_paths

    assert http_route_paths(spec) == paths
