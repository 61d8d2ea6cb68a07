"""Property tests (hypothesis): robustness, soundness on valid repositories, defect detection,
order independence and parseable output.

(a) arbitrary text/bytes and mutations of the valid fixtures never raise from
    ``runner.lint`` and never produce IVL000;
(b) generated valid mesh repositories (ServiceEntry MESH_INTERNAL/STATIC + WorkloadEntries +
    DestinationRule + VirtualService + Namespace/ServiceAccount, all CRD-schema-valid) produce
    no error or warning;
(c) one injected defect produces a finding of the matching rule (see DEFECTS; graph-rule
    defects are skipped until their rule exists);
(d) findings do not depend on file order, document order, hash seed or the run;
(e) every output format stays parseable.

Profiles live in ``conftest.py``: the default "ci" profile runs ~60 examples per property,
``HYPOTHESIS_PROFILE=long`` runs thousands.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from conftest import FIXTURES, ROOT, SHARED
from hypothesis import Phase, assume, given, note, settings
from hypothesis import strategies as st
from istio_vm_lint.config import Settings
from istio_vm_lint.discover import Discovered, discover
from istio_vm_lint.findings import Finding
from istio_vm_lint.runner import lint

# Shrinking a failing whole-repository example costs minutes; with the default "ci" profile
# the failure is reported as generated (and replayed first on the next run from the example
# database).  HYPOTHESIS_PROFILE=long shrinks to a minimal example.
CI_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] if CI_PROFILE else list(Phase)
fast_fail = settings(phases=PHASES)

TEXT_LINE_RE = re.compile(r"^.+:\d+:\d+: IVL\d{3} \[(error|warning|info)\] .+$")
GITHUB_LINE_RE = re.compile(r"^::(error|warning|notice)( [^\n]*)?::.*$")
CRDS = SHARED / "istio-crds" / "crd-all.gen.yaml"


def rule_codes() -> set[str]:
    from istio_vm_lint.engine import all_rules

    return set(all_rules())


def internal_errors(findings: list[Finding]) -> list[str]:
    return [f"{f.location.file}:{f.location.line}: {f.message}" for f in findings if f.code == "IVL000"]


# --- a block-style YAML emitter that keeps Python data and text in step ------------------------


class DupKey(str):
    """A mapping key emitted verbatim that never equals another key: lets a dict hold the
    same key twice, so a duplicate-key defect can be written out."""

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


_SPECIAL = {"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes",
            "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N", "<<", "="}
_PLAIN_OK = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")


def scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    s = str(v)
    if s in _SPECIAL or not _PLAIN_OK.match(s):
        return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar
    return s


def _emit(value: Any, ind: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            key = scalar(str(k)) if not isinstance(k, DupKey) else str(k)
            if isinstance(v, (dict, list)) and v:
                out.append(f"{ind}{key}:")
                _emit(v, ind + "  " if isinstance(v, dict) else ind, out)
            elif isinstance(v, dict):
                out.append(f"{ind}{key}: {{}}")
            elif isinstance(v, list):
                out.append(f"{ind}{key}: []")
            else:
                out.append(f"{ind}{key}: {scalar(v)}")
    elif isinstance(value, list):
        for it in value:
            if isinstance(it, (dict, list)) and it:
                sub: list[str] = []
                _emit(it, ind + "  ", sub)
                sub[0] = f"{ind}- {sub[0][len(ind) + 2:]}"
                out.extend(sub)
            elif isinstance(it, dict):
                out.append(f"{ind}- {{}}")
            elif isinstance(it, list):
                out.append(f"{ind}- []")
            else:
                out.append(f"{ind}- {scalar(it)}")
    else:
        out.append(f"{ind}{scalar(value)}")


def dump(doc: Any) -> str:
    out: list[str] = []
    _emit(doc, "", out)
    return "\n".join(out) + "\n"


def dump_all(docs: list[Any]) -> str:
    return "---\n".join(dump(d) for d in docs)


# --- repositories ----------------------------------------------------------------------------


@dataclass
class Repo:
    """Files of documents (Python data); ``text`` overrides a file's rendering (syntax defects)."""

    files: dict[str, list[dict[str, Any]]]
    text: dict[str, str] = field(default_factory=dict)

    def render(self) -> dict[str, str]:
        out = {name: dump_all(docs) for name, docs in self.files.items()}
        out.update(self.text)
        return out

    def write(self, root: Path) -> None:
        for name, content in self.render().items():
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)

    def docs(self, kind: Optional[str] = None) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, docs in self.files.items():
            for d in docs:
                if kind is None or d.get("kind") == kind:
                    yield name, d

    def first(self, kind: str) -> tuple[str, dict[str, Any]]:
        return next(self.docs(kind))

    def copy(self) -> "Repo":
        return Repo(copy.deepcopy(self.files), dict(self.text))


