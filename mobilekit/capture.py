"""One torch.export capture, shared by every target.

The capture is saved as a `.pt2` in the work folder: workers load it instead of re-running the
user's code, so all targets convert the same graph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._imports import first_line
from .errors import ConversionError, SourceError
from .source import Loaded
from .spec import ModelSpec

_TORCH_DTYPES = {"float32": "float32", "int64": "int64", "int32": "int32"}


@dataclass(frozen=True)
class Captured:
    program: Path  # torch.export .pt2
    module: Any  # the eager callable the reference outputs come from
    output_shapes: list[list[int]]
    output_dtypes: list[str]
    seconds: float
    fingerprint: str = ""  # the graph's code and every weight's bytes: what the targets convert


def example_inputs(spec: ModelSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """A seeded example batch matching the spec; images are preprocessed random pixels."""
    rng = np.random.default_rng(seed)
    out = {}
    for t in spec.inputs:
        if t.is_image:
            pre = t.preprocessing
            px = rng.integers(0, 256, size=t.shape).astype(np.float32)
            mean = np.array(pre["mean"], np.float32).reshape(1, -1, 1, 1)
            std = np.array(pre["std"], np.float32).reshape(1, -1, 1, 1)
            out[t.name] = ((px * pre["scale"] - mean) / std).astype(np.float32)
        elif t.dtype == "float32":
            out[t.name] = rng.standard_normal(t.shape).astype(np.float32)
        else:
            low, high = t.range or (0, 2)
            out[t.name] = rng.integers(low, high, size=t.shape).astype(t.dtype)
    return out


def run_torch(module: Any, spec: ModelSpec, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run the eager model on spec inputs; outputs flattened to a list of arrays."""
    import torch

    args = tuple(torch.from_numpy(np.ascontiguousarray(feeds[t.name])) for t in spec.inputs)
    with torch.inference_mode():
        result = module(*args)
    return [t.detach().cpu().numpy() for t in _flatten(result)]


def _flatten(result: Any) -> list:
    import torch

    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):
        return [t for v in result.values() for t in _flatten(v)]
    if isinstance(result, (list, tuple)):
        return [t for v in result for t in _flatten(v)]
    raise SourceError(f"the model returned a {type(result).__name__}; only tensors (or tuples/dicts of them) can be exported", hint="Return tensors from forward().")


def capture(loaded: Loaded, spec: ModelSpec, work_dir: Path) -> Captured:
    import torch

    started = time.perf_counter()
    feeds = example_inputs(spec)
    args = tuple(torch.from_numpy(feeds[t.name]) for t in spec.inputs)
    module = loaded.module
    if isinstance(module, torch.export.ExportedProgram):
        ep = module
        module = ep.module()
    else:
        ep = None
    shapes = ", ".join(f"{t.name} {list(t.shape)}" for t in spec.inputs)
    try:
        outs = run_torch(module, spec, feeds)
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(
            f"the model rejects the declared inputs ({shapes}): {type(exc).__name__}: {first_line(exc)}",
            hint="Fix `inputs[].shape`/`dtype` in the config to what the model's forward() takes.",
        ) from None
    if spec.outputs and len(spec.outputs) != len(outs):
        raise SourceError(
            f"the config declares {len(spec.outputs)} outputs but the model returns {len(outs)}",
            hint="List one `[[outputs]]` entry per tensor the model returns.",
        )
    if ep is None:
        ep = _export(module, args, spec, loaded.kind)
    path = work_dir / "program.pt2"
    torch.export.save(ep, str(path))
    return Captured(
        program=path,
        module=module,
        output_shapes=[list(o.shape) for o in outs],
        output_dtypes=[str(o.dtype) for o in outs],
        seconds=time.perf_counter() - started,
        fingerprint=graph_fingerprint(ep),
    )


def graph_fingerprint(ep) -> str:
    import hashlib

    h = hashlib.sha256(ep.graph_module.code.encode())
    state = {**ep.state_dict, **getattr(ep, "constants", {})}
    for name in sorted(state):
        value = state[name]
        h.update(name.encode())
        if hasattr(value, "detach"):
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _export(module: Any, args: tuple, spec: ModelSpec, kind: str):
    import torch

    try:
        if kind == "torchscript":
            from torch._export.converter import TS2EPConverter

            return TS2EPConverter(module, args).convert()
        dynamic = None
        if any(t.dynamic for t in spec.inputs):
            dynamic = tuple(
                {i: torch.export.Dim(f"{t.name}_{i}", min=1, max=4096) for i in t.dynamic} or None for t in spec.inputs
            )
        return torch.export.export(module, args, dynamic_shapes=dynamic, strict=False)
    except Exception as exc:
        raise ConversionError("capture", f"torch.export failed: {type(exc).__name__}: {first_line(exc)}",
                              hint="Make forward() traceable by torch.export (no data-dependent Python control flow).") from None
