"""A cache of whole runs: when nothing a run reads has changed, its findings are reused.

The second level of the cache directory (``--cache-dir``; the parse cache is ``cache.py``, the
kustomize renders ``render_cache.py``).  A repeated run on an unchanged repository (a second
``pre-commit run``, CI re-running a job, an editor saving without a change) then costs start-up,
discovery and hashing the files, not a lint.

**The key** (BLAKE2b-128) is everything a run's findings are a function of:

* this build: the parse cache's identity (a format number, the package version and a hash of
  every file of the package, the Python, marshal, ruamel.yaml and libyaml versions) and the
  rule codes registered;
* the run's question: the current directory (display paths), the whole :class:`Settings`
  (config file and flags, the root), ``ISTIO_VM_LINT_NO_CLOSURE``, the named files;
* every discovered file, in order: its display and real path, whether a symlink leads to it,
  where a symlink leaving the repository points, and the BLAKE2b-128 of its bytes (read as a
  regular file: a FIFO, device or unreadable file means no result cache for the run).  The
  discovery itself (excludes, git, symlinks) runs every time, so a file that appears,
  disappears or is excluded changes the key;
* what the run may read beside those files, in each directory holding a discovered file: the
  names there and what each is (``Chart.yaml`` and ``constraint.yaml`` are looked for, an
  excluded one too), and the content of the instructions and scripts (``README*``, ``*.md``,
  ``*.sh`` ...: ``helm install`` commands, ``units/opaque.py``); and the content of the
  ``mesh-config`` file.  ``tests/test_result_cache.py`` watches every file a run opens or
  lists on the fixture repositories, so a new kind of read fails a test until it is keyed;
* kustomize: the command that would render (its resolved executable's identity, as the render
  cache computes it, or "none"), and for every root and unused component its tree as planned
  from the files now (every kustomization, resource, patch, input, problem, namespace, label
  transformer) and the render cache's key of the tree (the content of every file under each
  kustomization's directory and of every file the tree names).  A tree the render cache cannot
  key (a symlinked directory, an unreadable file) means no result cache.

Not cached at all: runs reading stdin, runs with a Helm chart (``helm template`` reads what no
key here covers), runs with an internal error or a render that failed (a timeout may not
happen again), and runs during which what is read beside the discovered files changed (the
probes, the mesh config and the kustomize part of the key are computed again after the run).
The discovered files themselves are read once, for the key, and the run lints those very bytes
(``runner.lint(preread=...)``), so an edit during the run cannot put its findings under the
key of other bytes.

**The value** is what the ``check`` command prints and decides its exit code from
(:class:`Summary`), in one file per key, ``result-<key>.bin``, with the parse cache's header
(magic, the key, length, BLAKE2b-256 digest, checked before anything is unmarshalled), written
0600 and atomically (a temporary file, then ``os.replace``), so concurrent runs never see half
an entry.  A damaged, truncated, foreign or misshapen entry is a miss.  In a directory the
linter created the newest :data:`MAX_RESULTS` entries are kept (a hit refreshes an entry's
modification time); elsewhere nothing is removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from .discover import Discovered, is_kustomization
from .findings import Finding, Location, Related, ResourceRef

if TYPE_CHECKING:  # pragma: no cover
    from .config import Settings
    from .runner import Outcome

# Only a run with a cache directory imports what the key and the storage need (hashlib,
# marshal, tempfile, the parse cache): `Summary` is what every `check` run uses (cold start).

FORMAT = 1
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_RESULTS = 64
_NAME = r"result-[0-9a-f]{32}\.bin"
_TEMP_PREFIX, _TEMP_SUFFIX = ".result-", ".tmp"
_TEMP_NAME = r"\.result-[a-z0-9_]{8}\.tmp"


@dataclass
class Summary:
    """What ``check`` reads of a run: the findings and the counts it prints."""

    findings: list[Finding]
    internal_errors: int = 0
    rules_run: int = 0
    suppressed: int = 0
    files: int = 0
    resources: int = 0
    ignored_documents: int = 0
    unknown_kinds: int = 0
    report_files: int = 0
    report_resources: int = 0
    report_paths: list[str] = field(default_factory=list)  # display paths of the reported files
    cached: bool = False  # read from the result cache

    @classmethod
    def of(cls, outcome: "Outcome") -> "Summary":
        p, r = outcome.project, outcome.result
        return cls(list(r.findings), r.internal_errors, r.rules_run, r.suppressed, len(p.files), len(p.resources),
                   p.ignored_documents, p.unknown_kinds, sum(1 for s in p.files if s.report),
                   sum(1 for x in p.resources if x.source.report), [s.path for s in p.files if s.report])


# --- the key ------------------------------------------------------------------------------


@dataclass
class Probe:
    """The key of a run, the bytes it was computed from, and how to tell that what else the run
    reads stayed put while it ran."""

    key: bytes
    # real path -> (bytes, BLAKE2b-128): the run loads these very bytes (``runner.lint``'s
    # ``preread``), so its findings are those of the key's files whatever happens on disk.
    contents: dict[str, tuple[bytes, bytes]]
    again: Callable[[], Optional[bytes]]  # the part of the key read beside the files, recomputed
    beside: Optional[bytes]

    def unchanged(self) -> bool:
        return self.again() == self.beside


def _read_file(path: str) -> Optional[bytes]:
    """The bytes of a regular file, read as the load reads it (``open``, symlinks followed);
    None for anything else: a FIFO is never opened here (it would block, or eat a pipe's data
    that the run must read), and an unreadable file leaves the run to report it."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            return fh.read()
    except (OSError, ValueError):
        return None


