"""Executes a `Program` op by op, with float16 simulation.

Every op computes in float32 (or its integer dtype); each output is then cast to the dtype the
program declares. With `fp16=True` (the default) an fp16 output is rounded to float16, so
values above 65504 become inf and tiny ones flush to zero, as on a device computing in fp16.
With `fp16=False` fp16 outputs stay float32: the same program in "fp32 simulation", which is
what `first_divergence` compares against.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .program import NP_DTYPE, Program, Ref
from .registry import ops


class OpError(RuntimeError):
    """An op failed while running; names the op."""


def _cast_out(value: Any, dtype: str, fp16: bool) -> Any:
    if not isinstance(value, (np.ndarray, np.generic, int, float, bool)):
        return value  # strings, dicts (the classifier's outputs)
    if dtype == "fp16":
        return np.asarray(value).astype(np.float16 if fp16 else np.float32)
    np_dtype = NP_DTYPE.get(dtype)
    return np.asarray(value).astype(np_dtype) if np_dtype is not None else np.asarray(value)


def _upcast(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == np.float16:
        return value.astype(np.float32)
    if isinstance(value, np.float16):
        return np.float32(value)
    return value


def run(program: Program, feeds: dict[str, np.ndarray], *, fp16: bool = True,
        trace: Callable[[Any, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the program on `feeds` (function input name → array); returns every function output.

    `trace(step, {output name: value})` is called after each op (for divergence reports).
    """
    table = ops()
    env: dict[str, Any] = {}
    for name, (_shape, dtype) in program.inputs.items():
        if name not in feeds:
            raise KeyError(f"missing input {name!r} (the program takes {sorted(program.inputs)})")
        env[name] = _cast_out(np.asarray(feeds[name]), dtype, fp16)

    def resolve(a: Any) -> Any:
        if isinstance(a, Ref):
            return _upcast(env[a.name])
        if isinstance(a, tuple):
            return tuple(resolve(x) for x in a)
        return _upcast(a)

    cache = program.meta.setdefault("constexpr_cache", {})  # weights: decompress once per precision mode
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for step in program.steps:
            key = (step.name, fp16)
            if key in cache:
                outs = cache[key]
                env.update(outs)
                if trace is not None:
                    trace(step, outs)
                continue
            args = {k: resolve(v) for k, v in step.args.items()}
            try:
                result = table[step.op_type](**args)
            except Exception as exc:
                raise OpError(f"{step.op_type} {step.name!r} failed: {type(exc).__name__}: {exc}") from exc
            if not isinstance(result, tuple):
                result = (result,)
            if len(result) != len(step.outputs):
                raise OpError(f"{step.op_type} {step.name!r} gave {len(result)} outputs, the program declares {len(step.outputs)}")
            outs = {}
            for (name, dtype), value in zip(step.outputs, result):
                env[name] = outs[name] = _cast_out(value, dtype, fp16)
            if step.op_type.startswith("constexpr_"):
                cache[key] = outs
            if trace is not None:
                trace(step, outs)
    return {name: env[name] for name in program.outputs}
