"""Settings for one run: defaults, then the config file, then CLI flags.

The config file is ``.istio-vm-lint.toml`` or ``[tool.istio-vm-lint]`` in ``pyproject.toml``
at the repository root (see ``docs/ecosystem.md``, "Configuration reference").  GitOps
repositories usually have no ``pyproject.toml``, which is why the dotfile exists and wins.
Bad config is a usage error (exit 2) whose message names the file and the key, because a
typo silently ignored would make CI pass for the wrong reason.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Optional

from . import defaults
from .findings import SEVERITIES
from .registry import all_rules

CONFIG_FILES = (".istio-vm-lint.toml", "pyproject.toml")
PYPROJECT_TABLE = "istio-vm-lint"

# "ALL", a family prefix ("IVL", "IVL1", "IVL10") or a full code ("IVL101").
CODE_SELECTOR_RE = re.compile(r"^(ALL|IVL\d{0,3})$")


class ConfigError(Exception):
    """A configuration problem; the CLI prints it and exits 2."""


@dataclass
class Settings:
    """The settings of a run: defaults, then the config file, then the command line."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str = "error"
    default_namespace: str = defaults.DEFAULT_NAMESPACE
    cluster_domain: str = defaults.CLUSTER_DOMAIN
    root_namespace: str = defaults.ROOT_NAMESPACE
    # Hosts and namespaces that exist outside this repository (declared, not guessed).
    external_hosts: tuple[str, ...] = ()
    external_namespaces: tuple[str, ...] = ()
    # glob (relative to the root) -> code selectors that are ignored in matching files.
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # code selector -> severity; the longest matching selector wins.
    severity: dict[str, str] = field(default_factory=dict)
    warn_unused_suppressions: bool = False
    # Baseline file (relative to the root when read from a config file).
    baseline: Optional[str] = None
    # Istio mesh config (the `mesh` key of the istio ConfigMap, or a MeshConfig YAML file):
    # root namespace, DNS auto-allocation and default exportTo change what several rules mean.
    mesh_config: Optional[str] = None
    # Parse cache directory (see cache.py); None means no cache.  Opt-in: the linter writes
    # nothing the user did not ask for.
    cache_dir: Optional[str] = None
    # Deployment units (lint/units/): globs of directories that are each linted as one unit,
    # files added to every unit, and namespaces for namespace-less resources by path.
    units: tuple[str, ...] = ()
    shared_paths: tuple[str, ...] = ()
    namespaces: dict[str, str] = field(default_factory=dict)
    # Renderers: the command line to run (``kustomize build``, ``kubectl kustomize``, ``helm``);
    # None means "find one on PATH", "none" turns rendering off.  ``helm-values``: chart
    # directory glob -> values files (relative to the chart).
    kustomize_command: Optional[str] = None
    helm_command: Optional[str] = None
    helm_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Not a config key: the repository root, set by the CLI.  Fingerprints, baselines,
    # per-file-ignores and SARIF/GitHub paths are relative to it so that they do not depend
    # on the directory the linter was started from.
    root: Optional[str] = None
    # Not a config key: called as (done, total) while rules run (the CLI's progress line).
    progress: Optional[Callable[[int, int], None]] = field(default=None, repr=False, compare=False)


# Keys a config file may not set (runtime-only fields).
_RUNTIME_ONLY = {"root", "progress"}
_CODE_LIST_KEYS = {"select", "ignore", "extend_select"}
_LIST_KEYS = _CODE_LIST_KEYS | {"exclude", "external_hosts", "external_namespaces", "units", "shared_paths"}
_STR_KEYS = {"fail_on", "default_namespace", "cluster_domain", "root_namespace", "baseline", "mesh_config",
             "cache_dir", "kustomize_command", "helm_command"}


def config_keys() -> list[str]:
    """Every key a config file accepts, spelt as in the file (kebab-case)."""
    return [f.name.replace("_", "-") for f in fields(Settings) if f.name not in _RUNTIME_ONLY]


def codes(value: str | list[str] | tuple[str, ...] | None, key: str = "select", origin: str = "") -> tuple[str, ...]:
    """Parse ``IVL1,IVL203`` or a list into normalised code selectors.

    Raises :class:`ConfigError` naming ``key`` for anything that is not ``ALL`` or an
    ``IVL`` prefix: ``--ignore IVL-101`` must not silently select nothing.
    """
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else [p for v in value for p in str(v).split(",")]
    out = tuple(s.strip().upper() for s in items if s and s.strip())
    where = f"{origin}: " if origin else ""
    for c in out:
        if not CODE_SELECTOR_RE.match(c):
            raise ConfigError(f"{where}'{key.replace('_', '-')}': '{c}' is not a rule code or prefix "
                              "(expected ALL, IVL, IVL1, IVL10 or IVL101)")
    unknown = [c for c in out if not _matches_a_rule(c)]
    if unknown:
        # A typo such as `--select IVL999` would otherwise run nothing and exit 0: a CI gate
        # that passes because it checked nothing.
        raise ConfigError(f"{where}'{key.replace('_', '-')}': {', '.join(repr(c) for c in unknown)} "
                          "matches no rule (`istio-vm-lint rules` lists them)")
    return out


def _matches_a_rule(selector: str) -> bool:
    """Does ``selector`` (``ALL`` or a code prefix) select at least one registered rule?"""
    return any(match_length(code, (selector,)) for code in all_rules())


