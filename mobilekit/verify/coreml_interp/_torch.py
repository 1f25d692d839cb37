"""Lazy torch access for the op modules (keeps `import mobilekit` light)."""

from __future__ import annotations

import numpy as np


def torch():
    import torch as _t

    return _t


def t(x) -> "object":
    """NumPy (or scalar) → torch tensor, without copying when possible."""
    return torch().from_numpy(np.ascontiguousarray(np.asarray(x)))


def n(x) -> np.ndarray:
    return x.detach().cpu().numpy()
