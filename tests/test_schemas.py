"""Schemas (``schemas/``, ``tools/gen_schemas.py``), the compiled validator (``lint/schema.py``)
and the schema rules IVL010/IVL011 (``rules/schema.py``).

The fixture harness covers the rules end to end; here: the committed files are exactly what the
generator makes from the bundle, every CEL rule of the bundle has a Python implementation, the
fast validator agrees with ``jsonschema`` (on API-server-pruned data), and messages read well.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest
from conftest import FIXTURES, ROOT, SHARED, lint_folder
from istio_vm_lint import schema as S
from istio_vm_lint.model import KINDS, UNVALIDATED_KINDS

BUNDLE = SHARED / "istio-crds" / "crd-all.gen.yaml"
SCHEMAS = ROOT / "schemas"
needs_bundle = pytest.mark.skipif(not BUNDLE.is_file(), reason="../shared/istio-crds not available")


def _load_tool(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@functools.cache
def _bundle() -> list[dict[str, Any]]:
    """The bundle's CRDs, parsed once (~2 s) for the tests that read them."""
    return _load_tool("gen_schemas").load_bundle(str(BUNDLE))


def _schema_kinds() -> Iterator[tuple[str, str, str]]:
    for (group, kind), (_, versions) in sorted(KINDS.items()):
        if kind in UNVALIDATED_KINDS:
            continue  # read for selectors only
        for v in sorted(versions):
            yield group, kind, v


# --- generated files --------------------------------------------------------------------------


@needs_bundle
def test_generator_is_reproducible(tmp_path: Path) -> None:
    """Regenerating from the bundle gives the committed files byte for byte (and no others)."""
    gen = _load_tool("gen_schemas")

    def load_bundle(path: str) -> list[dict[str, Any]]:  # gen.load_bundle, parsed once for the module
        assert path == str(BUNDLE)
        return copy.deepcopy(_bundle())

    gen.load_bundle = load_bundle
    assert gen.main([str(BUNDLE), "--out", str(tmp_path)]) == 0
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in SCHEMAS.iterdir()
                 if p.is_file() and p.name != "__init__.py" and not p.name.endswith(".pyc")}
    assert sorted(made) == sorted(committed), "schemas/ differs from the generator's file list"
    stale = [name for name in made if made[name] != committed[name]]
    assert not stale, f"re-run `python tools/gen_schemas.py`: stale {stale}"


@needs_bundle
def test_every_cel_rule_of_the_bundle_is_implemented() -> None:
    """A newer bundle with a new CEL rule must fail here until rules/schema.py implements it."""
    from istio_vm_lint.rules.schema import CEL_IMPLEMENTATIONS

    gen = _load_tool("gen_schemas")
    found: set[tuple[str, str]] = set()
    for crd in _bundle():
        spec = crd["spec"]
        if (spec["group"], spec["names"]["kind"]) not in gen.ISTIO_KINDS:
            continue

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for r in node.get("x-kubernetes-validations") or []:
                    found.add((spec["names"]["kind"], r["rule"]))  # noqa: B023 (walk runs in this iteration)
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        for ver in spec["versions"]:
            walk(ver["schema"]["openAPIV3Schema"])
    assert found, "no CEL rules found in the bundle: parsing is broken"
    missing = sorted(found - set(CEL_IMPLEMENTATIONS))
    assert not missing, f"CEL rules without a Python implementation in rules/schema.py: {missing}"
    unused = sorted(set(CEL_IMPLEMENTATIONS) - found)
    assert not unused, f"implementations of rules the bundle no longer has: {unused}"


def test_committed_cel_rules_are_implemented() -> None:
    from istio_vm_lint.rules.schema import CEL_IMPLEMENTATIONS

    rules = S.cel_rules()
    assert len(rules) > 100
    for r in rules:
        assert {"group", "kind", "version", "path", "rule", "message"} <= set(r), r
        assert (r["kind"], r["rule"]) in CEL_IMPLEMENTATIONS, r


def test_schemas_load_through_importlib_resources() -> None:
    from importlib import resources

    root = resources.files("istio_vm_lint.schemas")
    names = {p.name for p in root.iterdir()}
    assert {"PROVENANCE.md", "LICENSE-istio", "cel_rules.json"} <= names
    for group, kind, version in _schema_kinds():
        schema = S.load_schema(group, kind, version)
        assert schema is not None, (group, kind, version)
        assert schema["properties"]["kind"]["const"] == kind
        assert S.validator_for(group, kind, version) is not None
    assert S.load_schema("networking.istio.io", "ServiceEntry", "v2") is None
    assert S.validator_for("example.com", "Nothing", "v1") is None
    assert "86c9f01fd735fb01d8192f5bcaf0d424afb7f14c" in (SCHEMAS / "PROVENANCE.md").read_text()


