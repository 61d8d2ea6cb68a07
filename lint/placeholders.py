"""Unrendered placeholders: values that a tool replaces before anything reaches the cluster.

A file can parse as YAML and still be a template: ``hosts: ["*.{{ .Values.domain }}"]`` (Helm,
Go templates, Jinja, Argo CD ApplicationSets), ``$(SERVICE_NAME)`` (kustomize ``vars``) or
``${DOMAIN}`` (envsubst, Flux ``postBuild.substitute``), or a token that a tutorial's ``sed``
replaces (``cart.ONLINEBOUTIQUE_NAMESPACE.svc.cluster.local``, ``%DOMAIN%``).  Such a value is not a host, port or
name: validating it reports the template syntax, never a defect of the configuration the
cluster will see.  The engine drops every problem that points at such a value, relates to one,
or quotes one in its message (see :func:`about_placeholder`), so rules need no special case;
rules that want to skip earlier use :func:`is_placeholder`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .findings import FieldPath

if TYPE_CHECKING:  # pragma: no cover
    from .findings import Problem
    from .model import Resource

# {{ ... }} (Go/Helm/Jinja), $(VAR) (kustomize vars), ${VAR} / ${VAR:-default} (envsubst, Flux),
# and $VAR, which envsubst and shell heredocs replace as well (``name: $STUDENT_NS-gateway``): an
# upper-case shell variable name, since a `$` followed by a letter is no part of any host, name
# or port, and an upper-case name after it is no regex anchor either.
PLACEHOLDER_RE = re.compile(r"\{\{.*?\}\}|\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:=?+-][^}]*)?\}"
                            r"|\$[A-Z_][A-Z0-9_]*[A-Z0-9](?![a-z])", re.DOTALL)


def is_placeholder(value: Any) -> bool:
    """Does this scalar hold an unrendered placeholder?"""
    return isinstance(value, str) and ("{{" in value or "$" in value) and PLACEHOLDER_RE.search(value) is not None


# Tokens that docs and scripts replace with sed before applying, inside a larger value:
# ``cart.ONLINEBOUTIQUE_NAMESPACE.svc.cluster.local``, ``api.%DOMAIN%``, ``__NAMESPACE__/*``.
# An upper-case token counts only with an underscore and only as a label of a dotted name: a
# whole value such as ``ISTIO_MUTUL`` is an enum typo, and ``^/API_V1$`` a regex.
SUBSTITUTED_TOKEN_RE = re.compile(r"(?:(?<=\.)|(?<![A-Za-z0-9_]))[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?=\.)"
                                  r"|(?<=\.)[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![A-Za-z0-9_])"
                                  r"|%[A-Za-z_][A-Za-z0-9_]*%|__[A-Za-z][A-Za-z0-9_]*__")


# A whole value that calls itself a placeholder in camel case (``name: placeholderName``,
# ``namespace: placeholderNamespace``), which test code replaces before applying; a real object
# named ``placeholder`` (a pause Deployment) is lower case and not one.
PLACEHOLDER_WORD_RE = re.compile(r"[a-z]*[Pp]laceholder[A-Z0-9][A-Za-z0-9]*")

# The "fill in your value" convention of docs and READMEs: ``apps.<CLUSTER-DOMAIN>``,
# ``<YOUR_NAMESPACE>``. Upper case between angle brackets, which no name or host contains.
ANGLE_TOKEN_RE = re.compile(r"<[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)*>")


def is_substituted(value: Any) -> bool:
    """Does this scalar embed a token a script substitutes (see ``SUBSTITUTED_TOKEN_RE``), a
    fill-in-your-value token (``ANGLE_TOKEN_RE``), or is it a placeholder word
    (``PLACEHOLDER_WORD_RE``)?"""
    if not isinstance(value, str):
        return False
    if "laceholder" in value and PLACEHOLDER_WORD_RE.fullmatch(value.strip()):
        return True
    if "<" in value and ANGLE_TOKEN_RE.search(value):
        return True
    m = SUBSTITUTED_TOKEN_RE.search(value)
    return m is not None and m.group(0) != value.strip()


def _value_at(data: Any, path: FieldPath) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _holds_placeholder(value: Any) -> bool:
    """The value, or one of its direct items (a host list, a selector map), is a placeholder."""
    if is_placeholder(value) or is_substituted(value):
        return True
    if isinstance(value, list):
        return any(is_placeholder(v) or is_substituted(v) for v in value)
    if isinstance(value, dict):
        return any(is_placeholder(v) or is_placeholder(k) or is_substituted(v) for k, v in value.items())
    return False


def placeholder_at(resource: "Resource", path: FieldPath) -> bool:
    return _holds_placeholder(_value_at(resource.data, path))


def replacement_targets(kustomization: Any) -> list[tuple[dict[str, str], FieldPath]]:
    """Fields a kustomization's ``replacements:`` overwrite: ``(select, path)`` pairs.

    ``select`` holds the target's ``kind``/``name``/``namespace``/``group`` when given;
    ``path`` is the field path up to its first ``[key=value]`` element (list items selected by
    value are not resolved: the whole list counts).  For the fallback without a kustomize
    binary: the values there in the source files are placeholders the rendering replaces
    (mark them with :func:`mark_unrendered`)."""
    out: list[tuple[dict[str, str], FieldPath]] = []
    if not isinstance(kustomization, dict):
        return out
    for rep in kustomization.get("replacements") or []:
        if not isinstance(rep, dict):
            continue
        for target in rep.get("targets") or []:
            if not isinstance(target, dict) or not isinstance(target.get("select"), dict):
                continue
            select = {k: v for k, v in target["select"].items() if isinstance(v, str)}
            for fp in target.get("fieldPaths") or []:
                if not isinstance(fp, str) or not fp:
                    continue
                path: list[Any] = []
                for part in fp.split("."):
                    if part.startswith("[") or part == "*":
                        break
                    path.append(int(part) if part.isdigit() else part)
                if path:
                    out.append((select, tuple(path)))
    return out


def mark_unrendered(resource: "Resource", path: FieldPath) -> None:
    """Record that a renderer fills ``path`` of ``resource`` (a kustomize replacement target in
    the fallback without a kustomize binary): problems at or under it are dropped."""
    paths = getattr(resource, "unrendered_paths", None)
    if paths is None:
        paths = set()
        resource.unrendered_paths = paths  # type: ignore[attr-defined]
    paths.add(tuple(path))


def _unrendered(resource: "Resource", path: FieldPath) -> bool:
    paths = getattr(resource, "unrendered_paths", None)
    return bool(paths) and any(tuple(path[:n]) in paths for n in range(1, len(path) + 1))  # type: ignore[operator]


def about_placeholder(p: "Problem") -> bool:
    """Is this problem about an unrendered placeholder rather than about the configuration?

    True when the field it points at (or a related field) holds one, or when its message
    quotes one; the resource's own templated name or namespace does not count (other fields
    of such a resource are still real configuration)."""
    res = p.resource
    if res is None:
        return False
    if placeholder_at(res, p.path) or _unrendered(res, p.path):
        return True
    for other, path in p.related:
        if path and (placeholder_at(other, path) or _unrendered(other, path)):
            return True
    message = p.message
    if "{{" not in message and "$" not in message:
        return False
    for own in (f"{res.namespace}/{res.name}", res.name, res.namespace):
        if own and is_placeholder(own):
            message = message.replace(own, "")
    return PLACEHOLDER_RE.search(message) is not None
