#!/usr/bin/env python3
"""Generate ``schemas/`` (JSON Schemas and CEL rules) from Istio's CRD bundle.

    python tools/gen_schemas.py [../shared/istio-crds/crd-all.gen.yaml] [--out schemas]

Why a script and committed output: the linter must work offline and start fast, so it ships
plain JSON files as package data; keeping the conversion in the repository means a newer Istio
release is pulled in by re-running this script on its ``crd-all.gen.yaml`` (then
``tests/test_schemas.py`` fails loudly if the bundle brought CEL rules without a Python
implementation in ``rules/schema.py``).

What it writes (flat, so the package-data glob ``*.json`` ships them):

* ``<group>.<Kind>.<version>.json`` for the in-scope Istio kinds and every served version,
  converted from the version's ``openAPIV3Schema`` to JSON Schema draft 2020-12:

  - ``nullable: true`` adds ``"null"`` to ``type`` (and to ``enum``);
  - ``x-kubernetes-int-or-string`` becomes ``"type": ["integer", "string"]`` (its ``anyOf``
    is dropped: it only restates the two types);
  - ``format: int32`` / ``int64`` / ``uint32`` / ``uint64`` become ``minimum``/``maximum``
    (the tighter of the format range and any explicit bound), ``double``/``float`` are plain
    ``number``; ``byte`` gets the base64 ``pattern`` the API server checks; ``date-time`` is
    kept as an annotation;
  - every object that lists ``properties`` and does not set
    ``x-kubernetes-preserve-unknown-fields`` gets ``additionalProperties: false``: unknown
    fields are errors, as with ``kubectl apply`` (server-side field validation is ``Strict``);
  - ``x-kubernetes-validations`` are removed from the schema and written to
    ``cel_rules.json`` instead; ``x-kubernetes-list-type``/``-list-map-keys`` are kept as
    annotations;
  - the whole object is described: ``apiVersion`` and ``kind`` (constants), ``metadata``
    (``name``/``namespace`` strings, ``labels``/``annotations`` string maps, other metadata
    fields allowed), ``spec`` and ``status``.

  One thing JSON Schema cannot say: the API server *prunes* ``null`` values of non-nullable
  object fields and map values before validating (they read as absent).  ``lint/schema.py``
  applies that rule (see ``prune_nulls`` there); a plain JSON Schema validator should be given
  pruned data.
* ``core.<Kind>.v1.json`` / ``apps.…`` / ``batch.…``: small hand-written schemas (below, in
  :data:`K8S_SCHEMAS`) of the Kubernetes kinds the linter reads, covering only the fields it
  reads; unknown fields are allowed there because only a subset is modelled.
* ``cel_rules.json``: every ``x-kubernetes-validations`` rule (kind, version, path, rule,
  message), sorted.
* ``PROVENANCE.md`` and ``LICENSE-istio`` (the bundle's Apache-2.0 licence).

Output is deterministic (sorted keys, fixed indentation, no timestamps): the test-suite
regenerates into a temporary directory and compares byte for byte.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
from typing import Any, Iterable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_BUNDLE = os.path.join(ROOT, "..", "shared", "istio-crds", "crd-all.gen.yaml")
DEFAULT_OUT = os.path.join(ROOT, "schemas")
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# (group, kind) -> versions to emit (every served version of the bundle that is listed here).
ISTIO_KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("networking.istio.io", kind): ("v1", "v1beta1", "v1alpha3")
    for kind in ("ServiceEntry", "WorkloadEntry", "WorkloadGroup", "DestinationRule",
                 "VirtualService", "Gateway", "Sidecar")
}
ISTIO_KINDS[("security.istio.io", "PeerAuthentication")] = ("v1", "v1beta1")
ISTIO_KINDS[("security.istio.io", "AuthorizationPolicy")] = ("v1", "v1beta1")
ISTIO_KINDS[("security.istio.io", "RequestAuthentication")] = ("v1", "v1beta1")
ISTIO_KINDS[("telemetry.istio.io", "Telemetry")] = ("v1", "v1alpha1")
ISTIO_KINDS[("networking.istio.io", "EnvoyFilter")] = ("v1alpha3",)
ISTIO_KINDS[("networking.istio.io", "ProxyConfig")] = ("v1beta1",)
ISTIO_KINDS[("extensions.istio.io", "WasmPlugin")] = ("v1alpha1",)

FORMAT_BOUNDS = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
# What the API server's "byte" format accepts: standard base64 with padding.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# Kept verbatim (validation keywords and harmless annotations); everything else is dropped.
PASS_THROUGH = ("description", "enum", "maxItems", "minItems", "maxLength", "minLength",
                "maxProperties", "minProperties", "pattern", "required",
                "x-kubernetes-list-type", "x-kubernetes-list-map-keys")


def schema_file_name(group: str, kind: str, version: str) -> str:
    """``networking.istio.io.ServiceEntry.v1.json``; the core group is spelled ``core``."""
    return f"{group or 'core'}.{kind}.{version}.json"


# --- OpenAPI v3 (structural schema) -> JSON Schema ----------------------------------------


def convert(node: Any, path: tuple[str, ...], cel: list[dict[str, Any]]) -> Any:
    """Convert one structural-schema node; CEL rules found on the way are appended to ``cel``.

    ``path`` is the node's place in the object: property names, ``[*]`` for list items and
    ``{*}`` for map values, which is what ``rules/schema.py`` walks to find ``self``.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key in PASS_THROUGH:
        if key in node:
            out[key] = copy.deepcopy(node[key])
    for rule in node.get("x-kubernetes-validations") or []:
        entry = {k: v for k, v in rule.items()}
        entry["path"] = list(path)
        cel.append(entry)

    int_or_string = bool(node.get("x-kubernetes-int-or-string"))
    typ: Any = node.get("type")
    if int_or_string:
        typ = ["integer", "string"]
    fmt = node.get("format")
    if fmt in FORMAT_BOUNDS and typ in ("integer", "number"):
        lo, hi = FORMAT_BOUNDS[fmt]
        out["minimum"] = max(lo, node["minimum"]) if "minimum" in node else lo
        out["maximum"] = min(hi, node["maximum"]) if "maximum" in node else hi
    else:
        for key in ("minimum", "maximum"):
            if key in node:
                out[key] = node[key]
        if fmt == "byte":
            out["format"] = "byte"
            out["pattern"] = BASE64_PATTERN
        elif fmt and fmt not in ("double", "float"):
            out["format"] = fmt  # annotation only (date-time: status fields)
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if node.get(key) is True:  # OpenAPI v3 booleans -> JSON Schema numbers
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[key] = out.pop(bound)

    if node.get("nullable"):
        if typ is not None:
            typ = (list(typ) if isinstance(typ, list) else [typ]) + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    if typ is not None:
        out["type"] = typ

    if "properties" in node:
        out["properties"] = {k: convert(v, path + (k,), cel) for k, v in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = convert(node["additionalProperties"], path + ("{*}",), cel)
    elif node.get("additionalProperties") is False:
        out["additionalProperties"] = False
    if "items" in node:
        out["items"] = convert(node["items"], path + ("[*]",), cel)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in node and not (key == "anyOf" and int_or_string):
            out[key] = [convert(b, path, cel) for b in node[key]]
    if "not" in node:
        out["not"] = convert(node["not"], path, cel)
    unknown = set(node) - set(PASS_THROUGH) - KNOWN_OPENAPI_KEYS
    if unknown:  # a newer bundle uses something this converter does not understand
        raise SystemExit(f"gen_schemas: unsupported schema keyword(s) {sorted(unknown)} at {'.'.join(path) or '<root>'}")
    return out


KNOWN_OPENAPI_KEYS = frozenset({
    "type", "format", "nullable", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "properties", "additionalProperties", "items", "oneOf", "anyOf", "allOf", "not",
    "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations",
})

STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "description": "ObjectMeta: only the fields the linter reads are typed; others are allowed.",
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "generateName": {"type": "string"},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}


