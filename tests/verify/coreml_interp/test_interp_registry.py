"""The registry: every op is covered by a unit test here; names and errors are clear."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mobilekit.verify.coreml_interp import UnsupportedOp
from mobilekit.verify.coreml_interp.image import to_pixels
from mobilekit.verify.coreml_interp.registry import ops

HERE = Path(__file__).parent


def test_every_registered_op_has_a_unit_test():
    pytest.importorskip("torch")
    source = "".join(p.read_text() for p in HERE.glob("test_interp_*.py"))
    untested = [name for name in sorted(ops())
                if not re.search(rf'(mb\.{name}\b|"{name}"|\b{name}\(probabilities)', source)]
    assert untested == []


def test_unsupported_op_message_names_every_op():
    err = UnsupportedOp("non_zero", "nz_0", ("cond", "while_loop"))
    text = str(err)
    assert "'non_zero'" in text and "'nz_0'" in text and "cond, while_loop" in text and "\n" not in text
    from mobilekit.targets.base import Unverifiable

    assert isinstance(err, Unverifiable)  # the pipeline records such an artifact as unverified


@pytest.mark.parametrize("color", ["RGB", "BGR", "GRAY"])
def test_image_inputs_become_the_pixels_core_ml_would_see(color):
    pre = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "scale": 1 / 255, "color": color}
    c = 1 if color == "GRAY" else 3
    if color == "GRAY":
        pre = {"mean": [0.5], "std": [0.25], "scale": 1 / 255, "color": color}
    px = np.random.default_rng(0).integers(0, 256, size=(1, c, 4, 5))
    x = ((px * pre["scale"] - np.reshape(pre["mean"], (1, -1, 1, 1))) / np.reshape(pre["std"], (1, -1, 1, 1))).astype(np.float32)
    got = to_pixels(x, pre)
    assert got.dtype == np.float32 and got.shape == (1, c, 4, 5)
    np.testing.assert_array_equal(got, px.astype(np.float32))  # model channel order, whole pixels
    np.testing.assert_array_equal(to_pixels(x * 100, pre).max(), 255.0)  # clipped as 8-bit pixels are
