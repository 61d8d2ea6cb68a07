"""Parity with `istioctl analyze` and Kiali, measured on their own test data.

Runs istio-vm-lint over every case of ``../shared/conformance/istio/expected.json`` and every
fixture of ``../shared/conformance/kiali/expected.json`` (inputs plus the context each case
declares), and compares:

* **matched**: an expected (code, resource) is matched by one of our findings whose rule
  declares that code among its ``equivalents``, on the same kind/namespace/name (a missing
  namespace in the expectation means ``default``, the namespace we assume);
* **extra**: a finding at warning or above, from a rule equivalent to one of the codes the
  case's analyzer/checker can produce, on a resource the case does not expect it on.

A case passes when nothing is missed and nothing extra is reported.  Cases where we differ on
purpose, or that cannot be reproduced offline, are listed in :data:`DIFFERENCES` with the
reason and excluded from the in-scope count.  ``python tools/parity.py`` rewrites
``docs/parity.md``; ``tests/test_conformance.py`` checks the thresholds and that the file is
current.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "conformance"
DOC = ROOT / "docs" / "parity.md"

# Codes each istioctl analyzer can emit (shared/conformance/istio/README.md, "Cases per analyzer").
ANALYZER_CODES: dict[str, set[str]] = {
    "destinationrule.CaCertificateAnalyzer": {"IST0128", "IST0129"},
    "gateway.IngressGatewayPortAnalyzer": {"IST0101", "IST0162"},
    "virtualservice.GatewayAnalyzer": {"IST0101", "IST0132", "IST0165"},
    "gateway.ConflictingGatewayAnalyzer": {"IST0145"},
    "service.PortNameAnalyzer": {"IST0118", "IST0150"},
    "serviceentry.Analyzer": {"IST0134"},
    "destinationrule.SubsetSelectPodAnalyzer": {"IST0173", "IST0174"},
    "deployment.MultiServiceAnalyzer": {"IST0116", "IST0137"},
    "serviceentry.ConflictingServiceEntryProtocolAnalyzer": {"IST0177"},
    "sidecar.SelectorAnalyzer": {"IST0101", "IST0110", "IST0111", "IST0167"},
    "virtualservice.ConflictingMeshGatewayHostsAnalyzer": {"IST0109"},
    "virtualservice.DestinationHostAnalyzer": {"IST0101", "IST0112", "IST0140"},
    "deprecation.DeprecationAnalyzer": {"IST0002"},
    "virtualservice.DestinationRuleAnalyzer": {"IST0101"},
    "schema.ValidationAnalyzer.VirtualService": {"IST0130", "IST0131"},
    "gateway.CertificateAnalyzer": {"IST0138"},
}

# Cases we deliberately do not match, or cannot match offline: key "istio:<name>" or
# "kiali:<file>"; the value is the reason shown in docs/parity.md.
DIFFERENCES: dict[str, str] = {
    "kiali:virtualservices/subset-presence-matching-subsets-diff-ns-fqdn.yaml":
        "the DestinationRule lives in namespace diff-ns, which is on the lookup path neither of the "
        "VirtualService's clients (bookinfo) nor of the service (bookinfo) nor the root namespace; Istio applies "
        "it only to clients in diff-ns (docs/semantics.md §destinationrule-lookup), so the subsets are missing for bookinfo "
        "clients and IVL108 reports them where Kiali counts any DestinationRule in the cluster.",
    "kiali:virtualservices/subset-presence-matching-subsets-diff-ns-half-fqdn.yaml":
        "the DestinationRule host 'reviews.bookinfo' contains a dot, so Istio takes it verbatim: there is no "
        "partial expansion to reviews.bookinfo.svc.cluster.local (docs/semantics.md §host-resolution, #19520, #54147), and "
        "the rule is in diff-ns, off the clients' lookup path besides; Kiali reads the two-part name as "
        "service.namespace. IVL108 reports the missing subsets (and IVL502 the unmatched host).",
    **{f"istio:{name}": "the test data declares a resource the API server or Istio's webhook rejects (a "
       "Service port with protocol HTTP, which Kubernetes does not accept; a Gateway with two servers "
       "sharing a port name); such a resource never exists, so we report its rejection and resolve nothing "
       "to it (docs/semantics.md §deployment-units), where istioctl analyze, working on files, still uses it."
       for name in ("virtualServiceDestinationHosts", "serviceMultipleDeployments",
                    "host defined in virtualservice not found in the gateway",
                    "host defined in virtualservice not found in the gateway(beta version)",
                    "Route Rule no effect on Ingress")},
}

# Single expectations we deliberately do not reproduce, keyed
# "<source>:<case>|<code> <Kind> <namespace>/<name>"; the rest of the case must still match.
EXCLUDED: dict[str, str] = {
    "istio:virtualServiceGateways|IST0132 VirtualService default/httpbin-bogus":
        "istioctl reports a second finding (host not in gateway) for a VirtualService whose gateway does not "
        "exist; we report the missing gateway once (IVL503) and skip the host check against a gateway that "
        "is not there.",
    "istio:virtualServiceDestinationHosts|IST0112 VirtualService default/reviews-2port-missing":
        "a mesh route without a destination port uses the port the client connected to, which is always a "
        "port of the service, so Istio routes it correctly (docs/semantics.md §destination-port); IVL202 reports a missing "
        "port only where a listener port (a Gateway server port, say) is not a port of the destination.",
    "istio:DestinationRuleSubsetsNotSelectPods|IST0173 DestinationRule default/subsets-not-select-pods":
        "the repository declares no workload at all for the Service (istioctl counts Pods only, and there are "
        "none); the pods may come from a controller or chart outside the repository, so IVL107 stays silent "
        "rather than flag every subset of such a Service. With any workload of the Service in the repository, "
        "IVL107 reports the subset.",
    "istio:DestinationRuleEmptyTopologyLabels|IST0173 DestinationRule default/empty-topology-labels":
        "topology labels (topology.kubernetes.io/region, ...) are added to endpoints at runtime from the Node "
        "they run on; a repository does not know which nodes its pods land on, so subsets on topology labels "
        "are not judged (docs/semantics.md §label-selection).",
}


@dataclass
class CaseResult:
    source: str  # "istio" or "kiali"
    name: str
    expected: int
    matched: int
    missed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    difference: Optional[str] = None
    excluded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missed and not self.extra


def _lint(files: list[Path], extra_yaml: str = "", mesh_config: Optional[Path] = None) -> list[Any]:
    from istio_vm_lint.config import Settings
    from istio_vm_lint.discover import Discovered
    from istio_vm_lint.runner import lint

    discovered = [Discovered(str(p), str(p)) for p in files]
    tmp = None
    if extra_yaml:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
            tmp.write(extra_yaml)
        discovered.append(Discovered("<context>", tmp.name))
    try:
        # istioctl analyze puts a namespace-less resource in the namespace it runs in (default):
        # stated, not assumed, so findings that depend on it keep their severity.
        return lint([], Settings(mesh_config=str(mesh_config) if mesh_config else None,
                                 namespaces={"*": "default"}), files=discovered).findings
    finally:
        if tmp is not None:
            os.unlink(tmp.name)


Equivalents = dict[str, set[tuple[str, Optional[str]]]]


def _equivalent_index() -> Equivalents:
    """Our code -> the peer codes it is equivalent to, optionally qualified by the istioctl
    analyzer (``IST0101:virtualservice.GatewayAnalyzer``): IST0101 is shared by several
    analyzers that mean different things."""
    from istio_vm_lint.engine import all_rules

    out: Equivalents = {}
    for code, r in all_rules().items():
        out[code] = {(e.split(":")[0], e.split(":", 1)[1] if ":" in e else None) for e in r.equivalents}
    return out


def _peers(equiv: Equivalents, code: str, analyzer: Optional[str]) -> set[str]:
    return {peer for peer, an in equiv.get(code, ()) if an is None or an == analyzer}


def _compare(source: str, name: str, expected: list[tuple[str, str, str, str]], findings: list[Any],
             in_scope_codes: set[str], equiv: Equivalents, analyzer: Optional[str] = None) -> CaseResult:
    ours: Counter[tuple[str, str, str, str]] = Counter()
    for f in findings:
        if f.resource is None:
            continue
        for peer in _peers(equiv, f.code, analyzer):
            ours[(peer, f.resource.kind, f.resource.namespace, f.resource.name)] += 1
    exp_keys = Counter(expected)
    missed = []
    excluded = []
    matched = 0
    for key, n in exp_keys.items():
        label = f"{key[0]} {key[1]} {key[2]}/{key[3]}"
        if f"{source}:{name}|{label}" in EXCLUDED:
            excluded.extend([label] * n)
            continue
        have = ours.get(key, 0)
        # Several expectations on one resource (one per route, say) are matched by one finding each
        # when we have them, and otherwise by at least one finding on that resource.
        if have >= 1:
            matched += n
        else:
            missed.extend([f"{key[0]} {key[1]} {key[2]}/{key[3]}"] * n)
    expected_set = set(exp_keys)
    extra = []
    for f in findings:
        if f.resource is None or f.severity == "info":
            continue
        for peer in _peers(equiv, f.code, analyzer) & in_scope_codes:
            key = (peer, f.resource.kind, f.resource.namespace, f.resource.name)
            if key not in expected_set:
                extra.append(f"{f.code}≈{peer} {f.resource.kind} {f.resource.namespace}/{f.resource.name}: {f.message}")
    return CaseResult(source, name, len(expected) - len(excluded), matched, missed, sorted(set(extra)),
                      excluded=excluded)


def run_istio(equiv: Equivalents) -> list[CaseResult]:
    base = SHARED / "istio"
    data = json.loads((base / "expected.json").read_text())
    out = []
    for case in data["cases"]:
        files = [base / p for p in case["inputFiles"]] + [base / p for p in case.get("implicitInputs", [])]
        mesh = base / case["meshConfigFile"] if case.get("meshConfigFile") else None
        findings = _lint(files, mesh_config=mesh)
        expected = [(e["code"], e["kind"], e["namespace"] or "default", e["name"]) for e in case["expected"]]
        codes = ANALYZER_CODES.get(case["analyzer"], {e["code"] for e in case["expected"]})
        res = _compare("istio", case["name"], expected, findings, codes, equiv, case["analyzer"])
        res.difference = DIFFERENCES.get(f"istio:{case['name']}")
        out.append(res)
    return out


def _kiali_context(ctx: dict[str, Any]) -> str:
    """Synthesize the objects a Kiali test injects (Services, workloads, namespaces, gateways)."""
    docs = []
    for ns in ctx.get("known_namespaces", []) or []:
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for svc in ctx.get("kubernetes_services", []) or []:
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": svc["name"], "namespace": svc["namespace"]},
                     "spec": {"selector": svc.get("selector", {}),
                              "ports": [{"name": "http", "port": 9080, "targetPort": 9080}]}})
    for i, wl in enumerate(ctx.get("workloads", []) or []):
        docs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": f"{wl['name']}-{i}", "namespace": wl["namespace"],
                                  "labels": wl.get("labels", {})},
                     "spec": {"containers": [{"name": "app", "image": "app",
                                              "ports": [{"containerPort": 9080, "name": "http"}]}]}})
    for gw in ctx.get("gateways", []) or []:
        docs.append({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
                     "metadata": {"name": gw["name"], "namespace": gw["namespace"]},
                     "spec": {"selector": {"istio": "ingressgateway"},
                              "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"},
                                           "hosts": ["*"]}]}})
    return "\n---\n".join(json.dumps(d) for d in docs)


def run_kiali(equiv: Equivalents) -> list[CaseResult]:
    base = SHARED / "kiali"
    data = json.loads((base / "expected.json").read_text())
    out = []
    for fx in data["fixtures"]:
        findings = _lint([base / fx["file"]], _kiali_context(fx.get("context") or {}))
        expected = [(e["code"], e["kind"], e["namespace"] or "default", e["name"]) for e in fx["expected"]]
        res = _compare("kiali", fx["file"], expected, findings, set(fx["codes_in_scope"]), equiv)
        res.difference = DIFFERENCES.get(f"kiali:{fx['file']}")
        out.append(res)
    return out


def run_all() -> list[CaseResult]:
    equiv = _equivalent_index()
    return run_istio(equiv) + run_kiali(equiv)


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    istio = [r for r in results if r.source == "istio"]
    kiali = [r for r in results if r.source == "kiali"]
    istio_in = [r for r in istio if r.difference is None]
    kiali_in = [r for r in kiali if r.difference is None]
    kiali_exp = sum(r.expected for r in kiali_in)
    kiali_matched = sum(r.matched for r in kiali_in)
    kiali_clean = [r for r in kiali_in if r.expected == 0]
    return {
        "istio_cases": len(istio), "istio_in_scope": len(istio_in),
        "istio_passed": sum(r.ok for r in istio_in),
        "kiali_fixtures": len(kiali), "kiali_in_scope": len(kiali_in),
        "kiali_expected": kiali_exp, "kiali_matched": kiali_matched,
        "kiali_clean_cases": len(kiali_clean), "kiali_clean_ok": sum(not r.extra for r in kiali_clean),
        "kiali_passed": sum(r.ok for r in kiali_in),
    }


def render(results: list[CaseResult]) -> str:
    s = summarize(results)
    pct = lambda a, b: f"{(100.0 * a / b):.1f}%" if b else "n/a"  # noqa: E731
    lines = [
        "# Parity with istioctl analyze and Kiali",
        "",
        "Generated by `python tools/parity.py` from `../shared/conformance/` (Istio analyzer and Kiali",
        "validation test data). Do not edit by hand: `tests/test_conformance.py` fails when it is stale.",
        "",
        "A case **passes** when every expected finding is matched by a finding of a rule that declares",
        "the peer code as an equivalent, on the same resource, and no such rule reports anything at",
        "warning or above on a resource the case expects clean.",
        "",
        "| source | cases | in scope | passed | rate |",
        "|---|---|---|---|---|",
        f"| istioctl analyze | {s['istio_cases']} | {s['istio_in_scope']} | {s['istio_passed']} | "
        f"{pct(s['istio_passed'], s['istio_in_scope'])} |",
        f"| Kiali fixtures | {s['kiali_fixtures']} | {s['kiali_in_scope']} | {s['kiali_passed']} | "
        f"{pct(s['kiali_passed'], s['kiali_in_scope'])} |",
        "",
        f"Kiali expectations matched: {s['kiali_matched']} of {s['kiali_expected']} "
        f"({pct(s['kiali_matched'], s['kiali_expected'])}); clean fixtures kept clean: "
        f"{s['kiali_clean_ok']} of {s['kiali_clean_cases']}.",
        "",
        "## Cases",
        "",
        "| source | case | expected | matched | result |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        if r.difference:
            result = f"difference: {r.difference}"
        elif r.ok:
            result = "pass"
        else:
            parts = []
            if r.missed:
                parts.append("missed " + "; ".join(r.missed))
            if r.extra:
                parts.append("extra " + "; ".join(x.split(":")[0] for x in r.extra))
            result = "FAIL: " + " / ".join(parts)
        lines.append(f"| {r.source} | {r.name.replace('|', '/')} | {r.expected} | {r.matched} | "
                     f"{result.replace('|', '/')} |")
    diffs = sorted(DIFFERENCES.items()) + sorted(EXCLUDED.items())
    lines += ["", "## Deliberate differences and offline limits", "",
              "Whole cases (`source:case`) or single expectations (`source:case|code resource`) that are not",
              "counted, with the reason:", ""]
    if diffs:
        lines += [f"- `{k}`: {v}" for k, v in diffs]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    if not SHARED.is_dir():
        print(f"no conformance data at {SHARED}", file=sys.stderr)
        return 2
    results = run_all()
    DOC.write_text(render(results))
    s = summarize(results)
    print(json.dumps(s, indent=1))
    for r in results:
        if not r.ok and not r.difference:
            print(f"FAIL {r.source} {r.name}: missed={r.missed} extra={r.extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
