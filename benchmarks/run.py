#!/usr/bin/env python3
"""Benchmark istio-vm-lint against the YAML parsing floor, on generated repositories.

    pip install -e '.[bench]'            # PyYAML (the floor); yamllint is pip-installed if missing
    python benchmarks/run.py                         # N = 5,000 and 50,000, best of 3
    python benchmarks/run.py --sizes 5000 --repeat 5 --markdown out.md --json out.json
    python benchmarks/run.py --sizes 5000 --profile  # + cProfile of the in-process pipeline
    python benchmarks/run.py --snapshot HEAD         # a committed revision, not the work tree

For every size, on the same generated files (``benchmarks/generate.py``, seed 1):

(a) floor: PyYAML ``yaml.compose_all(data, Loader=yaml.CSafeLoader)`` over every file
    (read + libyaml scan/parse + node composition, in a fresh worker process);
(b) ``istio-vm-lint DIR --format json --quiet --isolated`` end to end as a subprocess,
    stdout to /dev/null, best of k; peak RSS of that process from ``os.wait4``;
(c) a breakdown by stage with the in-process pipeline in a fresh worker process:
    discover, load, the mesh graph (``ctx.graph``), every rule, locating findings
    (positions are re-parsed lazily for files with findings), suppressions, JSON rendering;
    ``runner.lint`` is also run and its own ``Outcome.timings`` reported as a cross-check.

Plus the cold start of a single small file (subprocess) next to ``yamllint`` on that file.
The lint/ package is only called, never patched: the breakdown repeats what
``engine.run_rules`` does, rule by rule, so it may need updating when the engine changes
(it says so instead of failing).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import generate  # noqa: E402  (benchmarks/generate.py)

TARGETS = {
    "floor_ratio": 4.0,        # full lint of 5,000 resources <= 4x the floor
    "floor_ratio_stretch": 3.0,
    "floor_ratio_16": 2.5,     # issue 16: full run of 5,000 resources <= 2.5x the floor, end to end
    "linearity": 1.3,          # per-resource time at 50k within 1.3x of 5k
    "rss_mb": 400.0,           # peak RSS at 50k
    "cold_ratio": 1.5,         # single-file cold start <= 1.5x yamllint
    "precommit_cold": 0.5,     # one named file in a git repository, no cache: <= 0.5x the full run
    "precommit_warm": 0.15,    # the same with a warm --cache-dir: <= 0.15x the full run
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- measuring subprocesses ---------------------------------------------------------------


def run_measured(cmd: list[str], cwd: Optional[str] = None, stdout: Any = subprocess.DEVNULL,
                 env: Optional[dict[str, str]] = None) -> tuple[float, float, int, str, float]:
    """(wall seconds, peak RSS MB of that child, exit code, stderr tail, CPU seconds user+sys)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=stdout, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    return wall, ru.ru_maxrss / 1024.0, p.returncode, tail, ru.ru_utime + ru.ru_stime


# Set by --snapshot: a directory holding an importable ``istio_vm_lint`` package built from a
# git revision, put first on PYTHONPATH of every measured process.
SNAPSHOT_PATH: Optional[str] = None


