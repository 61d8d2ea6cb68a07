"""Machine formats carry the real file path (issue 11 item 12).

A file name may hold a newline or bytes that are not UTF-8.  The text and GitHub formats
escape it so that a finding stays on one line; JSON carries the real name (JSON escapes it its
own way: ``\\n``, and ``\\udcNN`` for a byte that is not UTF-8, which ``os.fsencode`` turns back
into that byte), SARIF a percent-encoded URI of its bytes (RFC 3986), and the graph export and
baselines the real name too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from click.testing import CliRunner
from istio_vm_lint.cli import main

BROKEN = b"apiVersion: v1\nkind: Service\nmetadata: {name: x\n"  # IVL001: no resource, path-keyed
NEWLINE = "new\nline.yaml"
NOT_UTF8 = os.fsdecode(b"caf\xe9.yaml") if sys.platform != "win32" else None


def _repo(tmp_path: Path) -> list[str]:
    names = [NEWLINE, "plain.yaml"]
    if NOT_UTF8 is not None:
        names.append(NOT_UTF8)
    made = []
    for name in names:
        try:
            (tmp_path / name).write_bytes(BROKEN)
        except (OSError, UnicodeEncodeError):  # a filesystem that refuses the name
            continue
        made.append(name)
    if NEWLINE not in made:
        pytest.skip("this filesystem does not allow a newline in a file name")
    return made


def check(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["check", ".", "--isolated", "--no-cache", *args])
    return res.exit_code, res.stdout


def test_json_carries_the_real_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out = check("--format", "json")
    assert code == 1
    files = [f["file"] for f in json.loads(out)["findings"]]
    assert sorted(files) == sorted(made)
    assert all(os.path.exists(f) for f in files)  # the path of a file that exists, as written


def test_sarif_uri_is_the_percent_encoded_real_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out = check("--format", "sarif")
    assert code == 1
    run = json.loads(out)["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert "new%0Aline.yaml" in uris
    if NOT_UTF8 in made:
        assert "caf%E9.yaml" in uris
    for uri in uris:
        assert all(c.isalnum() or c in "-._~/%" for c in uri), uri  # RFC 3986 path characters only
        assert (tmp_path / os.fsdecode(unquote_to_bytes(uri))).exists()


def test_text_and_github_escape_the_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out = check("--format", "text", "-q")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(made)  # one line per finding
    assert any(line.startswith("new\\nline.yaml:") for line in lines)
    if NOT_UTF8 in made:
        assert any(line.startswith("caf\\xe9.yaml:") for line in lines)
    code, out = check("--format", "github")
    assert len(out.splitlines()) == len(made)
    assert any("file=new%0Aline.yaml," in line for line in out.splitlines())  # the runner decodes %0A


def test_baseline_and_graph_with_such_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path)
    (tmp_path / "svc\nx.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\n"
                                          "spec: {ports: [{port: 80}]}\n")
    monkeypatch.chdir(tmp_path)
    base = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    assert check("--write-baseline", str(base))[0] == 0
    assert NEWLINE in [e["file"] for e in json.loads(base.read_text(encoding="utf-8"))["findings"]]
    assert check("--baseline", str(base), "-q") == (0, "")
    res = CliRunner().invoke(main, ["graph", ".", "--isolated", "--format", "json"])
    assert res.exit_code == 0
    assert "svc\nx.yaml" in {n.get("file") for n in json.loads(res.stdout)["nodes"]}