@pytest.mark.parametrize("name", S.available_schemas())
def test_schema_is_valid_json_schema(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")


def test_unknown_fields_are_forbidden_in_istio_kinds_only() -> None:
    se = S.load_schema("networking.istio.io", "ServiceEntry", "v1")
    assert se["additionalProperties"] is False
    assert se["properties"]["spec"]["additionalProperties"] is False
    assert se["properties"]["spec"]["properties"]["ports"]["items"]["additionalProperties"] is False
    assert "additionalProperties" not in se["properties"]["metadata"]
    assert "additionalProperties" not in se["properties"]["status"]  # preserve-unknown-fields
    svc = S.load_schema("", "Service", "v1")
    assert "additionalProperties" not in svc and "additionalProperties" not in svc["properties"]["spec"]


# --- targeted validation cases ----------------------------------------------------------------


def _se(**spec: Any) -> dict[str, Any]:
    base = {"hosts": ["a.example.com"], "ports": [{"number": 80, "name": "http"}]}
    base.update(spec)
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": "a", "namespace": "ns"}, "spec": base}


def _messages(obj: dict[str, Any], group: str = "networking.istio.io") -> list[tuple[tuple, str]]:
    kind, version = obj["kind"], obj["apiVersion"].rpartition("/")[2]
    v = S.validator_for(group, kind, version)
    assert v is not None
    return [(e.path, e.message) for e in v.validate(obj)]


def test_valid_service_entry() -> None:
    assert _messages(_se()) == []


def test_wrong_type_message() -> None:
    obj = _se(ports=[{"number": 80, "name": "http"}, {"number": 81, "name": "b", "targetPort": "8080x"}])
    assert _messages(obj) == [(("spec", "ports", 1, "targetPort"),
                               "spec.ports[1].targetPort: expected an integer 0..4294967295, found string '8080x'")]


def test_unknown_field_with_did_you_mean() -> None:
    [(path, msg)] = _messages(_se(workloadSelecter={"labels": {"app": "a"}}))
    assert path == ("spec", "workloadSelecter")
    assert msg == ("spec.workloadSelecter: unknown field (ServiceEntry v1 has no 'workloadSelecter' in spec; "
                   "did you mean 'workloadSelector'?)")
    [(path, msg)] = _messages(_se(ports=[{"number": 80, "name": "http", "targetport": 8080}]))
    assert path == ("spec", "ports", 0, "targetport") and "did you mean 'targetPort'?" in msg
    [(path, _)] = _messages({**_se(), "specs": {}})
    assert path == ("specs",)


def test_metadata_is_checked_but_open() -> None:
    obj = _se()
    obj["metadata"].update({"labels": {"version": 1}, "resourceVersion": "7", "uid": "x"})
    [(path, msg)] = _messages(obj)
    assert path == ("metadata", "labels", "version")
    assert "found integer 1; quote the value" in msg


def test_int_or_string() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}],
                    "unmodelled": {"anything": [1, 2]}}}
    assert _messages(svc, "") == []
    svc["spec"]["ports"][0]["targetPort"] = 1.5
    [(path, msg)] = _messages(svc, "")
    assert path == ("spec", "ports", 0, "targetPort") and "expected an integer or a string" in msg
    se = _se()
    se["status"] = {"observedGeneration": "3", "conditions": [{"observedGeneration": 4}]}
    assert _messages(se) == []


def test_nulls_are_pruned_like_the_api_server() -> None:
    assert _messages(_se(location=None, exportTo=None)) == []
    [(path, msg)] = _messages(_se(hosts=None))
    assert path == ("spec", "hosts") and msg == "spec.hosts: required field is missing (null counts as absent)"
    [(path, msg)] = _messages(_se(exportTo=[None]))
    assert path == ("spec", "exportTo", 0) and msg.endswith("expected a string, found null")


def test_bounds_enums_and_oneof() -> None:
    msgs = dict(_messages(_se(location="MESH_INTERNALL", hosts=[])))
    assert "did you mean 'MESH_INTERNAL'?" in msgs[("spec", "location")]
    assert msgs[("spec", "hosts")] == "spec.hosts: expected at least 1 item, found none"
    vs = {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "metadata": {"name": "v"},
          "spec": {"hosts": ["a"], "http": [{"match": [{"uri": {"exact": "/", "prefix": "/a"}}],
                                             "route": [{"destination": {"host": "a"}}]}]}}
    [(path, msg)] = _messages(vs)
    assert path == ("spec", "http", 0, "match", 0, "uri")
    assert msg.endswith("only one of exact, prefix, regex can be set, found exact and prefix")


