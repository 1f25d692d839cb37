"""scikit-learn's digits rendered as 32×32 RGB camera-like images, with a fixed held-out split.

Pixels are uint8 RGB (N, 32, 32, 3), what a camera frame crop gives; `preprocess` turns them
into the model's NCHW float input with the shipped normalization.
"""

from __future__ import annotations

import numpy as np

MEAN = [0.5, 0.5, 0.5]
STD = [0.5, 0.5, 0.5]
SCALE = 1.0 / 255.0
SIZE = 32


def _render(images8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """8×8 intensities (0–16) → 32×32 RGB uint8: ink colour on a paper colour, bilinear upscale."""
    n = len(images8)
    x = images8.reshape(n, 8, 8).astype(np.float32) / 16.0
    # bilinear upscale by 4 with edge padding, done with numpy only
    idx = (np.arange(SIZE) + 0.5) / 4.0 - 0.5
    i0 = np.clip(np.floor(idx).astype(int), 0, 7)
    i1 = np.clip(i0 + 1, 0, 7)
    w = np.clip(idx - i0, 0.0, 1.0)
    rows = x[:, i0, :] * (1 - w)[None, :, None] + x[:, i1, :] * w[None, :, None]
    big = rows[:, :, i0] * (1 - w)[None, None, :] + rows[:, :, i1] * w[None, None, :]
    paper = rng.uniform(170, 255, size=(n, 1, 1, 3))
    ink = rng.uniform(0, 90, size=(n, 1, 1, 3))
    img = paper + (ink - paper) * big[..., None]
    img += rng.normal(0, 6, size=img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def load_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_pixels, train_labels, heldout_pixels, heldout_labels); the split is fixed by seed."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    pixels = _render(digits.images, rng)
    labels = digits.target.astype(np.int64)
    order = rng.permutation(len(labels))
    n_hold = len(labels) // 5
    hold, train = order[:n_hold], order[n_hold:]
    return pixels[train], labels[train], pixels[hold], labels[hold]


def preprocess(pixels: np.ndarray) -> np.ndarray:
    """uint8 NHWC RGB → float32 NCHW, x = (p * scale − mean) / std."""
    x = pixels.astype(np.float32) * SCALE
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def heldout() -> tuple[np.ndarray, np.ndarray]:
    """The held-out set as model inputs and labels: a data callable for `eval.data`."""
    _, _, px, y = load_split()
    return preprocess(px), y


def train() -> tuple[np.ndarray, np.ndarray]:
    """The training split as model inputs and labels: a data callable for `compression.distill.data`."""
    px, y, _, _ = load_split()
    return preprocess(px), y


def calibration(n: int = 64) -> np.ndarray:
    """Training images for int8 calibration (never the held-out ones)."""
    px, _, _, _ = load_split()
    return preprocess(px[:n])
