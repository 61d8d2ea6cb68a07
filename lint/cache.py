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
* one pack file per loader build in the cache directory, holding ``{BLAKE2b-128 of bytes: marshalled
  LoadResult}``; the pack's name and header carry the loader's identity (a format number,
  the package version, the Python version and a hash of ``loader.py``'s source), so a
  different or edited loader never reads another one's entries;
* the pack is rewritten (atomically: a temporary file, then ``os.replace``) only when the
  run parsed something new (or used entries close to ageing out); every write is a new
  generation, and an entry no run has used for :data:`KEEP_GENERATIONS` writes is dropped,
  so alternating between sub-trees (or branches) does not thrash and deleted or rewritten
  files do not pile up; the pack is created 0600 and keeps only what the model reads of
  kinds it does not model (``_redact``: no copy of a repository's Secrets);
* anything wrong with the cache (unreadable, corrupt, read-only directory, a value marshal
  cannot store) means "parse as if there were no cache", silently: a cache may make a run
  faster, never different (``tests/test_cache.py`` compares cold and warm runs).

Positions are not cached: they are re-parsed from the bytes on demand (see
:class:`~istio_vm_lint.loader.PositionIndex`), which only files with findings need.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
import time
from typing import Any, Optional

from . import __version__
from .loader import Document, DuplicateKey, LoadResult, ParseError
from .project import reads_whole

# Bump when the shape of the cached data changes (LoadResult, Document, ...).
FORMAT = 1
DEFAULT_DIR_NAME = ".istio-vm-lint-cache"
# An entry survives this many pack writes without being used.
KEEP_GENERATIONS = 10
# Another build's pack is removed once it has not been written for this long (a week), and
# a temporary file left by a killed run after an hour.
STALE_SECONDS = 7 * 24 * 3600
TEMP_STALE_SECONDS = 3600
_GITIGNORE = "# Created by istio-vm-lint: a cache, safe to delete.\n*\n"
_CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                 "# This file is a cache directory tag created by istio-vm-lint.\n")


def _loader_identity() -> str:
    """What the cached data depends on besides the file: this build of the loader."""
    from . import loader

    h = hashlib.blake2b(digest_size=8)
    h.update(f"{FORMAT}|{__version__}|{sys.version_info[0]}.{sys.version_info[1]}|{marshal.version}".encode())
    # The parser decides documents and error texts: its Python and C (libyaml) versions count.
    h.update(f"|{_parser_versions()}|{getattr(sys, 'get_int_max_str_digits', lambda: 0)()}".encode())
    try:
        with open(loader.__file__ or "", "rb") as fh:  # an edited loader invalidates the cache
            h.update(fh.read())
    except OSError:
        pass
    return h.hexdigest()


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
    secrets.  ``kind: List`` items are treated the same way, one by one.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        return 0  # not a mapping: ignored whatever it holds
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if kind == "List" and isinstance(data.get("items"), list):
        return {**data, "items": [_redact(i) for i in data["items"]]}
    if isinstance(api_version, str) and isinstance(kind, str) and reads_whole(api_version, kind):
        return data
    return {"apiVersion": api_version, "kind": kind}


def content_key(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=16).digest()


def _encode(result: LoadResult) -> bytes:
    docs = [(d.index, _redact(d.data), d.line, d.column,
             [(k.path, k.key, k.line, k.column, k.first_line) for k in d.duplicates]) for d in result.documents]
    errors = [(e.line, e.column, e.message, e.code) for e in result.errors]
    return marshal.dumps((docs, errors))


def _decode(blob: bytes) -> LoadResult:
    docs, errors = marshal.loads(blob)
    return LoadResult([Document(i, data, line, col, [DuplicateKey(*k) for k in dups])
                       for i, data, line, col, dups in docs],
                      [ParseError(*e) for e in errors])


class ParseCache:
    """The parse results of one cache directory; :meth:`save` writes back what changed."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.identity = _loader_identity()
        self.path = os.path.join(directory, f"parse-{self.identity}.marshal")
        self.generation = 0
        self._old: dict[bytes, tuple[bytes, int]] = {}  # key -> (blob, generation last used)
        self._used: dict[bytes, bytes] = {}
        self.hits = 0
        self.misses = 0
        self.aging = 0
        self._read()

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                identity, generation, entries = marshal.loads(fh.read())
        except Exception:  # missing, corrupt, truncated, another format: start empty
            return
        if identity == self.identity and isinstance(entries, dict) and isinstance(generation, int):
            # Checked once here, so the rest of the class can trust every entry's shape.
            self._old = {k: v for k, v in entries.items() if isinstance(v, tuple) and len(v) == 2
                         and isinstance(v[0], bytes) and isinstance(v[1], int)}
            self.generation = generation

    def get(self, raw: bytes) -> tuple[bytes, Optional[LoadResult]]:
        """``(key, result)``: the content key (for :meth:`put` on a miss) and the cached
        result, or None."""
        key = content_key(raw)
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

    def put(self, key: bytes, result: LoadResult) -> None:
        try:
            self._used[key] = _encode(result)
        except (ValueError, TypeError):  # something marshal cannot store: just not cached
            pass

    def save(self) -> bool:
        """Write the pack if this run parsed anything new (or used entries about to age
        out); False when it could not be written."""
        if not self.misses and not self.aging:
            return True
        generation = self.generation + 1
        entries: dict[bytes, tuple[bytes, int]] = {}
        for k, old in self._old.items():
            if k not in self._used and generation - old[1] <= KEEP_GENERATIONS:
                entries[k] = old
        for k, blob in self._used.items():
            entries[k] = (blob, generation)
        try:
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory)
                _mark_directory(self.directory)  # only a directory the linter created itself
            # mkstemp creates the file 0600 and it stays so: the pack holds the content of
            # the linted files, which may be more private than the cache directory.
            fd, tmp = tempfile.mkstemp(prefix=".parse-", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(marshal.dumps((self.identity, generation, entries)))
                os.replace(tmp, self.path)
            except BaseException:
                _remove(tmp)
                raise
            self._remove_other_packs()
        except (OSError, ValueError):
            return False
        self.generation = generation
        return True

    def _remove_other_packs(self) -> None:
        """Packs of other loader builds not written for :data:`STALE_SECONDS` (an older
        version, an old Python), and temporary files of killed runs, are dead weight.  A
        pack written recently may belong to another interpreter sharing the directory
        (pre-commit's and an editor's): it stays."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        mine = os.path.basename(self.path)
        now = time.time()
        for name in names:
            pack = name.startswith("parse-") and name.endswith(".marshal") and name != mine
            if not (pack or name.startswith(".parse-")):
                continue
            path = os.path.join(self.directory, name)
            try:
                age = now - os.stat(path).st_mtime
            except OSError:
                continue
            if age > (STALE_SECONDS if pack else TEMP_STALE_SECONDS):
                _remove(path)


def _mark_directory(directory: str) -> None:
    """A ``.gitignore`` so the cache is never committed, and the standard CACHEDIR.TAG."""
    for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            try:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
            except OSError:
                pass


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def open_cache(directory: Optional[str]) -> Optional[ParseCache]:
    if not directory:
        return None
    try:
        return ParseCache(directory)
    except Exception:  # pragma: no cover - the cache must never break a run
        return None


__all__ = ["ParseCache", "open_cache", "content_key", "DEFAULT_DIR_NAME", "FORMAT"]
