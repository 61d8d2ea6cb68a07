"""The rule registry: every rule of ``istio_vm_lint.rules``, by code.

A module of its own so that both the configuration (which validates ``select``/``ignore``
codes against it) and the engine (which runs the rules) import it without importing each
other.

:func:`all_rules` is a :class:`RuleTable`: a read-only mapping of every code (sorted) to its
rule, which imports a rule's module the first time the rule is looked up.  The codes, each
rule's module and the kinds it reads (``Rule.inputs``) come from ``rules/_index.py``, written
by ``tools/gen_rules_doc.py`` from the rules themselves (:func:`scan_rules`); so a run on a
file with no Gateway imports no module whose rules all read Gateways (the engine asks
:meth:`RuleTable.inputs` before it looks a rule up), and ``--select`` is validated without
importing any.  Listing every rule (``values()``, ``items()``: ``rules``, SARIF, the docs)
imports every module and checks the index against what they declare: a stale index fails
loudly there and in ``tests/test_rule_index.py``, never by a rule silently not running.
"""

from __future__ import annotations

import importlib
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from typing import Any, Optional

from .rule import Rule, declared_rules

PACKAGE = __package__ + ".rules"
INDEX_COMMAND = "python tools/gen_rules_doc.py"
IndexEntry = tuple[str, tuple[str, ...]]  # (module under the rules package, Rule.inputs)

# The table; tests may put a plain dict here (the engine then reads a rule's inputs from it).
_RULES: Optional[Mapping[str, Rule]] = None


def all_rules() -> Mapping[str, Rule]:
    """Every rule, by code (sorted); a rule's module is imported when the rule is looked up."""
    global _RULES
    if _RULES is None:
        from .rules._index import RULES  # type: ignore[import-not-found]  # generated

        _RULES = RuleTable(RULES)
    return _RULES


class StaleIndex(RuntimeError):
    pass


class RuleTable(Mapping[str, Rule]):
    """Code -> rule, for every code of the index; see the module docstring."""

    def __init__(self, index: Mapping[str, IndexEntry]) -> None:
        self._index = index
        self._codes = sorted(index)
        self._rules: dict[str, Rule] = {}
        self._taken = 0  # how many of rule.declared_rules() are in _rules
        self._complete = False

    def inputs(self, code: str) -> tuple[str, ...]:
        """``Rule.inputs`` of ``code`` without importing its module."""
        return self._index[code][1]

    def __getitem__(self, code: str) -> Rule:
        r = self._rules.get(code)
        if r is not None:
            return r
        module = self._index[code][0]  # KeyError: not a rule code
        importlib.import_module(f"{PACKAGE}.{module}")
        self._take_declared()
        r = self._rules.get(code)
        if r is None:
            raise StaleIndex(f"rules/_index.py names {code} in {module}, which does not declare it: run {INDEX_COMMAND}")
        return r

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def __contains__(self, code: object) -> bool:
        return code in self._index

    def values(self) -> ValuesView[Rule]:
        self.load_all()
        return ValuesView(self)

    def items(self) -> ItemsView[str, Rule]:
        self.load_all()
        return ItemsView(self)

    def load_all(self) -> None:
        """Import every rule module; raise :class:`StaleIndex` unless they declare exactly
        the rules of the index, in the modules and with the inputs it says."""
        if self._complete:
            return
        declared = scan_rules()
        self._take_declared()
        wrong = index_differences(self._index, index_entries(declared))
        if wrong:
            raise StaleIndex(f"rules/_index.py is stale ({'; '.join(wrong[:5])}): run {INDEX_COMMAND}")
        self._complete = True

    def _take_declared(self) -> None:
        declared = declared_rules()
        for r in declared[self._taken:]:
            if r.code in self._rules:
                raise RuntimeError(f"rule code {r.code} declared twice ({self._rules[r.code].family}, {r.family})")
            self._rules[r.code] = r
        self._taken = len(declared)


def scan_rules() -> dict[str, Rule]:
    """Every rule, by code, found by importing every module of the rules package (what the
    index is generated from)."""
    from . import rules as rules_pkg  # type: ignore[attr-defined]

    for name in rule_modules(rules_pkg):
        importlib.import_module(name)
    out: dict[str, Rule] = {}
    for r in declared_rules():
        if r.code in out:
            raise RuntimeError(f"rule code {r.code} declared twice ({out[r.code].family}, {r.family})")
        out[r.code] = r
    return dict(sorted(out.items()))


def rule_modules(package: Any) -> list[str]:
    """The modules that declare rules: every module of the package and of its subpackages
    (one package per family where a family is large), skipping names that start with ``_``
    (shared helpers)."""
    import pkgutil  # deferred: a run imports the rule modules through the index

    out: list[str] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        name = f"{package.__name__}.{info.name}"
        if info.ispkg:
            out.extend(rule_modules(importlib.import_module(name)))
        else:
            out.append(name)
    return out


def index_entries(rules: Mapping[str, Rule]) -> dict[str, IndexEntry]:
    """What the index says of each rule: the module that declares it and its inputs."""
    out: dict[str, IndexEntry] = {}
    for code, r in rules.items():
        module = r.check.__module__
        if not module.startswith(PACKAGE + ".") or module.rsplit(".", 1)[-1].startswith("_"):
            raise RuntimeError(f"{code}: check function defined in {module}, not in a rule module of {PACKAGE}")
        out[code] = (module[len(PACKAGE) + 1:], tuple(r.inputs))
    return out


def index_differences(index: Mapping[str, IndexEntry], actual: Mapping[str, IndexEntry]) -> list[str]:
    out = [f"{c} missing" for c in sorted(set(actual) - set(index))]
    out += [f"{c} no longer declared" for c in sorted(set(index) - set(actual))]
    out += [f"{c}: {index[c]} but {actual[c]}" for c in sorted(set(index) & set(actual))
            if (index[c][0], tuple(index[c][1])) != actual[c]]
    return out


def index_source(rules: Mapping[str, Rule]) -> str:
    """The text of ``rules/_index.py`` for ``rules``."""
    lines = ['"""Generated by `' + INDEX_COMMAND + '` from the rule metadata: do not edit by hand.',
             "",
             "Which module declares each rule and the kinds it reads (``Rule.inputs``), so that a run",
             "imports only the rule modules that can apply (lint/registry.py).  tests/test_rule_index.py",
             'fails when it is stale."""',
             "",
             "RULES: dict[str, tuple[str, tuple[str, ...]]] = {"]
    for code, (module, inputs) in sorted(index_entries(rules).items()):
        lines.append(f"    {code!r}: ({module!r}, {inputs!r}),")
    lines.append("}")
    return "\n".join(lines) + "\n"
