"""Named-file runs (pre-commit): per-resource rules (``scope="resource"``: schema IVL010/IVL011,
webhook validation IVL6xx) look only at the named files' resources, and nothing a user sees
in the named files changes.

Compared on fixture repositories, every file named in turn:

* the findings located in the named file equal those of a whole-repository run, located there;
* the named-file run equals the same run with every rule seen as cross-resource (what the
  engine did before ``scope`` existed), except for per-resource findings on context
  resources, which the change cannot have caused.

No timing is asserted here; ``benchmarks/run.py`` measures the pre-commit case.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import generate  # noqa: E402
from istio_vm_lint import engine, registry  # noqa: E402
from istio_vm_lint.config import Settings  # noqa: E402
from istio_vm_lint.discover import discover  # noqa: E402
from istio_vm_lint.findings import Finding  # noqa: E402
from istio_vm_lint.runner import lint  # noqa: E402
from istio_vm_lint.units import plan  # noqa: E402


@pytest.fixture(autouse=True)
def _no_result_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the parse cache and what it stores: a repeated run must really
    run (tests/test_result_cache.py covers the result cache)."""
    monkeypatch.setenv("ISTIO_VM_LINT_NO_RESULT_CACHE", "1")

EXAMPLES = ROOT / "fixtures" / "examples"
REPOS = [EXAMPLES / "vm-whoami", EXAMPLES / "mixed-vm-deployment", EXAMPLES / "egress-external-api",
         EXAMPLES / "kustomize-overlays", ROOT / "fixtures" / "units" / "namespace-assumed"]


def _key(f: Finding) -> tuple[object, ...]:
    return (f.code, f.severity, f.message, f.location.file, f.location.line, f.location.column, str(f.resource),
            f.field, tuple((r.location.file, r.location.line, str(r.resource)) for r in f.related), f.fingerprint,
            (f.caused_by.location.file, str(f.caused_by.resource)) if f.caused_by else None)


def _run(root: Path, named: Optional[Path]) -> list[Finding]:
    cwd = os.getcwd()
    os.chdir(root)  # display paths relative to the repository, as in a pre-commit run
    try:
        files, _ = discover(["."], ())
        report_only = None if named is None else {os.path.realpath(named)}
        return lint([], Settings(root=str(root)), files=files, report_only=report_only).findings
    finally:
        os.chdir(cwd)


