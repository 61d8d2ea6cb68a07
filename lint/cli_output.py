"""How a command's output reaches its reader, and how a command ends when it cannot.

Exit codes are the same in every output format: 0 no finding at or above ``--fail-on``,
1 findings (and nothing else), 2 usage error, bad config, missing path, internal error or
output that could not be written (a closed stdout, a full disk), 130 interrupted (Ctrl-C).
This module keeps that promise for output: the standard streams are guarded while a command
runs (a closed stdout, ``/dev/full`` or a broken pipe is exit 2 with one line on stderr, never
a traceback), a machine-readable report is written whole or not at all (a Ctrl-C during the
write waits for it), and a command's configuration or internal error is one line and exit 2.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

# Set to a list by the console script (``cli.run``), which ends the process with ``os._exit``:
# what a command hands to :func:`keep_until_exit` is then never freed.  Freeing a run's
# documents, model and graph when the command returns is pure overhead there (about 2% of a
# 5,000-resource run).  None (tests, ``main`` called directly): nothing is kept.
_KEPT: Optional[list[Any]] = None


def keep_until_exit(obj: Any) -> None:
    """Keep ``obj`` alive until the process ends, when the process ends with ``os._exit``."""
    if _KEPT is not None:
        _KEPT.append(obj)


class OutputError(Exception):
    """Writing to stdout or stderr failed (closed, broken pipe, full device)."""

    def __init__(self, stream: str, cause: Optional[BaseException]) -> None:
        self.stream = stream
        self.cause = cause
        if cause is None:
            why = "it is closed"
        elif isinstance(cause, OSError) and cause.strerror:
            why = cause.strerror
        else:
            why = str(cause) or type(cause).__name__
        super().__init__(f"cannot write to {stream}: {why}")


class GuardedStream:
    """``sys.stdout``/``sys.stderr`` while a command runs: a failed write or flush raises
    :class:`OutputError` (never a traceback, never exit 1), and a closed stream (``>&-``)
    is an error at the first write instead of output silently lost."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")  # click probes for a binary stream
        if self._stream is None:
            raise OutputError(self._name, None)
        try:
            return _write_text(self._stream, text)
        except (OSError, ValueError) as exc:  # ValueError: I/O operation on closed file
            raise OutputError(self._name, exc) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            raise OutputError(self._name, exc) from None

    def isatty(self) -> bool:
        try:
            return self._stream is not None and bool(self._stream.isatty())
        except (OSError, ValueError):
            return False

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return getattr(self._stream, "errors", None) or "strict"

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # click would write around the guard
            raise AttributeError(name)
        return getattr(self._stream, name)


def _write_text(stream: Any, text: str) -> int:
    """Write all of ``text`` or raise.  A text stream's buffered writer returns a short count
    when the reader of a pipe goes away in the middle of a large write, and ``write``
    ignores it: the rest is lost without an error.  So the bytes are written here until
    every one is out, and the failure surfaces as the ``BrokenPipeError`` it is."""
    buf = getattr(stream, "buffer", None)
    if buf is None:
        return int(stream.write(text))
    stream.flush()  # whatever went through the text layer before
    if os.linesep != "\n":  # what the text layer would have done
        text = text.replace("\n", os.linesep)
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while data:
        n = buf.write(data)
        if not n:
            raise OSError(f"short write to {getattr(stream, 'name', 'stream')}")
        data = data[n:]
    return len(text)


def say(stream: Any, line: str) -> None:
    """One line on a stream that may itself be broken: best effort, never raises."""
    try:
        if stream is not None:
            stream.write(line + "\n")
            stream.flush()
    except Exception:
        pass


def silence_failed(stream: Any) -> None:
    """Point a standard stream that failed at the null device, so that flushing what is
    left in its buffer (at exit) does not fail a second time."""
    try:
        fd = stream.fileno()
        if fd in (1, 2):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def guard_streams() -> tuple[Any, Any]:
    """Replace ``sys.stdout``/``sys.stderr`` by guarded ones; return the originals (the caller
    puts them back)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = GuardedStream(out, "stdout"), GuardedStream(err, "stderr")  # type: ignore[assignment]
    return out, err


def report_output_error(exc: OutputError, out: Any, err: Any) -> None:
    """The one line for an output failure (on stderr, when it was stdout that failed), and the
    failed stream pointed at the null device.  ``out``/``err`` are the unguarded streams."""
    if exc.stream == "stdout":
        say(err, f"istio-vm-lint: {exc}")
    silence_failed(out if exc.stream == "stdout" else err)


def guarded(call: Callable[[], T]) -> T:
    """``call()`` with guarded standard streams: an output failure is one line and exit 2, an
    interrupt exit 130, and the original streams are put back whatever happens (the command
    group's ``invoke`` and the click-free path of a plain run, ``cli_fast``)."""
    out, err = guard_streams()
    try:
        return call()
    except OutputError as exc:
        report_output_error(exc, out, err)
        raise SystemExit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        say(err, "istio-vm-lint: interrupted")
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        sys.stdout, sys.stderr = out, err


def run_command(body: Callable[[], int], debug: bool) -> int:
    """``body()``'s exit code; a configuration error or an internal error is one line on stderr
    and exit 2, never a bare traceback in CI logs (unless ``--debug`` or ISTIO_VM_LINT_DEBUG).
    An output failure passes through (``DefaultGroup.invoke`` makes it exit 2 with one line)."""
    from ._dataclass_exec import install

    install()  # before the linter's modules create their dataclasses (lint/_dataclass_exec.py)
    from .config import ConfigError  # not at module level: `istio-vm-lint --version` imports this module

    try:
        return body()
    except ConfigError as exc:
        echo_err(f"istio-vm-lint: configuration error: {exc}")
        return EXIT_ERROR
    except OutputError:
        raise
    except Exception as exc:
        if debug or os.environ.get("ISTIO_VM_LINT_DEBUG"):
            raise
        echo_err(f"istio-vm-lint: internal error: {type(exc).__name__}: {exc} (rerun with --debug)")
        return EXIT_ERROR


def echo_err(message: str) -> None:
    """``click.echo(message, err=True)``, importing click only when a message is written: a
    plain run of ``check`` does not import click at all (``lint/cli_fast.py``)."""
    import click

    click.echo(message, err=True)


def write_whole(text: str) -> None:
    """Write a report to stdout in full or not at all: a Ctrl-C that arrives while it is
    being written waits until it is out (then the run still ends with exit 130), so a
    reader never gets half a JSON or SARIF document."""
    import signal
    import threading

    pending: list[int] = []
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        try:
            previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
        except (ValueError, OSError):  # pragma: no cover - no signals here
            previous = None
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if pending and previous is signal.default_int_handler:
        raise KeyboardInterrupt


def reserve_standard_fds() -> None:
    """With stdin, stdout or stderr closed (``>&-``), the next file opened would take its
    number, and a child process (kustomize) would write into it: hold each closed one open
    on the null device.  ``sys.stdout`` stays None, so writing the report still fails."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            except OSError:
                pass
