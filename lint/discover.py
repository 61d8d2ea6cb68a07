"""Find the YAML files to lint.

Directories are walked recursively (hidden directories such as ``.git`` skipped) and
symlinked directories are followed at most once each, keyed by (device, inode), so a
symlink loop cannot make the walk hang.  The result is sorted, so the order of findings
never depends on the filesystem.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Iterable, Optional

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Discovered:
    display: str  # path as the user would type it
    real: str  # absolute path on disk


def display_path(path: str, cwd: Optional[str] = None) -> str:
    """The path relative to the current directory when the file lies under it."""
    cwd = cwd or os.getcwd()
    try:
        rel = os.path.relpath(os.path.abspath(path), cwd)
    except ValueError:  # another drive (Windows)
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


def discover(paths: Iterable[str], exclude: Iterable[str] = (), cwd: Optional[str] = None) -> tuple[list[Discovered], list[str]]:
    """Return the YAML files under ``paths`` and the paths that do not exist."""
    exclude = tuple(exclude)
    found: dict[str, Discovered] = {}
    missing: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    for path in paths:
        if not os.path.lexists(path):
            missing.append(path)
            continue
        if os.path.isdir(path):
            _walk(path, exclude, found, seen_dirs, cwd)
        else:
            # Explicitly named files are linted whatever their suffix, unless excluded.
            disp = display_path(path, cwd)
            if not excluded(disp, exclude):
                found.setdefault(os.path.abspath(path), Discovered(disp, os.path.abspath(path)))
    return sorted(found.values(), key=lambda d: d.display), missing


def _walk(root: str, exclude: tuple[str, ...], found: dict[str, Discovered],
          seen_dirs: set[tuple[int, int]], cwd: Optional[str]) -> None:
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
        except OSError:
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen_dirs:
            continue
        seen_dirs.add(ident)
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            full = os.path.join(directory, name)
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                continue
            if is_dir:
                if name.startswith("."):
                    continue
                if exclude and excluded(display_path(full, cwd), exclude):
                    continue
                stack.append(full)
            elif name.endswith(YAML_SUFFIXES):
                disp = display_path(full, cwd)
                if exclude and excluded(disp, exclude):
                    continue
                found.setdefault(os.path.abspath(full), Discovered(disp, os.path.abspath(full)))
