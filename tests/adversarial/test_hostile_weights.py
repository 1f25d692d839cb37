"""Hostile and mismatched weight files and model sources: exit 2, one line that names the problem
(the first few missing/unexpected keys), and no code from the file runs without --trust-pickle."""

import json
import struct

import pytest
import torch

import tiny_models
from adversarial.helpers import TINY, cli, error_line, snapshot, write_config


class _Touch:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _state(**changes):
    sd = tiny_models.build().state_dict()
    for k, v in changes.items():
        if v is None:
            sd.pop(k.replace("__", "."))
        else:
            sd[k.replace("__", ".")] = v
    return sd


def _st(tmp, sd, name="w.safetensors"):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp / name))
    return name


def _raw(name, data):
    def make(tmp):
        (tmp / name).write_bytes(data(tmp) if callable(data) else data)
        return name
    return make


def _header(obj: dict, body: bytes = b"") -> bytes:
    h = json.dumps(obj).encode()
    return struct.pack("<Q", len(h)) + h + body


CASES = {
    "st_empty": (_raw("w.safetensors", b""), ["not a readable safetensors file"]),
    "st_junk": (_raw("w.safetensors", b"\x00junk" * 40), ["not a readable safetensors file"]),
    "st_header_too_long": (_raw("w.safetensors", struct.pack("<Q", 1 << 60) + b"{}"), ["not a readable safetensors file"]),
    "st_header_not_json": (_raw("w.safetensors", struct.pack("<Q", 5) + b"{nope"), ["not a readable safetensors file"]),
    "st_offsets_past_end": (_raw("w.safetensors", _header({"fc.bias": {"dtype": "F32", "shape": [3], "data_offsets": [0, 4096]}}, b"\0" * 12)),
                            ["not a readable safetensors file"]),
    "st_missing_keys": (lambda t: _st(t, _state(fc__bias=None, conv__bias=None)), ["2 missing key(s): conv.bias, fc.bias"]),
    "st_unexpected_keys": (lambda t: _st(t, {**_state(), "head.weight": torch.zeros(1), "head.bias": torch.zeros(1)}),
                           ["2 unexpected key(s): head.bias, head.weight"]),
    "st_wrong_shape": (lambda t: _st(t, _state(fc__weight=torch.zeros(5, 4))), ["fc.weight [5, 4] vs the model's [3, 4]"]),
    "st_data_parallel": (lambda t: _st(t, {f"module.{k}": v for k, v in _state().items()}), ["4 missing key(s)", "strip the `module.` prefix"]),
    "st_many_missing": (lambda t: _st(t, {"other": torch.zeros(1)}), ["4 missing key(s): conv.bias, conv.weight, fc.bias (+1 more)"]),
    "pt_non_tensor": (lambda t: (torch.save({**_state(), "epoch": 7}, t / "w.pt"), "w.pt")[1], ["1 entry is not a tensor: epoch"]),
    "pt_junk": (_raw("w.pt", b"PK\x03\x04 not a torch file"), ["not a readable PyTorch file"]),
    "pt_not_dict": (lambda t: (torch.save([torch.zeros(1)], t / "w.pt"), "w.pt")[1], ["holds a list, not a state_dict"]),
    "weights_folder": (lambda t: ((t / "w.pt").mkdir(), "w.pt")[1], ["weights file", "does not exist"]),
    "weights_missing": (lambda t: "gone.safetensors", ["weights file", "does not exist"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_weights_are_one_line(tmp_path, case):
    make, words = CASES[case]
    ref = make(tmp_path)
    cfg = write_config(tmp_path, f'weights = "{ref}"\n')
    before = snapshot(tmp_path)
    line = error_line(cli("export", "--config", cfg), 2)
    assert all(w in line for w in words), line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("suffix, nest", [(".pt", False), (".ckpt", False), (".pth", True)])
def test_a_pickle_payload_in_weights_never_runs(tmp_path, suffix, nest):
    marker = tmp_path / "pwned"
    payload = {"state_dict": {"fc.weight": _Touch(marker)}} if nest else _Touch(marker)
    torch.save(payload, tmp_path / f"w{suffix}")
    assert not marker.exists()
    cfg = write_config(tmp_path, f'weights = "w{suffix}"\n')
    line = error_line(cli("export", "--config", cfg), 2)
    assert "can run code" in line and "--trust-pickle" in line
    assert not marker.exists()


def test_a_pickled_model_as_source_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    torch.save(_Touch(marker), tmp_path / "model.pt")
    cfg = write_config(tmp_path, base=TINY.replace("tiny_models:build", "model.pt"))
    line = error_line(cli("export", "--config", cfg), 2)
    assert "can run code" in line and not marker.exists()


@pytest.mark.parametrize("content", [b"", b"PK\x05\x06" + b"\0" * 18, b"\x00" * 100])
def test_a_junk_pt2_source_is_one_line_without_torchs_warning(tmp_path, capfd, content):
    (tmp_path / "m.pt2").write_bytes(content)
    cfg = write_config(tmp_path, base=TINY.replace("tiny_models:build", "m.pt2"))
    result = cli("export", "--config", cfg)
    line = error_line(result, 2)
    assert "m.pt2" in line
    assert capfd.readouterr().err == ""  # torch's multi-line warning stays out
