"""A cache of kustomize renders, keyed by everything the kustomization can read.

Rendering runs kustomize once per root, and that is most of a run on a repository of
overlays (kubeflow/manifests: ~50 roots, ~22 s).  The output depends only on the files
kustomize reads, on kustomize itself and on how it is called, so with a cache directory
(the parse cache's: ``--cache-dir``, same opt-in and trust rules, see ``lint/cache.py`` and
``docs/ecosystem.md``, "Parse cache") an unchanged root is not rendered again.

* **Key** (BLAKE2b-128): a format number and the source of ``lint/kustomize.py`` (the wrapper
  kustomization and flags); the command words, and the resolved executable's real path,
  size, modification time and inode (a reinstalled kustomize or kubectl is another one); the
  root's real path; and the path and content hash of every file kustomize could read: all
  files under the directory of every kustomization in the tree (the root, its bases,
  components and other resource directories, recursively: what ``Catalog.tree`` follows),
  the files they name (resources, patches, generator inputs ...) wherever they are, and the
  names of everything found (a new file changes the key).  ``.git`` directories and the
  cache directory itself are not hashed.  A tree with a symlinked directory, or a file that
  cannot be read as a regular file, is not cached (rendered every time).
* **Value**: kustomize's output and where the origin annotations' paths are relative to, in
  one file per render, ``render-<key>.bin``, with the parse cache's header (magic, the key,
  length, BLAKE2b-256 digest, checked before use), written 0600 and atomically.  No copy of
  a Secret is kept: a ``Secret`` document's top-level ``data``/``stringData`` are removed
  before storing (the model reads only a Secret's apiVersion, kind and metadata, and the
  documents of a kustomize render are located in their origin files, not in the output's
  lines); if removing them changes anything else of the parsed documents, the output is not
  stored.  Nor is one larger than :data:`MAX_RENDER_BYTES`, or a failed render.
* **Housekeeping**: a hit refreshes the file's modification time (at most once a day); in a
  directory the linter created, render files unused for a week and temporary files of killed
  runs are removed (only names this module generates, holding its header).  Anything wrong
  with the cache means "render as if there were no cache".
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import shutil
import stat
import threading
import time
from typing import Callable, Optional, Sequence

from . import kustomize as kz
from .cache import (
    _HEADER,
    MAGIC,
    STALE_SECONDS,
    TEMP_STALE_SECONDS,
    _mark_directory,
    _may_replace,
    _owned,
    _read_regular,
    _remove,
    _verified_payload,
    write_entry,
)
from .loader import load_documents
from .project import reads_whole

FORMAT = 1
MAX_RENDER_BYTES = 64 * 1024 * 1024
_NAME = re.compile(r"render-[0-9a-f]{32}\.bin")
_TEMP_PREFIX, _TEMP_SUFFIX = ".render-", ".tmp"
_TEMP_NAME = re.compile(r"\.render-[a-z0-9_]{8}\.tmp")
_SECRET_RE = re.compile(rb"^kind:[ \t]*[\"']?Secret[\"']?[ \t]*\r?$", re.MULTILINE)
_SECRET_DATA_RE = re.compile(rb"[\"']?(data|stringData)[\"']?[ \t]*:")
_DOC_SEPARATOR = re.compile(rb"(^---[^\n]*\n)", re.MULTILINE)
_TOUCH_SECONDS = 24 * 3600
_SKIP_DIRS = (".git",)

Rendered = tuple[bytes, str]  # (kustomize output, directory its origin paths are relative to)


class RenderCache:
    """Render outputs in ``directory``; :meth:`render` is safe to call from several threads."""

    def __init__(self, directory: str, argv: Sequence[str], command: Optional[bytes] = None) -> None:
        """``command``: the command's identity when the caller computed it (the result cache
        keys trees that are not rendered with it, ``b"none"``)."""
        self.directory = directory
        self._real_dir = os.path.realpath(directory)
        self._lock = threading.Lock()
        self._digests: dict[str, Optional[bytes]] = {}  # file -> content hash, once per run
        self._command = command if command is not None else _command_identity(argv)
        self.hits = 0
        self.misses = 0
        self._owned: Optional[bool] = None
        self._pruned = False

    # --- the key ------------------------------------------------------------------------

    def key(self, tree: kz.Tree) -> Optional[bytes]:
        """The key of rendering ``tree``'s root, or None when it cannot be cached."""
        if self._command is None:
            return None
        h = hashlib.blake2b(digest_size=16)
        h.update(self._command)
        h.update(b"\0root\0" + os.fsencode(tree.root.dir))
        files: set[str] = {os.path.realpath(p) for p in tree.used_files}
        names: list[str] = []
        for d in sorted({k.dir for k in tree.kustomizations}):
            found = self._walk(d)
            if found is None:
                return None
            names.append(d)
            files.update(found)
        for f in sorted(files):
            digest = self._digest(f)
            if digest is None:
                return None
            h.update(b"\0file\0" + os.fsencode(f) + b"\0" + digest)
        h.update(b"\0dirs\0" + os.fsencode("\0".join(names)))
        return h.digest()

    def _walk(self, top: str) -> Optional[list[str]]:
        """Every file under ``top`` (not following links), or None if a directory is a link."""
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            keep = []
            for name in dirnames:
                path = os.path.join(dirpath, name)
                if name in _SKIP_DIRS or os.path.realpath(path) == self._real_dir:
                    continue
                if os.path.islink(path):
                    return None  # kustomize would follow it; so simple a key cannot
                keep.append(name)
            dirnames[:] = sorted(keep)
            out.extend(os.path.join(dirpath, name) for name in filenames)
        return out

    def _digest(self, path: str) -> Optional[bytes]:
        """A hash of the file's content (links followed, as kustomize does); ``b"-"`` for a
        file that does not exist; None for anything that is not a regular file."""
        if path in self._digests:
            return self._digests[path]
        digest: Optional[bytes]
        try:
            st = os.stat(path)
        except FileNotFoundError:
            digest = b"-"
        except OSError:
            digest = None
        else:
            digest = None
            if stat.S_ISREG(st.st_mode):
                try:
                    with open(path, "rb") as fh:
                        digest = hashlib.blake2b(fh.read(), digest_size=16).digest()
                except OSError:
                    digest = None
            elif stat.S_ISDIR(st.st_mode):
                digest = b"d"
        with self._lock:
            self._digests[path] = digest
        return digest

    # --- entries ------------------------------------------------------------------------

    def _path(self, key: bytes) -> str:
        return os.path.join(self.directory, f"render-{key.hex()}.bin")

    def get(self, key: bytes) -> Optional[Rendered]:
        path = self._path(key)
        blob = _read_regular(path, MAX_RENDER_BYTES + _HEADER.size + 4096)
        verified = None if blob is None else _verified_payload(blob)
        if verified is None or verified[0] != key:
            return None
        try:
            out, rel = marshal.loads(verified[1])
        except Exception:
            return None
        if not isinstance(out, bytes) or not isinstance(rel, str):
            return None
        with contextlib.suppress(OSError):
            if time.time() - os.stat(path).st_mtime > _TOUCH_SECONDS:
                os.utime(path)
        return out, rel

    def put(self, key: bytes, out: bytes, rel: str) -> bool:
        if len(out) > MAX_RENDER_BYTES:
            return False
        kept = _without_secret_data(out)
        if kept is None:
            return False
        out = kept
        try:
            payload = marshal.dumps((out, rel))
            owned = self._prepare()
            path = self._path(key)
            if not _may_replace(path, owned, 1 << 30):
                return False
            write_entry(path, key, payload, owned, 1 << 30, _TEMP_PREFIX)
        except (OSError, ValueError):
            return False
        return True

    def _prepare(self) -> bool:
        """Create (and mark) the directory if needed; whether the linter created it."""
        with self._lock:
            if self._owned is None:
                if not os.path.isdir(self.directory):
                    os.makedirs(self.directory)
                    self._owned = _mark_directory(self.directory)
                else:
                    self._owned = _owned(self.directory)
                if self._owned and not self._pruned:
                    self._pruned = True
                    _remove_stale(self.directory)
            return self._owned

    # --- rendering ----------------------------------------------------------------------

    def render(self, tree: kz.Tree, render: Callable[[], Rendered]) -> Rendered:
        """``render()``'s result for ``tree``, from the cache when nothing it reads changed."""
        try:
            key = self.key(tree)
        except (OSError, ValueError):
            key = None
        if key is not None:
            got = self.get(key)
            if got is not None:
                with self._lock:
                    self.hits += 1
                out, rel = got
                return out, os.path.normpath(os.path.join(tree.root.dir, rel))
        with self._lock:
            self.misses += 1
        out, wrapper = render()
        if key is not None:
            self.put(key, out, os.path.relpath(wrapper, tree.root.dir))
        return out, wrapper