def match_length(code: str, selectors: Iterable[str]) -> int:
    """Specificity of the best selector matching ``code``: 0 none, 1 ``ALL``, else len+1."""
    best = 0
    for p in selectors:
        if p == "ALL":
            best = max(best, 1)
        elif code.startswith(p):
            best = max(best, len(p) + 1)
    return best


def severity_for(code: str, overrides: dict[str, str]) -> Optional[str]:
    """The configured severity for ``code`` (longest matching selector), or None."""
    best, sev = 0, None
    for sel, value in overrides.items():
        n = match_length(code, (sel,))
        if n > best:
            best, sev = n, value
    return sev


def root_relative(path: str, root: Optional[str]) -> str:
    """``path`` (as displayed) relative to ``root`` with ``/`` separators, when inside it.

    Used for everything that must not depend on the working directory: fingerprints,
    baseline entries, per-file-ignores, SARIF URIs and GitHub annotation paths.
    """
    if root and not path.startswith("<"):
        try:
            rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
        except ValueError:  # another drive (Windows)
            rel = path
        if not (rel == os.pardir or rel.startswith(os.pardir + os.sep)):
            path = rel
    return path.replace(os.sep, "/")


def _unknown_key(raw_key: str, origin: str) -> ConfigError:
    import difflib  # deferred: only a bad key needs it (cold start)

    hint = difflib.get_close_matches(raw_key.replace("_", "-"), config_keys(), n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else f" (known keys: {', '.join(config_keys())})"
    return ConfigError(f"{origin}: unknown key '{raw_key}'{extra}")


def settings_from_mapping(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """Validate a ``[tool.istio-vm-lint]`` table and return Settings keyword arguments."""
    known = {f.name for f in fields(Settings)} - _RUNTIME_ONLY
    out: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise _unknown_key(raw_key, origin)
        if key in _LIST_KEYS:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{origin}: '{raw_key}' must be a list of strings")
            out[key] = codes(value, key, origin) if key in _CODE_LIST_KEYS else tuple(value)
        elif key in _STR_KEYS:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{origin}: '{raw_key}' must be a non-empty string")
            if key == "fail_on" and value not in SEVERITIES:
                raise ConfigError(f"{origin}: 'fail-on' must be one of {', '.join(SEVERITIES)}, not '{value}'")
            out[key] = value
        elif key == "per_file_ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: 'per-file-ignores' must be a table mapping globs to lists of codes")
            pfi: dict[str, tuple[str, ...]] = {}
            for glob, sel in value.items():
                if not isinstance(sel, (list, str)) or (isinstance(sel, list)
                                                       and not all(isinstance(s, str) for s in sel)):
                    raise ConfigError(f"{origin}: 'per-file-ignores' entry '{glob}' must be a list of codes")
                pfi[str(glob)] = codes(sel, f"per-file-ignores.{glob}", origin)
            out[key] = pfi
        elif key == "severity":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: 'severity' must be a table mapping codes to severities")
            sev: dict[str, str] = {}
            for code, level in value.items():
                (sel,) = codes([str(code)], f"severity.{code}", origin) or ("",)
                if level not in SEVERITIES:
                    raise ConfigError(f"{origin}: 'severity.{code}' must be one of {', '.join(SEVERITIES)}, "
                                      f"not {level!r}")
                sev[sel] = level
            out[key] = sev
        elif key == "namespaces":
            if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
                raise ConfigError(f"{origin}: 'namespaces' must be a table mapping path globs to namespace names "
                                  '(e.g. "apps/shop/**" = "shop")')
            out[key] = {str(k): v for k, v in value.items()}
        elif key == "helm_values":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: 'helm-values' must be a table mapping chart directory globs to "
                                  "lists of values files")
            hv: dict[str, tuple[str, ...]] = {}
            for glob, files in value.items():
                if isinstance(files, str):
                    files = [files]
                if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                    raise ConfigError(f"{origin}: 'helm-values' entry '{glob}' must be a list of file names")
                hv[str(glob)] = tuple(files)
            out[key] = hv
        elif key == "warn_unused_suppressions":
            if not isinstance(value, bool):
                raise ConfigError(f"{origin}: '{raw_key}' must be true or false")
            out[key] = value
    for key in ("baseline", "mesh_config", "cache_dir"):  # paths in a config file are relative to that file
        if key in out and not os.path.isabs(out[key]):
            out[key] = os.path.join(os.path.dirname(os.path.abspath(origin)), out[key])
    return out


def load_config_file(path: str) -> dict[str, Any]:
    """Read and validate one config file; a ``pyproject.toml`` contributes its tool table."""
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if os.path.basename(path) == "pyproject.toml":
        tool = doc.get("tool", {})
        doc = tool.get(PYPROJECT_TABLE, {}) if isinstance(tool, dict) else {}
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: [tool.{PYPROJECT_TABLE}] must be a table")
    return settings_from_mapping(doc, path)


def find_config(root: str) -> Optional[str]:
    """``.istio-vm-lint.toml`` in ``root``, else a ``pyproject.toml`` there that has our table."""
    dotfile = os.path.join(root, CONFIG_FILES[0])
    if os.path.isfile(dotfile):
        return dotfile
    pyproject = os.path.join(root, CONFIG_FILES[1])
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as fh:
                if f"tool.{PYPROJECT_TABLE}".encode() in fh.read():
                    return pyproject
        except OSError:
            return None
    return None


def find_config_upwards(start: str) -> Optional[str]:
    """The nearest config file in ``start`` or a parent (used when there is no git root)."""
    d = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        found = find_config(d)
        if found:
            return found
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
