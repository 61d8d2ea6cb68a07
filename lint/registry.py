"""The rule registry: every rule of ``istio_vm_lint.rules``, by code.

A module of its own so that both the configuration (which validates ``select``/``ignore``
codes against it) and the engine (which runs the rules) import it without importing each
other.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Optional

from .rule import Rule, declared_rules

_RULES: Optional[dict[str, Rule]] = None


def all_rules() -> dict[str, Rule]:
    """Every rule, by code: imports each module of ``istio_vm_lint.rules`` once."""
    global _RULES
    if _RULES is None:
        from . import rules as rules_pkg  # type: ignore[attr-defined]

        for name in rule_modules(rules_pkg):
            importlib.import_module(name)
        out: dict[str, Rule] = {}
        for r in declared_rules():
            if r.code in out:
                raise RuntimeError(f"rule code {r.code} declared twice ({out[r.code].family}, {r.family})")
            out[r.code] = r
        _RULES = dict(sorted(out.items()))
    return _RULES


def rule_modules(package: Any) -> list[str]:
    """The modules that declare rules: every module of the package and of its subpackages
    (one package per family where a family is large), skipping names that start with ``_``
    (shared helpers)."""
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
