"""Which resources must the cross-resource rules look at in a run on named files (pre-commit)?

A run on named files reports the findings located in the named files, and the findings in
other files that the named files can have caused (``engine.mark_caused_by_change``: a
related resource is in a named file, or the resource references one).  Both must equal what
a whole-repository run reports there.  The rules still see the whole repository (the graph,
``ctx.resources``, every lookup, every "did you mean" list), so whatever they compute about a
resource is what a whole-repository run computes; but the rules listed in :data:`REVIEWED`
*iterate* (``ctx.each``) only the *subjects*: the resources whose findings can be reported,
and the resources next to them.

Which findings can be reported is found on the data, generously, not on what any rule
happens to read today.  Two resources are *connected* when they share

* a **host**: one a resource defines or routes to (typed fields, resolved in its namespace;
  a Kubernetes Service's name) or any dotted string anywhere in its data (a host, an
  address), exactly or through a wildcard; a ``ns/*`` import means every host of ``ns``;
* a **label pair** within a namespace: every string pair under a ``labels``,
  ``matchLabels``, ``selector``, ``workloadSelector``... mapping anywhere (selectors,
  workload labels, subsets; a selector without pairs means every workload of its
  namespace); a Gateway's selector and the pods it picks in any namespace;
* a **name**: a string in one (also the parts of ``a/b`` strings, in its namespace and in
  the namespaces it names) that is the other's name: gateway refs, delegates, service
  accounts, target refs; both ways;
* a **policy**: every resource is connected to the namespace-wide kinds (Sidecar, security
  and telemetry policies, EnvoyFilter, the Namespace object) of its namespace and of the
  root namespace; a named one of them to everything in its namespace (root: everything).

*Reported* are the named files' resources and everything connected to them (copies of an
object too: IVL750).  The *subjects* are the reported resources, everything connected to
them (a rule that iterates one resource and reports on another: the two are connected,
being compared or resolved) and the whole namespace of the named resources (relations by
values the connections do not cover, such as a nearly equal label value in the same
namespace).  The hosts a Sidecar imports and a Gateway's servers admit are followed for the
named ones only (their own rules iterate the Sidecars and Gateways: a ``*/*`` import would
tie everything together).

A rule not in :data:`REVIEWED` iterates every resource, as in a whole-repository run: a rule
written later is exact by default.  ``tests/test_named_file_scope.py`` compares runs with and
without the subjects on fixtures; ``ISTIO_VM_LINT_NO_CLOSURE=1`` switches them off.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from .model import DestinationRule, Gateway, Service, ServiceEntry, Sidecar, VirtualService, WorkloadController
from .relevance_index import POLICY_KINDS, Index, Probe, enc, entries, wild_of
from .semantics import host_matches, kube_fqdn, resolve_host

if TYPE_CHECKING:  # pragma: no cover
    from .cache import ParseCache
    from .config import Settings
    from .model import Resource
    from .project import Project


# Mapping keys whose string-valued mappings are labels or label selectors.
_LABEL_KEYS = frozenset({"labels", "matchLabels", "selector", "sourceLabels", "workloadSelector", "nodeSelector"})

# Cross-resource rules checked to iterate (``ctx.each``) only the resources they report on,
# and whose findings relate resources through a host, a label pair, a name, a namespace or a
# Gateway's selection (connections the subjects follow).  A rule not listed iterates every
# resource, as in a whole-repository run (rules that iterate with ``ctx.resources`` gain
# nothing from being listed).  Indexes and aggregates over other resources are built with
# ``ctx.resources`` (IVL108's DestinationRules, IVL127's callers, IVL216's Sidecar ports).  IVL401, IVL402 and IVL404
# iterate the services of the effective DestinationRule views (``traffic_policy``): a view's
# rules are connected to its service by the host.  IVL112, IVL408, IVL730, IVL740, IVL746 and
# IVL749 index every resource of their kind and report each one iterated against its group;
# IVL410 also iterates the roots whose missing delegate has the name of a delegate iterated
# (its related resource, in another namespace); IVL413 iterates the delegates, each with every
# root delegating to it in the repository's order.  Helpers that aggregate (``_network_services``,
# ``gateway_networks``, ``_mesh_routes_elsewhere``, the delegation index) read ``ctx.resources``:
# under a filter ``ctx.each`` and ``ctx.memo`` would give the subjects only.  Left out on
# purpose: IVL115 and IVL120 relate a near miss in any namespace (a value spelt nearly alike
# shares no key), IVL103 and IVL181 a selected workload or a ServiceAccount in another
# namespace, IVL306 and IVL512 a gateway reached through its network or its pods; IVL218
# reports an entry against the earlier ones in iteration order; IVL701 iterates the Gateways.
REVIEWED = frozenset((
    "IVL006", "IVL007", "IVL008", "IVL101", "IVL102", "IVL104", "IVL105", "IVL106", "IVL107", "IVL108",
    "IVL109", "IVL110", "IVL111", "IVL112", "IVL113", "IVL114", "IVL116", "IVL117", "IVL118", "IVL119",
    "IVL121", "IVL122", "IVL123", "IVL125", "IVL127", "IVL201", "IVL202", "IVL203", "IVL204", "IVL205",
    "IVL206", "IVL207", "IVL208", "IVL209", "IVL210", "IVL211", "IVL212", "IVL215", "IVL216", "IVL217",
    "IVL219", "IVL290", "IVL301", "IVL302", "IVL303", "IVL304", "IVL305", "IVL312", "IVL401", "IVL402",
    "IVL403", "IVL404", "IVL405", "IVL406", "IVL407", "IVL408", "IVL409", "IVL410", "IVL411", "IVL412",
    "IVL413", "IVL414", "IVL415", "IVL416", "IVL417", "IVL418", "IVL501", "IVL502", "IVL503", "IVL504",
    "IVL505", "IVL506", "IVL507", "IVL508", "IVL510", "IVL511", "IVL513", "IVL515", "IVL590", "IVL591",
    "IVL711", "IVL712", "IVL713", "IVL714", "IVL715", "IVL720", "IVL723", "IVL730", "IVL731", "IVL732",
    "IVL733", "IVL734", "IVL735", "IVL740", "IVL741", "IVL742", "IVL743", "IVL744", "IVL745", "IVL746",
    "IVL747", "IVL748", "IVL749",
))


class _Keys:
    """What one resource mentions, defines and selects (see the module docstring)."""

    __slots__ = ("strings", "mentions", "typed", "dotted", "wild", "pairs", "empty", "imports", "egress")

    def __init__(self) -> None:
        self.strings: set[str] = set()  # string values and their ns/name pieces
        self.mentions: set[str] = set()  # namespaces it names
        self.typed: set[str] = set()  # hosts of typed host fields, resolved
        self.dotted: set[str] = set()  # dotted strings anywhere (hosts, addresses)
        self.wild: set[str] = set()  # wildcard host patterns
        self.pairs: list[tuple[str, str]] = []  # label pairs (labels and selectors)
        self.empty = False  # a selector without pairs: every workload of the namespace
        self.imports: set[str] = set()  # "ns/*" imports: every host of ns
        self.egress: Optional[_Keys] = None  # a Sidecar's egress hosts (read for its own findings)


def _walk(data: Any) -> tuple[set[str], list[tuple[Any, str]], bool]:
    """Every string value (container images aside), every label pair, empty selectors."""
    strings: set[str] = set()
    pairs: list[tuple[Any, str]] = []
    empty = False
    add = strings.add
    stack = [data]
    pop, push = stack.pop, stack.append
    while stack:
        d = pop()
        if type(d) is list:
            for v in d:
                t = type(v)
                if t is str:
                    add(v)
                elif t is dict or t is list:
                    push(v)
            continue
        for key, v in d.items():
            t = type(v)
            if t is str:
                if key != "image":  # container images: registry hosts, not mesh hosts
                    add(v)
            elif t is dict:
                if key in _LABEL_KEYS:
                    got = False
                    for lk, lv in v.items():
                        if type(lv) is str:
                            pairs.append((lk, lv))
                            got = True
                        elif lk not in _LABEL_KEYS:
                            empty = True  # matchExpressions and the like: assume anything
                    if not got and not any(x in v for x in _LABEL_KEYS):
                        empty = True
                elif key == "namespaceSelector":
                    empty = True
                push(v)
            elif t is list:
                if key == "matchExpressions":
                    empty = True
                push(v)
    return strings, pairs, empty


def _material(r: "Resource") -> tuple[set[str], list[Any], bool, list[str], set[str], set[str], set[str]]:
    # Identity fields are no reference: apiVersion, kind, metadata name and namespace.
    top = {key: v for key, v in r.data.items() if key not in ("apiVersion", "kind", "metadata")}
    top["metadata"] = {key: v for key, v in r.metadata.items() if key not in ("name", "namespace", "generateName")}
    strings, pairs, empty = _walk(top)
    imports: list[str] = []
    wild: set[str] = set()
    for s in [s for s in strings if "/" in s]:
        pieces = s.split("/")
        strings.update(pieces)
        for a, b in zip(pieces, pieces[1:], strict=False):
            if b in ("*", "~") and a != "*":
                imports.append(a)
            elif b == "*":
                wild.add("*")
    dotted: set[str] = set()
    labels: set[str] = set()
    for p in [s for s in strings if "." in s and "/" not in s]:
        if p.startswith("*."):
            wild.add(p)
        elif not p.startswith("."):
            dotted.add(p)
            dotted.add(p.lower())
            labels.update(p.split("."))
    return strings, pairs, empty, imports, wild, dotted, labels


def resolved(r: "Resource", domain: str) -> tuple[Any, ...]:
    """The keys of a resource but the namespaces it mentions (which depend on the whole
    project), as plain data: a function of its data, its namespace and the cluster domain,
    cached per file (:meth:`Closure._load`).  ``(strings, pairs, empty, imports, wild, typed,
    dotted, labels, egress)``, ``egress`` None or ``(imports, wild, typed, dotted)``."""
    ns = r.namespace
    strings, pairs, empty, imports_, wild, dotted, labels = _material(r)
    imports = {ns if a in (".", "") else a for a in imports_}
    typed: set[str] = set()
    if isinstance(r, Service):
        typed.add(kube_fqdn(r.name, ns, domain))
    egress = None
    if isinstance(r, (Sidecar, Gateway)):
        # The hosts a Sidecar imports and a Gateway's servers admit matter to their own
        # findings (IVL414, IVL506, IVL70x) only: the routes bound to a Gateway reach it by
        # name, a Sidecar's clients reach the same hosts directly (a "*" would tie everything).
        e_typed: set[str] = set()
        if isinstance(r, Sidecar):
            _add_hosts(imports, wild, e_typed, (h for h, _ in r.egress_hosts), ns, domain)
        else:
            _add_hosts(imports, wild, e_typed, (h for srv in r.servers for h in srv.hosts), ns, domain)
        egress = (sorted(imports), sorted(wild), sorted(e_typed), sorted(dotted))
        imports, wild, dotted = set(), set(), set()
    else:
        _add_hosts(imports, wild, typed, _typed_hosts(r), ns, domain)
    if isinstance(r, WorkloadController):
        pairs.extend(r.pod.labels.items())
    if r.kind == "Namespace":
        pairs = []  # namespaces are selected through the namespace-wide policy link
    return (sorted(strings), pairs, empty, sorted(imports), sorted(wild), sorted(typed),
            sorted(dotted), list(labels), egress)


def _unpack(t: tuple[Any, ...], namespaces: set[str]) -> _Keys:
    strings, pairs, empty, imports, wild, typed, dotted, labels, egress = t
    k = _Keys()
    k.strings = set(strings)
    k.pairs = [tuple(x) for x in pairs]
    k.empty = bool(empty)
    k.imports, k.wild, k.typed, k.dotted = set(imports), set(wild), set(typed), set(dotted)
    k.mentions = (k.strings & namespaces) | (namespaces.intersection(labels))
    k.mentions.discard("")
    if egress is not None:
        k.egress = eg = _Keys()
        eg.imports, eg.wild, eg.typed, eg.dotted = (set(x) for x in egress)
    return k


def _valid(t: Any) -> bool:
    """The shape :func:`resolved` returns (a cached entry of another shape is a miss); checked
    for every context resource of a warm run, so without generators."""
    if type(t) is not tuple or len(t) != 9 or type(t[2]) is not bool:
        return False
    strings, pairs, _, imports, wild, typed, dotted, labels, eg = t
    if not (type(strings) is list and type(pairs) is list and type(imports) is list and type(wild) is list
            and type(typed) is list and type(dotted) is list and type(labels) is list):
        return False
    for p in pairs:
        if type(p) is not tuple or len(p) != 2:
            return False
    return eg is None or (type(eg) is tuple and len(eg) == 4 and type(eg[0]) is list and type(eg[1]) is list
                          and type(eg[2]) is list and type(eg[3]) is list)


def _add_hosts(imports: set[str], wild: set[str], typed: set[str], hosts: Iterable[str], ns: str,
               domain: str) -> None:

    for h in hosts:
        if not h:
            continue
        if "/" in h:  # ns/host (Sidecar, Gateway): "ns/*" is every host of ns, "*/..." any namespace
            a, _, h = h.rpartition("/")
            if h == "*" and a != "*":
                imports.add(ns if a in (".", "~", "") else a)
                continue
        full = resolve_host(h, ns, domain)
        (wild if full.startswith("*") else typed).add(full)


def _typed_hosts(r: "Resource") -> Iterable[str]:

    if isinstance(r, VirtualService):
        yield from r.hosts
        for d in r.destinations:
            yield d.host
    elif isinstance(r, DestinationRule):
        yield r.host
    elif isinstance(r, ServiceEntry):
        yield from r.hosts


def _ns_of(r: "Resource") -> str:
    return r.name if r.kind == "Namespace" else r.namespace


class Closure:
    """The relevance index of one project (computed once per run).

    Without a cache every resource is indexed.  With one, a context file read as it is has
    its key set cached (``U`` entries: every :func:`_enc` key its resources are indexed
    under, and its wildcard hosts): each step of the expansion is first tried on a probe
    (:class:`Probe`), and the files whose key set holds a key it looks up (or a host a
    wildcard it looks up matches) are indexed before the step is taken.  A file not indexed
    has no resource under any key the step looks up: the step finds what it finds with the
    whole repository indexed."""

    def __init__(self, project: "Project", domain: str, root_ns: str, cache: Optional["ParseCache"] = None) -> None:

        self.project = project
        self.root_ns = root_ns
        self.domain = domain
        self.cache = cache
        res = project.resources
        self.namespaces: set[str] = set()
        self.names: set[str] = set()
        self._raw: list[Optional[tuple[Any, ...]]] = [None] * len(res)
        self._keys: dict[int, _Keys] = {}
        self.ix = Index()
        self.wild: list[tuple[str, int]] = []
        self.gateways: list[int] = []
        self.pods: list[int] = []
        # files not indexed yet: (first resource, resource count, cache key, key set)
        self._pending: list[tuple[int, int, bytes, frozenset[str]]] = []
        self._hosts: Optional[dict[str, list[int]]] = None  # host -> pending file numbers
        by_file: dict[int, list[int]] = {}
        add_ns, add_name = self.namespaces.add, self.names.add
        for i, r in enumerate(res):
            add_ns(r.namespace)
            add_name(r.name)
            if r.kind == "Namespace":
                add_ns(r.name)
            if isinstance(r, WorkloadController):
                self.pods.append(i)
            elif isinstance(r, Gateway) and r.selector:
                self.gateways.append(i)
            got = by_file.get(id(r.source))
            if got is None:
                by_file[id(r.source)] = [i]
            else:
                got.append(i)
        for idx in by_file.values():
            if idx[-1] - idx[0] == len(idx) - 1:
                self._file(idx[0], idx[-1] + 1)
            else:  # not one run of the resources (never so today): indexed at once
                for i in idx:
                    self._index(i, i + 1)

    def _file(self, start: int, end: int) -> None:
        res, cache = self.project.resources, self.cache
        group = res[start:end]
        src = group[0].source
        if cache is None or src.raw is None or any(r.origins for r in group):
            self._index(start, end)
            return
        h = hashlib.blake2b(marshal.dumps((cache.key_of(src.raw), [r.namespace for r in group], self.domain), 2),
                            digest_size=16).digest()
        got = cache.derived(b"U" + h)
        if (type(got) is tuple and len(got) == 2 and type(got[0]) is frozenset and type(got[1]) is list
                and all(type(w) is tuple and len(w) == 2 and type(w[0]) is int and 0 <= w[0] < end - start
                        and type(w[1]) is str for w in got[1])):
            self._pending.append((start, end, h, got[0]))
            self.wild.extend((w, start + n) for n, w in got[1])
            return
        raw = self._load(start, end, h)
        self._index(start, end, h)
        keys = frozenset(enc(tag, key) for r, t in zip(group, raw, strict=True)
                         for tag, key in entries(r, t, None, self.namespaces))
        cache.put_derived(b"U" + h, (keys, [(n, w) for n, t in enumerate(raw) for w in wild_of(t)]))

    def _load(self, start: int, end: int, h: Optional[bytes]) -> list[tuple[Any, ...]]:
        """The :func:`resolved` keys of the resources of one file (``R`` entries, cached by
        the file's content, namespaces and the cluster domain)."""
        res, cache = self.project.resources, self.cache
        if self._raw[start] is not None:
            return self._raw[start:end]  # type: ignore[return-value]
        got = cache.derived(b"R" + h) if cache is not None and h is not None else None
        if isinstance(got, list) and len(got) == end - start and all(_valid(t) for t in got):
            raw = got
        else:
            raw = [resolved(r, self.domain) for r in res[start:end]]
            if cache is not None and h is not None:
                cache.put_derived(b"R" + h, raw)
        self._raw[start:end] = raw
        return raw

    def _index(self, start: int, end: int, h: Optional[bytes] = None, wild: bool = True) -> None:
        raw = self._load(start, end, h)
        res, d = self.project.resources, self.ix.d
        for i, t in enumerate(raw, start):
            for tag, key in entries(res[i], t, self.names, self.namespaces):
                d[tag][key].append(i)
            if wild:
                self.wild.extend((w, i) for w in wild_of(t))

    def _prepare(self, probe: Probe) -> None:
        """Index the pending files a step tried on ``probe`` can find anything in."""
        if not self._pending:
            return
        keys = probe.keys
        take = {n for n, p in enumerate(self._pending) if not keys.isdisjoint(p[3])}
        if probe.patterns:
            if self._hosts is None:
                self._hosts = defaultdict(list)
                for n, p in enumerate(self._pending):
                    for k in p[3]:
                        if k[:2] in ("T\0", "D\0"):
                            self._hosts[k[2:]].append(n)
            for w in probe.patterns:
                for host, files in self._hosts.items():
                    if host_matches(w, host):
                        take.update(files)
        if take:
            for n in sorted(take):
                start, end, digest, _ = self._pending[n]
                self._index(start, end, digest, wild=False)
            self._pending = [p for n, p in enumerate(self._pending) if n not in take]
            self._hosts = None

    def raw(self, i: int) -> tuple[Any, ...]:
        t = self._raw[i]
        if t is None:
            for start, end, h, _ in self._pending:
                if start <= i < end:
                    return self._load(start, end, h)[i - start]
        return t  # type: ignore[return-value]

    def key(self, i: int) -> _Keys:
        """The keys of resource ``i`` (built on demand: the expansion visits few)."""
        k = self._keys.get(i)
        if k is None:
            k = self._keys[i] = _unpack(self.raw(i), self.namespaces)
        return k

    def _expander(self, ix: Any) -> Callable[..., set[int]]:
        """A function giving the resources one step from ``i`` (depending on it or depended on),
        each key looked up once per closure.  ``dependents``: also the Sidecars importing
        the hosts of its namespace (who depends on it; only its own findings read them)."""

        res = self.project.resources
        seen: set[Any] = set()
        domain = self.domain
        get = ix.get
        names = self.names

        def once(key: Any) -> bool:
            if key in seen:
                return False
            seen.add(key)
            return True

        def step(i: int, own: bool = False, dependents: bool = False) -> set[int]:
            out: set[int] = set()
            k = self.key(i)
            if own and k.egress is not None:
                out |= hosts(i, k.egress, False)
            return out | hosts(i, k, dependents) | links(i, own)

        def hosts(i: int, k: _Keys, dependents: bool) -> set[int]:
            ns = res[i].namespace
            out: set[int] = set()
            # hosts: typed hosts and dotted strings, exactly and through wildcards
            for h in k.typed | k.dotted:
                if once(("h", h)):
                    out.update(get("T", h))
                    out.update(get("D", h))
                    out.update(j for w, j in self.wild if host_matches(w, h))
            for w in k.wild:
                if once(("w", w)):
                    out.update(j for x, j in self.wild if host_matches(w, x) or host_matches(x, w))
                    out.update(ix.hosts_matching(w))
            for a in k.imports:
                if once(("i", a)):
                    out.update(get("H", a))
            if dependents and (k.typed or k.wild):
                out.update(get("I", ns))
                out.update(get("I", "*"))
            return out

        def links(i: int, reverse: bool) -> set[int]:
            r, k = res[i], self.key(i)
            ns = r.namespace
            out: set[int] = set()
            # names it mentions (in its namespace and the namespaces it names) and who names it
            named = names.intersection(k.strings)  # (only the name of a resource finds one)
            for t in k.mentions | {ns}:
                for s in named:
                    if once(("n", t, s)):
                        out.update(get("M", (t, s)))
            if reverse:  # who names it: read by its own findings only
                out.update(get("S", (ns, r.name)))
                if r.kind == "Namespace":
                    out.update(get("S", (r.name, r.name)))
            # policies of its namespace and of the root namespace; selectors without pairs
            for t in (ns, self.root_ns):
                if once(("p", t)):
                    out.update(get("P", t))
                    out.update(get("E", t))
            for s in k.strings:  # short names, resolved in its namespace
                if s and "." not in s and "/" not in s:
                    h = f"{s}.{ns}.svc.{domain}"
                    if once(("h", h)):
                        out.update(get("T", h))
                        out.update(get("D", h))
                        out.update(j for w, j in self.wild if host_matches(w, h))
            # labels: pair by pair within the namespace; a selector without pairs takes all
            for pair in k.pairs:
                if once(("l", ns, pair)):
                    out.update(get("L", (ns, pair)))
            if k.empty and once(("e", ns)):
                out.update(get("N", ns))
            # a Gateway's selector picks pods in every namespace
            if isinstance(r, Gateway) and r.selector:
                pairs = r.selector.items()
                for j in self.pods:
                    labels = res[j].pod.labels  # type: ignore[attr-defined]
                    if all(labels.get(a) == b for a, b in pairs):
                        out.add(j)
            if isinstance(r, WorkloadController):
                labels = r.pod.labels
                for j in self.gateways:
                    sel: dict[str, str] = res[j].selector or {}  # type: ignore[attr-defined]
                    if all(labels.get(a) == b for a, b in sel.items()):
                        out.add(j)
            out.discard(i)
            return out

        return step

    def _take(self, step: Callable[[Any], Optional[set[int]]]) -> Optional[set[int]]:
        """``step(index)``, with every file it can find anything in indexed first."""
        if self._pending:
            probe = Probe()
            step(probe)
            self._prepare(probe)
        return step(self.ix)

    def subjects(self, named: Iterable[int], copies: dict[Any, list["Resource"]]) -> set[int]:
        """Indexes of the resources the reviewed rules iterate in a run on ``named``.

        *Reported* are the named resources and every resource connected to them (whose
        findings they can have caused).  The subjects are the reported resources, every
        resource connected to one of them (a rule that iterates one resource may report on
        another: the two are connected, being compared or resolved), and the whole namespace
        of the named resources; copies of an object come together."""
        res = self.project.resources
        index = {id(r): i for i, r in enumerate(res)} if copies else {}
        copy_of: dict[int, list[int]] = {}
        for cs in copies.values():
            idx = [index[id(c)] for c in cs if id(c) in index]
            for j in idx:
                copy_of[j] = idx
        seeds = set(named)
        for i in list(seeds):
            seeds.update(copy_of.get(i, ()))

        def near(ix: Any) -> Optional[set[int]]:
            step = self._expander(ix)
            reported = set(seeds)
            for i in seeds:
                reported |= step(i, True, True)
                r = res[i]
                if r.kind in POLICY_KINDS:  # a namespace-wide policy (root namespace: mesh-wide)
                    if _ns_of(r) == self.root_ns:
                        return None
                    reported.update(ix.get("N", _ns_of(r)))
            return reported

        got = self._take(near)
        if got is None:
            return set(range(len(res)))
        reported = got
        for i in list(reported):
            reported.update(copy_of.get(i, ()))

        def around(ix: Any) -> set[int]:
            step = self._expander(ix)
            out = set(reported)
            for i in seeds:
                out.update(ix.get("N", _ns_of(res[i])))
            for i in reported:  # own hosts (a Sidecar's imports, a Gateway's servers): its rules only
                out |= step(i, i in seeds, True)
            return out

        out = self._take(around)
        assert out is not None
        for i in list(out):
            out.update(copy_of.get(i, ()))
        self.reported = reported
        return out


def subjects_for(project: "Project", copies: dict[Any, list["Resource"]], domain: str,
                 root_ns: str, cache: Optional["ParseCache"] = None) -> Optional[set[int]]:
    """``id`` of the resources the reviewed rules iterate in a run on the named files of
    ``project``, or None when that is all of them (or the closure is switched off)."""
    if not enabled():
        return None
    res = project.resources
    named = [i for i, r in enumerate(res) if r.source.report or (r.origins and any(o.source.report for o in r.origins))]
    c = Closure(project, domain, root_ns, cache)
    members = c.subjects(named, copies)
    if len(members) >= len(res):
        return None
    return {id(res[i]) for i in members}


Subjects = tuple[Callable[[str], bool], Callable[["Resource"], bool]]


def subjects(project: "Project", copies: dict[Any, list["Resource"]], settings: "Settings", root_ns: str,
             cache: Optional["ParseCache"] = None) -> Optional[Subjects]:
    """For ``engine.collect_problems``: (the reviewed rules, the subjects they iterate), or
    None when they iterate everything."""
    ids = subjects_for(project, copies, settings.cluster_domain, root_ns, cache)
    if ids is None:
        return None
    from .rule import Subset

    return REVIEWED.__contains__, Subset(lambda res: id(res) in ids)


def enabled() -> bool:
    """The closure can be switched off (``ISTIO_VM_LINT_NO_CLOSURE=1``): for comparisons."""
    return os.environ.get("ISTIO_VM_LINT_NO_CLOSURE", "") in ("", "0")


