"""Which artifact tensor is which torch node — only from what the converter preserved, never guessed.

- by name (ONNX, Core ML): torch.onnx names values after the FX nodes, coremltools names MIL ops
  after them; the program's outputs are matched by position to the record's output tensors.
- by value, anchored on an fp32 sibling (TFLite): onnx2tf keeps no source names, but the fp32
  file computes the same values as torch. A torch value matches the one fp32 tensor (in NHWC or
  NCHW order) that reproduces it at ≥ `min_snr_db`, with every other candidate ≥ `margin_db`
  worse; a compressed file of the same converter run shares the fp32 file's tensor names.
Anything else is listed as unmatched, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..verify.verdict import output_figures
from .torch_trace import TorchTrace
from .trace import Trace

ANCHOR_MIN_SNR_DB = 40.0
ANCHOR_MARGIN_DB = 10.0


@dataclass(frozen=True)
class Match:
    torch: str
    artifact: str
    perm: tuple[int, ...] | None  # transpose the artifact's value by this to get torch's layout


def _perms(have: tuple, want: tuple) -> list[tuple[int, ...] | None]:
    """The layout changes a converter makes (NHWC/NWC for channels-last) that turn `have` into `want`."""
    options: list[tuple[int, ...] | None] = [None]
    if len(have) == 4:
        options.append((0, 3, 1, 2))
    if len(have) == 3:
        options.append((0, 2, 1))
    return [p for p in options if tuple(np.transpose(np.empty(have, np.int8), p).shape if p else have) == tuple(want)]


def as_torch_layout(value: np.ndarray, perm: tuple[int, ...] | None) -> np.ndarray:
    return np.transpose(value, perm) if perm else value


def by_name(tt: TorchTrace, tr: Trace, output_tensors: list[str]) -> tuple[dict[str, Match], dict[str, str]]:
    alias = dict(zip(tt.outputs, output_tensors))
    matches, unmatched = {}, {}
    for t in tt.order:
        a = alias.get(t, t)
        a = tr.aliases.get(a, a)
        got = tr.values.get(a)
        if got is None:
            unmatched[t] = "no artifact tensor of this name"
        elif got.shape != tt.values[t].shape:
            perms = _perms(got.shape, tt.values[t].shape)
            if len(perms) == 1:
                matches[t] = Match(t, a, perms[0])
            else:
                unmatched[t] = f"same name, shape {list(got.shape)} vs torch {list(tt.values[t].shape)}"
        else:
            matches[t] = Match(t, a, None)
    return matches, unmatched


def by_anchor(tt: TorchTrace, anchor: Trace, min_snr_db: float = ANCHOR_MIN_SNR_DB,
              margin_db: float = ANCHOR_MARGIN_DB) -> tuple[dict[str, Match], dict[str, str]]:
    by_size: dict[int, list[str]] = {}
    for a in dict.fromkeys(anchor.order):
        if a in anchor.values:
            by_size.setdefault(anchor.values[a].size, []).append(a)
    matches, unmatched = {}, {}
    for t in tt.order:
        ref = tt.values[t]
        scored = []
        for a in by_size.get(ref.size, []):
            got = anchor.values[a]
            for perm in _perms(got.shape, ref.shape):
                snr = output_figures(ref, as_torch_layout(got, perm))["snr_db"]
                scored.append((snr, a, perm))
        scored.sort(key=lambda s: -s[0] if s[0] == s[0] else float("inf"))
        if not scored or not scored[0][0] >= min_snr_db:
            unmatched[t] = "no fp32 tensor reproduces it" if scored else "no tensor of its size"
            continue
        best = scored[0]
        rival = next((s for s in scored[1:] if s[1] != best[1]), None)
        if rival is not None and rival[0] > best[0] - margin_db:
            unmatched[t] = f"ambiguous: {best[1]!r} and {rival[1]!r} both reproduce it"
            continue
        matches[t] = Match(t, best[1], best[2])
    return matches, unmatched


def transfer(matches: dict[str, Match], anchor: Trace, tr: Trace) -> tuple[dict[str, Match], dict[str, str]]:
    """Anchor matches carried to a sibling file by tensor name and shape (same converter run, same names)."""
    kept, unmatched = {}, {}
    for t, m in matches.items():
        got = tr.values.get(m.artifact)
        if got is None:
            unmatched[t] = f"the fp32 file's tensor {m.artifact!r} has no namesake here"
        elif got.shape != anchor.values[m.artifact].shape:
            unmatched[t] = f"the fp32 file's tensor {m.artifact!r} has another shape here"
        else:
            kept[t] = m
    return kept, unmatched


def inside_layers(unmatched: dict[str, str], tr: Trace) -> dict[str, str]:
    """Unmatched torch nodes that a layer covers without holding their value (inside a delegate
    call, which logs only its outputs) say so, with the layer."""
    where = {n: key for key, names in tr.covers.items() for n in names}
    return {t: (f"inside {where[t]} ({tr.ops.get(where[t], '')}), which logs only its outputs" if t in where else why)
            for t, why in unmatched.items()}
