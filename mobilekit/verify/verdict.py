"""THE verification rule: one module decides whether an artifact behaves like its source model.

Export, `mobilekit verify`, the bench's checks and the device-side golden tests all judge with
this rule (the device tests read the thresholds that the manifest records per artifact).

The statistic is scale-aware. Per output, over all verification samples:

- `snr_db`: the power of the *input-dependent* part of the torch output (its deviation from the
  mean over the samples) over the power of the artifact's error, in dB. Centring matters: an
  output that is mostly a constant offset would otherwise grant any artifact a high SNR while the
  part that carries information is lost. With a single sample the raw power is used.
- `cosine` (the worst sample), `max_abs` / `mean_abs` (raw, for people), and `rel_max_abs`
  (max abs error ÷ the reference's largest magnitude).
- For classifier outputs, top-1 agreement on *decisive* samples: a sample whose reference top-1
  and top-2 logits are closer than `tie_margin` × that sample's logit spread is a near-tie in the
  model itself; a flip there says nothing about the artifact and is counted as a tie, not a miss.

NaN or inf anywhere fails. Before any artifact is judged, `reference_problems` rejects torch
outputs that cannot tell a good artifact from a bad one: non-finite, constant, or independent of
the input. Thresholds per precision (`RULES`) were chosen from `bench/verdict_study.py`
(`bench/results/verdict_study.json`): across the architectures built there, every correct
conversion clears them with a margin and every deliberately broken one misses.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Iterable, Mapping

import numpy as np

RULE = "mobilekit.verdict/1"
SNR_CAP_DB = 200.0  # an exact match: JSON has no inf
# Variation across inputs below this fraction of an output's magnitude: fp32 cannot resolve it
# (eps 1.2e-7 per op), so no artifact can be checked against it.
MIN_INPUT_DEPENDENCE = 1e-5
# int8 judged on fewer samples than this would turn one flip into a verdict.
MIN_SAMPLES_FOR_AGREEMENT = 16


@dataclass(frozen=True)
class Rule:
    """Limits for one precision class. None means the figure is recorded but not judged."""

    min_snr_db: float | None = None
    min_cosine: float | None = None
    min_top1_agreement: float | None = None
    tie_margin: float = 0.0  # reference top-1/top-2 gap ÷ logit spread below which a flip is a tie
    max_abs: float | None = None  # optional absolute limits a user may add; off by default
    mean_abs: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


# Chosen from bench/results/verdict_study.json (see the README's "Verification" section).
RULES: dict[str, Rule] = {
    "fp32": Rule(min_snr_db=60.0, min_cosine=0.99999, min_top1_agreement=1.0, tie_margin=1e-3),
    "fp16": Rule(min_snr_db=30.0, min_cosine=0.999, min_top1_agreement=1.0, tie_margin=2e-2),
    "int8": Rule(min_snr_db=12.0, min_cosine=0.97, min_top1_agreement=0.9, tie_margin=5e-2),
}


def precision_class(precision: str) -> str:
    """fp32 / fp16 / int8 for any precision name a target reports (int4, lut6, fp16-sparse, …)."""
    if precision in RULES:
        return precision
    if "int" in precision or "lut" in precision or "palett" in precision:
        return "int8"
    if "16" in precision:
        return "fp16"
    return "fp32"


def rule_for(precision: str, overrides: Mapping[str, Mapping] | None = None) -> Rule:
    """The rule for a precision, with the user's `[verify.tolerances.<class>]` fields on top."""
    cls = precision_class(precision)
    rule = RULES[cls]
    extra = {k: v for k, v in ((overrides or {}).get(cls) or {}).items() if v is not None}
    return replace(rule, **extra) if extra else rule


# -- the reference ------------------------------------------------------------------------------