def test_booleans_are_not_integers() -> None:
    [(path, msg)] = _messages(_se(ports=[{"number": True, "name": "http"}]))
    assert path == ("spec", "ports", 0, "number") and "found boolean true" in msg
    assert _messages(_se(ports=[{"number": 80.0, "name": "http"}])) == []  # JSON: 80.0 is an integer


def test_unsupported_keywords_are_refused() -> None:
    with pytest.raises(ValueError):
        S.compile_schema({"type": "object", "patternProperties": {"^a": {}}})


# --- the fast validator agrees with jsonschema --------------------------------------------------


def _corpus() -> list[dict[str, Any]]:
    from istio_vm_lint.loader import load_documents

    docs = []
    for path in sorted((FIXTURES / "examples").rglob("*.yaml")) + sorted((FIXTURES / "rules").rglob("*.yaml")):
        result, _ = load_documents(path.read_bytes())
        for d in result.documents:
            data = d.data
            if isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str):
                group, _, version = data["apiVersion"].rpartition("/")
                if S.load_schema(group, data["kind"], version) is not None:
                    docs.append(data)
    return docs


# Paths mutated per corpus document (10 changes each).  The corpus has hundreds of documents, so
# 4 keeps tens of thousands of candidates in the default run; ISTIO_VM_LINT_SLOW_TESTS=1 uses 12.
MUTATED_PATHS_PER_DOC = 12 if os.environ.get("ISTIO_VM_LINT_SLOW_TESTS") else 4


def _copy_path(doc: Any, path: tuple) -> Any:
    """A copy of ``doc`` in which the containers along ``path`` (the root, ..., the node at
    ``path``) are new and everything else is shared: enough to change that node, as the
    validators only read."""
    out = copy.copy(doc)
    node = out
    for p in path:
        child = node[p]
        if isinstance(child, (dict, list)):
            child = node[p] = copy.copy(child)
        node = child
    return out


def _mutations(doc: Any, rng: random.Random) -> Iterator[Any]:
    """Copies of ``doc`` with one random change somewhere: wrong type, unknown key, removed key,
    null, out-of-range number."""
    paths: list[tuple] = []

    def collect(node: Any, path: tuple) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                collect(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                collect(v, path + (i,))

    collect(doc, ())
    for path in rng.sample(paths, min(len(paths), MUTATED_PATHS_PER_DOC)):
        for change in ("int", "str", "list", "map", "null", "unknown", "drop", "big", "neg", "bool"):
            out = _copy_path(doc, path)
            parent: Any = out
            for p in path[:-1]:
                parent = parent[p]
            if not path:
                continue
            key = path[-1]
            if change == "unknown":
                target = parent[key]
                if isinstance(target, dict):
                    target["zz" + str(rng.randint(0, 9))] = 1
                else:
                    continue
            elif change == "drop":
                if isinstance(parent, dict):
                    del parent[key]
                else:
                    continue
            else:
                parent[key] = {"int": 7, "str": "seven", "list": [1], "map": {"a": "b"}, "null": None,
                               "big": 2**40, "neg": -3, "bool": True}[change]
            yield out


def test_fast_validator_agrees_with_jsonschema() -> None:
    rng = random.Random(7)
    checked = disagreements = 0
    examples = []
    references: dict[tuple[str, str, str], Any] = {}  # one jsonschema validator per schema
    seen: set[tuple[tuple[str, str, str], str]] = set()  # checked once (the corpus repeats documents)
    for doc in _corpus():
        group, _, version = doc["apiVersion"].rpartition("/")
        key = (group, doc["kind"], version)
        schema = S.load_schema(*key)
        fast = S.validator_for(*key)
        if key not in references:
            references[key] = jsonschema.Draft202012Validator(schema)
        reference = references[key]
        for candidate in [doc, *_mutations(doc, rng)]:
            seen_key = (key, json.dumps(candidate, sort_keys=True))
            if seen_key in seen:
                continue
            seen.add(seen_key)
            ours = fast.is_valid(candidate)
            theirs = reference.is_valid(S.prune_nulls(candidate, schema))
            checked += 1
            if ours != theirs:
                disagreements += 1
                examples.append((doc["kind"], ours, theirs, json.dumps(candidate)[:300]))
    assert checked > 2000
    assert not disagreements, f"{disagreements} of {checked} disagree, e.g. {examples[:3]}"


def test_fast_validator_is_faster_than_jsonschema() -> None:
    """A generous bound, in CPU time so a busy machine does not fail it: the compiled validator
    must not be slower than jsonschema on the corpus.  The figure (about 20x on the corpus,
    7 Dec 2026) is in benchmarks/README.md; ``pytest -s`` prints today's."""
    docs = [d for d in _corpus() if d["apiVersion"].startswith("networking.istio.io")] * 4
    pairs = []
    for d in docs:
        group, _, version = d["apiVersion"].rpartition("/")
        schema = S.load_schema(group, d["kind"], version)
        pairs.append((S.validator_for(group, d["kind"], version),
                      jsonschema.Draft202012Validator(schema), d))

    def timed(fn: Any) -> float:
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
        return best

    ours = timed(lambda: [f.is_valid(d) for f, _, d in pairs])
    theirs = timed(lambda: [j.is_valid(d) for _, j, d in pairs])
    print(f"fast validator {ours:.4f}s vs jsonschema {theirs:.4f}s CPU: {theirs / max(ours, 1e-9):.1f}x")
    assert ours < theirs, f"fast validator {ours:.4f}s vs jsonschema {theirs:.4f}s"


# --- CEL implementations ----------------------------------------------------------------------

ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, float("inf"), "", "*", "unix://", "unix:///", "x/y", [], [None],
                         [1, "a", {}], {}, {"": None}, {"*": "*"}, {"address": 5, "ports": 3, "network": None},
                         {"address": "unix://", "ports": {}}, {"addresses": "10.0.0.0/8", "resolution": 5},
                         {"addresses": [None, 3, "1.2.3.0/24"], "resolution": None},
                         {"portLevelMtls": {"x": None}, "selector": "app"},
                         {"portLevelMtls": {}, "selector": {"matchLabels": ["a"]}},
                         [{"number": "80"}, {"number": 80}, {"number": 80.0}, None],
                         {"workloadSelector": {}, "endpoints": []}, {"tlsCertificates": [], "credentialName": ""},
                         {"9" * 5000: {"mode": "STRICT"}, "0" * 5000 + "1": None}, "9" * 5000 + "s"]


