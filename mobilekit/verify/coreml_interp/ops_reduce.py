"""Reductions along axes (MIL `reduce_*`, arg max/min)."""

from __future__ import annotations

import numpy as np

from .registry import register


def _axes(x, axes):
    if axes is None:
        return None
    return tuple(int(a) % max(x.ndim, 1) for a in np.asarray(axes).ravel())


def _reduce(fn):
    def op(x, axes=None, keep_dims=False, **_):
        x = np.asarray(x)
        return fn(x, _axes(x, axes), bool(keep_dims))

    return op


_REDUCE = {
    "reduce_sum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "reduce_mean": lambda x, a, k: np.mean(x, axis=a, keepdims=k, dtype=np.float32),
    "reduce_max": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "reduce_min": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "reduce_prod": lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    "reduce_l1_norm": lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    "reduce_l2_norm": lambda x, a, k: np.sqrt(np.sum(np.square(x), axis=a, keepdims=k)),
    "reduce_sum_square": lambda x, a, k: np.sum(np.square(x), axis=a, keepdims=k),
    "reduce_log_sum": lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    "reduce_log_sum_exp": lambda x, a, k: _logsumexp(x, a, k),
}


def _logsumexp(x, a, k):
    m = np.max(x, axis=a, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=a, keepdims=True)) + m
    return out if k else np.squeeze(out, axis=a)


for _name, _fn in _REDUCE.items():
    register(_name)(_reduce(_fn))


@register("reduce_argmax")
def reduce_argmax(x, axis=-1, keep_dims=False, **_):
    out = np.argmax(np.asarray(x), axis=int(axis))
    return np.expand_dims(out, int(axis)) if keep_dims else out


@register("reduce_argmin")
def reduce_argmin(x, axis=-1, keep_dims=False, **_):
    out = np.argmin(np.asarray(x), axis=int(axis))
    return np.expand_dims(out, int(axis)) if keep_dims else out


@register("cumsum")
def cumsum(x, axis=0, exclusive=False, reverse=False, **_):
    x = np.asarray(x)
    ax = int(axis)
    if reverse:
        x = np.flip(x, ax)
    y = np.cumsum(x, axis=ax)
    if exclusive:
        y = y - x
    return np.flip(y, ax) if reverse else y
