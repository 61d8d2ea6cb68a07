"""``istio-vm-lint trace HOST[:PORT]``: an offline ``istioctl x describe`` for one host.

For every way the repository says traffic reaches the host — mesh clients in each namespace
the repository declares, and ingress through each Gateway that admits it — the trace shows:

* the VirtualService (and route) that applies, or that none does (the default route);
* per destination: the service the host resolves to, the port, the effective
  DestinationRule after the lookup path (client namespace → service namespace → root
  namespace) and the same-namespace merge, with the object and field each effective policy
  field comes from (top level, port-level settings, subset, subset port-level settings);
* the subset and the endpoints it selects (WorkloadEntries, WorkloadGroups, pod templates,
  inline endpoints) with the port of each hop (service port → endpoint port);
* mTLS (client side: the DestinationRule's TLS mode or auto mTLS; server side: the
  endpoint's PeerAuthentication) and locality load balancing / failover in effect;
* every finding on that path.

All resolution is the graph's (``lint/graph.py``: ``lookup``, ``resolve_host``, ``visible``,
``destinations``, ``effective_dr``, ``policy_layers``, bindings) and the PeerAuthentication
choice is the one rule IVL301..IVL306 use; nothing is re-implemented here.  Namespaces that
get the same answer are grouped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from .graph import EffectiveDR, MeshGraph, MeshService, Workload, host_matches, hosts_overlap, resolve_host, visible
from .model import Resource, ServiceEntry, VirtualService, as_list, as_map

if TYPE_CHECKING:  # pragma: no cover
    from .findings import Finding
    from .rule import Context

POLICY_FIELDS = ("connectionPool", "outlierDetection", "loadBalancer", "tls", "proxyProtocol", "tunnel",
                 "retryBudget")
REPLACED_BY_PORT = ("connectionPool", "outlierDetection", "loadBalancer", "tls")


class TraceError(Exception):
    """The target names nothing the repository defines (the CLI exits 1 with the message)."""


@dataclass
class Target:
    """What `trace` follows: a host and, optionally, a port."""

    host: str
    port: Optional[int]


def ref(r: Resource, path: tuple[Any, ...] = ()) -> dict[str, Any]:
    from .findings import format_path

    out: dict[str, Any] = {"kind": r.kind, "namespace": r.namespace, "name": r.name, "file": r.source.path,
                           "line": r.line}
    if path:
        out["field"] = format_path(path)
    return out


def parse_target(graph: MeshGraph, text: str, port: Optional[int]) -> list[Target]:
    """``host``, ``host:port``, or ``Kind/namespace/name`` of a ServiceEntry or Service."""
    if text.count("/") == 2:
        kind, ns, name = text.split("/")
        for r in graph.project.by_kind(kind):
            if r.namespace == ns and r.name == name:
                services = graph.services_of.get(id(r), [])
                if not services:
                    raise TraceError(f"{kind} {ns}/{name} defines no host to trace (trace a ServiceEntry, a Service "
                                     "or a host)")
                return [Target(s.host, port) for s in services]
        raise TraceError(f"no {kind} {ns}/{name} in the repository")
    host, sep, p = text.rpartition(":")
    if sep and p.isdigit() and host and "]" not in p:
        return [Target(host, int(p))]
    return [Target(text, port)]


class Tracer:
    def __init__(self, ctx: "Context", findings: list["Finding"]) -> None:
        self.ctx = ctx
        self.graph: MeshGraph = ctx.graph
        self.findings = findings
        self.domain = ctx.settings.cluster_domain
        self.on_path: set[int] = set()  # id() of resources on the traced paths

    # ---- entry points
    def trace(self, target: Target) -> dict[str, Any]:
        g = self.graph
        services = g.lookup(target.host, None)
        gateways = self.gateway_entries(target)
        if not services and not gateways and not self.mesh_virtual_services(target.host):
            from .graph import cluster_namespace

            near = _closest(g, target.host)
            hint = f"; did you mean '{near}'?" if near else ""
            ns = cluster_namespace(target.host, self.domain)
            where = f" (namespace '{ns}' is not in the repository)" if ns and ns not in g.namespaces else ""
            raise TraceError(f"no ServiceEntry, Service, VirtualService or Gateway in the repository defines host "
                             f"'{target.host}'{where}{hint}")
        for s in services:
            self.on_path.add(id(s.resource))
        clients: dict[str, list[str]] = {}
        results: dict[str, dict[str, Any]] = {}
        mesh_namespaces = sorted(self.graph.namespaces or {self.ctx.settings.root_namespace})
        if not services and not self.mesh_virtual_services(target.host):
            mesh_namespaces = []  # a host only a Gateway admits (e.g. the public name): no mesh client reaches it
        for ns in mesh_namespaces:
            res = self.mesh_client(target, ns)
            key = json.dumps(res, sort_keys=True, default=str)
            clients.setdefault(key, []).append(ns)
            results[key] = res
        entries = [{"via": "mesh", "client_namespaces": nss, **results[key]} for key, nss in clients.items()]
        entries += gateways
        doc = {
            "target": {"host": target.host, "port": target.port},
            "services": [self.service_info(s) for s in services],
            "entries": entries,
        }
        doc["findings"] = self.path_findings()
        return doc

    def mesh_virtual_services(self, host: str, client_ns: Optional[str] = None) -> list[tuple[int, VirtualService]]:
        """VirtualServices bound to the mesh (sidecars) for ``host``, visible from ``client_ns``, most
        specific host first (a more specific host wins in Istio; equal ones conflict and the
        oldest wins, which a repository cannot know: the first in (namespace, name) order is
        shown and the others are named)."""
        out = []
        for r in self.graph.project.by_kind("VirtualService"):
            assert isinstance(r, VirtualService)
            if "mesh" not in r.gateways:
                continue
            if client_ns is not None and not visible(r.export_to, r.namespace, client_ns):
                continue
            best = -1
            for h in r.hosts:
                pat = resolve_host(h, r.namespace, self.domain)
                if host_matches(pat, host):
                    best = max(best, 10_000 if pat == host else len(pat))
            if best >= 0:
                out.append((best, r))
        out.sort(key=lambda t: (-t[0], t[1].namespace != client_ns, t[1].namespace, t[1].name))
        return out

    def mesh_client(self, target: Target, client_ns: str) -> dict[str, Any]:
        vss = self.mesh_virtual_services(target.host, client_ns)
        if not vss:
            return {"virtual_service": None,
                    "routes": [{"route": "default (no VirtualService for this host applies to these clients)",
                                "destinations": [self.destination(target.host, target.port, "", None, client_ns,
                                                                  client_ns)]}]}
        top = vss[0][1]
        self.on_path.add(id(top))
        out = {"virtual_service": ref(top), "routes": self.routes(top, target, client_ns, ("mesh",))}
        others = [ref(v) for score, v in vss[1:] if score == vss[0][0]]
        if others:
            out["conflicting_virtual_services"] = others
        return out

    def gateway_entries(self, target: Target) -> list[dict[str, Any]]:
        from istio_vm_lint.rules.hosts import server_admits

        g = self.graph
        out = []
        for (gw_ns, gw_name), gw in sorted(g.gateways.items()):
            vss = []
            for vs in g.vs_by_gateway.get((gw_ns, gw_name), ()):
                # the VirtualService serves the host at this gateway, or routes the gateway's traffic to it
                if any(host_matches(resolve_host(h, vs.namespace, self.domain), target.host)
                       or host_matches(target.host, h) for h in vs.hosts) \
                        or any(d.host == target.host for d in g.destinations(vs)):
                    vss.append(vs)
            # A server takes a VirtualService when its host's namespace prefix admits the
            # VirtualService's namespace and its host pattern overlaps one of the VS's hosts
            # (rules/hosts.py server_admits, the same test IVL504 makes).
            admitted = [vs for vs in vss if any(
                (p := server_admits(sh, vs.namespace, gw.namespace)) is not None and hosts_overlap(p, h)
                for s in gw.servers for sh in s.hosts for h in vs.hosts)]
            servers = [s for s in gw.servers if any(
                (p := server_admits(sh, vs.namespace, gw.namespace)) is not None and hosts_overlap(p, h)
                for sh in s.hosts for vs in admitted for h in vs.hosts)]
            if not vss:
                servers = [s for s in gw.servers if any(hosts_overlap(sh.rpartition("/")[2], target.host)
                                                        for sh in s.hosts)]
            if not servers and not vss:
                continue
            servers = servers or list(gw.servers)  # none admits the VirtualService: show them all
            proxies = g.select_any_namespace(gw.selector, ("Pod",)) if gw.selector else []
            client_ns = proxies[0].namespace if proxies else gw.namespace
            self.on_path.add(id(gw))
            entry: dict[str, Any] = {
                "via": "gateway", "gateway": ref(gw),
                "servers": [{"port": s.port, "protocol": s.protocol, "hosts": s.hosts, **ref(gw, s.path)}
                            for s in servers],
                "proxies": [ref(w.resource) for w in proxies],
                "client_namespaces": [client_ns],
            }
            if admitted:
                vs = sorted(admitted, key=lambda v: (v.namespace, v.name))[0]
                self.on_path.add(id(vs))
                entry["virtual_service"] = ref(vs)
                entry["routes"] = self.routes(vs, target, client_ns, (f"{gw_ns}/{gw_name}",))
            elif vss:
                for vs in vss:
                    self.on_path.add(id(vs))
                entry["virtual_service"] = None
                entry["routes"] = []
                entry["note"] = (f"{', '.join(f'VirtualService {v.namespace}/{v.name}' for v in vss)} binds to this "
                                 "Gateway but no server host admits it (its namespace or hosts): the routes never "
                                 "reach the gateway")
            else:
                entry["virtual_service"] = None
                entry["routes"] = []
                entry["note"] = "no VirtualService bound to this Gateway routes this host: the gateway returns 404"
            out.append(entry)
        return out

    # ---- routes and destinations
    def routes(self, vs: VirtualService, target: Target, client_ns: str, via: tuple[str, ...]) -> list[dict[str, Any]]:
        from .findings import format_path

        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        dests = {tuple(d.path): d for d in self.graph.destinations(vs)}
        for rd in vs.destinations:
            if rd.is_mirror or not rd.host:
                continue
            route_path = rd.path[:3]
            route = as_map(_at(vs.data, route_path))
            item = groups.get(route_path)
            if item is None:
                item = groups[route_path] = {"route": format_path(route_path), "name": route.get("name", ""),
                                             "match": _match_summary(route.get("match")), "destinations": []}
            weight = as_map(_at(vs.data, rd.path[:-1])).get("weight")
            dref = dests.get(tuple(rd.path))
            host = dref.host if dref is not None else resolve_host(rd.host, vs.namespace, self.domain)
            d = self.destination(host, rd.port if rd.port is not None else target.port, rd.subset, weight, client_ns,
                                 vs.namespace, services=dref.services if dref is not None else None)
            d["field"] = format_path(rd.path)
            item["destinations"].append(d)
        return list(groups.values())

    def destination(self, host: str, port: Optional[int], subset: str, weight: Any, client_ns: str,
                    viewer_ns: str, services: Optional[list[MeshService]] = None) -> dict[str, Any]:
        g = self.graph
        services = services if services is not None else g.lookup(host, viewer_ns)
        out: dict[str, Any] = {"host": host, "port": port, "subset": subset or None}
        if weight is not None:
            out["weight"] = weight
        if not services:
            out["service"] = None
            out["problem"] = f"no ServiceEntry or Service visible from namespace '{viewer_ns}' defines '{host}'"
            return out
        svc = services[0]
        self.on_path.add(id(svc.resource))
        out["service"] = ref(svc.resource, svc.host_path)
        sp = svc.port(port) if port is not None else (svc.ports[0] if len(svc.ports) == 1 else None)
        if port is not None and sp is None:
            out["problem"] = f"{svc.kind} {svc.namespace}/{svc.resource.name} has no port {port} " \
                             f"(ports: {', '.join(str(p.number) for p in svc.ports)})"
        out["service_port"] = ({"number": sp.number, "name": sp.name, "protocol": sp.protocol} if sp is not None
                               else None)
        eff_port = sp.number if sp is not None else port
        edr = g.effective_dr(client_ns, svc.host, svc.namespace)
        out["destination_rule"] = self.dr_info(edr, subset, eff_port)
        sub_labels: Optional[dict[str, str]] = None
        if subset:
            if edr is None or subset not in edr.subsets:
                out["problem"] = f"subset '{subset}' is not defined by the DestinationRule clients in namespace " \
                                 f"'{client_ns}' get for '{svc.host}'"
                sub_labels = None
            else:
                owner, sub = edr.subsets[subset]
                sub_labels = dict(sub.labels)
                out["subset_labels"] = sub_labels
        endpoints = []
        for b in g.bindings_by_service.get(id(svc.resource), ()):
            w = b.workload
            if subset and (sub_labels is None or any(w.labels.get(k) != v for k, v in sub_labels.items())):
                continue
            self.on_path.add(id(w.resource))
            endpoints.append(self.endpoint_info(w, b.ports, eff_port))
        out["endpoints"] = endpoints
        if not endpoints:
            out.setdefault("problem", "no endpoint: traffic fails with 503 (no healthy upstream)")
        policy = out["destination_rule"]["effective_policy"] if out["destination_rule"] else {}
        tls = as_map(policy.get("tls", {}).get("value")).get("mode") if policy.get("tls") else None
        out["mtls"] = {"client": tls or ("auto: ISTIO_MUTUAL to endpoints with a sidecar, plaintext to others"
                                         if svc.location == "MESH_INTERNAL" or svc.is_kube else "none (MESH_EXTERNAL)"),
                       "client_source": policy["tls"]["from"] if policy.get("tls") else None}
        lb = as_map(policy.get("loadBalancer", {}).get("value")) if policy.get("loadBalancer") else {}
        lls = as_map(lb.get("localityLbSetting"))
        out["locality"] = {
            "setting": lls or None,
            "from": policy["loadBalancer"]["from"] if lls else None,
            "outlier_detection": bool(policy.get("outlierDetection")),
            "in_effect": ("locality load balancing disabled" if lls.get("enabled") is False else
                          "locality failover" if (lls.get("failover") or lls.get("failoverPriority"))
                          and policy.get("outlierDetection") else
                          "failover configured but NOT in effect: the effective policy has no outlierDetection"
                          if lls.get("failover") or lls.get("failoverPriority") else
                          "locality-weighted distribution" if lls.get("distribute") else
                          "locality load balancing disabled" if lls.get("enabled") is False else
                          "locality-prioritised (default) — only with outlier detection" if policy.get("outlierDetection")
                          else "none: without outlierDetection Istio does not prioritise by locality"),
        }
        return out

    def dr_info(self, edr: Optional[EffectiveDR], subset: str, port: Optional[int]) -> Optional[dict[str, Any]]:
        if edr is None:
            return None
        for dr in edr.rules:
            self.on_path.add(id(dr))
        layers = self.graph.policy_layers(edr, subset, port)
        eff: dict[str, dict[str, Any]] = {}
        for owner, path, pol, port_level in layers:
            src = ref(owner, path)
            if port_level:
                for k in REPLACED_BY_PORT:
                    if pol.get(k) is not None:
                        eff[k] = {"value": pol[k], "from": src}
                    else:
                        eff.pop(k, None)
            else:
                for k in POLICY_FIELDS:
                    if pol.get(k) is not None:
                        eff[k] = {"value": pol[k], "from": src}
        return {"namespace": edr.namespace, "rules": [ref(d) for d in edr.rules],
                "lookup": "client namespace → service namespace → root namespace; first namespace with a rule wins",
                "effective_policy": eff,
                "subsets": sorted(edr.subsets)}

    def endpoint_info(self, w: Workload, ports: dict[int, Optional[int]], port: Optional[int]) -> dict[str, Any]:
        from istio_vm_lint.rules.mesh_boundary import _pa_mode

        info = ref(w.resource)
        info["workload_kind"] = ("inline endpoint" if w.kind == "Endpoint" else
                                 f"{w.resource.kind} (pod template)" if w.kind == "Pod" else w.kind)
        if w.endpoint is not None and w.endpoint.address:
            info["address"] = w.endpoint.address
        if port is not None:
            info["port"] = {"service": port, "endpoint": ports.get(port)}
        else:
            info["ports"] = {str(a): b for a, b in ports.items()}
        info["labels"] = w.labels
        info["locality"] = w.locality or None
        info["network"] = w.network or None
        info["sidecar"] = w.has_sidecar
        pa = _pa_mode(self.ctx, w)
        if pa is not None:
            self.on_path.add(id(pa[0]))
            info["peer_authentication"] = {"mode": pa[1], **ref(pa[0])}
        else:
            info["peer_authentication"] = {"mode": "PERMISSIVE (default: no PeerAuthentication applies)"}
        return info

    def service_info(self, s: MeshService) -> dict[str, Any]:
        info = ref(s.resource, s.host_path)
        info["host"] = s.host
        info["location"] = s.location
        if isinstance(s.resource, ServiceEntry):
            info["resolution"] = s.resource.resolution
        info["ports"] = [{"number": p.number, "name": p.name, "protocol": p.protocol,
                          "targetPort": p.effective_target} for p in s.ports]
        info["exportTo"] = list(s.export_to)
        return info

    def path_findings(self) -> list[dict[str, Any]]:
        keys = {(r.kind, r.namespace, r.name) for r in self.graph.project.resources if id(r) in self.on_path}
        return [f.as_dict() for f in self.findings
                if f.resource is not None and (f.resource.kind, f.resource.namespace, f.resource.name) in keys]


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    cur = data
    for p in path:
        if isinstance(p, int):
            cur = cur[p] if isinstance(cur, list) and p < len(cur) else None
        else:
            cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def _match_summary(match: Any) -> list[str]:
    out = []
    for m in as_list(match):
        mm = as_map(m)
        parts = []
        for key in ("uri", "authority", "scheme", "method"):
            v = as_map(mm.get(key))
            for op, val in v.items():
                parts.append(f"{key} {op} {val}")
        for h in as_map(mm.get("headers")):
            parts.append(f"header {h}")
        if mm.get("port") is not None:
            parts.append(f"port {mm['port']}")
        if mm.get("sourceLabels"):
            parts.append("sourceLabels " + ",".join(f"{k}={v}" for k, v in as_map(mm["sourceLabels"]).items()))
        if mm.get("gateways"):
            parts.append("gateways " + ",".join(str(x) for x in as_list(mm["gateways"])))
        out.append(" and ".join(parts) or "any")
    return out


def _closest(graph: MeshGraph, host: str) -> Optional[str]:
    import difflib

    hosts = sorted(graph.services_by_host)
    close = difflib.get_close_matches(host, hosts, n=1, cutoff=0.8)
    if not close:  # a short or partial name: the hosts whose first label is the same
        close = [h for h in hosts if h.split(".")[0] == host.split(".")[0]]
    return close[0] if close else None


def trace(ctx: "Context", findings: list["Finding"], target: str, port: Optional[int] = None) -> dict[str, Any]:
    tracer = Tracer(ctx, findings)
    targets = parse_target(ctx.graph, target, port)
    return {"version": 1, "traces": [tracer.trace(t) for t in targets]}


def trace_units(units: list[tuple[str, "Context", list["Finding"]]], target: str,
                port: Optional[int] = None) -> dict[str, Any]:
    """The traces of TARGET in every deployment unit that defines it (each kustomize overlay or
    chart is its own mesh); with more than one unit each trace names its ``unit``.  When no
    unit defines the target, the first unit's error (with its "did you mean")."""
    if len(units) == 1:
        _, ctx, findings = units[0]
        return trace(ctx, findings, target, port)
    traces: list[dict[str, Any]] = []
    first_error: Optional[TraceError] = None
    for name, ctx, findings in units:
        try:
            doc = trace(ctx, findings, target, port)
        except TraceError as exc:
            first_error = first_error or exc
            continue
        for t in doc["traces"]:
            t["unit"] = name
            traces.append(t)
    if not traces:
        assert first_error is not None
        raise first_error
    return {"version": 1, "traces": traces}


