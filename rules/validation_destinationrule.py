"""IVL62x: Istio's DestinationRule and traffic-policy validation, done on files.

Port of ``ValidateDestinationRule`` and ``validateTrafficPolicy`` (docs/semantics.md §validation-destinationrule,
DR-01..DR-10, TP-01..TP-46).  Warnings of the traffic-policy rules are raised for the top-level
``spec.trafficPolicy`` only: Go drops them for subsets and portLevelSettings (§webhook-validation).  The
"failover without outlierDetection" warning of localityLbSetting (TP-36) is not repeated here:
the traffic-policy family (IVL401) checks it on the effective policy, including the subset and
port levels where Go is silent.  Its zone-aware twin (TP-39) is reported by IVL621.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

from istio_vm_lint.findings import FieldPath, Problem
from istio_vm_lint.model import Resource, as_list, as_map
from istio_vm_lint.rule import Context, rule

from . import _validation_helpers as h

TOPOLOGY_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")


def _is_prime(x: int) -> bool:
    """Envoy's ``isPrime`` as copied into Istio (TP-22)."""
    if x != 0 and x < 4:
        return True
    if x & 1 == 0:
        return False
    limit = math.isqrt(x)
    f = 3
    while f <= limit:
        if x % f == 0:
            return False
        f += 2
    return True


def _outlier(v: h.Issues, od: Any, path: FieldPath, warn: bool) -> None:
    if not isinstance(od, dict):
        return
    for key in ("baseEjectionTime", "interval"):
        if od.get(key) is not None:
            v.errs(path + (key,), "TP-03", h.duration_errors(od[key]))
    ce = h.get_int(od, "consecutiveErrors")
    if warn and ce:
        v.warn(path + ("consecutiveErrors",), "TP-04",
               "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead")
    lof = h.wrapped_num(od, "consecutiveLocalOriginFailures")
    if od.get("splitExternalLocalOriginErrors") is not True and lof is not None and lof > 0:
        v.err(path + ("consecutiveLocalOriginFailures",), "TP-05",
              "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false")
    for key in ("maxEjectionPercent", "minHealthPercent"):
        n = h.get_int(od, key)
        if n is not None and (n < 0 or n > 100):
            v.err(path + (key,), "TP-06", f"percentage {n} is not in range 0..100")


def _localities_error(localities: list[str]) -> str | None:
    """``validateLocalities`` (TP-35)."""
    seen: dict[str, dict[str, dict[str, bool]]] = {}
    for loc in localities:
        n = loc.count("*")
        if n and (n > 1 or not loc.endswith("*")):
            return f"locality {loc} wildcard '*' number can not exceed 1 and must be in the end"
        if "*" in seen:
            return f"locality {loc} overlap with previous specified ones"
        items = loc.split("/", 2)
        if any(i == "" for i in items):
            return f"locality {loc} must not contain empty region/zone/subzone info"
        region = items[0]
        zone = items[1] if len(items) > 1 else ""
        sub = items[2] if len(items) > 2 else ""
        overlap = f"locality {loc} overlap with previous specified ones"
        if len(items) == 1:
            if region in seen:
                return overlap
            seen[region] = {"*": {"*": True}}
        elif len(items) == 2:
            if region in seen:
                if "*" in seen[region] or zone in seen[region]:
                    return overlap
                seen[region][zone] = {"*": True}
            else:
                seen[region] = {zone: {"*": True}}
        else:
            if region in seen:
                if "*" in seen[region]:
                    return overlap
                if zone in seen[region]:
                    if seen[region][zone].get("*") or seen[region][zone].get(sub):
                        return overlap
                    seen[region][zone][sub] = True
                else:
                    seen[region][zone] = {sub: True}
            else:
                seen[region] = {zone: {sub: True}}
    return None


def _failover_region_checks(v: h.Issues, failover: list[Any], path: FieldPath, rid: str, zone_aware: bool) -> None:
    msgs = (("zone aware lb failover settings must specify different regions",
             "zone aware lb failover only specifies region; zone and subzone failover are handled automatically",
             "zone aware lb failover region should not contain '*' wildcard") if zone_aware else
            ("locality lb failover settings must specify different regions",
             "locality lb failover only specify region",
             "locality lb failover region should not contain '*' wildcard"))
    for i, f in enumerate(failover):
        fm = as_map(f)
        frm, to = h.get_str(fm, "from"), h.get_str(fm, "to")
        p = path + ("failover", i)
        if frm == to:
            v.err(p, rid, msgs[0])
        if "/" in frm or "/" in to:
            v.err(p, rid, msgs[1])
        if "*" in frm or "*" in to:
            v.err(p, rid, msgs[2])


