"""Shape/data-movement ops against the torch op they stand for, on random inputs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from cmi_helpers import close, rand, run_mil  # noqa: E402

F = torch.nn.functional
T = torch.from_numpy


def test_reshape_transpose_squeeze_expand():
    x = rand(2, 3, 4, seed=1)
    r, tr, ex, sq = run_mil(lambda mb, v: (
        mb.reshape(x=v, shape=[4, -1]),
        mb.transpose(x=v, perm=[2, 0, 1]),
        mb.expand_dims(x=v, axes=[0, -1]),
        mb.squeeze(x=mb.expand_dims(x=v, axes=[1]), axes=[1])), x)
    close(r, T(x).reshape(4, -1))
    close(tr, T(x).permute(2, 0, 1))
    close(ex, T(x)[None, ..., None])
    close(sq, T(x))


def test_concat_stack_split():
    a, b = rand(2, 3, 4, seed=2), rand(2, 5, 4, seed=3)
    cat, st, *parts = run_mil(lambda mb, x, y: (
        mb.concat(values=(x, y), axis=1),
        mb.stack(values=(x, x), axis=0),
        *mb.split(x=y, split_sizes=[2, 3], axis=1),
        *mb.split(x=y, num_splits=2, axis=2)), a, b)
    close(cat, torch.cat([T(a), T(b)], 1))
    close(st, torch.stack([T(a), T(a)], 0))
    for got, want in zip(parts, [*torch.split(T(b), [2, 3], 1), *torch.chunk(T(b), 2, 2)]):
        close(got, want)


def test_concat_interleave():
    a, b = rand(1, 2, 3, seed=4), rand(1, 2, 3, seed=5)
    (got,) = run_mil(lambda mb, x, y: mb.concat(values=(x, y), axis=1, interleave=True), a, b)
    close(got, torch.stack([T(a), T(b)], 2).reshape(1, 4, 3))


def test_slice_by_index():
    x = rand(4, 6, 5, seed=6)
    s1, s2, s3 = run_mil(lambda mb, v: (
        mb.slice_by_index(x=v, begin=[1, 0, 1], end=[3, 6, 5], stride=[1, 2, 2]),
        mb.slice_by_index(x=v, begin=[0, -3, 0], end=[0, 6, 2], begin_mask=[True, False, False],
                          end_mask=[True, True, False]),
        mb.slice_by_index(x=v, begin=[2, 0, 0], end=[3, 6, 5], squeeze_mask=[True, False, False])), x)
    tx = T(x)
    close(s1, tx[1:3, 0:6:2, 1:5:2])
    close(s2, tx[:, -3:, 0:2])
    close(s3, tx[2])


def test_slice_by_size():
    x = rand(4, 6, seed=7)
    (got,) = run_mil(lambda mb, v: mb.slice_by_size(x=v, begin=[1, 2], size=[2, -1]), x)
    close(got, T(x)[1:3, 2:])


def test_gather_family():
    x = rand(5, 4, seed=8)
    idx = np.array([[0, 4], [2, 2]], np.int32)
    along = np.array([[0, 1, 2, 3], [4, 3, 2, 1]], np.int32)
    nd = np.array([[0, 1], [4, 3]], np.int32)
    g0, g1, ga, gn = run_mil(lambda mb, v: (
        mb.gather(x=v, indices=idx, axis=0),
        mb.gather(x=v, indices=np.array([3, 0], np.int32), axis=1),
        mb.gather_along_axis(x=v, indices=along, axis=0),
        mb.gather_nd(x=v, indices=nd)), x)
    tx = T(x)
    close(g0, tx[torch.from_numpy(idx).long()])
    close(g1, tx[:, [3, 0]])
    close(ga, torch.gather(tx, 0, torch.from_numpy(along).long()))
    close(gn, tx[[0, 4], [1, 3]])


def test_embedding_lookup_as_gather_with_int_input():
    table = rand(10, 4, seed=9)
    ids = np.array([[1, 7, 3]], np.int32)
    (got,) = run_mil(lambda mb, i: mb.gather(x=table, indices=i, axis=0), ids)
    close(got, F.embedding(T(ids).long(), T(table)))


def test_tile_pad_select():
    x = rand(1, 2, 3, 3, seed=10)
    c = rand(1, 2, 3, 3, seed=11) > 0
    ti, pc, pr, pe, se = run_mil(lambda mb, v, m: (
        mb.tile(x=v, reps=[1, 2, 1, 2]),
        mb.pad(x=v, pad=[1, 2, 0, 1], mode="constant", constant_val=0.5),
        mb.pad(x=v, pad=[1, 1, 1, 1], mode="reflect"),
        mb.pad(x=v, pad=[2, 0, 0, 1], mode="replicate"),
        mb.select(cond=m, a=v, b=mb.mul(x=v, y=-1.0))), x, c)
    tx = T(x)
    close(ti, tx.repeat(1, 2, 1, 2))
    close(pc, F.pad(tx, (0, 1, 1, 2), value=0.5))
    close(pr, F.pad(tx, (1, 1, 1, 1), mode="reflect"))
    close(pe, F.pad(tx, (0, 1, 2, 0), mode="replicate"))
    close(se, torch.where(T(c), tx, -tx))


def test_cast_and_shape_ops():
    x = rand(2, 3, seed=12, scale=3.0)
    ci, cb, sh, fl, rg, fll = run_mil(lambda mb, v: (
        mb.cast(x=v, dtype="int32"),
        mb.cast(x=v, dtype="bool"),
        mb.shape(x=v),
        mb.fill(shape=[2, 2], value=1.5),
        mb.range_1d(start=0, end=7, step=2),
        mb.fill_like(ref_tensor=v, value=-2.0)), x)
    close(ci, T(x).to(torch.int32))
    close(cb, T(x) != 0)
    close(sh, torch.tensor([2, 3], dtype=torch.int32))
    close(fl, torch.full((2, 2), 1.5))
    close(rg, torch.arange(0, 7, 2, dtype=torch.int32))
    close(fll, torch.full_like(T(x), -2.0))


def test_cast_to_fp16_rounds_and_overflows():
    x = np.array([1.0 + 2 ** -12, 70000.0, -1e-8], np.float32)
    (got,) = run_mil(lambda mb, v: mb.cast(x=v, dtype="fp16"), x)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, T(x).half().numpy())
    assert np.isinf(got[1])


def test_band_part_causal_mask():
    x = rand(4, 4, seed=13)
    low, up = run_mil(lambda mb, v: (mb.band_part(x=v, lower=-1, upper=0), mb.band_part(x=v, lower=1, upper=1)), x)
    close(low, torch.tril(T(x)))
    close(up, torch.triu(torch.tril(T(x), 1), -1))


def test_topk_and_argsort():
    x = rand(3, 6, seed=14)
    vals, idx, order = run_mil(lambda mb, v: (*mb.topk(x=v, k=2, axis=1), mb.argsort(x=v, axis=1)), x)
    tv, ti = torch.topk(T(x), 2, dim=1)
    close(vals, tv)
    close(idx, ti.int())
    close(order, torch.argsort(T(x), 1, descending=True).int())


def test_depth_space_pixel_shuffle():
    x = rand(1, 8, 2, 3, seed=15)
    ps, s2d = run_mil(lambda mb, v: (mb.pixel_shuffle(x=v, upscale_factor=2),
                                     mb.space_to_depth(x=mb.pixel_shuffle(x=v, upscale_factor=2), block_size=2)), x)
    close(ps, F.pixel_shuffle(T(x), 2))
    y = F.pixel_shuffle(T(x), 2)  # space_to_depth is TF-style (block offsets first)
    want = y.reshape(1, 2, 2, 2, 3, 2).permute(0, 3, 5, 1, 2, 4).reshape(1, 8, 2, 3)
    close(s2d, want)


def test_classify_gives_top_label_and_probabilities():
    from mobilekit.verify.coreml_interp.ops_classify import classify

    p = torch.softmax(T(rand(1, 3, seed=16)), -1).numpy()
    label, probs = classify(probabilities=p, classes=["a", "b", "c"])
    assert label == "abc"[int(torch.argmax(T(p)))]
    assert probs == pytest.approx(dict(zip("abc", p[0].tolist())))


def test_identity_flatten2d_reshape_like():
    x = rand(2, 3, 4, seed=17)
    ref = rand(6, 4, seed=18)
    ident, flat, like = run_mil(lambda mb, v: (
        mb.identity(x=v), mb.flatten2d(x=v, axis=2),
        mb.reshape_like(x=v, ref_tensors=(mb.const(val=ref),), begins=[0], ends=[2], end_masks=[False])), x)
    close(ident, T(x))
    close(flat, T(x).reshape(6, 4))
    close(like, T(x).reshape(6, 4))


def test_depth_to_space_dcr():
    x = rand(1, 8, 2, 3, seed=19)
    (got,) = run_mil(lambda mb, v: mb.depth_to_space(x=v, block_size=2), x)
    want = T(x).reshape(1, 2, 2, 2, 2, 3).permute(0, 3, 4, 1, 5, 2).reshape(1, 2, 4, 6)  # DCR order
    close(got, want)


def test_scatter_along_axis_update():
    data = rand(3, 4, seed=20)
    idx = np.array([[2, 0, 1, 2]], np.int32)
    upd = rand(1, 4, seed=21)
    (got,) = run_mil(lambda mb, v: mb.scatter_along_axis(data=v, indices=idx, updates=upd, axis=0, mode="update"), data)
    close(got, T(data).scatter(0, T(idx).long(), T(upd)))
