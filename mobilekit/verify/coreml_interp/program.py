"""A MIL program (from an `.mlpackage` or a coremltools `Program`) as a flat list of steps.

Loading needs coremltools' MIL/proto reader only, no Core ML runtime. Const ops become values;
every other op becomes a `Step` whose arguments name either a constant or an earlier output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .registry import UnsupportedOp, ops

# MIL dtype name → NumPy dtype of the values the interpreter keeps.
NP_DTYPE = {
    "fp16": np.float16, "fp32": np.float32, "fp64": np.float32,  # Core ML feeds doubles as fp32
    "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16,
    "int32": np.int32, "uint32": np.uint32, "int64": np.int64, "uint64": np.uint64,
    "int4": np.int8, "uint4": np.uint8, "uint1": np.uint8, "uint2": np.uint8, "uint3": np.uint8,
    "uint6": np.uint8, "bool": np.bool_,
}


@dataclass(frozen=True)
class Ref:
    """An argument that is the output `name` of an earlier step (or a function input)."""

    name: str


@dataclass
class Step:
    op_type: str
    name: str
    args: dict[str, Any]  # value, Ref, or tuple of those
    outputs: list[tuple[str, str]]  # (name, MIL dtype)


@dataclass
class Program:
    inputs: dict[str, tuple[tuple, str]]  # name → (shape, MIL dtype)
    outputs: list[str]
    steps: list[Step]
    opset: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def computes_in_fp16(self) -> bool:
        return any(d == "fp16" for s in self.steps for _, d in s.outputs)

    def op_types(self) -> list[str]:
        return sorted({s.op_type for s in self.steps})


def dtype_name(var: Any) -> str:
    from coremltools.converters.mil.mil import types

    try:
        return types.builtin_to_string(var.dtype)
    except Exception:
        return type(var.sym_type).__name__ if hasattr(var, "sym_type") else "unknown"


def _const_value(var: Any) -> Any:
    val = var.val
    if val is None and var.op is not None:
        val = getattr(var.op, "val", None)
        val = getattr(val, "val", val)
    if isinstance(val, np.ndarray) or np.isscalar(val) or isinstance(val, (str, bool)):
        return val
    if isinstance(val, (list, tuple)):  # the classifier's labels
        return list(val)
    return val


def _arg(var: Any) -> Any:
    if isinstance(var, (list, tuple)):
        return tuple(_arg(v) for v in var)
    if var.op is not None and var.op.op_type == "const":
        return _const_value(var)
    return Ref(var.name)


def from_mil(prog: Any, function: str = "main") -> Program:
    """Flatten a coremltools MIL `Program`. Raises `UnsupportedOp` naming every unknown op type."""
    fn = prog.functions[function]
    known = ops()
    inputs = {name: (tuple(int(d) if isinstance(d, (int, np.integer)) else -1 for d in v.shape), dtype_name(v))
              for name, v in fn.inputs.items()}
    steps: list[Step] = []
    unknown: dict[str, str] = {}
    for op in fn.operations:
        if op.op_type == "const":
            continue
        if op.op_type not in known or getattr(op, "blocks", None):
            unknown.setdefault(op.op_type, op.name)
            continue
        args = {k: _arg(v) for k, v in op.inputs.items()}
        steps.append(Step(op.op_type, op.name, args, [(o.name, dtype_name(o)) for o in op.outputs]))
    if unknown:
        (first, where), *rest = unknown.items()
        raise UnsupportedOp(first, where, tuple(t for t, _ in rest))
    return Program(inputs, [v.name for v in fn.outputs], steps, opset=str(getattr(fn, "opset_version", "")))


def load(path: str | Path) -> tuple[Program, Any]:
    """(Program, the package's spec) of a saved `.mlpackage`."""
    from .milproto import load_program

    model, prog = load_program(Path(path))
    return from_mil(prog), model.get_spec()
