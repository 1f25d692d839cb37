"""Torch-level compression, applied to the eager model before capture.

    from mobilekit.compress import PruneConfig, prune, DistillConfig, distill
    pruned = prune(model, example_inputs, PruneConfig(method="channels", amount=0.5))
    result = distill(pruned.model, model, (train_x, train_y), DistillConfig(epochs=8), eval_data=(x, y))

Importing this package is light: the submodules import torch, numpy and torch_pruning inside
their functions.
"""

from __future__ import annotations

from .distill import DistillConfig, DistillResult, distill, distill_from_config, save_pt2, top1
from .flops import ModelStats, count_macs, count_params, sparsity, stats
from .prune import PruneConfig, PruneResult, output_layers, prune

__all__ = [
    "PruneConfig",
    "PruneResult",
    "prune",
    "output_layers",
    "DistillConfig",
    "DistillResult",
    "distill",
    "distill_from_config",
    "save_pt2",
    "top1",
    "ModelStats",
    "stats",
    "count_params",
    "count_macs",
    "sparsity",
]
