"""The export pipeline: source → capture → convert (per target, in workers) → verify → bundle.

Each stage is a function that takes typed values and returns a new one. User errors are raised
before the staging folder exists or while it can still be discarded; conversion and parity
failures are recorded per artifact, the bundle is committed, and `ExportFailed` is raised after.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import bundle as bundle_mod, cache, conversion, data as data_mod, judge, tasks
from .capture import Captured, capture, example_inputs, run_torch
from .compress import stage as torch_compress
from .config import ExportConfig
from .conversion import ExportFailed  # noqa: F401  (re-exported: callers catch pipeline.ExportFailed)
from .debug import fallback
from .debug.run import summarize_failures
from .errors import UserError
from .judge import FALLBACK_SAMPLES, References
from .progress import Progress, Silent
from .source import input_paths, load as load_source
from .spec import ModelSpec, from_config, with_output_shapes
from .targets import base as targets
from .verify import metrics as metrics_mod, samples as verify_samples, verdict

@dataclass
class Checked:
    """One artifact after verification: the manifest entry."""

    entry: dict


def export(cfg: ExportConfig, model: Any = None, example_inputs_: Any = None, progress: Progress | None = None,
           force: bool = False) -> bundle_mod.Bundle:
    progress = progress or Silent()
    if tasks.registered(cfg.task):  # e.g. translation: two graphs and a decoding loop, same machinery
        return tasks.hook(cfg.task, "export")(cfg, model, progress)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    loaded = load_source(cfg, model)
    if example_inputs_ is not None and not cfg.inputs:
        cfg = _inputs_from_examples(cfg, example_inputs_)
    if not cfg.inputs:
        raise UserError("the config declares no inputs", hint="Add `[[inputs]]` with name and shape (or pass example_inputs to the API).")
    spec = verify_samples.with_integer_ranges(from_config(cfg), loaded.module)
    tgts = {name: targets.get(name) for name in cfg.targets}
    for name, target in tgts.items():
        target.validate(cfg.options(name), spec, cfg)
    verify_data = _verify_data(cfg, spec)
    eval_data = _data(cfg, spec, cfg.eval, "eval.data") if cfg.eval.data else None
    if eval_data is not None and eval_data.labels is None:
        raise UserError(f"eval.data: {cfg.eval.data} has no labels", hint="Give labels (a `labels` array in the .npz, sub-folders per label, or (inputs, labels) from the callable).")
    needs_cal = [n for n, tg in tgts.items() if tg.needs_calibration(cfg.options(n))]
    cal_data = None
    if needs_cal:
        if not cfg.calibration.data:
            raise UserError(
                f"{needs_cal[0]}: full-integer int8 needs calibration data",
                hint="Set `calibration.data` to an image folder, a .npy/.npz of preprocessed inputs, or `pkg.module:callable` (e.g. 100–500 training samples).",
            )
        cal_data = _data(cfg, spec, cfg.calibration, "calibration.data")
    timings["load"] = time.perf_counter() - t

    compressed = None
    if torch_compress.requested(cfg.compression):
        t = time.perf_counter()
        progress.stage("compress", "torch level")
        train = None
        if cfg.compression.distill.data:
            train = _data(cfg, spec, cfg.compression.distill, "compression.distill.data")
            if train.labels is None:
                raise UserError(f"compression.distill.data: {cfg.compression.distill.data} has no labels",
                                hint="Distillation trains on labels too: give a labelled .npz, an image folder or (inputs, labels).")
        loaded, compressed = torch_compress.apply(cfg, loaded, spec, train, eval_data, show_progress=not isinstance(progress, Silent))
        timings["compress"] = time.perf_counter() - t
        progress.done("compress", f"MACs ×{compressed['macs_ratio']:.2f}, params ×{compressed['params_ratio']:.2f}")

    dest = cfg.path(cfg.output_dir) / cfg.name
    pre = None
    if compressed is None:  # pruning/distillation train: their output is not known before they run
        t_pre = time.perf_counter()
        pre = _source_fingerprints(cfg, loaded, tgts, verify_data, cal_data, eval_data)
        if not force:
            reused = _reuse_unchanged(cfg, dest, pre, timings, t_pre, progress)
            if reused is not None:
                return reused
    staging = bundle_mod.Staging(dest, inputs=input_paths(cfg))
    # Scratch space lives inside the staging folder, so a killed export's leftovers are
    # removed with it by the next run's stale clean-up.
    work = staging.path / ".work"
    try:
        work.mkdir()
        progress.stage("capture", "torch.export")
        captured = capture(loaded, spec, work)
        timings["capture"] = captured.seconds
        spec = with_output_shapes(spec, captured.output_shapes, [d.replace("torch.", "") for d in captured.output_dtypes])
        progress.done("capture", f"{captured.seconds:.1f} s")

        refs = _references(captured, spec, verify_data)
        degenerate = judge.degenerate(cfg, refs)
        cal_path = None
        if cal_data is not None:
            cal_path = work / "calibration.npz"
            np.savez(cal_path, **cal_data.inputs)

        t = time.perf_counter()
        fps = _fingerprints(cfg, spec, tgts, captured, refs, cal_data, eval_data)
        old = None if force else cache.previous_manifest(dest)
        cached: dict[str, list[dict]] = {}
        for name in tgts:
            reused = cache.reuse(old, dest, name, fps[name], staging.path)
            if reused is not None:
                cached[name] = reused
                progress.done(f"convert {name}", f"unchanged: reused {len(reused)} artifact(s) from the previous bundle")
        todo = {n: tg for n, tg in tgts.items() if n not in cached}
        results = conversion.convert_all(cfg, spec, todo, captured, staging.path, work, cal_path, progress) if todo else []
        timings["convert"] = time.perf_counter() - t

        t = time.perf_counter()
        progress.stage("verify")
        torch_metric = None
        if eval_data is not None:
            torch_metric = metrics_mod.evaluate(_torch_runner(captured, spec), eval_data, spec.outputs[0].name)
        # drops are measured from the model the user gave, before pruning/distillation
        drop_from = compressed["source_top1"] if compressed and "source_top1" in compressed else torch_metric
        checked: dict[str, list[dict]] = dict(cached)
        torch_trace = judge.lazy_torch_trace(captured, spec, refs)
        for res in results:
            checked[res.target] = judge.check_result(res, tgts[res.target], cfg, spec, refs, eval_data, drop_from, staging.path, progress,
                                                degenerate)
            if cfg.compression.fallback == "auto" and any(fallback.wants(e) for e in checked[res.target]):
                checked[res.target] = judge.fallback_rounds(checked[res.target], res, tgts[res.target], cfg, spec, refs, eval_data, drop_from,
                                                staging.path, work, cal_path, torch_trace, progress)
            for entry in checked[res.target]:
                entry["fingerprint"] = fps[res.target]
        if pre is not None:  # what lets the next unchanged run stop before capture
            for name, entries_ in checked.items():
                for entry in entries_:
                    entry["source_fingerprint"] = pre[name]
        entries = [e for name in cfg.targets for e in checked.get(name, [])]
        if any(e.get("status") == "failed" and "parity" in e for e in entries):  # say where it went wrong
            summarize_failures(staging.path, entries, torch_trace, refs.inputs[:FALLBACK_SAMPLES])
        timings["verify"] = time.perf_counter() - t

        _write_assets(staging.path, spec, refs)
        manifest = _manifest(cfg, spec, entries, tgts, timings, eval_data, torch_metric)
        manifest["verification"] = {**verify_samples.describe(spec, len(refs.inputs), cfg.verify.inputs),
                                    "rule": verdict.RULE, **({"degenerate": degenerate} if degenerate else {})}
        if compressed:
            manifest["torch_compression"] = compressed
            if "source_top1" in compressed:
                manifest["metrics"]["source"] = {"top1": compressed["source_top1"]}
        shutil.rmtree(work)
        bundle_mod.write_manifest(staging.path, manifest)
        path = staging.commit()
    except BaseException:
        staging.discard()
        raise
    result = bundle_mod.Bundle(path, manifest)
    if result.failures:
        lines = [f"{a['target']}/{a['variant']}: {a['error']}" for a in result.failures]
        raise ExportFailed(result, lines)
    return result


# -- inputs ---------------------------------------------------------------------------------

def _inputs_from_examples(cfg: ExportConfig, examples: Any) -> ExportConfig:
    """API convenience: declare inputs from example tensors when the config has none."""
    import dataclasses

    import torch

    from .config import InputConfig

    if isinstance(examples, torch.Tensor):
        examples = (examples,)
    inputs = []
    for i, ex in enumerate(examples):
        if not isinstance(ex, torch.Tensor):
            raise UserError(f"example_inputs[{i}] is a {type(ex).__name__}, not a tensor", hint="Pass a tensor or a tuple of tensors.")
        inputs.append(InputConfig(name=f"input_{i}" if len(examples) > 1 else "input", shape=list(ex.shape), dtype=str(ex.dtype).replace("torch.", "")))
    return dataclasses.replace(cfg, inputs=inputs)


def _data(cfg: ExportConfig, spec: ModelSpec, dc, key: str) -> data_mod.Dataset:
    return data_mod.load(dc.data, spec, key=key, base_dir=cfg.base_dir, limit=dc.limit)


def _verify_data(cfg: ExportConfig, spec: ModelSpec) -> list[dict[str, np.ndarray]]:
    if cfg.verify.inputs:
        ds = data_mod.load(cfg.verify.inputs, spec, key="verify.inputs", base_dir=cfg.base_dir, limit=cfg.verify.samples)
        return [ds.sample(i) for i in range(len(ds))]
    return [example_inputs(spec, seed=cfg.verify.seed + i) for i in range(cfg.verify.samples)]


def _references(captured: Captured, spec: ModelSpec, samples: list[dict[str, np.ndarray]]) -> References:
    names = [o.name for o in spec.outputs]
    outs = [dict(zip(names, run_torch(captured.module, spec, s))) for s in samples]
    pixels = {}
    for t in spec.inputs:
        if t.is_image:
            px = _to_pixels(np.concatenate([s[t.name] for s in samples]), t.preprocessing)
            if px is not None:
                pixels[t.name] = px
    return References(samples, outs, pixels)


def _to_pixels(x: np.ndarray, pre: dict) -> np.ndarray | None:
    """Invert the preprocessing to uint8 NHWC pixels, if the inputs came from whole pixels."""
    mean = np.array(pre["mean"], np.float64).reshape(1, -1, 1, 1)
    std = np.array(pre["std"], np.float64).reshape(1, -1, 1, 1)
    px = (x.astype(np.float64) * std + mean) / pre["scale"]
    rounded = np.round(px)
    if np.abs(px - rounded).max() > 1e-2 or rounded.min() < 0 or rounded.max() > 255:
        return None
    if pre["color"] == "BGR":
        rounded = rounded[:, ::-1]
    return np.ascontiguousarray(rounded.transpose(0, 2, 3, 1)).astype(np.uint8)


def _torch_runner(captured: Captured, spec: ModelSpec):
    names = [o.name for o in spec.outputs]
    return lambda feeds: dict(zip(names, run_torch(captured.module, spec, feeds)))


# -- caching --------------------------------------------------------------------------------

def _fingerprints(cfg, spec, tgts, captured, refs: References, cal_data, eval_data) -> dict[str, str]:
    checks = cache.data_hash(*refs.inputs, None if eval_data is None else {**eval_data.inputs, "labels": eval_data.labels})
    cal = cache.data_hash(None if cal_data is None else cal_data.inputs)
    vers = conversion.versions(tgts)
    common = dict(graph=captured.fingerprint, spec=spec.to_dict(), checks=checks, verify=targets.options_dict(cfg.verify),
                  budgets=vars(cfg.budgets), latency_runs=cfg.latency_runs, versions=vers)
    if cfg.compression.fallback == "auto":  # it can change what an int8 artifact holds
        common["fallback"] = {"mode": "auto", "max_rounds": cfg.compression.fallback_max_rounds}
    out = {}
    for name, tg in tgts.items():
        opts = cfg.options(name)
        out[name] = cache.fingerprint(target=name, options=targets.options_dict(opts), calibration=cal if tg.needs_calibration(opts) else None,
                                      **common)
    return out


def _source_fingerprints(cfg, loaded, tgts, verify_data, cal_data, eval_data) -> dict[str, str]:
    """Per target: everything an export reads, known before capture (weights, model code and
    input files, the config, the check data, converter versions)."""
    import dataclasses

    source = cache.source_hash(loaded.module, input_paths(cfg))
    checks = cache.data_hash(*verify_data, None if eval_data is None else {**eval_data.inputs, "labels": eval_data.labels})
    cal = cache.data_hash(None if cal_data is None else cal_data.inputs)
    # Not what the artifacts are made of: where the bundle goes, where the config lies, how long
    # a worker may run, in parallel or not, and the sections export does not read.
    ignored = {"output_dir": "", "base_dir": ".", "timeout": 0.0, "timeouts": {}, "parallel": True}
    plain = dataclasses.replace(cfg, **ignored)
    try:
        config = {k: v for k, v in dataclasses.asdict(plain).items() if k not in ("sweep", "diff")}
    except TypeError:  # a callable or other non-copyable value in the config
        config = repr(plain)
    vers = conversion.versions(tgts)
    return {name: cache.fingerprint(target=name, source=source, config=config, checks=checks, versions=vers,
                                    calibration=cal if tg.needs_calibration(cfg.options(name)) else None)
            for name, tg in tgts.items()}


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


# -- the bundle -----------------------------------------------------------------------------

def _peak_rss_mb() -> dict:
    """Peak resident memory of this process and of its largest finished child (the workers), in MB,
    since the process started (getrusage: no sampling, no cost). Their sum bounds the tree's peak."""
    import resource
    import sys

    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 1e6
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / 1e6
    return {"export_process": round(own, 1), "largest_worker": round(child, 1), "bound": round(own + child, 1)}


