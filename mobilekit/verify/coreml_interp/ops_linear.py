"""Linear algebra: linear, matmul, einsum."""

from __future__ import annotations

import numpy as np

from ._torch import n, t, torch
from .registry import register


@register("linear")
def linear(x, weight, bias=None, **_):
    y = np.matmul(np.asarray(x, np.float32), np.asarray(weight, np.float32).T)
    return y if bias is None else y + np.asarray(bias, np.float32)


@register("matmul")
def matmul(x, y, transpose_x=False, transpose_y=False, **_):
    x, y = np.asarray(x), np.asarray(y)
    if transpose_x:
        x = np.swapaxes(x, -1, -2) if x.ndim > 1 else x
    if transpose_y:
        y = np.swapaxes(y, -1, -2) if y.ndim > 1 else y
    return np.matmul(x, y)


@register("einsum")
def einsum(values, equation, **_):
    return n(torch().einsum(str(equation), *[t(np.asarray(v)) for v in values]))


@register("scaled_dot_product_attention")
def scaled_dot_product_attention(query, key, value, attn_mask=None, **_):
    """iOS18: softmax(Q K^T / sqrt(E) + mask) V; a bool mask marks the positions that take part."""
    q, k, v = (np.asarray(a, np.float32) for a in (query, key, value))
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) / np.float32(np.sqrt(q.shape[-1]))
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        scores = np.where(m, scores, np.float32(-np.inf)) if m.dtype == np.bool_ else scores + m.astype(np.float32)
    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    return np.matmul(e / e.sum(axis=-1, keepdims=True), v)
