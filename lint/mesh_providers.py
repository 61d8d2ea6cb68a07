"""The extension providers and trust domains of the mesh config a repository holds
(docs/semantics.md §extension-providers, §principal-trust-domain): the ``istio`` ConfigMap istiod reads (``data.mesh``, also ``istio-<rev>``)
and an IstioOperator's ``spec.meshConfig``.  A CUSTOM AuthorizationPolicy names one of them.

``None`` from :func:`mesh_providers` means the document carries no mesh config; an empty dict
means a mesh config without ``extensionProviders``.
"""

from __future__ import annotations

from typing import Any, Optional

ISTIO_OPERATOR = ("install.istio.io", "IstioOperator")

# name -> (kind of provider, service, port): the fields the CUSTOM action needs
Provider = tuple[str, str, Optional[int]]


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def reads_mesh_config(group: str, kind: str, data: Any) -> bool:
    """Does this unmodelled document carry a mesh config (so the parse cache keeps it whole)?"""
    if (group, kind) == ISTIO_OPERATOR:
        return True
    if group != "" or kind != "ConfigMap" or not isinstance(data, dict):
        return False
    name = _map(data.get("metadata")).get("name")
    return (isinstance(name, str) and (name == "istio" or name.startswith("istio-"))
            and isinstance(_map(data.get("data")).get("mesh"), str))


def _providers(mesh: dict[str, Any]) -> dict[str, Provider]:
    out: dict[str, Provider] = {}
    entries = mesh.get("extensionProviders")
    for entry in entries if isinstance(entries, list) else []:
        entry = _map(entry)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            continue
        kind, service, port = "", "", None
        for key, value in entry.items():
            if key != "name" and isinstance(value, dict):
                kind = key
                svc, p = value.get("service"), value.get("port")
                service = svc if isinstance(svc, str) else ""
                port = p if isinstance(p, int) and not isinstance(p, bool) else None
                break
        out[name] = (kind, service, port)
    return out


def _configmap_mesh(data: Any) -> Optional[dict[str, Any]]:
    """The mesh config an ``istio`` ConfigMap holds as YAML text under ``data.mesh``."""
    from .loader import load_documents

    text = _map(data.get("data")).get("mesh")
    result, _ = load_documents(text if isinstance(text, str) else "")
    docs = result.documents
    return docs[0].data if docs and isinstance(docs[0].data, dict) else None


def mesh_providers(group: str, kind: str, data: Any) -> Optional[dict[str, Provider]]:
    """The extension providers of a mesh-config document, None for any other document."""
    if not reads_mesh_config(group, kind, data):
        return None
    if kind == "ConfigMap":
        mesh = _configmap_mesh(data)
        if mesh is None:
            return None
        return _providers(mesh)
    mesh_config = _map(data.get("spec")).get("meshConfig")
    if not isinstance(mesh_config, dict):
        return None  # an IstioOperator without meshConfig: the mesh config lives elsewhere
    return _providers(mesh_config)


def _domains(mesh: dict[str, Any], fallback: Any = None) -> set[str]:
    td = mesh.get("trustDomain") or fallback
    out = {td if isinstance(td, str) and td else "cluster.local"}
    aliases = mesh.get("trustDomainAliases")
    out.update(a for a in (aliases if isinstance(aliases, list) else []) if isinstance(a, str) and a)
    return out


def mesh_trust_domains(group: str, kind: str, data: Any) -> Optional[set[str]]:
    """The trust domain and its aliases a mesh-config document sets (``cluster.local`` when it
    sets none), None for any other document."""
    if not reads_mesh_config(group, kind, data):
        return None
    if kind == "ConfigMap":
        mesh = _configmap_mesh(data)
        return None if mesh is None else _domains(mesh)
    spec = _map(data.get("spec"))
    glob = _map(_map(spec.get("values")).get("global"))
    return _domains(_map(spec.get("meshConfig")), glob.get("trustDomain"))
