"""The rule contract: metadata plus a ``check(ctx)`` generator of :class:`Problem`.

A rule module in ``rules/`` declares rules with the :func:`rule` decorator::

    @rule(
        code="IVL101", family="selectors", name="service-entry-selector-matches-nothing", severity="error",
        summary="...", rationale="... (docs/semantics.md §serviceentry-selection)",
        bad="<yaml>", good="<yaml>", inputs=("ServiceEntry", "WorkloadEntry"),
        equivalents=("KIA...",),
    )
    def check(ctx):
        for se in ctx.each(ServiceEntry):   # typed: yields ServiceEntry
            ...
            yield Problem(se, ("spec", "workloadSelector", "labels"), "message")

``family`` is the rule's group as listed by ``rules --format json`` and docs/rules.md; it is
given explicitly so that moving a rule between modules never changes the published metadata.
``inputs`` lists the kinds the rule reads: a rule is skipped when none of them is present,
and the engine can say which kinds were searched.  Codes are stable forever once published.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, TypeVar, Union, overload

from .findings import SEVERITIES, Problem

if TYPE_CHECKING:  # pragma: no cover
    from .config import Settings
    from .graph import MeshGraph
    from .mesh import MeshConfig
    from .model import Resource
    from .networks import NetworkFacts
    from .project import LoadProblem, Project

R = TypeVar("R", bound="Resource")
T = TypeVar("T")

CODE_RE = re.compile(r"^IVL\d{3}$")
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FAMILY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SCOPES = ("repository", "resource")


@dataclass(frozen=True)
class Rule:
    """A rule's metadata and its ``check(ctx)`` (see the module docstring)."""

    code: str
    name: str
    severity: str
    summary: str
    # The rationale and the bad and good examples as written in the decorator (indented):
    # read them as ``rationale``, ``bad`` and ``good``, dedented on first use.  A lint run
    # reads none of them, and dedenting the ~500 texts at import was a measurable part of
    # every run's start-up.
    rationale_text: str
    bad_text: str
    good_text: str
    check: Callable[["Context"], Iterable[Problem]] = field(repr=False, compare=False)
    inputs: tuple[str, ...] = ()
    equivalents: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    family: str = ""
    # When the severity of a finding depends on what the repository can know (a host in a
    # namespace the repository says nothing about is info, not error): how it is chosen.
    # `rules` marks such rules, `explain`, SARIF help and docs/rules.md show the text, and
    # each lowered finding says why in its message.
    severity_note: str = ""
    # "resource": the rule's problems about a resource depend on that resource alone (and the
    # settings), never on another resource: schema (IVL010/IVL011) and webhook validation
    # (IVL6xx).  In a run on named files (pre-commit) such a rule only sees the named files'
    # resources (``Context.each``); see ``lint/units/run.py`` run_unit for the rejection verdicts
    # of context resources.  "repository" (the default): cross-resource, sees everything.
    scope: str = "repository"

    @property
    def rationale(self) -> str:
        return _dedent_cached(self.rationale_text)

    @property
    def bad(self) -> str:
        return _dedent_cached(self.bad_text)

    @property
    def good(self) -> str:
        return _dedent_cached(self.good_text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "family": self.family,
            "summary": self.summary,
            "rationale": self.rationale,
            "bad": self.bad,
            "good": self.good,
            "inputs": list(self.inputs),
            "equivalents": list(self.equivalents),
            "references": list(self.references),
            "severity_note": self.severity_note,
        }


_DECLARED: list[Rule] = []


