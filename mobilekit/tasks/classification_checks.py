"""The verdict on one artifact: structure, parity under the precision's rule, task metric, budgets,
and the fallback rounds for int8 artifacts that fail (the classification task's `judge` stage).

Every comparison goes through `verify.verdict` (one rule for export, `mobilekit verify`, the bench
and the apps' golden tests); what this module adds is the order of the checks and the manifest
entry they fill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import bundle as bundle_mod
from ..capture import Captured
from ..config import ExportConfig
from ..debug import fallback
from ..errors import CheckError, UserError
from ..progress import Progress
from ..spec import ModelSpec
from ..targets.base import ArtifactRecord, Unverifiable
from ..verify import metrics as metrics_mod, samples as verify_samples, verdict
from ..worker import WorkerResult, log_tail

FALLBACK_SAMPLES = 8  # verification samples the fallback traces to rank layers


@dataclass
class References:
    """The verification inputs and the torch model's outputs on them (the golden vectors)."""

    inputs: list[dict[str, np.ndarray]]
    outputs: list[dict[str, np.ndarray]]
    pixels: dict[str, np.ndarray] = field(default_factory=dict)  # uint8 NHWC where invertible


def degenerate(cfg: ExportConfig, refs: References) -> str | None:
    """Stop (exit 2) when torch's outputs cannot tell a good artifact from a bad one.

    With `verify.allow_degenerate` the export goes on and every artifact is `unverified` with
    this reason instead: never `verified` against a reference that proves nothing.
    """
    problems = verdict.reference_problems(refs.outputs)
    if not problems:
        return None
    reason = "reference is degenerate: " + "; ".join(problems)
    if not cfg.verify.allow_degenerate:
        raise UserError(f"the model's outputs cannot verify an artifact: {'; '.join(problems)}",
                        hint="Check the weights (an untrained or zero head?), give real `verify.inputs`, or set "
                             "`verify.allow_degenerate = true` to export the artifacts unverified.")
    return reason


def _rule(cfg: ExportConfig, precision: str) -> verdict.Rule:
    overrides = {name: vars(tol) for name, tol in cfg.verify.tolerances.items()}
    return verdict.rule_for(precision, overrides)


def _classifier_output(spec: ModelSpec) -> str | None:
    if spec.task == "image_classification" or spec.labels:
        return spec.outputs[0].name
    return None


def check_result(res: WorkerResult, target, cfg, spec, refs: References, eval_data, drop_from,
                  bundle_dir: Path, progress: Progress, degenerate: str | None = None) -> list[dict]:
    log_rel = res.log.relative_to(bundle_dir).as_posix() if res.log.is_relative_to(bundle_dir) else None
    if res.error:
        return [_failed(res, "all", res.error, log_rel)]
    entries = []
    for rec in res.records:
        if rec.error:  # this variant did not convert; the others are judged
            progress.warn(f"{rec.target}/{rec.variant}: {rec.error}")
            entries.append(_failed(res, rec.variant, f"{rec.target}: {rec.error}", log_rel))
            continue
        entries.append(_check_artifact(rec, target, cfg, spec, refs, eval_data, drop_from, bundle_dir, log_rel, progress, degenerate))
    return entries


def _failed(res: WorkerResult, variant: str, error: str, log_rel: str | None) -> dict:
    entry = {"target": res.target, "variant": variant, "status": "failed", "error": error}
    if log_rel:
        entry["log"] = log_rel
    tail = log_tail(res.log)
    if tail:
        entry["log_tail"] = tail
    return entry


def _check_artifact(rec: ArtifactRecord, target, cfg, spec, refs, eval_data, drop_from, bundle_dir, log_rel, progress,
                    degenerate: str | None = None) -> dict:
    path = bundle_dir / rec.path
    entry = rec.to_dict()
    entry.update(sha256=bundle_mod.sha256(path), size_bytes=bundle_mod.size_bytes(path))
    if log_rel:
        entry["log"] = log_rel
    # a target may say which precision class fits (Core ML's lut4/int4 → int8, fp16-sparse → fp16)
    rule = _rule(cfg, rec.details.get("tolerance", rec.precision))
    entry["tolerance"] = rule.to_dict()
    entry["verdict_rule"] = verdict.RULE
    try:
        entry["structure"] = target.check_structure(rec, bundle_dir, spec)
    except CheckError as exc:
        entry.update(status="failed", error=f"structural check failed: {exc.one_line()}")
        return entry
    if degenerate:
        entry.update(status="unverified", status_reason=f"unverifiable: {degenerate}")
        progress.warn(f"{rec.target}/{rec.variant}: unverified: {degenerate}")
        return entry
    try:
        run = target.runner(rec, bundle_dir)
    except Unverifiable as exc:
        entry.update(status="unverified", status_reason=str(exc))
        progress.done(f"verify {rec.target}/{rec.variant}", f"unverified: {exc}")
        return entry
    label = f"{rec.target}/{rec.variant}"
    try:
        outs = [run(s) for s in refs.inputs]
    except Exception as exc:
        entry.update(status="failed", error=f"running it failed: {type(exc).__name__}: {str(exc).strip()[:300]}")
        return entry
    figures = verdict.compare(refs.outputs, outs, classifier_output=_classifier_output(spec), rule=rule)
    entry["parity"] = verify_samples.json_safe(figures)
    entry.update(verdict.compute_facts(run, rec.details.get("tolerance", rec.precision)))
    if cfg.latency_runs and not getattr(run, "reference_interpreter", False):  # an interpreter's time says nothing
        entry["latency_ms"] = _latency(run, refs.inputs[0], cfg.latency_runs)
    entry["verified_by"] = getattr(run, "runtime", None) or rec.target
    if eval_data is not None:
        score = metrics_mod.evaluate(run, eval_data, spec.outputs[0].name)
        entry["metrics"] = {"top1": score, "top1_drop": drop_from - score, "samples": len(eval_data)}
    broken = verdict.failures(figures, rule)
    over = budget_failures(entry, cfg.budgets)
    entry["checks"] = {"parity": broken, "budgets": over}
    if verdict.notes(figures):
        entry["checks"]["notes"] = verdict.notes(figures)
    if broken and getattr(run, "program", None) is not None:  # the Core ML interpreter: say where it went wrong
        entry["divergence"] = _first_divergence(run, refs.inputs[0])
    if broken or over:
        entry.update(status="failed", error="; ".join((["parity: " + "; ".join(broken)] if broken else []) + over))
        progress.warn(f"{label}: {entry['error']}")
    else:
        entry["status"] = "verified"
        extra = f", top-1 {entry['metrics']['top1']:.4f}" if "metrics" in entry else ""
        progress.done(f"verify {label}", f"SNR {figures['snr_db']:.1f} dB, max abs {figures['max_abs']:.2g}, "
                                         f"cosine {figures['cosine']:.6f}{extra}")
    return entry


