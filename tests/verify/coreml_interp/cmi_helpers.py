"""Helpers for the Core ML interpreter tests: build a tiny MIL program, run it, compare."""

from __future__ import annotations

import numpy as np


def ct():
    from mobilekit.targets.coreml import _coremltools

    return _coremltools()  # without importing TensorFlow


_NAMES = ["x0", "x1", "x2", "x3"]


def mil_program(body, *inputs: np.ndarray, opset: str = "iOS17"):
    """A MIL program whose inputs are `inputs` (shapes/dtypes) and whose body is `body(mb, *vars)`."""
    coremltools = ct()
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    dt = {np.dtype(np.float32): types.fp32, np.dtype(np.float16): types.fp16, np.dtype(np.int32): types.int32,
          np.dtype(np.bool_): types.bool}
    specs = [mb.TensorSpec(shape=a.shape, dtype=dt[a.dtype]) for a in inputs]
    fns = {
        1: lambda x0: body(mb, x0),
        2: lambda x0, x1: body(mb, x0, x1),
        3: lambda x0, x1, x2: body(mb, x0, x1, x2),
    }
    return mb.program(input_specs=specs, opset_version=getattr(coremltools.target, opset))(fns[len(inputs)])


def run_mil(body, *inputs: np.ndarray, opset: str = "iOS17", fp16: bool = True):
    """Build, flatten and run through the interpreter; the function's outputs as a list."""
    from mobilekit.verify.coreml_interp.interpreter import run
    from mobilekit.verify.coreml_interp.program import from_mil

    prog = from_mil(mil_program(body, *inputs, opset=opset))
    out = run(prog, {n: a for n, a in zip(_NAMES, inputs)}, fp16=fp16)
    return [out[n] for n in prog.outputs]


def rand(*shape, seed: int = 0, dtype=np.float32, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def close(got, want, atol: float = 1e-5, rtol: float = 1e-5):
    got = np.asarray(got)
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=atol, rtol=rtol)
