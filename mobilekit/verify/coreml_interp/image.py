"""Image inputs: what a Core ML app would hand the model for a spec-normalized tensor.

`_mac_runner` turns the spec input (1, C, H, W), normalized as `(pixel * scale - mean) / std`,
back into 8-bit pixels (a PIL image); Core ML then applies the ImageType's `scale`/`bias`,
which in an ML Program are the `mul`/`add` ops at the top of the program. Here the same
pixels (rounded, clipped to 0..255, in the model's channel order) are fed to the program.
"""

from __future__ import annotations

import numpy as np


def to_pixels(x: np.ndarray, pre: dict) -> np.ndarray:
    """Spec tensor (1, C, H, W) → float32 pixels 0..255, the values Core ML feeds the program."""
    mean = np.asarray(pre["mean"], np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(pre["std"], np.float64).reshape(1, -1, 1, 1)
    pixels = (np.asarray(x, np.float64) * std + mean) / float(pre["scale"])
    px = np.clip(np.round(pixels), 0, 255).astype(np.float32)
    if pre.get("color", "RGB") == "GRAY":
        return px[:, :1]
    return px  # RGB and BGR: already in the model's channel order (Core ML swaps for BGR models)