def wrap(group: str, kind: str, version: str, body: dict[str, Any], strict: bool) -> dict[str, Any]:
    """The schema of the whole object: apiVersion/kind constants, metadata, and ``body``'s
    properties (spec, status).  ``strict`` forbids unknown top-level fields."""
    api_version = f"{group}/{version}" if group else version
    props = {
        "apiVersion": {"type": "string", "const": api_version},
        "kind": {"type": "string", "const": kind},
        "metadata": copy.deepcopy(METADATA),
    }
    props.update(body.get("properties", {}))
    out: dict[str, Any] = {
        "$schema": DRAFT,
        "title": f"{kind} ({api_version})",
        "type": "object",
        "properties": props,
        "required": ["apiVersion", "kind", "metadata"] + [r for r in body.get("required", [])
                                                          if r not in ("apiVersion", "kind", "metadata")],
    }
    if strict:
        out["additionalProperties"] = False
    return out


# --- hand-written Kubernetes schemas (only what the linter reads) -------------------------

PORT_NUMBER = {"type": "integer", "minimum": 1, "maximum": 65535}
INT_OR_STRING = {"type": ["integer", "string"]}
PROTOCOL = {"type": "string", "enum": ["TCP", "UDP", "SCTP"]}
CONTAINER_PORT = {
    "type": "object",
    "required": ["containerPort"],
    "properties": {"containerPort": PORT_NUMBER, "name": {"type": "string", "maxLength": 15},
                   "protocol": PROTOCOL, "hostPort": {"type": "integer", "minimum": 0, "maximum": 65535}},
}
CONTAINER = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "image": {"type": "string"},
                   "ports": {"type": "array", "items": CONTAINER_PORT}},
}
POD_SPEC = {
    "type": "object",
    "properties": {
        "containers": {"type": "array", "items": CONTAINER},
        "initContainers": {"type": "array", "items": CONTAINER},
        "serviceAccountName": {"type": "string"},
        "serviceAccount": {"type": "string"},
    },
}
POD_TEMPLATE = {"type": "object", "properties": {"metadata": METADATA, "spec": POD_SPEC}}
LABEL_SELECTOR = {
    "type": "object",
    "properties": {
        "matchLabels": STRING_MAP,
        "matchExpressions": {"type": "array", "items": {
            "type": "object", "required": ["key", "operator"],
            "properties": {"key": {"type": "string"}, "operator": {"type": "string"},
                           "values": {"type": "array", "items": {"type": "string"}}}}},
    },
}
CONTROLLER_SPEC = {"type": "object", "properties": {"selector": LABEL_SELECTOR, "template": POD_TEMPLATE}}
SERVICE_SPEC = {
    "type": "object",
    "properties": {
        "selector": STRING_MAP,
        "type": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]},
        "clusterIP": {"type": "string"},
        "ports": {"type": "array", "items": {
            "type": "object", "required": ["port"],
            "properties": {"port": PORT_NUMBER, "targetPort": INT_OR_STRING, "name": {"type": "string"},
                           "protocol": PROTOCOL, "appProtocol": {"type": "string"},
                           "nodePort": {"type": "integer", "minimum": 0, "maximum": 65535}}}},
    },
}