def rule(*, code: str, family: str, name: str, severity: str, summary: str, rationale: str, bad: str, good: str,
         inputs: Iterable[str] = (), equivalents: Iterable[str] = (),
         references: Iterable[str] = (), severity_note: str = "", scope: str = "repository") -> Callable[[Callable[["Context"], Iterable[Problem]]], Callable[["Context"], Iterable[Problem]]]:
    if not CODE_RE.match(code):
        raise ValueError(f"bad rule code {code!r}")
    if not FAMILY_RE.match(family):
        raise ValueError(f"bad family {family!r} for {code} (snake_case, e.g. 'selectors')")
    if not NAME_RE.match(name):
        raise ValueError(f"rule name must be kebab-case: {name!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"bad severity {severity!r} for {code}")
    if scope not in SCOPES:
        raise ValueError(f"bad scope {scope!r} for {code} (one of {', '.join(SCOPES)})")

    def deco(fn: Callable[["Context"], Iterable[Problem]]) -> Callable[["Context"], Iterable[Problem]]:
        _DECLARED.append(Rule(code, name, severity, summary.strip(), rationale, bad, good, fn, tuple(inputs), tuple(equivalents), tuple(references), family,
                              " ".join(severity_note.split()), scope))
        return fn

    return deco


def _dedent(text: str) -> str:
    """``textwrap.dedent(text).strip("\\n")`` with string methods instead of its regular
    expressions: three calls per rule at import time were a measurable part of the cold start
    of a one-file run.  Same result (tests/test_rule_dedent.py compares them): lines of only
    spaces and tabs become empty, then the longest common run of leading spaces/tabs of the
    other lines is removed from every line that starts with it."""
    lines = ["" if not line.strip(" \t") else line for line in text.split("\n")]
    indents = [line[:len(line) - len(line.lstrip(" \t"))] for line in lines if line]
    margin = os.path.commonprefix(indents) if indents else ""
    if margin:
        lines = [line[len(margin):] if line.startswith(margin) else line for line in lines]
    return "\n".join(lines).strip("\n")


_dedent_cached = lru_cache(maxsize=None)(_dedent)


def declared_rules() -> list[Rule]:
    return list(_DECLARED)


class Subset:
    """A resource filter (``Context.resource_filter``) applied once per kind and project: a
    rule's ``each`` iterates the kept resources of a kind, not every resource of it through
    the predicate (a named-file run filters with one of these for each of ~100 rules)."""

    __slots__ = ("test", "_kept")

    def __init__(self, test: Callable[["Resource"], bool]) -> None:
        self.test = test
        # id(project) -> (the project, kind -> kept resources); holding the project keeps its
        # id from being reused by another while the entry lives.
        self._kept: dict[int, tuple["Project", dict[str, list["Resource"]]]] = {}

    def __call__(self, r: "Resource") -> bool:
        return self.test(r)

    def kinds(self, project: "Project", names: Iterable[str]) -> list["Resource"]:
        """``[r for r in project.kinds(*names) if self(r)]``."""
        got = self._kept.get(id(project))
        if got is None or got[0] is not project:
            got = self._kept[id(project)] = (project, {})
        kept = got[1]
        out: list["Resource"] = []
        test = self.test
        for k in names:
            these = kept.get(k)
            if these is None:
                these = kept[k] = [r for r in project.by_kind(k) if test(r)]
            out.extend(these)
        return out


_NOT_MEMOISED = object()


class Context:
    """What a rule sees: the project, the settings and (lazily) the mesh graph."""

    def __init__(self, project: "Project", settings: "Settings") -> None:
        self.project = project
        self.settings = settings
        self.current: Optional["Resource"] = None  # last resource handed out by each()
        # Set by the engine while a rule runs: when not None, each() yields only the resources
        # this predicate accepts (a scope="resource" rule in a named-file run).
        self.resource_filter: Optional[Callable[["Resource"], bool]] = None
        # Set while the rejection verdicts of a named-file run's context resources are found
        # (``lint/units/run.py``): only error findings are wanted, so a rule may skip analyses
        # that only warn (``rules/_validation_helpers/issues.py`` errors_only).
        self.errors_only = False
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """Per-run state shared by rules: ``compute()`` once per context and key (e.g. the
        effective views several IVL4xx rules read), never a module-level cache or an
        attribute set on the context."""
        if self.resource_filter is not None:  # computed over a subset: not for other rules
            key = ("filtered", id(self.resource_filter), key)
        value = self._memo.get(key, _NOT_MEMOISED)  # (not try/except: most keys are asked once)
        if value is _NOT_MEMOISED:
            value = self._memo[key] = compute()
        return value  # type: ignore[no-any-return]

    @cached_property
    def mesh(self) -> "MeshConfig":
        """The mesh config named by the ``mesh-config`` setting (defaults when unset)."""
        from .mesh import MeshConfig, load_mesh_config

        path = getattr(self.settings, "mesh_config", None)
        return load_mesh_config(path) if path else MeshConfig()

    @cached_property
    def root_namespace(self) -> str:
        """Istio's root namespace (where mesh-wide DestinationRules, PeerAuthentications... live):
        the ``root-namespace`` setting when it is not the default, else the ``rootNamespace`` of
        the ``--mesh-config`` file, else istio-system."""
        from .defaults import ROOT_NAMESPACE

        configured = self.settings.root_namespace
        if configured != ROOT_NAMESPACE or not getattr(self.settings, "mesh_config", None):
            return configured
        return self.mesh.root_namespace or configured

    @cached_property
    def graph(self) -> "MeshGraph":
        from .graph import build_graph

        return build_graph(self.project, self.settings, self.root_namespace)

    @overload
    def each(self, kind: type[R], /) -> Iterator[R]: ...

    @overload
    def each(self, *kinds: Union[str, type["Resource"]]) -> Iterator["Resource"]: ...

    def each(self, *kinds: Union[str, type["Resource"]]) -> Iterator["Resource"]:
        """Iterate resources of the given kinds, remembering the current one for IVL000.

        A kind is a name (``"ServiceEntry"``) or a model class (``ServiceEntry``: typed, every
        kind the model builds with that class or a subclass, e.g. ``WorkloadController`` gives
        Deployments ... Pods)."""
        keep = self.resource_filter
        names = _kind_names(kinds)
        if keep is None:
            found: Iterable["Resource"] = self.project.kinds(*names)
        elif type(keep) is Subset:
            found = keep.kinds(self.project, names)
        else:
            found = (r for r in self.project.kinds(*names) if keep(r))
        for r in found:
            self.current = r
            yield r
        self.current = None

    @overload
    def resources(self, kind: type[R], /) -> list[R]: ...

    @overload
    def resources(self, *kinds: Union[str, type["Resource"]]) -> list["Resource"]: ...

    def resources(self, *kinds: Union[str, type["Resource"]]) -> list["Resource"]:  # type: ignore[misc]
        """The resources of the given kinds (names or model classes) as a list, in the project's
        stable order; unlike :meth:`each` it does not mark them as the one being checked."""
        return self.project.kinds(*_kind_names(kinds))

    @property
    def kinds_present(self) -> set[str]:
        return self.project.kinds_present

    @property
    def gateway_api(self) -> dict[tuple[str, str], list[Optional[str]]]:
        """Kubernetes Gateway API Gateways: (namespace, name) -> listener hostnames (None = any)."""
        return self.project.gateway_api

    @property
    def gateway_api_networks(self) -> dict[tuple[str, str], str]:
        """Gateway API Gateways labelled ``topology.istio.io/network``: (namespace, name) -> network."""
        return self.project.gateway_api_networks

    @property
    def gateway_api_accounts(self) -> dict[str, set[str]]:
        """Service accounts of the deployments Istio creates for Gateway API Gateways: namespace -> names."""
        return self.project.gateway_api_accounts

    @property
    def network_facts(self) -> "NetworkFacts":
        """meshNetworks and IstioOperator east-west gateways in the repository (lint/networks.py)."""
        return self.project.network_facts

    @property
    def operator_clusters(self) -> list[tuple[Optional[str], tuple[str, str, str]]]:
        """(file, (meshID, cluster name, network)) of each IstioOperator in the repository."""
        return self.project.operator_clusters

    @property
    def trust_domains(self) -> Optional[set[str]]:
        """The mesh config's trust domain and aliases in the repository, None without a mesh config."""
        return self.project.trust_domains

    @property
    def extension_providers(self) -> Optional[dict[str, tuple[str, str, Optional[int]]]]:
        """The mesh config's extension providers in the repository, None without a mesh config."""
        return self.project.extension_providers

    def file_writing(self, name: str, skip: Iterable[str] = ()) -> Optional[str]:
        """The first file of the unit (other than ``skip``) that writes ``name`` as a whole name,
        parsed or not: where a definition the model does not read (an operator's resource, Helm
        values, a template) may be."""
        from .units.opaque import mentions

        needle, skipped = name.encode(), set(skip)
        for src in self.project.files:
            raw = src.raw
            if raw and src.path not in skipped and needle in raw and mentions(raw.decode("utf-8", "replace"), name):
                return src.path
        return None

    @property
    def load_problems(self) -> list["LoadProblem"]:
        """What the loader reported (parse errors, duplicate keys...), for the document rules."""
        return self.project.problems


def _kind_names(kinds: Iterable[Union[str, type["Resource"]]]) -> list[str]:
    names: list[str] = []
    for k in kinds:
        names.extend((k,) if isinstance(k, str) else kinds_of(k))  # type: ignore[arg-type]
    return names



@cache
def kinds_of(cls: type["Resource"]) -> tuple[str, ...]:
    """The kind names whose resources the model builds as ``cls`` (or a subclass of it)."""
    from .model import KINDS

    out = tuple(dict.fromkeys(kind for (_group, kind), (c, _versions) in KINDS.items() if issubclass(c, cls)))
    if not out:
        raise ValueError(f"{cls.__name__} is not a class of any kind the model reads")
    return out