# --- text ---------------------------------------------------------------------------------


def _r(d: Optional[dict[str, Any]]) -> str:
    if not d:
        return "none"
    where = f"{d['file']}:{d['line']}" if d.get("file") else ""
    field = f" {d['field']}" if d.get("field") else ""
    return f"{d['kind']} {d['namespace']}/{d['name']} ({where}{field})"


def render_text(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    for t in doc["traces"]:
        tgt = t["target"]
        unit = f" (unit {t['unit']})" if t.get("unit") else ""
        lines.append(f"trace {tgt['host']}{':' + str(tgt['port']) if tgt['port'] else ''}{unit}")
        for s in t["services"]:
            ports = ", ".join(f"{p['number']}/{p['name'] or '-'} {p['protocol']}"
                              + (f" → targetPort {p['targetPort']}" if p["targetPort"] not in (None, p["number"]) else "")
                              for p in s["ports"])
            res = f", resolution {s['resolution']}" if s.get("resolution") else ""
            lines.append(f"  service {_r(s)}: {s['location']}{res}; ports {ports or 'none'}; exportTo {s['exportTo']}")
        if not t["services"]:
            lines.append("  no ServiceEntry or Service defines this host")
        for e in t["entries"]:
            lines.append("")
            if e["via"] == "mesh":
                lines.append(f"  mesh clients in namespace{'s' if len(e['client_namespaces']) > 1 else ''} "
                             f"{', '.join(e['client_namespaces'])}:")
            else:
                servers = "; ".join(f"port {s['port']} {s['protocol']} hosts {', '.join(s['hosts'])}" for s in e["servers"])
                proxies = ", ".join(f"{p['kind']} {p['namespace']}/{p['name']}" for p in e["proxies"]) or "none found"
                lines.append(f"  ingress through {_r(e['gateway'])}: {servers}; proxies {proxies}")
            vs = e.get("virtual_service")
            lines.append(f"    VirtualService: {_r(vs) if vs else 'none applies'}")
            for c in e.get("conflicting_virtual_services", ()):
                lines.append(f"      conflicts with {_r(c)} (same host: only one is used, by creation time)")
            if e.get("note"):
                lines.append(f"    {e['note']}")
            for route in e.get("routes", ()):
                name = f" '{route['name']}'" if route.get("name") else ""
                match = f" when {' or '.join(route['match'])}" if route.get("match") else ""
                lines.append(f"    route {route['route']}{name}{match}:")
                for d in route["destinations"]:
                    lines.extend(_dest_lines(d))
        if t["findings"]:
            lines.append("")
            lines.append("  findings on this path:")
            for f in t["findings"]:
                lines.append(f"    {f['file']}:{f['line']}:{f['column']}: {f['code']} [{f['severity']}] {f['message']}")
        else:
            lines.append("")
            lines.append("  no findings on this path")
        lines.append("")
    return "\n".join(lines)


def _dest_lines(d: dict[str, Any]) -> list[str]:
    ind = "      "
    w = f" weight {d['weight']}" if "weight" in d else ""
    sub = f" subset {d['subset']}" if d.get("subset") else ""
    port = f":{d['port']}" if d.get("port") else ""
    out = [f"{ind}→ {d['host']}{port}{sub}{w}"]
    if d.get("service"):
        sp = d.get("service_port")
        spd = f" port {sp['number']}/{sp['name'] or '-'} {sp['protocol']}" if sp else ""
        out.append(f"{ind}  service {_r(d['service'])}{spd}")
    dr = d.get("destination_rule")
    if d.get("service"):
        if dr:
            rules = ", ".join(_r(r) for r in dr["rules"])
            out.append(f"{ind}  DestinationRule (namespace {dr['namespace']} on the lookup path): {rules}")
            for k, v in dr["effective_policy"].items():
                out.append(f"{ind}    {k} = {json.dumps(v['value'], sort_keys=True)}  ← {_r(v['from'])}")
            if not dr["effective_policy"]:
                out.append(f"{ind}    no traffic policy (defaults)")
        else:
            out.append(f"{ind}  DestinationRule: none on the lookup path (defaults)")
        if d.get("subset_labels"):
            out.append(f"{ind}  subset {d['subset']} selects " + ",".join(f"{k}={v}" for k, v in d["subset_labels"].items()))
        m = d.get("mtls", {})
        src = f" ← {_r(m['client_source'])}" if m.get("client_source") else ""
        out.append(f"{ind}  mTLS (client): {m.get('client')}{src}")
        loc = d.get("locality", {})
        lsrc = f" ← {_r(loc['from'])}" if loc.get("from") else ""
        out.append(f"{ind}  locality: {loc.get('in_effect')}{lsrc}")
        for ep in d.get("endpoints", ()):
            hop = ""
            if "port" in ep:
                hop = f" port {ep['port']['service']} → {ep['port']['endpoint'] if ep['port']['endpoint'] is not None else 'dropped'}"
            extra = []
            if ep.get("address"):
                extra.append(ep["address"])
            if ep.get("locality"):
                extra.append(f"locality {ep['locality']}")
            if ep.get("network"):
                extra.append(f"network {ep['network']}")
            pa = ep["peer_authentication"]
            extra.append(f"mTLS (server) {pa['mode']}" + (f" ← {_r(pa)}" if pa.get("kind") else ""))
            out.append(f"{ind}  endpoint {ep['workload_kind']} {ep['namespace']}/{ep['name']}{hop}; {'; '.join(extra)}")
    if d.get("problem"):
        out.append(f"{ind}  ✗ {d['problem']}")
    return out
