"""Linear algebra, normalization, softmax and reduction ops against torch on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from cmi_helpers import close, rand, run_mil  # noqa: E402

F = torch.nn.functional
T = torch.from_numpy


def test_linear():
    x, w, b = rand(2, 5, 8, seed=1), rand(6, 8, seed=2), rand(6, seed=3)
    (got,) = run_mil(lambda mb, v: mb.linear(x=v, weight=w, bias=b), x)
    close(got, F.linear(T(x), T(w), T(b)), atol=1e-5)


@pytest.mark.parametrize(("tx", "ty"), [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_batched_with_transposes(tx, ty):
    a = rand(2, 3, 4, 5, seed=4)
    b = rand(3, 5, 6, seed=5)
    if tx:
        a = np.ascontiguousarray(np.swapaxes(a, -1, -2))
    if ty:
        b = np.ascontiguousarray(np.swapaxes(b, -1, -2))
    (got,) = run_mil(lambda mb, x, y: mb.matmul(x=x, y=y, transpose_x=tx, transpose_y=ty), a, b)
    ta = T(a).transpose(-1, -2) if tx else T(a)
    tb = T(b).transpose(-1, -2) if ty else T(b)
    close(got, torch.matmul(ta, tb), atol=1e-5)


@pytest.mark.parametrize(("equation", "xs", "ys"), [("nchw,nwhu->nchu", (1, 3, 2, 4), (1, 4, 2, 5)),
                                                    ("chw,whr->chr", (3, 2, 4), (4, 2, 6))])
def test_einsum(equation, xs, ys):  # the two equation forms MIL's einsum takes
    a, b = rand(*xs, seed=6), rand(*ys, seed=7)
    (got,) = run_mil(lambda mb, x, y: mb.einsum(values=(x, y), equation=equation), a, b)
    close(got, torch.einsum(equation, T(a), T(b)), atol=1e-5)


@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_scaled_dot_product_attention_ios18(mask):
    q, k, v = rand(1, 2, 4, 8, seed=30), rand(1, 2, 6, 8, seed=31), rand(1, 2, 6, 5, seed=32)
    m = None
    if mask == "bool":
        m = np.random.default_rng(33).random((4, 6)) > 0.3
        m[:, 0] = True  # every query attends somewhere
    elif mask == "float":
        m = rand(4, 6, seed=34)
    kw = {} if m is None else {"attn_mask": m}
    (got,) = run_mil(lambda mb, a, b_, c: mb.scaled_dot_product_attention(query=a, key=b_, value=c, **kw),
                     q, k, v, opset="iOS18")
    want = F.scaled_dot_product_attention(T(q), T(k), T(v), attn_mask=None if m is None else T(m))
    close(got, want, atol=1e-5)


def test_batch_norm():
    x = rand(2, 4, 3, 3, seed=8)
    mean, var = rand(4, seed=9), np.abs(rand(4, seed=10)) + 0.5
    gamma, beta = rand(4, seed=11), rand(4, seed=12)
    (got,) = run_mil(lambda mb, v: mb.batch_norm(x=v, mean=mean, variance=var, gamma=gamma, beta=beta, epsilon=1e-3), x)
    close(got, F.batch_norm(T(x), T(mean), T(var), T(gamma), T(beta), eps=1e-3), atol=1e-5)


def test_instance_norm():
    x = rand(2, 4, 5, 5, seed=13)
    gamma, beta = rand(4, seed=14), rand(4, seed=15)
    (got,) = run_mil(lambda mb, v: mb.instance_norm(x=v, gamma=gamma, beta=beta, epsilon=1e-5), x)
    close(got, F.instance_norm(T(x), weight=T(gamma), bias=T(beta), eps=1e-5), atol=1e-5)


def test_layer_norm_last_axis():
    x = rand(2, 7, 16, seed=16)
    gamma, beta = rand(16, seed=17), rand(16, seed=18)
    (got,) = run_mil(lambda mb, v: mb.layer_norm(x=v, axes=[-1], gamma=gamma, beta=beta, epsilon=1e-5), x)
    close(got, F.layer_norm(T(x), (16,), T(gamma), T(beta), eps=1e-5), atol=1e-5)


def test_layer_norm_two_axes_no_affine():
    x = rand(2, 3, 4, 5, seed=19)
    (got,) = run_mil(lambda mb, v: mb.layer_norm(x=v, axes=[2, 3], epsilon=1e-5), x)
    close(got, F.layer_norm(T(x), (4, 5), eps=1e-5), atol=1e-5)


def test_l2_norm():
    x = rand(2, 3, 4, 5, seed=20)
    (got,) = run_mil(lambda mb, v: mb.l2_norm(x=v, epsilon=1e-6), x)
    close(got, T(x) / (T(x).square().sum((1, 2, 3), keepdim=True) + 1e-6).sqrt(), atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax(axis):
    x = rand(2, 5, 7, seed=21, scale=4.0)
    (sm,) = run_mil(lambda mb, v: mb.softmax(x=v, axis=axis), x)
    close(sm, torch.softmax(T(x), axis), atol=1e-6)


REDUCE = [
    ("reduce_sum", lambda v, a, k: v.sum(a, keepdim=k)),
    ("reduce_mean", lambda v, a, k: v.mean(a, keepdim=k)),
    ("reduce_max", lambda v, a, k: v.amax(a, keepdim=k)),
    ("reduce_min", lambda v, a, k: v.amin(a, keepdim=k)),
    ("reduce_prod", lambda v, a, k: v.prod(a[0], keepdim=k)),
    ("reduce_l1_norm", lambda v, a, k: v.abs().sum(a, keepdim=k)),
    ("reduce_l2_norm", lambda v, a, k: v.square().sum(a, keepdim=k).sqrt()),
    ("reduce_sum_square", lambda v, a, k: v.square().sum(a, keepdim=k)),
    ("reduce_log_sum_exp", lambda v, a, k: torch.logsumexp(v, a, keepdim=k)),
    ("reduce_log_sum", lambda v, a, k: v.sum(a, keepdim=k).log()),
]


@pytest.mark.parametrize(("op", "ref"), REDUCE, ids=[r[0] for r in REDUCE])
@pytest.mark.parametrize("keep", [False, True])
def test_reductions(op, ref, keep):
    x = rand(2, 3, 4, seed=22)
    axes = [1] if op == "reduce_prod" else [1, -1]
    if op == "reduce_log_sum":
        x = np.abs(x) + 0.1
    (got,) = run_mil(lambda mb, v: getattr(mb, op)(x=v, axes=axes, keep_dims=keep), x)
    close(got, ref(T(x), tuple(axes), keep), atol=1e-5)


def test_argmax_argmin_cumsum():
    x = rand(3, 6, seed=23)
    amax, amin, cs, csr = run_mil(lambda mb, v: (mb.reduce_argmax(x=v, axis=1), mb.reduce_argmin(x=v, axis=0, keep_dims=True),
                                                  mb.cumsum(x=v, axis=1), mb.cumsum(x=v, axis=1, reverse=True, exclusive=True)), x)
    close(amax, torch.argmax(T(x), 1).int())
    close(amin, torch.argmin(T(x), 0, keepdim=True).int())
    close(cs, torch.cumsum(T(x), 1), atol=1e-5)
    want = torch.flip(torch.cumsum(torch.flip(T(x), [1]), 1), [1]) - T(x)
    close(csr, want, atol=1e-5)
