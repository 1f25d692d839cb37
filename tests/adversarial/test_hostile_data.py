"""Hostile data files and callables for verify.inputs, eval.data and calibration.data: exit 2, one
line naming the key (and where a bad number sits), nothing written, the data files untouched,
and no code from a data file ever runs."""

import pickle

import numpy as np
import pytest

from adversarial.helpers import TINY, cli, error_line, snapshot, write_config

SHAPE = (4, 3, 8, 8)


class _Touch:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _npy(tmp, arr, name="data.npy"):
    np.save(tmp / name, arr)
    return name


def _nan_at(where):
    x = np.zeros(SHAPE, np.float32)
    x[where] = np.nan
    return x


def _case_nan(tmp):
    return _npy(tmp, _nan_at((2, 1, 3, 4))), ["verify.inputs", "nan at sample 2, index [1, 3, 4]"]


def _case_inf(tmp):
    x = np.zeros(SHAPE, np.float32)
    x[0, 0, 0, 0] = -np.inf
    return _npy(tmp, x), ["verify.inputs", "-inf at sample 0"]


def _case_overflow(tmp):
    x = np.zeros(SHAPE, np.float64)
    x[3, 2, 1, 0] = 1e300  # finite in float64, inf once cast to the model's float32
    return _npy(tmp, x), ["inf at sample 3", "too large for float32"]


def _case_strings(tmp):
    return _npy(tmp, np.array([["a"] * 8] * 8)), ["verify.inputs", "strings, not numbers"]


def _case_complex(tmp):
    return _npy(tmp, np.zeros(SHAPE, np.complex64)), ["complex numbers, not numbers"]


def _case_empty_file(tmp):
    (tmp / "data.npy").write_bytes(b"")
    return "data.npy", ["verify.inputs", "cannot be read as .npy"]