def test_cel_implementations_never_raise() -> None:
    from istio_vm_lint.rules.schema import CEL_IMPLEMENTATIONS

    for key, impl in CEL_IMPLEMENTATIONS.items():
        for value in ODD_VALUES:
            hits = list(impl(value))
            for sub, detail in hits:
                assert isinstance(sub, tuple) and (detail is None or isinstance(detail, str)), key


def test_cel_messages_and_pointing() -> None:
    from istio_vm_lint.config import Settings
    from istio_vm_lint.loader import PositionIndex
    from istio_vm_lint.model import ServiceEntry, SourceFile
    from istio_vm_lint.project import Project
    from istio_vm_lint.rule import Context
    from istio_vm_lint.rules.schema import crd_validation_rule

    data = _se(resolution="STATIC", workloadSelector={"labels": {"app": "a"}}, endpoints=[{"address": "10.0.0.1"}],
               ports=[{"number": 80, "name": "a"}, {"number": 80, "name": "b", "targetPort": 70000}])
    src = SourceFile("x.yaml", None, PositionIndex(b""))
    res = ServiceEntry("ServiceEntry", "networking.istio.io/v1", "a", "ns", True, data, src, 0, 1, 1)
    problems = list(crd_validation_rule(Context(Project(resources=[res]), Settings())))
    got = sorted((p.path, p.message) for p in problems)
    assert got == sorted([
        (("spec", "endpoints"), "spec: only one of WorkloadSelector or Endpoints can be set "
                                "(both workloadSelector and endpoints are set)"),
        (("spec", "ports", 1, "number"), "spec.ports: port number cannot be duplicated (80 is also spec.ports[0])"),
        (("spec", "ports", 1, "targetPort"), "spec.ports[1].targetPort: port must be between 1-65535 (found 70000)"),
    ])


# --- valid repositories stay clean ------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(p for p in (FIXTURES / "examples").iterdir() if p.is_dir()),
                         ids=lambda p: p.name)
def test_examples_have_no_schema_findings(folder: Path) -> None:
    found = [f for f in lint_folder(folder, select=("IVL010", "IVL011"))]
    assert not found, [(f.location, f.message) for f in found]