def lint_repo(repo: Repo, files_order: Optional[Callable[[list[Discovered]], list[Discovered]]] = None,
              **settings: Any) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="ivl-prop-") as tmp:
        root = Path(tmp)
        repo.write(root)
        files, _ = discover([str(root)], cwd=str(root))
        if files_order is not None:
            files = files_order(files)
        cwd = os.getcwd()
        os.chdir(root)  # display paths relative to the repository, as in the CLI
        try:
            return lint([], Settings(**settings), files=files).findings
        finally:
            os.chdir(cwd)


# --- (b) the strategy for valid mesh repositories ------------------------------------------

RESERVED_NS = {"default", "kube-system", "kube-public", "kube-node-lease", "istio-system"}
dns_label = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
# Not Istio's own ports (15000-15100: Envoy admin/inbound/outbound, HBONE, status, Prometheus).
# (not Istio's own ports, nor MySQL's 3306: a server-first protocol's well-known port declared
# HTTP is IVL293)
app_port = st.integers(min_value=1024, max_value=65535).filter(lambda p: not 15000 <= p <= 15100 and p != 3306)
REGIONS = ["us-east1", "us-west1", "europe-west4", "asia-east1"]
PROTOCOLS = ["HTTP", "HTTP2", "GRPC"]


def meta(name: str, ns: Optional[str], labels: Optional[dict[str, str]] = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if ns is not None:
        m["namespace"] = ns
    if labels:
        m["labels"] = labels
    return m


@st.composite
def mesh_repos(draw: st.DrawFn) -> Repo:
    ns = draw(dns_label.filter(lambda s: s not in RESERVED_NS))
    svc = draw(dns_label)
    sa = draw(st.sampled_from([svc, f"{svc}-vm", "workload"]))
    host = f"{svc}.{draw(st.sampled_from(['example.internal', 'svc.corp', 'mesh.test']))}"

    n_ports = draw(st.integers(1, 3))
    numbers = draw(st.lists(app_port, min_size=n_ports, max_size=n_ports, unique=True))
    protocols = [draw(st.sampled_from(PROTOCOLS)) for _ in range(n_ports)]
    ports = []
    for i, (number, proto) in enumerate(zip(numbers, protocols, strict=False)):
        port: dict[str, Any] = {"number": number, "name": f"{proto.lower()}-{i}", "protocol": proto}
        if draw(st.booleans()):
            port["targetPort"] = draw(app_port)
        ports.append(port)
    app = {"app": svc}

    n_we = draw(st.integers(1, 4))
    versions = [draw(st.sampled_from(["v1", "v2", "v3"])) for _ in range(n_we)]
    failover = n_we >= 2 and draw(st.booleans())
    if failover:
        regions = draw(st.lists(st.sampled_from(REGIONS), min_size=2, max_size=2, unique=True))
        we_regions = [regions[i % 2] for i in range(n_we)]
    else:
        with_locality = draw(st.booleans())
        we_regions = [draw(st.sampled_from(REGIONS)) if with_locality else None for _ in range(n_we)]
    addresses = draw(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(1, 254)),
                              min_size=n_we, max_size=n_we, unique=True))
    wes = []
    for i in range(n_we):
        labels = {**app, "version": versions[i]}
        spec: dict[str, Any] = {
            "address": "10.{}.{}.{}".format(*addresses[i]),
            "labels": labels,
            "ports": {p["name"]: draw(app_port) for p in ports},
            "serviceAccount": sa,
        }
        if we_regions[i]:
            spec["locality"] = f"{we_regions[i]}/{we_regions[i]}-b"
        if draw(st.booleans()):
            spec["weight"] = draw(st.integers(1, 100))
        wes.append({"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
                    "metadata": meta(f"{svc}-vm-{i + 1}", ns, labels), "spec": spec})

    se = {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": meta(svc, ns),
          "spec": {"hosts": [host], "location": "MESH_INTERNAL", "resolution": "STATIC",
                   "ports": ports, "workloadSelector": {"labels": dict(app)}}}

    subset_names = sorted(set(versions))
    traffic: dict[str, Any] = {
        "outlierDetection": {"consecutive5xxErrors": draw(st.integers(1, 10)), "interval": "10s",
                             "baseEjectionTime": "30s", "maxEjectionPercent": 100},
    }
    if failover:
        traffic["loadBalancer"] = {"simple": draw(st.sampled_from(["ROUND_ROBIN", "LEAST_REQUEST"])),
                                   "localityLbSetting": {"enabled": True, "failover": [
                                       {"from": regions[0], "to": regions[1]}]}}
    if draw(st.booleans()):
        traffic["tls"] = {"mode": "ISTIO_MUTUAL"}
    if draw(st.booleans()):
        traffic["connectionPool"] = {"tcp": {"maxConnections": draw(st.integers(1, 1000))}}
    dr = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": meta(svc, ns),
          "spec": {"host": host, "trafficPolicy": traffic,
                   "subsets": [{"name": v, "labels": {"version": v}} for v in subset_names]}}

    route_port = draw(st.sampled_from(numbers))
    chosen = draw(st.lists(st.sampled_from(subset_names), min_size=1, max_size=len(subset_names), unique=True))
    route = [{"destination": {"host": host, "port": {"number": route_port}, "subset": s}} for s in chosen]
    if len(route) > 1:
        weights = [100 // len(route)] * len(route)
        weights[0] += 100 - sum(weights)
        for r, w in zip(route, weights, strict=False):
            r["weight"] = w
    vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta(svc, ns),
          "spec": {"hosts": [host], "http": [{"name": "default", "route": route}]}}

    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, None)}
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(sa, ns)}
    docs = [namespace, account, se, *wes, dr, vs]
    if draw(st.booleans()):
        docs.append({"apiVersion": "networking.istio.io/v1", "kind": "WorkloadGroup", "metadata": meta(f"{svc}-vms", ns),
                     "spec": {"metadata": {"labels": {**app, "version": versions[0]}},
                              "template": {"serviceAccount": sa, "ports": dict(wes[0]["spec"]["ports"])}}})

    # Layout: one file, one file per kind, or one file per document; documents shuffled.
    layout = draw(st.sampled_from(["single", "by-kind", "per-doc"]))
    docs = draw(st.permutations(docs))
    files: dict[str, list[dict[str, Any]]] = {}
    for i, d in enumerate(docs):
        if layout == "single":
            name = "mesh.yaml"
        elif layout == "by-kind":
            name = f"{d['kind'].lower()}s.yaml"
        else:
            name = f"{d['kind'].lower()}-{i}.yaml"
        files.setdefault(name, []).append(d)
    return Repo(files)


