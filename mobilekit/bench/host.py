"""The host benchmark: every artifact this machine can run, on the bundle's golden inputs.

Each artifact × configuration runs in its own child process (`python -m mobilekit.bench.host
--child`), so that a runtime that crashes is recorded as a failed result instead of ending the
benchmark, and so that load time, init time and memory are measured in a process that has
loaded nothing else.

What is measured, in the child, in this order:

1. init: importing the runtime and creating its options / environment (`init_ms`).
2. load: model file → a ready session or interpreter, tensors allocated (`load_ms`).
3. one first inference (`first_inference_ms`), then `warmup` runs (not recorded), then `runs`
   measured runs (`runs_ms`, and their statistics). Inputs are the golden inputs, cycled, already
   converted to the artifact's layout and integer type, so the timed call is the runtime's own
   (ONNX Runtime `session.run`; LiteRT's signature runner: copy in, invoke, copy out).
4. memory (`results.memory`): on Linux the peak RSS is reset through /proc/self/clear_refs just
   before load and read back as VmHWM after the last run; with RSS sampled by psutil after load
   and after every run as a floor. `peak_delta_bytes` is that peak minus the RSS just before
   load. Elsewhere it is the sampled maximum (a lower bound of the true peak). The method used
   is written into every result.

Runtimes: the bench names none. Each artifact's target says which configurations it is timed in
(`Target.bench_configs`), sets its runtime up (`bench_init`), loads the file with feeds already in
the runtime's own tensors (`timed_session`) and says which delegate really ran from the runtime's
log (`bench_delegate`). Today: ONNX Runtime's CPU provider; LiteRT with XNNPACK (the child's log
must show XNNPACK was created, else `delegate: none`) or its built-in kernels; Core ML on macOS
only (cpuOnly and all compute units); ExecuTorch's XNNPACK; any other target through its
verification runner, never a reference interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import results as res
from .memory import Memory
from .progress_bars import BenchProgress, PlainBar, RichBar, SilentBar  # noqa: F401  (the CLI and scripts take them from here)

CHILD_TIMEOUT_S = 900.0


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class Job:
    """One benchmark: an artifact of the bundle with one runtime configuration."""

    bundle: str
    entry: dict
    runtime: str  # as the target names it: onnxruntime | litert | coreml | executorch | runner
    backend: str
    delegate: str | None
    compute_units: str | None
    threads: int | None
    warmup: int
    runs: int
    tool: str = ""

    @property
    def label(self) -> str:
        return f"{self.entry['target']}/{self.entry['variant']}"

    @property
    def config_label(self) -> str:
        return res.config_label({"runtime": {"name": self.runtime}, "config": {
            "backend": self.backend, "delegate": self.delegate, "compute_units": self.compute_units,
            "threads": self.threads}})


@dataclass
class Skipped:
    label: str
    reason: str


@dataclass
class BenchRun:
    """What `bench()` did: the results written (with their files) and what it skipped."""

    results: list[dict] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        return [d for d in self.results if d["status"] == "failed"]


def plan(bundle, threads: int, runs: int, warmup: int, only: tuple[str, ...] = (),
         litert_delegates: tuple[str, ...] = ("xnnpack",), include_failed: bool = False) -> tuple[list[Job], list[Skipped]]:
    """The benchmarks this host can run for `bundle`, and why the others are skipped.

    Each artifact's target says which runtime configurations it is timed in (Target.bench_configs);
    `litert_delegates` is passed on to the targets as a preference.
    """
    from .. import __version__

    prefs = {"litert_delegates": litert_delegates}

    jobs: list[Job] = []
    skipped: list[Skipped] = []
    tool = f"mobilekit bench {__version__}"
    for a in bundle.artifacts:
        label = f"{a['target']}/{a['variant']}"
        if only and not any(label == o or a["target"] == o for o in only):
            continue
        # load_bundle checked every verified/unverified artifact's file; a failed one may have none
        has_file = "path" in a and a.get("sha256") and (bundle.path / a["path"]).exists()
        if a["status"] == "failed" and not (include_failed and has_file):
            skipped.append(Skipped(label, "the export of this artifact failed"))
            continue
        base = dict(bundle=str(bundle.path), entry=a, warmup=warmup, runs=runs, tool=tool)
        configs = _target(a["target"]).bench_configs(a, threads, prefs)
        if isinstance(configs, str):  # the target says why this host cannot time it
            skipped.append(Skipped(label, configs))
            continue
        for c in configs:
            jobs.append(Job(runtime=c.runtime, backend=c.backend, delegate=c.delegate, compute_units=c.compute_units,
                            threads=c.threads, **base))
    if only:
        known = {f"{a['target']}/{a['variant']}" for a in bundle.artifacts} | {a["target"] for a in bundle.artifacts}
        for o in only:
            if o not in known:
                from ..errors import UserError

                raise UserError(f"--only {o}: the bundle has no such artifact",
                                hint=f"Choose from: {', '.join(sorted(known))}.")
    return jobs, skipped


def _target(name: str):
    from ..targets import base as targets

    return targets.get(name)


def bench(path: str | Path, *, threads: int | None = None, runs: int = 50, warmup: int = 5,
          only: tuple[str, ...] = (), litert_delegates: tuple[str, ...] = ("xnnpack",),
          include_failed: bool = False, progress: "BenchProgress | None" = None,
          timeout: float = CHILD_TIMEOUT_S, write: bool = True) -> BenchRun:
    """Benchmark every artifact of the bundle at `path` that this host can run.

    Results are written to `<bundle>/bench/` (one `mobilekit.bench/1` file per artifact and
    configuration; a re-run replaces the file of the same configuration). Results of runs that
    failed are written too, with status `failed`; artifacts this host cannot run are skipped, and
    so are artifacts whose export failed, unless `include_failed` (e.g. to time a file that failed
    only its parity check).
    """
    from ..bundle import load_bundle
    from ..errors import UserError

    if runs < 1:
        raise UserError(f"--runs must be at least 1, got {runs}")
    if warmup < 0:
        raise UserError(f"--warmup must be 0 or more, got {warmup}")
    threads = threads or default_threads()
    if threads < 1:
        raise UserError(f"--threads must be at least 1, got {threads}")
    bundle = load_bundle(path)
    progress = progress or SilentBar()
    if not litert_delegates:
        raise UserError("--litert-delegate '': choose xnnpack or none")
    jobs, skipped = plan(bundle, threads, runs, warmup, only, tuple(dict.fromkeys(litert_delegates)), include_failed)
    out = BenchRun(skipped=skipped)
    for s in skipped:
        progress.skip(s.label, s.reason)
    if not jobs:
        why = "; ".join(f"{s.label}: {s.reason}" for s in skipped) or "it has no artifacts"
        raise UserError(f"nothing in {bundle.path} can be benchmarked on this host ({why})",
                        hint="Run the device harnesses in harness/ and `mobilekit bench import` their results.")
    for job in jobs:
        doc = run_job(job, progress, timeout)
        if doc["status"] == "unsupported":
            out.skipped.append(Skipped(job.label, doc["error"]))
            progress.skip(f"{job.label} {job.config_label}", doc["error"])
            continue
        doc["source"].update(bundle=bundle.name, bundle_version=bundle.manifest.get("version", ""))
        res.validate(doc, f"result of {job.label}")  # a bug if this fails: the child wrote it
        out.results.append(doc)
        if write:
            out.files.append(res.write(bundle.path, doc))
    return out


# -- the parent side of one child -------------------------------------------------------------

def run_job(job: Job, progress: "BenchProgress", timeout: float = CHILD_TIMEOUT_S) -> dict:
    total = 1 + job.warmup + job.runs
    name = f"{job.label} {job.config_label}"
    progress.start(name, total)
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with tempfile.TemporaryFile(mode="w+") as errfile:
        proc = subprocess.Popen([sys.executable, "-m", "mobilekit.bench.host", "--child"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errfile, text=True, env=env)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(asdict(job)))
        proc.stdin.close()
        doc = None
        deadline = time.monotonic() + timeout
        timed_out = False
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                if not sel.select(timeout=min(remaining, 1.0)):
                    if proc.poll() is not None:
                        break
                    continue
                line = proc.stdout.readline()
                if not line:
                    break
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if "done" in event:
                    progress.update(name, event["done"])
                elif "result" in event:
                    doc = event["result"]
        finally:
            sel.close()
            if timed_out:
                proc.kill()
            proc.wait()
            proc.stdout.close()
        if doc is None:
            errfile.seek(0)
            tail = [ln for ln in errfile.read().splitlines() if ln.strip()][-3:]
            if timed_out:
                why = f"timed out after {timeout:.0f} s"
            else:
                why = f"the benchmark process exited with code {proc.returncode}"
            doc = _failed_doc(job, why + (f": {' | '.join(tail)}" if tail else ""))
    if doc["status"] == "ok":
        lat = doc["results"]["latency_ms"]
        progress.finish(name, f"p50 {lat['p50']:.3f} ms, p90 {lat['p90']:.3f} ms, load {doc['results']['load_ms']:.1f} ms")
    elif doc["status"] == "failed":
        progress.finish(name, f"failed: {doc['error']}", ok=False)
    else:
        progress.finish(name, f"skipped: {doc['error']}", ok=None)
    return doc


def _failed_doc(job: Job, error: str, status: str = "failed", runtime_version: str | None = None) -> dict:
    return {
        "schema": res.SCHEMA,
        "created_at": res.now(),
        "source": {"kind": "host", "tool": job.tool or "mobilekit bench"},
        "device": res.host_device(),
        "runtime": {"name": job.runtime, "version": runtime_version or _runtime_version(job)},
        "model": _model_info(job.entry),
        "config": _config_doc(job),
        "status": status,
        "error": error,
        "results": None,
    }


def _model_info(entry: dict) -> dict:
    m = {"file": entry["path"], "sha256": entry["sha256"], "target": entry["target"], "variant": entry["variant"]}
    if "size_bytes" in entry:
        m["size_bytes"] = entry["size_bytes"]
    return m


def _config_doc(job: Job) -> dict:
    return {"backend": job.backend, "delegate": job.delegate, "compute_units": job.compute_units,
            "threads": job.threads, "warmup_runs": job.warmup, "runs": job.runs, "inputs": "golden"}


def _runtime_version(job: Job) -> str:
    try:
        return _target(job.entry["target"]).runtime_version(job.runtime)
    except Exception:  # an unknown target in a result being written for a failure: never hide that failure
        return "unknown"


# -- the child --------------------------------------------------------------------------------

_PROTOCOL = None  # the child's original stdout; fds 1 and 2 go to a log while it runs


def _emit(obj: dict) -> None:
    out = _PROTOCOL or sys.stdout
    out.write(json.dumps(obj) + "\n")
    out.flush()


def _config(job: Job):
    from ..targets.base import BenchConfig

    return BenchConfig(runtime=job.runtime, backend=job.backend, delegate=job.delegate,
                       compute_units=job.compute_units, threads=job.threads)


def _init_runtime(job: Job) -> Any:
    """Import the runtime and build its options: what `init_ms` measures."""
    return _target(job.entry["target"]).bench_init(_config(job))


def _load(job: Job, handle: Any, bundle_dir: Path, samples: list[dict]):
    """Model file → a ready TimedSession (`load_ms`), feeds prepared outside the timed calls."""
    from ..targets.base import ArtifactRecord, Unverifiable

    rec = ArtifactRecord.from_dict(job.entry)
    try:
        return _target(rec.target).timed_session(rec, bundle_dir, samples, _config(job), handle)
    except Unverifiable as exc:
        raise _Unsupported(str(exc)) from None


class _Unsupported(Exception):
    pass


def child_main(job: Job) -> dict:
    """Run one benchmark in this (fresh) process and return its result document."""
    from ..bundle import load_bundle
    from ..reverify import load_golden

    global _PROTOCOL
    # Runtimes log to fds 1 and 2 (LiteRT says there whether it created the XNNPACK delegate):
    # keep that in a log, and the protocol lines on a copy of the original stdout.
    log = tempfile.TemporaryFile(mode="w+b")
    sys.stdout.flush()
    saved = os.dup(2), os.dup(1)
    _PROTOCOL = os.fdopen(os.dup(1), "w")
    os.dup2(log.fileno(), 2)
    os.dup2(log.fileno(), 1)
    doc = _failed_doc(job, "did not run", runtime_version="unknown")
    try:
        bundle = load_bundle(job.bundle, check_files=False)
        samples, _ = load_golden(bundle)
        total = 1 + job.warmup + job.runs
        step = max(1, total // 20)

        t = time.perf_counter()
        rt = _init_runtime(job)
        init_ms = (time.perf_counter() - t) * 1e3

        mem = Memory()
        t = time.perf_counter()
        session = _load(job, rt, bundle.path, samples)
        load_ms = session.load_ms if session.load_ms is not None else (time.perf_counter() - t) * 1e3
        mem.sample()

        t = time.perf_counter()
        session.call(0)
        first_ms = (time.perf_counter() - t) * 1e3
        mem.sample()
        _emit({"done": 1})
        done = 1
        for i in range(job.warmup):
            session.call(i + 1)
            done += 1
            if done % step == 0:
                _emit({"done": done})
        runs_ms = []
        for i in range(job.runs):
            t = time.perf_counter()
            session.call(i)
            runs_ms.append((time.perf_counter() - t) * 1e3)
            mem.sample()
            done += 1
            if done % step == 0:
                _emit({"done": done})
        _emit({"done": total})
        memory = mem.result()
        runs_ms = [round(v, 6) for v in runs_ms]  # the statistics are those of the recorded runs

        log.seek(0)
        delegate, more = _target(job.entry["target"]).bench_delegate(_config(job), session, log.read().decode("utf-8", "replace"))
        notes = list(session.notes) + more
        doc = _failed_doc(job, "", status="ok", runtime_version=session.runtime_version)
        doc["config"]["delegate"] = delegate
        doc["error"] = None
        doc["results"] = {
            "init_ms": round(init_ms, 4),
            "load_ms": round(load_ms, 4),
            "first_inference_ms": round(first_ms, 4),
            "latency_ms": res.latency_stats(runs_ms),
            "runs_ms": runs_ms,
            "memory": memory,
        }
        notes.append(f"first inference is one call after load, outside the {job.warmup} warm-up and {job.runs} measured runs")
        doc["notes"] = notes
    except _Unsupported as exc:
        doc = _failed_doc(job, str(exc), status="unsupported")
    except Exception as exc:  # recorded, not raised: one artifact failing never stops the others
        doc = _failed_doc(job, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}")
    finally:
        sys.stdout.flush()
        os.dup2(saved[0], 2)
        os.dup2(saved[1], 1)
        for fd in saved:
            os.close(fd)
        log.close()
    return doc


def _child_entry() -> int:
    job = Job(**json.loads(sys.stdin.read()))
    doc = child_main(job)
    _emit({"result": doc})
    return 0


# -- terminal summary -------------------------------------------------------------------------

def summary_lines(run: BenchRun) -> list[str]:
    from ..inspect import human_size

    head = f"{'artifact':20s} {'runtime':26s} {'load ms':>8s} {'first ms':>9s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} {'mean±std ms':>15s} {'peak mem Δ':>10s}"
    lines = [head]
    for d in run.results:
        name = res.label(d)
        cfg = res.config_label(d)
        if d["status"] != "ok":
            lines.append(f"{name:20s} {cfg:26s} failed: {d['error']}")
            continue
        r = d["results"]
        lat = r["latency_ms"]
        mem = r["memory"]["peak_delta_bytes"]
        mem_s = human_size(max(mem, 0)) if mem is not None else "-"
        ms = f"{lat['mean']:.3f}±{lat['std']:.3f}"
        lines.append(f"{name:20s} {cfg:26s} {r['load_ms']:8.1f} {r['first_inference_ms']:9.3f} {lat['p50']:8.3f} "
                     f"{lat['p90']:8.3f} {lat['p99']:8.3f} {ms:>15s} {mem_s:>10s}")
    for s in run.skipped:
        lines.append(f"{s.label:20s} skipped: {s.reason}")
    return lines


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        from .._native import before_tensorflow

        before_tensorflow()
        sys.exit(_child_entry())
    print("usage: mobilekit bench BUNDLE (this module's --child mode is internal)", file=sys.stderr)
    sys.exit(2)
