"""``istio-vm-lint trace``: the offline ``istioctl x describe`` (issue 15 item 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ecosystem_support import run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WHOAMI = FIXTURES / "examples" / "vm-whoami"
MIXED = FIXTURES / "examples" / "mixed-vm-deployment"
VARIANTS = FIXTURES / "variants"


def trace(path: Path, *args: str, code: int = 0) -> str:
    r = run(["trace", *args, "--isolated"], cwd=path)
    assert r.exit_code == code, r.output
    return r.stdout


def trace_json(path: Path, *args: str) -> dict:
    doc = json.loads(trace(path, *args, "--format", "json"))
    assert doc["version"] == 1
    return doc


def test_ingress_host_text() -> None:
    out = trace(WHOAMI, "whoami.example.com")
    assert "ingress through Gateway istio-system/whoami-gateway (istio-system/gateway.yaml:2)" in out
    assert "proxies Deployment istio-system/istio-ingressgateway" in out
    assert "VirtualService: VirtualService whoami/whoami (whoami/virtualservice.yaml:3)" in out
    assert "→ whoami.example.internal:80 subset v1 weight 90" in out
    assert "→ whoami.example.internal:80 subset v2 weight 10" in out
    # endpoints of each subset, with the port of each hop
    assert "endpoint WorkloadEntry whoami/whoami-vm-1 port 80 → 8091; 10.132.0.21" in out
    assert "endpoint Deployment (pod template) whoami/whoami-v2 port 80 → 8888" in out
    # effective DestinationRule with the source of each field; mTLS; locality
    assert "outlierDetection = " in out and "← DestinationRule whoami/whoami (whoami/destinationrule.yaml:3 " \
        "spec.trafficPolicy)" in out
    assert "mTLS (server) STRICT ← PeerAuthentication whoami/default" in out
    assert "locality: locality failover" in out
    assert "mesh clients" not in out  # nothing in the mesh is addressed by the public name
    assert "no findings on this path" in out


def test_service_host_per_client_namespace_json() -> None:
    doc = trace_json(WHOAMI, "whoami.example.internal:80")
    (t,) = doc["traces"]
    assert t["target"] == {"host": "whoami.example.internal", "port": 80}
    assert [s["kind"] for s in t["services"]] == ["ServiceEntry"] and t["services"][0]["resolution"] == "STATIC"
    mesh = [e for e in t["entries"] if e["via"] == "mesh"]
    assert mesh[0]["client_namespaces"] == ["istio-system", "whoami"] and mesh[0]["virtual_service"] is None
    (d,) = mesh[0]["routes"][0]["destinations"]
    assert d["destination_rule"]["namespace"] == "whoami"
    assert d["destination_rule"]["effective_policy"]["outlierDetection"]["from"]["field"] == "spec.trafficPolicy"
    eps = {e["name"]: e for e in d["endpoints"]}
    assert eps["whoami-vm-1"]["port"] == {"service": 80, "endpoint": 8091}
    assert eps["whoami-v2"]["port"] == {"service": 80, "endpoint": 8888}
    assert eps["whoami-vm-1"]["peer_authentication"]["mode"] == "STRICT"
    # the gateway route to it is an entry too
    gw = [e for e in t["entries"] if e["via"] == "gateway"]
    assert gw and gw[0]["virtual_service"]["name"] == "whoami"


def test_kind_namespace_name_target() -> None:
    a = trace_json(WHOAMI, "ServiceEntry/whoami/whoami")
    assert a["traces"][0]["target"]["host"] == "whoami.example.internal"
    assert trace(WHOAMI, "Gateway/nowhere/x", code=2) == ""


def test_unknown_host_is_a_usage_error_with_a_hint() -> None:
    r = run(["trace", "whoami.example.internl", "--isolated"], cwd=WHOAMI)
    assert r.exit_code == 2 and "did you mean 'whoami.example.internal'?" in r.stderr


def test_mesh_virtual_service_routes_and_matches() -> None:
    out = trace(MIXED, "ratings.mesh.internal:9080")
    assert "mesh clients in namespaces ratings, web:" in out
    assert "route spec.http[0] 'testers-to-vms' when header x-canary:" in out
    assert "→ ratings.mesh.internal:9080 subset v1 weight 80" in out
    assert "endpoint WorkloadEntry ratings/ratings-vm-a port 9080 → 8080" in out


def test_findings_on_the_path_and_policy_not_in_effect() -> None:
    v = VARIANTS / "IVL402-port-override-drops-outlier-detection"
    doc = trace_json(v, "whoami.example.internal:80")
    (t,) = doc["traces"]
    assert "IVL402" in {f["code"] for f in t["findings"]}
    d = t["entries"][0]["routes"][0]["destinations"][0]
    assert d["locality"]["in_effect"].startswith("failover configured but NOT in effect")
    assert d["destination_rule"]["effective_policy"]["loadBalancer"]["from"]["field"] == \
        "spec.trafficPolicy.portLevelSettings[0]"
    out = trace(VARIANTS / "IVL201-destination-port-is-target-port", "whoami.example.com")
    assert "✗ ServiceEntry whoami/whoami has no port 8888 (ports: 80)" in out
    assert "whoami/virtualservice.yaml:21:11: IVL201 [error]" in out


def test_destination_rule_lookup_path_per_client_namespace(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("""\
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: s, namespace: a}
spec:
  hosts: [s.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: s, namespace: a}
