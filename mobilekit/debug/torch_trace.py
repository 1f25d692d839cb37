"""Every float intermediate of the torch program, by node name, on the debug samples.

The program is decomposed as the converters see it (an empty table: the aten ops that torch.export
captured), so node names are the ones ONNX values and Core ML ops are named after.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .trace import stack


@dataclass
class TorchTrace:
    values: dict[str, np.ndarray]  # node name → value stacked over samples
    ops: dict[str, str]  # node name → aten op
    order: list[str]  # execution order
    outputs: list[str]  # the nodes the program returns, in output order


def torch_values(program: Path, spec, samples: list[dict[str, np.ndarray]]) -> TorchTrace:
    """Every call_function node with a float output, on every sample."""
    import torch

    ep = torch.export.load(str(program)).run_decompositions({})
    module = ep.module()
    ops: dict[str, str] = {}
    per_sample: list[dict[str, np.ndarray]] = []

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node):
            out = super().run_node(node)
            first = out[0] if isinstance(out, (tuple, list)) and out else out  # batch norm: (y, mean, var)
            if node.op == "call_function" and isinstance(first, torch.Tensor) and first.is_floating_point():
                self.seen[node.name] = first.detach().float().numpy().copy()
                ops[node.name] = _op_name(node)
            return out

    with torch.no_grad():
        for feeds in samples:
            rec = Recorder(module)
            rec.seen = {}
            rec.run(*(torch.from_numpy(np.ascontiguousarray(feeds[t.name])) for t in spec.inputs))
            per_sample.append(rec.seen)
    values = stack(per_sample)
    order = [n.name for n in module.graph.nodes if n.name in values]
    out_node = next(n for n in module.graph.nodes if n.op == "output")
    return TorchTrace(values, ops, order, _output_names(out_node))


def _op_name(node) -> str:
    """`conv2d`, or `getitem of _native_batch_norm_legit_no_training` for a multi-output op's result."""
    target = node.target
    if getattr(target, "__name__", "") == "getitem" and node.args and hasattr(node.args[0], "target"):
        return f"getitem of {_op_name(node.args[0])}"
    return str(target).replace("aten.", "").replace(".default", "")


def _output_names(out_node) -> list[str]:
    names: list[str] = []

    def walk(a):
        if isinstance(a, (tuple, list)):
            for x in a:
                walk(x)
        elif isinstance(a, dict):
            for x in a.values():
                walk(x)
        elif hasattr(a, "name"):
            names.append(a.name)

    walk(out_node.args)
    return names
