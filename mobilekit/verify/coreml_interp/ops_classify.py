"""The classifier head Core ML adds for `ClassifierConfig`."""

from __future__ import annotations

import numpy as np

from .registry import register


@register("classify")
def classify(probabilities, classes, **_):
    """(top label, {label: probability}) from one example's probabilities."""
    p = np.asarray(probabilities, np.float32).ravel()
    labels = [str(c) for c in (classes.tolist() if isinstance(classes, np.ndarray) else classes)]
    if len(labels) != p.size:
        raise ValueError(f"classify: {p.size} probabilities for {len(labels)} classes")
    return labels[int(np.argmax(p))], {lbl: float(v) for lbl, v in zip(labels, p)}