def lazy_torch_trace(captured: Captured, spec: ModelSpec, refs: References):
    """torch's per-node values on the first verification samples, computed once, when a fallback needs them."""
    cache: list = []

    def get():
        if not cache:
            from ..debug.torch_trace import torch_values

            cache.append(torch_values(captured.program, spec, refs.inputs[:FALLBACK_SAMPLES]))
        return cache[0]

    return get


def fallback_rounds(entries: list[dict], res: WorkerResult, target, cfg, spec, refs, eval_data, drop_from, bundle_dir: Path,
              work: Path, cal_path, torch_trace, progress) -> list[dict]:
    """`[compression] fallback = "auto"`: failing int8 artifacts with their worst layers kept in float."""
    from ..debug.run import capture_context, needs_capture

    log_rel = res.log.relative_to(bundle_dir).as_posix() if res.log.is_relative_to(bundle_dir) else None

    def check(rec: ArtifactRecord) -> dict:
        return _check_artifact(rec, target, cfg, spec, refs, eval_data, drop_from, bundle_dir, log_rel, progress)

    context = None
    if needs_capture(res.target):  # traced by lowering it again: from the capture its worker converted
        from ..targets.base import ConvertJob

        job_file = work / res.target / "job.json"
        if job_file.is_file():
            context = capture_context(cfg, spec, Path(ConvertJob.load(job_file).program), cal_path)
    return fallback.apply(entries, target, torch_trace=torch_trace, samples=refs.inputs[:FALLBACK_SAMPLES], check=check,
                          bundle_dir=bundle_dir, work_dir=work / res.target, calibration=cal_path,
                          options=cfg.options(res.target), max_rounds=cfg.compression.fallback_max_rounds, progress=progress,
                          context=context)


def _first_divergence(run, sample: dict) -> str:
    """The first op whose fp16 output leaves its fp32-simulated value (Core ML interpreter runs)."""
    from ..verify.coreml_interp import first_divergence

    try:
        found = first_divergence(run.program, run.native_feeds(sample))
    except Exception as exc:  # diagnosis only: never hide the parity failure behind it
        return f"not located: {type(exc).__name__}: {exc}"
    return str(found) if found else "no single op leaves its fp32-simulated value beyond tolerance"


def _latency(run, sample: dict, runs: int) -> dict:
    """A quick host p50 (after one warm-up run); `mobilekit bench` measures properly."""
    run(sample)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run(sample)
        times.append((time.perf_counter() - t) * 1000)
    return {"p50": float(np.median(times)), "min": float(min(times)), "runs": runs}


def budget_failures(entry: dict, budgets) -> list[str]:
    """One line per broken budget, with the figure and the limit."""
    lines = []
    label = f"{entry['target']}/{entry['variant']}"
    drop = (entry.get("metrics") or {}).get("top1_drop")
    if budgets.max_metric_drop is not None and drop is not None and drop * 100 > budgets.max_metric_drop + 1e-9:
        lines.append(f"budget max_metric_drop: {label} lost {drop * 100:.2f} points of top-1 > {budgets.max_metric_drop}")
    size_mb = entry.get("size_bytes", 0) / 1e6
    if budgets.max_size_mb is not None and size_mb > budgets.max_size_mb:
        lines.append(f"budget max_size_mb: {label} is {size_mb:.3f} MB > {budgets.max_size_mb}")
    p50 = (entry.get("latency_ms") or {}).get("p50")
    if budgets.max_latency_ms is not None and p50 is not None and p50 > budgets.max_latency_ms:
        lines.append(f"budget max_latency_ms: {label} p50 {p50:.3f} ms > {budgets.max_latency_ms}")
    return lines