def _without_secret_data(out: bytes) -> Optional[bytes]:
    """``out`` with the top-level ``data`` and ``stringData`` of every Secret document removed;
    None when that would change anything the linter reads (see the module's docstring)."""
    if not _SECRET_RE.search(out):
        return out
    if reads_whole("v1", "Secret"):  # the model reads Secrets now: keep them out of the cache
        return None
    parts = _DOC_SEPARATOR.split(out)
    for i, part in enumerate(parts):
        if _SECRET_RE.search(part):
            lines, skipping = [], False
            for line in part.splitlines(keepends=True):
                if skipping and (line[:1] in (b" ", b"\t") or not line.strip()):
                    continue
                skipping = bool(_SECRET_DATA_RE.match(line))
                if not skipping:
                    lines.append(line)
            parts[i] = b"".join(lines)
    kept = b"".join(parts)
    before, _ = load_documents(out)
    after, _ = load_documents(kept)
    if before.errors or after.errors or len(before.documents) != len(after.documents):
        return None
    for a, b in zip(before.documents, after.documents, strict=True):
        if not isinstance(a.data, dict) or not isinstance(b.data, dict):
            if a.data != b.data:
                return None
            continue
        if a.data.get("kind") == "Secret" and a.data.get("apiVersion") == "v1":
            a = {k: v for k, v in a.data.items() if k not in ("data", "stringData")}  # type: ignore[assignment]
            if a != b.data:
                return None
        elif a.data != b.data:
            return None
    return kept


