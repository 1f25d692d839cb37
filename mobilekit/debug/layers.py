"""Per matched layer: how far the artifact's value is from torch's, and how much of that it added.

Two SNRs per tensor: `snr_db` over the whole tensor (the verdict's figure) and `channel_snr_db`,
the median over its channels (axis 1, channels torch's values vary in). A few outlier channels
dominate a tensor's power, so the whole-tensor SNR stays high while per-tensor int8 crushes every
other channel to a few levels; the median channel sees it. The split into inherited and own error
uses the channel figure: a tensor's noise-to-signal ratio (NSR = 10^(-SNR/10)) minus the worst NSR
among the nearest matched tensors upstream in the artifact's graph is what this layer added
itself (`own_snr_db`), which ranks the layers to keep in float.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..verify.verdict import SNR_CAP_DB, _snr_db, output_figures
from .match import Match, as_torch_layout
from .torch_trace import TorchTrace
from .trace import Trace


@dataclass
class Layer:
    torch: str
    op: str
    artifact: str
    artifact_op: str
    snr_db: float
    channel_snr_db: float
    cosine: float
    max_abs: float
    inherited_snr_db: float | None  # None: it reads only the model's inputs
    own_snr_db: float

    def to_dict(self) -> dict:
        return {k: (float(f"{v:.5g}") if isinstance(v, float) and math.isfinite(v) else v) for k, v in asdict(self).items()}


def _nsr(snr_db: float) -> float:
    return 10.0 ** (-snr_db / 10.0) if math.isfinite(snr_db) else float("inf")


def _snr(nsr: float) -> float:
    if nsr <= 0.0:
        return SNR_CAP_DB
    return float(min(SNR_CAP_DB, -10.0 * math.log10(nsr)))


def compare(tt: TorchTrace, tr: Trace, matches: dict[str, Match]) -> list[Layer]:
    """One Layer per matched torch node, in torch's execution order."""
    figures: dict[str, dict] = {}
    for t, m in matches.items():
        got = as_torch_layout(tr.values[m.artifact], m.perm)
        figures[t] = {**output_figures(tt.values[t], got), "channel_snr_db": channel_snr_db(tt.values[t], got)}
    # the artifact tensor's error is that of the torch node judged on it (the worst, if several)
    artifact_snr: dict[str, float] = {}
    for t, m in matches.items():
        artifact_snr[m.artifact] = min(artifact_snr.get(m.artifact, SNR_CAP_DB), _finite(figures[t]["channel_snr_db"]))
    layers = []
    for t in tt.order:
        if t not in matches:
            continue
        m, f = matches[t], figures[t]
        upstream = _nearest_matched(tr, m.artifact, set(artifact_snr))
        inherited = min((artifact_snr[a] for a in upstream), default=None)
        snr = _finite(f["channel_snr_db"])
        own = _snr(_nsr(snr) - (_nsr(inherited) if inherited is not None else 0.0))
        layers.append(Layer(torch=t, op=tt.ops.get(t, ""), artifact=m.artifact, artifact_op=tr.ops.get(m.artifact, ""),
                            snr_db=_finite(f["snr_db"]), channel_snr_db=snr, cosine=float(f["cosine"]), max_abs=float(f["max_abs"]),
                            inherited_snr_db=inherited, own_snr_db=own))
    return layers


def channel_snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    """Median over channels (axis 1) of each channel's SNR, centred over samples as the verdict's;
    channels torch's values do not vary in (dead ReLUs) are left out. Whole-tensor SNR for tensors
    without a channel axis."""
    ref = np.asarray(ref, np.float64)
    got = np.asarray(got, np.float64).reshape(ref.shape)
    if ref.ndim < 2 or ref.shape[1] < 2 or not np.isfinite(got).all():
        return output_figures(ref, got)["snr_db"]
    centred = ref - ref.mean(axis=0, keepdims=True) if ref.shape[0] > 1 else ref
    axes = tuple(i for i in range(ref.ndim) if i != 1)
    signal = np.mean(centred**2, axis=axes)
    noise = np.mean((got - ref) ** 2, axis=axes)
    live = signal > 0
    if not live.any():
        return output_figures(ref, got)["snr_db"]
    return float(np.median([_snr_db(float(s), float(n)) for s, n in zip(signal[live], noise[live])]))


def _finite(snr: float) -> float:
    return snr if math.isfinite(snr) else -SNR_CAP_DB  # non-finite output: as bad as it gets


def _nearest_matched(tr: Trace, name: str, matched: set[str]) -> set[str]:
    found: set[str] = set()
    seen = {name}
    todo = list(tr.inputs.get(name, []))
    while todo:
        a = todo.pop()
        if a in seen:
            continue
        seen.add(a)
        if a in matched:
            found.add(a)
        else:
            todo.extend(tr.inputs.get(a, []))
    return found