# --- CRD schema validity of the generator -----------------------------------------------------


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    from istio_vm_lint.loader import load_documents

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in load_documents(CRDS.read_bytes())[0].documents:
        d = doc.data
        if not isinstance(d, dict) or d.get("kind") != "CustomResourceDefinition":
            continue
        spec = d["spec"]
        for v in spec["versions"]:
            out[(f"{spec['group']}/{v['name']}", spec["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
    return out


def unknown_fields(data: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields the structural schema does not declare (the API server would prune them)."""
    out: list[str] = []
    if isinstance(data, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return out
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for k, v in data.items():
            if props is not None and k in props:
                out += unknown_fields(v, props[k], f"{path}.{k}")
            elif isinstance(extra, dict):
                out += unknown_fields(v, extra, f"{path}.{k}")
            elif props is not None and not (path == "" and k in ("apiVersion", "kind", "metadata")):
                out.append(f"{path}.{k}")
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(data):
            out += unknown_fields(v, schema["items"], f"{path}[{i}]")
    return out


@cache
def crd_validator(api_version: str, kind: str) -> Any:
    import jsonschema

    schema = crd_schemas()[(api_version, kind)]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


@cache
def shipped_validator(api_version: str, kind: str) -> Any:
    """The linter's own JSON Schema for the kind (generated from the same CRD bundle; it forbids
    unknown fields itself): the check used on a clone without ``../shared/istio-crds``."""
    import jsonschema
    from istio_vm_lint.schema import load_schema

    group, _, version = api_version.rpartition("/")
    schema = load_schema(group, kind, version)
    assert schema is not None, (api_version, kind)
    return jsonschema.Draft202012Validator(schema)


def assert_crd_valid(repo: Repo) -> None:
    for _, d in repo.docs():
        if "istio.io/" not in d["apiVersion"]:
            continue
        if not CRDS.is_file():
            validator = shipped_validator(d["apiVersion"], d["kind"])
            errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(d)]
            assert not errors, (d["kind"], errors)
            continue
        validator = crd_validator(d["apiVersion"], d["kind"])
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(d)]
        assert not errors, (d["kind"], errors)
        assert not unknown_fields(d, validator.schema), (d["kind"], unknown_fields(d, validator.schema))


# --- (a) robustness -----------------------------------------------------------------------------


def fixture_repos() -> list[Path]:
    """Valid repositories: fixtures/examples/* and fixtures/rules/*/good (others add more)."""
    out = []
    examples = FIXTURES / "examples"
    if examples.is_dir():
        out += sorted(p for p in examples.iterdir() if p.is_dir())
    rules = FIXTURES / "rules"
    if rules.is_dir():
        out += sorted(p / "good" for p in rules.iterdir() if (p / "good").is_dir())
    return out


def yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))


WRONG_VALUES = [None, 0, -1, 65536, 1.5, True, "", "x", "*", "~", "10.0.0.1", "a" * 300, "ünïcødé",
                [], [None], [1, "a"], [[1]], {}, {"a": 1}, {"": None}, {"1": [2]}]


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, prefix + (i,))
    return out


def _get(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def _set(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


def _delete(data: Any, path: tuple) -> Any:
    if not path:
        return None
    parent = _get(data, path[:-1])
    del parent[path[-1]]
    return data


@st.composite
def mutated_fixture(draw: st.DrawFn) -> tuple[Path, Path, bytes]:
    """(repository, file, new content): one file of a valid fixture repository, mutated."""
    repos = [r for r in fixture_repos() if yaml_files(r)]
    assume(repos)
    repo = draw(st.sampled_from(repos))
    target = draw(st.sampled_from(yaml_files(repo)))
    raw = target.read_bytes()
    how = draw(st.sampled_from(["data", "data", "data", "truncate", "lines", "bytes"]))
    if how == "truncate":
        return repo, target, raw[: draw(st.integers(0, len(raw)))]
    if how == "bytes":
        pos = draw(st.integers(0, len(raw)))
        junk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
            [b"\t", b"{{ .Values.x }}", b"&a ", b"*a", b"\x00", b"\xff", b'"', b"'", b"[", b"{", b": ", b"- ", b"\r"]))
        return repo, target, raw[:pos] + junk + raw[pos:]
    if how == "lines":
        lines = raw.split(b"\n")
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        op = draw(st.sampled_from(["drop", "dup", "swap", "indent", "dedent"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap" and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = b"  " + lines[i]
        else:
            lines[i] = lines[i][2:] if lines[i].startswith(b"  ") else lines[i]
        return repo, target, b"\n".join(lines)
    # data-level: parse, change 1-3 things, write back (JSON is YAML).
    from istio_vm_lint.loader import load_documents

    docs = [d.data for d in load_documents(raw)[0].documents]
    assume(docs)
    for _ in range(draw(st.integers(1, 3))):
        di = draw(st.integers(0, len(docs) - 1))
        paths = _paths(docs[di])
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["drop", "wrong-type", "swap", "empty"]))
        if op == "drop":
            docs[di] = _delete(docs[di], path)
        elif op == "wrong-type":
            docs[di] = _set(docs[di], path, copy.deepcopy(draw(st.sampled_from(WRONG_VALUES))))
        elif op == "swap":
            other = draw(st.sampled_from(paths))
            if other[: len(path)] != path and path[: len(other)] != other:
                a, b = _get(docs[di], path), _get(docs[di], other)
                docs[di] = _set(docs[di], path, copy.deepcopy(b))
                docs[di] = _set(docs[di], other, copy.deepcopy(a))
        else:
            v = _get(docs[di], path)
            docs[di] = _set(docs[di], path, type(v)() if isinstance(v, (dict, list)) else None)
    return repo, target, "---\n".join(json.dumps(d) + "\n" for d in docs).encode()


def _lint_with_replacement(repo: Path, target: Path, content: bytes) -> list[Finding]:
    """Lint ``repo`` with ``target``'s content replaced (via the stdin input, same name)."""
    files = [Discovered(str(p.relative_to(repo)), str(p)) for p in yaml_files(repo) if p != target]
    return lint([], files=files, stdin=(str(target.relative_to(repo)), content)).findings


@fast_fail
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    findings = lint([], stdin=("fuzz.yaml", raw)).findings
    assert not internal_errors(findings)


@fast_fail
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}!&*#|>'\"%@`,? \t\n\r") + ["\u00e9", "\ufeff", "\x00"]),
               max_size=300))
