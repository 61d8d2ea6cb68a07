"""Many CLI runs, each in its own process, without an interpreter start for each.

``python -m istio_vm_lint`` spends about 0.3 s of CPU starting Python and importing the
package before it reads a file; a test that runs the CLI on 80 small directories pays that 80
times.  ``CliServer`` starts one server process that imports the package once; each ``run``
forks a child of it that runs the console-script entry point, ``istio_vm_lint.cli.run``, as
``python -m istio_vm_lint`` does after its imports: its own process and working directory,
stdin on /dev/null, stdout and stderr on files, the exit status ``run`` passes to
``os._exit`` (or the signal that killed it), killed after ``timeout`` seconds.  The run's CPU
time is the child's own (``wait4``).  What it leaves out is only interpreter start-up: a test
about that (or about the environment, which is the server's for every run) starts real
processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

SERVER = r'''
import errno, importlib, json, os, pkgutil, select, signal, sys, time, traceback

import istio_vm_lint
from istio_vm_lint import registry, rules

for info in pkgutil.walk_packages(istio_vm_lint.__path__, "istio_vm_lint."):
    if not info.name.endswith("__main__"):  # __main__ would run the CLI
        importlib.import_module(info.name)
for name in registry.rule_modules(rules):  # what registry.all_rules imports, in its order
    importlib.import_module(name)

# As root, chmod 000 does not stop reads: a request with "unreadable" makes opening any file
# called "unreadable.yaml" fail with EACCES in the child, exactly as it would for a user.
def guard_unreadable():
    import builtins
    real_open = builtins.open
    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsdecode(file).endswith("unreadable.yaml"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), file)
        return real_open(file, *args, **kwargs)
    builtins.open = guarded

def child(req):
    try:
        os.chdir(req["cwd"])
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            new = os.open(path, flags, 0o600)
            os.dup2(new, fd)
            os.close(new)
        sys.argv = ["istio-vm-lint", *req["args"]]
        if req["unreadable"]:
            guard_unreadable()
        from istio_vm_lint.cli import run
        run()  # ends in os._exit
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(1)

def wait(pid, timeout):
    """(wait status, rusage, timed out): the child is killed after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        ready = select.select([pidfd], [], [], timeout)[0]
        os.close(pidfd)
        if ready:
            _, status, usage = os.wait4(pid, 0)
            return status, usage, False
    else:
        delay = 0.001
        while time.monotonic() < deadline:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                return status, usage, False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    return status, usage, True

def lines():
    buf = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line

# Requests on fd 0 and replies on fd 1, read and written raw: sys.stdin and sys.stdout, which
# every child inherits, stay untouched.
os.write(1, b"ready\n")
for line in lines():
    req = json.loads(line)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        child(req)
    status, usage, timed_out = wait(pid, req["timeout"])
    reply = {"returncode": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
             "elapsed": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime}
    os.write(1, json.dumps(reply).encode() + b"\n")
'''


@dataclass
class Run:
    returncode: Optional[int]  # None when killed for taking too long
    stdout: str
    stderr: str
    elapsed: float  # wall clock
    cpu: float  # user + system time of the child: what the run costs, even on a busy machine
    timed_out: bool


class CliServer:
    """One server process; ``run`` is not thread-safe (use one server per thread)."""

    def __init__(self, env: dict[str, str]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="istio-vm-lint-forkcli-")
        self._errlog = open(os.path.join(self._dir.name, "server.err"), "w+b")  # noqa: SIM115
        self._proc = subprocess.Popen([sys.executable, "-c", SERVER], env=env, cwd=self._dir.name,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errlog)
        if self._readline() != b"ready":
            raise RuntimeError(f"CLI server did not start: {self._server_error()}")
        self._count = 0

    def _readline(self) -> bytes:
        assert self._proc.stdout is not None
        return self._proc.stdout.readline().strip()

    def _server_error(self) -> str:
        self._errlog.seek(0)
        return self._errlog.read().decode("utf-8", "replace")[-4000:]

    def run(self, args: list[str], cwd: Path, timeout: float, unreadable: bool = False) -> Run:
        self._count += 1
        out = os.path.join(self._dir.name, f"{self._count}.out")
        err = os.path.join(self._dir.name, f"{self._count}.err")
        req = {"args": args, "cwd": str(cwd), "stdout": out, "stderr": err, "timeout": timeout,
               "unreadable": unreadable}
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(req).encode() + b"\n")
        self._proc.stdin.flush()
        line = self._readline()
        if not line:
            raise RuntimeError(f"CLI server died: {self._server_error()}")
        reply = json.loads(line)
        texts = []
        for path in (out, err):
            with open(path, "rb") as fh:
                texts.append(fh.read().decode("utf-8", "replace"))
            os.unlink(path)
        timed_out = reply["timed_out"]
        return Run(None if timed_out else reply["returncode"], texts[0], texts[1], reply["elapsed"], reply["cpu"],
                   timed_out)

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=60)
        assert self._proc.stdout is not None
        self._proc.stdout.close()
        self._errlog.close()
        self._dir.cleanup()