def _locality(v: h.Issues, lb: Any, path: FieldPath) -> None:
    """``ValidateLocalityLbSetting`` without the failover/outlier warning (TP-36 is IVL401)."""
    if not isinstance(lb, dict):
        return
    distribute = as_list(lb.get("distribute"))
    failover = as_list(lb.get("failover"))
    priority = as_list(lb.get("failoverPriority"))
    if distribute and failover:
        v.err(path, "TP-31", "can not simultaneously specify 'distribute' and 'failover'")
        return
    if failover and priority:
        for i, label in enumerate(priority):
            if label in TOPOLOGY_LABELS:
                v.err(path + ("failoverPriority", i), "TP-32",
                      f"can not simultaneously set 'failover' and topology label '{label}' in 'failover_priority'")
                return
    sources: list[str] = []
    for i, d in enumerate(distribute):
        dm = as_map(d)
        sources.append(h.get_str(dm, "from"))
        total = 0
        dests: list[str] = []
        for loc, weight in as_map(dm.get("to")).items():
            dests.append(str(loc))
            w = weight if h.is_int(weight) else None
            if w is None:
                return  # not an integer: schema error, and Go could not have parsed it
            if w <= 0 or w > 100:
                if w == 0 or w > 100:  # negatives: OpenAPI minimum 0 (IVL010)
                    v.err(path + ("distribute", i, "to", loc), "TP-33", "locality weight must be in range [1, 100]")
                return
            total += w
        if total != 100:
            v.err(path + ("distribute", i, "to"), "TP-34", f"total locality weight {total} != 100")
            return
        v.err(path + ("distribute", i, "to"), "TP-35", _localities_error(dests))
    v.err(path + ("distribute",), "TP-35", _localities_error(sources))
    _failover_region_checks(v, failover, path, "TP-37", zone_aware=False)


def _zone_aware(v: h.Issues, lb: Any, path: FieldPath, outlier: Any, warn: bool) -> None:
    """``ValidateZoneAwareLbSetting``.

    TP-39 (failover without outlierDetection) is kept here because IVL401 covers
    ``localityLbSetting`` only; like Go, only for the top-level policy (§webhook-validation).
    """
    if not isinstance(lb, dict):
        return
    if warn and outlier is None and (as_list(lb.get("failover")) or as_list(lb.get("failoverPriority"))):
        v.warn(path, "TP-39", "outlier detection policy must be provided for failover")
    for i, label in enumerate(as_list(lb.get("failoverPriority"))):
        if label in TOPOLOGY_LABELS:
            v.err(path + ("failoverPriority", i), "TP-38",
                  f"'failover_priority' for zone aware lb must not use topology label '{label}'; "
                  "region- and zone-level routing are handled automatically")
    _failover_region_checks(v, as_list(lb.get("failover")), path, "TP-40", zone_aware=True)


