"""first_divergence: which op first goes wrong, against fp32 simulation, another program or torch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from cmi_helpers import ct, mil_program  # noqa: E402

from mobilekit.verify.coreml_interp import UnsupportedOp  # noqa: E402
from mobilekit.verify.coreml_interp.divergence import base_name, first_divergence, torch_values  # noqa: E402
from mobilekit.verify.coreml_interp.program import from_mil  # noqa: E402


def _overflowing(mb, x):
    w = np.full((4, 4), 3.0e4, np.float16)
    h = mb.linear(x=mb.mul(x=x, y=np.float16(2.0), name="scale_in"), weight=w, name="big")
    return mb.mul(x=mb.relu(x=h, name="act"), y=np.float16(1e-4), name="scale_out")


def test_fp16_overflow_is_pinned_to_the_op_that_overflows():
    x = np.ones((1, 4), np.float16)
    prog = from_mil(mil_program(_overflowing, x))
    d = first_divergence(prog, {"x0": x})
    assert d is not None and d.nonfinite
    assert (d.op_type, d.op_name) == ("linear", "big")
    assert "overflow" in str(d) and "'big'" in str(d)


def test_no_divergence_when_fp16_is_enough():
    x = np.full((1, 4), 1e-3, np.float16)  # 3e4 * 2e-3 * 4 = 240: fine in fp16
    prog = from_mil(mil_program(_overflowing, x))
    assert first_divergence(prog, {"x0": x}) is None


def test_reference_values_are_matched_by_base_name():
    x = np.full((1, 4), 1e-3, np.float16)
    prog = from_mil(mil_program(_overflowing, x))
    good = {"scale_in_cast_fp16": np.full((1, 4), 2e-3), "big": np.full((1, 4), 240.0), "act": np.full((1, 4), 240.0)}
    assert first_divergence(prog, {"x0": x}, reference=good) is None
    bad = dict(good, act=np.full((1, 4), 300.0))  # a wrong value downstream of a right one
    d = first_divergence(prog, {"x0": x}, reference=bad)
    assert (d.op_name, d.matched_as) == ("act", "act") and d.max_abs == pytest.approx(60.0, rel=1e-2)
    assert d.compared == 3


def test_base_name_strips_precision_suffixes():
    assert base_name("relu_3_cast_fp16") == "relu_3"
    assert base_name("image_to_fp16") == "image"
    assert base_name("probs_cast_fp16_cast_to_fp32") == "probs"
    assert base_name("linear") == "linear"


def test_unknown_op_raises_before_running():
    def body(mb, x):
        return mb.non_zero(x=mb.relu(x=x))

    with pytest.raises(UnsupportedOp) as err:
        from_mil(mil_program(body, np.ones((2, 2), np.float32)))
    assert err.value.op_type == "non_zero"
    assert "'non_zero'" in str(err.value) and "not implemented" in str(err.value)


@pytest.mark.slow
def test_torch_node_values_locate_a_wrong_op_in_a_converted_model():
    """Digits in fp16, compared with torch's own intermediate values, op by op."""
    from mobilekit.zoo import digits_cnn

    coremltools = ct()
    model = digits_cnn.trained()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32))
    ep = torch.export.export(model, (x,))
    mlmodel = coremltools.convert(ep.run_decompositions({}), inputs=[coremltools.TensorType(name="image", shape=x.shape)],
                                  convert_to="mlprogram", minimum_deployment_target=coremltools.target.iOS16,
                                  skip_model_load=True)
    prog = from_mil(mlmodel._mil_program)
    values = torch_values(ep, (x,))
    feeds = {"image": x.numpy()}
    assert first_divergence(prog, feeds, reference=values) is None  # fp16 tracks torch at every matched op
    matched = [s for s in prog.steps if base_name(s.outputs[0][0]) in values]
    assert len(matched) >= 10  # convs (batch-norm names), relus, pools, mean, reshape, linear
    broken = dict(values, relu_2=values["relu_2"] + 1.0)
    d = first_divergence(prog, feeds, reference=broken)
    assert d is not None and d.op_type == "relu" and d.matched_as == "relu_2"