def test_arbitrary_yaml_like_text_never_crashes(text: str) -> None:
    findings = lint([], stdin=("fuzz.yaml", text.encode("utf-8", "surrogatepass"))).findings
    assert not internal_errors(findings)


@fast_fail
@given(st.sampled_from(["ServiceEntry", "WorkloadEntry", "WorkloadGroup", "DestinationRule", "VirtualService",
                        "Gateway", "Sidecar", "PeerAuthentication"]),
       st.recursive(st.none() | st.booleans() | st.integers(-2, 70000) | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(
                        st.sampled_from(["hosts", "ports", "number", "name", "labels", "address", "host", "subsets",
                                         "route", "destination", "port", "trafficPolicy", "workloadSelector", "http",
                                         "tls", "tcp", "gateways", "exportTo", "selector", "servers", "egress",
                                         "failover", "from", "to", "localityLbSetting", "loadBalancer",
                                         "outlierDetection", "portLevelSettings", "mtls", "endpoints", "template",
                                         "metadata", "targetPort", "protocol", "location", "resolution", "subset",
                                         "weight", "locality", "serviceAccount", "network", "match", "mode"]),
                        children, max_size=4), max_leaves=25))
def test_arbitrary_specs_of_known_kinds_never_crash(kind: str, spec: Any) -> None:
    group = "security.istio.io/v1" if kind == "PeerAuthentication" else "networking.istio.io/v1"
    doc = {"apiVersion": group, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}, "spec": spec}
    other = {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "y", "namespace": "ns"},
             "spec": spec if isinstance(spec, dict) else {}}
    findings = lint([], stdin=("spec.yaml", (json.dumps(doc) + "\n---\n" + json.dumps(other)).encode())).findings
    assert not internal_errors(findings), json.dumps(doc)


