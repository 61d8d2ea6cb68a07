"""Precompiled dataclass methods (``lint/_dataclass_code.py``, written by
``tools/gen_dataclass_code.py``): creating a dataclass compiles the text of its generated
methods with ``exec``, about 16 ms of every run of the console script for ~50 classes.

:func:`install` gives ``dataclasses`` its own ``exec``: for a text the generated module holds
(the very same text, compiled into that module's bytecode from the same source) it defines
the function from the precompiled code with the globals ``exec`` would have used; any other
text, or another Python version, goes to the built-in ``exec`` unchanged.  The classes and
their methods are the same either way (only a traceback inside a generated method names this
package's file instead of ``<string>``).  Only the console script installs it.
"""

# (No `from __future__ import annotations` here: ``compile`` below must not inherit it.)
import builtins
import sys
from types import FunctionType
from typing import Any, Optional

_CODES: Optional[dict[str, Any]] = None


def _exec(source: Any, globals: Any = None, locals: Any = None) -> None:  # noqa: A002
    code = _CODES.get(source) if _CODES is not None and type(source) is str else None
    if code is None or type(globals) is not dict or type(locals) is not dict:
        # What the built-in exec does when dataclasses calls it: defaults from the caller's
        # frame, and no compiler flags inherited (dataclasses.py has no __future__ imports).
        frame = sys._getframe(1)
        if isinstance(source, str):
            source = compile(source, "<string>", "exec", dont_inherit=True)
        builtins.exec(source, frame.f_globals if globals is None else globals,
                      frame.f_locals if locals is None else locals)
        return
    if "__builtins__" not in globals:  # as exec() does
        globals["__builtins__"] = builtins.__dict__
    locals[code.co_name] = FunctionType(code, globals)


def install() -> None:
    """Answer ``dataclasses``' ``exec`` calls from the precompiled module (once per process)."""
    global _CODES
    if _CODES is not None:
        return
    import dataclasses

    from . import _dataclass_code as generated

    if tuple(sys.version_info[:2]) != tuple(generated.VERSION) or hasattr(dataclasses, "exec"):
        _CODES = {}
        return
    _CODES = dict(zip(generated.TEXTS, generated._codes, strict=True))
    dataclasses.exec = _exec  # type: ignore[attr-defined]