def script(name: str) -> Optional[str]:
    """The console script ``name`` beside this interpreter (the venv's own), else the first on
    PATH.  Not simply PATH: a version manager's shim (pyenv) found first adds tens of
    milliseconds of shell to every measured process and may run another installation."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which(name)


def lint_command() -> list[str]:
    exe = script("istio-vm-lint")
    return [exe] if exe else [sys.executable, "-m", "istio_vm_lint"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["ISTIO_VM_LINT_NO_PROGRESS"] = "1"
    env.pop("ISTIO_VM_LINT_DEBUG", None)
    # pip compiles bytecode when it installs a package; a measured process that may not write
    # .pyc files (PYTHONDONTWRITEBYTECODE, set on some CI images and dev machines) would
    # compile every module from source on every run and time the compiler, not the linter.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if SNAPSHOT_PATH:
        env["PYTHONPATH"] = SNAPSHOT_PATH + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


REPO = os.path.dirname(HERE)


def make_snapshot(ref: str, workdir: str) -> tuple[str, str]:
    """Export ``ref`` (lint/, rules/, schemas/) with ``git archive`` and lay it out as the
    ``istio_vm_lint`` package (see pyproject's package-dir).  Returns (import path, commit).

    Benchmarks a fixed revision even while the working tree is being edited; the import path
    goes before the editable install on PYTHONPATH (PathFinder precedes editable finders)."""
    sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--verify", ref + "^{commit}"], capture_output=True,
                         text=True, check=True).stdout.strip()
    src = os.path.join(workdir, f"src-{sha[:12]}")
    site = os.path.join(src, "site")
    if not os.path.isdir(site):
        os.makedirs(src, exist_ok=True)
        tar = subprocess.run(["git", "-C", REPO, "archive", "--format=tar", sha, "lint", "rules", "schemas"],
                             capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", src], input=tar, check=True)
        os.makedirs(site)
        os.rename(os.path.join(src, "lint"), os.path.join(site, "istio_vm_lint"))
        for sub in ("rules", "schemas"):
            if os.path.isdir(os.path.join(src, sub)):
                os.rename(os.path.join(src, sub), os.path.join(site, "istio_vm_lint", sub))
    return site, sha


def tree_state() -> str:
    """Short commit of the working tree, with a mark when lint/ or rules/ have local edits."""
    try:
        sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "lint", "rules", "schemas"],
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""
    return sha + (" + uncommitted changes in lint/rules" if dirty else "") if sha else ""


# --- the worker: floor + in-process pipeline, in a fresh process ---------------------------


def yaml_files(root: str) -> list[str]:
    out = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        out.extend(os.path.join(dirpath, n) for n in sorted(names) if n.endswith((".yaml", ".yml")))
    return out


def floor_once(files: list[str]) -> tuple[float, float, int]:
    import yaml

    t0, c0 = time.perf_counter(), time.process_time()
    docs = 0
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        for _ in yaml.compose_all(data, Loader=yaml.CSafeLoader):
            docs += 1
    return time.perf_counter() - t0, time.process_time() - c0, docs


SCHEMA_RULES = ("IVL010", "IVL011")  # rules/schema.py: JSON Schema validation of every resource


def breakdown_once(root: str) -> dict[str, Any]:
    """One pass of the pipeline, stage by stage and rule by rule (mirrors engine.run_rules),
    with the cyclic garbage collector off as ``runner.lint`` has it: otherwise a full
    collection lands in whichever rule happens to run when the heap crosses a threshold."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _breakdown_once(root)
    finally:
        if enabled:
            gc.enable()


def _breakdown_once(root: str) -> dict[str, Any]:
    from istio_vm_lint import engine
    from istio_vm_lint.config import Settings
    from istio_vm_lint.discover import discover
    from istio_vm_lint.findings import Location, Problem
    from istio_vm_lint.loader import PositionIndex, ScalarCache, load_documents
    from istio_vm_lint.model import SourceFile
    from istio_vm_lint.project import LoadProblem, Project, add_documents, read_source
    from istio_vm_lint.report import ReportContext, renderer
    from istio_vm_lint.rule import Context

    st: dict[str, float] = {}
    st_cpu: dict[str, float] = {}
    per_rule: dict[str, float] = {}
    per_rule_cpu: dict[str, float] = {}
    settings = Settings()
    settings.root = root
    rules = engine.all_rules()
    pc, cpu = time.perf_counter, time.process_time

    def stage(name: str, t: float, c: float) -> None:
        st[name] = pc() - t
        st_cpu[name] = cpu() - c

    t, c = pc(), cpu()
    files, _ = discover([root], settings.exclude)
    stage("discover", t, c)

    # load_project, in two timed halves: read + parse (the YAML), then model (typed resources).
    t, c = pc(), cpu()
    project = Project(default_namespace=settings.default_namespace)
    scalars = ScalarCache()
    parsed = []
    for disc in sorted(files, key=lambda d: (d.display, d.real)):
        raw_bytes, err = read_source(disc)
        src = SourceFile(disc.display, disc.real, PositionIndex(raw_bytes), True, raw_bytes)
        project.files.append(src)
        if raw_bytes is None:
            project.problems.append(LoadProblem("IVL001", src, f"cannot read file: {err}"))
            continue
        parsed.append((src, load_documents(raw_bytes, cache=scalars)[0]))
    del scalars
    stage("read + parse", t, c)

    t, c = pc(), cpu()
    for src, loaded in parsed:
        add_documents(project, src, loaded)
    del parsed
    stage("model", t, c)

    t, c = pc(), cpu()
    ctx = Context(project, settings)
    present = project.kinds_present
    stage("index", t, c)

    t, c = pc(), cpu()
    ctx.graph  # noqa: B018  (cached_property: built once, here)
    stage("graph", t, c)

    result = engine.RunResult()
    raw: list[tuple[Any, Problem]] = []
    errors: list[str] = []
    for code, r in rules.items():
        if code == "IVL000" or not engine.is_selected(code, settings):
            continue
        if r.inputs and not present.intersection(r.inputs):
            continue
        result.rules_run += 1
        ctx.current = None
        t, c = pc(), cpu()
        try:
            problems = list(r.check(ctx))
        except Exception as exc:  # reported like the engine does (IVL000), timed all the same
            errors.append(f"{code}: {type(exc).__name__}: {exc}")
            problems = [Problem(ctx.current, (), f"internal error in {code}", code="IVL000",
                                location=None if ctx.current else Location("<internal>", 1, 1))]
        per_rule[code] = pc() - t
        per_rule_cpu[code] = cpu() - c
        raw.extend((r, p) for p in problems)
    # Schema validation is a stage of its own in the report (it is two rules in the engine).
    st["schema validation"] = sum(v for k, v in per_rule.items() if k in SCHEMA_RULES)
    st_cpu["schema validation"] = sum(v for k, v in per_rule_cpu.items() if k in SCHEMA_RULES)
    st["rules"] = sum(v for k, v in per_rule.items() if k not in SCHEMA_RULES)
    st_cpu["rules"] = sum(v for k, v in per_rule_cpu.items() if k not in SCHEMA_RULES)

    t, c = pc(), cpu()
    for r, p in raw:
        rr = rules.get(p.code or r.code, r) if p.code != "IVL000" else engine.INTERNAL
        f = engine.make_finding(project, settings, rr, p)
        if f is not None:
            result.findings.append(f)
    stage("locate findings", t, c)

    t, c = pc(), cpu()
    engine._suppress(project, settings, rules, result)
    result.findings.sort(key=lambda f: f.sort_key)
    stage("suppressions + sort", t, c)

    t, c = pc(), cpu()
    rctx = ReportContext(files=len(project.files), resources=len(project.resources), rules=rules, root=root)
    out = renderer("json")(result.findings, rctx)
    stage("report (json)", t, c)

    st["total"] = sum(st.values())
    st_cpu["total"] = sum(st_cpu.values())
    return {"stages": st, "rules": per_rule, "stages_cpu": st_cpu, "rules_cpu": per_rule_cpu,
            "findings": len(result.findings), "rules_run": result.rules_run,
            "resources": len(project.resources), "files": len(project.files), "output_bytes": len(out),
            "by_code": _by_code(result.findings), "rule_errors": errors}


def _by_code(findings: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.code] = out.get(f.code, 0) + 1
    return dict(sorted(out.items()))


def worker(root: str, repeat: int, floor: bool) -> dict[str, Any]:
    import resource

    files = yaml_files(root)
    res: dict[str, Any] = {}
    if floor:
        times, cpus = [], []
        for _ in range(repeat):
            dt, dc, docs = floor_once(files)
            times.append(dt)
            cpus.append(dc)
            gc.collect()
        res["floor"] = times
        res["floor_cpu"] = cpus
        res["floor_docs"] = docs
    # Warm the imports (rules modules, schemas) so the stages measure work, not imports.
    from istio_vm_lint import engine
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    t = time.perf_counter()
    engine.all_rules()
    res["import_rules"] = time.perf_counter() - t
    res["lint_timings"] = []
    for _ in range(repeat):
        settings = Settings()
        settings.root = root
        t, c = time.perf_counter(), time.process_time()
        outcome = lint([root], settings)
        total, total_cpu = time.perf_counter() - t, time.process_time() - c
        res["lint_timings"].append({**outcome.timings, "total": total, "total_cpu": total_cpu})
        res["lint_findings"] = len(outcome.findings)
        del outcome
        gc.collect()
    try:
        runs = []
        for _ in range(repeat):
            runs.append(breakdown_once(root))
            gc.collect()
        best = dict(runs[0])
        for key in ("stages", "rules", "stages_cpu", "rules_cpu"):
            best[key] = {k: min(r[key][k] for r in runs) for k in runs[0][key]}
        res["breakdown"] = best
    except Exception as exc:  # the engine changed under us: say so, keep the rest
        import traceback

        res["breakdown_error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    import istio_vm_lint

    res["worker_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    res["package"] = os.path.dirname(istio_vm_lint.__file__)
    return res


def profile_worker(root: str, out_path: str, top: int) -> None:
    """cProfile of one in-process ``runner.lint`` (imports warmed first)."""
    import cProfile
    import io
    import pstats

    from istio_vm_lint import engine
    from istio_vm_lint.config import Settings
    from istio_vm_lint.runner import lint

    engine.all_rules()
    settings = Settings()
    settings.root = root
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    outcome = lint([root], settings)
    # the report is part of a CLI run
    from istio_vm_lint.report import ReportContext, renderer

    renderer("json")(outcome.findings, ReportContext(rules=engine.all_rules(), root=root))
    prof.disable()
    wall = time.perf_counter() - t
    prof.dump_stats(out_path + ".pstats")
    buf = io.StringIO()
    buf.write(f"# cProfile of runner.lint + JSON report on {root} (wall {wall:.3f} s under the profiler; "
              f"timings {json.dumps({k: round(v, 3) for k, v in outcome.timings.items()})})\n\n")
    for key in ("cumulative", "tottime"):
        buf.write(f"## top {top} by {key}\n\n")
        ps = pstats.Stats(prof, stream=buf)
        ps.strip_dirs().sort_stats(key).print_stats(top)
    with open(out_path, "w") as fh:
        fh.write(buf.getvalue())


# --- the main run -------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if not model:
        try:
            with open("/proc/cpuinfo") as fh:
                for line in fh:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            model = platform.processor()
    versions = {}
    for mod, attr in (("istio_vm_lint", "__version__"), ("ruamel.yaml", "__version__"), ("yaml", "__version__")):
        try:
            m = __import__(mod, fromlist=["_"])
            versions[mod] = getattr(m, attr, "?")
        except ImportError:
            versions[mod] = "missing"
    try:
        import yaml

        versions["libyaml"] = yaml._yaml.get_version_string()  # type: ignore[attr-defined]
    except Exception:
        versions["libyaml"] = "?"
    commit = tree_state()
    return {"cpu": model or "?", "nproc": str(os.cpu_count()), "python": platform.python_version(),
            "commit": commit, **{f"v_{k}": v for k, v in versions.items()}}


def ensure_yamllint(install: bool) -> tuple[Optional[list[str]], str]:
    exe = script("yamllint")
    if exe:
        return [exe], "yamllint found"
    if not install:
        return None, "yamllint not installed (--no-install): cold-start comparison skipped"
    log("yamllint is missing: installing it with pip (it is in the `bench` extra)")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "yamllint"], capture_output=True, text=True)
    exe = script("yamllint")
    if exe:
        return [exe], "yamllint was missing and was installed with pip for this run"
    try:
        import yamllint  # noqa: F401

        return [sys.executable, "-m", "yamllint"], "yamllint was missing and was installed with pip for this run"
    except ImportError:
        return None, f"yamllint could not be installed ({r.stderr.strip()[-200:]}): comparison skipped"


def import_profile(path: str, cwd: str) -> dict[str, float]:
    """Self import time (ms) per top-level package for one ``istio-vm-lint FILE`` run."""
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "istio_vm_lint", path], cwd=cwd,
                       capture_output=True, text=True, env=child_env())
    out: dict[str, float] = {}
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        cols = line[len("import time:"):].split("|")
        if len(cols) != 3:
            continue
        self_us, name = cols[0].strip(), cols[2].strip()
        if not self_us.isdigit():
            continue
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] == "istio_vm_lint" and len(parts) > 2 else parts[0]
        if parts[0] == "istio_vm_lint" and len(parts) == 2:
            key = "istio_vm_lint (core modules)"
        out[key] = out.get(key, 0.0) + int(self_us) / 1000.0
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def cold_start(workdir: str, repeat: int, yamllint_cmd: Optional[list[str]]) -> dict[str, Any]:
    d = os.path.join(workdir, "single")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "service.yaml")
    ndocs = generate.write_small_file(path)
    with open(path, "rb") as fh:
        data = fh.read()
    cmds: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "istio-vm-lint --version": lint_command() + ["--version"],
        "istio-vm-lint --help": lint_command() + ["--help"],
        "istio-vm-lint FILE": lint_command() + [path],
    }
    if yamllint_cmd:
        cmds["yamllint FILE"] = yamllint_cmd + [path]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}
    codes: dict[str, int] = {}
    env = child_env()
    for cmd in cmds.values():  # one unmeasured run each (pyc, page cache)
        run_measured(cmd, cwd=d, env=env)
    for _ in range(repeat):
        for name, cmd in cmds.items():  # interleaved, so drift hits all equally
            wall, _, code, _, c = run_measured(cmd, cwd=d, env=env)
            times[name].append(wall)
            cpu[name].append(c)
            codes[name] = code
    return {"file_docs": ndocs, "file_lines": data.count(b"\n"), "file_bytes": len(data),
            "times": times, "cpu": cpu, "exit_codes": codes, "imports": import_profile(path, d)}