def reference_problems(refs: list[Mapping[str, np.ndarray]]) -> list[str]:
    """Why these torch outputs cannot judge an artifact; empty when they can.

    Non-finite values in any output are a problem. Constant or input-independent outputs are a
    problem only when *every* output is so (a model may return a fixed buffer beside its logits).
    """
    if not refs:
        return ["no verification samples"]
    problems, flat = [], []
    for name in refs[0]:
        stack = np.stack([np.asarray(r[name], np.float64) for r in refs])
        bad = ~np.isfinite(stack)
        if bad.any():
            sample, *index = np.argwhere(bad)[0].tolist()
            problems.append(f"output {name!r} is {stack[(sample, *index)]} at sample {sample}, index {tuple(index)}")
            continue
        if stack.size and stack.max() == stack.min():
            flat.append(f"output {name!r} is constant ({float(stack.flat[0]):g}) on all {len(refs)} verification inputs")
        elif len(refs) > 1 and input_dependence(stack) < MIN_INPUT_DEPENDENCE:
            flat.append(f"output {name!r} barely depends on the input (variation across {len(refs)} inputs is "
                        f"{input_dependence(stack):.1e} of its size)")
    if flat and len(flat) == len(refs[0]):
        problems.extend(flat)
    return problems


def input_dependence(stack: np.ndarray) -> float:
    """RMS deviation across samples ÷ RMS magnitude (0 when every sample gives the same output)."""
    rms = math.sqrt(float(np.mean(stack**2)))
    if rms == 0.0:
        return 0.0
    return math.sqrt(float(np.mean((stack - stack.mean(axis=0, keepdims=True)) ** 2))) / rms


# -- the figures --------------------------------------------------------------------------------

def _snr_db(signal_power: float, noise_power: float) -> float:
    if noise_power == 0.0:
        return SNR_CAP_DB
    if signal_power == 0.0:
        return -SNR_CAP_DB
    return float(min(SNR_CAP_DB, 10.0 * math.log10(signal_power / noise_power)))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0  # an exact zero where torch gives zero; the reference check rejects all-zero models
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def output_figures(ref: np.ndarray, got: np.ndarray) -> dict:
    """Figures for one output; `ref`/`got` are stacked over samples (sample axis first)."""
    ref = np.asarray(ref, np.float64)
    got = np.asarray(got, np.float64).reshape(ref.shape)
    finite = bool(np.isfinite(got).all())
    if not finite:
        bad = np.argwhere(~np.isfinite(got))[0].tolist()
        return {"finite": False, "first_non_finite": {"sample": bad[0], "index": bad[1:], "value": str(got[tuple(bad)])},
                "max_abs": float("nan"), "mean_abs": float("nan"), "cosine": float("nan"), "snr_db": float("nan"),
                "rel_max_abs": float("nan")}
    err = got - ref
    centred = ref - ref.mean(axis=0, keepdims=True) if ref.shape[0] > 1 else ref
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    per_sample_cos = [_cosine(r.ravel(), g.ravel()) for r, g in zip(ref, got)]
    return {
        "finite": True,
        "max_abs": float(np.abs(err).max()) if err.size else 0.0,
        "mean_abs": float(np.abs(err).mean()) if err.size else 0.0,
        "rel_max_abs": float(np.abs(err).max() / scale) if scale > 0 else (0.0 if not err.any() else float("inf")),
        "cosine": float(min(per_sample_cos)) if per_sample_cos else 1.0,
        "snr_db": _snr_db(float(np.mean(centred**2)), float(np.mean(err**2))),
        "input_dependence": input_dependence(ref) if ref.shape[0] > 1 else None,
    }


def agreement(ref: np.ndarray, got: np.ndarray, tie_margin: float) -> dict:
    """Top-1 agreement of a classifier output over samples, near-ties in the reference set apart."""
    ref = np.asarray(ref, np.float64).reshape(len(ref), -1)
    got = np.asarray(got, np.float64).reshape(ref.shape)
    agree = ref.argmax(axis=1) == got.argmax(axis=1)
    top2 = np.sort(ref, axis=1)[:, -2:] if ref.shape[1] > 1 else np.concatenate([ref, ref], axis=1)
    gap = top2[:, 1] - top2[:, 0]
    spread = ref.std(axis=1)
    tie = gap <= tie_margin * np.where(spread > 0, spread, 1.0)
    decisive = ~tie
    flips = [int(i) for i in np.flatnonzero(~agree & decisive)]
    return {
        "top1_agreement": float(agree.mean()),
        "decisive_samples": int(decisive.sum()),
        "top1_agreement_decisive": float(agree[decisive].mean()) if decisive.any() else None,
        "ties": int(tie.sum()),
        "flipped_samples": flips,
        "reference_classes": int(len(np.unique(ref.argmax(axis=1)))),
    }


