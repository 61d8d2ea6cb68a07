"""The kustomize render cache (``lint/render_cache.py``): with a cache directory an unchanged
root is not rendered again, and a change to anything the kustomization reads (a file under
the root, a base outside it, a patch, a new file, the command) renders it again.

kustomize is faked by a script that counts its invocations and prints the documents of the
YAML files under the root and its ``resources:`` directories (enough for the linter to have
something to lint, and for a changed input to change the output)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

FAKE_KUSTOMIZE = r'''#!{python}
import os, sys
with open(os.environ["FAKE_KUSTOMIZE_COUNT"], "a") as fh:
    fh.write("x\n")
wrapper = sys.argv[-3]  # <argv> <wrapper dir> --load-restrictor LoadRestrictionsNone
text = open(os.path.join(wrapper, "kustomization.yaml")).read()
rel = text.split("resources:\n- ")[1].splitlines()[0].strip('"')
root = os.path.normpath(os.path.join(wrapper, rel))

def dirs(d):
    yield d
    lines = open(os.path.join(d, "kustomization.yaml")).read().splitlines()
    for line in lines:
        entry = line.strip()[2:] if line.strip().startswith("- ") else ""
        p = os.path.normpath(os.path.join(d, entry))
        if entry and os.path.isdir(p):
            yield from dirs(p)

out = []
for d in dirs(root):
    for name in sorted(os.listdir(d)):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            out.append(open(os.path.join(d, name)).read().strip())
sys.stdout.write("\n---\n".join(out) + "\n")
'''

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: {target}
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: web:1
        ports:
        - name: http
          containerPort: 8080
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "fake-kustomize"
    fake.write_text(FAKE_KUSTOMIZE.replace("{python}", sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_KUSTOMIZE_COUNT", str(tmp_path / "count"))
    root = tmp_path / "repo"
    (root / "base").mkdir(parents=True)
    (root / "overlays" / "prod").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "base" / "kustomization.yaml").write_text("resources:\n- service.yaml\n- deployment.yaml\n")
    (root / "base" / "service.yaml").write_text(SERVICE.format(target="http"))
    (root / "base" / "deployment.yaml").write_text(DEPLOYMENT)
    (root / "overlays" / "prod" / "kustomization.yaml").write_text(
        "resources:\n- ../../base\npatches:\n- path: patch.yaml\n")
    (root / "overlays" / "prod" / "patch.yaml").write_text("# replicas\n")
    return root


def _run(root: Path, cache: bool = True, command: str = "fake-kustomize build") -> list[tuple[str, int, str]]:
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    old = os.getcwd()
    os.chdir(root)
    try:
        settings = Settings(root=str(root), kustomize_command=command,
                            cache_dir=str(root / ".istio-vm-lint-cache") if cache else None)
        out = lint(["."], settings)
    finally:
        os.chdir(old)
    return sorted((f.location.file, f.location.line, f.code) for f in out.findings)


def _renders(root: Path) -> int:
    count = root.parent / "count"
    return len(count.read_text().splitlines()) if count.exists() else 0


def test_unchanged_overlay_is_not_rendered_again(repo: Path) -> None:
    first = _run(repo)
    assert _renders(repo) == 1
    assert _run(repo) == first and _renders(repo) == 1  # a hit: same findings, no render
    assert _run(repo, cache=False) == first and _renders(repo) == 2  # without the cache: rendered
    files = {p.name for p in (repo / ".istio-vm-lint-cache").iterdir()}
    assert len([n for n in files if n.startswith("render-")]) == 1 and "CACHEDIR.TAG" in files
    entry = next((repo / ".istio-vm-lint-cache").glob("render-*.bin"))
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


@pytest.mark.parametrize("change", ["base file", "patch", "root file", "new file", "removed file", "command"])
def test_any_change_to_an_input_renders_again(repo: Path, change: str) -> None:
    first = _run(repo)
    assert _renders(repo) == 1
    command = "fake-kustomize build"
    if change == "base file":  # outside the root's directory, reached through resources:
        (repo / "base" / "service.yaml").write_text(SERVICE.format(target="web"))
    elif change == "patch":
        (repo / "overlays" / "prod" / "patch.yaml").write_text("# replicas: 2\n")
    elif change == "root file":
        (repo / "overlays" / "prod" / "kustomization.yaml").write_text(
            "resources:\n- ../../base\npatches:\n- path: patch.yaml\n# edited\n")
    elif change == "new file":
        (repo / "base" / "notes.txt").write_text("not listed anywhere, but kustomize could read it\n")
    elif change == "removed file":
        (repo / "overlays" / "prod" / "patch.yaml").unlink()
    else:
        command = "fake-kustomize  build --stack-trace"
    again = _run(repo, command=command)
    assert _renders(repo) == 2
    if change == "base file":
        assert again != first  # the changed target port shows in the findings
    assert _run(repo, command=command) == again and _renders(repo) == 2  # and is cached in turn


def test_cache_changes_nothing_and_survives_damage(repo: Path) -> None:
    first = _run(repo, cache=False)
    assert _run(repo) == first
    entry = next((repo / ".istio-vm-lint-cache").glob("render-*.bin"))
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF
    entry.write_bytes(bytes(data))  # a damaged entry is a miss, rendered and rewritten
    assert _run(repo) == first and _renders(repo) == 3
    assert _run(repo) == first and _renders(repo) == 3


def test_cache_directory_is_not_part_of_the_key(repo: Path) -> None:
    """A kustomization at the repository root, where the cache directory lives too: the
    cache's own files must not change the key on every run."""
    (repo / "kustomization.yaml").write_text("resources:\n- overlays/prod\n")
    _run(repo)
    _run(repo)
    assert _renders(repo) == 1


def test_no_copy_of_a_secret_is_kept(repo: Path) -> None:
    (repo / "base" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: shop\n  labels:\n    app: web\n"
        "stringData:\n  password: hunter2-in-clear\ndata:\n  token: aHVudGVyMg==\ntype: Opaque\n")
    first = _run(repo, cache=False)
    assert _run(repo) == first and _run(repo) == first
    assert _renders(repo) == 2  # the run without a cache, then one render for both cached runs
    (entry,) = (repo / ".istio-vm-lint-cache").glob("render-*.bin")
    blob = entry.read_bytes()
    assert b"kind: Secret" in blob and b"name: s" in blob and b"type: Opaque" in blob
    assert b"hunter2" not in blob and b"aHVudGVyMg" not in blob


def test_secret_redaction_keeps_everything_else() -> None:
    from istio_vm_lint.render_cache import _without_secret_data

    out = (b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: eA==\n  b: |\n    x\n\n    y\n"
           b"type: Opaque\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: x\n")
    kept = _without_secret_data(out)
    assert kept is not None and b"eA==" not in kept and b"  a: x" in kept and b"type: Opaque" in kept
    assert _without_secret_data(b"kind: ConfigMap\ndata:\n  a: x\n") == b"kind: ConfigMap\ndata:\n  a: x\n"
    # a Secret of another API group is not the core Secret: not redacted, so not stored
    assert _without_secret_data(b"apiVersion: example.com/v1\nkind: Secret\ndata:\n  a: b\n") is None
