"""What tutorial and workshop repositories leave to other sources: Istio's sample apps applied
from the release (docs/semantics.md §istio-samples), envsubst variables, Gateways merged on
purpose, wildcard rules over another unit's Services, kubebuilder scaffolds."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import lint_folder

# A course chapter: its own app (httpbin-like `echo`) in `default`, and routing for bookinfo,
# which the reader deploys with `kubectl apply -f samples/bookinfo/platform/kube/bookinfo.yaml`.
_OWN_APP = """\
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  selector: {app: echo}
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: default}
spec:
  selector:
    matchLabels: {app: echo}
  template:
    metadata:
      labels: {app: echo}
    spec:
      containers:
      - {name: echo, image: registry.example.com/echo:1.0, ports: [{containerPort: 8080}]}
"""
_BOOKINFO_ROUTES = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v3}
      weight: 50
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match:
    - uri: {exact: /productpage}
    route:
    - destination: {host: productpage, port: {number: 9080}}
"""


def _sev(findings, code: str) -> set[str]:
    return {f.severity for f in findings if f.code == code}


def test_sample_app_from_istios_release_is_info(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(_OWN_APP)
    (tmp_path / "routes.yaml").write_text(_BOOKINFO_ROUTES)
    findings = lint_folder(tmp_path)
    for code in ("IVL501", "IVL108", "IVL503"):
        assert _sev(findings, code) == {"info"}, [(f.code, f.severity, f.message) for f in findings]
    msg = next(f.message for f in findings if f.code == "IVL503")
    assert "Gateway of Istio's bookinfo sample (samples/bookinfo)" in msg


def test_sample_name_the_repository_deploys_keeps_its_error(tmp_path: Path) -> None:
    # The repository deploys its own `reviews` (in another namespace): a route to
    # reviews.default is a real dangling host, not the sample.
    (tmp_path / "app.yaml").write_text(_OWN_APP + "---\n" + _OWN_APP.replace("echo", "reviews")
                                       .replace("namespace: default", "namespace: shop"))
    (tmp_path / "routes.yaml").write_text(_BOOKINFO_ROUTES.split("---\n")[0])
    findings = lint_folder(tmp_path)
    assert _sev(findings, "IVL501") == {"error"}, [(f.code, f.severity, f.message) for f in findings]


def test_rejected_sample_gateway_the_repository_defines_keeps_its_error(tmp_path: Path) -> None:
    # bookinfo-gateway is in the repository, but Istio rejects it (a partial wildcard host):
    # the route binds to nothing, and that is the repository's doing.
    (tmp_path / "app.yaml").write_text(_OWN_APP)
    (tmp_path / "routes.yaml").write_text(_BOOKINFO_ROUTES.split("---\n")[1])
    (tmp_path / "gw.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: bookinfo-gateway, namespace: default}\n"
        "spec:\n  selector: {istio: ingressgateway}\n  servers:\n"
        "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*example.com']\n")
    findings = lint_folder(tmp_path)
    assert _sev(findings, "IVL503") == {"error"}, [(f.code, f.severity, f.message) for f in findings]


@pytest.mark.parametrize(("value", "placeholder"), [
    ("$STUDENT_NS-sentences", True),
    ("$STUDENT_NS.sentences.$TRAINING_NAME.example.com", True),
    ("^/api/v1$", False),          # a regex anchor
    ("/users/$1", False),          # a capture reference
    ("a$b", False),
])
def test_shell_variables_are_placeholders(value: str, placeholder: bool) -> None:
    from istio_vm_lint.placeholders import is_placeholder

    assert is_placeholder(value) is placeholder


def test_envsubst_gateway_is_not_rejected(tmp_path: Path) -> None:
    (tmp_path / "gw.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: $STUDENT_NS-web\n"
        "  namespace: istio-ingress\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n"
        "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['$STUDENT_NS.web.example.com']\n")
    findings = lint_folder(tmp_path)
    assert not [f for f in findings if f.severity == "error"], [(f.code, f.message) for f in findings]


def test_wildcard_rule_over_another_units_services(tmp_path: Path) -> None:
    # Step 05 of a workshop adds a namespace-wide mTLS rule for the app that step 01 deploys
    # (namespace-less, applied with `oc project shop`); the steps are separate units.
    # (two versions of the app, so the steps cannot be one mesh)
    for step, tag in (("01-app", "1.0"), ("02-app", "2.0")):
        d = tmp_path / step
        d.mkdir()
        (d / "app.yaml").write_text(_OWN_APP.replace(", namespace: default", "").replace("echo", "web")
                                    .replace("web:1.0", f"web:{tag}"))
    (tmp_path / "05-mtls").mkdir()
    (tmp_path / "05-mtls" / "dr.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: mtls, namespace: shop}\n"
        "spec:\n  host: '*.shop.svc.cluster.local'\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n")
    findings = lint_folder(tmp_path)
    got = [(f.code, f.severity) for f in findings if f.code == "IVL502"]
    assert got == [("IVL502", "info")], [(f.code, f.severity, f.message) for f in findings]


def test_kubebuilder_crd_bases_are_generated(tmp_path: Path) -> None:
    crd = tmp_path / "config" / "crd"
    crd.mkdir(parents=True)
    (crd / "kustomization.yaml").write_text(
        "resources:\n- bases/mesh.example.com_federatedservices.yaml\n# +kubebuilder:scaffold:crdkustomizeresource\n")
    findings = lint_folder(tmp_path)
    assert [(f.code, f.severity) for f in findings] == [("IVL751", "info")], [(f.code, f.message) for f in findings]
    assert "controller-gen" in findings[0].message
    (crd / "kustomization.yaml").write_text("resources:\n- bases/mesh.example.com_federatedservices.yaml\n")
    assert "IVL753" in {f.code for f in lint_folder(tmp_path)}


_NGINX = """\
apiVersion: v1
kind: Namespace
metadata: {name: mesh-external}
---
apiVersion: v1
kind: Service
metadata: {name: my-nginx, namespace: mesh-external}
spec:
  selector: {run: my-nginx}
  ports:
  - {name: https, port: 443, protocol: TCP}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: my-nginx, namespace: mesh-external}
spec:
  selector:
    matchLabels: {run: my-nginx}
  template:
    metadata:
      labels: {run: my-nginx}
    spec:
      containers:
      - {name: my-nginx, image: nginx:1.27, ports: [{containerPort: 443}]}
---
# TLS origination at the client's sidecar (istio.io's egress TLS origination task): an entry in
# the client's namespace adds port 80 to the other namespace's Service hostname.
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: originate-tls-for-nginx, namespace: default}
spec:
  hosts: [my-nginx.mesh-external.svc.cluster.local]
  ports:
  - {number: 80, name: http-port, protocol: HTTP, targetPort: 443}
  - {number: 443, name: https-port, protocol: HTTPS}
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: originate-tls-for-nginx, namespace: default}
spec:
  host: my-nginx.mesh-external.svc.cluster.local
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      tls: {mode: SIMPLE}
"""


def test_entry_in_the_clients_namespace_wins_the_hostname(tmp_path: Path) -> None:
    # Sidecars of `default` take the hostname from their own namespace (the entry, with port
    # 80); clients of other namespaces get the Kubernetes Service, which has no port 80.
    (tmp_path / "nginx.yaml").write_text(_NGINX)
    findings = lint_folder(tmp_path)
    assert not [f for f in findings if f.severity in ("error", "warning")], \
        [(f.code, f.severity, f.message) for f in findings]
    assert {f.severity for f in findings if f.code == "IVL123"} == {"info"}
    (tmp_path / "shop.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: nginx, namespace: shop}\n"
        "spec:\n  hosts: [my-nginx.mesh-external.svc.cluster.local]\n  http:\n  - route:\n"
        "    - destination:\n        host: my-nginx.mesh-external.svc.cluster.local\n        port: {number: 80}\n")
    findings = lint_folder(tmp_path)
    assert [(f.location.file, f.code) for f in findings if f.severity == "error"] == [("shop.yaml", "IVL201")], \
        [(f.code, f.severity, f.message) for f in findings]



def test_helm_release_installed_by_the_instructions(tmp_path: Path) -> None:
    # Step 1 of the chapter installs Keycloak with Helm; step 2 routes to it.
    (tmp_path / "app.yaml").write_text(_OWN_APP)
    (tmp_path / "2-keycloak-vs.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: keycloak, namespace: default}\n"
        "spec:\n  hosts: [keycloak.example.com]\n  gateways: [istio-system/public]\n  http:\n  - route:\n"
        "    - destination: {host: my-keycloak, port: {number: 80}}\n")
    findings = lint_folder(tmp_path)
    assert _sev(findings, "IVL501") == {"error"}
    (tmp_path / "1-set-up-keycloak.md").write_text(
        "## Install Keycloak\n\n```sh\nhelm install --namespace default my-keycloak bitnami/keycloak --version 6.1.3\n```\n")
    findings = lint_folder(tmp_path)
    assert _sev(findings, "IVL501") == {"info"}, [(f.code, f.severity, f.message) for f in findings]
    assert "installs Helm release 'my-keycloak'" in next(f.message for f in findings if f.code == "IVL501")


_WAYPOINT_POLICY = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: history, namespace: purchase-history}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: history, namespace: purchase-history}
spec:
  selector:
    matchLabels: {app: history}
  template:
    metadata:
      labels: {app: history}
    spec:
      serviceAccountName: history
      containers:
      - {name: history, image: registry.example.com/history:1.0, ports: [{containerPort: 8080}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-waypoint, namespace: purchase-history}
spec:
  selector:
    matchLabels: {app: history}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/purchase-history/sa/waypoint]
