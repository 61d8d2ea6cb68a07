"""Loader and model: C parser in use, positions, scalar typing, List expansion, namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest
from istio_vm_lint.config import Settings
from istio_vm_lint.loader import PositionIndex, ScalarCache, load_documents
from istio_vm_lint.runner import lint


def test_c_parser_is_in_use() -> None:
    """The loader must run on libyaml (ruamel's clib or clibz), never pure Python."""
    import ruamel.yaml.cyaml as cyaml
    from istio_vm_lint import loader

    assert getattr(cyaml, "__yaml_lib", None) in ("clib", "clibz")
    assert loader.CSafeLoader is cyaml.CSafeLoader
    parser_module = type(loader.CSafeLoader("a: 1")).__mro__[1].__module__
    assert "_ruamel_yaml" in parser_module, parser_module


def test_scalars_follow_kubernetes_yaml() -> None:
    result, _ = load_documents("a: 1\nb: '2'\nc: yes\nd: 1.5\ne: ~\nf: 0x10\ng: 2001-12-14\nh: !custom x\n")
    assert result.documents[0].data == {"a": 1, "b": "2", "c": True, "d": 1.5, "e": None, "f": 16,
                                        "g": "2001-12-14", "h": "x"}


def test_positions_point_at_keys_and_items() -> None:
    text = "spec:\n  ports:\n  - number: 80\n    targetPort: 9090\n  - name: b\n"
    _, idx = load_documents(text, record_positions=True)
    assert idx is not None
    assert idx[0][("spec", "ports", 0, "targetPort")] == (4, 5)
    assert idx[0][("spec", "ports", 1)] == (5, 5)
    pi = PositionIndex(text.encode())
    assert pi.lookup(0, ("spec", "ports", 1, "missing")) == (5, 5)  # nearest ancestor


def test_position_index_only_indexes_wanted_documents() -> None:
    text = "".join(f"---\na: {i}\nb:\n  c: {i}\n" for i in range(6))
    _, idx = load_documents(text, record_positions={1, 3})
    assert idx is not None and set(idx) == {1, 3}
    assert idx[3][("b", "c")] == (4 * 3 + 4, 3)
    pi = PositionIndex(text.encode())
    pi.want(4)
    assert pi.lookup(2, ("b", "c")) == (12, 3)
    assert set(pi._docs) == {2, 4}  # one parse for both announced documents
    assert pi.lookup(5, ("a",)) == (22, 1)  # a document not announced still resolves
    assert pi.lookup(9, ("a",)) is None  # no such document


def test_position_index_parses_a_file_at_most_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups nobody announced, one document after another, must not re-parse the file for
    each (quadratic: a 3,000-document file with a duplicate key in each took minutes)."""
    from istio_vm_lint import loader

    text = "".join(f"---\nkind: Service\nmetadata: {{name: s{i}, name: s{i}}}\n" for i in range(200))
    calls: list[object] = []
    real = loader.load_documents

    def counting(*a: object, **k: object) -> object:
        calls.append(k.get("record_positions"))
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_documents", counting)
    pi = PositionIndex(text.encode())
    for i in range(200):
        assert pi.lookup(i, ("metadata",)) == (3 * i + 3, 1)
    assert len(calls) == 2 and calls[1] is True


def test_shared_scalar_cache_changes_nothing_but_identity() -> None:
    cache = ScalarCache()
    one, _ = load_documents("a: '1'\nb: 1\nc: x\n", cache=cache)
    two, _ = load_documents("a: 1\nb: '1'\nc: x\n", cache=cache)
    assert one.documents[0].data == {"a": "1", "b": 1, "c": "x"}
    assert two.documents[0].data == {"a": 1, "b": "1", "c": "x"}  # quoted and plain never mix
    assert one.documents[0].data["c"] is two.documents[0].data["c"]


def test_anchors_and_merge_keys() -> None:
    result, _ = load_documents("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n")
    assert result.documents[0].data["use"] == {"x": 1, "y": 2}


def test_multi_doc_list_and_namespaces(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "---\n# only a comment\n---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: a, namespace: x}\n"
        "- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: b}\n"
        "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
        "---\n- just a list\n")
    out = lint([str(tmp_path)], Settings(default_namespace="team"))
    names = {(r.name, r.namespace, r.namespace_explicit) for r in out.project.resources}
    assert names == {("a", "x", True), ("b", "team", False)}
    assert out.project.unknown_kinds == 1
    assert out.project.ignored_documents == 1
    assert out.findings == []


def test_gateway_api_gateway_is_not_istio_gateway(tmp_path: Path) -> None:
    (tmp_path / "gw.yaml").write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {}\n")
    out = lint([str(tmp_path)])
    assert out.project.resources == []


def test_valid_yaml_the_bundled_libyaml_rejects_is_read() -> None:
    """ruamel's C parser is libyaml 0.1.7: ':' and '?' inside plain scalars of a flow collection
    (``{tarball: https://...}``, valid YAML that libyaml >= 0.2.1 reads) fail there; such a file
    is read again by the pure-Python parser instead of being reported as a syntax error."""
    raw = (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lock\n"
           b"  annotations: {source: https://example.com/a.tgz, q: x?y=1}\n"
           b"data: {urls: '[http://a:80, b]'}\nlist: [http://a.example:8080/x, {k: v}]\n")
    result, _ = load_documents(raw)
    assert not result.errors
    data = result.documents[0].data
    assert data["metadata"]["annotations"] == {"source": "https://example.com/a.tgz", "q": "x?y=1"}
    assert data["list"] == ["http://a.example:8080/x", {"k": "v"}]
    # Positions come from the same parser, and stay right.
    index = PositionIndex(raw)
    assert index.lookup(0, ("metadata", "annotations", "q")) == (5, 52)
    assert index.lookup(0, ("list", 1, "k")) == (7, 34)


def test_real_syntax_errors_keep_the_c_parsers_message() -> None:
    raw = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  a: {b: http://c\n"
    result, _ = load_documents(raw)
    assert len(result.errors) == 1 and result.errors[0].line == 5
    tabbed = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n"
    assert "tabs" in load_documents(tabbed)[0].errors[0].message


def test_files_that_are_not_manifests_get_no_load_finding(tmp_path: Path) -> None:
    (tmp_path / "pnpm-lock.yaml").write_text(
        "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {tarball: https://r.example/a-1.0.0.tgz}\n")
    (tmp_path / "ci.yml").write_text("stages:\n\t- build\nbuild:\n  script: make\n  script: make all\n")
    (tmp_path / "app-config.yaml").write_text("server:\n  port: 8080\n  port: 8081\n")
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n\tname: x\n")
    out = lint([str(tmp_path)], Settings())
    got = sorted((f.location.file.rsplit("/", 1)[-1], f.code) for f in out.findings)
    assert got == [("broken.yaml", "IVL001")]

# --- issue 11 item 10: positions after a duplicate key ------------------------------------

DUP_SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels:
    app: web
    app: web2
    app: web3
spec:
  selector:
    app: web
  ports:
  - port: 80
    name: http
"""


def test_duplicate_key_does_not_move_the_document_start() -> None:
    result, _ = load_documents(DUP_SERVICE)
    doc = result.documents[0]
    assert (doc.line, doc.column) == (1, 1)
    assert [(d.line, d.first_line) for d in doc.duplicates] == [(8, 7), (9, 7)]


def test_each_repeat_of_a_key_is_pointed_at(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(DUP_SERVICE)
    out = lint([str(tmp_path)])
    assert sorted((f.code, f.location.line, f.location.column) for f in out.findings) == [
        ("IVL002", 8, 5), ("IVL002", 9, 5)]
    (svc,) = out.project.resources
    assert (svc.line, svc.column) == (1, 1)


def test_graph_json_places_a_resource_with_a_duplicate_key_at_its_start(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner
    from istio_vm_lint.cli import main

    (tmp_path / "svc.yaml").write_text(DUP_SERVICE)
    res = CliRunner().invoke(main, ["graph", str(tmp_path), "--format", "json"])
    nodes = json.loads(res.stdout)["nodes"]
    assert [n["line"] for n in nodes if n["kind"] == "Service"] == [1]


# --- issue 11 item 7: nested and typed lists ----------------------------------------------

LISTS = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: List
  items:
  - apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: nested, namespace: shop}
    spec:
      hosts: [nested.example.com]
      location: MESH_EXTERNAL
      resolution: DNS
      ports:
      - {number: 443, name: https, protocol: TLS}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntryList
items:
- metadata: {name: typed, namespace: shop}
  spec:
    hosts: [typed.example.com]
    location: MESH_EXTERNAL
    resolution: DNS
    ports:
    - number: 443
      name: https
      protocol: TLS
      bogus: 1
---
apiVersion: apps/v1
kind: DeploymentList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: shop}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: web, image: "web:1"}]
---
apiVersion: v1
kind: SecretList
items:
- metadata: {name: creds, namespace: shop}
  data: {password: aHVudGVyMg==}
"""


@pytest.mark.parametrize("cached", [False, True])
def test_nested_and_typed_lists_are_flattened(tmp_path: Path, cached: bool) -> None:
    (tmp_path / "lists.yaml").write_text(LISTS)
    settings = Settings(cache_dir=str(tmp_path / "cache")) if cached else Settings()
    for _ in range(2 if cached else 1):  # cold, then warm from the pack
        out = lint([str(tmp_path / "lists.yaml")], settings)
        got = {(r.kind, r.name, r.base) for r in out.project.resources}
        assert got == {("ServiceEntry", "nested", ("items", 0, "items", 0)),
                       ("ServiceEntry", "typed", ("items", 0)),
                       ("Deployment", "web", ("items", 0))}
        assert out.project.unknown_kinds == 1  # the Secret of the SecretList
        # Findings point into the item (the unknown field of the typed list's item).
        assert [(f.code, f.location.line) for f in out.findings if f.code.startswith("IVL01")] == [("IVL010", 29)]
    if cached:
        packs = list((tmp_path / "cache").glob("parse-*.marshal"))
        assert packs and all(b"aHVudGVyMg" not in p.read_bytes() for p in packs)


# --- issue 11 item 6: ports written as integral floats ------------------------------------


def test_integral_floats_are_the_integers_the_api_server_sees() -> None:
    result, _ = load_documents("a: 80.0\nb: 1e2\nc: 8.08e3\nd: 80.5\ne: -0.0\nf: 1e21\ng: '80.0'\n")
    data = result.documents[0].data
    assert data == {"a": 80, "b": 100, "c": 8080, "d": 80.5, "e": 0, "f": 1e21, "g": "80.0"}
    assert [type(data[k]) for k in "abcdef"] == [int, int, int, float, int, float]


FLOAT_PORTS = """apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: billing, namespace: shop}
spec:
  hosts: [billing.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 80.0, name: http, protocol: HTTP, targetPort: 8.08e3}
  - {number: 9090.0, name: grpc, protocol: GRPC}
  workloadSelector: {labels: {app: billing}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: billing-vm-1, namespace: shop, labels: {app: billing}}
