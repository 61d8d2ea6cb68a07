"""Mesh-wide settings read from an Istio MeshConfig file (``mesh-config`` setting).

Only the fields that change what a rule means are read (docs/semantics.md §repository-limits: "the linter
should take these as optional inputs"): the root namespace, DNS capture/auto-allocation
(``defaultConfig.proxyMetadata``) and whether istiod auto-allocates ServiceEntry addresses.
Accepts a MeshConfig document, or the ``istio`` ConfigMap whose ``data.mesh`` holds one; its
``data.meshNetworks`` (or a MeshNetworks document, top-level ``networks``) gives the networks
and whether each has a gateway (docs/semantics.md §network-gateways).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .config import ConfigError


@dataclass(frozen=True)
class MeshConfig:
    """The mesh-wide settings read from a MeshConfig file (defaults when none)."""

    root_namespace: Optional[str] = None
    dns_capture: bool = False
    dns_auto_allocate: bool = False
    h2_upgrade: bool = False  # h2UpgradePolicy: UPGRADE mesh-wide (docs/semantics.md §grpc-upstream-protocol)
    # meshNetworks: (network, has gateways) per network, sorted; empty when not given.
    mesh_networks: tuple[tuple[str, bool], ...] = ()

    @property
    def addresses_auto_allocated(self) -> bool:
        """istioctl's rule (docs/semantics.md §analyzer-serviceentry-addresses): DNS capture plus an auto-allocation flag."""
        return self.dns_capture and self.dns_auto_allocate


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def load_mesh_config(path: str) -> MeshConfig:
    from .loader import load_documents

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"mesh-config: cannot read {path}: {exc.strerror}") from None
    result, _ = load_documents(raw)
    if result.errors or not result.documents or not isinstance(result.documents[0].data, dict):
        raise ConfigError(f"mesh-config: {path} is not a YAML mapping")
    doc: dict[str, Any] = result.documents[0].data
    networks_doc: Any = doc
    if doc.get("kind") == "ConfigMap":
        raw_data = doc.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        mesh_text, networks_text = data.get("mesh"), data.get("meshNetworks")
        if not isinstance(mesh_text, str) and not isinstance(networks_text, str):
            raise ConfigError(f"mesh-config: ConfigMap {path} has no data.mesh")
        doc, networks_doc = _inner(mesh_text), _inner(networks_text)
    meta = ((doc.get("defaultConfig") or {}).get("proxyMetadata") or {}) if isinstance(doc.get("defaultConfig"), dict) else {}
    if not isinstance(meta, dict):
        meta = {}
    return MeshConfig(
        mesh_networks=_mesh_networks(networks_doc),
        root_namespace=doc.get("rootNamespace") if isinstance(doc.get("rootNamespace"), str) else None,
        dns_capture=_truthy(meta.get("ISTIO_META_DNS_CAPTURE")),
        dns_auto_allocate=_truthy(meta.get("ISTIO_META_DNS_AUTO_ALLOCATE")) or _truthy(meta.get("PILOT_ENABLE_IP_AUTOALLOCATE")),
        h2_upgrade=str(doc.get("h2UpgradePolicy", "")).upper() == "UPGRADE",
    )


def _inner(text: Any) -> dict[str, Any]:
    from .loader import load_documents

    if not isinstance(text, str):
        return {}
    inner, _ = load_documents(text)
    return inner.documents[0].data if inner.documents and isinstance(inner.documents[0].data, dict) else {}


def _mesh_networks(doc: Any) -> tuple[tuple[str, bool], ...]:
    """MeshNetworks ``networks: {<name>: {endpoints: [...], gateways: [...]}}``."""
    networks = doc.get("networks") if isinstance(doc, dict) else None
    if not isinstance(networks, dict):
        return ()
    out = []
    for name, spec in networks.items():
        if isinstance(name, str) and name:
            gws = spec.get("gateways") if isinstance(spec, dict) else None
            out.append((name, isinstance(gws, list) and any(isinstance(g, dict) and g for g in gws)))
    return tuple(sorted(out))
