"""Shape and data movement: reshape, transpose, concat, split, slices, gather, pad, cast, select."""

from __future__ import annotations

import numpy as np

from .program import NP_DTYPE
from .registry import register


def _ints(v) -> list[int]:
    return [int(a) for a in np.asarray(v).ravel()]


@register("identity")
def identity(x, **_):
    return np.asarray(x)


@register("cast")
def cast(x, dtype, **_):
    x = np.asarray(x)
    want = NP_DTYPE[str(dtype)]
    if np.issubdtype(want, np.integer) and x.dtype.kind == "f":
        return np.trunc(x).astype(want)
    return x.astype(np.float32) if str(dtype) == "fp16" else x.astype(want)  # fp16 rounding: the interpreter


@register("reshape")
def reshape(x, shape, **_):
    x = np.asarray(x)
    return x.reshape(_ints(shape))


@register("reshape_like")
def reshape_like(x, ref_tensors, begins, ends, end_masks, **_):
    x = np.asarray(x)
    shape = []
    for ref, b, e, m in zip(ref_tensors, _ints(begins), _ints(ends), [bool(v) for v in np.asarray(end_masks).ravel()]):
        dims = np.asarray(ref).shape
        shape += list(dims[b:] if m else dims[b:e])
    return x.reshape(shape)


@register("transpose")
def transpose(x, perm, **_):
    return np.transpose(np.asarray(x), _ints(perm))


@register("squeeze")
def squeeze(x, axes=None, **_):
    x = np.asarray(x)
    return np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(a % x.ndim for a in _ints(axes)))


@register("expand_dims")
def expand_dims(x, axes, **_):
    x = np.asarray(x)
    out_rank = x.ndim + len(_ints(axes))
    for a in sorted(a % out_rank for a in _ints(axes)):
        x = np.expand_dims(x, a)
    return x


@register("flatten2d")
def flatten2d(x, axis=1, **_):
    x = np.asarray(x)
    a = int(axis) % max(x.ndim, 1)
    return x.reshape(int(np.prod(x.shape[:a], dtype=np.int64)), -1)


@register("concat")
def concat(values, axis, interleave=False, **_):
    values = [np.asarray(v) for v in values]
    ax = int(axis) % values[0].ndim
    if not interleave:
        return np.concatenate(values, axis=ax)
    parts = [np.split(v, v.shape[ax], axis=ax) for v in values]
    return np.concatenate([p for group in zip(*parts) for p in group], axis=ax)


@register("stack")
def stack(values, axis=0, **_):
    return np.stack([np.asarray(v) for v in values], axis=int(axis))


@register("split")
def split(x, num_splits=None, split_sizes=None, axis=0, **_):
    x = np.asarray(x)
    ax = int(axis) % x.ndim
    if split_sizes is not None:
        cuts = np.cumsum(_ints(split_sizes))[:-1]
        return tuple(np.split(x, cuts, axis=ax))
    return tuple(np.split(x, int(num_splits), axis=ax))


@register("slice_by_index")
def slice_by_index(x, begin, end, stride=None, begin_mask=None, end_mask=None, squeeze_mask=None, **_):
    x = np.asarray(x)
    r = x.ndim
    begin, end = _ints(begin), _ints(end)
    stride = _ints(stride) if stride is not None else [1] * r
    bm = [bool(v) for v in np.asarray(begin_mask).ravel()] if begin_mask is not None else [False] * r
    em = [bool(v) for v in np.asarray(end_mask).ravel()] if end_mask is not None else [False] * r
    sq = [bool(v) for v in np.asarray(squeeze_mask).ravel()] if squeeze_mask is not None else [False] * r
    index = []
    for i in range(r):
        if sq[i]:
            index.append(begin[i])
            continue
        index.append(slice(None if bm[i] else begin[i], None if em[i] else end[i], stride[i]))
    return x[tuple(index)]


@register("slice_by_size")
def slice_by_size(x, begin, size, **_):
    x = np.asarray(x)
    index = []
    for i, (b, s) in enumerate(zip(_ints(begin), _ints(size))):
        b = b % x.shape[i] if x.shape[i] else 0
        index.append(slice(b, None if s == -1 else b + s))
    return x[tuple(index)]


@register("gather")
def gather(x, indices, axis=0, batch_dims=0, validate_indices=False, **_):
    x, idx = np.asarray(x), np.asarray(indices).astype(np.int64)
    ax = int(axis) % x.ndim
    b = int(batch_dims)
    if b == 0:
        return np.take(x, idx, axis=ax)
    # batch_dims > 0: gather independently per leading batch index
    lead = x.shape[:b]
    xs = x.reshape((-1,) + x.shape[b:])
    ids = idx.reshape((-1,) + idx.shape[b:])
    out = np.stack([np.take(xs[i], ids[i], axis=ax - b) for i in range(xs.shape[0])])
    return out.reshape(lead + out.shape[1:])


