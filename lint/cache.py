"""A parse cache keyed by file content, so a repeated run only parses the files that changed.

pre-commit runs the linter on every commit and, with whole-repository context, loads every
file every time; parsing is about half of a run.  The result of parsing one file (its
documents as plain data, its parse errors and duplicate keys) depends on nothing but the
file's bytes and the loader, so it can be stored under a hash of the bytes and read back
with :mod:`marshal` (about 40 times faster than parsing the YAML again).

Design, after ruff's cache:

* opt-in (``--cache-dir``, ``ISTIO_VM_LINT_CACHE_DIR`` or ``cache-dir`` in the config): a
  linter writes nothing it was not asked to; ``.istio-vm-lint-cache`` at the root is the
  suggested place (:data:`DEFAULT_DIR_NAME`);
* one pack file per build in the cache directory, holding ``{BLAKE2b-128 of bytes: marshalled
  LoadResult}``; the pack's name and header carry the build's identity (a format number,
  the package version, the Python, marshal, ruamel.yaml and libyaml versions, and a hash of
  every file of the package: modules, rules and schemas, computed once per process), so two
  builds never read each other's entries;
* integrity: the header holds the payload's length and BLAKE2b-256 digest, checked before
  anything is unmarshalled; a pack that fails (a flipped byte, a truncated write) is
  ignored and rebuilt.  Only a regular file (not a symlink, FIFO or device) of at most
  :data:`MAX_PACK_BYTES` is read.  The digest detects damage, not forgery: whoever can write
  the cache directory can feed the linter data (``docs/ecosystem.md``, "Parse cache");
* the pack is rewritten (atomically: a temporary file, then ``os.replace``) only when the
  run parsed something new (or used entries close to ageing out); every write is a new
  generation, and an entry no run has used for :data:`KEEP_GENERATIONS` writes is dropped,
  so alternating between sub-trees (or branches) does not thrash and deleted or rewritten
  files do not pile up; the pack is created 0600 and keeps only what the model reads of
  kinds it does not model (``_redact``: no copy of a repository's Secrets);
* the cache deletes or replaces only what it can tell it wrote.  A directory it creates is
  marked (CACHEDIR.TAG, ``.gitignore``); only there are other builds' packs and killed
  runs' temporary files pruned, and only files with the cache's own names
  (:data:`_PACK_NAME`, :data:`_TEMP_NAME`) that start with its header.  In a directory it
  did not create it never removes anything, and it writes its pack only under a name that
  is free or already holds a pack;
* anything wrong with the cache (unreadable, corrupt, read-only directory, a value marshal
  cannot store) means "parse as if there were no cache", silently: a cache may make a run
  faster, never different (``tests/test_cache.py`` compares cold and warm runs).

Positions are not cached: they are re-parsed from the bytes on demand (see
:class:`~istio_vm_lint.loader.PositionIndex`), which only files with findings need.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import stat
import struct
import sys
import tempfile
import time
from typing import Any, Optional

from . import __version__
from .loader import Document, DuplicateKey, LoadResult, ParseError
from .project import is_list_document, item_identity, reads_whole

# Bump when the shape of the cached data or of the pack changes.
# 3: unmodelled kinds with a pod template are kept whole.
# 4: items of typed and nested lists are redacted by the type they have or inherit.
FORMAT = 4
DEFAULT_DIR_NAME = ".istio-vm-lint-cache"
# An entry survives this many pack writes without being used.
KEEP_GENERATIONS = 10
# In a directory the linter created, another build's pack is removed once it has not been
# written for this long (a week), and a temporary file left by a killed run after an hour.
STALE_SECONDS = 7 * 24 * 3600
TEMP_STALE_SECONDS = 3600
# A pack larger than this is not read (nor written): a cache never costs more than parsing.
MAX_PACK_BYTES = 256 * 1024 * 1024
_GITIGNORE = "# Created by istio-vm-lint: a cache, safe to delete.\n*\n"
_CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                 "# This file is a cache directory tag created by istio-vm-lint.\n")
# Pack layout: MAGIC, the 16-byte build identity, the payload length (8 bytes, big-endian),
# the BLAKE2b-256 digest of the payload, then the payload (marshal).
MAGIC = b"IVLPACK\x00"
_HEADER = struct.Struct(">8s16sQ32s")
# The only names the cache writes (and so the only ones it may ever remove).
_PACK_NAME = re.compile(r"parse-[0-9a-f]{32}\.marshal")
_TEMP_PREFIX, _TEMP_SUFFIX = ".parse-", ".tmp"
_TEMP_NAME = re.compile(r"\.parse-[a-z0-9_]{8}\.tmp")

_package_digest: Optional[bytes] = None


def _package_files() -> list[str]:
    """Every file of the installed package (code, schemas, rule modules), sorted."""
    import importlib.util

    dirs: set[str] = set()
    for name in ("istio_vm_lint", "istio_vm_lint.rules", "istio_vm_lint.schemas", "istio_vm_lint.report"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for d in (spec.submodule_search_locations or []) if spec is not None else []:
            dirs.add(os.path.realpath(d))
    files: set[str] = set()
    for top in dirs:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
            files.update(os.path.join(dirpath, f) for f in filenames
                         if not f.endswith((".pyc", ".pyo")) and not f.startswith("."))
    return sorted(files)


def package_digest() -> bytes:
    """A hash of every file of the package, computed once per process: two builds (an edited
    rule, a new schema, another version) never share a pack."""
    global _package_digest
    if _package_digest is None:
        _package_digest = _digest_files(_package_files())
    return _package_digest


def _digest_files(paths: list[str]) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for path in paths:
        name = os.path.basename(path).encode("utf-8", "surrogateescape")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            data = b"\x00unreadable"
        h.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


def _loader_identity() -> bytes:
    """What the cached data depends on besides the file: this build of the package."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{FORMAT}|{__version__}|{sys.version_info[0]}.{sys.version_info[1]}|{marshal.version}".encode())
    # The parser decides documents and error texts: its Python and C (libyaml) versions count.
    h.update(f"|{_parser_versions()}|{getattr(sys, 'get_int_max_str_digits', lambda: 0)()}|".encode())
    h.update(package_digest())
    return h.digest()


