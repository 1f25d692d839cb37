"""Verification samples that exercise the model: which inputs every artifact is judged on.

Real data when the config gives it (`verify.inputs`); otherwise seeded inputs over the declared
range: images are random whole pixels through the preprocessing, floats standard normal, and
integer inputs (token ids) span `inputs[].range` — by default the smallest `nn.Embedding` of the
model, so a DistilBERT is checked on its whole vocabulary rather than on ids 0 and 1.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..spec import ModelSpec


def with_integer_ranges(spec: ModelSpec, module: Any) -> ModelSpec:
    """Give integer inputs without a declared range the model's smallest embedding table."""
    ints = [t for t in spec.inputs if not t.dtype.startswith("float") and t.range is None]
    if not ints:
        return spec
    sizes = _embedding_sizes(module)
    if not sizes:
        return spec
    rng = [0, min(sizes)]
    inputs = [dataclasses.replace(t, range=rng) if t in ints else t for t in spec.inputs]
    return dataclasses.replace(spec, inputs=inputs)


def _embedding_sizes(module: Any) -> list[int]:
    import torch

    if isinstance(module, torch.export.ExportedProgram):
        module = module.module()
    if not isinstance(module, torch.nn.Module):
        return []
    return [m.num_embeddings for m in module.modules() if isinstance(m, torch.nn.Embedding)]


def describe(spec: ModelSpec, samples: int, from_data: str | None) -> dict:
    """What the manifest says about the samples the verdict was taken on."""
    if from_data:
        return {"source": from_data, "samples": samples}
    ranges = {}
    for t in spec.inputs:
        if t.is_image:
            ranges[t.name] = "random whole pixels 0..255 through the preprocessing"
        elif t.dtype.startswith("float"):
            ranges[t.name] = "standard normal"
        else:
            ranges[t.name] = f"integers in [{(t.range or [0, 2])[0]}, {(t.range or [0, 2])[1]})"
    return {"source": "seeded random", "samples": samples, "inputs": ranges}


def json_safe(value: Any) -> Any:
    """Non-finite floats → None (the manifest is read by strict JSON parsers on devices)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