def bench_size(n: int, workdir: str, repeat: int, seed: int) -> dict[str, Any]:
    root = os.path.join(workdir, f"repo-{n}")
    t = time.perf_counter()
    manifest = generate.generate(root, n, seed=seed)
    log(f"[{n}] generated {manifest.resources} resources in {manifest.files} files "
        f"({manifest.bytes / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    env = child_env()
    load_before = os.getloadavg()[0]

    log(f"[{n}] floor + in-process breakdown (worker, best of {repeat}) ...")
    w = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", root, "--repeat", str(repeat)],
                       capture_output=True, text=True, env=env)
    if w.returncode != 0:
        raise SystemExit(f"worker failed for {n}:\n{w.stderr[-3000:]}")
    res = json.loads(w.stdout.strip().splitlines()[-1])
    if SNAPSHOT_PATH and not res["package"].startswith(SNAPSHOT_PATH):
        raise SystemExit(f"worker imported {res['package']}, not the snapshot in {SNAPSHOT_PATH}")

    log(f"[{n}] istio-vm-lint end to end (subprocess, best of {repeat}) ...")
    cmd = lint_command() + [root, "--format", "json", "--quiet", "--isolated", "--no-cache"]
    e2e = []
    for i in range(repeat + 1):
        wall, rss, code, tail, c = run_measured(cmd, cwd=workdir, env=env)
        if code not in (0, 1):
            raise SystemExit(f"istio-vm-lint exited {code} on {root}:\n{tail}")
        if i:  # the first run is a warm-up (pyc files, page cache)
            e2e.append({"wall": wall, "cpu": c, "rss_mb": rss, "exit": code})

    # The parse cache (cache.py): the first run fills it (parse + write), the next ones read it.
    # Nothing changes between these runs, so the result cache (result_cache.py) is switched off
    # for them: they measure what the parse cache saves (the pre-commit rows measure the rest).
    cache_dir = os.path.join(workdir, f"cache-{n}")
    shutil.rmtree(cache_dir, ignore_errors=True)
    warm_cmd = cmd[:-1] + ["--cache-dir", cache_dir]
    parse_env = {**env, "ISTIO_VM_LINT_NO_RESULT_CACHE": "1"}
    log(f"[{n}] with the parse cache: one filling run, then best of {repeat} warm runs ...")
    fill_wall, fill_rss, _, _, fill_cpu = run_measured(warm_cmd, cwd=workdir, env=parse_env)
    warm = []
    for _ in range(repeat):
        wall, rss, code, tail, c = run_measured(warm_cmd, cwd=workdir, env=parse_env)
        if code not in (0, 1):
            raise SystemExit(f"istio-vm-lint (warm cache) exited {code} on {root}:\n{tail}")
        warm.append({"wall": wall, "cpu": c, "rss_mb": rss, "exit": code})
    pack = sum(os.path.getsize(os.path.join(cache_dir, f)) for f in os.listdir(cache_dir) if f.endswith(".marshal"))
    log(f"[{n}] pre-commit: one named file in a git repository, full / cold / warm cache, best of {repeat} ...")
    pre = precommit(root, workdir, n, repeat, env)
    res.update(n=n, root=root, manifest=manifest.as_dict(), e2e=e2e, cmd=" ".join(cmd), precommit=pre,
               cache={"fill": {"wall": fill_wall, "cpu": fill_cpu, "rss_mb": fill_rss}, "warm": warm,
                      "pack_bytes": pack},
               loadavg=[load_before, os.getloadavg()[0]])
    return res


