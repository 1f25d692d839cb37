"""The op registry: each MIL op type maps to one small NumPy/torch function.

An op function takes the op's inputs as keyword arguments (NumPy arrays, Python scalars,
strings, or tuples of arrays for variadic inputs such as `concat.values`) and returns one array
or a tuple of them, one per MIL output. Float16 inputs arrive as float32; the interpreter casts
each output to the dtype the program declares (and so rounds fp16 outputs).
"""

from __future__ import annotations

from typing import Callable

from ...targets.base import Unverifiable

OPS: dict[str, Callable] = {}


class UnsupportedOp(Unverifiable):
    """The program has an op the interpreter does not implement (raised before running).

    An `Unverifiable`: the pipeline records the artifact as unverified with this message.
    """

    def __init__(self, op_type: str, op_name: str = "", others: tuple[str, ...] = ()):
        self.op_type = op_type
        self.op_name = op_name
        self.others = tuple(others)
        where = f" (first at {op_name!r})" if op_name else ""
        more = f"; also unsupported: {', '.join(others)}" if others else ""
        super().__init__(f"Core ML op {op_type!r}{where} is not implemented by the reference interpreter{more}")


def register(*names: str) -> Callable[[Callable], Callable]:
    """Register `fn` under one or more MIL op type names."""

    def wrap(fn: Callable) -> Callable:
        for n in names:
            OPS[n] = fn
        return fn

    return wrap


_MODULES = ("ops_classify", "ops_constexpr", "ops_conv", "ops_elementwise", "ops_linear", "ops_norm",
            "ops_reduce", "ops_tensor")
_LOADED = False


def ops() -> dict[str, Callable]:
    """All registered ops (imports the op modules, which register themselves, once)."""
    global _LOADED
    if not _LOADED:
        import importlib

        for name in _MODULES:
            importlib.import_module(f"{__package__}.{name}")
        _LOADED = True
    return OPS