def _load_balancer(v: h.Issues, lb: Any, path: FieldPath, warn: bool, outlier: Any = None) -> None:
    if not isinstance(lb, dict):
        return
    ch = lb.get("consistentHash")
    if isinstance(ch, dict):
        cp = path + ("consistentHash",)
        cookie = ch.get("httpCookie")
        if isinstance(cookie, dict):
            if "name" in cookie and h.get_str(cookie, "name") == "":  # absent: OpenAPI "required"
                v.err(cp + ("httpCookie", "name"), "TP-18", "name required for HttpCookie")
            names: set[str] = set()
            for i, attr in enumerate(as_list(cookie.get("attributes"))):
                if not isinstance(attr, dict):
                    continue
                name = h.get_str(attr, "name")
                ap = cp + ("httpCookie", "attributes", i, "name")
                if name == "":
                    if "name" in attr:
                        v.err(ap, "TP-19", "cookie attribute name cannot be empty")
                    continue
                if name in names:
                    v.err(ap, "TP-19", f"duplicate cookie attribute name: {name}")
                names.add(name)
        mrs = h.get_int(ch, "minimumRingSize")
        if mrs:
            if warn:
                v.warn(cp + ("minimumRingSize",), "TP-20",
                       "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead")
            if ch.get("ringHash") is not None or ch.get("maglev") is not None:
                v.err(cp + ("minimumRingSize",), "TP-21", "only one of MinimumRingSize or Maglev/Ringhash can be specified")
        ml = ch.get("maglev")
        if isinstance(ml, dict):
            size = h.get_int(ml, "tableSize")
            size = 0 if size is None and ml.get("tableSize") is None else size
            if size is not None and size >= 0:
                mp = cp + ("maglev", "tableSize") if "tableSize" in ml else cp + ("maglev",)
                if size == 0:
                    v.err(mp, "TP-22", "tableSize must be set for maglev")
                if size >= 5000011:
                    v.err(mp, "TP-22", "tableSize must be less than 5000011 for maglev")
                if not _is_prime(size):
                    v.err(mp, "TP-22", "tableSize must be a prime number for maglev")
    if lb.get("localityLbSetting") is not None and lb.get("zoneAwareLbSetting") is not None:
        v.err(path, "TP-23", "only one of localityLbSetting and zoneAwareLbSetting can be set")
    _locality(v, lb.get("localityLbSetting"), path + ("localityLbSetting",))
    _zone_aware(v, lb.get("zoneAwareLbSetting"), path + ("zoneAwareLbSetting",), outlier, warn)
    warm = lb.get("warmup")
    if isinstance(warm, dict):
        wp = path + ("warmup",)
        if warm.get("duration") is not None:  # absent: OpenAPI "required"
            v.errs(wp + ("duration",), "TP-24", h.duration_errors(warm["duration"]))
        # TP-25 (minimumPercent > 100): OpenAPI maximum.
        aggr = h.wrapped_num(warm, "aggression")
        if warm.get("aggression") is not None and aggr is not None and aggr == 0:  # < 0: OpenAPI minimum
            v.err(wp + ("aggression",), "TP-26", "aggression should be greater than 0")


def _client_tls(v: h.Issues, tls: Any, path: FieldPath, namespace: str) -> None:
    """``agent.ValidateTLS`` (TP-27..TP-30)."""
    if not isinstance(tls, dict):
        return
    mode = h.get_str(tls, "mode") or "DISABLE"
    cred = h.get_str(tls, "credentialName")
    if cred.startswith("configmap://"):
        parts = cred[len("configmap://"):].split("/")
        err = None
        if len(parts) <= 1:
            err = f"invalid resource name {h.goq(cred)}. Expected namespace and name"
        elif parts[0] == "":
            err = f"invalid resource name {h.goq(cred)}. Expected namespace"
        elif parts[1] == "":
            err = f"invalid resource name {h.goq(cred)}. Expected name"
        if err:
            v.err(path + ("credentialName",), "TP-27", f"invalid configmap:// credentialName: {err}")
        elif parts[0] != namespace or not namespace:
            v.err(path + ("credentialName",), "TP-27",
                  f"invalid configmap:// credentialName: namespace must match the configuration namespace {h.goq(namespace)}")
    if h.wrapped_bool(tls, "insecureSkipVerify"):
        san = h.truthy(tls, "subjectAltNames")  # an empty list decodes to nil in Go
        if mode == "SIMPLE" and (h.truthy(tls, "caCertificates") or cred or san):
            v.err(path + ("insecureSkipVerify",), "TP-28",
                  "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true")
        if mode == "MUTUAL" and (h.truthy(tls, "caCertificates") or san):
            v.err(path + ("insecureSkipVerify",), "TP-28",
                  "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true")
    if mode in ("SIMPLE", "MUTUAL") and cred:
        if any(h.truthy(tls, k) for k in ("clientCertificate", "caCertificates", "privateKey", "caCrl")):
            v.err(path + ("credentialName",), "TP-29",
                  "cannot specify client certificates or CA certificate or CA CRL If credentialName is set")
        return
    if mode == "MUTUAL":
        if not h.truthy(tls, "clientCertificate"):
            v.err(path, "TP-30", "client certificate required for mutual tls")
        if not h.truthy(tls, "privateKey"):
            v.err(path, "TP-30", "private key required for mutual tls")


