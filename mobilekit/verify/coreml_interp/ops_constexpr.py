"""Compressed-weight ops (`constexpr_*`): dequantize, look-up tables, sparse masks, casts.

Both opset generations are covered: iOS16 (packed-bit indices/masks with a `shape` argument)
and iOS18 (sub-byte tensors in the output's shape, per-block scales, vector look-up tables).
"""

from __future__ import annotations

import numpy as np

from .program import NP_DTYPE
from .registry import register


def _unpack_bits(packed, nbits: int, count: int) -> np.ndarray:
    """Elements packed least-significant bit first, `nbits` each, into little-endian bytes."""
    bits = np.unpackbits(np.asarray(packed).astype(np.uint8), bitorder="little")[: count * nbits]
    bits = bits.reshape(count, nbits).astype(np.int64)
    return (bits << np.arange(nbits, dtype=np.int64)).sum(axis=1)


def _along(v, data: np.ndarray, axis: int) -> np.ndarray:
    """A scalar or a vector along `axis` of `data`, shaped to broadcast against it."""
    v = np.asarray(v)
    if v.ndim == 0:
        return v
    shape = [1] * data.ndim
    shape[int(axis) % data.ndim] = -1
    return v.reshape(shape)


@register("constexpr_affine_dequantize")
def constexpr_affine_dequantize(quantized_data, zero_point, scale, axis, **_):
    q = np.asarray(quantized_data)
    zp = _along(zero_point, q, axis).astype(np.float32)
    s = _along(scale, q, axis).astype(np.float32)
    return (q.astype(np.float32) - zp) * s


def _blocks(v, shape) -> np.ndarray:
    """Per-block values (one per block along each axis) repeated to the full `shape`."""
    v = np.asarray(v)
    for ax, (full, have) in enumerate(zip(shape, v.shape)):
        if have != full:
            v = np.repeat(v, full // have, axis=ax)
    return v


@register("constexpr_blockwise_shift_scale")
def constexpr_blockwise_shift_scale(data, scale, offset=None, **_):
    d = np.asarray(data).astype(np.float32)
    if offset is not None:
        d = d - _blocks(offset, d.shape).astype(np.float32)
    return d * _blocks(scale, d.shape).astype(np.float32)


def _lut_ios18(indices, lut, vector_axis=None) -> np.ndarray:
    """lut: [blocks along each axis..., 2**n, vector size]; indices: the output shape (vector axis / size)."""
    idx = np.asarray(indices).astype(np.int64)
    lut = np.asarray(lut)
    vsize = lut.shape[-1]
    per = _blocks(lut, list(idx.shape) + list(lut.shape[-2:]))  # each index's own table
    out = np.take_along_axis(per, idx[..., None, None], axis=-2)[..., 0, :]  # idx.shape + [vsize]
    if vsize == 1:
        return out[..., 0]
    ax = int(vector_axis) % idx.ndim
    out = np.moveaxis(out, -1, ax + 1)  # vector elements right after their axis
    shape = list(idx.shape)
    shape[ax] *= vsize
    return out.reshape(shape)


@register("constexpr_lut_to_dense")
def constexpr_lut_to_dense(indices, lut, shape=None, vector_axis=None, **_):
    if shape is None:
        return _lut_ios18(indices, lut, vector_axis)
    lut = np.asarray(lut)  # iOS16: one flat table of 2**n entries, indices bit-packed
    shape = [int(s) for s in np.asarray(shape).ravel()]
    nbits = int(np.log2(lut.size))
    return lut[_unpack_bits(indices, nbits, int(np.prod(shape)))].reshape(shape)


def _dense(nonzero, mask_bool: np.ndarray) -> np.ndarray:
    nonzero = np.asarray(nonzero)
    out = np.zeros(mask_bool.shape, nonzero.dtype)
    out[mask_bool] = nonzero
    return out


@register("constexpr_sparse_to_dense")
def constexpr_sparse_to_dense(nonzero_data, mask, shape=None, **_):
    if shape is None:  # iOS18: mask is a uint1 tensor of the output shape
        return _dense(nonzero_data, np.asarray(mask) != 0)
    shape = [int(s) for s in np.asarray(shape).ravel()]
    bits = np.unpackbits(np.asarray(mask).astype(np.uint8), bitorder="little")[: int(np.prod(shape))]
    return _dense(nonzero_data, bits.reshape(shape) != 0)


@register("constexpr_lut_to_sparse")
def constexpr_lut_to_sparse(indices_mask, indices_nonzero_data, lut, vector_axis=None, **_):
    mask = np.asarray(indices_mask)
    dense_idx = _dense(indices_nonzero_data, mask != 0)
    values = _lut_ios18(dense_idx, lut, vector_axis)
    if np.asarray(lut).shape[-1] > 1:
        mask = np.repeat(mask, np.asarray(lut).shape[-1], axis=int(vector_axis))
    return mask, values[mask != 0].ravel()


@register("constexpr_sparse_blockwise_shift_scale")
def constexpr_sparse_blockwise_shift_scale(data_mask, nonzero_data, scale, offset=None, **_):
    mask = np.asarray(data_mask)
    dense = _dense(nonzero_data, mask != 0).astype(np.float32)
    if offset is not None:
        dense = dense - _blocks(offset, dense.shape).astype(np.float32)
    dense = dense * _blocks(scale, dense.shape).astype(np.float32)
    return mask, dense[mask != 0].ravel()


@register("constexpr_cast")
def constexpr_cast(source_val, output_dtype, **_):
    return np.asarray(source_val).astype(NP_DTYPE[str(output_dtype)])