def probe(files: Sequence[Discovered], report_only: Optional[set[str]], settings: "Settings",
          stdin: Optional[tuple[str, bytes]] = None) -> Optional[Probe]:
    """The key of this run, or None when its result must not be cached (see the module's
    docstring)."""
    if stdin is not None:
        return None
    import hashlib

    from .cache import _loader_identity
    from .engine import all_rules

    h = hashlib.blake2b(digest_size=16)

    def add(*parts: Any) -> None:
        h.update(repr(parts).encode("utf-8", "surrogateescape") + b"\0")

    h.update(_loader_identity())
    add("format", FORMAT, sorted(all_rules()))
    add("cwd", os.getcwd(), "settings", repr(settings))
    add("env", os.environ.get("ISTIO_VM_LINT_NO_CLOSURE"))
    add("named", None if report_only is None else sorted(report_only))
    contents: dict[str, tuple[bytes, bytes]] = {}
    dirs: set[str] = set()
    for d in files:
        if d.outside is not None:
            add("outside", d.display, d.real, d.via_link, d.outside, d.boundary_is_repo)
            continue
        if os.path.basename(d.real) == "Chart.yaml":
            return None  # helm template reads what this key does not cover
        raw = _read_file(d.real)
        if raw is None:
            return None
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        add("file", d.display, d.real, d.via_link, d.boundary_is_repo, digest)
        contents[d.real] = (raw, digest)
        dirs.add(os.path.dirname(d.real))
        dirs.add(os.path.dirname(d.display))
    kfiles = [d.real for d in files if d.outside is None and is_kustomization(d.real)]
    ordered = sorted(dirs)

    def again() -> Optional[bytes]:
        b = hashlib.blake2b(digest_size=16)
        for d in ordered:
            listing = _beside(d)
            if listing is None:
                return None
            b.update(listing)
        if settings.mesh_config:
            mesh = _read_file(settings.mesh_config)
            if mesh is None:
                return None
            b.update(b"mesh\0" + hashlib.blake2b(mesh, digest_size=16).digest())
        if kfiles:
            trees = _trees_key(kfiles, settings)
            if trees is None:
                return None
            b.update(trees)
        return b.digest()

    beside = again()
    if beside is None:
        return None
    h.update(beside)
    return Probe(h.digest(), contents, again, beside)


