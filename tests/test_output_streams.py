"""Exit codes and standard streams (issue 11 items 4 and 5).

Exit 1 means findings and nothing else.  Output that cannot be written (a closed stdout, a
full device, a reader that went away) is exit 2 with one line on stderr when stderr works,
never a traceback; Ctrl-C is exit 130, and a JSON or SARIF report is written whole or not at
all.  These run the real entry point in a subprocess: closed and full streams are properties
of file descriptors, which an in-process runner cannot reproduce.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from istio_vm_lint.cli import main

CLEAN = FIXTURES / "examples" / "vm-whoami"  # info findings only: exit 0
BAD = FIXTURES / "rules" / "IVL201" / "bad"  # errors: exit 1
HAVE_DEV_FULL = os.path.exists("/dev/full")
POSIX = os.name == "posix"


def cli(*args: str, shell_redirect: str = "", **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m istio_vm_lint ARGS REDIRECT`` through a POSIX shell."""
    cmd = [sys.executable, "-m", "istio_vm_lint", *args]
    script = '"$@" ' + shell_redirect
    return subprocess.run(["sh", "-c", script, "sh", *cmd], capture_output="stdout" not in kwargs
                          and "stderr" not in kwargs, text=True, timeout=120, **kwargs)


def one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.skipif(not POSIX, reason="POSIX shell redirections")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_closed_stdout_is_exit_2_with_one_line(fmt: str) -> None:
    for target in (CLEAN, BAD):
        res = cli(str(target), "--isolated", "--format", fmt, "-q", shell_redirect=">&-")
        assert res.returncode == 2, (target, res.stderr)
        assert one_clean_line(res.stderr) == "istio-vm-lint: cannot write to stdout: it is closed"


@pytest.mark.skipif(not HAVE_DEV_FULL, reason="needs /dev/full")
def test_full_device_on_stdout_or_stderr_is_exit_2() -> None:
    res = cli(str(BAD), "--isolated", "--format", "json", shell_redirect=">/dev/full")
    assert res.returncode == 2
    assert one_clean_line(res.stderr) == "istio-vm-lint: cannot write to stdout: No space left on device"
    # stderr full: a clean run (the summary goes to stderr) is not exit 1, nor is one with findings.
    for target in (CLEAN, BAD):
        res = cli(str(target), "--isolated", shell_redirect="2>/dev/full")
        assert res.returncode == 2, target
        assert res.stdout or target == CLEAN
    # The other commands too.
    for args in (("rules",), ("explain", "IVL201"), ("graph", str(CLEAN), "--isolated"), ("--help",), ("--version",)):
        res = cli(*args, shell_redirect=">/dev/full")
        assert res.returncode == 2, args
        assert one_clean_line(res.stderr).startswith("istio-vm-lint: cannot write to stdout:"), args


@pytest.mark.skipif(not POSIX, reason="POSIX pipes")
def test_reader_going_away_is_exit_2() -> None:
    """``istio-vm-lint ... | head -c1``: not exit 1 (findings), not a traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "istio_vm_lint", str(BAD), "--format", "sarif", "--isolated"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.read(1)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert one_clean_line(err.decode()) == "istio-vm-lint: cannot write to stdout: Broken pipe"


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_ctrl_c_while_the_report_is_written_is_exit_130_and_a_whole_document(fmt: str) -> None:
    """SIGINT arrives once the report has begun to reach stdout (the pipe is small and not
    read meanwhile, so the writer is in the middle of it): the document is finished, the
    exit code is 130."""
    read_end, write_end = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    except (ImportError, OSError):
        pass  # the default pipe (64 KiB) is still much smaller than the report
    # A report of several hundred KiB: far larger than any pipe buffer, so it cannot be
    # out before the signal arrives.
    targets = [str(p) for p in sorted((FIXTURES / "rules").glob("IVL[0-4]*/bad"))]
    # A job started in the background by a non-interactive shell (CI, a merge script) inherits
    # SIGINT ignored, and so would the linter: give it the default disposition, as at a terminal.
    proc = subprocess.Popen([sys.executable, "-m", "istio_vm_lint", *targets, "--format", fmt, "--isolated"],
                            stdout=write_end, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = reader.read(1)  # the report has started
        assert first
        proc.send_signal(signal.SIGINT)
        rest = reader.read()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    doc = json.loads(first + rest)  # complete: parses
    assert doc["version"] in (1, "2.1.0")
    assert "Traceback" not in err.decode()


def test_ctrl_c_before_the_report_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from istio_vm_lint import runner

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "lint", interrupted)
    for fmt in ("json", "sarif", "text"):
        res = CliRunner().invoke(main, ["check", str(BAD), "--format", fmt, "--isolated"])
        assert res.exit_code == 130, res.output
        assert res.stdout == ""
        assert res.stderr.strip() == "istio-vm-lint: interrupted"