def _as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule cross-resource: the named-file run as it was before rules had a scope."""
    rules = {c: dataclasses.replace(r, scope="repository") for c, r in engine.all_rules().items()}
    monkeypatch.setattr(registry, "_RULES", rules)


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if p.name != "kustomization.yaml")


def _in(f: Finding, named: Path, root: Path) -> bool:
    return os.path.realpath(root / f.location.file) == os.path.realpath(named)


def _check_repo(root: Path, monkeypatch: pytest.MonkeyPatch, names: Optional[list[Path]] = None) -> int:
    scoped = {c for c, r in engine.all_rules().items() if r.scope == "resource"}
    full = _run(root, None)
    checked = 0
    for named in names or _yaml_files(root):
        now = _run(root, named)
        mine = sorted(_key(f) for f in now if _in(f, named, root))
        assert mine == sorted(_key(f) for f in full if _in(f, named, root)), named
        with monkeypatch.context() as m:
            _as_before(m)
            before = _run(root, named)
        now_keys, before_keys = sorted(map(_key, now)), sorted(map(_key, before))
        assert set(now_keys) <= set(before_keys), named
        dropped = [k for k in before_keys if k not in set(now_keys)]
        # Only per-resource findings on context resources, never one in the named file.
        assert all(k[0] in scoped and os.path.realpath(root / str(k[3])) != os.path.realpath(named)
                   for k in dropped), (named, dropped)
        checked += 1
    return checked


def test_scope_metadata() -> None:
    rules = engine.all_rules()
    scoped = {c for c, r in rules.items() if r.scope == "resource"}
    assert {"IVL010", "IVL011", "IVL610", "IVL620", "IVL630"} <= scoped
    assert all(c == "IVL010" or c == "IVL011" or c.startswith("IVL6") for c in scoped)
    assert rules["IVL501"].scope == "repository" and rules["IVL101"].scope == "repository"


@pytest.fixture(scope="module")
def render_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("render-cache")


@pytest.mark.parametrize("root", REPOS, ids=lambda p: p.name)
def test_named_file_run_matches_full_run_in_named_files(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                        render_cache_dir: Path) -> None:
    # kustomize roots are rendered once, by the whole-repository run, and read back from the
    # render cache by the ~20 named-file runs (kubectl starts cost ~0.2 s of CPU each; the
    # cache returns what kustomize printed, tests/test_render_cache.py).  Only the render cache:
    # the parse cache would change how a named-file run judges its context resources.
    real = plan._render_all
    monkeypatch.setattr(plan, "_render_all", lambda argv, trees, cache_dir=None: real(argv, trees, str(render_cache_dir)))
    assert _check_repo(root, monkeypatch) > 0


def test_generated_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate.generate(str(tmp_path), 200, seed=3)
    files = _yaml_files(tmp_path)
    assert _check_repo(tmp_path, monkeypatch, files[:3] + files[-2:]) == 5


BROKEN_SE = textwrap.dedent("""\
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: billing
      namespace: shop
    spec:
      hosts: [billing.shop.svc.cluster.local]
      location: MESH_INTERNAL
      resolution: STATIC
      ports:
      - number: "eighty"
        name: http
        protocol: HTTP
      endpoints:
      - address: 10.0.0.7
    """)

VS = textwrap.dedent("""\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: billing
      namespace: shop
    spec:
      hosts: [billing.shop.svc.cluster.local]
      http:
      - route:
        - destination:
            host: billing.shop.svc.cluster.local
            port:
              number: 80
    """)


def test_rejected_context_resource_still_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ServiceEntry the API server rejects (IVL010) in a context file does not exist for the
    cross-resource rules in a named-file run either: the VirtualService routing to its host is
    reported exactly as in the whole-repository run; the schema finding of the context file
    is not reported."""
    (tmp_path / "se.yaml").write_text(BROKEN_SE)
    (tmp_path / "vs.yaml").write_text(VS)
    full = _run(tmp_path, None)
    assert {f.code for f in full if f.location.file.endswith("se.yaml")} >= {"IVL010"}
    named = _run(tmp_path, tmp_path / "vs.yaml")
    assert sorted(map(_key, named)) == sorted(_key(f) for f in full if f.location.file.endswith("vs.yaml"))
    assert not any(f.code in ("IVL010", "IVL011") for f in named)
    _check_repo(tmp_path, monkeypatch)


def test_rejection_verdicts_are_cached(tmp_path: Path) -> None:
    """With a parse cache, the verdicts of context resources are stored (per file, keyed by
    its content, the namespaces and the rules selected) and read back: the warm named-file run reports exactly what the cold one does, the
    rejected ServiceEntry still counts as absent, and a changed context resource is judged
    again."""
    from istio_vm_lint.cache import ParseCache

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "se.yaml").write_text(BROKEN_SE)
    (repo / "vs.yaml").write_text(VS)
    cache_dir = tmp_path / "cache"

    def run(cache: bool) -> list[tuple[object, ...]]:
        cwd = os.getcwd()
        os.chdir(repo)
        try:
            files, _ = discover(["."], ())
            settings = Settings(root=str(repo))
            settings.cache_dir = str(cache_dir) if cache else None
            out = lint([], settings, files=files, report_only={os.path.realpath(repo / "vs.yaml")})
            return sorted(map(_key, out.findings))
        finally:
            os.chdir(cwd)

    cold = run(False)
    assert [k[0] for k in cold] == ["IVL501"]
    assert run(True) == cold  # fills the cache, verdicts included
    verdicts = [k for k in ParseCache(str(cache_dir))._old if len(k) == 17 and k[:1] == b"W"]
    assert len(verdicts) == 1  # the one context file
    assert run(True) == cold  # read back
    # The ServiceEntry fixed: judged again (a new key), the route now resolves.
    (repo / "se.yaml").write_text(BROKEN_SE.replace('"eighty"', "80"))
    assert run(True) == run(False) == []