def _write_assets(root: Path, spec: ModelSpec, refs: References) -> None:
    assets = root / "assets"
    golden = assets / "golden"
    golden.mkdir(parents=True, exist_ok=True)
    if spec.labels:
        (assets / "labels.txt").write_text("".join(f"{label}\n" for label in spec.labels), encoding="utf-8")
    index: dict[str, Any] = {"samples": len(refs.inputs), "inputs": {}, "outputs": {}, "pixels": {}}
    for kind, samples in (("inputs", refs.inputs), ("outputs", refs.outputs)):
        for name in samples[0]:
            arr = np.concatenate([s[name] for s in samples])
            fname = f"{kind}.{name}.npy"
            np.save(golden / fname, arr)
            index[kind][name] = {"file": fname, "shape": list(arr.shape), "dtype": str(arr.dtype)}
    for name, px in refs.pixels.items():
        fname = f"pixels.{name}.npy"
        np.save(golden / fname, px)
        index["pixels"][name] = {"file": fname, "shape": list(px.shape), "dtype": "uint8", "layout": "NHWC", "color": "RGB"}
    (golden / "index.json").write_text(json.dumps(index, indent=1) + "\n")


def _manifest(cfg, spec: ModelSpec, entries: list[dict], tgts, timings, eval_data, torch_metric) -> dict:
    def tensor(t, is_input: bool) -> dict:
        d = {"name": t.name, "shape": t.shape, "dtype": t.dtype}
        if is_input:
            d.update(dynamic=t.dynamic, preprocessing=t.preprocessing)
            if t.range:
                d["range"] = t.range
        else:
            d["labels"] = t.labels_path
        if t.description:
            d["description"] = t.description
        return d

    manifest = {
        "schema": bundle_mod.SCHEMA,
        "name": spec.name,
        "version": spec.version,
        "task": spec.task,
        "author": spec.author,
        "license": spec.license,
        "description": spec.description,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "created_with": conversion.versions(tgts),
        "inputs": [tensor(t, True) for t in spec.inputs],
        "outputs": [tensor(t, False) for t in spec.outputs],
        "artifacts": entries,
        "golden": "assets/golden/",
        "stages": {k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": _peak_rss_mb(),
        "budgets": {k: v for k, v in vars(cfg.budgets).items() if v is not None},
    }
    if eval_data is not None:
        manifest["metrics"] = {"dataset": cfg.eval.data, "samples": len(eval_data), "torch": {"top1": torch_metric}}
    return manifest