def test_generated_benchmark_repository_has_no_schema_findings(tmp_path: Path) -> None:
    """benchmarks/generate.py writes CRD-valid Istio documents: none may be flagged."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    if spec is None or spec.loader is None or not (ROOT / "benchmarks" / "generate.py").is_file():
        pytest.skip("no benchmark generator")
    gen = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = gen
    spec.loader.exec_module(gen)
    gen.main([str(tmp_path / "repo"), "--resources", "600", "--no-defects"])
    found = lint_folder(tmp_path / "repo", select=("IVL010", "IVL011"))
    assert not found, [(f.location, f.message) for f in found][:5]


def test_findings_are_capped_per_resource() -> None:
    from istio_vm_lint.config import Settings
    from istio_vm_lint.loader import PositionIndex
    from istio_vm_lint.model import ServiceEntry, SourceFile
    from istio_vm_lint.project import Project
    from istio_vm_lint.rule import Context
    from istio_vm_lint.rules.schema import MAX_PER_RESOURCE, schema_violation

    data = _se(**{f"unknown{i}": i for i in range(50)})
    src = SourceFile("x.yaml", None, PositionIndex(b""))
    res = ServiceEntry("ServiceEntry", "networking.istio.io/v1", "a", "ns", True, data, src, 0, 1, 1)
    problems = list(schema_violation(Context(Project(resources=[res]), Settings())))
    assert len(problems) == MAX_PER_RESOURCE
    assert problems[-1].message.endswith("(and 30 more schema violations in this ServiceEntry, not shown)")


def _problems(rule_fn: Any, data: dict[str, Any]) -> list[Any]:
    from istio_vm_lint.config import Settings
    from istio_vm_lint.loader import PositionIndex
    from istio_vm_lint.model import ServiceEntry, SourceFile
    from istio_vm_lint.project import Project
    from istio_vm_lint.rule import Context

    src = SourceFile("x.yaml", None, PositionIndex(b""))
    res = ServiceEntry("ServiceEntry", "networking.istio.io/v1", "a", "ns", True, data, src, 0, 1, 1)
    return list(rule_fn(Context(Project(resources=[res]), Settings())))


def test_cel_is_quiet_where_the_schema_already_rejects_the_value() -> None:
    from istio_vm_lint.rules.schema import crd_validation_rule

    # out of the schema's uint32 range: IVL010 only
    assert _problems(crd_validation_rule, _se(ports=[{"number": 2**40, "name": "a"}])) == []
    # a wrong type below: nothing under it is CEL-checked
    assert _problems(crd_validation_rule, _se(resolution="STATIC", endpoints=[{"address": 5, "ports": "x"}])) == []
    # a list that is too long does not hide what is wrong with its items
    eps = [{"address": "10.0.0.1", "ports": {"http": 0}}] * 4097
    problems = _problems(crd_validation_rule, _se(resolution="STATIC", endpoints=eps))
    assert len(problems) == 20 and problems[0].path == ("spec", "endpoints", 0, "ports", "http")
    assert problems[-1].message.endswith("(and 4077 more CEL rule violations in this ServiceEntry, not shown)")


def test_many_failures_stay_linear() -> None:
    from istio_vm_lint.rules.schema import crd_validation_rule, schema_violation

    eps = [{"address": "unix://x", "ports": {"a_b": 70000}, "labels": 5} for _ in range(30000)]
    data = _se(resolution="STATIC", endpoints=eps)
    start = time.process_time()
    assert len(_problems(schema_violation, data)) == 20
    assert len(_problems(crd_validation_rule, data)) == 20
    # ~0.8 s of CPU; a quadratic walk over 30,000 endpoints would take minutes
    assert time.process_time() - start < 15.0


def test_huge_integers_are_reported_not_crashed_on(tmp_path: Path) -> None:
    """``0x`` literals parse to ints beyond Python's 4300-digit str() limit."""
    huge = "0x" + "f" * 5000
    (tmp_path / "se.yaml").write_text(f"""apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: a
spec:
  hosts: [a.example.com]
  resolution: STATIC
  ports:
  - number: {huge}
    name: http
  - number: {huge}
    name: http2
    targetPort: {huge}
  endpoints:
  - address: 10.0.0.1
    ports:
      http: {huge}
""")
    found = lint_folder(tmp_path, select=("IVL010", "IVL011", "IVL000"))
    assert {f.code for f in found} == {"IVL010"}, [(f.code, f.message) for f in found]
    assert "<integer of 5000 hex digits>" in found[0].message
    data = _se(ports=[{"number": int("f" * 5000, 16), "name": "a"}, {"number": int("f" * 5000, 16), "name": "b"}])
    from istio_vm_lint.rules.schema import CEL_IMPLEMENTATIONS
    for impl in CEL_IMPLEMENTATIONS.values():
        for value in (data["spec"]["ports"], int("f" * 5000, 16)):
            list(impl(value))