spec:
  host: s.example.internal
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: s-for-b, namespace: b}
spec:
  host: s.example.internal
  trafficPolicy: {tls: {mode: DISABLE}}
""")
    doc = trace_json(tmp_path, "s.example.internal")
    by_ns = {tuple(e["client_namespaces"]): e for e in doc["traces"][0]["entries"]}
    assert set(by_ns) == {("a",), ("b",)}
    da = by_ns[("a",)]["routes"][0]["destinations"][0]
    db = by_ns[("b",)]["routes"][0]["destinations"][0]
    assert da["mtls"]["client"] == "ISTIO_MUTUAL" and da["destination_rule"]["rules"][0]["name"] == "s"
    assert db["mtls"]["client"] == "DISABLE" and db["destination_rule"]["rules"][0]["name"] == "s-for-b"
    assert db["endpoints"][0]["workload_kind"] == "inline endpoint" and db["endpoints"][0]["address"] == "10.0.0.1"


@pytest.mark.parametrize("args", [["nowhere.example"], ["x:80", "missing-dir"]])
def test_usage(args: list[str]) -> None:
    r = run(["trace", *args, "--isolated"], cwd=WHOAMI)
    assert r.exit_code in (1, 2) and r.stdout == ""


def test_gateway_that_does_not_admit_the_virtual_service() -> None:
    out = trace(VARIANTS / "IVL504-gateway-dot-namespace", "whoami.example.com")
    assert "VirtualService whoami/whoami binds to this Gateway but no server host admits it" in out
    assert "IVL504 [error]" in out and "hosts ./whoami.example.com" in out


OVERLAYS = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "kustomize-overlays"


def test_trace_finds_the_host_in_any_unit() -> None:
    """Each kustomize overlay is its own mesh: a host only the second overlay defines is traced
    there, and the trace names its unit."""
    doc = trace_json(OVERLAYS, "reviews.reviews-staging.svc.cluster.local")
    assert [t["unit"] for t in doc["traces"]] == ["overlays/staging"]
    text = trace(OVERLAYS, "reviews.reviews-staging.svc.cluster.local")
    assert text.startswith("trace reviews.reviews-staging.svc.cluster.local (unit overlays/staging)")
    assert "DestinationRule reviews-staging/reviews" in text
    assert [t["unit"] for t in trace_json(OVERLAYS, "reviews.reviews.svc.cluster.local")["traces"]] == ["overlays/prod"]
