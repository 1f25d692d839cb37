"""The error a layer adds itself vs the error it inherits from upstream."""

import numpy as np
import pytest

from mobilekit.debug.layers import compare
from mobilekit.debug.match import Match
from mobilekit.debug.torch_trace import TorchTrace
from mobilekit.debug.trace import Trace

RNG = np.random.default_rng(1)


def _noisy(x, snr_db):
    noise = RNG.standard_normal(x.shape)
    centred = x - x.mean(axis=0, keepdims=True)
    noise *= np.sqrt(np.mean(centred**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def test_a_layer_that_adds_nothing_inherits_its_inputs_error_and_the_noisy_one_is_named():
    a = RNG.standard_normal((64, 32)).astype(np.float32)
    b = np.maximum(a, 0)
    c = RNG.standard_normal((64, 32)).astype(np.float32)
    tt = TorchTrace(values={"a": a, "b": b, "c": c}, ops={"a": "conv", "b": "relu", "c": "conv"}, order=["a", "b", "c"], outputs=["c"])
    got_a = _noisy(a, 40.0)
    tr = Trace(values={"A": got_a, "B": np.maximum(got_a, 0), "C": _noisy(c, 10.0)}, order=["A", "B", "C"],
               inputs={"A": [], "B": ["A"], "C": ["B"]}, ops={"A": "Conv", "B": "Relu", "C": "Conv"}, runtime="test")
    rows = {r.torch: r for r in compare(tt, tr, {t: Match(t, t.upper(), None) for t in "abc"})}
    assert rows["a"].inherited_snr_db is None and rows["a"].own_snr_db == pytest.approx(40.0, abs=0.5)
    assert rows["b"].inherited_snr_db == pytest.approx(rows["a"].channel_snr_db)
    assert rows["b"].own_snr_db > rows["b"].channel_snr_db + 3  # relu mostly passes the error on
    assert rows["c"].own_snr_db == pytest.approx(10.0, abs=0.5)  # the layer that broke it
    assert min(rows.values(), key=lambda r: r.own_snr_db).torch == "c"
