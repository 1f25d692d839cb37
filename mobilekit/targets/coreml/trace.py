"""A Core ML artifact's intermediate values, from mobilekit's reference interpreter.

MIL ops are named after the torch nodes they come from, plus `_cast_fp16`-style suffixes; a value
is keyed by its base name, the last op of that name winning (the cast is what the next op reads).
fp16 programs run with every op output rounded to fp16, as verification runs them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...verify.coreml_interp import VERIFIED_BY
from ...verify.coreml_interp.divergence import base_name
from ...verify.coreml_interp.interpreter import run as run_program
from ...verify.coreml_interp.package_runner import runner
from ...verify.coreml_interp.program import Ref
from ...debug.trace import Trace, stack


def _refs(arg) -> list[str]:
    if isinstance(arg, Ref):
        return [arg.name]
    if isinstance(arg, tuple):
        return [n for a in arg for n in _refs(a)]
    return []


def trace(path: Path, record, samples: list[dict[str, np.ndarray]]) -> Trace:
    run = runner(path, record)
    program = run.program
    order: list[str] = []
    inputs: dict[str, list[str]] = {}
    ops: dict[str, str] = {}
    for step in program.steps:
        if step.op_type.startswith("constexpr_") or step.op_type == "const":
            continue
        for out_name, _dtype in step.outputs:
            name = base_name(out_name)
            if name not in ops:
                order.append(name)
            ops[name] = step.op_type
            inputs[name] = [base_name(r) for a in step.args.values() for r in _refs(a) if base_name(r) != name]
    per_sample = []
    for feeds in samples:
        seen: dict[str, np.ndarray] = {}

        def record_op(step, outs, seen=seen):
            for out_name, value in outs.items():
                if isinstance(value, np.ndarray) and value.dtype.kind == "f" and base_name(out_name) in ops:
                    seen[base_name(out_name)] = value.astype(np.float32)

        run_program(program, run.native_feeds(feeds), fp16=True, trace=record_op)
        per_sample.append(seen)
    return Trace(values=stack(per_sample), order=order, inputs=inputs, ops=ops,
                 runtime=f"{VERIFIED_BY} ({run.compute})", graph="main")