def _command_identity(argv: Sequence[str]) -> Optional[bytes]:
    """The format, the wrapper's code, the command words and the executable's identity."""
    if not argv:
        return None
    exe = shutil.which(argv[0])
    if exe is None:
        return None
    try:
        real = os.path.realpath(exe)
        st = os.stat(real)
        with open(kz.__file__, "rb") as fh:
            source = fh.read()
    except OSError:
        return None
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{FORMAT}\0{list(argv)!r}\0{real}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0".encode())
    h.update(source)
    return h.digest()


def _remove_stale(directory: str) -> None:
    """Render files unused for :data:`STALE_SECONDS`, temporary files of killed runs."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    for name in names:
        render = bool(_NAME.fullmatch(name))
        if not (render or _TEMP_NAME.fullmatch(name)):
            continue
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or now - st.st_mtime <= (STALE_SECONDS if render else TEMP_STALE_SECONDS):
            continue
        if _read_regular(path, 1 << 30, limit=len(MAGIC)) == MAGIC:
            _remove(path)


def open_render_cache(directory: Optional[str], argv: Optional[Sequence[str]]) -> Optional[RenderCache]:
    if not directory or not argv:
        return None
    try:
        return RenderCache(directory, argv)
    except Exception:  # pragma: no cover - the cache must never break a run
        return None


def cached_render(cache: Optional[RenderCache], tree: kz.Tree, render: Callable[[], Rendered]) -> Rendered:
    """``render()``, through ``cache`` when there is one."""
    return render() if cache is None else cache.render(tree, render)


__all__ = ["RenderCache", "open_render_cache", "cached_render", "FORMAT"]
