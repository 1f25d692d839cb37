"""Convolution, pooling and resampling ops against torch on random inputs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from cmi_helpers import close, rand, run_mil  # noqa: E402

F = torch.nn.functional
T = torch.from_numpy

CONVS = [
    # (name, x shape, weight shape, strides, dilations, groups, pad_type, pad, torch padding)
    ("plain", (1, 3, 9, 9), (8, 3, 3, 3), [1, 1], [1, 1], 1, "valid", None, 0),
    ("strided-custom", (2, 4, 10, 9), (6, 4, 3, 3), [2, 2], [1, 1], 1, "custom", [1, 1, 1, 1], 1),
    ("depthwise", (1, 8, 8, 8), (8, 1, 3, 3), [1, 1], [1, 1], 8, "custom", [1, 1, 1, 1], 1),
    ("grouped", (1, 8, 7, 7), (12, 4, 3, 3), [1, 1], [1, 1], 2, "valid", None, 0),
    ("dilated", (1, 3, 12, 12), (5, 3, 3, 3), [1, 1], [2, 2], 1, "custom", [2, 2, 2, 2], 2),
    ("1x1", (1, 16, 5, 5), (4, 16, 1, 1), [1, 1], [1, 1], 1, "valid", None, 0),
    ("conv1d", (2, 4, 11), (6, 4, 3), [2], [1], 1, "custom", [1, 1], 1),
    ("conv3d", (1, 2, 5, 6, 6), (3, 2, 3, 3, 3), [1, 1, 1], [1, 1, 1], 1, "valid", None, 0),
]


@pytest.mark.parametrize("case", CONVS, ids=[c[0] for c in CONVS])
def test_conv(case):
    _, xs, ws, strides, dil, groups, pad_type, pad, tpad = case
    x, w, b = rand(*xs, seed=1), rand(*ws, seed=2), rand(ws[0], seed=3)
    kw = {"pad": pad} if pad is not None else {}
    (got,) = run_mil(lambda mb, v: mb.conv(x=v, weight=w, bias=b, strides=strides, dilations=dil, groups=groups,
                                           pad_type=pad_type, **kw), x)
    fn = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}[len(xs)]
    close(got, fn(T(x), T(w), T(b), stride=strides, padding=tpad, dilation=dil, groups=groups), atol=1e-4)


@pytest.mark.parametrize("pad_type", ["same", "same_lower"])
def test_conv_same_padding(pad_type):
    x, w = rand(1, 3, 8, 8, seed=4), rand(4, 3, 4, 4, seed=5)  # even kernel: uneven padding
    (got,) = run_mil(lambda mb, v: mb.conv(x=v, weight=w, strides=[1, 1], pad_type=pad_type), x)
    pads = (1, 2, 1, 2) if pad_type == "same" else (2, 1, 2, 1)  # torch F.pad order: left, right, top, bottom
    close(got, F.conv2d(F.pad(T(x), pads), T(w)), atol=1e-4)


@pytest.mark.parametrize(("stride", "pad", "groups"), [(1, 0, 1), (2, 1, 1), (2, 0, 2)])
def test_conv_transpose(stride, pad, groups):
    x, w = rand(1, 4, 5, 5, seed=6), rand(4, 3, 3, 3, seed=7)
    b = rand(3 * groups, seed=8)
    (got,) = run_mil(lambda mb, v: mb.conv_transpose(x=v, weight=w, bias=b, strides=[stride, stride], groups=groups,
                                                     pad_type="custom", pad=[pad] * 4), x)
    close(got, F.conv_transpose2d(T(x), T(w), T(b), stride=stride, padding=pad, groups=groups), atol=1e-4)


def test_conv_transpose_output_padding_via_output_shape():
    x, w, b = rand(1, 4, 5, 5, seed=12), rand(4, 3, 3, 3, seed=13), rand(3, seed=14)
    want = F.conv_transpose2d(T(x), T(w), T(b), stride=2, padding=1, output_padding=1)
    (got,) = run_mil(lambda mb, v: mb.conv_transpose(x=v, weight=w, bias=b, strides=[2, 2], pad_type="custom",
                                                     pad=[1, 1, 1, 1], output_shape=list(want.shape)), x)
    close(got, want, atol=1e-4)


POOLS = [
    ("max-2x2", "max", [2, 2], [2, 2], "valid", None, False, {}),
    ("max-3x3-pad", "max", [3, 3], [2, 2], "custom", [1, 1, 1, 1], False, {"padding": 1}),
    ("max-ceil", "max", [3, 3], [2, 2], "valid", None, True, {"ceil_mode": True}),
    ("avg-2x2", "avg", [2, 2], [2, 2], "valid", None, False, {}),
    ("avg-pad-exclude", "avg", [3, 3], [1, 1], "custom", [1, 1, 1, 1], False, {"padding": 1, "count_include_pad": False}),
    ("avg-pad-include", "avg", [3, 3], [1, 1], "custom", [1, 1, 1, 1], False, {"padding": 1, "count_include_pad": True}),
    ("avg-ceil", "avg", [2, 2], [2, 2], "valid", None, True, {"ceil_mode": True}),
]


@pytest.mark.parametrize("case", POOLS, ids=[p[0] for p in POOLS])
def test_pool(case):
    _, kind, k, s, pad_type, pad, ceil, tkw = case
    x = rand(2, 3, 7, 7, seed=9)
    kw = {"pad": pad} if pad is not None else {}
    if kind == "avg":
        kw["exclude_padding_from_average"] = not tkw.get("count_include_pad", True)
    fn = (lambda mb: mb.max_pool) if kind == "max" else (lambda mb: mb.avg_pool)
    (got,) = run_mil(lambda mb, v: fn(mb)(x=v, kernel_sizes=k, strides=s, pad_type=pad_type, ceil_mode=ceil, **kw), x)
    ref = F.max_pool2d if kind == "max" else F.avg_pool2d
    close(got, ref(T(x), k, s, **tkw), atol=1e-5)


def test_global_average_pool_via_reduce_mean():
    x = rand(1, 8, 4, 4, seed=10)
    (got,) = run_mil(lambda mb, v: mb.reduce_mean(x=v, axes=[2, 3], keep_dims=True), x)
    close(got, F.adaptive_avg_pool2d(T(x), 1), atol=1e-6)


def test_upsample_nearest_and_bilinear():
    x = rand(1, 2, 3, 4, seed=11)
    near, bil, bil_ac = run_mil(lambda mb, v: (
        mb.upsample_nearest_neighbor(x=v, scale_factor_height=2, scale_factor_width=3),
        mb.upsample_bilinear(x=v, scale_factor_height=2.0, scale_factor_width=2.0, align_corners=False),
        mb.upsample_bilinear(x=v, scale_factor_height=2.0, scale_factor_width=2.0, align_corners=True)), x)
    close(near, F.interpolate(T(x), scale_factor=(2, 3), mode="nearest"))
    close(bil, F.interpolate(T(x), scale_factor=2, mode="bilinear", align_corners=False), atol=1e-5)
    close(bil_ac, F.interpolate(T(x), scale_factor=2, mode="bilinear", align_corners=True), atol=1e-5)
