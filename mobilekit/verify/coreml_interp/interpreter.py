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
from ._torch import one_thread
from .registry import ops


class OpError(RuntimeError):
    """An op failed while running; names the op."""


_BIG = 4096  # elements: above this, fp16 <-> fp32 casts go through torch (vectorised F16C, same IEEE rounding)


def _half(x: np.ndarray) -> np.ndarray:
    """float32 → float16, round to nearest even (NumPy's scalar-loop cast is ~10× slower)."""
    if x.dtype == np.float32 and x.size >= _BIG:
        from ._torch import torch

        return torch().from_numpy(np.ascontiguousarray(x)).to(torch().float16).numpy()
    return x.astype(np.float16)  # float64 rounds straight to fp16 here: no double rounding


def _single(x: np.ndarray) -> np.ndarray:
    """float16 → float32 (exact either way)."""
    if x.size >= _BIG:
        from ._torch import torch

        return torch().from_numpy(np.ascontiguousarray(x)).to(torch().float32).numpy()
    return x.astype(np.float32)


def _cast_out(value: Any, dtype: str, fp16: bool) -> Any:
    if not isinstance(value, (np.ndarray, np.generic, int, float, bool)):
        return value  # strings, dicts (the classifier's outputs)
    value = np.asarray(value)
    if dtype == "fp16":
        if not fp16:
            return value.astype(np.float32)
        return value if value.dtype == np.float16 else _half(value)
    np_dtype = NP_DTYPE.get(dtype)
    return value.astype(np_dtype) if np_dtype is not None else value


def _upcast(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == np.float16:
        return _single(value)
    if isinstance(value, np.float16):
        return np.float32(value)
    return value


def _has_ref(a: Any) -> bool:
    return isinstance(a, Ref) or (isinstance(a, tuple) and any(_has_ref(x) for x in a))


def _plan(program: Program) -> list[tuple[Any, dict[str, Any], dict[str, Any]]]:
    """Per step: (step, constant args already upcast, args that name earlier outputs); built once per program."""
    built = program.meta.get("plan")
    if built is not None and built[0] is program.steps and built[1] == len(program.steps):
        return built[2]
    plan = []  # (re)built when the step list is new or was changed
    for step in program.steps:
        static = {k: _resolve_const(v) for k, v in step.args.items() if not _has_ref(v)}
        dynamic = {k: v for k, v in step.args.items() if _has_ref(v)}
        plan.append((step, static, dynamic))
    program.meta["plan"] = (program.steps, len(program.steps), plan)
    return plan


def _resolve_const(a: Any) -> Any:
    if isinstance(a, tuple):
        return tuple(_resolve_const(x) for x in a)
    return _upcast(a)


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
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"), one_thread():
        for step, static, dynamic in _plan(program):
            key = (step.name, fp16)
            if key in cache:
                outs = cache[key]
                env.update(outs)
                if trace is not None:
                    trace(step, outs)
                continue
            args = dict(static)
            for k, v in dynamic.items():
                args[k] = resolve(v)
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