# (group, kind, version) -> properties besides apiVersion/kind/metadata.
K8S_SCHEMAS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("", "Service", "v1"): {"spec": SERVICE_SPEC},
    ("", "Pod", "v1"): {"spec": POD_SPEC},
    ("", "ServiceAccount", "v1"): {},
    ("", "Namespace", "v1"): {},
    ("apps", "Deployment", "v1"): {"spec": CONTROLLER_SPEC},
    ("apps", "StatefulSet", "v1"): {"spec": CONTROLLER_SPEC},
    ("apps", "DaemonSet", "v1"): {"spec": CONTROLLER_SPEC},
    ("apps", "ReplicaSet", "v1"): {"spec": CONTROLLER_SPEC},
    ("batch", "Job", "v1"): {"spec": CONTROLLER_SPEC},
    ("batch", "CronJob", "v1"): {"spec": {"type": "object", "properties": {"jobTemplate": {
        "type": "object", "properties": {"metadata": METADATA, "spec": CONTROLLER_SPEC}}}}},
}


# --- reading the bundle -------------------------------------------------------------------


def load_bundle(path: str) -> list[dict[str, Any]]:
    """The CRD documents of the bundle (ruamel.yaml, a runtime dependency already)."""
    from ruamel.yaml import YAML

    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        docs = list(YAML(typ="safe").load_all(text))
    except Exception:  # the C composer rejects anchors/tags; the pure one does not
        docs = list(YAML(typ="safe", pure=True).load_all(text))
    return [d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]


