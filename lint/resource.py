"""The base of the typed model: tolerant accessors for YAML values (a field of the wrong type
reads as absent, which the schema rules report, instead of raising), the input file
(:class:`SourceFile`) and :class:`Resource`.  ``lint/model.py`` re-exports every name."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Optional

from .findings import FieldPath, ResourceRef

if TYPE_CHECKING:  # pragma: no cover
    from .loader import PositionIndex



def as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any, default: str = "") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, (int, float)):
        return str(value)
    return default


def as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def str_map(value: Any) -> dict[str, str]:
    """Labels and selectors: string keys to string values (other entries dropped)."""
    out: dict[str, str] = {}
    for k, v in as_map(value).items():
        if isinstance(k, str) and v is not None and not isinstance(v, (dict, list)):
            out[k] = v if isinstance(v, str) else as_str(v)
    return out


def str_list(value: Any) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str)]


def _is_ip(value: str) -> bool:
    if value.count(".") == 3 and value.isascii() and value.replace(".", "").isdigit():
        # Dotted-quad IPv4, as ipaddress parses it (no exceptions: most WorkloadEntry addresses).
        return all(p and len(p) <= 3 and (p == "0" or p[0] != "0") and int(p) <= 255 for p in value.split("."))
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


# --- source bookkeeping -----------------------------------------------------------------


@dataclass(eq=False)
class SourceFile:
    """One input file: the display path and a lazily built position index."""

    path: str  # as shown to the user
    real_path: Optional[str]  # on disk, None for stdin
    positions: "PositionIndex"
    report: bool = True  # False for context-only files (pre-commit: reported elsewhere)
    raw: Optional[bytes] = None  # file content, kept for positions and suppression comments


@dataclass(frozen=True, eq=False)
class Origin:
    """A document that set fields of a rendered resource (a kustomize patch).

    ``prefix`` maps a resource field path into the document: ``()`` for a strategic-merge
    patch (same shape as the resource); for a JSON 6902 operation, ``op_path`` is the
    operation's target path and ``prefix`` the path of its ``value`` in the document."""

    source: SourceFile
    doc_index: int
    prefix: FieldPath = ()
    op_path: Optional[FieldPath] = None

    def map(self, path: FieldPath) -> Optional[FieldPath]:
        if self.op_path is None:
            return self.prefix + tuple(path)
        n = len(self.op_path)
        if tuple(path[:n]) != self.op_path:
            return None
        return self.prefix + tuple(path[n:])


# --- resources --------------------------------------------------------------------------


class _CachedSlots(type):
    """Metaclass of :class:`Resource`: every ``functools.cached_property`` in a class body
    becomes a slot, filled on first access by ``Resource.__getattr__``.

    Why: ``cached_property`` stores into the instance ``__dict__``, and an instance dict that
    gains keys after ``__init__`` turns into a full hash table (~830 bytes per resource, 42 MB
    of a 50,000-resource run).  In a slot the value costs 8 bytes, and reading it back is a
    plain slot read.  The dataclass fields stay in the (compact) instance ``__dict__``; a class
    that declares its own ``__slots__`` keeps them.  ``Resource.forget`` drops a cached value.
    A subclass that overrides a cached property cannot read the parent's with ``super().name``
    (a slot, not a property: ``AttributeError``): put the parent's computation in a method."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> "_CachedSlots":
        cached = {k: v.func for k, v in ns.items() if isinstance(v, cached_property)}
        for k in cached:
            del ns[k]
        funcs: dict[str, Any] = {}
        for base in reversed(bases):
            funcs.update(getattr(base, "_cached_funcs", {}))
        funcs.update(cached)
        ns["_cached_funcs"] = funcs
        inherited = any(isinstance(base, _CachedSlots) for base in bases)
        own = tuple(ns.get("__slots__", ()))
        ns["__slots__"] = own + tuple(cached) + (() if inherited else ("__dict__", "__weakref__"))
        return super().__new__(mcls, name, bases, ns, **kw)


@dataclass(eq=False)
class Resource(metaclass=_CachedSlots):
    """One Kubernetes object read from the repository (the typed kinds subclass it)."""

    kind: str
    api_version: str
    name: str
    namespace: str
    namespace_explicit: bool
    data: dict[str, Any]
    source: SourceFile
    doc_index: int
    line: int
    column: int
    base: FieldPath = ()  # path of this resource inside its document (``items[i]`` of a List)
    # True when the object has ``metadata.generateName`` instead of a name: ``name`` is then
    # that prefix; the API server appends a random suffix on create, so every apply makes a
    # new object (never a copy of another) and nothing can refer to it by name.
    name_generated: bool = False
    # Rendered resources (kustomize): other places that wrote its fields, latest first (patch
    # files); see :meth:`Project.location`.  Empty for resources read from a file as they are.
    origins: tuple["Origin", ...] = ()

    # ---- identity
    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @cached_property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.kind, self.name, self.namespace)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def sort_key(self) -> tuple[str, str, str, str, int, FieldPath]:
        """Total order for messages and tie-breaks: never depends on input order."""
        return (self.namespace, self.name, self.kind, self.source.path, self.doc_index, self.base)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.namespace}/{self.name} {self.source.path}#{self.doc_index}>"

    if not TYPE_CHECKING:  # (for mypy, an unknown attribute stays an error)

        def __getattr__(self, name: str) -> Any:
            """A ``cached_property`` not computed yet (see :class:`_CachedSlots`)."""
            func = type(self)._cached_funcs.get(name)
            if func is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = func(self)
            object.__setattr__(self, name, value)
            return value

    def forget(self, *names: str) -> None:
        """Drop cached values (``ref`` after the namespace changed): computed again when read."""
        for name in names:
            with contextlib.suppress(AttributeError):
                object.__delattr__(self, name)

    # ---- common fields
    @cached_property
    def metadata(self) -> dict[str, Any]:
        return as_map(self.data.get("metadata"))

    @cached_property
    def spec(self) -> dict[str, Any]:
        return as_map(self.data.get("spec"))

    @cached_property
    def labels(self) -> dict[str, str]:
        return str_map(self.metadata.get("labels"))

    @cached_property
    def annotations(self) -> dict[str, str]:
        return str_map(self.metadata.get("annotations"))
