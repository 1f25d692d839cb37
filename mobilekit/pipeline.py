"""The export pipeline: source → capture → convert (per target, in workers) → verify → bundle.

What every export does the same way lives here once: staging and commit, reuse of unchanged
work (before capture, then per target), capture of each graph, the target workers, the manifest
skeleton and the failure summary. What a task adds (its graphs, references, checks, golden
files, manifest section) comes from its `mobilekit.tasks.base.Task`. Each stage takes typed
values and returns a new one. User errors are raised before the staging folder exists or while
it can still be discarded; conversion and parity failures are recorded per artifact, the bundle
is committed, and `ExportFailed` is raised after.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import shutil
import time
from pathlib import Path
from typing import Any

from . import bundle as bundle_mod, cache, conversion, tasks
from .capture import Captured, capture
from .config import ExportConfig
from .conversion import ExportFailed  # noqa: F401  (re-exported: callers catch pipeline.ExportFailed)
from .progress import Progress, Silent
from .source import input_paths
from .spec import with_output_shapes
from .tasks.base import Converted, Prepared, Task


def export(cfg: ExportConfig, model: Any = None, example_inputs_: Any = None, progress: Progress | None = None,
           force: bool = False) -> bundle_mod.Bundle:
    progress = progress or Silent()
    task = tasks.get(cfg.task)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    prep = task.prepare(cfg, model, example_inputs_, progress)
    cfg = prep.cfg
    timings["load"] = time.perf_counter() - t - sum(prep.seconds.values())
    timings.update(prep.seconds)

    dest = cfg.path(cfg.output_dir) / cfg.name
    if prep.source_fingerprints is not None and not force:
        reused = _reuse_unchanged(cfg, dest, prep.source_fingerprints, timings, time.perf_counter(), progress)
        if reused is not None:
            return reused
    staging = bundle_mod.Staging(dest, inputs=input_paths(cfg))
    # Scratch space lives inside the staging folder, so a killed export's leftovers are
    # removed with it by the next run's stale clean-up.
    work = staging.path / ".work"
    try:
        work.mkdir()
        captured, prep = _capture(prep, work, timings, progress)

        t = time.perf_counter()
        refs = task.references(prep, captured, progress)
        timings["reference"] = time.perf_counter() - t

        t = time.perf_counter()
        converted = _convert(task, prep, captured, refs, dest, staging.path, work, force, progress)
        timings["convert"] = time.perf_counter() - t

        t = time.perf_counter()
        progress.stage("verify", getattr(task, "verify_note", ""))
        judged = task.judge(prep, refs, converted, captured, staging.path, work, progress)
        for entry in judged.entries:  # what lets the next run reuse an artifact, or the whole bundle before capture
            if converted.fingerprints is not None and entry["target"] in converted.fingerprints:
                entry["fingerprint"] = converted.fingerprints[entry["target"]]
            if prep.source_fingerprints is not None:
                entry["source_fingerprint"] = prep.source_fingerprints[entry["target"]]
        timings["verify"] = time.perf_counter() - t

        task.write_assets(prep, refs, staging.path)
        manifest = _skeleton(cfg, prep, judged.entries, timings)
        manifest.update(task.manifest(prep, refs, judged))
        shutil.rmtree(work)
        bundle_mod.write_manifest(staging.path, manifest)
        path = staging.commit()
    except BaseException:
        staging.discard()
        raise
    result = bundle_mod.Bundle(path, manifest)
    if result.failures:
        raise ExportFailed(result, [_failure_line(a) for a in result.failures])
    return result


def _failure_line(a: dict) -> str:
    graph = f" ({a['graph']})" if "graph" in a else ""
    return f"{a['target']}/{a['variant']}{graph}: {a['error']}"


# -- capture and conversion -------------------------------------------------------------------

def _capture(prep: Prepared, work: Path, timings: dict, progress: Progress) -> tuple[dict[str, Captured], Prepared]:
    """torch.export of each graph (saved as .pt2 in its work folder); specs gain the output shapes."""
    captured, graphs = {}, {}
    for name, graph in prep.graphs.items():
        gwork = work if prep.single else work / name
        gwork.mkdir(exist_ok=True)
        progress.stage("capture", "torch.export" if prep.single else f"torch.export ({name})")
        c = capture(graph.loaded, graph.spec, gwork)
        captured[name] = c
        graphs[name] = graph.with_spec(with_output_shapes(graph.spec, c.output_shapes, [d.replace("torch.", "") for d in c.output_dtypes]))
        progress.done("capture", f"{c.seconds:.1f} s")
    timings["capture"] = sum(c.seconds for c in captured.values())
    return captured, dataclasses.replace(prep, graphs=graphs)


def _convert(task: Task, prep: Prepared, captured: dict[str, Captured], refs: Any, dest: Path, bundle_dir: Path, work: Path,
             force: bool, progress: Progress) -> Converted:
    """Every target's worker on every graph; a target whose inputs did not change keeps the previous bundle's artifacts."""
    cfg, tgts = prep.cfg, prep.targets
    cal = task.calibration(prep, work)
    fps = task.fingerprints(prep, captured, refs)
    cached: dict[str, list[dict]] = {}
    retry: dict[str, list[str]] = {}  # target → the variants converted again (the others passed last time)
    order: dict[str, list[str]] = {}  # ... and the order its variants are listed in
    if fps is not None:
        old = None if force else cache.previous_manifest(dest)
        for name in tgts:
            reused = cache.reuse(old, dest, name, fps[name], bundle_dir)
            if reused is not None:
                cached[name] = reused
                progress.done(f"convert {name}", f"unchanged: reused {len(reused)} artifact(s) from the previous bundle")
                continue
            partial = cache.reuse_passed(old, dest, name, fps[name], bundle_dir) if prep.single else None
            if partial is not None:
                cached[name], retry[name], order[name] = partial
                progress.done(f"convert {name}", f"unchanged: reused {len(partial[0])} passed artifact(s); converting "
                                                 f"{', '.join(partial[1])} again")
    todo = {n: tg for n, tg in tgts.items() if n not in cached or n in retry}
    results = {}
    early = None
    for name, graph in prep.graphs.items():
        if not todo:
            results[name] = []
        elif prep.single:  # artifacts keep their target's own names, straight into the bundle
            early = task.early_checks(prep, refs, captured, bundle_dir, cal, progress) if hasattr(task, "early_checks") else None
            results[name] = conversion.convert_all(cfg, graph.spec, todo, captured[name], bundle_dir, work, cal, progress,
                                                   variants=retry, on_result=early.check if early else None)
        else:
            results[name] = _convert_graph(cfg, name, graph.spec, todo, captured[name], bundle_dir, work / name, cal, progress)
    return Converted(results, cached, fps, cal, order, early)


def _convert_graph(cfg, graph: str, spec, tgts, captured: Captured, bundle_dir: Path, gwork: Path, cal, progress) -> list:
    """One graph of several: converted apart, then its artifacts and logs moved in under names that say the graph."""
    out = gwork / "bundle"
    moved_logs: dict[Path, Path] = {}
    results = []
    for res in conversion.convert_all(cfg, spec, tgts, captured, out, gwork, cal, progress):
        res = dataclasses.replace(res, log=_move_log(res, out, bundle_dir / "logs" / f"{res.target}-{graph}.log", moved_logs))
        for rec in res.records:
            if rec.error:  # this variant did not convert; the task records it
                continue
            rec.path = _move_artifact(out, bundle_dir, rec.path, graph)
            rec.details["graph"] = graph
            rec.details["convert_seconds"] = round(res.seconds, 2)  # the target's worker for this graph, all its variants
        results.append(res)
    return results


def _move(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(dst))
    return dst


def _move_log(res, out: Path, dst: Path, moved: dict) -> Path:
    """A worker's log into logs/; targets that failed with the ONNX they start from share its log (moved once)."""
    if not res.log.is_relative_to(out):
        return res.log
    if res.log not in moved:
        moved[res.log] = _move(res.log, dst)
    return moved[res.log]


