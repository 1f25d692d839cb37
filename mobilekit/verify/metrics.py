"""Task metrics over a labelled dataset, run through any runner (torch or an artifact)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..data import Dataset


def top1(outputs: list[np.ndarray], labels: np.ndarray) -> float:
    pred = np.array([int(np.argmax(o)) for o in outputs])
    return float((pred == np.asarray(labels)).mean())


METRICS: dict[str, Callable[[list[np.ndarray], np.ndarray], float]] = {"top1": top1}


def evaluate(run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]], data: Dataset, output: str,
             metric: Callable[[list[np.ndarray], np.ndarray], float] = top1) -> float:
    """Run every sample (batch of one, as exported) and score the chosen output."""
    outs = [run(data.sample(i))[output] for i in range(len(data))]
    return float(metric(outs, data.labels))