"""
_WAYPOINT = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: purchase-history
  labels: {istio.io/waypoint-for: service}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE}
"""


def test_waypoint_gateway_runs_as_its_own_service_account(tmp_path: Path) -> None:
    # Istio deploys the waypoint Gateway itself, as service account `waypoint` (§gateway-api-deployments).
    (tmp_path / "policy.yaml").write_text(_WAYPOINT_POLICY)
    assert _sev(lint_folder(tmp_path), "IVL118") == {"warning"}
    (tmp_path / "waypoint.yaml").write_text(_WAYPOINT)
    findings = lint_folder(tmp_path)
    assert "IVL118" not in {f.code for f in findings}, [(f.code, f.severity, f.message) for f in findings]
    # a Gateway of class `istio` runs as `<name>-istio`, not `<name>`
    (tmp_path / "waypoint.yaml").write_text(_WAYPOINT.replace("istio-waypoint", "istio"))
    assert _sev(lint_folder(tmp_path), "IVL118") == {"warning"}


def test_external_entry_of_the_same_first_label_is_not_the_sample(tmp_path: Path) -> None:
    # `httpbin.org` (an egress ServiceEntry) is not the httpbin sample the routes mean.
    (tmp_path / "app.yaml").write_text(_OWN_APP)
    (tmp_path / "egress.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: httpbin-org, namespace: default}\n"
        "spec:\n  hosts: [httpbin.org]\n  location: MESH_EXTERNAL\n  resolution: DNS\n"
        "  ports:\n  - {number: 443, name: https, protocol: HTTPS}\n")
    (tmp_path / "delay.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: httpbin-delay, namespace: default}\n"
        "spec:\n  hosts: [httpbin]\n  http:\n  - fault:\n      delay: {percentage: {value: 50}, fixedDelay: 2s}\n"
        "    route:\n    - destination: {host: httpbin}\n")
    findings = lint_folder(tmp_path)
    assert _sev(findings, "IVL501") == {"info"}, [(f.code, f.severity, f.message) for f in findings]


