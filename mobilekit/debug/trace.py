"""What a tracer returns: an artifact's intermediate values on the debug samples, and its graph."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """Intermediate tensors of one artifact, stacked over samples (sample axis first), float.

    `values` are keyed by the artifact's own tensor names, in the artifact's layout; `order` is
    execution order; `inputs[name]` are the tensors the op producing `name` read (constants
    left out), so the error a layer inherits can be traced back.
    """

    values: dict[str, np.ndarray]
    order: list[str]
    inputs: dict[str, list[str]]
    ops: dict[str, str]  # tensor name → the op type that produced it
    runtime: str
    graph: str = "main"  # the graph's name, as Model Explorer keys node data
    aliases: dict[str, str] = field(default_factory=dict)  # another name of a value → its key in `values`
    notes: list[str] = field(default_factory=list)
    # a layer that runs many graph nodes as one (an ExecuTorch delegate call) → the nodes it covers
    covers: dict[str, list[str]] = field(default_factory=dict)


class NotTraceable(Exception):
    """This artifact cannot be traced on this host or in this runtime; the message says why, in one line."""


def stack(per_sample: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """[{name: (1, ...)}] per sample → {name: (N, ...)}; names missing from any sample are dropped."""
    if not per_sample:
        return {}
    names = set(per_sample[0]).intersection(*per_sample[1:])
    # a scalar gets a sample axis of its own; everything else already has batch 1 first
    return {n: np.concatenate([np.asarray(s[n], np.float32).reshape(np.shape(s[n]) or (1,)) for s in per_sample], axis=0)
            for n in names}
