"""Find the YAML files to lint.

Directories are walked recursively (hidden directories such as ``.git`` skipped) and
symlinked directories are followed at most once each, keyed by (device, inode), so a
symlink loop cannot make the walk hang.  Files are keyed by their real path, so a file
reached through a symlink and its target (or named twice) is read once.  The walk itself is
deterministic: entries are visited in sorted order and real directories before symlinked
ones, so a directory reachable both ways is always reported under its real path, whatever
order the filesystem lists it in.
The result is sorted, so the order of findings never depends on the filesystem.

Inside a walked directory only regular files (or symlinks to them) are taken; a named pipe,
socket or device called ``*.yaml`` is skipped, because opening a FIFO blocks until someone
writes to it.  Broken symlinks are kept so the load reports them as unreadable.  A path named
explicitly on the command line is always read (``istio-vm-lint <(helm template .)``).

Like git, the walk never follows a symlink (to a file or a directory) that resolves outside
the repository the walked path belongs to (its git root, or the walked path itself when it is
in no repository): content from elsewhere would otherwise appear in findings, CI logs and
uploaded SARIF, and ``ln -s / root`` would walk the whole filesystem.  Such a link is
returned as an entry with ``outside`` set (the load reports it once, IVL005) and not read.

Display paths are the real names (relative to the current directory when the file lies
under it): a file name holding a newline or bytes that are not UTF-8 stays exactly that, so
JSON and SARIF reports point at the file that exists.  Escaping is the output's business:
the text and GitHub formats show such names with backslash escapes (``report.one_line``),
JSON escapes them its own way and SARIF percent-encodes its URIs.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Iterable, Optional

YAML_SUFFIXES = (".yaml", ".yml")
# The names kustomize reads as a kustomization (here rather than in kustomize.py, so that
# planning a run without one does not import the kustomize support).
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def is_kustomization(path: str) -> bool:
    return os.path.basename(path) in KUSTOMIZATION_NAMES


@dataclass(frozen=True)
class Discovered:
    """A YAML file found to lint: the path as shown and the real path read."""

    display: str  # path as the user would type it
    real: str  # absolute path on disk, symlinks resolved: one file, one key
    via_link: bool = field(default=False, compare=False)  # display names a symlink (or goes through one)
    # A symlink leaving the repository: its target as written in the link; not read.
    outside: Optional[str] = field(default=None, compare=False)
    boundary_is_repo: bool = field(default=True, compare=False)  # git root (else the walked path)


def _add(found: dict[str, Discovered], path: str, disp: str) -> None:
    """Record a file once, however many names reach it (a symlinked file beside its target,
    one file named through two paths): loading it twice would make every resource in it
    clash with itself.  A name without symlinks wins; otherwise the first one seen."""
    absolute = os.path.abspath(path)
    real = os.path.realpath(absolute)
    have = found.get(real)
    if have is None or (have.via_link and absolute == real):
        found[real] = Discovered(disp, real, absolute != real)


def printable(path: str) -> str:
    """``path`` with undecodable bytes and control characters backslash-escaped."""
    if path.isprintable():
        return path
    raw = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in raw)


def display_path(path: str, cwd: Optional[str] = None) -> str:
    """The path relative to the current directory when the file lies under it (the real
    name, not escaped: see the module docstring)."""
    try:
        cwd = cwd or os.getcwd()
        rel = os.path.relpath(os.path.abspath(path), cwd)
    except (ValueError, OSError):  # another drive (Windows); current directory deleted
        return path
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path  # outside the current directory: as the user typed it
    return rel


def excluded(path: str, patterns: Iterable[str]) -> bool:
    """True when the path, any of its suffixes or its basename matches a glob."""
    norm = path.replace(os.sep, "/")
    parts = norm.split("/")
    for pat in patterns:
        pat = pat.rstrip("/")
        if fnmatch.fnmatch(norm, pat) or fnmatch.fnmatch(parts[-1], pat):
            return True
        for i in range(len(parts)):
            if fnmatch.fnmatch("/".join(parts[i:]), pat) or fnmatch.fnmatch(parts[i], pat):
                return True
    return False


def boundary(path: str) -> tuple[str, bool]:
    """``(directory, is a repository)`` that symlinks met while walking ``path`` must not
    leave: the git root above its real path, else the real path itself."""
    real = os.path.realpath(path)
    probe = real
    while True:
        if os.path.lexists(os.path.join(probe, ".git")):
            return probe, True
        parent = os.path.dirname(probe)
        if parent == probe:
            return real, False
        probe = parent


def inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _outside(found: dict[str, Discovered], full: str, disp: str, fence: tuple[str, bool]) -> bool:
    """Record ``full`` (a symlink) as leaving ``fence`` when it does; True if so."""
    if inside(os.path.realpath(full), fence[0]):
        return False
    try:
        target = os.readlink(full)
    except OSError:  # pragma: no cover - it was a symlink a moment ago
        target = "?"
    key = os.path.abspath(full)
    found.setdefault(key, Discovered(disp, key, True, printable(target), fence[1]))
    return True


def discover(paths: Iterable[str], exclude: Iterable[str] = (), cwd: Optional[str] = None,
             unreadable: Optional[list[tuple[str, str]]] = None) -> tuple[list[Discovered], list[str]]:
    """Return the YAML files under ``paths`` and the paths that do not exist.

    Directories that cannot be listed are appended to ``unreadable`` as ``(display path,
    reason)`` when a list is given (the CLI makes them a usage error: a run that read
    nothing must not pass as clean).

    Symlinks leaving the repository are among the entries, with ``outside`` set."""
    exclude = tuple(exclude)
    found: dict[str, Discovered] = {}
    missing: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    for path in paths:
        if not os.path.lexists(path):
            missing.append(path)
            continue
        if os.path.isdir(path):
            _walk(path, exclude, found, seen_dirs, cwd, boundary(path), unreadable)
        else:
            # Explicitly named files are linted whatever their suffix, unless excluded.
            disp = display_path(path, cwd)
            if not excluded(disp, exclude):
                _add(found, path, disp)
    return sorted(found.values(), key=lambda d: d.display), missing


def _walk(root: str, exclude: tuple[str, ...], found: dict[str, Discovered],
          seen_dirs: set[tuple[int, int]], cwd: Optional[str], fence: tuple[str, bool],
          unreadable: Optional[list[tuple[str, str]]] = None) -> None:
    # Depth-first, in sorted order; symlinked directories wait until every real directory
    # has been seen, so (device, inode) dedup keeps the real path, not the first link found.
    stack = [root]
    linked: list[str] = []
    while stack or linked:
        directory = stack.pop() if stack else linked.pop()
        try:
            st = os.stat(directory)
        except OSError:
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen_dirs:
            continue
        seen_dirs.add(ident)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            if unreadable is not None:
                unreadable.append((display_path(directory, cwd), exc.strerror or str(exc)))
            continue
        for entry in entries:
            name = entry.name
            full = os.path.join(directory, name)
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:  # a symlink loop (ELOOP): not a directory; kept below if *.yaml
                is_dir = False
            if is_dir:
                if name.startswith("."):
                    continue
                if exclude and excluded(display_path(full, cwd), exclude):
                    continue
                try:
                    link = entry.is_symlink()
                except OSError:  # pragma: no cover - is_symlink() does not stat on POSIX
                    continue
                if link and _outside(found, full, display_path(full, cwd), fence):
                    continue
                (linked if link else stack).append(full)
            elif name.endswith(YAML_SUFFIXES):
                try:
                    # Regular files only; a broken or looping symlink is kept (reported as
                    # unreadable by the load), a FIFO/socket/device is skipped (reading blocks).
                    if not entry.is_file() and not (entry.is_symlink() and not os.path.exists(full)):
                        continue
                except OSError:
                    pass
                disp = display_path(full, cwd)
                if exclude and excluded(disp, exclude):
                    continue
                if entry.is_symlink() and _outside(found, full, disp, fence):
                    continue
                _add(found, full, disp)
