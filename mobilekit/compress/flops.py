"""Model size figures: parameters, MACs (multiply-accumulates) and zero-weight sparsity.

Light at import: torch and torch_pruning are imported inside the functions.

- params: every parameter element (zeros included: unstructured pruning keeps them stored).
- macs: torch_pruning's counter (`tp.utils.count_ops_and_params`) over one forward pass of the
  example inputs; what papers call "FLOPs" for CNNs. Counted in eval mode on a copy.
- sparsity: the fraction of exactly-zero elements over all conv and linear weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import UserError


@dataclass(frozen=True)
class ModelStats:
    params: int
    nonzero_params: int
    macs: int
    weights: int  # conv + linear weight elements
    zero_weights: int

    @property
    def sparsity(self) -> float:
        return self.zero_weights / self.weights if self.weights else 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {"sparsity": round(self.sparsity, 6)}


def weight_modules(model: Any) -> list[tuple[str, Any]]:
    """(name, module) for every conv (any dim, transposed too) and linear layer."""
    from torch import nn

    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]


def count_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def count_nonzero_params(model: Any) -> int:
    return sum(int(p.count_nonzero()) for p in model.parameters())


def zero_weights(model: Any) -> tuple[int, int]:
    """(zero elements, total elements) over conv and linear weights."""
    zeros = total = 0
    for _, m in weight_modules(model):
        w = m.weight
        total += w.numel()
        zeros += w.numel() - int(w.count_nonzero())
    return zeros, total


def sparsity(model: Any) -> float:
    zeros, total = zero_weights(model)
    return zeros / total if total else 0.0


def count_macs(model: Any, example_inputs: Any) -> int:
    """MACs of one forward pass on `example_inputs` (a tensor, a tuple of them, or a dict)."""
    tp = import_torch_pruning()
    macs, _params = tp.utils.count_ops_and_params(model, as_torch_inputs(example_inputs))
    return int(macs)


def stats(model: Any, example_inputs: Any) -> ModelStats:
    zeros, total = zero_weights(model)
    return ModelStats(
        params=count_params(model),
        nonzero_params=count_nonzero_params(model),
        macs=count_macs(model, example_inputs),
        weights=total,
        zero_weights=zeros,
    )


# -- helpers shared by prune and distill ---------------------------------------------------------


def import_torch_pruning():
    try:
        import torch_pruning as tp
    except ImportError:
        raise UserError(
            "torch-pruning is not installed (needed to count MACs and prune channels)",
            hint="pip install 'mobilekit[compress]'.",
        ) from None
    return tp


def as_torch_inputs(example_inputs: Any) -> Any:
    """A tensor, a tuple of tensors or a dict of them; numpy arrays become tensors."""
    import numpy as np
    import torch

    def one(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(x))
        return x

    if isinstance(example_inputs, dict):
        return {k: one(v) for k, v in example_inputs.items()}
    if isinstance(example_inputs, (list, tuple)):
        return tuple(one(v) for v in example_inputs)
    return one(example_inputs)


def call(model: Any, inputs: Any) -> Any:
    """model(inputs) for the three accepted forms of inputs."""
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, tuple):
        return model(*inputs)
    return model(inputs)


def flatten(result: Any) -> list:
    """The tensors in a model's result (a tensor, or nested tuples/lists/dicts of them)."""
    import torch

    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):
        return [t for v in result.values() for t in flatten(v)]
    if isinstance(result, (list, tuple)):
        return [t for v in result for t in flatten(v)]
    return []
