"""The verdict through a real export and `mobilekit verify`: the same rule, the same answer.

ONNX only (the fastest real converter) on the trained digits model: one export per module.
"""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import mobilekit
from conftest import ROOT
from mobilekit.cli import main
from mobilekit.errors import UserError
from mobilekit.targets import onnx as onnx_target

pytestmark = pytest.mark.slow


def _digits_config(out, **extra):
    cfg = {
        "name": "digits", "task": "image_classification", "source": "mobilekit.zoo.digits_cnn:build",
        "weights": str(ROOT / "mobilekit/zoo/digits_cnn.safetensors"), "output_dir": str(out), "targets": ["onnx"],
        "inputs": [{"name": "image", "shape": [1, 3, 32, 32],
                    "preprocessing": {"mean": [0.5] * 3, "std": [0.5] * 3, "scale": 1 / 255, "color": "RGB"}}],
        "outputs": [{"name": "logits", "labels": str(ROOT / "mobilekit/zoo/digits_labels.txt")}],
        "onnx": {"variants": ["fp32", "fp16", "int8-dynamic"]},
        "verify": {"inputs": "mobilekit.zoo.digits_data:heldout", "samples": 32},
        "latency_runs": 0,
    }
    cfg.update(extra)
    return cfg


def _perturbing(monkeypatch, snr_db: float):
    """Every int8 ONNX artifact's outputs get noise at `snr_db` below their own signal, as another CPU's
    int8 kernels would give: in export and in verify alike."""
    real = onnx_target.OnnxTarget.runner

    def runner(self, record, bundle_dir):
        run = real(self, record, bundle_dir)
        if "int8" not in record.precision:
            return run
        rng = np.random.default_rng(0)

        def noisy(feeds):
            out = run(feeds)
            y = out["logits"]
            return {**out, "logits": y + rng.standard_normal(y.shape).astype(np.float32) * y.std() * 10 ** (-snr_db / 20)}

        noisy.compute = run.compute
        return noisy

    monkeypatch.setattr(onnx_target.OnnxTarget, "runner", runner)


def test_host_noise_on_an_int8_artifact_gives_the_same_verdict_in_export_and_verify(tmp_path, monkeypatch):
    _perturbing(monkeypatch, snr_db=25.0)
    bundle = mobilekit.export(config=_digits_config(tmp_path / "dist"))
    int8 = bundle.artifact("onnx", "int8-dynamic")
    assert int8["status"] == "verified", int8.get("error")
    assert 20 < int8["parity"]["snr_db"] < 30  # the noise is there
    result = CliRunner().invoke(main, ["verify", str(bundle.path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows["onnx/int8-dynamic"]["status"] == "ok"


def test_a_real_loss_fails_export_and_verify_alike(tmp_path, monkeypatch):
    ok = mobilekit.export(config=_digits_config(tmp_path / "dist"))
    assert ok.artifact("onnx", "int8-dynamic")["status"] == "verified"
    _perturbing(monkeypatch, snr_db=3.0)  # the artifact now behaves much worse "on this host"
    result = CliRunner().invoke(main, ["verify", str(ok.path)])
    assert result.exit_code == 1
    assert "onnx/int8-dynamic" in result.output and "SNR" in result.output and "at export" in result.output
    with pytest.raises(mobilekit.pipeline.ExportFailed) as err:
        mobilekit.export(config=_digits_config(tmp_path / "dist2"))
    assert "onnx/int8-dynamic" in str(err.value) and "SNR" in str(err.value)


def test_manifest_says_how_each_artifact_was_judged(tmp_path):
    bundle = mobilekit.export(config=_digits_config(tmp_path / "dist"))
    fp32, fp16 = bundle.artifact("onnx", "fp32"), bundle.artifact("onnx", "fp16")
    assert fp32["parity"]["snr_db"] > 60 and fp32["tolerance"]["min_snr_db"] == 60
    assert fp32["verified_compute"] == "fp32"
    # ONNX Runtime's CPU provider runs fp16 graphs in fp32: the manifest says so
    assert fp16["verified_compute"] == "fp32" and "fp16" in fp16["verified_compute_note"]
    assert bundle.manifest["verification"]["samples"] == 32
    assert bundle.manifest["verification"]["rule"] == "mobilekit.verdict/1"


class ZeroHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 3)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, image):
        return self.head(self.conv(image).mean(dim=(2, 3)))


class NaNOut(ZeroHead):
    def forward(self, image):
        return super().forward(image) * float("nan")


def _tiny(out, **extra):
    return {"name": "tiny", "task": "image_classification", "output_dir": str(out), "targets": ["onnx"],
            "inputs": [{"name": "image", "shape": [1, 3, 8, 8], "preprocessing": {"mean": [0.5] * 3, "std": [0.5] * 3}}],
            "outputs": [{"name": "logits"}], "onnx": {"variants": ["fp32"]}, "latency_runs": 0, **extra}


@pytest.mark.parametrize("model, words", [(ZeroHead, "constant"), (NaNOut, "nan")])
def test_a_degenerate_reference_stops_the_export_with_the_reason(tmp_path, model, words):
    torch.manual_seed(0)
    with pytest.raises(UserError) as err:
        mobilekit.export(model().eval(), config=_tiny(tmp_path / "dist"))
    assert "cannot verify an artifact" in err.value.one_line() and words in err.value.one_line()
    assert "allow_degenerate" in (err.value.hint or "")
    assert not (tmp_path / "dist" / "tiny").exists()


def test_allow_degenerate_exports_unverified_never_verified(tmp_path):
    torch.manual_seed(0)
    bundle = mobilekit.export(ZeroHead().eval(), config=_tiny(tmp_path / "dist", verify={"allow_degenerate": True}))
    (a,) = bundle.artifacts
    assert a["status"] == "unverified" and a["status_reason"].startswith("unverifiable: reference is degenerate")
    assert bundle.manifest["verification"]["degenerate"]


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1000, 8)
        self.fc = nn.Linear(8, 4)

    def forward(self, ids):
        return self.fc(self.emb(ids).mean(1))


def test_token_inputs_are_verified_over_the_whole_vocabulary(tmp_path):
    torch.manual_seed(0)
    cfg = _tiny(tmp_path / "dist", task="generic", inputs=[{"name": "ids", "shape": [1, 12], "dtype": "int64"}])
    bundle = mobilekit.export(Tokens().eval(), config=cfg)
    assert bundle.manifest["inputs"][0]["range"] == [0, 1000]
    ids = np.load(bundle.path / "assets/golden/inputs.ids.npy")
    assert ids.max() > 500 and len(np.unique(ids)) > 200  # not just ids 0 and 1