def compare(refs: list[Mapping[str, np.ndarray]], outs: list[Mapping[str, np.ndarray]], *,
            classifier_output: str | None, rule: Rule | None = None) -> dict:
    """The manifest's `parity`: per output and summarised, with the rule they were taken under."""
    per = {}
    for name in refs[0]:
        per[name] = output_figures(np.stack([np.asarray(r[name]) for r in refs]),
                                   np.stack([np.asarray(o[name]).reshape(np.shape(r[name])) for r, o in zip(refs, outs)]))
    figures: dict = {
        "max_abs": max(p["max_abs"] for p in per.values()),
        "mean_abs": float(np.mean([p["mean_abs"] for p in per.values()])),
        "cosine": min(p["cosine"] for p in per.values()),
        "snr_db": min(p["snr_db"] for p in per.values()),
        "finite": all(p["finite"] for p in per.values()),
        "samples": len(refs),
        "per_output": per,
    }
    if any(math.isnan(p["cosine"]) for p in per.values()):  # min() would skip a NaN
        figures.update(cosine=float("nan"), snr_db=float("nan"), max_abs=float("nan"))
    if classifier_output and per[classifier_output]["finite"]:
        figures.update(agreement(np.stack([np.asarray(r[classifier_output]) for r in refs]),
                                 np.stack([np.asarray(o[classifier_output]) for o in outs]),
                                 rule.tie_margin if rule else 0.0))
    return figures


def failures(figures: Mapping, rule: Rule) -> list[str]:
    """One line per broken limit, naming the output, the figure and the limit. NaN never passes."""
    lines = []
    per = figures["per_output"]
    for name, p in per.items():
        if not p["finite"]:
            f = p["first_non_finite"]
            lines.append(f"output {name!r} is {f['value']} at sample {f['sample']} (torch's is finite)")
    if lines:
        return lines

    def worst(key: str, pick) -> tuple[str, dict]:
        return pick(per.items(), key=lambda kv: kv[1][key])

    if rule.min_snr_db is not None and not figures["snr_db"] >= rule.min_snr_db:
        name, p = worst("snr_db", min)
        lines.append(f"output {name!r}: SNR {p['snr_db']:.1f} dB < {rule.min_snr_db:g} dB "
                     f"(max abs error {p['max_abs']:.3g}, {p['rel_max_abs']:.2%} of its largest value)")
    if rule.min_cosine is not None and not figures["cosine"] >= rule.min_cosine:
        name, p = worst("cosine", min)
        lines.append(f"output {name!r}: cosine similarity {p['cosine']:.6f} < {rule.min_cosine}")
    if rule.max_abs is not None and not figures["max_abs"] <= rule.max_abs:
        name, p = worst("max_abs", max)
        lines.append(f"output {name!r}: max abs error {p['max_abs']:.3g} > tolerance {rule.max_abs:.3g}")
    if rule.mean_abs is not None and not figures["mean_abs"] <= rule.mean_abs:
        name, p = worst("mean_abs", max)
        lines.append(f"output {name!r}: mean abs error {p['mean_abs']:.3g} > tolerance {rule.mean_abs:.3g}")
    decisive = figures.get("top1_agreement_decisive")
    if rule.min_top1_agreement is not None and decisive is not None and decisive < rule.min_top1_agreement - 1e-12:
        lines.append(f"top-1 agreement {decisive:.3f} on {figures['decisive_samples']} decisive samples < "
                     f"{rule.min_top1_agreement} (flipped: samples {figures['flipped_samples'][:8]})")
    return lines


