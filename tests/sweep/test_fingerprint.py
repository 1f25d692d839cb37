"""Fingerprints follow what a trial reads: its config and the contents of the files it names."""

import shutil

import pytest

from mobilekit import config as config_mod
from mobilekit.errors import ConfigError
from mobilekit.sweep import inputs
from mobilekit.sweep import run as sweep_run
from conftest import ROOT


def _digits(tmp_path, **sweep):
    """The digits config with its weights file copied into tmp_path (so the test may edit it)."""
    weights = tmp_path / "digits_cnn.safetensors"
    shutil.copy(ROOT / "mobilekit/zoo/digits_cnn.safetensors", weights)
    raw = config_mod.load(str(ROOT / "examples/digits/mobilekit.toml"))
    return config_mod.resolve(raw, {"weights": str(weights), "sweep": {"targets": {"onnx": ["fp32", "int8"]}, **sweep}}), weights


def test_editing_the_weights_file_changes_every_fingerprint(tmp_path):
    cfg, weights = _digits(tmp_path)
    before = [t.fingerprint for t in sweep_run.plan(cfg)]
    assert len(set(before)) == 2
    again = [t.fingerprint for t in sweep_run.plan(cfg)]
    assert again == before  # nothing changed: the same trials (the cache hits)
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    weights.write_bytes(bytes(data))
    after = [t.fingerprint for t in sweep_run.plan(cfg)]
    assert not set(after) & set(before)


def test_the_digests_name_files_folders_and_callable_modules(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.txt").write_text("1")
    (tmp_path / "w.pt").write_bytes(b"x")
    cfg = {"weights": "w.pt", "eval": {"data": "imgs"}, "source": "mobilekit.zoo.digits_cnn:build",
           "output_dir": str(tmp_path), "name": "not-a-file"}
    d = inputs.digests(cfg, tmp_path)
    assert set(d) == {"weights", "eval.data", "source"}  # output_dir and plain strings are not inputs
    before = d["eval.data"]
    (tmp_path / "imgs" / "a.txt").write_text("2")
    assert inputs.digests(cfg, tmp_path)["eval.data"] != before  # a file inside a folder counts
    assert inputs.module_file("mobilekit.zoo.digits_cnn:build") == ROOT / "mobilekit/zoo/digits_cnn.py"


def test_distillation_on_and_off_are_different_trials(tmp_path):
    cfg, _ = _digits(tmp_path, prune=[0, 0.5], distill=[False, True])
    with pytest.raises(ConfigError, match="compression.distill.data"):
        sweep_run.plan(cfg)  # the digits config has no training data for distillation
    cfg, _ = _digits(tmp_path, prune=[0, 0.5], distill=[False, True])
    # as examples/digits_pruned: the config prunes and distills; the axes switch each part off
    cfg = config_mod.resolve(cfg, {"compression": {"prune": {"method": "channels", "amount": 0.25},
                                                   "distill": {"data": "mobilekit.zoo.digits_data:train", "epochs": 1}}})
    trials = sweep_run.plan(cfg)
    assert len(trials) == 6 and len({t.fingerprint for t in trials}) == 6
    kd = [t for t in trials if t.candidate.distill]
    assert all(t.config["compression"]["distill"]["data"] == "mobilekit.zoo.digits_data:train" for t in kd)
    assert all(t.config["compression"]["prune"] == {**t.config["compression"]["prune"], "method": "channels", "amount": 0.5} for t in kd)
    assert all(t.config["compression"]["distill"]["data"] is None for t in trials if not t.candidate.distill)
    assert all(t.config["compression"]["prune"]["method"] == "none" for t in trials if not t.candidate.prune)
