"""Could an unrendered Helm chart define what a reference names?  Read from the chart's text.

Without ``helm`` a chart's templates are not rendered, so the objects it would install are
unknown.  A reference that resolves to nothing used to be lowered to info whenever *any*
chart of the repository was unrendered, which hid real mistakes far from every chart (a
typo in a plain VirtualService beside an unrelated install chart).  Now it is lowered only
when a chart may define the name: the name is written in the chart (templates, values,
``Chart.yaml``), or a templated object name (``metadata.name``) or ``hosts`` entry of a
template can produce it.  A
template expression stands for anything, except the chart's own naming helpers
(``include "<chart>.fullname"`` and ``include "<chart>.name"``), which produce names that
contain the chart's name or the ``nameOverride``/``fullnameOverride`` values
(``helm create``'s ``_helpers.tpl``; docs/semantics.md §unrendered-charts).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Optional

from .opaque import SELECTOR_CODES, _missing_names, finding_selector, mentions

if TYPE_CHECKING:  # pragma: no cover
    from ..findings import Problem
    from .plan import Plan

_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")
_MAX_BYTES = 4 << 20  # per chart: a chart is small; a vendored install bundle is read in part
_CHART_NAME_RE = re.compile(r"^name:[ \t]*[\"']?([A-Za-z0-9][\w.-]*)", re.M)
_OVERRIDE_RE = re.compile(r"^(?:nameOverride|fullnameOverride):[ \t]*[\"']?([a-z0-9][a-z0-9.-]*)", re.M)
# What a template defines: an object's own name (``metadata.name``, two spaces in, as every
# chart writes it) and the hosts it declares (a ServiceEntry's or VirtualService's ``hosts``).
# Other templated names (env vars, ports, pull secrets, references) define nothing.
_FIELD_RE = re.compile(r"^  name[ \t]*:[ \t]*(.*\{\{.*)$", re.M)
_HOSTS_RE = re.compile(r"^([ \t]*)hosts:[ \t]*\n((?:\1[ \t]*-[^\n]*\n)+)", re.M)
_ITEM_RE = re.compile(r"^[ \t]*-[ \t]+(.*\{\{.*)$", re.M)
_EXPR_RE = re.compile(r"\{\{-?(.*?)-?\}\}")


class _Chart:
    __slots__ = ("rel", "text", "names", "patterns")

    def __init__(self, rel: str, text: str, names: list[str], patterns: list[re.Pattern[str]]) -> None:
        self.rel = rel
        self.text = text
        self.names = names  # what the naming helpers produce contains one of these
        self.patterns = patterns  # templated name/host fields, as regular expressions

    def may_define(self, name: str) -> bool:
        return mentions(self.text, name) or any(p.fullmatch(name) for p in self.patterns)


def _read(chart: str) -> str:
    parts: list[str] = []
    size = 0
    for top, dirs, files in os.walk(chart):  # symlinks are not followed (nothing outside is read)
        dirs.sort()
        for f in sorted(files):
            if not f.endswith(_SUFFIXES):
                continue
            path = os.path.join(top, f)
            if os.path.islink(path):
                continue
            try:
                with open(path, "rb") as fh:
                    data = fh.read(_MAX_BYTES - size)
            except OSError:
                continue
            size += len(data)
            parts.append(data.decode("utf-8", "replace"))
            if size >= _MAX_BYTES:
                return "\n".join(parts)
    return "\n".join(parts)


_ANY = "[a-z0-9.*-]*"
_HELPER_RE = re.compile(r"""(?:include|template)\s+["'][\w.-]+\.(fullname|name)["']""")
_OTHER_CALL_RE = re.compile(r"\b(?:include|template|tpl|lookup)\b|\.Release\.|\.Capabilities\.")


def _expression(expr: str, names: list[str]) -> Optional[str]:
    """What a template expression of a name can produce, as a regular expression: names with
    the chart's name for its naming helpers; anything for the release's name, another helper
    or a call; None for a value read from the chart (``.Values.x``, a range variable), which
    is written in the chart's text (found there by word)."""
    if _HELPER_RE.search(expr) and names:
        return "(?:" + "|".join(_ANY + re.escape(n) + _ANY for n in names) + ")"
    if _OTHER_CALL_RE.search(expr):
        return _ANY
    return None


def _pattern(value: str, names: list[str]) -> Optional[re.Pattern[str]]:
    value = value.split(" #", 1)[0].strip().strip("\"'")
    out: list[str] = []
    pos = 0
    exprs = list(_EXPR_RE.finditer(value))
    for m in exprs:
        out.append(re.escape(value[pos:m.start()]))
        got = _expression(m.group(1), names)
        if got is None:
            if len(exprs) == 1 and not value[:m.start()] and not value[m.end():]:
                return None  # the whole name is a value written in the chart: matched by word
            got = _ANY
        out.append(got)
        pos = m.end()
    if "{{" in value[pos:]:  # an expression continued on the next line: anything
        return re.compile(".*")
    out.append(re.escape(value[pos:]))
    try:
        return re.compile("".join(out))
    except re.error:  # pragma: no cover - escaped text and fixed pieces only
        return None


def _chart(chart: str, rel: str) -> _Chart:
    text = _read(chart)
    names: list[str] = []
    try:
        with open(os.path.join(chart, "Chart.yaml"), "rb") as fh:
            found = _CHART_NAME_RE.search(fh.read(65536).decode("utf-8", "replace"))
        if found:
            names.append(found.group(1).lower())
    except OSError:
        pass
    names += [m.group(1) for m in _OVERRIDE_RE.finditer(text)]
    patterns: list[re.Pattern[str]] = []
    values = [m.group(1) for m in _FIELD_RE.finditer(text)]
    for block in _HOSTS_RE.finditer(text):
        values += [m.group(1) for m in _ITEM_RE.finditer(block.group(2))]
    for value in values:
        p = _pattern(value, names)
        if p is not None and p.pattern not in {x.pattern for x in patterns}:
            patterns.append(p)
    return _Chart(rel, text, names, patterns)


def _charts(plan_: "Plan") -> list[_Chart]:
    cached = getattr(plan_, "_chart_texts", None)
    if cached is None:
        cached = [_chart(d, rel) for d, rel in zip(plan_.unrendered_chart_dirs, plan_.unrendered_charts, strict=False)]
        plan_._chart_texts = cached  # type: ignore[attr-defined]
    return cached  # type: ignore[no-any-return]


def _looked_for(p: "Problem") -> list[str]:
    """What the finding says is missing: object names and hosts, or a selector's label values."""
    names = _missing_names(p)
    res = p.resource
    if (p.code or "") in SELECTOR_CODES and res is not None:
        names += [v for v in finding_selector(res).values() if v]
    return names


def charts_may_define(p: "Problem", plan_: "Plan") -> Optional[list[str]]:
    """The unrendered charts that may define what ``p`` finds missing; None when the finding
    names nothing to look for (then any chart may)."""
    names = _looked_for(p)
    if not names:
        return None
    return [c.rel for c in _charts(plan_) if any(c.may_define(n) for n in names)]