def _tunnel(v: h.Issues, tunnel: Any, path: FieldPath) -> None:
    if not isinstance(tunnel, dict):
        return
    proto = h.get_str(tunnel, "protocol")
    if proto not in ("", "CONNECT", "POST"):
        v.err(path + ("protocol",), "TP-44", 'tunnel protocol must be "CONNECT" or "POST"')
    if "targetHost" in tunnel:  # absent: OpenAPI "required"
        host = h.get_str(tunnel, "targetHost")
        fe, ie = h.fqdn_error(host), h.ip_error(host)
        if fe and ie:
            v.err(path + ("targetHost",), "TP-45", f"tunnel target host must be valid FQDN or IP address: {fe}; {ie}")
    port = h.get_int(tunnel, "targetPort")
    if port is not None and port >= 0 and h.port_error(port):  # negative: OpenAPI minimum
        v.err(path + ("targetPort",), "TP-46", f"tunnel target port is invalid: {h.port_error(port)}")


def traffic_policy_issues(v: h.Issues, policy: Any, path: FieldPath, namespace: str, warn: bool) -> None:
    """``validateTrafficPolicy`` (TP-01..TP-46); ``warn`` only for ``spec.trafficPolicy`` (§webhook-validation)."""
    if not isinstance(policy, dict):
        return
    fields = ("outlierDetection", "connectionPool", "loadBalancer", "tls", "portLevelSettings", "tunnel",
              "proxyProtocol", "retryBudget")
    if all(policy.get(f) is None for f in fields):
        v.err(path, "TP-01", "traffic policy must have at least one field")
        return
    if policy.get("tunnel") is not None and policy.get("proxyProtocol") is not None:
        v.err(path, "TP-02", "tunnel and proxyProtocol must not be set together")
        return
    _outlier(v, policy.get("outlierDetection"), path + ("outlierDetection",), warn)
    h.connection_pool_issues(v, policy.get("connectionPool"), path + ("connectionPool",))
    _load_balancer(v, policy.get("loadBalancer"), path + ("loadBalancer",), warn, policy.get("outlierDetection"))
    _client_tls(v, policy.get("tls"), path + ("tls",), namespace)
    for i, pls in enumerate(as_list(policy.get("portLevelSettings"))):
        if not isinstance(pls, dict):
            continue  # null entry (TP-41): OpenAPI type (IVL010)
        pp = path + ("portLevelSettings", i)
        if pls.get("port") is None:
            v.err(pp, "TP-42", "portTrafficPolicy must have valid port")
        if all(pls.get(f) is None for f in ("outlierDetection", "connectionPool", "loadBalancer", "tls")):
            v.err(pp, "TP-43", "port traffic policy must have at least one field")
        else:  # errors only at port level (§webhook-validation)
            _outlier(v, pls.get("outlierDetection"), pp + ("outlierDetection",), False)
            h.connection_pool_issues(v, pls.get("connectionPool"), pp + ("connectionPool",))
            _load_balancer(v, pls.get("loadBalancer"), pp + ("loadBalancer",), False)
            _client_tls(v, pls.get("tls"), pp + ("tls",), namespace)
    _tunnel(v, policy.get("tunnel"), path + ("tunnel",))


def validate(dr: Resource) -> h.Issues:
    """``ValidateDestinationRule`` (§validation-destinationrule)."""
    v = h.Issues()
    spec = dr.spec
    host = spec.get("host")
    if isinstance(host, str):  # absent: OpenAPI "required"
        v.err(("spec", "host"), "DR-01", h.wildcard_domain_error(host))
    traffic_policy_issues(v, spec.get("trafficPolicy"), ("spec", "trafficPolicy"), dr.namespace, warn=True)
    names: set[str] = set()
    for i, sub in enumerate(as_list(spec.get("subsets"))):
        if not isinstance(sub, dict):
            continue  # null subset (DR-02): OpenAPI type (IVL010)
        sp = ("spec", "subsets", i)
        name = sub.get("name")
        sname = name if isinstance(name, str) else ""
        if sname in names:
            v.err(sp + ("name",), "DR-03", f"duplicate subset names: {sname}")
        names.add(sname)
        if isinstance(name, str):  # absent: OpenAPI "required"
            if name == "":
                v.err(sp + ("name",), "DR-04", "subset name cannot be empty")
            elif not h.is_dns_label(name):
                v.err(sp + ("name",), "DR-04", f"subset name is invalid: {name}")
        for key, msg in h.label_errors(as_map(sub.get("labels"))):
            v.err(sp + ("labels", key), "DR-05", msg)
        traffic_policy_issues(v, sub.get("trafficPolicy"), sp + ("trafficPolicy",), dr.namespace, warn=False)
    ws = spec.get("workloadSelector")
    h.export_to_issues(v, spec.get("exportTo"), dr.namespace, ("spec", "exportTo"), "DR-07",
                       dr_selector=ws is not None, dr_rid="DR-08")
    if isinstance(ws, dict):
        # DR-10: empty or wildcard keys/values are CEL rules of matchLabels (IVL011).
        h.selector_issues(v, ws.get("matchLabels"), ("spec", "workloadSelector", "matchLabels"), "DR-10",
                          "workload selector specified without labels", ("spec", "workloadSelector"),
                          keys_only=False)
    return v


