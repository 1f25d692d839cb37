"""Matching artifact tensors to torch nodes: only what the converter preserved, never a guess."""

import numpy as np

from mobilekit.debug.match import by_anchor, by_name, transfer
from mobilekit.debug.torch_trace import TorchTrace
from mobilekit.debug.trace import Trace

RNG = np.random.default_rng(0)


def _torch(**values) -> TorchTrace:
    return TorchTrace(values=values, ops={k: "op" for k in values}, order=list(values), outputs=[list(values)[-1]])


def _trace(**values) -> Trace:
    return Trace(values=values, order=list(values), inputs={}, ops={k: "Op" for k in values}, runtime="test")


def test_by_name_matches_names_and_the_outputs_by_position():
    a, b = RNG.standard_normal((4, 8, 3, 3)), RNG.standard_normal((4, 10))
    matches, unmatched = by_name(_torch(relu=a, linear=b), _trace(relu=a, logits=b, other=b), ["logits"])
    assert {t: m.artifact for t, m in matches.items()} == {"relu": "relu", "linear": "logits"}
    assert unmatched == {}


def test_by_name_lists_what_it_cannot_match_with_the_reason():
    a = RNG.standard_normal((4, 8, 3, 5))
    matches, unmatched = by_name(_torch(conv=a, gone=a), _trace(conv=RNG.standard_normal((4, 7))), [])
    assert matches == {}
    assert "shape" in unmatched["conv"] and "no artifact tensor" in unmatched["gone"]


def test_by_anchor_finds_a_channels_last_tensor_by_its_values():
    x = RNG.standard_normal((4, 8, 3, 5)).astype(np.float32)
    nhwc = x.transpose(0, 2, 3, 1).copy()
    matches, unmatched = by_anchor(_torch(relu=x), _trace(**{"model/relu;fused": nhwc, "noise": RNG.standard_normal(nhwc.shape)}))
    assert matches["relu"].artifact == "model/relu;fused" and matches["relu"].perm == (0, 3, 1, 2)
    assert unmatched == {}


def test_by_anchor_refuses_two_tensors_that_both_reproduce_the_value():
    x = RNG.standard_normal((4, 16)).astype(np.float32)
    _, unmatched = by_anchor(_torch(view=x), _trace(first=x.copy(), second=x.copy()))
    assert unmatched["view"].startswith("ambiguous")


def test_by_anchor_refuses_a_tensor_that_only_resembles_the_value():
    x = RNG.standard_normal((4, 16)).astype(np.float32)
    noisy = x + 0.05 * RNG.standard_normal(x.shape).astype(np.float32)  # ~26 dB: near, not the same value
    matches, unmatched = by_anchor(_torch(view=x), _trace(near=noisy))
    assert matches == {} and "reproduces" in unmatched["view"]


def test_transfer_keeps_only_namesakes_of_the_same_shape():
    x = RNG.standard_normal((4, 16)).astype(np.float32)
    anchor = _trace(a=x, b=x[:, :8].copy())
    matches, _ = by_anchor(_torch(t1=x, t2=x[:, :8].copy()), anchor)
    kept, lost = transfer(matches, anchor, _trace(a=x, b=RNG.standard_normal((4, 3))))
    assert set(kept) == {"t1"} and "another shape" in lost["t2"]