spec:
  address: 10.0.0.7
  serviceAccount: billing
  ports: {http: 8080.0}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: billing, namespace: shop}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: billing, namespace: shop}
spec:
  hosts: [billing.shop.svc.cluster.local]
  http:
  - route:
    - destination:
        host: billing.shop.svc.cluster.local
        port: {number: PORT}
"""


@pytest.mark.parametrize("port, expected", [("80.0", []), ("1e2", ["IVL201"]), ("100.0", ["IVL201"]),
                                            ("80.5", ["IVL010"])])
def test_port_rules_read_integral_float_ports(tmp_path: Path, port: str, expected: list[str]) -> None:
    (tmp_path / "billing.yaml").write_text(FLOAT_PORTS.replace("PORT", port))
    out = lint([str(tmp_path)])
    assert sorted({f.code for f in out.findings if f.severity != "info"}) == expected
    (se,) = out.project.by_kind("ServiceEntry")
    assert [(p.number, p.target_port) for p in se.ports] == [(80, 8080), (9090, None)]
    (we,) = out.project.by_kind("WorkloadEntry")
    assert we.endpoint.ports == {"http": 8080}


# --- issue 11 item 9: workload APIs that are not served any more --------------------------


@pytest.mark.parametrize("api", ["extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"])
def test_unserved_workload_api_is_reported_and_its_pods_still_selected(tmp_path: Path, api: str) -> None:
    from conftest import FIXTURES

    text = (FIXTURES / "rules" / "IVL003" / "bad" / "legacy-deployment.yaml").read_text()
    (tmp_path / "app.yaml").write_text(text.replace("extensions/v1beta1", api))
    for cache in (None, str(tmp_path / "cache"), str(tmp_path / "cache")):  # cold, filling, warm
        out = lint([str(tmp_path / "app.yaml")], Settings(cache_dir=cache))
        assert [(f.code, f.location.line) for f in out.findings] == [("IVL003", 3)], out.findings
        assert "is no longer served" in out.findings[0].message
        legacy = [r for r in out.project.by_kind("Deployment") if r.api_version == api]
        assert [(r.name, r.pod.labels) for r in legacy] == [("reviews-v4", {"app": "reviews", "version": "v4"})]