def test_lone_surrogates_from_yaml_escapes_do_not_crash_validation() -> None:
    """Hypothesis found it: JSON's astral escapes read as YAML give lone surrogates, which
    strict UTF-8 encoding (byte lengths of hosts, regexes, headers, bodies) refused."""
    bad = "\\ud961\\udd1d"
    doc = ('{"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "x", '
           '"namespace": "ns"}, "spec": {"hosts": ["' + bad + '"], "exportTo": ["' + bad + '"]}}\n---\n'
           '{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "v", '
           '"namespace": "ns"}, "spec": {"hosts": ["' + bad + '"], "http": [{"match": [{"uri": {"regex": "'
           + bad + '"}}], "headers": {"request": {"set": {"x": "' + bad + '"}}}, '
           '"directResponse": {"status": 200, "body": {"string": "' + bad + '"}}}]}}\n')
    findings = lint([], stdin=("spec.yaml", doc.encode())).findings
    assert not internal_errors(findings)


@fast_fail
@given(mutated_fixture())
def test_mutated_fixtures_never_crash(case: tuple[Path, Path, bytes]) -> None:
    repo, target, content = case
    note(f"{target}:\n{content[:3000]!r}")
    findings = _lint_with_replacement(repo, target, content)
    assert not internal_errors(findings), internal_errors(findings)


# --- (b) valid repositories are clean --------------------------------------------------------------


@fast_fail
@given(mesh_repos())
def test_generated_repositories_are_crd_valid(repo: Repo) -> None:
    assert_crd_valid(repo)


@fast_fail
@given(mesh_repos())
def test_generated_valid_repositories_have_no_findings(repo: Repo) -> None:
    findings = lint_repo(repo)
    bad = [f"{f.location.file}:{f.location.line}: {f.code} [{f.severity}] {f.message}"
           for f in findings if f.severity in ("error", "warning")]
    note("\n".join(f"# {n}\n{t}" for n, t in repo.render().items()))
    assert not bad, "\n".join(bad)


# --- (c) one injected defect is found -------------------------------------------------------------


@dataclass(frozen=True)
class Defect:
    name: str
    codes: tuple[str, ...]  # a finding of any of these codes must appear
    inject: Callable[[Repo, st.DrawFn], str]  # mutates the repo, returns the file it touched ('' = any)


def _syntax_error(repo: Repo, draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(repo.files)))
    text = dump_all(repo.files[name])
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    bad = draw(st.sampled_from(['bad: "unterminated', "\tindented: with-a-tab", "name: {{ .Values.name }}",
                                "[unclosed: flow", "key: value: another"]))
    lines.insert(i, bad)
    repo.text[name] = "\n".join(lines)
    return name


def _duplicate_key(repo: Repo, draw: st.DrawFn) -> str:
    name, doc = draw(st.sampled_from(list(repo.docs())))
    target = draw(st.sampled_from([p for p in _paths(doc) if p and isinstance(p[-1], str)
                                   and isinstance(_get(doc, p[:-1]), dict)]))
    parent = _get(doc, target[:-1])
    parent[DupKey(target[-1])] = copy.deepcopy(parent[target[-1]])
    return name


def _missing_name(repo: Repo, draw: st.DrawFn) -> str:
    name, doc = draw(st.sampled_from(list(repo.docs())))
    how = draw(st.sampled_from(["drop-name", "drop-metadata", "int-name", "empty-name"]))
    if how == "drop-name":
        del doc["metadata"]["name"]
    elif how == "drop-metadata":
        del doc["metadata"]
    elif how == "int-name":
        doc["metadata"]["name"] = 42
    else:
        doc["metadata"]["name"] = ""
    return name


def _bad_api_version(repo: Repo, draw: st.DrawFn) -> str:
    name, doc = draw(st.sampled_from([(n, d) for n, d in repo.docs() if d["apiVersion"].startswith("networking.istio.io")]))
    doc["apiVersion"] = draw(st.sampled_from(["networking.istio.io/v2", "networking.istio.io/v1alpha1",
                                              "networking.istio.io/v1beta2"]))
    return name


# Graph-rule defects ---------------------------------------------------------------------------

def _typo(s: str) -> str:
    return s[:-1] + ("x" if not s.endswith("x") else "y")


def _selector_label_typo(repo: Repo, draw: st.DrawFn) -> str:
    name, se = repo.first("ServiceEntry")
    labels = se["spec"]["workloadSelector"]["labels"]
    labels["app"] = _typo(labels["app"])
    return name


def _we_ports_key_typo(repo: Repo, draw: st.DrawFn) -> str:
    name, we = draw(st.sampled_from(list(repo.docs("WorkloadEntry"))))
    ports = we["spec"]["ports"]
    key = draw(st.sampled_from(sorted(ports)))
    ports[_typo(key)] = ports.pop(key)
    return name


