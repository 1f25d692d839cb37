"""Per matched layer: how far the artifact's value is from torch's, and how much of that it added.

A tensor's noise-to-signal ratio (NSR = 10^(-SNR/10)) is split into what its inputs already carried
(the worst NSR among the nearest matched tensors upstream in the artifact's graph) and the rest,
which this layer added itself: `own_snr_db` ranks the layers to keep in float.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..verify.verdict import SNR_CAP_DB, output_figures
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
        figures[t] = output_figures(tt.values[t], as_torch_layout(tr.values[m.artifact], m.perm))
    # the artifact tensor's error is that of the torch node judged on it (the worst, if several)
    artifact_snr: dict[str, float] = {}
    for t, m in matches.items():
        artifact_snr[m.artifact] = min(artifact_snr.get(m.artifact, SNR_CAP_DB), _finite(figures[t]["snr_db"]))
    layers = []
    for t in tt.order:
        if t not in matches:
            continue
        m, f = matches[t], figures[t]
        upstream = _nearest_matched(tr, m.artifact, set(artifact_snr))
        inherited = min((artifact_snr[a] for a in upstream), default=None)
        snr = _finite(f["snr_db"])
        own = _snr(_nsr(snr) - (_nsr(inherited) if inherited is not None else 0.0))
        layers.append(Layer(torch=t, op=tt.ops.get(t, ""), artifact=m.artifact, artifact_op=tr.ops.get(m.artifact, ""),
                            snr_db=snr, cosine=float(f["cosine"]), max_abs=float(f["max_abs"]),
                            inherited_snr_db=inherited, own_snr_db=own))
    return layers


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