def _beside(directory: str) -> Optional[bytes]:
    """What a run may read in a directory holding a linted file besides the linted files
    (``units/opaque.py``, ``units/adjust.py``): whether any name exists there and what it is
    (``Chart.yaml``, ``constraint.yaml``), and the content of the instructions and scripts
    (README, ``*.md``, ``*.sh`` ...) that may install a Helm release.  None when a file that
    may be read cannot be."""
    import hashlib

    from .units.opaque import INSTRUCTION_NAME_RE

    h = hashlib.blake2b(digest_size=16)
    h.update(os.fsencode(directory) + b"\0")
    try:
        with os.scandir(directory or ".") as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        h.update(f"unlistable {exc.errno}".encode())
        return h.digest()
    for e in entries:
        try:
            if e.is_symlink():
                kind = "l" + ("f" if os.path.isfile(e.path) else "d" if os.path.isdir(e.path) else "-")
            else:
                kind = "d" if e.is_dir() else "f" if e.is_file() else "o"
        except OSError:
            return None
        h.update(os.fsencode(e.name) + b"\0" + kind.encode() + b"\0")
        if kind == "f" and INSTRUCTION_NAME_RE.fullmatch(e.name):
            raw = _read_file(e.path)
            if raw is None:
                return None
            h.update(hashlib.blake2b(raw, digest_size=16).digest())
    return h.digest()


def _trees_key(kfiles: list[str], settings: "Settings") -> Optional[bytes]:
    """Kustomize's part of the key: the command, and each tree as planned now with the render
    cache's key of its inputs (``units/plan.py`` plans the same trees)."""
    import hashlib

    from . import kustomize as kz
    from .render_cache import RenderCache, _command_identity

    h = hashlib.blake2b(digest_size=16)
    try:
        root = os.path.realpath(settings.root or os.getcwd())
        catalog = kz.Catalog(root)
        roots, components = kz.find_roots(kfiles, catalog)
        k_cmd = kz.command(settings.kustomize_command) if roots else None
        ident = _command_identity(k_cmd) if k_cmd else b"none"
        if ident is None:
            return None
        h.update(ident)
        keys = RenderCache(settings.cache_dir or root, k_cmd or ["none"], command=ident)
        for tree in [catalog.tree(c) for c in components] + [catalog.tree(k) for k in roots]:
            tkey = keys.key(tree)
            if tkey is None:
                return None
            h.update(_canon(tree).encode("utf-8", "surrogateescape") + b"\0" + tkey)
    except (OSError, ValueError, RecursionError):
        return None
    return h.digest()