# --- the closure (lint/relevance.py): rules iterate only what the named files can matter to ---

CROSS = {
    "web/frontend.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: frontend, namespace: web}
        spec:
          selector: {matchLabels: {app: frontend}}
          template:
            metadata: {labels: {app: frontend, version: v1}}
            spec: {serviceAccountName: frontend, containers: [{name: app, image: web:1, ports: [{containerPort: 8080, name: http}]}]}
        """,
    "ratings/vs.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: ratings}
        spec:
          hosts: [ratings.ratings.svc.cluster.local]
          http:
          - match: [{sourceLabels: {app: fronted}}]
            route: [{destination: {host: ratings.ratings.svc.cluster.local, subset: v3}}]
          - route: [{destination: {host: orders.shop.svc.cluster.local, port: {number: 8080}}}]
        """,
    "ratings/dr.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: ratings, namespace: ratings}
        spec:
          host: ratings.ratings.svc.cluster.local
          subsets: [{name: v3, labels: {version: v3}}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ratings, namespace: ratings}
        spec: {selector: {app: ratings}, ports: [{name: http, port: 80, targetPort: 9080}]}
        """,
    "ratings/workloads.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: ratings-vm, namespace: ratings}
        spec: {address: 10.0.0.9, labels: {app: ratings, version: v2}, serviceAccount: ratings}
        """,
    "shop/se.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: orders, namespace: shop}
        spec:
          hosts: [orders.shop.svc.cluster.local]
          location: MESH_INTERNAL
          resolution: STATIC
          ports: [{number: 8080, name: http, protocol: HTTP}]
          workloadSelector: {labels: {app: orders}}
        """,
    "other/we.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: orders-vm, namespace: other}
        spec: {address: 10.0.0.9, labels: {app: orders}, ports: {http: 8080}}
        """,
    "istio-system/policies.yaml": """\
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: frontend-only, namespace: istio-system}
        spec:
          selector: {matchLabels: {app: fronted}}
          action: ALLOW
          rules: [{from: [{source: {principals: [cluster.local/ns/web/sa/frontend]}}]}]
        """,
    "istio-system/gateways.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: public, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: shared-cert}}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: istio-ingressgateway, namespace: istio-system}
        spec:
          selector: {matchLabels: {istio: ingressgateway}}
          template:
            metadata: {labels: {istio: ingressgateway}}
            spec: {containers: [{name: istio-proxy, image: proxyv2, ports: [{containerPort: 8443}]}]}
        """,
    "billing/billing.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: billing, namespace: billing}
        spec:
          hosts: [billing.internal]
          location: MESH_INTERNAL
          resolution: STATIC
          ports: [{number: 80, name: http, protocol: HTTP}]
          workloadSelector: {labels: {app: billing}}
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: billing-vm, namespace: billing}
        spec: {address: 10.0.1.5, labels: {app: biling}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: billing, namespace: billing}
        spec:
          hosts: [billing.internal]
          http: [{route: [{destination: {host: billing.internal, subset: v9}}, {destination: {host: nowhere.internal}}]}]
        """,
    "edge/gateway.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: edge, namespace: edge}
        spec:
          selector: {istio: ingressgateway}
          servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: shared-cert}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: edge, namespace: edge}
        spec:
          hosts: [shop.example.com]
          gateways: [edge, istio-system/public]
          http: [{route: [{destination: {host: orders.shop.svc.cluster.local}}]}]
        """,
}


def _closure_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISTIO_VM_LINT_NO_CLOSURE", "1")


def _same_with_and_without_closure(root: Path, monkeypatch: pytest.MonkeyPatch, names: list[Path]) -> int:
    """Every file named in turn: the run with the closure reports exactly what the run that
    iterates the whole unit does; returns how many runs used a closure smaller than the unit."""
    from istio_vm_lint import relevance
    from istio_vm_lint.units.load import Sources, build_project
    from istio_vm_lint.units.plan import plan
    from istio_vm_lint.units.views import copies_of

    restricted = 0
    for named in names:
        with_closure = sorted(map(_key, _run(root, named)))
        with monkeypatch.context() as m:
            _closure_off(m)
            without = sorted(map(_key, _run(root, named)))
        assert with_closure == without, named
        cwd = os.getcwd()
        os.chdir(root)
        try:
            files, _ = discover(["."], ())
            settings = Settings(root=str(root))
            sources = Sources({os.path.realpath(named)}, None)
            for unit in plan(files, settings).units:
                project = build_project(unit, sources, settings, {d.real: d for d in files}, str(root))
                ids = relevance.subjects_for(project, copies_of(project.resources), settings.cluster_domain,
                                             settings.root_namespace)
                restricted += ids is not None
        finally:
            os.chdir(cwd)
    return restricted


def test_closure_across_namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Near misses in other namespaces (IVL120, IVL115), selection in another namespace
    (IVL103), subsets and their nearest endpoint (IVL107), a shared address,
    conflicting Gateways: whichever file is named, the closure changes nothing."""
    for rel, text in CROSS.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    full = {f.code for f in _run(tmp_path, None)}
    assert {"IVL103", "IVL107", "IVL115", "IVL120", "IVL702"} <= full, full
    names = _yaml_files(tmp_path)
    assert _same_with_and_without_closure(tmp_path, monkeypatch, names) > 0
    _check_repo(tmp_path, monkeypatch)


