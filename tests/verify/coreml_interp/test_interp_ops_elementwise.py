"""Elementwise ops against the torch op they stand for, on random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from cmi_helpers import close, rand, run_mil  # noqa: E402

T = torch.from_numpy
POS = dict(scale=1.0)

BINARY = [
    ("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("real_div", torch.div),
    ("maximum", torch.maximum), ("minimum", torch.minimum), ("pow", None),
    ("equal", torch.eq), ("not_equal", torch.ne), ("greater", torch.gt), ("greater_equal", torch.ge),
    ("less", torch.lt), ("less_equal", torch.le),
]


@pytest.mark.parametrize(("op", "ref"), BINARY, ids=[b[0] for b in BINARY])
def test_binary_broadcasting(op, ref):
    a, b = rand(2, 3, 4, seed=1), rand(3, 1, seed=2)
    if op == "pow":
        a, ref = np.abs(a) + 0.1, torch.pow
    if op in ("equal", "not_equal"):
        b = np.round(b)
        a = np.round(a)
    (got,) = run_mil(lambda mb, x, y: getattr(mb, op)(x=x, y=y), a, b)
    close(got, ref(T(a), T(b)), atol=1e-5)


def test_integer_binary_ops():
    a = np.array([[7, -7, 5], [9, -3, 4]], np.int32)
    b = np.array([2, 3, -2], np.int32)
    fd, md = run_mil(lambda mb, x, y: (mb.floor_div(x=x, y=y), mb.mod(x=x, y=y)), a, b)
    close(fd, torch.div(T(a), T(b), rounding_mode="floor"))
    close(md, torch.remainder(T(a), T(b)))


def test_logical_ops():
    a = rand(3, 4, seed=3) > 0
    b = rand(3, 4, seed=4) > 0
    got = run_mil(lambda mb, x, y: (mb.logical_and(x=x, y=y), mb.logical_or(x=x, y=y),
                                    mb.logical_xor(x=x, y=y), mb.logical_not(x=x)), a, b)
    for g, w in zip(got, [torch.logical_and(T(a), T(b)), torch.logical_or(T(a), T(b)),
                          torch.logical_xor(T(a), T(b)), torch.logical_not(T(a))]):
        close(g, w)


UNARY = [
    ("abs", torch.abs, {}), ("exp", torch.exp, {}), ("exp2", torch.exp2, {}), ("sqrt", torch.sqrt, POS),
    ("sin", torch.sin, {}), ("cos", torch.cos, {}), ("tan", torch.tan, {}), ("tanh", torch.tanh, {}),
    ("atan", torch.atan, {}), ("sinh", torch.sinh, {}), ("cosh", torch.cosh, {}),
    ("floor", torch.floor, {}), ("ceil", torch.ceil, {}), ("sign", torch.sign, {}), ("square", torch.square, {}),
    ("round", None, {}), ("erf", torch.erf, {}),
    ("asin", torch.asin, "unit"), ("acos", torch.acos, "unit"), ("atanh", torch.atanh, "unit"),
    ("relu", torch.relu, {}), ("relu6", torch.nn.functional.relu6, {}), ("sigmoid", torch.sigmoid, {}),
    ("silu", torch.nn.functional.silu, {}), ("softplus", torch.nn.functional.softplus, {}),
    ("softsign", torch.nn.functional.softsign, {}),
    ("log", torch.log, POS), ("rsqrt", torch.rsqrt, POS),
]


@pytest.mark.parametrize(("op", "ref", "kind"), UNARY, ids=[u[0] for u in UNARY])
def test_unary(op, ref, kind):
    x = rand(2, 3, 5, seed=5, scale=2.0)
    if kind is POS:
        x = np.abs(x) + 0.5
    if kind == "unit":
        x = np.tanh(x) * 0.9
    if op == "round":
        x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.4, 2.6], np.float32)
        ref = lambda v: torch.sign(v) * torch.floor(torch.abs(v) + 0.5)  # noqa: E731 - half away from zero
    kwargs = {"epsilon": 0.0} if op in ("log", "rsqrt") else {}
    (got,) = run_mil(lambda mb, v: getattr(mb, op)(x=v, **kwargs), x)
    close(got, ref(T(x)), atol=1e-5, rtol=1e-5)


def test_inverse_with_epsilon():
    x = np.abs(rand(4, 4, seed=6)) + 0.5
    (got,) = run_mil(lambda mb, v: mb.inverse(x=v, epsilon=1e-4), x)
    close(got, 1.0 / (T(x) + 1e-4))


PARAM_ACTIVATIONS = [
    ("leaky_relu", dict(alpha=0.1), lambda v: torch.nn.functional.leaky_relu(v, 0.1)),
    ("elu", dict(alpha=0.7), lambda v: torch.nn.functional.elu(v, 0.7)),
    ("clip", dict(alpha=-0.5, beta=0.8), lambda v: torch.clamp(v, -0.5, 0.8)),
    ("sigmoid_hard", dict(alpha=1 / 6, beta=0.5), torch.nn.functional.hardsigmoid),
    ("gelu", dict(mode="EXACT"), torch.nn.functional.gelu),
    ("gelu", dict(mode="TANH_APPROXIMATION"), lambda v: torch.nn.functional.gelu(v, approximate="tanh")),
    ("gelu", dict(mode="SIGMOID_APPROXIMATION"), lambda v: v * torch.sigmoid(1.702 * v)),
    ("linear_activation", dict(alpha=2.0, beta=-1.0), lambda v: 2.0 * v - 1.0),
    ("scaled_tanh", dict(alpha=1.5, beta=0.5), lambda v: 1.5 * torch.tanh(0.5 * v)),
    ("thresholded_relu", dict(alpha=0.3), lambda v: torch.nn.functional.threshold(v, 0.3, 0.0)),
    ("clamped_relu", dict(alpha=0.1, beta=2.0), lambda v: torch.clamp(torch.nn.functional.leaky_relu(v, 0.1), max=2.0)),
    ("threshold", dict(alpha=0.2), lambda v: torch.clamp(v, min=0.2)),
]


@pytest.mark.parametrize(("op", "kw", "ref"), PARAM_ACTIVATIONS,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(PARAM_ACTIVATIONS)])
def test_parametric_activations(op, kw, ref):
    x = rand(2, 4, 3, seed=7, scale=2.0)
    (got,) = run_mil(lambda mb, v: getattr(mb, op)(x=v, **kw), x)
    close(got, ref(T(x)), atol=1e-5)


def test_prelu_per_channel():
    x = rand(1, 3, 4, 4, seed=8)
    alpha = np.array([0.1, 0.2, 0.3], np.float32)
    (got,) = run_mil(lambda mb, v: mb.prelu(x=v, alpha=alpha), x)
    close(got, torch.nn.functional.prelu(T(x), T(alpha)))


def test_fp16_outputs_are_rounded_and_overflow_to_inf():
    x = np.array([1.0, 1e-3, 300.0, 70000.0 / 300.0 * 1.0], np.float32).astype(np.float16)
    (got,) = run_mil(lambda mb, v: mb.mul(x=v, y=np.float16(300.0)), x)
    assert got.dtype == np.float16
    want = (x.astype(np.float32) * 300.0).astype(np.float16)
    np.testing.assert_array_equal(got, want)
    assert np.isinf(got[2]) and math.isfinite(float(got[1]))
    (as32,) = run_mil(lambda mb, v: mb.mul(x=v, y=np.float16(300.0)), x, fp16=False)
    assert as32.dtype == np.float32 and as32[2] == pytest.approx(90000.0)
