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


class one_thread:
    """torch intra-op threads = 1 for the duration (restored after).

    The interpreter runs hundreds of small batch-1 ops per sample; each multi-threaded op ends
    in a join, and on a busy shared host a join waits for a descheduled thread: measured on a
    2-core AMD EPYC at load 9, an elementwise op on 1x32x114x114 took 20 ms with 2 threads and
    0.09 ms with 1, a 3x3 depthwise conv 80 ms vs 1.5 ms. Single-threaded sums are also the same
    on every host load.
    """

    def __enter__(self):
        self._t = torch()
        self._n = self._t.get_num_threads()
        if self._n != 1:
            self._t.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        if self._n != 1:
            self._t.set_num_threads(self._n)
        return False
