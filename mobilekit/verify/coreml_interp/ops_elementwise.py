"""Elementwise ops: binary arithmetic and comparisons, unary math, activations."""

from __future__ import annotations

import math

import numpy as np

from .registry import register


def _f(x):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float32)


# -- binary (NumPy broadcasting is MIL's) ------------------------------------------------------

_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply,
    "maximum": np.maximum, "minimum": np.minimum,
    "equal": np.equal, "not_equal": np.not_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "less": np.less, "less_equal": np.less_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor,
}


def _binary(fn):
    def op(x, y, **_):
        return fn(np.asarray(x), np.asarray(y))

    return op


for _name, _fn in _BINARY.items():
    register(_name)(_binary(_fn))


@register("real_div")
def real_div(x, y, **_):
    return _f(x) / _f(y)


@register("floor_div")
def floor_div(x, y, **_):
    return np.floor_divide(np.asarray(x), np.asarray(y))


@register("mod")
def mod(x, y, **_):
    return np.mod(np.asarray(x), np.asarray(y))  # sign of the divisor, like torch.remainder


@register("pow")
def pow_(x, y, **_):
    return np.power(_f(x), np.asarray(y, dtype=np.float32) if np.asarray(x).dtype.kind == "f" else y)


# -- unary math --------------------------------------------------------------------------------

_UNARY = {
    "abs": np.abs, "exp": np.exp, "exp2": np.exp2, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
    "cosh": np.cosh, "tanh": np.tanh, "atanh": np.arctanh,
    "floor": np.floor, "ceil": np.ceil, "sign": np.sign, "square": np.square,
    "logical_not": np.logical_not,
}


def _unary(fn):
    def op(x, **_):
        return fn(np.asarray(x))

    return op


for _name, _fn in _UNARY.items():
    register(_name)(_unary(_fn))


@register("round")
def round_(x, **_):
    x = np.asarray(x)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)  # MIL rounds half away from zero


@register("log")
def log(x, epsilon=0.0, **_):
    return np.log(_f(x) + np.float32(epsilon))


@register("rsqrt")
def rsqrt(x, epsilon=1e-12, **_):
    return np.float32(1.0) / np.sqrt(_f(x) + np.float32(epsilon))


@register("inverse")
def inverse(x, epsilon=1e-4, **_):
    return np.float32(1.0) / (_f(x) + np.float32(epsilon))


@register("erf")
def erf(x, **_):
    from ._torch import n, t, torch

    return n(torch().erf(t(_f(x))))


@register("clip")
def clip(x, alpha, beta, **_):
    return np.minimum(np.maximum(x, np.float32(alpha)), np.float32(beta))


# -- activations -------------------------------------------------------------------------------


@register("relu")
def relu(x, **_):
    return np.maximum(x, np.zeros((), np.asarray(x).dtype))


@register("relu6")
def relu6(x, **_):
    return np.clip(x, 0.0, 6.0)


@register("sigmoid")
def sigmoid(x, **_):
    x = _f(x)
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


@register("silu")
def silu(x, **_):
    return _f(x) * sigmoid(x)


@register("sigmoid_hard")
def sigmoid_hard(x, alpha=0.2, beta=0.5, **_):
    return np.clip(np.float32(alpha) * _f(x) + np.float32(beta), 0.0, 1.0)


@register("leaky_relu")
def leaky_relu(x, alpha=0.01, **_):
    x = _f(x)
    return np.where(x >= 0, x, np.float32(alpha) * x)


@register("elu")
def elu(x, alpha=1.0, **_):
    x = _f(x)
    return np.where(x > 0, x, np.float32(alpha) * np.expm1(x))


@register("prelu")
def prelu(x, alpha, **_):
    x = _f(x)
    a = np.asarray(alpha, np.float32).reshape((1, -1) + (1,) * (x.ndim - 2))  # per channel (axis 1)
    return np.where(x >= 0, x, a * x)


@register("softplus")
def softplus(x, **_):
    return np.logaddexp(np.float32(0.0), _f(x))


@register("softsign")
def softsign(x, **_):
    x = _f(x)
    return x / (np.float32(1.0) + np.abs(x))


@register("gelu")
def gelu(x, mode="EXACT", **_):
    x = _f(x)
    if mode == "EXACT":
        return np.float32(0.5) * x * (np.float32(1.0) + erf(x / np.float32(math.sqrt(2.0))))
    if mode == "TANH_APPROXIMATION":
        inner = np.float32(math.sqrt(2.0 / math.pi)) * (x + np.float32(0.044715) * x ** 3)
        return np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner))
    if mode == "SIGMOID_APPROXIMATION":
        return x * sigmoid(np.float32(1.702) * x)
    raise ValueError(f"unknown gelu mode {mode!r}")


@register("linear_activation")
def linear_activation(x, alpha=1.0, beta=0.0, **_):
    return np.float32(alpha) * _f(x) + np.float32(beta)


@register("scaled_tanh")
def scaled_tanh(x, alpha=1.0, beta=1.0, **_):
    return np.float32(alpha) * np.tanh(np.float32(beta) * _f(x))


@register("thresholded_relu")
def thresholded_relu(x, alpha=1.0, **_):
    x = _f(x)
    return np.where(x > alpha, x, np.float32(0.0))


@register("clamped_relu")
def clamped_relu(x, alpha=0.0, beta=6.0, **_):
    x = _f(x)
    return np.minimum(np.where(x >= 0, x, np.float32(alpha) * x), np.float32(beta))


@register("threshold")
def threshold(x, alpha, **_):
    return np.maximum(_f(x), np.float32(alpha))  # MIL: max(x, alpha)
