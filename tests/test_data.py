"""Calibration, eval and sample data: every accepted form, and clear errors for bad data."""

import numpy as np
import pytest
from PIL import Image

from mobilekit import config, data
from mobilekit.errors import UserError
from mobilekit.spec import from_config


@pytest.fixture
def spec():
    return from_config(config.resolve({
        "inputs": [{"name": "image", "shape": [1, 3, 8, 8], "preprocessing": {"mean": [0.5] * 3, "std": [0.5] * 3}}],
        "outputs": [{"name": "logits"}],
    }))


def test_npy_npz_callable_and_image_folder(tmp_path, spec):
    x = np.random.default_rng(0).standard_normal((5, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "xy.npz", image=x, labels=np.arange(5))
    assert data.load("x.npy", spec, key="k", base_dir=tmp_path).inputs["image"].shape == (5, 3, 8, 8)
    ds = data.load(str(tmp_path / "xy.npz"), spec, key="k", limit=3)
    assert len(ds) == 3 and ds.labels.tolist() == [0, 1, 2]
    ds = data.load("mobilekit.zoo.digits_data:heldout", from_config(config.resolve({
        "inputs": [{"name": "image", "shape": [1, 3, 32, 32]}], "outputs": [{"name": "y"}]})), key="k")
    assert ds.labels is not None and len(ds) == len(ds.labels) > 300
    for label in ("0", "1"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        Image.new("RGB", (16, 16), (255, 0, 0) if label == "0" else (0, 0, 255)).save(tmp_path / "imgs" / label / "a.png")
    ds = data.load("imgs", spec, key="k", base_dir=tmp_path)
    assert ds.labels.tolist() == [0, 1]
    red = ds.inputs["image"][0]
    np.testing.assert_allclose(red[:, 0, 0], [1.0, -1.0, -1.0], atol=1e-6)  # (255/255 - .5)/.5


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: np.save(p / "d.npy", np.zeros((4, 3, 9, 9), np.float32)) or "d.npy", "have shape [3, 9, 9], the model takes [3, 8, 8]"),
        (lambda p: (p / "empty").mkdir() or "empty", "no images"),
        (lambda p: ((p / "bad").mkdir(), (p / "bad" / "x.png").write_bytes(b"not a png"))[0] or "bad", "cannot read image"),
        (lambda p: (p / "d.npy").write_bytes(b"garbage") and "d.npy", "cannot be read as .npy"),
        (lambda p: "missing.npz", "does not exist"),
        (lambda p: np.save(p / "d.npy", np.zeros((0, 3, 8, 8), np.float32)) or "d.npy", "no samples"),
        (lambda p: "mobilekit.zoo.digits_data:nope", "has no 'nope'"),
        (lambda p: (p / "d.txt").write_text("1,2") and "d.txt", "not a .npy, .npz or image folder"),
    ],
)
def test_bad_data_is_one_clear_line(tmp_path, spec, make, words):
    ref = make(tmp_path)
    with pytest.raises(UserError) as err:
        data.load(ref, spec, key="calibration.data", base_dir=tmp_path)
    line = err.value.one_line()
    assert words in line and line.startswith("calibration.data") and "\n" not in line
