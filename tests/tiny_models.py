"""Small models for tests, importable as factories (`tiny_models:build`) from the tests folder."""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(image)).mean(dim=(2, 3))
        return self.fc(x)


def build() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet().eval()


def broken() -> TinyNet:
    raise RuntimeError("cannot build: weights server unreachable")


def not_a_module():
    return {"weights": 1}




def config(tmp_path, **extra) -> dict:
    """A config dict for TinyNet writing into tmp_path/dist."""
    import os

    cfg = {
        "name": "tiny",
        "task": "image_classification",
        "source": "tiny_models:build",
        "base_dir": os.path.dirname(__file__),
        "output_dir": str(tmp_path / "dist"),
        "inputs": [{"name": "image", "shape": [1, 3, 8, 8],
                    "preprocessing": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}],
        "outputs": [{"name": "logits"}],
        "verify": {"samples": 4},
    }
    cfg.update(extra)
    return cfg
