"""Manifests that a repository's own script fills in with ``sed`` before applying them.

``sed -e "s/{i}/1/g" platform/kube/db.yaml | kubectl apply -f -`` turns ``name: mongodb{i}``
into ``mongodb1``: the file is a template, and the token is no part of the configuration the
cluster sees.  The token shapes of :mod:`lint.placeholders` cover the usual conventions
(``%VAR%``, ``__VAR__``, ``UPPER_CASE`` labels); this module covers any other token, on the
evidence of a script that substitutes it in that very file.  Only shell scripts in the
directories from the repository root down to the manifest's own directory that hold linted
files themselves are read (never below them), once per directory
(docs/semantics.md §unrendered-placeholders).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Iterator

from .placeholders import mark_unrendered

if TYPE_CHECKING:  # pragma: no cover
    from .project import Project

# s/<token>/<replacement>/ (any delimiter-free token of at least two characters, no regex
# metacharacters beyond braces, dots and dashes) in a line that runs sed on a YAML file.
_SED_LINE_RE = re.compile(r"\bsed\b[^\n]*")
_SUBST_RE = re.compile(r"""(?:^|[\s'"])s/([^/\\\s*^$\[\]()|+?]{2,})/[^/]*/g?""")
_YAML_ARG_RE = re.compile(r"""(?:^|[\s'"=<])((?:\.{0,2}/)?[\w./-]+\.ya?ml)\b""")
_SCRIPT_RE = re.compile(r".*\.(sh|bash)$")
_MAX_SCRIPT = 200_000


def _scripts(directory: str) -> Iterator[tuple[str, str]]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        if _SCRIPT_RE.fullmatch(name) and os.path.isfile(path) and not os.path.islink(path):
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    yield directory, fh.read(_MAX_SCRIPT)
            except OSError:
                continue


def _substitutions(directory: str, memo: dict[str, dict[str, set[str]]]) -> dict[str, set[str]]:
    """real path of a YAML file -> the tokens the scripts of ``directory`` substitute in it."""
    hit = memo.get(directory)
    if hit is not None:
        return hit
    out: dict[str, set[str]] = {}
    for where, text in _scripts(directory):
        for line in _SED_LINE_RE.findall(text):
            tokens = set(_SUBST_RE.findall(line))
            if not tokens:
                continue
            for arg in _YAML_ARG_RE.findall(line):
                target = os.path.realpath(os.path.join(where, arg))
                out.setdefault(target, set()).update(tokens)
    memo[directory] = out
    return out


def _strings(node: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, path + (i,))


def mark_sed_tokens(project: "Project", root: str, memo: dict[str, dict[str, set[str]]]) -> None:
    """Mark the fields holding a token that a script of the repository substitutes in the
    resource's file as unrendered (problems about them are dropped). ``memo`` keeps each
    directory's substitutions for the run (the units share their directories)."""
    top = os.path.realpath(root)
    tokens_of: dict[str, set[str]] = {}
    # only directories that hold a linted file: what the result cache's key covers (result_cache._beside)
    linted_dirs = {os.path.dirname(src.real_path) for src in project.files if src.real_path}
    for src in project.files:
        real = src.real_path
        if real is None or not (real == top or real.startswith(top + os.sep)):
            continue
        found: set[str] = set()
        d = os.path.dirname(real)
        while True:
            if d in linted_dirs:
                found |= _substitutions(d, memo).get(real, set())
            if d == top or len(d) <= len(top):
                break
            d = os.path.dirname(d)
        if found:
            tokens_of[real] = found
    if not tokens_of:
        return
    for r in project.resources:
        tokens = tokens_of.get(r.source.real_path or "")
        if not tokens:
            continue
        for path, value in _strings(r.data, ()):
            if any(t in value for t in tokens):
                mark_unrendered(r, path)
                if len(path) > 1:
                    mark_unrendered(r, path[:-1])  # the map it is in (labels, a selector)