def _move_artifact(out: Path, bundle: Path, rel: str, graph: str) -> str:
    """`onnx/model.fp16.onnx` → `onnx/encoder.fp16.onnx`; other names get a `<graph>-` prefix unless they name it."""
    p = Path(rel)
    name = p.name
    if name.startswith("model."):
        name = graph + name[len("model"):]
    elif graph not in name.lower():
        name = f"{graph}-{name}"
    new = (p.parent / name).as_posix()
    _move(out / rel, bundle / new)
    return new


# -- caching ----------------------------------------------------------------------------------

def _reuse_unchanged(cfg, dest: Path, pre: dict[str, str], timings: dict, t0: float, progress: Progress):
    """The previous bundle, re-committed as it is, when no input of any target changed."""
    old = cache.previous_manifest(dest)
    entries = cache.unchanged(old, dest, list(cfg.targets), pre)
    if entries is None:
        return None
    staging = bundle_mod.Staging(dest, inputs=input_paths(cfg))
    try:
        cache.copy_forward(dest, entries, staging.path)
        timings["reuse"] = time.perf_counter() - t0
        manifest = {**old, "artifacts": [{**e, "cached": True} for e in entries],
                    "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "stages": {k: round(v, 3) for k, v in timings.items()}}
        bundle_mod.write_manifest(staging.path, manifest)
        path = staging.commit()
    except BaseException:
        staging.discard()
        raise
    for name in cfg.targets:
        progress.done(f"convert {name}", "unchanged before capture: reused the previous bundle's artifacts")
    return bundle_mod.Bundle(path, manifest)


# -- the bundle ---------------------------------------------------------------------------------

def _peak_rss_mb() -> dict:
    """Peak resident memory of this process and of its largest finished child (the workers), in MB,
    since the process started (getrusage: no sampling, no cost). Their sum bounds the tree's peak."""
    import resource
    import sys

    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 1e6
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / 1e6
    return {"export_process": round(own, 1), "largest_worker": round(child, 1), "bound": round(own + child, 1)}


def _skeleton(cfg: ExportConfig, prep: Prepared, entries: list[dict], timings: dict) -> dict:
    """The manifest keys every bundle has; the task fills inputs/outputs and adds its own section."""
    return {
        "schema": bundle_mod.SCHEMA,
        "name": cfg.name,
        "version": cfg.version,
        "task": cfg.task,
        "author": cfg.author,
        "license": cfg.license,
        "description": cfg.description,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "created_with": conversion.versions(prep.targets),
        "inputs": [],
        "outputs": [],
        "artifacts": entries,
        "golden": "assets/golden/",
        "stages": {k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": _peak_rss_mb(),
    }