def notes(figures: Mapping) -> list[str]:
    """What the figures cannot say, for the manifest (never a failure by itself)."""
    out = []
    if figures.get("reference_classes") == 1 and figures.get("samples", 0) >= 4:
        out.append(f"all {figures['samples']} verification samples are one class for torch: top-1 agreement is uninformative")
    if figures.get("decisive_samples") is not None and figures["decisive_samples"] < MIN_SAMPLES_FOR_AGREEMENT:
        out.append(f"top-1 agreement judged on {figures['decisive_samples']} decisive samples "
                   f"(< {MIN_SAMPLES_FOR_AGREEMENT}: give verify.inputs or raise verify.samples)")
    for name, p in figures.get("per_output", {}).items():
        if p.get("input_dependence") is not None and p["input_dependence"] < MIN_INPUT_DEPENDENCE:
            out.append(f"output {name!r} does not depend on the input: judged against its constant value")
    return out


def compute_facts(run, precision: str) -> dict:
    """Precision honesty: what the host really computed in when it judged the artifact."""
    compute = getattr(run, "compute", None)
    if compute is None:
        return {"verified_compute": "not stated by the runner"}
    out = {"verified_compute": compute}
    declared = precision_class(precision)
    if declared == "fp16" and not compute.startswith("fp16"):
        out["verified_compute_note"] = (f"the host runtime computes this fp16 artifact in {compute}: fp16 overflow or "
                                        "underflow on a device's fp16 path is not caught by this check")
    return out


# -- sequences (translation) ---------------------------------------------------------------------

# A greedy step whose torch top-1/top-2 logit gap is under this fraction of the step's logit
# spread is a near-tie in the model: an artifact that takes the other token there has not behaved
# worse, and int8 kernels that differ between CPUs (VNNI vs AVX2) do take it.
SEQUENCE_TIE_MARGIN = {"fp32": 1e-4, "fp16": 1e-2, "int8": 5e-2}


def first_difference(ref_ids: list[int], got_ids: list[int]) -> int | None:
    for i, (a, b) in enumerate(zip(ref_ids, got_ids)):
        if a != b:
            return i
    return None if len(ref_ids) == len(got_ids) else min(len(ref_ids), len(got_ids))


def step_margins(step_logits: np.ndarray) -> tuple[list[float], list[float]]:
    """Per greedy step of torch's path: its top-1/top-2 logit gap and the logits' spread."""
    rows = np.asarray(step_logits, np.float64).reshape(len(step_logits), -1)
    top2 = np.sort(rows, axis=1)[:, -2:]
    return [float(g) for g in top2[:, 1] - top2[:, 0]], [float(s) for s in rows.std(axis=1)]


def sequence_judgement(ref_ids: list[int], got_ids: list[int], margins: tuple[list[float], list[float]] | None,
                       precision: str) -> dict:
    """Exact, a near-tie flip in torch's own decision, or a real difference (with where and how much).

    `margins`: `step_margins` of torch's logits along its own path (None: no tie rule).
    """
    step = first_difference(ref_ids, got_ids)
    if step is None:
        return {"outcome": "exact"}
    row = {"outcome": "different", "step": step, "torch_token": ref_ids[step] if step < len(ref_ids) else None,
           "artifact_token": got_ids[step] if step < len(got_ids) else None}
    if margins is not None and step < len(margins[0]):
        gap, spread = margins[0][step], margins[1][step] or 1.0
        row.update(torch_gap=gap, gap_over_spread=gap / spread)
        if row["artifact_token"] is not None and gap / spread <= SEQUENCE_TIE_MARGIN[precision_class(precision)]:
            row["outcome"] = "tie"
    return row


def token_exact_verdict(judgements: Iterable[Mapping], need: float) -> dict:
    """The share of sentences that match torch (near-tie flips count as matches) against `need`."""
    js = list(judgements)
    exact = sum(j["outcome"] == "exact" for j in js)
    ties = sum(j["outcome"] == "tie" for j in js)
    share = (exact + ties) / len(js) if js else 0.0
    return {"token_exact": exact / len(js) if js else 0.0, "token_exact_with_ties": share, "ties": ties,
            "sentences": len(js), "min_token_exact": need, "passed": share + 1e-12 >= need}
