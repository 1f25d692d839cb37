"""Convolutions, pooling and resampling (NCHW / NCDHW, as MIL lays them out)."""

from __future__ import annotations

import math

import numpy as np

from ._torch import n, t, torch
from .registry import register


def _ints(v, k: int, default: int) -> list[int]:
    if v is None:
        return [default] * k
    v = [int(x) for x in np.asarray(v).ravel()]
    return v if len(v) == k else v * k


def _same_pads(size: list[int], kernel: list[int], strides: list[int], dilations: list[int], lower: bool) -> list[int]:
    """MIL `same` / `same_lower`: output = ceil(in / stride); the odd pad goes at the end (start for lower)."""
    pads = []
    for s, k, st, d in zip(size, kernel, strides, dilations):
        out = math.ceil(s / st)
        total = max((out - 1) * st + (k - 1) * d + 1 - s, 0)
        small, big = total // 2, total - total // 2
        pads += [big, small] if lower else [small, big]
    return pads


def _pads(x, kernel, strides, dilations, pad_type, pad) -> list[int]:
    """[begin_0, end_0, begin_1, end_1, ...] for the spatial dims."""
    k = len(kernel)
    if pad_type == "valid":
        return [0] * (2 * k)
    if pad_type in ("same", "same_lower"):
        return _same_pads(list(x.shape[2:]), kernel, strides, dilations, pad_type == "same_lower")
    if pad_type == "custom":
        return _ints(pad, 2 * k, 0)
    raise ValueError(f"unknown pad_type {pad_type!r}")