def _case_truncated(tmp):
    _npy(tmp, np.zeros(SHAPE, np.float32))
    raw = (tmp / "data.npy").read_bytes()
    (tmp / "data.npy").write_bytes(raw[: len(raw) // 2])
    return "data.npy", ["verify.inputs", "cannot be read as .npy"]


def _case_zero_samples(tmp):
    return _npy(tmp, np.zeros((0, 3, 8, 8), np.float32)), ["verify.inputs", "no samples"]


def _case_wrong_shape(tmp):
    return _npy(tmp, np.zeros((4, 3, 9, 9), np.float32)), ["verify.inputs", "shape [3, 9, 9]", "takes [3, 8, 8]"]


def _case_not_numpy(tmp):
    (tmp / "data.csv").write_text("1,2,3\n")
    return "data.csv", ["verify.inputs", "not a .npy, .npz or image folder"]


def _case_missing(tmp):
    return "nowhere.npy", ["verify.inputs", "does not exist"]


def _case_npz_nan(tmp):
    np.savez(tmp / "data.npz", image=_nan_at((1, 0, 0, 7)))
    return "data.npz", ["input 'image'", "nan at sample 1, index [0, 0, 7]"]


def _case_npz_wrong_key(tmp):
    np.savez(tmp / "data.npz", pixels=np.zeros(SHAPE, np.float32))
    return "data.npz", ["verify.inputs"]


def _case_junk_image(tmp):
    (tmp / "imgs" / "0").mkdir(parents=True)
    (tmp / "imgs" / "0" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return "imgs", ["verify.inputs", "cannot read image", "a.png"]


def _case_image_bomb(tmp):
    from PIL import Image

    (tmp / "imgs" / "0").mkdir(parents=True)
    Image.new("1", (20000, 20000)).save(tmp / "imgs" / "0" / "bomb.png")  # 400 Mpx: over PIL's bomb limit x2
    return "imgs", ["verify.inputs", "cannot read image", "bomb.png"]


def _callable(name):
    return lambda tmp: (f"adversarial.hostile:{name}", ["verify.inputs", f"adversarial.hostile:{name}"])


FILE_CASES = {
    "nan": _case_nan, "inf": _case_inf, "float64_overflow": _case_overflow, "strings": _case_strings,
    "complex": _case_complex, "empty_file": _case_empty_file, "truncated": _case_truncated,
    "zero_samples": _case_zero_samples, "wrong_shape": _case_wrong_shape, "not_numpy": _case_not_numpy,
    "missing": _case_missing, "npz_nan": _case_npz_nan, "npz_wrong_key": _case_npz_wrong_key,
    "junk_image": _case_junk_image, "image_bomb": _case_image_bomb,
    "callable_none": _callable("returns_none"), "callable_exit": _callable("calls_exit"),
    "callable_strings": _callable("returns_strings"), "callable_ragged": _callable("returns_ragged"),
    "callable_raises": _callable("raises"), "callable_nan": _callable("returns_nan"),
    "callable_scalar": _callable("returns_scalar"),
    "callable_missing": lambda tmp: ("adversarial.hostile:nope", ["verify.inputs", "'adversarial.hostile' has no 'nope'"]),
}
IMAGE_CASES = {"junk_image", "image_bomb"}  # an image folder needs an image input (preprocessing)
EXTRA_WORDS = {"callable_none": "returned None", "callable_exit": "raised SystemExit", "callable_strings": "not numbers",
               "callable_ragged": "cannot be made into one array", "callable_raises": "raised FileNotFoundError",
               "callable_nan": "nan at sample 1", "callable_scalar": "not an array of samples"}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_hostile_verification_data_is_one_line(tmp_path, case):
    ref, words = FILE_CASES[case](tmp_path)
    base = TINY.replace("samples = 4", f'samples = 4\ninputs = "{ref}"')
    if case in IMAGE_CASES:
        base = base.replace("shape = [1, 3, 8, 8]\n", "shape = [1, 3, 8, 8]\n[inputs.preprocessing]\nmean = [0.5, 0.5, 0.5]\nstd = [0.5, 0.5, 0.5]\n")
    cfg = write_config(tmp_path, base=base)
    before = snapshot(tmp_path)
    line = error_line(cli("export", "--config", cfg), 2)
    for w in words + ([EXTRA_WORDS[case]] if case in EXTRA_WORDS else []):
        assert w in line, line
    assert snapshot(tmp_path) == before  # nothing written, the data untouched


def test_a_pickled_object_array_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    arr = np.empty(4, dtype=object)
    arr[:] = [_Touch(marker)] * 4
    with open(tmp_path / "data.npy", "wb") as fh:  # what np.save(allow_pickle=True) writes
        np.lib.format.write_array(fh, arr, allow_pickle=True)
    cfg = write_config(tmp_path, base=TINY.replace("samples = 4", 'samples = 4\ninputs = "data.npy"'))
    line = error_line(cli("export", "--config", cfg), 2)
    assert "cannot be read as .npy" in line and "pickled" in line.lower()
    assert not marker.exists()
    assert pickle.loads(pickle.dumps(1)) == 1  # (pickle itself is fine; the file's payload never ran)


def test_nan_in_eval_labels_is_one_line(tmp_path):
    labels = np.array([0, 1, np.nan, 2])
    np.savez(tmp_path / "eval.npz", image=np.zeros(SHAPE, np.float32), labels=labels)
    cfg = write_config(tmp_path, '[eval]\ndata = "eval.npz"\n')
    line = error_line(cli("export", "--config", cfg), 2)
    assert "eval.data" in line and "labels has nan at sample 2" in line


def test_string_labels_are_one_line(tmp_path):
    np.savez(tmp_path / "eval.npz", image=np.zeros(SHAPE, np.float32), labels=np.array(["cat", "dog", "cat", "dog"]))
    cfg = write_config(tmp_path, '[eval]\ndata = "eval.npz"\n')
    assert "labels are strings, not class indices" in error_line(cli("export", "--config", cfg), 2)


def test_labels_of_another_length_are_one_line(tmp_path):
    np.savez(tmp_path / "eval.npz", image=np.zeros(SHAPE, np.float32), labels=np.array([0, 1]))
    cfg = write_config(tmp_path, '[eval]\ndata = "eval.npz"\n')
    assert "has 2 labels for 4 samples" in error_line(cli("export", "--config", cfg), 2)


def test_nan_in_calibration_data_is_one_line(tmp_path):
    _npy(tmp_path, _nan_at((0, 2, 7, 7)), "cal.npy")
    cfg = write_config(tmp_path, '[calibration]\ndata = "cal.npy"\n[onnx]\nvariants = ["fp32", "int8"]\n')
    line = error_line(cli("export", "--config", cfg), 2)
    assert "calibration.data" in line and "nan at sample 0, index [2, 7, 7]" in line