def precommit(root: str, workdir: str, n: int, repeat: int, env: dict[str, str]) -> dict[str, Any]:
    """The run users feel on every commit: the repository is a git repository, one file is
    named (as pre-commit passes a staged file) and the rest of the repository is loaded as
    context.  Measured side by side, interleaved, in the same directory: the full run
    (``istio-vm-lint .``), the named-file run without a cache, and the named-file run with a
    ``--cache-dir`` that holds the repository.  Before each run the named file gets a new
    comment line, so it is a changed file each time (one cache miss in the warm runs).  Then,
    with nothing changed (the file as committed), the named-file run and the full run with a
    warm cache, interleaved: the result cache (``lint/result_cache.py``) answers both."""
    if shutil.which("git") is None:
        return {"skipped": "git is not installed"}
    git = ["git", "-c", "user.email=bench@example.invalid", "-c", "user.name=bench", "-c", "commit.gpgsign=false"]
    if not os.path.isdir(os.path.join(root, ".git")):
        for args in (["init", "-q", "."], ["add", "-A"], ["commit", "-q", "-m", "generated"]):
            subprocess.run(git + args, cwd=root, check=True, capture_output=True)
    files = [os.path.relpath(f, root) for f in yaml_files(root)]
    candidates = [f for f in files if os.path.basename(f) != "namespaces.yaml"] or files
    named = candidates[len(candidates) // 2]
    path = os.path.join(root, named)
    with open(path, "rb") as fh:
        original = fh.read()
    edits = [0]

    def edit() -> None:
        edits[0] += 1
        with open(path, "wb") as fh:
            fh.write(original + f"# edit {edits[0]}\n".encode())

    base = lint_command() + ["--format", "json", "--quiet", "--isolated"]
    cache_dir = os.path.join(workdir, f"cache-precommit-{n}")
    shutil.rmtree(cache_dir, ignore_errors=True)
    cmds = {"full": base + ["--no-cache", "."], "cold": base + ["--no-cache", named],
            "warm": base + ["--cache-dir", cache_dir, named]}
    out: dict[str, Any] = {"named": named, "named_bytes": len(original), "cmds": {k: " ".join(v) for k, v in cmds.items()}}
    try:
        run_measured(cmds["cold"], cwd=root, env=env)  # warm-up (pyc files, page cache)
        edit()
        run_measured(cmds["warm"], cwd=root, env=env)  # fills the cache with the repository
        for k in cmds:
            out[k] = []
        for _ in range(repeat):
            for k, c in cmds.items():
                edit()
                wall, rss, code, tail, cpu = run_measured(c, cwd=root, env=env)
                if code not in (0, 1):
                    raise SystemExit(f"istio-vm-lint ({k}) exited {code} in {root}:\n{tail}")
                out[k].append({"wall": wall, "cpu": cpu, "rss_mb": rss, "exit": code})
        with open(path, "wb") as fh:
            fh.write(original)
        same = {"unchanged": cmds["warm"], "full_unchanged": base + ["--cache-dir", cache_dir, "."]}
        hit_env = {k: v for k, v in env.items() if k != "ISTIO_VM_LINT_NO_RESULT_CACHE"}
        for k, c in same.items():
            run_measured(c, cwd=root, env=hit_env)  # fills the result cache for this state
            out[k] = []
        out["cmds"].update({k: " ".join(v) for k, v in same.items()})
        for _ in range(repeat):
            for k, c in same.items():
                wall, rss, code, tail, cpu = run_measured(c, cwd=root, env=hit_env)
                if code not in (0, 1):
                    raise SystemExit(f"istio-vm-lint ({k}) exited {code} in {root}:\n{tail}")
                out[k].append({"wall": wall, "cpu": cpu, "rss_mb": rss, "exit": code})
    finally:
        with open(path, "wb") as fh:
            fh.write(original)
    return out


def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def fmt_n(x: float) -> str:
    return f"{x:,.0f}"


# "cpu": user+sys CPU seconds of the measured process (robust on a shared machine, where other
# processes steal the cores); "wall": elapsed time.  Both are always recorded.
CLOCK = "cpu"


def summarize(r: dict[str, Any], clock: Optional[str] = None) -> dict[str, float]:
    cpu = (clock or CLOCK) == "cpu"
    n = r["manifest"]["resources"]
    floor = min(r["floor_cpu"] if cpu else r["floor"])
    best = min(e["cpu" if cpu else "wall"] for e in r["e2e"])
    rss = max(e["rss_mb"] for e in r["e2e"])
    inproc = min(t["total_cpu" if cpu else "total"] for t in r["lint_timings"])
    return {"n": n, "floor": floor, "e2e": best, "ratio": best / floor, "inproc": inproc,
            "inproc_ratio": inproc / floor, "rps": n / best, "us_per": best / n * 1e6,
            "inproc_us_per": inproc / n * 1e6, "rss": rss}


def _stages(b: dict[str, Any]) -> dict[str, float]:
    return b["stages_cpu"] if CLOCK == "cpu" else b["stages"]


def _rules(b: dict[str, Any]) -> dict[str, float]:
    return b["rules_cpu"] if CLOCK == "cpu" else b["rules"]


def cold_section(cold: dict[str, Any]) -> tuple[list[str], Optional[float]]:
    """The cold-start part of the report and istio-vm-lint / yamllint (None without yamllint)."""
    L: list[str] = []
    cold_ratio = None
    series = cold["cpu"] if CLOCK == "cpu" else cold["times"]
    L.append("")
    L.append(f"**Cold start, one small file** ({cold['file_docs']} documents, {cold['file_lines']} lines), a new "
             f"process per run, {len(next(iter(series.values())))} runs interleaved:")
    L.append("")
    L.append(f"| command | median ({CLOCK}) | min ({CLOCK}) | median wall |")
    L.append("|---|---:|---:|---:|")
    for name, ts in series.items():
        L.append(f"| `{name}` | {fmt_s(statistics.median(ts))} | {fmt_s(min(ts))} | "
                 f"{fmt_s(statistics.median(cold['times'][name]))} |")
    imports = cold.get("imports") or {}
    if imports:
        total = sum(imports.values())
        top = list(imports.items())[:8]
        L.append("")
        L.append(f"Imports of one `istio-vm-lint FILE` run (`python -X importtime`, self time summed per "
                 f"package, inflated by the tracing): {total:.0f} ms in all; "
                 + ", ".join(f"{k} {v:.0f} ms" for k, v in top) + ".")
    if "yamllint FILE" in series:
        cold_ratio = statistics.median(series["istio-vm-lint FILE"]) / statistics.median(series["yamllint FILE"])
        L.append("")
        L.append(f"istio-vm-lint / yamllint (medians): **{cold_ratio:.2f}x**.")
    return L, cold_ratio


def cold_only_markdown(cold: Optional[dict[str, Any]], info: dict[str, str],
                       notes: list[str]) -> tuple[str, list[tuple[str, str, str, bool]]]:
    """The report of ``--cold-only``: the machine, the cold start and its target."""
    L = [f"Machine: {info['cpu']}, {info['nproc']} cores; Python {info['python']}; istio-vm-lint "
         f"{info['v_istio_vm_lint']} ({info['commit'] or 'no git'}); {CLOCK} time; 1-min load average at the "
         f"end {os.getloadavg()[0]:.1f}."]
    checks: list[tuple[str, str, str, bool]] = []
    if cold:
        lines, ratio = cold_section(cold)
        L.extend(lines)
        if ratio is not None:
            checks.append((f"single-file cold start ≤ {TARGETS['cold_ratio']}x yamllint", f"{ratio:.2f}x", "",
                           ratio <= TARGETS["cold_ratio"]))
    if checks:
        L += ["", f"| target ({CLOCK}) | measured | met |", "|---|---:|---|"]
        L += [f"| {what} | {got} | {'yes' if ok else '**no**'} |" for what, got, _, ok in checks]
    L += [""] + [f"Note: {n}" for n in notes] if notes else []
    return "\n".join(L) + "\n", checks


def markdown(results: list[dict[str, Any]], cold: Optional[dict[str, Any]], info: dict[str, str],
             repeat: int, notes: list[str]) -> tuple[str, list[tuple[str, str, str, bool]]]:
    L: list[str] = []
    if not results:  # --cold-only
        return cold_only_markdown(cold, info, notes)
    sums = [summarize(r) for r in results]
    walls = [summarize(r, "wall") for r in results]
    clock = "CPU time (user+sys)" if CLOCK == "cpu" else "wall-clock time"
    loads = [x for r in results for x in r.get("loadavg", [])]
    L.append(f"Machine: {info['cpu']}, {info['nproc']} cores; Python {info['python']}; istio-vm-lint "
             f"{info['v_istio_vm_lint']} ({info['commit'] or 'no git'}), ruamel.yaml {info['v_ruamel.yaml']}, "
             f"PyYAML {info['v_yaml']} (libyaml {info['v_libyaml']}). Best of {repeat} runs, {clock}"
             + (f"; 1-min load average during the runs {min(loads):.1f}–{max(loads):.1f}" if loads else "")
             + f". Repositories from `benchmarks/generate.py` (seed {results[0]['manifest']['seed']}, "
             f"~{results[0]['manifest']['docs_per_file']} documents per file, "
             f"{results[0]['manifest']['namespaces']} namespaces).")
    L.append("")
    L.append("| resources | files | MB | floor: PyYAML compose (C) | istio-vm-lint end to end | × floor "
             "| in-process pipeline | × floor | resources/s | µs/resource | peak RSS |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r, s in zip(results, sums, strict=False):
        m = r["manifest"]
        L.append(f"| {fmt_n(m['resources'])} | {m['files']} | {m['bytes'] / 1e6:.1f} | {fmt_s(s['floor'])} | "
                 f"{fmt_s(s['e2e'])} | **{s['ratio']:.1f}x** | {fmt_s(s['inproc'])} | {s['inproc_ratio']:.1f}x | "
                 f"{fmt_n(s['rps'])} | {s['us_per']:.0f} | {s['rss']:.0f} MB |")
    if all("cache" in r for r in results):
        key = "cpu" if CLOCK == "cpu" else "wall"
        L.append("")
        L.append(f"**Parse cache** (`--cache-dir`, opt-in; {clock}): end to end with no cache, "
                 "the first run with an empty cache (parses and writes the pack), and a warm run (nothing changed):")
        L.append("")
        L.append("| resources | no cache | × floor | filling run | warm run | × floor | warm / no cache | pack | "
                 "peak RSS warm |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r, s in zip(results, sums, strict=False):
            c = r["cache"]
            w = min(x[key] for x in c["warm"])
            L.append(f"| {fmt_n(s['n'])} | {fmt_s(s['e2e'])} | {s['ratio']:.1f}x | {fmt_s(c['fill'][key])} | "
                     f"{fmt_s(w)} | {w / s['floor']:.1f}x | {w / s['e2e']:.2f} | {c['pack_bytes'] / 1e6:.1f} MB | "
                     f"{max(x['rss_mb'] for x in c['warm']):.0f} MB |")
    pre_rows = [(r, r["precommit"]) for r in results if r.get("precommit") and "full" in r["precommit"]]
    if pre_rows:
        key = "cpu" if CLOCK == "cpu" else "wall"
        L.append("")
        L.append(f"**Pre-commit** ({clock}): the repository in git, one file named (changed before each run), the "
                 "rest loaded as context; measured interleaved with the full run of the same repository "
                 "(`istio-vm-lint .`) in the same directory:")
        L.append("")
        L.append("| resources | named file | full run | named file, cold | × full | named file, warm cache | × full "
                 "| peak RSS cold / warm |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|")
        for r, p in pre_rows:
            full = min(x[key] for x in p["full"])
            cold_t = min(x[key] for x in p["cold"])
            warm_t = min(x[key] for x in p["warm"])
            L.append(f"| {fmt_n(r['manifest']['resources'])} | `{p['named']}` ({p['named_bytes'] / 1e3:.0f} kB) | "
                     f"{fmt_s(full)} | {fmt_s(cold_t)} | **{cold_t / full:.2f}x** | {fmt_s(warm_t)} | "
                     f"**{warm_t / full:.2f}x** | {max(x['rss_mb'] for x in p['cold']):.0f} / "
                     f"{max(x['rss_mb'] for x in p['warm']):.0f} MB |")
        same_rows = [(r, p) for r, p in pre_rows if p.get("unchanged") and p.get("full_unchanged")]
        if same_rows:
            L.append("")
            L.append("Nothing changed (the named file as committed), warm `--cache-dir`: the result cache returns the "
                     "findings of the run with the same inputs (`lint/result_cache.py`); ratios to the full run above:")
            L.append("")
            L.append("| resources | named file, nothing changed | × full | full run, nothing changed | × full |")
            L.append("|---:|---:|---:|---:|---:|")
            for r, p in same_rows:
                full = min(x[key] for x in p["full"])
                a = min(x[key] for x in p["unchanged"])
                b = min(x[key] for x in p["full_unchanged"])
                L.append(f"| {fmt_n(r['manifest']['resources'])} | {fmt_s(a)} | **{a / full:.2f}x** | {fmt_s(b)} | "
                         f"**{b / full:.2f}x** |")
    L.append("")
    L.append("End to end = `istio-vm-lint DIR --format json --quiet --isolated --no-cache` as a subprocess, stdout to "
             "/dev/null (interpreter start, imports, lint, JSON). In-process = `runner.lint()` with imports "
             "warm. Peak RSS of the subprocess from `wait4`. "
             + ("Wall clock for the same runs: " + "; ".join(
                 f"{fmt_n(w['n'])}: floor {fmt_s(w['floor'])}, end to end {fmt_s(w['e2e'])} ({w['ratio']:.1f}x)"
                 for w in walls) + "." if CLOCK == "cpu" else ""))

    if all("breakdown" in r for r in results):
        L.append("")
        L.append(f"**Where the time goes** (in-process, {clock}, best of runs per stage; rules with ≥ 2% of "
                 "the rules stage listed, the rest summed):")
        L.append("")
        head = "| stage |" + "".join(f" {fmt_n(s['n'])} | × floor | share |" for s in sums)
        if len(sums) > 1:
            head += f" per resource, {fmt_n(sums[-1]['n'])} vs {fmt_n(sums[0]['n'])} |"
        L.append(head)
        L.append("|---|" + "---:|---:|---:|" * len(sums) + ("---:|" if len(sums) > 1 else ""))
        stages = [k for k in _stages(results[0]["breakdown"]) if k != "total"]
        rules_all = {c: v for c, v in _rules(results[-1]["breakdown"]).items() if c not in SCHEMA_RULES}
        rules_total = sum(rules_all.values()) or 1.0
        big = sorted((c for c, v in rules_all.items() if v / rules_total >= 0.02), key=lambda c: -rules_all[c])

        def row(label: str, get: Any) -> None:
            cells = []
            vals = []
            for r, s in zip(results, sums, strict=False):
                v = get(r["breakdown"])
                vals.append(v)
                tot = _stages(r["breakdown"])["total"]
                cells.append(f" {fmt_s(v)} | {v / s['floor']:.2f}x | {v / tot * 100:.0f}% |")
            lin = ""
            if len(sums) > 1:
                a = vals[0] / sums[0]["n"]
                b = vals[-1] / sums[-1]["n"]
                lin = f" {b / a:.2f}x |" if a > 0 else " – |"
            L.append(f"| {label} |" + "".join(cells) + lin)

        for st in stages:
            row(st, lambda b, st=st: _stages(b)[st])
            if st == "rules":
                for c in big:
                    row(f"&nbsp;&nbsp;↳ {c}", lambda b, c=c: _rules(b).get(c, 0.0))
                rest = [c for c in rules_all if c not in big]
                row(f"&nbsp;&nbsp;↳ {len(rest)} other rules",
                    lambda b, rest=rest: sum(_rules(b).get(c, 0.0) for c in rest))
        row("**total in-process**", lambda b: _stages(b)["total"])
        L.append("")
        br = results[-1]["breakdown"]
        L.append(f"{br['rules_run']} rules ran; {br['findings']} findings at {fmt_n(sums[-1]['n'])} "
                 f"({', '.join(f'{k}×{v}' for k, v in br['by_code'].items()) or 'none'}). "
                 "`read + parse` = files read and YAML parsed to plain data; `model` = typed resources and defaults; "
                 "`schema validation` = IVL010 + IVL011 (JSON Schema of every resource); `graph` = `ctx.graph` (built before the first rule, so "
                 "rule times exclude it; a rule that first touches a lazily computed model property pays for it); "
                 "`locate findings` = problems to findings, which re-parses a file with positions the first time "
                 "one of its findings needs a line.")
        errs = sorted({e for r in results for e in r["breakdown"].get("rule_errors", [])})
        if errs:
            L.append("")
            L.append("Rules that raised during the breakdown (IVL000): " + "; ".join(errs))
    else:
        for r in results:
            if "breakdown_error" in r:
                L.append(f"\nStage breakdown unavailable at {r['n']}: `{r['breakdown_error'].splitlines()[0]}`")
    if results:
        key = "total_cpu" if CLOCK == "cpu" else "total"
        L.append("")
        L.append("`runner.lint()` own stage timings (`Outcome.timings`, wall clock, best of runs): " + "; ".join(
            f"{fmt_n(s['n'])}: " + ", ".join(f"{k} {fmt_s(min(t[k] for t in r['lint_timings']))}"
                                              for k in r["lint_timings"][0] if not k.startswith("total"))
            + f" (total {fmt_s(min(t[key] for t in r['lint_timings']))} {CLOCK})"
            for r, s in zip(results, sums, strict=False)) + ".")

    if len(sums) > 1:
        a, b = sums[0], sums[-1]
        L.append("")
        L.append(f"Linearity: {a['us_per']:.0f} µs/resource at {fmt_n(a['n'])} vs {b['us_per']:.0f} at "
                 f"{fmt_n(b['n'])} end to end (**{b['us_per'] / a['us_per']:.2f}x**); in-process "
                 f"{a['inproc_us_per']:.0f} vs {b['inproc_us_per']:.0f} µs (**{b['inproc_us_per'] / a['inproc_us_per']:.2f}x**).")

    cold_ratio = None
    if cold:
        lines, cold_ratio = cold_section(cold)
        L.extend(lines)

    # targets
    checks: list[tuple[str, str, str, bool]] = []
    five = min(sums, key=lambda s: abs(s["n"] - 5000))
    checks.append((f"full lint of {fmt_n(five['n'])} resources ≤ {TARGETS['floor_ratio']:.0f}x floor "
                   f"(stretch {TARGETS['floor_ratio_stretch']:.0f}x)",
                   f"{five['ratio']:.1f}x end to end ({five['inproc_ratio']:.1f}x in-process)",
                   "stretch met" if five["ratio"] <= TARGETS["floor_ratio_stretch"] else "",
                   five["ratio"] <= TARGETS["floor_ratio"]))
    checks.append((f"issue 16: full lint of {fmt_n(five['n'])} resources ≤ {TARGETS['floor_ratio_16']}x floor, end to end",
                   f"{five['ratio']:.1f}x ({five['inproc_ratio']:.1f}x in-process)", "",
                   five["ratio"] <= TARGETS["floor_ratio_16"]))
    if len(sums) > 1:
        lin = sums[-1]["us_per"] / sums[0]["us_per"]
        checks.append((f"per-resource time at {fmt_n(sums[-1]['n'])} within {TARGETS['linearity']}x of "
                       f"{fmt_n(sums[0]['n'])}", f"{lin:.2f}x", "", lin <= TARGETS["linearity"]))
    big_s = sums[-1]
    checks.append((f"peak RSS at {fmt_n(big_s['n'])} ≤ {TARGETS['rss_mb']:.0f} MB", f"{big_s['rss']:.0f} MB", "",
                   big_s["rss"] <= TARGETS["rss_mb"]))
    if pre_rows:
        key = "cpu" if CLOCK == "cpu" else "wall"
        r, p = pre_rows[-1]
        full = min(x[key] for x in p["full"])
        for kind, what in (("cold", "no cache"), ("warm", "warm --cache-dir")):
            ratio = min(x[key] for x in p[kind]) / full
            limit = TARGETS[f"precommit_{kind}"]
            checks.append((f"pre-commit, one named file at {fmt_n(r['manifest']['resources'])}, {what}: "
                           f"≤ {limit}x the full run", f"{ratio:.2f}x", "", ratio <= limit))
    if cold_ratio is not None:
        checks.append((f"single-file cold start ≤ {TARGETS['cold_ratio']}x yamllint", f"{cold_ratio:.2f}x", "",
                       cold_ratio <= TARGETS["cold_ratio"]))
    L.append("")
    L.append(f"| target ({CLOCK}) | measured | met |")
    L.append("|---|---:|---|")
    for what, got, extra, ok in checks:
        L.append(f"| {what} | {got} | {'yes' if ok else '**no**'}{' (' + extra + ')' if extra else ''} |")
    if notes:
        L.append("")
        L.extend(f"Note: {n}" for n in notes)
    return "\n".join(L) + "\n", checks


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark istio-vm-lint (see benchmarks/README.md).")
    ap.add_argument("--sizes", default="5000,50000", help="comma-separated resource counts [5000,50000]")
    ap.add_argument("--repeat", "-k", type=int, default=3, help="runs per measurement; the best is kept [3]")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=None, help="where to generate (default: a temp dir, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the generated repositories")
    ap.add_argument("--markdown", default=None, help="also write the Markdown report to this file")
    ap.add_argument("--json", dest="json_out", default=None, help="write raw measurements as JSON")
    ap.add_argument("--cold-repeat", type=int, default=10, help="runs of each cold-start command [10]")
    ap.add_argument("--no-cold", action="store_true", help="skip the single-file cold-start comparison")
    ap.add_argument("--cold-only", action="store_true",
                    help="only the single-file cold-start comparison (no repositories: --sizes is ignored)")
    ap.add_argument("--no-install", action="store_true", help="do not pip-install yamllint when missing")
    ap.add_argument("--profile", action="store_true", help="cProfile the in-process pipeline on the first size")
    ap.add_argument("--profile-size", type=int, default=None, help="size to profile [the first of --sizes]")
    ap.add_argument("--profile-out", default=None,
                    help="profile report path [profile-N.txt in --workdir, else in the current dir]")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="time reported and compared: CPU time of the measured process (default; robust when "
                         "other jobs share the cores) or wall clock; both are recorded in --json")
    ap.add_argument("--snapshot", default=None, metavar="REF",
                    help="benchmark a git revision (e.g. HEAD) exported with `git archive` instead of the "
                         "installed working tree, which others may be editing during the run")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-profile", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--no-floor", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.repeat, not args.no_floor)))
        return 0
    if args.worker_profile:
        profile_worker(args.worker_profile, args.profile_out, 40)
        return 0

    try:
        import yaml

        yaml.CSafeLoader  # noqa: B018
    except (ImportError, AttributeError):
        print("run.py needs PyYAML built with libyaml (yaml.CSafeLoader) for the floor: "
              "pip install -e '.[bench]'", file=sys.stderr)
        return 2
    global CLOCK
    CLOCK = args.clock
    sizes = [] if args.cold_only else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    info = machine_info()
    notes: list[str] = []
    workdir = args.workdir or tempfile.mkdtemp(prefix="ivl-bench-")
    os.makedirs(workdir, exist_ok=True)
    if args.snapshot:
        global SNAPSHOT_PATH
        SNAPSHOT_PATH, sha = make_snapshot(args.snapshot, workdir)
        info["commit"] = f"{sha[:7]} (snapshot of {args.snapshot})"
        log(f"benchmarking {args.snapshot} = {sha[:12]} from {SNAPSHOT_PATH}")
    elif "uncommitted" in info["commit"]:
        notes.append("lint/ or rules/ had uncommitted changes; use --snapshot HEAD for a fixed revision")
    log(f"workdir {workdir}; {info['cpu']}, {info['nproc']} cores, Python {info['python']}")
    results = []
    try:
        for n in sizes:
            results.append(bench_size(n, workdir, args.repeat, args.seed))
            s = summarize(results[-1])
            log(f"[{n}] floor {fmt_s(s['floor'])}, end to end {fmt_s(s['e2e'])} ({s['ratio']:.1f}x), "
                f"in-process {fmt_s(s['inproc'])}, peak RSS {s['rss']:.0f} MB")
        cold = None
        if not args.no_cold:
            ycmd, note = ensure_yamllint(not args.no_install)
            notes.append(note) if "installed" in note or "skipped" in note else None
            log(f"cold start: {note}")
            cold = cold_start(workdir, args.cold_repeat, ycmd)
        if args.profile and sizes:
            n = args.profile_size or sizes[0]
            if n not in sizes:
                generate.generate(os.path.join(workdir, f"repo-{n}"), n, seed=args.seed)
            out = args.profile_out or os.path.join(os.getcwd() if args.workdir is None else workdir, f"profile-{n}.txt")
            log(f"profiling the in-process pipeline at {n} -> {out}")
            subprocess.run([sys.executable, os.path.abspath(__file__), "--worker-profile",
                            os.path.join(workdir, f"repo-{n}"), "--profile-out", out], check=True, env=child_env())
            notes.append(f"cProfile report: {out} (pstats: {out}.pstats)")
        md, checks = markdown(results, cold, info, args.repeat, notes)
        print(md)
        if args.markdown:
            with open(args.markdown, "w") as fh:
                fh.write(md)
            log(f"wrote {args.markdown}")
        if args.json_out:
            with open(args.json_out, "w") as fh:
                json.dump({"machine": info, "sizes": results, "cold": cold,
                           "targets": [{"target": a, "measured": b, "met": d} for a, b, _, d in checks]},
                          fh, indent=1)
            log(f"wrote {args.json_out}")
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep or args.workdir:
            log(f"kept {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
