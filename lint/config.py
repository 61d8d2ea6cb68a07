"""Settings for one run: defaults, then the config file, then CLI flags.

The config file is ``.istio-vm-lint.toml`` or ``[tool.istio-vm-lint]`` in ``pyproject.toml``
at the repository root (see README, "Configuration").  Bad config is a usage error (exit 2)
whose message names the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional

from . import defaults
from .findings import SEVERITIES


class ConfigError(Exception):
    """A configuration problem; the CLI prints it and exits 2."""


@dataclass
class Settings:
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
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    severity: dict[str, str] = field(default_factory=dict)
    warn_unused_suppressions: bool = False


_LIST_KEYS = {"select", "ignore", "extend_select", "exclude", "external_hosts", "external_namespaces"}
_STR_KEYS = {"fail_on", "default_namespace", "cluster_domain", "root_namespace"}


def codes(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Parse ``IVL1,IVL203`` or a list into normalised code prefixes."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(s.strip().upper() for s in items if s and s.strip())


def settings_from_mapping(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """Validate a ``[tool.istio-vm-lint]`` table and return Settings keyword arguments."""
    known = {f.name for f in fields(Settings)}
    out: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise ConfigError(f"{origin}: unknown key '{raw_key}'")
        if key in _LIST_KEYS:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{origin}: '{raw_key}' must be a list of strings")
            out[key] = codes(value) if key in ("select", "ignore", "extend_select") else tuple(value)
        elif key in _STR_KEYS:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{origin}: '{raw_key}' must be a non-empty string")
            if key == "fail_on" and value not in SEVERITIES:
                raise ConfigError(f"{origin}: 'fail-on' must be one of {', '.join(SEVERITIES)}, not '{value}'")
            out[key] = value
        elif key == "per_file_ignores":
            if not isinstance(value, dict) or not all(
                    isinstance(v, (list, str)) for v in value.values()):
                raise ConfigError(f"{origin}: 'per-file-ignores' must map globs to lists of codes")
            out[key] = {str(k): codes(v) for k, v in value.items()}
        elif key == "severity":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: 'severity' must map codes to severities")
            for code, sev in value.items():
                if sev not in SEVERITIES:
                    raise ConfigError(f"{origin}: severity for '{code}' must be one of {', '.join(SEVERITIES)}")
            out[key] = {str(k).upper(): v for k, v in value.items()}
        elif key == "warn_unused_suppressions":
            if not isinstance(value, bool):
                raise ConfigError(f"{origin}: '{raw_key}' must be true or false")
            out[key] = value
    return out


def load_config_file(path: str) -> dict[str, Any]:
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
    if path.endswith("pyproject.toml"):
        doc = doc.get("tool", {}).get("istio-vm-lint", {})
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a table")
    return settings_from_mapping(doc, path)


def find_config(root: str) -> Optional[str]:
    import os

    dotfile = os.path.join(root, ".istio-vm-lint.toml")
    if os.path.isfile(dotfile):
        return dotfile
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as fh:
                if b"istio-vm-lint" in fh.read():
                    return pyproject
        except OSError:
            return None
    return None