@rule(
    code="IVL620", family="validation_destinationrule", scope="resource", name="destination-rule-invalid", severity="error",
    summary="A DestinationRule breaks Istio's validation and would be rejected by the admission webhook.",
    rationale="""
    Port of Istio's `ValidateDestinationRule` and `validateTrafficPolicy`
    (docs/semantics.md §validation-destinationrule, DR-01..DR-10, TP-01..TP-46): host syntax, subset
    names (DNS-1123, unique) and labels, empty traffic policies, outlier-detection and
    connection-pool values, consistent-hash and maglev settings, locality load-balancing
    (distribute weights summing to 100, failover regions), client TLS combinations
    (MUTUAL needs a client certificate and key unless credentialName is set), tunnel settings,
    portLevelSettings without a port, exportTo syntax and workloadSelector-scoped exportTo.
    The webhook rejects the object (`istioctl analyze` IST0106). Checks the CRD enforces
    identically (durations below 1ms, required fields, ranges) are IVL010/IVL011's.
    """,
    bad="""
    kind: DestinationRule
    spec:
      host: whoami.vm.svc.cluster.local
      trafficPolicy:
        tls: {mode: MUTUAL}          # no clientCertificate/privateKey/credentialName
      subsets:
      - {name: v1_0, labels: {version: v1}}
    """,
    good="""
    kind: DestinationRule
    spec:
      host: whoami.vm.svc.cluster.local
      trafficPolicy:
        tls: {mode: ISTIO_MUTUAL}
      subsets:
      - {name: v1-0, labels: {version: v1}}
    """,
    inputs=("DestinationRule",), equivalents=("IST0106",),
    references=("docs/semantics.md §validation-destinationrule",),
)
def destination_rule_invalid(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "DestinationRule", validate, "E")


@rule(
    code="IVL621", family="validation_destinationrule", scope="resource", name="destination-rule-validation-warning", severity="warning",
    summary="A DestinationRule gets an Istio validation warning (deprecated field or selector without labels).",
    rationale="""
    The warnings of Istio's DestinationRule validation (docs/semantics.md §validation-destinationrule): the deprecated
    `outlierDetection.consecutiveErrors` (TP-04) and `consistentHash.minimumRingSize` (TP-20),
    a `workloadSelector` without labels, which applies to every workload in the namespace
    (DR-10), and `zoneAwareLbSetting` failover without `outlierDetection` (TP-39). Like
    Istio, traffic-policy warnings are only raised for the top-level
    `trafficPolicy` (Go drops them for subsets and portLevelSettings, §webhook-validation). `kubectl apply`
    prints them as admission warnings, `istioctl analyze` as IST0133. The failover warning
    for `localityLbSetting` ("outlier detection policy must be provided for failover", TP-36)
    is IVL401, which checks the effective policy at every level.
    """,
    bad="""
    trafficPolicy:
      outlierDetection:
        consecutiveErrors: 5
    """,
    good="""
    trafficPolicy:
      outlierDetection:
        consecutive5xxErrors: 5
    """,
    inputs=("DestinationRule",), equivalents=("IST0133",),
    references=("docs/semantics.md §validation-destinationrule",),
)
def destination_rule_validation_warning(ctx: Context) -> Iterator[Problem]:
    return h.emit(ctx, "DestinationRule", validate, "W")
