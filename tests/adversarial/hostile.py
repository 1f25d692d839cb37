"""What a careless or hostile model repo might point mobilekit at: data callables and factories."""

from __future__ import annotations

import sys

import numpy as np


def returns_none():
    return None


def calls_exit():
    sys.exit(0)  # a script's main() reused as a data callable


def returns_strings():
    return ["cat.png", "dog.png"]


def returns_ragged():
    return [np.zeros((3, 8, 8)), np.zeros((3, 4, 4))]


def raises():
    raise FileNotFoundError("/data/train missing")


def returns_nan():
    x = np.zeros((2, 3, 8, 8), np.float32)
    x[1, 2, 3, 4] = np.nan
    return x


def returns_scalar():
    return 3.0


def interrupts():
    raise KeyboardInterrupt  # what a Ctrl-C inside a user's callable looks like


def untraceable():
    """A model torch.export cannot capture: Python control flow on a tensor's value."""
    import torch

    class Branchy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 3)

        def forward(self, image):
            x = image.mean(dim=(2, 3))
            if x.sum() > 0:  # data-dependent: torch.export refuses
                return self.fc(x)
            return self.fc(-x)

    return Branchy().eval()


def factory_exits():
    sys.exit(3)
