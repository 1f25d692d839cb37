"""A reference interpreter for Core ML ML Programs: checks Core ML numerics without a Mac.

The MIL program is read from the `.mlpackage` with coremltools (no Core ML runtime) and run op
by op with NumPy/torch; fp16 programs are simulated by rounding each fp16 op output to float16.
Unknown ops raise `UnsupportedOp` before anything runs. Heavy imports happen on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["UnsupportedOp", "runner", "bundle_runner", "first_divergence", "torch_values", "load", "run_program",
           "VERIFIED_BY", "__version__"]

from .registry import UnsupportedOp  # noqa: E402  (light: no numpy-heavy work at import)


def __getattr__(name):  # lazy: keep `import mobilekit.verify.coreml_interp` cheap
    if name in ("runner", "bundle_runner", "VERIFIED_BY"):
        from . import package_runner

        return getattr(package_runner, name)
    if name in ("first_divergence", "torch_values"):
        from . import divergence

        return getattr(divergence, name)
    if name == "load":
        from .program import load

        return load
    if name == "run_program":
        from .interpreter import run

        return run
    raise AttributeError(name)
