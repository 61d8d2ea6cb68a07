"""Helpers shared by the CLI/ecosystem tests (no tests here).

A tiny repository whose only cross-file edge is VirtualService -> ServiceEntry host, so a
finding appears or disappears depending on whether the other file was loaded.  Tests select
``IVL0,IVL501`` where they need exact output, so rules being added concurrently cannot
change what they see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

from click.testing import CliRunner, Result

BASE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: vm
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: whoami
  namespace: vm
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: whoami
  namespace: vm
spec:
  hosts:
  - whoami.example.internal
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: 80
    name: http
    protocol: HTTP
  workloadSelector:
    labels:
      app: whoami
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: whoami-vm-1
  namespace: vm
spec:
  address: 10.0.0.11
  labels:
    app: whoami
  ports:
    http: 8091
  serviceAccount: whoami
"""

VS_GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: whoami
  namespace: vm
spec:
  hosts:
  - whoami.example.internal
  http:
  - route:
    - destination:
        host: whoami.example.internal
"""

# Line 12 has a host that matches nothing: IVL501 error at 12:9.
VS_BAD = VS_GOOD.replace("        host: whoami.example.internal", "        host: whoami")

SELECT = ("--select", "IVL0,IVL501")


def make_repo(root: Path, vs: str = VS_GOOD, git: bool = True, config: Optional[str] = None) -> Path:
    (root / "mesh").mkdir(parents=True, exist_ok=True)
    (root / "mesh" / "base.yaml").write_text(BASE)
    (root / "mesh" / "vs.yaml").write_text(vs)
    if git:
        (root / ".git").mkdir(exist_ok=True)
    if config is not None:
        (root / ".istio-vm-lint.toml").write_text(config)
    return root


def run(args: list[str], cwd: Optional[Path] = None, input: Optional[bytes] = None,
        env: Optional[dict[str, str]] = None) -> Result:
    """Run the CLI in-process (fast); ``cwd`` is entered for the call."""
    from istio_vm_lint.cli import main

    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, args, input=input, env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def run_process(args: list[str], cwd: Path, input: Optional[bytes] = None,
                env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI as a real process: stdout bytes exactly as a CI step would see them."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NO_COLOR", None) if env is None or "NO_COLOR" not in env else None
    return subprocess.run([sys.executable, "-m", "istio_vm_lint", *args], cwd=cwd, input=input,
                          capture_output=True, env=full_env, timeout=120)


def json_out(result: Result) -> Any:
    return json.loads(result.stdout)
