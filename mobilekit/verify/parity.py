"""Parity: how far an artifact's outputs are from the torch model's, and whether that is allowed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class OutputParity:
    max_abs: float
    mean_abs: float
    cosine: float


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def compare(refs: list[dict[str, np.ndarray]], outs: list[dict[str, np.ndarray]], *, classifier_output: str | None) -> dict:
    """Figures over all samples: per output and summarised (the manifest's `parity`)."""
    names = list(refs[0])
    per: dict[str, OutputParity] = {}
    for name in names:
        diffs = []
        cos = []
        for r, o in zip(refs, outs):
            ref = np.asarray(r[name], np.float64)
            got = np.asarray(o[name], np.float64).reshape(ref.shape)
            diffs.append(np.abs(ref - got).ravel())
            cos.append(_cosine(ref, got))
        d = np.concatenate(diffs)
        per[name] = OutputParity(float(d.max()) if d.size else 0.0, float(d.mean()) if d.size else 0.0, float(min(cos)))
    figures = {
        "max_abs": max(p.max_abs for p in per.values()),
        "mean_abs": float(np.mean([p.mean_abs for p in per.values()])),
        "cosine": min(p.cosine for p in per.values()),
        "samples": len(refs),
        "per_output": {n: vars(p) for n, p in per.items()},
    }
    if classifier_output:
        agree = [int(np.argmax(r[classifier_output]) == np.argmax(o[classifier_output])) for r, o in zip(refs, outs)]
        figures["top1_agreement"] = float(np.mean(agree))
    return figures


def failures(figures: dict, tolerance: dict) -> list[str]:
    """One line per broken limit, naming the output, the figure and the tolerance."""
    lines = []
    worst = lambda key, pick: pick(figures["per_output"].items(), key=lambda kv: kv[1][key])  # noqa: E731
    if tolerance.get("max_abs") is not None and figures["max_abs"] > tolerance["max_abs"]:
        name, p = worst("max_abs", max)
        lines.append(f"output {name!r}: max abs error {p['max_abs']:.3g} > tolerance {tolerance['max_abs']:.3g}")
    if tolerance.get("mean_abs") is not None and figures["mean_abs"] > tolerance["mean_abs"]:
        name, p = worst("mean_abs", max)
        lines.append(f"output {name!r}: mean abs error {p['mean_abs']:.3g} > tolerance {tolerance['mean_abs']:.3g}")
    if tolerance.get("min_cosine") is not None and figures["cosine"] < tolerance["min_cosine"]:
        name, p = worst("cosine", min)
        lines.append(f"output {name!r}: cosine similarity {p['cosine']:.6f} < tolerance {tolerance['min_cosine']}")
    agreement = figures.get("top1_agreement")
    if tolerance.get("min_top1_agreement") is not None and agreement is not None and agreement < tolerance["min_top1_agreement"]:
        lines.append(f"top-1 agreement {agreement:.3f} < tolerance {tolerance['min_top1_agreement']}")
    return lines