def _parser_versions() -> str:
    import ruamel.yaml

    out = [str(getattr(ruamel.yaml, "__version__", "?"))]
    for mod in ("_ruamel_yaml", "_ruamel_yaml_clibz"):
        m = sys.modules.get(mod)
        if m is not None:
            get = getattr(m, "get_version_string", None)
            out.append(f"{mod}={get() if callable(get) else getattr(m, '__version__', '?')}")
    return ",".join(out)


def _redact(data: Any) -> Any:
    """What the model reads of one document, and nothing else.

    Documents of kinds the linter does not model (Secrets, ConfigMaps, ...) are counted and
    skipped by ``add_documents`` on their ``apiVersion``/``kind`` alone, so the cache keeps
    only those two fields of them: a parse cache must not become a copy of a repository's
    secrets.  The items of list documents (``kind: List``, typed and nested lists) are treated
    the same way, one by one.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        return 0  # not a mapping: ignored whatever it holds
    if is_list_document(data):  # typed and nested lists too, as the loader reads them
        return {**data, "items": [_redact_item(data, i) for i in data["items"]]}
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if isinstance(api_version, str) and isinstance(kind, str) and reads_whole(api_version, kind, data):
        return data
    # Only the keys it has: a document without them is no manifest (``project._is_manifest``).
    return {k: data[k] for k in ("apiVersion", "kind") if k in data}


def _redact_item(list_doc: dict[str, Any], item: Any) -> Any:
    """An item of a list document: kept whole when the type it has (or inherits from a typed
    list) is one the model reads."""
    if isinstance(item, dict) and not is_list_document(item):
        api_version, kind = item_identity(list_doc, item)
        if isinstance(api_version, str) and isinstance(kind, str) and reads_whole(api_version, kind, item):
            return item
    return _redact(item)


def content_key(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=16).digest()


def _encode(result: LoadResult) -> bytes:
    docs = [(d.index, _redact(d.data), d.line, d.column,
             [(k.path, k.key, k.line, k.column, k.first_line) for k in d.duplicates]) for d in result.documents]
    errors = [(e.line, e.column, e.message, e.code) for e in result.errors]
    return marshal.dumps((docs, errors))


def _decode(blob: bytes) -> LoadResult:
    docs, errors = marshal.loads(blob)
    return LoadResult([Document(i, data, line, col, [] if dups == [] else [DuplicateKey(*k) for k in dups])
                       for i, data, line, col, dups in docs],
                      [ParseError(*e) for e in errors])


class ParseCache:
    """The parse results of one cache directory; :meth:`save` writes back what changed."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._identity = _loader_identity()
        self.identity = self._identity.hex()
        self.path = os.path.join(directory, f"parse-{self.identity}.marshal")
        self.generation = 0
        self._old: dict[bytes, tuple[bytes, int]] = {}  # key -> (blob, generation last used)
        self._used: dict[bytes, bytes] = {}
        self.hits = 0
        self.misses = 0
        self.aging = 0
        self.new_verdicts = 0
        self._keys: dict[int, tuple[bytes, bytes]] = {}  # id(raw) -> (raw, content key), this run
        self._read()

    def _read(self) -> None:
        blob = _read_regular(self.path, MAX_PACK_BYTES + _HEADER.size)
        verified = None if blob is None else _verified_payload(blob)
        if verified is None:  # missing, not a regular file, damaged or truncated: start empty
            return
        identity, payload = verified
        if identity != self._identity:
            return
        try:
            generation, entries = marshal.loads(payload)
        except Exception:  # pragma: no cover - the digest matched: written by another build
            return
        if isinstance(entries, dict) and isinstance(generation, int):
            # Checked once here, so the rest of the class can trust every entry's shape.
            self._old = {k: v for k, v in entries.items() if isinstance(k, bytes) and isinstance(v, tuple)
                         and len(v) == 2 and isinstance(v[0], bytes) and isinstance(v[1], int)}
            self.generation = generation

    def get(self, raw: bytes) -> tuple[bytes, Optional[LoadResult]]:
        """``(key, result)``: the content key (for :meth:`put` on a miss) and the cached
        result, or None."""
        key = self.key_of(raw)
        old = self._old.get(key)
        blob = self._used.get(key) or (old[0] if old else None)
        if blob is None:
            self.misses += 1
            return key, None
        try:
            result = _decode(blob)
        except Exception:  # a damaged entry is a miss
            self._old.pop(key, None)
            self.misses += 1
            return key, None
        if key not in self._used and old and self.generation - old[1] >= KEEP_GENERATIONS // 2:
            self.aging += 1  # in use but getting old: worth a write to keep it
        self._used[key] = blob
        self.hits += 1
        return key, result

    def key_of(self, raw: bytes) -> bytes:
        """The content key of ``raw`` (hashed once per run per file read)."""
        have = self._keys.get(id(raw))
        if have is not None and have[0] is raw:
            return have[1]
        key = content_key(raw)
        self._keys[id(raw)] = (raw, key)
        return key

    def seed(self, raw: bytes, key: bytes) -> None:
        """``key`` is the content key of ``raw``, hashed already (the result cache's key)."""
        self._keys[id(raw)] = (raw, key)

    # --- rejection verdicts (named-file runs) ------------------------------------------
    # In a run on named files the rejecting per-resource rules (schema, webhook validation)
    # run over every context resource for one bit: is it rejected?  That bit depends only on
    # the resource's content and the rules (the pack's identity hashes every file of the
    # package), so it is stored here under a key of the resource's data (see
    # ``units.run.verdict_key``), in the same entries as the parse results: a 17-byte key
    # (``V`` + digest) never meets a 16-byte content key.

    def verdict(self, key: bytes) -> Optional[bool]:
        vkey = b"V" + key
        old = self._old.get(vkey)
        blob = self._used.get(vkey) or (old[0] if old else None)
        if blob not in (b"\x00", b"\x01"):
            return None
        if vkey not in self._used and old and self.generation - old[1] >= KEEP_GENERATIONS // 2:
            self.aging += 1
        self._used[vkey] = blob
        return blob == b"\x01"

    def put_verdict(self, key: bytes, rejected: bool) -> None:
        self._used[b"V" + key] = b"\x01" if rejected else b"\x00"
        self.new_verdicts += 1

    # The verdicts of all the resources of one file read as it is, in one entry: ``W`` + a
    # hash of the file's content key, the resources' namespaces and the rules selected
    # (``units.run.file_verdict_key``); the value holds one byte (0 or 1) per resource.

    def file_verdicts(self, key: bytes, count: int) -> Optional[list[bool]]:
        wkey = b"W" + key
        old = self._old.get(wkey)
        blob = self._used.get(wkey) or (old[0] if old else None)
        if blob is None or len(blob) != count or blob.strip(b"\x00\x01"):
            return None
        if wkey not in self._used and old and self.generation - old[1] >= KEEP_GENERATIONS // 2:
            self.aging += 1
        self._used[wkey] = blob
        return [b == 1 for b in blob]

    def put_file_verdicts(self, key: bytes, verdicts: list[bool]) -> None:
        self._used[b"W" + key] = bytes(1 if v else 0 for v in verdicts)
        self.new_verdicts += 1

    # --- derived data (lint/relevance.py): plain data computed from a file's content, under
    # ``R`` (a file's resolved keys) or ``U`` (the keys it is indexed under) + a hash of the
    # content key, the namespaces and the cluster domain, marshalled; an entry of another
    # shape is a miss.

    def derived(self, key: bytes) -> Any:
        old = self._old.get(key)
        blob = self._used.get(key) or (old[0] if old else None)
        if blob is None:
            return None
        try:
            value = marshal.loads(blob)
        except Exception:  # a damaged entry is a miss
            self._old.pop(key, None)
            return None
        if key not in self._used and old and self.generation - old[1] >= KEEP_GENERATIONS // 2:
            self.aging += 1
        self._used[key] = blob
        return value

    def put_derived(self, key: bytes, value: Any) -> None:
        with contextlib.suppress(ValueError, TypeError):
            self._used[key] = marshal.dumps(value)
            self.new_verdicts += 1

    def put(self, key: bytes, result: LoadResult) -> None:
        with contextlib.suppress(ValueError, TypeError):  # something marshal cannot store: just not cached
            self._used[key] = _encode(result)

    def save(self) -> bool:
        """Write the pack if this run parsed anything new (or used entries about to age
        out); False when it could not (or must not) be written."""
        if not self.misses and not self.aging and not self.new_verdicts:
            return True
        generation = self.generation + 1
        entries: dict[bytes, tuple[bytes, int]] = {}
        for k, old in self._old.items():
            if k not in self._used and generation - old[1] <= KEEP_GENERATIONS:
                entries[k] = old
        for k, blob in self._used.items():
            entries[k] = (blob, generation)
        try:
            payload = marshal.dumps((generation, entries))
            if len(payload) > MAX_PACK_BYTES:
                return False
            created = False
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory)
                created = _mark_directory(self.directory)  # only a directory the linter created itself
            owned = created or _owned(self.directory)
            if not _may_replace(self.path, owned):
                return False
            write_entry(self.path, self._identity, payload, owned, MAX_PACK_BYTES + _HEADER.size, _TEMP_PREFIX)
            if owned:
                self._remove_stale_files()
        except (OSError, ValueError):
            return False
        self.generation = generation
        return True

    def _remove_stale_files(self) -> None:
        """In a directory the linter created (and marked), packs of other builds not written
        for :data:`STALE_SECONDS` (an older version, an old Python) and temporary files of
        killed runs are dead weight.  Only names the cache generates, holding a pack header,
        are candidates: whatever else is there is not the linter's.  A pack written recently
        may belong to another interpreter sharing the directory (pre-commit's and an
        editor's): it stays."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        mine = os.path.basename(self.path)
        now = time.time()
        for name in names:
            pack = bool(_PACK_NAME.fullmatch(name)) and name != mine
            if not (pack or _TEMP_NAME.fullmatch(name)):
                continue
            path = os.path.join(self.directory, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime <= (STALE_SECONDS if pack else TEMP_STALE_SECONDS):
                continue
            head = _read_regular(path, MAX_PACK_BYTES + _HEADER.size, limit=len(MAGIC))
            if head == MAGIC:
                _remove(path)


def _read_regular(path: str, cap: int, limit: Optional[int] = None) -> Optional[bytes]:
    """The bytes of ``path`` if it is a regular file (not a symlink, FIFO or device) of at
    most ``cap`` bytes; its first ``limit`` bytes only, when given.  None otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):  # O_NOFOLLOW does not exist everywhere
            return None
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > cap:
            return None
        want = st.st_size if limit is None else min(limit, st.st_size)
        chunks, got = [], 0
        while got < want:
            chunk = os.read(fd, min(want - got, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _verified_payload(blob: bytes) -> Optional[tuple[bytes, bytes]]:
    """``(identity, payload)`` of a pack whose length and checksum are right, else None."""
    if len(blob) < _HEADER.size:
        return None
    magic, identity, length, digest = _HEADER.unpack_from(blob)
    payload = blob[_HEADER.size:]
    if magic != MAGIC or length != len(payload):
        return None
    if hashlib.blake2b(payload, digest_size=32).digest() != digest:
        return None
    return identity, payload


def _may_replace(path: str, owned: bool, cap: int = MAX_PACK_BYTES + _HEADER.size) -> bool:
    """Whether a cache file may be written at ``path``: nothing is there, or a regular file of
    at most ``cap`` bytes that starts like one of ours, or (in a directory the linter created)
    any regular file under our own name, which only this build uses.  Anything else is
    someone else's file.  The render cache uses it too, with its own cap."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    return owned or _read_regular(path, cap, limit=len(MAGIC)) == MAGIC


def write_entry(path: str, key: bytes, payload: bytes, owned: bool, cap: int, prefix: str) -> None:
    """Write one cache file atomically: header (magic, ``key``, length, checksum) and
    ``payload`` into a temporary file beside ``path`` (``prefix`` names it), then renamed over
    ``path`` unless someone else's file appeared there meanwhile (:func:`_may_replace` with
    ``cap``).  mkstemp creates the file 0600 and it stays so: entries hold the content of the
    linted files, which may be more private than the cache directory.  The temporary file is
    removed on any failure; OSError propagates.  The parse, render and result caches share it."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_HEADER.pack(MAGIC, key, len(payload), hashlib.blake2b(payload, digest_size=32).digest()))
            fh.write(payload)
        if not _may_replace(path, owned, cap):  # appeared meanwhile: not ours to replace
            raise FileExistsError(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _owned(directory: str) -> bool:
    """Whether the linter created ``directory``: it holds the CACHEDIR.TAG written then."""
    return _read_regular(os.path.join(directory, "CACHEDIR.TAG"), 4096) == _CACHEDIR_TAG.encode()


def _mark_directory(directory: str) -> bool:
    """A ``.gitignore`` so the cache is never committed, and the standard CACHEDIR.TAG (which
    also tells later runs that the linter created this directory).  True when both were
    written here and now."""
    ok = True
    for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
        try:
            fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError:
            ok = False
    return ok


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def open_cache(directory: Optional[str]) -> Optional[ParseCache]:
    if not directory:
        return None
    try:
        return ParseCache(directory)
    except Exception:  # pragma: no cover - the cache must never break a run
        return None


__all__ = ["ParseCache", "open_cache", "content_key", "package_digest", "DEFAULT_DIR_NAME", "FORMAT"]