def _vs_port_the_se_lacks(repo: Repo, draw: st.DrawFn) -> str:
    _, se = repo.first("ServiceEntry")
    have = {p["number"] for p in se["spec"]["ports"]}
    name, vs = repo.first("VirtualService")
    missing = draw(st.integers(1024, 14999).filter(lambda n: n not in have))
    for r in vs["spec"]["http"][0]["route"]:
        r["destination"]["port"]["number"] = missing
    return name


def _failover_without_outlier_detection(repo: Repo, draw: st.DrawFn) -> str:
    wes = [d for _, d in repo.docs("WorkloadEntry")]
    regions = draw(st.lists(st.sampled_from(REGIONS), min_size=2, max_size=2, unique=True))
    for i, we in enumerate(wes):
        we["spec"]["locality"] = f"{regions[i % 2]}/{regions[i % 2]}-b"
    name, dr = repo.first("DestinationRule")
    tp = dr["spec"]["trafficPolicy"]
    tp.pop("outlierDetection", None)
    tp["loadBalancer"] = {"localityLbSetting": {"enabled": True, "failover": [{"from": regions[0], "to": regions[1]}]}}
    return name


DEFECTS: list[Defect] = [
    Defect("syntax-error", ("IVL001",), _syntax_error),
    Defect("duplicate-key", ("IVL002",), _duplicate_key),
    Defect("unsupported-api-version", ("IVL003",), _bad_api_version),
    Defect("missing-name", ("IVL004",), _missing_name),
    # ---------------------------------------------------------------------------------------
    # GRAPH-RULE DEFECTS: add one entry per graph rule (codes = every rule that may report
    # it).  An entry is skipped while none of its codes is registered, and becomes strict as
    # soon as one lands.
    # ---------------------------------------------------------------------------------------
    Defect("selector-label-typo", ("IVL101",), _selector_label_typo),
    Defect("workload-entry-ports-key-typo", ("IVL203",), _we_ports_key_typo),
    Defect("virtual-service-port-the-service-entry-lacks", ("IVL201",), _vs_port_the_se_lacks),
    Defect("failover-without-outlier-detection", ("IVL401",), _failover_without_outlier_detection),
]


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_injected_defect_is_found(defect: Defect) -> None:
    present = rule_codes()
    if not any(c in present for c in defect.codes):
        pytest.skip(f"no rule {'/'.join(defect.codes)} registered yet for {defect.name}")

    @given(mesh_repos(), st.data())
    @settings(max_examples=max(10, settings.default.max_examples // 3), phases=PHASES)
    def check(repo: Repo, data: st.DataObject) -> None:
        bad = repo.copy()
        touched = defect.inject(bad, data.draw)
        findings = lint_repo(bad)
        note("\n".join(f"# {n}\n{t}" for n, t in bad.render().items()))
        assert not internal_errors(findings), internal_errors(findings)
        hits = [f for f in findings if f.code in defect.codes]
        assert hits, (f"{defect.name}: no {'/'.join(defect.codes)} finding; got "
                      + "; ".join(f"{f.location.file}:{f.location.line} {f.code}" for f in findings))
        if touched and defect.codes[0] in ("IVL001", "IVL002", "IVL003", "IVL004"):
            assert any(f.location.file == touched for f in hits), (touched, hits)

    check()


# --- (d) order independence -----------------------------------------------------------------------


def normalized(findings: list[Finding], lines: bool = True) -> list[tuple[Any, ...]]:
    out = []
    for f in findings:
        msg = f.message if lines else re.sub(r"\blines? \d+(, \d+)*", "line N", f.message)
        # Related locations keep their order: it is part of the output.
        rel = tuple((r.location.file, r.location.line if lines else 0, str(r.resource)) for r in f.related)
        out.append((f.location.file, f.location.line if lines else 0, f.location.column if lines else 0, f.code,
                    f.severity, str(f.resource), f.field, msg, rel, f.fingerprint))
    return sorted(out, key=repr)


@st.composite
def repos_with_findings(draw: st.DrawFn) -> Repo:
    """A generated repository with 0-3 defects (any that apply) and some duplicated objects,
    so that conflict/duplicate rules, which are the most order-sensitive, have work to do."""
    repo = draw(mesh_repos())
    for d in draw(st.lists(st.sampled_from(DEFECTS[4:]), max_size=3)):
        d.inject(repo, draw)
    for i in range(draw(st.integers(0, 3))):
        # Another DestinationRule / VirtualService / ServiceEntry for the same host, under
        # another name or under the same one (as overlays of a kustomize repo have them).
        kind = draw(st.sampled_from(["DestinationRule", "VirtualService", "ServiceEntry"]))
        _, doc = repo.first(kind)
        twin = copy.deepcopy(doc)
        if draw(st.booleans()):
            twin["metadata"]["name"] = doc["metadata"]["name"] + "-twin"
        repo.files.setdefault(f"overlay-{i}/twins.yaml", []).append(twin)
    return repo


def _fixture_folders_with_findings() -> list[Path]:
    rules = FIXTURES / "rules"
    return sorted(p / "bad" for p in rules.iterdir() if (p / "bad").is_dir()) if rules.is_dir() else []


@fast_fail
@given(repos_with_findings(), st.randoms(use_true_random=False))
def test_file_order_does_not_matter(repo: Repo, rnd: Any) -> None:
    base = lint_repo(repo)

    def shuffled(files: list[Discovered]) -> list[Discovered]:
        files = list(files)
        rnd.shuffle(files)
        return files

    assert normalized(lint_repo(repo, shuffled)) == normalized(base)
    assert normalized(lint_repo(repo)) == normalized(base)  # and the same again


@fast_fail
@given(repos_with_findings(), st.randoms(use_true_random=False))
def test_document_order_does_not_matter(repo: Repo, rnd: Any) -> None:
    base = lint_repo(repo)
    shuffled = repo.copy()
    for docs in shuffled.files.values():
        rnd.shuffle(docs)
    note("\n".join(f"# {n}\n{t}" for n, t in shuffled.render().items()))
    assert normalized(lint_repo(shuffled), lines=False) == normalized(base, lines=False)


@fast_fail
@given(st.sampled_from(_fixture_folders_with_findings() or [FIXTURES]), st.integers(0, 2**32 - 1))
def test_fixture_order_does_not_matter(folder: Path, seed: int) -> None:
    """The rule fixtures (which all have findings) in shuffled file and document order.

    The shuffles use their own seeded Random, not hypothesis' draws: the fixtures are files
    that may change between examples, and draws must not depend on external state."""
    import random

    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="ivl-order-") as tmp:
        root = Path(tmp)
        for p in yaml_files(folder):
            rel = p.relative_to(folder)
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(p.read_bytes())
        cwd = os.getcwd()
        os.chdir(root)
        try:
            files, _ = discover(["."])
            base = lint([], files=files).findings
            files = list(files)
            rnd.shuffle(files)
            assert normalized(lint([], files=files).findings) == normalized(base)
            # Documents shuffled within each file (comments travel with their document).
            for p in yaml_files(root):
                text = p.read_text("utf-8", "replace")
                parts = re.split(r"(?m)^---[ \t]*$\n?", text)
                if len(parts) > 1:
                    rnd.shuffle(parts)
                    p.write_text("\n---\n".join(x.rstrip("\n") for x in parts) + "\n")
            files, _ = discover(["."])
            assert normalized(lint([], files=files).findings, lines=False) == normalized(base, lines=False)
        finally:
            os.chdir(cwd)


def test_same_named_resources_in_several_files_report_stably(tmp_path: Path) -> None:
    """Copies of one ServiceEntry, DestinationRule and VirtualService (same kind, namespace and
    name, as overlay directories of a kustomize repository have them) linted in different file
    orders give identical findings, related locations and their order included.

    BUGS (ties between same-named resources, or no sorting at all, leave the order of the
    ``related`` list and of the names in the message to the input order):
    rules/analyzers_routing.py conflicting_mesh_virtual_services (IVL710, set of id()s sorted
    by (namespace, name) only); rules/analyzers_kiali.py IVL746 duplicate-service-entry-port
    (``others`` in project order) and IVL740 overlapping-destination-rules (which copy is named
    depends on order); rules/traffic_policy.py IVL408 (sorted by (namespace, name) only).
    Sorting by (namespace, name, file, document index) would fix all of them."""
    import random

    docs = [
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: whoami\n  namespace: vm\n"
        "spec:\n  hosts: [whoami.example.internal]\n  http:\n  - route:\n"
        "    - destination: {host: whoami.example.internal}\n",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: whoami\n  namespace: vm\n"
        "spec:\n  host: whoami.example.internal\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n",
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: whoami\n  namespace: vm\n"
        "spec:\n  hosts: [whoami.example.internal]\n  location: MESH_INTERNAL\n  resolution: STATIC\n"
        "  ports: [{number: 80, name: http, protocol: HTTP}]\n  workloadSelector: {labels: {app: whoami}}\n",
    ]
    for d in "abcdef":
        (tmp_path / d).mkdir()
        (tmp_path / d / "mesh.yaml").write_text("---\n".join(docs))
    files, _ = discover([str(tmp_path)], cwd=str(tmp_path))
    outputs: dict[str, list[str]] = {}
    for seed in range(8):
        order = list(files)
        random.Random(seed).shuffle(order)
        for f in lint([], files=order).findings:
            key = f"{f.code} {f.location.file}:{f.location.line}"
            outputs.setdefault(key, [])
            text = json.dumps(f.as_dict())
            if text not in outputs[key]:
                outputs[key].append(text)
    unstable = sorted(k for k, v in outputs.items() if len(v) > 1)
    assert not unstable, f"findings that change with the file order: {unstable}"


NEAR_MISS_DOCS = [
    "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: web, namespace: vm}\nspec:\n"
    "  hosts: [web.example.internal]\n  location: MESH_INTERNAL\n  resolution: STATIC\n"
    "  ports: [{number: 80, name: http, protocol: HTTP}]\n  workloadSelector: {labels: {app: wex}}\n",
    "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: vm-1, namespace: vm}\n"
    "spec: {address: 10.0.0.1, labels: {app: web}}\n",
    "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: vm-2, namespace: vm}\n"
    "spec: {address: 10.0.0.2, labels: {app: web}}\n",
]


@pytest.mark.parametrize("order", [(0, 1, 2), (0, 2, 1), (2, 1, 0)])
def test_near_miss_hints_do_not_depend_on_document_order(tmp_path: Path, order: tuple[int, ...]) -> None:
    """A selector typo with two equally near workloads: the hint must not follow document order.

    BUG (rules/selectors/_common.py, ``nearest`` used by IVL101 and ``near_selector_hint`` used by
    IVL109): ties keep the first candidate in input order, so "nearest: WorkloadEntry vm/vm-1"
    becomes "vm/vm-2" when the two documents are swapped."""
    (tmp_path / "a.yaml").write_text("---\n".join(NEAR_MISS_DOCS))
    (tmp_path / "b.yaml").write_text("---\n".join(NEAR_MISS_DOCS[i] for i in order))
    base = normalized(lint([str(tmp_path / "a.yaml")]).findings, lines=False)
    other = normalized(lint([str(tmp_path / "b.yaml")]).findings, lines=False)
    def key(x: tuple[Any, ...]) -> tuple[Any, ...]:  # code .. message, related resources (the files differ)
        return (*x[3:8], tuple(r[2] for r in x[8]))

    assert [key(x) for x in other] == [key(x) for x in base]


def test_same_output_across_processes_and_hash_seeds() -> None:
    """Two CLI runs with different hash seeds print byte-identical JSON (set/dict ordering
    never leaks into the output)."""
    # The order-sensitive families: selectors (IVL1xx) and conflict/duplicate analyzers (IVL7xx).
    folders = [p for p in _fixture_folders_with_findings() if p.parent.name.startswith(("IVL1", "IVL7"))]
    targets = [str(p) for p in [FIXTURES / "examples", *folders] if p.is_dir()]
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, NO_COLOR="1")
        proc = subprocess.run([sys.executable, "-m", "istio_vm_lint", "--format", "json", "--isolated", *targets],
                              cwd=ROOT, capture_output=True, env=env, timeout=60)
        assert proc.returncode in (0, 1, 2), proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1]