@register("gather_along_axis")
def gather_along_axis(x, indices, axis=0, validate_indices=False, **_):
    x, idx = np.asarray(x), np.asarray(indices).astype(np.int64)
    ax = int(axis) % x.ndim
    idx = np.where(idx < 0, idx + x.shape[ax], idx)
    return np.take_along_axis(x, idx, axis=ax)


@register("gather_nd")
def gather_nd(x, indices, batch_dims=0, validate_indices=False, **_):
    x, idx = np.asarray(x), np.asarray(indices).astype(np.int64)
    if int(batch_dims):
        raise NotImplementedError("gather_nd with batch_dims > 0")
    k = idx.shape[-1]
    return x[tuple(idx[..., i] for i in range(k))]


@register("scatter_along_axis")
def scatter_along_axis(data, indices, updates, axis=0, mode="update", validate_indices=False, **_):
    out = np.array(data, copy=True)
    ax = int(axis) % out.ndim
    idx = np.asarray(indices).astype(np.int64)
    if mode != "update":
        raise NotImplementedError(f"scatter_along_axis mode {mode!r}")
    np.put_along_axis(out, idx, np.asarray(updates), axis=ax)
    return out


@register("tile")
def tile(x, reps, **_):
    return np.tile(np.asarray(x), _ints(reps))


@register("pad")
def pad(x, pad, mode="constant", constant_val=0.0, **_):
    x = np.asarray(x)
    p = _ints(pad)
    k = len(p) // 2  # pads the last k dims
    widths = [(0, 0)] * (x.ndim - k) + [(p[2 * i], p[2 * i + 1]) for i in range(k)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=constant_val)
    return np.pad(x, widths, mode={"reflect": "reflect", "replicate": "edge"}[mode])


@register("select")
def select(cond, a, b, **_):
    return np.where(np.asarray(cond).astype(bool), a, b)


@register("shape")
def shape(x, **_):
    return np.asarray(np.asarray(x).shape, np.int32)


@register("fill")
def fill(shape, value=0.0, **_):
    return np.full(_ints(shape), value)


@register("fill_like")
def fill_like(ref_tensor, value=0.0, **_):
    return np.full(np.asarray(ref_tensor).shape, value)


@register("range_1d")
def range_1d(start, end, step, **_):
    return np.arange(start, end, step)


@register("band_part")
def band_part(x, lower=-1, upper=-1, **_):
    x = np.asarray(x)
    m, nn = x.shape[-2:]
    i = np.arange(m)[:, None]
    j = np.arange(nn)[None, :]
    keep = np.ones((m, nn), bool)
    if int(lower) >= 0:
        keep &= (i - j) <= int(lower)
    if int(upper) >= 0:
        keep &= (j - i) <= int(upper)
    return np.where(keep, x, np.zeros((), x.dtype))


@register("topk")
def topk(x, k=1, axis=-1, ascending=False, sort=True, return_indices=True, **_):
    x = np.asarray(x)
    ax = int(axis) % x.ndim
    order = np.argsort(x if ascending else -x, axis=ax, kind="stable")
    idx = np.take(order, np.arange(int(k)), axis=ax)
    return np.take_along_axis(x, idx, axis=ax), idx.astype(np.int32)


@register("argsort")
def argsort(x, axis=-1, ascending=False, **_):
    x = np.asarray(x)
    return np.argsort(x if ascending else -x, axis=int(axis), kind="stable").astype(np.int32)


@register("depth_to_space")
def depth_to_space(x, block_size, **_):
    x = np.asarray(x)
    nb, c, h, w = x.shape
    b = int(block_size)
    y = x.reshape(nb, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)  # DCR, like Core ML
    return y.reshape(nb, c // (b * b), h * b, w * b)


@register("space_to_depth")
def space_to_depth(x, block_size, **_):
    x = np.asarray(x)
    nb, c, h, w = x.shape
    b = int(block_size)
    y = x.reshape(nb, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(nb, c * b * b, h // b, w // b)


@register("pixel_shuffle")
def pixel_shuffle(x, upscale_factor, **_):
    x = np.asarray(x)
    nb, c, h, w = x.shape
    r = int(upscale_factor)
    y = x.reshape(nb, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(nb, c // (r * r), h * r, w * r)