def test_principal_of_a_sample_account(tmp_path: Path) -> None:
    # Istio's authorization task: only the `sleep` sample may call; the repository deploys its
    # own app (with its ServiceAccount) but takes sleep from Istio's release.
    (tmp_path / "app.yaml").write_text(_WAYPOINT_POLICY.replace("sa/waypoint", "sa/sleep")
                                       .replace("purchase-history", "foo"))
    findings = lint_folder(tmp_path)
    assert _sev(findings, "IVL118") == {"info"}, [(f.code, f.severity, f.message) for f in findings]
    assert "Istio's sleep sample" in next(f.message for f in findings if f.code == "IVL118")


def test_fill_in_your_value_tokens_are_placeholders(tmp_path: Path) -> None:
    from istio_vm_lint.placeholders import is_substituted

    assert is_substituted("apps.<CLUSTER-DOMAIN>") and is_substituted("<YOUR_NAMESPACE>")
    assert not is_substituted("<br>") and not is_substituted("a<b")
    (tmp_path / "gw.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: web, namespace: istio-system}\n"
        "spec:\n  selector: {istio: ingressgateway}\n  servers:\n"
        "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['web.apps.<CLUSTER-DOMAIN>']\n")
    assert not [f for f in lint_folder(tmp_path) if f.severity == "error"]


def test_service_exposing_an_istio_addon(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(_OWN_APP)
    (tmp_path / "kiali-lb.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: kiali-external}\nspec:\n  type: LoadBalancer\n"
        "  selector: {app: kiali}\n  ports:\n  - {name: http-kiali, port: 20001}\n")
    assert _sev(lint_folder(tmp_path), "IVL102") == {"info"}


def test_tokens_a_script_substitutes_with_sed(tmp_path: Path) -> None:
    (tmp_path / "kube").mkdir()
    (tmp_path / "app.yaml").write_text(_OWN_APP)
    (tmp_path / "kube" / "db.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: mongodb{i}\n  labels:\n    app: mongodb{i}\nspec:\n"
        "  selector:\n    app: mongodb{i}\n  ports:\n  - {name: tcp-mongo, port: 27017}\n")
    assert _sev(lint_folder(tmp_path), "IVL006") == {"error"}
    (tmp_path / "setup.sh").write_text(
        '#!/bin/sh\nsed -e "s/{i}/1/g" -e "s/{j}/2/g" kube/db.yaml | kubectl apply -n mongodb -f -\n')
    findings = lint_folder(tmp_path)
    assert not [f for f in findings if f.severity in ("error", "warning")], [(f.code, f.message) for f in findings]


def test_gateway_an_istio_operator_installs(tmp_path: Path) -> None:
    # A dedicated egress gateway installed with `istioctl install -f egress.yaml`, and the
    # routing through it.
    (tmp_path / "app.yaml").write_text(_OWN_APP)
    (tmp_path / "route.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: egress-gw, namespace: default}\n"
        "spec:\n  host: partner-egress.egress.svc.cluster.local\n  subsets:\n  - name: partner\n")
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: egress}\n")
    assert _sev(lint_folder(tmp_path), "IVL502") == {"warning"}
    (tmp_path / "egress.yaml").write_text(
        "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: partner-egress, namespace: egress}\n"
        "spec:\n  profile: empty\n  components:\n    egressGateways:\n    - name: partner-egress\n"
        "      namespace: egress\n      enabled: true\n      label: {istio: partner-egress}\n")
    findings = lint_folder(tmp_path)
    assert _sev(findings, "IVL502") == {"info"}, [(f.code, f.severity, f.message) for f in findings]
