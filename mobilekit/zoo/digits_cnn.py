"""A small CNN for 32×32 RGB digit images: the shipped camera-shaped demo classifier."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).with_name("digits_cnn.safetensors")
LABELS = Path(__file__).with_name("digits_labels.txt")


class DigitsCNN(nn.Module):
    def __init__(self, width: int = 16, num_classes: int = 10):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.features = nn.Sequential(
            block(3, width), nn.MaxPool2d(2),  # 16×16
            block(width, width * 2), nn.MaxPool2d(2),  # 8×8
            block(width * 2, width * 4), nn.MaxPool2d(2),  # 4×4
            block(width * 4, width * 4),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width * 4, num_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(image)).flatten(1)
        return self.classifier(x)


def build(pretrained: bool = False) -> DigitsCNN:
    """The architecture; `pretrained=True` loads the shipped trained weights."""
    model = DigitsCNN()
    if pretrained:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(WEIGHTS)))
    return model.eval()


def trained() -> DigitsCNN:
    """Factory for configs: the shipped trained model."""
    return build(pretrained=True)