def test_closure_on_generated_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate.generate(str(tmp_path), 300, seed=5)
    files = _yaml_files(tmp_path)
    picks = [f for f in files if f.name in ("namespaces.yaml",) or "istio-system" in f.parts][:2] + files[3:9:2]
    assert _same_with_and_without_closure(tmp_path, monkeypatch, picks) >= 2


def test_closure_with_warm_cache(tmp_path: Path) -> None:
    """What the closure reads of each file is cached by content: warm runs equal cold ones."""
    generate.generate(str(tmp_path / "repo"), 200, seed=7)
    repo = tmp_path / "repo"
    named = _yaml_files(repo)[4]

    def run(cache: bool) -> list[tuple[object, ...]]:
        cwd = os.getcwd()
        os.chdir(repo)
        try:
            files, _ = discover(["."], ())
            settings = Settings(root=str(repo))
            settings.cache_dir = str(tmp_path / "cache") if cache else None
            return sorted(map(_key, lint([], settings, files=files, report_only={os.path.realpath(named)}).findings))
        finally:
            os.chdir(cwd)

    cold = run(False)
    assert run(True) == cold
    assert run(True) == cold
    named.write_text(named.read_text() + "# changed\n")
    assert run(True) == run(False)


# Rules that index every resource of their kind and report each one iterated against its
# group (IVL112, IVL408, IVL730, IVL740, IVL746, IVL749), delegation across namespaces
# (IVL410 with a delegate of that name elsewhere, IVL411-IVL413, two roots of one delegate),
# a DestinationRule off the lookup path (IVL415): the findings split over files and namespaces.
GROUPS = {
    "a/roots.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: front, namespace: a}
        spec:
          hosts: [front.a.svc.cluster.local]
          http:
          - match: [{uri: {prefix: /api}}]
            delegate: {name: api, namespace: b}
          - match: [{uri: {prefix: /web}}]
            delegate: {name: web}
          - match: [{uri: {prefix: /x}}]
            delegate: {name: hosted, namespace: c}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: front, namespace: a}
        spec:
          selector: {matchLabels: {app: front}}
          template:
            metadata: {labels: {app: front}}
            spec: {containers: [{name: app, image: front:1, ports: [{containerPort: 8080}]}]}
        """,
    "d/roots.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: side, namespace: d}
        spec:
          hosts: [side.d.svc.cluster.local]
          http:
          - match: [{uri: {prefix: /side}}]
            delegate: {name: api, namespace: b}
        """,
    "b/api.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: api, namespace: b}
        spec:
          exportTo: [b]
          http:
          - match: [{uri: {prefix: /other}}]
            route: [{destination: {host: api.b.svc.cluster.local}}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: b}
        spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 8080}]}
        """,
    "b/dr1.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: api-pool, namespace: b}
        spec:
          host: api.b.svc.cluster.local
          trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
        """,
    "b/dr2.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: api-tls, namespace: b}
        spec:
          host: api
          trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, connectionPool: {tcp: {maxConnections: 20}}}
        """,
    "e/dr.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: api-elsewhere, namespace: e}
        spec:
          host: api.b.svc.cluster.local
          trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}
        """,
    "c/web.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: web, namespace: c}
        spec:
          http: [{route: [{destination: {host: web.c.svc.cluster.local}}]}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: hosted, namespace: c}
        spec:
          hosts: [hosted.c.svc.cluster.local]
          http: [{route: [{destination: {host: web.c.svc.cluster.local}}]}]
        """,
    "a/se.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: partner-a, namespace: a}
        spec:
          hosts: [api.partner.example.com]
          location: MESH_EXTERNAL
          resolution: DNS
          ports: [{number: 443, name: tls, protocol: TLS}]
        """,
    "c/se.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: partner-c, namespace: c}
        spec:
          hosts: [api.partner.example.com]
          location: MESH_EXTERNAL
          resolution: DNS
          ports: [{number: 443, name: https, protocol: HTTPS}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: db-c, namespace: c}
        spec:
          hosts: [db.partner.example.com]
          location: MESH_EXTERNAL
          resolution: DNS
          ports: [{number: 5432, name: tcp, protocol: TCP}]
        """,
    "d/se.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: db-d, namespace: d}
        spec:
          hosts: [DB.partner.example.com]
          location: MESH_EXTERNAL
          resolution: DNS
          ports: [{number: 5432, name: tcp, protocol: TCP}]
        """,
    "b/wg1.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: WorkloadGroup
        metadata: {name: vm-1, namespace: b}
        spec: {metadata: {labels: {app: api}}, template: {serviceAccount: api}}
        """,
    "b/wg2.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: WorkloadGroup
        metadata: {name: vm-2, namespace: b}
        spec: {metadata: {labels: {app: api}}, template: {serviceAccount: api}}
        """,
    "c/we1.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: web-vm, namespace: c}
        spec: {address: 10.1.1.1, labels: {app: web}, serviceAccount: web}
        """,
    "c/we2.yaml": """\
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: web-vm-admin, namespace: c}
        spec: {address: 10.1.1.1, labels: {app: web, role: admin}, serviceAccount: web}
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: web-vm-backup, namespace: c}
        spec: {address: 10.1.1.1, labels: {app: web, role: backup}, serviceAccount: web}
        """,
}


def test_closure_with_grouping_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for rel, text in GROUPS.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    full = {f.code for f in _run(tmp_path, None)}
    wanted = {"IVL112", "IVL408", "IVL410", "IVL411", "IVL412", "IVL413", "IVL415", "IVL730", "IVL740", "IVL746",
              "IVL749"}
    assert wanted <= full, wanted - full
    names = _yaml_files(tmp_path)
    assert _same_with_and_without_closure(tmp_path, monkeypatch, names) > 0


def test_errors_only_validators_give_the_same_errors() -> None:
    """What a validator registered with ``errors_only`` leaves out only warns: the rejection
    verdicts of a named-file run (``Context.errors_only``) see every error."""
    import istio_vm_lint.rules.validation_virtualservice  # noqa: F401  (registers its validator)
    from istio_vm_lint.rules._validation_helpers import issues

    assert issues._ERRORS_ONLY
    dirs = sorted(p for g in ("IVL61*/*", "IVL59*/*") for p in (ROOT / "fixtures" / "rules").glob(g) if p.is_dir())
    dirs += sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    seen = 0
    for d in dirs:
        files, _ = discover([str(d)], ())
        project = lint([], Settings(root=str(d)), files=files).project
        for full, lean in issues._ERRORS_ONLY.items():
            kinds = {"validate": "VirtualService"}
            for res in project.resources:
                if res.kind != kinds.get(full.__name__, res.kind):
                    continue
                everything = full(res).items
                got = lean(res).items
                assert [i for i in got if i.level == "E"] == [i for i in everything if i.level == "E"], (d, res)
                assert set(got) <= set(everything), (d, res)
                seen += 1
    assert seen > 40, seen