def _canon(x: Any) -> str:
    """A deterministic text of planning data (dataclasses, dicts in order, sets sorted)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return type(x).__name__ + "(" + ",".join(_canon(getattr(x, f.name)) for f in dataclasses.fields(x)) + ")"
    if isinstance(x, dict):
        return "{" + ",".join(_canon(k) + ":" + _canon(v) for k, v in x.items()) + "}"
    if isinstance(x, (list, tuple)):
        return "[" + ",".join(_canon(v) for v in x) + "]"
    if isinstance(x, (set, frozenset)):
        return "{" + ",".join(sorted(_canon(v) for v in x)) + "}"
    return repr(x)


# --- the value ----------------------------------------------------------------------------


def _ref(r: Optional[ResourceRef]) -> Optional[tuple[str, str, str]]:
    return None if r is None else (r.kind, r.name, r.namespace)


def _rel(r: Related) -> tuple[Any, ...]:
    loc = r.location
    return ((loc.file, loc.line, loc.column), _ref(r.resource), r.message)


def _encode(s: Summary) -> bytes:
    import marshal

    findings = [(f.code, f.rule, f.severity, f.message, (f.location.file, f.location.line, f.location.column),
                 _ref(f.resource), f.field, [_rel(r) for r in f.related], f.fingerprint,
                 None if f.caused_by is None else _rel(f.caused_by)) for f in s.findings]
    counts = (s.internal_errors, s.rules_run, s.suppressed, s.files, s.resources, s.ignored_documents,
              s.unknown_kinds, s.report_files, s.report_resources)
    return marshal.dumps((FORMAT, findings, counts, list(s.report_paths)))


def _str(x: Any) -> str:
    if type(x) is not str:
        raise ValueError("not a string")
    return x


def _int(x: Any) -> int:
    if type(x) is not int:
        raise ValueError("not an int")
    return x


def _loc(t: Any) -> Location:
    file, line, column = t
    return Location(_str(file), _int(line), _int(column))


def _res(t: Any) -> Optional[ResourceRef]:
    if t is None:
        return None
    kind, name, ns = t
    return ResourceRef(_str(kind), _str(name), _str(ns))


def _related(t: Any) -> Related:
    loc, res, message = t
    return Related(_loc(loc), _res(res), _str(message))


def _decode(blob: bytes) -> Summary:
    """The summary in ``blob``; raises on anything of another shape."""
    import marshal

    fmt, findings, counts, paths = marshal.loads(blob)
    if fmt != FORMAT or type(findings) is not list or type(paths) is not list:
        raise ValueError("not a result entry")
    out = []
    for code, rule, severity, message, loc, res, fld, related, fingerprint, caused in findings:
        if type(related) is not list:
            raise ValueError("related")
        out.append(Finding(_str(code), _str(rule), _str(severity), _str(message), _loc(loc), _res(res), _str(fld),
                           [_related(r) for r in related], _str(fingerprint),
                           None if caused is None else _related(caused)))
    n = [_int(c) for c in counts]
    if len(n) != 9:
        raise ValueError("counts")
    return Summary(out, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8],
                   report_paths=[_str(p) for p in paths], cached=True)


# --- the entries --------------------------------------------------------------------------


def _path(directory: str, key: bytes) -> str:
    return os.path.join(directory, f"result-{key.hex()}.bin")


def load(directory: str, p: Probe) -> Optional[Summary]:
    """The stored summary of a run with key ``p.key``, or None."""
    import hashlib

    from .cache import _HEADER, MAGIC, _read_regular

    path = _path(directory, p.key)
    blob = _read_regular(path, MAX_RESULT_BYTES + _HEADER.size)
    if blob is None or len(blob) < _HEADER.size:
        return None
    magic, key, length, digest = _HEADER.unpack_from(blob)
    payload = blob[_HEADER.size:]
    if (magic != MAGIC or key != p.key or length != len(payload)
            or hashlib.blake2b(payload, digest_size=32).digest() != digest):
        return None
    try:
        summary = _decode(payload)
    except Exception:  # a misshapen entry is a miss
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept by the pruning
    return summary


def store(directory: str, p: Probe, summary: Summary) -> bool:
    """Write ``summary`` under ``p.key`` if the run's inputs did not change while it ran."""
    from .cache import _HEADER, _mark_directory, _may_replace, _owned, write_entry

    if summary.internal_errors or not p.unchanged():
        return False
    try:
        payload = _encode(summary)
    except (ValueError, TypeError):
        return False
    if len(payload) > MAX_RESULT_BYTES:
        return False
    path = _path(directory, p.key)
    try:
        created = False
        if not os.path.isdir(directory):
            os.makedirs(directory)
            created = _mark_directory(directory)
        owned = created or _owned(directory)
        if not _may_replace(path, owned, MAX_RESULT_BYTES + _HEADER.size):
            return False
        write_entry(path, p.key, payload, owned, MAX_RESULT_BYTES + _HEADER.size, _TEMP_PREFIX)
    except (OSError, ValueError):
        return False
    if owned:
        _prune(directory)
    return True


def _prune(directory: str, keep: int = MAX_RESULTS) -> None:
    """In a directory the linter created: all but the ``keep`` most recently used entries, and
    temporary files of killed runs (only names this module generates, holding its header)."""
    import re
    import time

    from .cache import MAGIC, TEMP_STALE_SECONDS, _read_regular, _remove

    try:
        names = os.listdir(directory)
    except OSError:
        return
    entries: list[tuple[float, str]] = []
    now = time.time()
    for name in names:
        entry = bool(re.fullmatch(_NAME, name))
        if not (entry or re.fullmatch(_TEMP_NAME, name)):
            continue
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if entry:
            entries.append((st.st_mtime, path))
        elif now - st.st_mtime > TEMP_STALE_SECONDS and _read_regular(path, 1 << 30, limit=len(MAGIC)) == MAGIC:
            _remove(path)
    entries.sort(reverse=True)
    for _, path in entries[keep:]:
        if _read_regular(path, 1 << 30, limit=len(MAGIC)) == MAGIC:
            _remove(path)


def enabled() -> bool:
    """``ISTIO_VM_LINT_NO_RESULT_CACHE=1`` turns this level off (the parse cache stays)."""
    return os.environ.get("ISTIO_VM_LINT_NO_RESULT_CACHE", "").strip().lower() in ("", "0", "false", "no", "off")


__all__ = ["Summary", "Probe", "probe", "load", "store", "enabled", "FORMAT"]
