"""Normalizations and softmax."""

from __future__ import annotations

import numpy as np

from .registry import register


def _axes(axes, ndim: int) -> tuple[int, ...]:
    return tuple(int(a) % ndim for a in np.asarray(axes).ravel())


def _channel(v, ndim: int) -> np.ndarray:
    return np.asarray(v, np.float32).reshape((1, -1) + (1,) * (ndim - 2))


@register("batch_norm")
def batch_norm(x, mean, variance, gamma=None, beta=None, epsilon=1e-5, **_):
    x = np.asarray(x, np.float32)
    y = (x - _channel(mean, x.ndim)) / np.sqrt(_channel(variance, x.ndim) + np.float32(epsilon))
    if gamma is not None:
        y = y * _channel(gamma, x.ndim)
    if beta is not None:
        y = y + _channel(beta, x.ndim)
    return y


@register("instance_norm")
def instance_norm(x, gamma=None, beta=None, epsilon=1e-5, **_):
    x = np.asarray(x, np.float32)
    axes = tuple(range(2, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + np.float32(epsilon))
    if gamma is not None:
        y = y * _channel(gamma, x.ndim)
    if beta is not None:
        y = y + _channel(beta, x.ndim)
    return y


@register("layer_norm")
def layer_norm(x, axes=None, gamma=None, beta=None, epsilon=1e-5, **_):
    x = np.asarray(x, np.float32)
    ax = tuple(range(x.ndim)) if axes is None else _axes(axes, x.ndim)
    mu = x.mean(axis=ax, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=ax, keepdims=True)
    y = (x - mu) / np.sqrt(var + np.float32(epsilon))
    if gamma is not None:  # gamma/beta have the shape of the normalized (trailing) axes
        y = y * np.asarray(gamma, np.float32)
    if beta is not None:
        y = y + np.asarray(beta, np.float32)
    return y


@register("l2_norm")
def l2_norm(x, epsilon=1e-6, **_):
    """x / sqrt(sum(x^2) + eps) over the last three axes (MIL's rank >= 3 form)."""
    x = np.asarray(x, np.float32)
    ax = tuple(range(x.ndim - 3, x.ndim))
    return x / np.sqrt((x * x).sum(axis=ax, keepdims=True) + np.float32(epsilon))


@register("softmax")
def softmax(x, axis=-1, **_):
    x = np.asarray(x, np.float32)
    e = np.exp(x - x.max(axis=int(axis), keepdims=True))
    return e / e.sum(axis=int(axis), keepdims=True)