def _torch_pad(pads: list[int]) -> list[int]:
    """MIL's [b0, e0, b1, e1] → torch.nn.functional.pad's [b_last, e_last, ..., b0, e0]."""
    out = []
    for i in reversed(range(len(pads) // 2)):
        out += [pads[2 * i], pads[2 * i + 1]]
    return out


def _conv_fn(k: int):
    F = torch().nn.functional
    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[k]


@register("conv")
def conv(x, weight, bias=None, strides=None, pad_type="valid", pad=None, dilations=None, groups=1, **_):
    x = np.asarray(x, np.float32)
    weight = np.asarray(weight, np.float32)
    k = weight.ndim - 2
    strides, dilations = _ints(strides, k, 1), _ints(dilations, k, 1)
    pads = _pads(x, list(weight.shape[2:]), strides, dilations, pad_type, pad)
    xt = torch().nn.functional.pad(t(x), _torch_pad(pads)) if any(pads) else t(x)
    b = None if bias is None else t(np.asarray(bias, np.float32))
    return n(_conv_fn(k)(xt, t(weight), b, stride=strides, dilation=dilations, groups=int(groups)))


@register("conv_transpose")
def conv_transpose(x, weight, bias=None, strides=None, pad_type="valid", pad=None, dilations=None, groups=1,
                   output_shape=None, **_):
    F = torch().nn.functional
    x = np.asarray(x, np.float32)
    weight = np.asarray(weight, np.float32)  # (C_in, C_out / groups, *K)
    k = weight.ndim - 2
    strides, dilations = _ints(strides, k, 1), _ints(dilations, k, 1)
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[k]
    b = None if bias is None else t(np.asarray(bias, np.float32))
    full = n(fn(t(x), t(weight), b, stride=strides, dilation=dilations, groups=int(groups)))  # no padding
    kernel = list(weight.shape[2:])
    if pad_type == "custom":
        pads = _ints(pad, 2 * k, 0)
    elif pad_type == "valid":
        pads = [0] * (2 * k)
    else:  # same: output = in * stride, cropping the excess
        pads = []
        for i in range(k):
            total = max((kernel[i] - 1) * dilations[i] + 1 - strides[i], 0)
            pads += [total // 2, total - total // 2]
    if output_shape is not None:  # torch's output_padding: the end crop shrinks by it
        want = [int(v) for v in np.asarray(output_shape).ravel()][-k:]
    else:
        want = [full.shape[2 + i] - pads[2 * i] - pads[2 * i + 1] for i in range(k)]
    out = full[(slice(None), slice(None), *[slice(pads[2 * i], pads[2 * i] + want[i]) for i in range(k)])]
    if list(out.shape[2:]) != want:  # beyond the full output: positions no input reaches hold the bias
        fill = np.zeros((1, out.shape[1]) + (1,) * k, np.float32) if bias is None else \
            np.asarray(bias, np.float32).reshape((1, -1) + (1,) * k)
        grown = np.broadcast_to(fill, out.shape[:2] + tuple(want)).copy()
        grown[(slice(None), slice(None), *[slice(0, d) for d in out.shape[2:]])] = out
        out = grown
    return out


def _pool(x, kernel_sizes, strides, pad_type, pad, ceil_mode, kind: str, exclude_padding: bool = True):
    F = torch().nn.functional
    x = np.asarray(x, np.float32)
    k = len(np.asarray(kernel_sizes).ravel())
    kernel = _ints(kernel_sizes, k, 1)
    strides = _ints(strides, k, 1)
    pads = _torch_pad(_pads(x, kernel, strides, [1] * k, pad_type, pad))
    if kind == "max":
        xt = F.pad(t(x), pads, value=-np.inf) if any(pads) else t(x)
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[k]
        return n(fn(xt, kernel, strides, ceil_mode=ceil_mode))
    # average: window sums over the padded input / the number of elements each window counts
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[k]
    kw = {"ceil_mode": ceil_mode, "count_include_pad": True}
    if k > 1:
        kw["divisor_override"] = 1
    scale = 1.0 if k > 1 else float(np.prod(kernel))
    xt = F.pad(t(x), pads, value=0.0) if any(pads) else t(x)
    sums = fn(xt, kernel, strides, **kw) * scale
    mask = torch().ones((1, 1, *x.shape[2:]), dtype=xt.dtype)
    mask = F.pad(mask, pads, value=0.0 if exclude_padding else 1.0) if any(pads) else mask
    counts = fn(mask, kernel, strides, **kw) * scale
    return n(sums / counts)


@register("max_pool")
def max_pool(x, kernel_sizes, strides=None, pad_type="valid", pad=None, ceil_mode=False, **_):
    return _pool(x, kernel_sizes, strides, pad_type, pad, bool(ceil_mode), "max")


@register("avg_pool")
def avg_pool(x, kernel_sizes, strides=None, pad_type="valid", pad=None, ceil_mode=False,
             exclude_padding_from_average=False, **_):
    return _pool(x, kernel_sizes, strides, pad_type, pad, bool(ceil_mode), "avg", bool(exclude_padding_from_average))


@register("upsample_nearest_neighbor")
def upsample_nearest_neighbor(x, scale_factor_height=1, scale_factor_width=1, **_):
    x = np.asarray(x)
    sh, sw = float(scale_factor_height), float(scale_factor_width)
    if sh.is_integer() and sw.is_integer():
        return np.repeat(np.repeat(x, int(sh), axis=-2), int(sw), axis=-1)
    h, w = x.shape[-2:]
    rows = np.minimum(np.floor(np.arange(int(math.floor(h * sh))) / sh).astype(int), h - 1)
    cols = np.minimum(np.floor(np.arange(int(math.floor(w * sw))) / sw).astype(int), w - 1)
    return x[..., rows[:, None], cols[None, :]]


@register("upsample_bilinear")
def upsample_bilinear(x, scale_factor_height=1, scale_factor_width=1, align_corners=False, half_pixel_centers=None, **_):
    F = torch().nn.functional
    x = np.asarray(x, np.float32)
    h, w = x.shape[-2:]
    size = (int(math.floor(h * float(scale_factor_height))), int(math.floor(w * float(scale_factor_width))))
    return n(F.interpolate(t(x), size=size, mode="bilinear", align_corners=bool(align_corners)))
