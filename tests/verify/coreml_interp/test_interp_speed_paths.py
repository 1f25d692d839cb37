"""The interpreter's fast paths give the same numbers as the plain NumPy ones."""

import numpy as np
import pytest
import torch

from mobilekit.verify.coreml_interp import interpreter
from mobilekit.verify.coreml_interp._torch import one_thread


def _edge_values() -> np.ndarray:
    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6, np.inf, -np.inf, 6e-8, 3e-8, 2.9e-8,
                        1e-5, 5.96e-8, 1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11, np.nan], np.float32)
    return np.concatenate([special, rng.standard_normal(10_000).astype(np.float32) * 10.0 ** rng.integers(-9, 6, 10_000)])


def test_fp16_rounding_through_torch_matches_numpy_bit_for_bit():
    x = _edge_values()
    assert x.size >= interpreter._BIG  # the torch path is taken
    got, want = interpreter._half(x), x.astype(np.float16)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))
    np.testing.assert_array_equal(interpreter._single(want).view(np.uint32), want.astype(np.float32).view(np.uint32))


def test_float64_is_rounded_once_straight_to_fp16():
    x = np.full(interpreter._BIG * 2, 1.0 + 2 ** -11 + 2 ** -40, np.float64)  # just above a tie: rounds up
    assert interpreter._half(x)[0] == np.float16(x[0])


def test_one_thread_restores_the_thread_count_even_on_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with one_thread():
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
