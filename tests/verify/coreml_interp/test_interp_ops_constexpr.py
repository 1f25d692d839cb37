"""Compressed-weight ops: our decompression equals coremltools' own, and the torch expression."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from cmi_helpers import mil_program  # noqa: E402

from mobilekit.verify.coreml_interp.interpreter import run  # noqa: E402
from mobilekit.verify.coreml_interp.program import from_mil  # noqa: E402


def _decompressed(make, shape, opset):
    """(interpreter's value, coremltools' materialized value) of the weight `make(mb)` builds."""
    zeros = np.zeros(shape, np.float32)

    def body(mb, x):
        w = make(mb)
        if isinstance(w, tuple):
            w = w[-1]
        return mb.add(x=x, y=mb.cast(x=w, dtype="fp32") if w.dtype != x.dtype else w)

    prog = mil_program(body, zeros, opset=opset)
    ours = run(from_mil(prog), {"x0": zeros})
    (value,) = ours.values()
    op = next(o for o in prog.functions["main"].operations if o.op_type.startswith("constexpr_"))
    theirs = op.materialized_val_inference()
    return value, theirs


def _pack(values: np.ndarray, nbits: int) -> np.ndarray:
    bits = ((values.astype(np.int64)[:, None] >> np.arange(nbits)) & 1).astype(np.uint8).ravel()
    return np.packbits(bits, bitorder="little")


def test_affine_dequantize_per_channel_int8():
    rng = np.random.default_rng(0)
    q = rng.integers(-128, 128, size=(6, 4, 3, 3)).astype(np.int8)
    scale = rng.uniform(0.01, 0.1, size=6).astype(np.float32)
    zp = rng.integers(-3, 3, size=6).astype(np.int8)
    ours, theirs = _decompressed(lambda mb: mb.constexpr_affine_dequantize(
        quantized_data=q, zero_point=zp, scale=scale, axis=0), q.shape, "iOS16")
    want = (torch.from_numpy(q).float() - torch.from_numpy(zp).float()[:, None, None, None]) * torch.from_numpy(scale)[:, None, None, None]
    np.testing.assert_array_equal(ours, theirs.astype(np.float32))
    np.testing.assert_allclose(ours, want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("nbits", [1, 2, 4, 6, 8])
def test_lut_to_dense_ios16_packed(nbits):
    rng = np.random.default_rng(nbits)
    shape = (5, 7)
    lut = rng.standard_normal(2 ** nbits).astype(np.float32)
    idx = rng.integers(0, 2 ** nbits, size=int(np.prod(shape)))
    ours, theirs = _decompressed(lambda mb: mb.constexpr_lut_to_dense(
        lut=lut, indices=_pack(idx, nbits), shape=np.array(shape, np.uint32)), shape, "iOS16")
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, torch.from_numpy(lut)[torch.from_numpy(idx)].reshape(shape).numpy())


def test_sparse_to_dense_ios16_packed():
    rng = np.random.default_rng(3)
    dense = rng.standard_normal((4, 10)).astype(np.float32)
    dense[rng.random((4, 10)) < 0.5] = 0.0
    mask = np.packbits((dense != 0).ravel().astype(np.uint8), bitorder="little")
    ours, theirs = _decompressed(lambda mb: mb.constexpr_sparse_to_dense(
        nonzero_data=dense[dense != 0], mask=mask, shape=np.array(dense.shape, np.uint32)), dense.shape, "iOS16")
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, dense)


def test_cast_fp16_to_fp32():
    w = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float16)
    ours, theirs = _decompressed(lambda mb: mb.constexpr_cast(source_val=w, output_dtype="fp32"), w.shape, "iOS16")
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, torch.from_numpy(w).float().numpy())


@pytest.mark.parametrize("with_offset", [False, True])
def test_blockwise_shift_scale_ios18(with_offset):
    rng = np.random.default_rng(5)
    data = rng.integers(-8, 8, size=(4, 8)).astype(np.int8)
    scale = rng.uniform(0.05, 0.2, size=(4, 2)).astype(np.float32)  # blocks of 4 input channels
    offset = rng.integers(-2, 2, size=(4, 2)).astype(np.int8) if with_offset else None
    kw = {"offset": offset} if with_offset else {}
    ours, theirs = _decompressed(lambda mb: mb.constexpr_blockwise_shift_scale(data=data, scale=scale, **kw),
                                 data.shape, "iOS18")
    rep = lambda v: torch.from_numpy(v).float().repeat_interleave(4, dim=1)  # noqa: E731
    want = (torch.from_numpy(data).float() - (rep(offset) if with_offset else 0)) * rep(scale)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7)
    np.testing.assert_allclose(ours, want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("vector", [1, 2])
def test_lut_to_dense_ios18_grouped(vector):
    rng = np.random.default_rng(6 + vector)
    nbits, out_ch, in_ch = 2, 4, 6
    idx_shape = (out_ch // vector, in_ch) if vector > 1 else (out_ch, in_ch)
    idx = rng.integers(0, 2 ** nbits, size=idx_shape).astype(np.uint8)
    lut = rng.standard_normal((2, 1, 2 ** nbits, vector)).astype(np.float32)  # one table per 2 (index) rows
    kw = {"vector_axis": 0} if vector > 1 else {}

    def make(mb):
        from coremltools.converters.mil.mil import types

        sub_byte = types.nptype_from_builtin(types.string_to_builtin(f"uint{nbits}"))
        return mb.constexpr_lut_to_dense(indices=idx.astype(sub_byte), lut=lut, **kw)

    ours, theirs = _decompressed(make, (out_ch, in_ch), "iOS18")
    ref = torch.from_numpy(lut[:, 0, :, :])  # (2 groups, palette, vector)
    group = torch.arange(idx_shape[0]) // (idx_shape[0] // 2)
    vals = ref[group[:, None], torch.from_numpy(idx).long()]  # (rows, in, vector)
    want = vals.permute(0, 2, 1).reshape(out_ch, in_ch) if vector > 1 else vals[..., 0]
    np.testing.assert_array_equal(ours, want.numpy())
    np.testing.assert_array_equal(ours, theirs)


def test_lut_to_sparse_then_sparse_to_dense_ios18():
    """Joint sparse + palettized weights: the two ops chained give coremltools' dense weight."""
    from coremltools.converters.mil.mil import types

    rng = np.random.default_rng(9)
    shape = (4, 6)
    mask = (rng.random(shape) < 0.5).astype(np.uint8)
    nz = int(mask.sum())
    idx = rng.integers(0, 4, size=nz).astype(types.nptype_from_builtin(types.uint2))
    lut = rng.standard_normal((1, 1, 4, 1)).astype(np.float32)
    uint1 = types.nptype_from_builtin(types.uint1)

    def make(mb):
        m, vals = mb.constexpr_lut_to_sparse(indices_mask=mask.astype(uint1), indices_nonzero_data=idx, lut=lut)
        return mb.constexpr_sparse_to_dense(nonzero_data=vals, mask=m)

    ours, _ = _decompressed(make, shape, "iOS18")
    want = np.zeros(shape, np.float32)
    want[mask != 0] = lut[0, 0, idx.astype(np.int64), 0]
    np.testing.assert_array_equal(ours, want)


def test_sparse_blockwise_shift_scale_then_sparse_to_dense_ios18():
    from coremltools.converters.mil.mil import types

    rng = np.random.default_rng(10)
    shape = (4, 8)
    mask = (rng.random(shape) < 0.5).astype(np.uint8)
    q = rng.integers(-8, 8, size=int(mask.sum())).astype(np.int8)
    scale = rng.uniform(0.1, 0.2, size=(4, 2)).astype(np.float32)
    uint1 = types.nptype_from_builtin(types.uint1)

    def make(mb):
        m, vals = mb.constexpr_sparse_blockwise_shift_scale(data_mask=mask.astype(uint1), nonzero_data=q, scale=scale)
        return mb.constexpr_sparse_to_dense(nonzero_data=vals, mask=m)

    ours, _ = _decompressed(make, shape, "iOS18")
    dense_q = np.zeros(shape, np.float32)
    dense_q[mask != 0] = q
    np.testing.assert_allclose(ours, dense_q * np.repeat(scale, 4, axis=1), rtol=1e-6)
