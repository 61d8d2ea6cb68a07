"""Helm charts: a directory with ``Chart.yaml``.

A chart's ``templates/`` are Go templates, not YAML: they are never parsed as manifests.
With ``helm`` on PATH the chart is rendered (``helm template``, with the values files the
``helm-values`` config key names) and linted as its own unit; without it the chart is
reported once (info) and references it could satisfy are not reported above info.
``helm template`` renders locally: no cluster, no repository access (dependencies that are
not vendored under ``charts/`` make it fail, which is reported, not fetched).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from .kustomize import RenderError, _safe_env, without_addresses

RENDER_TIMEOUT = 60.0


def chart_dir_of(path: str, chart_dirs: Sequence[str]) -> Optional[str]:
    """The innermost chart directory containing ``path`` (real paths), if any."""
    best: Optional[str] = None
    for d in chart_dirs:
        if (path == d or path.startswith(d + os.sep)) and (best is None or len(d) > len(best)):
            best = d
    return best


def command(configured: Optional[str]) -> Optional[list[str]]:
    import shutil  # deferred, like subprocess and tempfile: a plain-manifest run never renders

    if configured is not None:
        words = configured.split()
        if not words or words[0] in ("none", "off"):
            return None
        return words if shutil.which(words[0]) else None
    return ["helm"] if shutil.which("helm") else None


def render(argv: Sequence[str], chart: str, values: Sequence[str], release: str = "release",
           namespace: Optional[str] = None, timeout: float = RENDER_TIMEOUT) -> bytes:
    """``helm template <release> <chart> [-f values]...``; raises :class:`RenderError`."""
    import shutil
    import subprocess
    import tempfile

    args = list(argv) + ["template", release, chart]
    for v in values:
        args += ["--values", v]
    if namespace:
        args += ["--namespace", namespace]
    home = tempfile.mkdtemp(prefix="istio-vm-lint-kustomize-helm-")
    try:
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              env=_safe_env(home), cwd=chart)
    except subprocess.TimeoutExpired:
        raise RenderError(f"helm template did not finish within {timeout:.0f}s") from None
    except OSError as exc:
        raise RenderError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        last = without_addresses(err[-1]) if err else f"exit status {proc.returncode}"
        raise RenderError(f"helm template failed: {last[:400]}")
    return proc.stdout


SOURCE_PREFIX = "# Source: "


def split_sources(output: bytes) -> list[tuple[Optional[str], bytes]]:
    """Split ``helm template`` output into documents with the template each came from
    (``# Source: chart/templates/x.yaml`` comments), relative to the chart's parent."""
    out: list[tuple[Optional[str], bytes]] = []
    current: list[bytes] = []
    source: Optional[str] = None

    def flush() -> None:
        if any(line.strip() and not line.lstrip().startswith(b"#") for line in current):
            out.append((source, b"".join(current)))

    for line in output.splitlines(keepends=True):
        if line.rstrip() == b"---":
            flush()
            current, source = [], None
            continue
        text = line.decode("utf-8", "replace")
        if text.startswith(SOURCE_PREFIX):
            source = text[len(SOURCE_PREFIX):].strip()
        current.append(line)
    flush()
    return out
