"""task = "image_classification" | "generic": one graph, tensors in and out.

Judged tensor by tensor against torch on the verification inputs (parity by the precision's
rule), with top-1 on `eval.data` when there is one, budgets, and the accuracy-aware fallback.
Its golden files are the verification inputs and torch's outputs (plus uint8 pixels where the
preprocessing inverts exactly), which `mobilekit verify`, `debug`, `bench` and the apps read.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import cache, conversion, data as data_mod
from ..capture import Captured, example_inputs as random_inputs, run_torch
from ..compress import stage as torch_compress
from ..config import ExportConfig
from ..debug import fallback
from ..debug.run import capture_context, summarize_failures
from ..errors import UserError
from . import classification_checks as judge
from .classification_checks import FALLBACK_SAMPLES, References
from ..progress import Progress, Silent
from ..source import input_paths, load as load_source
from ..spec import ModelSpec, from_config
from ..targets import base as targets
from ..verify import metrics as metrics_mod, samples as verify_samples, verdict
from .base import SINGLE, Converted, Graph, Judged, Prepared


@dataclass(frozen=True)
class State:
    verify_data: list[dict[str, np.ndarray]]
    eval_data: Any  # data.Dataset with labels, or None
    cal_data: Any  # data.Dataset, or None
    compressed: dict | None  # torch-level pruning/distillation figures


class _Checks:
    """Each target's artifacts judged as its worker's result comes in (the pipeline calls `check`
    while the other targets convert); what judge needs of torch is computed once, at the first."""

    def __init__(self, prep: Prepared, refs: References, cap: Captured, bundle_dir: Path, calibration: Path | None,
                 progress: Progress):
        self.prep, self.refs, self.cap, self.bundle_dir, self.progress = prep, refs, cap, bundle_dir, progress
        self.calibration = calibration
        self.checked: dict[str, list[dict]] = {}
        self._facts: dict | None = None
        self.torch_trace = judge.lazy_torch_trace(cap, prep.graphs[SINGLE].spec, refs)

    def facts(self) -> dict:
        if self._facts is None:
            cfg, spec, st = self.prep.cfg, self.prep.graphs[SINGLE].spec, self.prep.state
            degenerate = judge.degenerate(cfg, self.refs)  # exit 2 here unless verify.allow_degenerate
            torch_metric = None
            if st.eval_data is not None:
                torch_metric = metrics_mod.evaluate(_torch_runner(self.cap, spec), st.eval_data, spec.outputs[0].name)
            # drops are measured from the model the user gave, before pruning/distillation
            drop_from = st.compressed["source_top1"] if st.compressed and "source_top1" in st.compressed else torch_metric
            self._facts = {"degenerate": degenerate, "torch_metric": torch_metric, "drop_from": drop_from}
        return self._facts

    def entries(self, res) -> list[dict]:
        prep, facts = self.prep, self.facts()
        return judge.check_result(res, prep.targets[res.target], prep.cfg, prep.graphs[SINGLE].spec, self.refs, prep.state.eval_data,
                                  facts["drop_from"], self.bundle_dir, self.progress, facts["degenerate"])

    def check(self, res) -> None:
        entries = self.entries(res)
        if self.prep.cfg.compression.fallback != "auto":  # else judge's fallback rounds change them first
            self.summarize(entries)
        self.checked[res.target] = entries

    def summarize(self, entries: list[dict]) -> None:
        """Where each failed artifact goes wrong, in its manifest entry (`debug`)."""
        if any(e.get("status") == "failed" and "parity" in e and "debug" not in e for e in entries):
            spec = self.prep.graphs[SINGLE].spec
            summarize_failures(self.bundle_dir, entries, self.torch_trace, self.refs.inputs[:FALLBACK_SAMPLES],
                               capture_context(self.prep.cfg, spec, self.cap.program, self.calibration))


class Classification:
    name = "image_classification"
    tensor_golden = True

    # -- prepare -------------------------------------------------------------------------------

    def prepare(self, cfg: ExportConfig, model: Any, example_inputs: Any, progress: Progress) -> Prepared:
        loaded = load_source(cfg, model)
        if example_inputs is not None and not cfg.inputs:
            cfg = _inputs_from_examples(cfg, example_inputs)
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

        compressed, seconds = None, {}
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
            seconds["compress"] = time.perf_counter() - t
            progress.done("compress", f"MACs ×{compressed['macs_ratio']:.2f}, params ×{compressed['params_ratio']:.2f}")
        # pruning/distillation train: their output is not known before they run
        pre = _source_fingerprints(cfg, loaded, tgts, verify_data, cal_data, eval_data) if compressed is None else None
        return Prepared(cfg, {SINGLE: Graph(SINGLE, loaded, spec)}, tgts, State(verify_data, eval_data, cal_data, compressed), pre, seconds)

    # -- references and fingerprints -------------------------------------------------------------

    def references(self, prep: Prepared, captured: dict[str, Captured], progress: Progress) -> References:
        return _references(captured[SINGLE], prep.graphs[SINGLE].spec, prep.state.verify_data)

    def calibration(self, prep: Prepared, work: Path) -> Path | None:
        if prep.state.cal_data is None:
            return None
        path = work / "calibration.npz"
        np.savez(path, **prep.state.cal_data.inputs)
        return path

    def fingerprints(self, prep: Prepared, captured: dict[str, Captured], refs: References) -> dict[str, str]:
        return _fingerprints(prep.cfg, prep.graphs[SINGLE].spec, prep.targets, captured[SINGLE], refs, prep.state.cal_data,
                             prep.state.eval_data)

    # -- checks ----------------------------------------------------------------------------------

    def early_checks(self, prep: Prepared, refs: References, captured: dict[str, Captured], bundle_dir: Path,
                     calibration: Path | None, progress: Progress) -> "_Checks":
        return _Checks(prep, refs, captured[SINGLE], bundle_dir, calibration, progress)

    def judge(self, prep: Prepared, refs: References, converted: Converted, captured: dict[str, Captured], bundle_dir: Path,
              work: Path, progress: Progress) -> Judged:
        cfg, spec, st, tgts = prep.cfg, prep.graphs[SINGLE].spec, prep.state, prep.targets
        cap = captured[SINGLE]
        checks = converted.early or _Checks(prep, refs, cap, bundle_dir, converted.calibration, progress)
        facts = checks.facts()
        degenerate, drop_from = facts["degenerate"], facts["drop_from"]
        checked: dict[str, list[dict]] = dict(converted.cached)
        torch_trace = checks.torch_trace
        for res in converted.results[SINGLE]:
            # a retry of some variants: the kept ones (cached) and the new ones, in the old order
            kept = converted.cached.get(res.target, [])
            new = checks.checked.pop(res.target, None) or checks.entries(res)
            order = converted.variant_order.get(res.target, [])
            checked[res.target] = sorted(kept + new, key=lambda e: order.index(e["variant"]) if e["variant"] in order else len(order))
            if cfg.compression.fallback == "auto" and any(fallback.wants(e) for e in checked[res.target]):
                checked[res.target] = judge.fallback_rounds(checked[res.target], res, tgts[res.target], cfg, spec, refs, st.eval_data,
                                                            drop_from, bundle_dir, work, converted.calibration, torch_trace, progress)
        entries = [e for name in cfg.targets for e in checked.get(name, [])]
        checks.summarize(entries)  # the ones not summarized as they came in
        return Judged(entries, {"torch_metric": facts["torch_metric"], "degenerate": degenerate})

    # -- the bundle ------------------------------------------------------------------------------

    def write_assets(self, prep: Prepared, refs: References, root: Path) -> None:
        _write_assets(root, prep.graphs[SINGLE].spec, refs)

    def manifest(self, prep: Prepared, refs: References, judged: Judged) -> dict:
        cfg, spec, st = prep.cfg, prep.graphs[SINGLE].spec, prep.state
        doc: dict = {"inputs": [_tensor(t, True) for t in spec.inputs], "outputs": [_tensor(t, False) for t in spec.outputs],
                     "budgets": {k: v for k, v in vars(cfg.budgets).items() if v is not None}}
        if st.eval_data is not None:
            doc["metrics"] = {"dataset": cfg.eval.data, "samples": len(st.eval_data), "torch": {"top1": judged.facts["torch_metric"]}}
        degenerate = judged.facts["degenerate"]
        doc["verification"] = {**verify_samples.describe(spec, len(refs.inputs), cfg.verify.inputs),
                               "rule": verdict.RULE, **({"degenerate": degenerate} if degenerate else {})}
        if st.compressed:
            doc["torch_compression"] = st.compressed
            if "source_top1" in st.compressed:
                doc["metrics"]["source"] = {"top1": st.compressed["source_top1"]}
        return doc

    def reverify(self, bundle, progress: Progress) -> dict:
        from ..reverify import reverify_tensors

        return reverify_tensors(bundle, progress)


# -- inputs -----------------------------------------------------------------------------------

def _inputs_from_examples(cfg: ExportConfig, examples: Any) -> ExportConfig:
    """API convenience: declare inputs from example tensors when the config has none."""
    import torch

    from ..config import InputConfig

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
    return [random_inputs(spec, seed=cfg.verify.seed + i) for i in range(cfg.verify.samples)]


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


# -- caching ----------------------------------------------------------------------------------

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


# -- the bundle -------------------------------------------------------------------------------

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


def _tensor(t, is_input: bool) -> dict:
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
