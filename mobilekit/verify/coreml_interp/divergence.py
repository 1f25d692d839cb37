"""Where does a Core ML program first go wrong? Op-by-op comparison against a reference.

References, in order of preference when a package fails parity:
- torch values (`torch_values(exported_program, args)`): op outputs matched to torch node names
  (MIL ops are named after the torch nodes they come from, plus `_cast_fp16`-style suffixes);
- another package (e.g. the fp32 variant of the same model), matched the same way by name;
- `None`: the same program in fp32 simulation (fp16 rounding off), matched exactly; this always
  matches every op and shows where fp16 itself (overflow, underflow, precision) breaks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .interpreter import run as run_program
from .program import Program, load

_SUFFIX = re.compile(r"(_cast_fp16|_cast_fp32|_to_fp16|_to_fp32|_cast_to_fp32|_cast_to_fp16)+$")


def base_name(name: str) -> str:
    """A MIL op/var name without the precision suffixes the converter's passes append."""
    return _SUFFIX.sub("", name)


@dataclass
class Divergence:
    op_type: str
    op_name: str
    output: str
    max_abs: float
    ref_max_abs: float  # largest magnitude in the reference value (scale of the error)
    nonfinite: bool  # inf/nan where the reference is finite (fp16 overflow)
    reference: str  # what it was compared with
    matched_as: str  # the reference's name for the value
    compared: int  # ops compared up to and including this one

    def __str__(self) -> str:
        why = "non-finite values (fp16 overflow?)" if self.nonfinite else f"max abs {self.max_abs:.4g} (reference max {self.ref_max_abs:.4g})"
        return (f"first divergence at {self.op_type} {self.op_name!r} (output {self.output!r}): {why}, "
                f"vs {self.reference} {self.matched_as!r}")


def _trace_all(program: Program, feeds: dict, fp16: bool) -> list[tuple[Any, str, np.ndarray]]:
    seen: list[tuple[Any, str, np.ndarray]] = []

    def trace(step, outs):
        for name, value in outs.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                seen.append((step, name, value))

    run_program(program, feeds, fp16=fp16, trace=trace)
    return seen


def _program(p: Any) -> Program:
    return p if isinstance(p, Program) else load(Path(p))[0]


def first_divergence(program: Any, feeds: dict[str, np.ndarray], *, reference: Any = None,
                     rtol: float = 0.05, atol: float = 0.0) -> Divergence | None:
    """The first op (program order) whose output differs from the reference beyond tolerance.

    `program`: a package path or `Program`; `feeds`: the program's own inputs (for image inputs
    the 0..255 pixels; `runner(...).native_feeds(spec_feeds)` makes them). `reference`: None
    (same program in fp32 simulation), another package path / `Program` run on the same feeds,
    or a {name: array} dict (e.g. `torch_values`). An output differs when it has inf/nan where
    the reference is finite, or max |a - b| > atol + rtol * max |b|. Returns None if none does.
    The limit scales with the values (atol 0 by default): a layer of 1e-10s that fp16 flushes
    to zero is a divergence, however small in absolute terms.
    """
    prog = _program(program)
    ours = _trace_all(prog, feeds, fp16=True)
    if reference is None:
        ref = {name: v for _, name, v in _trace_all(prog, feeds, fp16=False)}
        label, key = "the same program in fp32 simulation", (lambda n: n)
    elif isinstance(reference, dict):
        ref = {base_name(k): np.asarray(v) for k, v in reference.items()}
        label, key = "reference value", base_name
    else:
        other = _program(reference)
        ref = {base_name(name): v for _, name, v in _trace_all(other, feeds, fp16=True)}
        label, key = "reference program value", base_name
    compared = 0
    for step, name, value in ours:
        r = ref.get(key(name))
        if r is None or np.shape(r) != value.shape:
            continue
        compared += 1
        a = value.astype(np.float64)
        b = np.asarray(r, np.float64)
        finite_b = np.isfinite(b)
        bad = ~np.isfinite(a) & finite_b
        ref_max = float(np.abs(b[finite_b]).max()) if finite_b.any() else 0.0
        if bad.any():
            return Divergence(step.op_type, step.name, name, float("inf"), ref_max, True, label, key(name), compared)
        both = np.isfinite(a) & finite_b
        err = float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0
        if err > atol + rtol * ref_max:
            return Divergence(step.op_type, step.name, name, err, ref_max, False, label, key(name), compared)
    return None


def torch_values(exported_program: Any, args: tuple) -> dict[str, np.ndarray]:
    """{node name: float output} of every node of a torch.export program run on `args`.

    Decomposed first (as the Core ML target converts it), so the node names are the ones the
    converter names MIL ops after.
    """
    import torch

    ep = exported_program.run_decompositions({})
    module = ep.module()
    values: dict[str, np.ndarray] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node):
            out = super().run_node(node)
            first = out[0] if isinstance(out, (tuple, list)) and out else out  # batch norm: (y, mean, var)
            if isinstance(first, torch.Tensor) and first.is_floating_point():
                values[node.name] = first.detach().float().numpy()
            return out

    with torch.no_grad():
        Recorder(module).run(*args)
    return values