# --- (e) output formats -------------------------------------------------------------------------


def _check_format(fmt: str, text: str) -> None:
    text.encode("utf-8")
    if fmt == "json":
        doc = json.loads(text)
        assert doc["version"] == 1 and isinstance(doc["findings"], list)
    elif fmt == "text":
        for line in text.splitlines():
            assert TEXT_LINE_RE.match(line), line
    elif fmt == "sarif":
        doc = json.loads(text)
        assert doc["version"] == "2.1.0" and isinstance(doc["runs"], list)
    elif fmt == "github":
        for line in text.splitlines():
            assert GITHUB_LINE_RE.match(line), line


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_output_formats_stay_parseable(fmt: str) -> None:
    from istio_vm_lint.engine import all_rules
    from istio_vm_lint.report import ReportContext, renderer

    try:
        render = renderer(fmt)
    except ModuleNotFoundError:
        pytest.skip(f"output format {fmt} not available yet")

    @given(repos_with_findings() | mesh_repos().map(lambda r: _with_syntax_noise(r)))
    @settings(max_examples=max(10, settings.default.max_examples // 3), phases=PHASES)
    def check(repo: Repo) -> None:
        findings = lint_repo(repo)
        ctx = ReportContext(files=len(repo.files), resources=0, rules=all_rules())
        _check_format(fmt, render(findings, ctx))

    check()


def _with_syntax_noise(repo: Repo) -> Repo:
    name = sorted(repo.files)[0]
    repo.text[name] = dump_all(repo.files[name]) + 'tail: "unterminated %s \\u2028 \\\\ :: , \n'
    return repo


@pytest.mark.parametrize("listeners", ["65536", "'x'", "{a: 1}", "[1, null, {hostname: 7}]", "null"])
def test_gateway_api_gateway_with_odd_listeners(tmp_path: Path, listeners: str) -> None:
    """Found by test_mutated_fixtures_never_crash: `listeners: 65536` on a Gateway API
    Gateway crashed the load (it is read for VirtualService gateway references)."""
    (tmp_path / "gw.yaml").write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: ns}\n"
        f"spec:\n  gatewayClassName: istio\n  listeners: {listeners}\n---\n"
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs, namespace: ns}\n"
        "spec:\n  hosts: [a.example.com]\n  gateways: [ns/gw]\n"
        "  http:\n  - route:\n    - destination: {host: a.example.com}\n")
    out = lint([str(tmp_path)], Settings())
    assert not internal_errors(out.findings)