def istio_commit(bundle: str) -> str:
    readme = os.path.join(os.path.dirname(bundle), "README.md")
    try:
        with open(readme, encoding="utf-8") as fh:
            m = re.search(r"Commit:\s*`([0-9a-f]{7,40})`(?:\s*\(([^)]*)\))?", fh.read())
    except OSError:
        return "unknown"
    if not m:
        return "unknown"
    return m.group(1) + (f" ({m.group(2)})" if m.group(2) else "")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(bundle: str) -> dict[str, str]:
    """File name -> content, for everything under ``schemas/`` except ``__init__.py``."""
    files: dict[str, str] = {}
    cel: list[dict[str, Any]] = []
    found: set[tuple[str, str, str]] = set()
    for crd in load_bundle(bundle):
        spec = crd["spec"]
        group, kind = spec["group"], spec["names"]["kind"]
        wanted = ISTIO_KINDS.get((group, kind))
        if not wanted:
            continue
        for ver in spec["versions"]:
            version = ver["name"]
            if version not in wanted or not ver.get("served", True):
                continue
            rules: list[dict[str, Any]] = []
            body = convert(ver["schema"]["openAPIV3Schema"], (), rules)
            for r in rules:
                cel.append({"group": group, "kind": kind, "version": version, **r})
            files[schema_file_name(group, kind, version)] = dumps(wrap(group, kind, version, body, True))
            found.add((group, kind, version))
    missing = [f"{g}/{v} {k}" for (g, k), vs in ISTIO_KINDS.items() for v in vs if (g, k, v) not in found]
    if missing:
        raise SystemExit(f"gen_schemas: not in {bundle}: {', '.join(sorted(missing))}")
    for (group, kind, version), props in K8S_SCHEMAS.items():
        body = {"properties": copy.deepcopy(props)}
        files[schema_file_name(group, kind, version)] = dumps(wrap(group, kind, version, body, False))
    cel.sort(key=lambda r: (r["group"], r["kind"], r["version"], r["path"], r["rule"], r.get("message", "")))
    files["cel_rules.json"] = dumps(cel)
    files["PROVENANCE.md"] = provenance(bundle, sorted(found), len(cel))
    with open(os.path.join(os.path.dirname(bundle), "LICENSE"), encoding="utf-8") as fh:
        files["LICENSE-istio"] = fh.read()
    return files


def provenance(bundle: str, found: Iterable[tuple[str, str, str]], n_cel: int) -> str:
    kinds: dict[str, list[str]] = {}
    for g, k, v in found:
        kinds.setdefault(f"{k} ({g})", []).append(v)
    lines = "\n".join(f"- {k}: {', '.join(sorted(vs))}" for k, vs in sorted(kinds.items()))
    k8s = ", ".join(f"{k} ({g + '/' if g else ''}{v})" for (g, k, v) in K8S_SCHEMAS)
    return f"""# Provenance of the schemas in this directory

Generated by `tools/gen_schemas.py`; do not edit by hand. To update, run from the repository
root:

    python tools/gen_schemas.py ../shared/istio-crds/crd-all.gen.yaml

## Istio kinds (generated)

- Source: Istio's CRD bundle `crd-all.gen.yaml`
  (upstream `manifests/charts/base/files/crd-all.gen.yaml` of https://github.com/istio/istio),
  commit {istio_commit(bundle)}.
- Each file is the `openAPIV3Schema` of one served version converted to JSON Schema
  (draft 2020-12): `nullable`, `x-kubernetes-int-or-string`, integer formats and `byte` are
  expressed with standard keywords; unknown fields are forbidden (`additionalProperties:
  false`) wherever `properties` are listed and `x-kubernetes-preserve-unknown-fields` is not
  set; `apiVersion`, `kind` and `metadata` are added so the whole object is validated.
- The API server drops `null` values of non-nullable object fields and map values before
  validating; validate pruned data (see `prune_nulls` in `lint/schema.py`).
- The {n_cel} CEL rules (`x-kubernetes-validations`) are in `cel_rules.json` (kind, version,
  path in the object with `[*]` for list items and `{{*}}` for map values, rule, message); the
  linter implements each one in Python (`rules/schema.py`, IVL011).

{lines}

## Kubernetes kinds (hand-written)

{k8s}: written in `tools/gen_schemas.py` (`K8S_SCHEMAS`), covering only the fields the linter
reads (ports, selectors, pod templates, labels, containers' ports). Unknown fields are allowed.

## Licence

The Istio CRD schemas are Copyright Istio Authors, licensed under the Apache License 2.0; a
copy is in `LICENSE-istio`. The derived files keep that licence and this attribution.
"""


def write(files: dict[str, str], out: str) -> None:
    """Write ``files`` into ``out``, removing stale generated files (never ``__init__.py``)."""
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".json") and name not in files:
            os.remove(os.path.join(out, name))
    for name, text in sorted(files.items()):
        with open(os.path.join(out, name), "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", nargs="?", default=DEFAULT_BUNDLE, help="crd-all.gen.yaml [%(default)s]")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory [%(default)s]")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.bundle):
        print(f"gen_schemas: {args.bundle}: no such file", file=sys.stderr)
        return 2
    files = generate(args.bundle)
    write(files, args.out)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
