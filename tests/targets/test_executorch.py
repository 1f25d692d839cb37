"""The ExecuTorch target with the real lowering, the real executorch.runtime and the real pipeline.

The digits model is exported once per session to every variant (`mobilekit export`, offline),
so parity, metric and budgets are judged by the pipeline itself; the tests read that bundle.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netblock import blocked_env

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "mobilekit" / "zoo"
VARIANTS = ["fp32", "fp16", "int8", "coreml", "coreml-int8"]


def _config(tmp: Path, **extra) -> Path:
    cfg = f"""
name = "digits"
version = "1.0.0"
task = "image_classification"
author = "mobilekit authors"
license = "Apache-2.0"
description = "digits, ExecuTorch test"
source = "mobilekit.zoo.digits_cnn:build"
weights = "{ZOO / 'digits_cnn.safetensors'}"
targets = ["executorch"]
output_dir = "{tmp / 'dist'}"
latency_runs = 3

[[inputs]]
name = "image"
shape = [1, 3, 32, 32]
[inputs.preprocessing]
mean = [0.5, 0.5, 0.5]
std = [0.5, 0.5, 0.5]
scale = 0.00392156862745098

[[outputs]]
name = "logits"
labels = "{ZOO / 'digits_labels.txt'}"

[executorch]
variants = {json.dumps(extra.get("variants", VARIANTS))}

[verify]
samples = 16
inputs = "mobilekit.zoo.digits_data:heldout"

[eval]
data = "mobilekit.zoo.digits_data:heldout"
limit = 48
"""
    if extra.get("calibration", True):
        cfg += '\n[calibration]\ndata = "mobilekit.zoo.digits_data:calibration"\nlimit = 64\n'
    path = tmp / "mobilekit.toml"
    path.write_text(cfg)
    return path


def _export(tmp: Path, config: Path, timeout: float = 1200):
    env, log = blocked_env(tmp)
    out = subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(config)],
                         env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp)
    return out, log


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("et_digits")
    out, log = _export(tmp, _config(tmp))
    return out, log, tmp / "dist" / "digits"


@pytest.fixture(scope="module")
def manifest(exported):
    out, _log, bundle = exported
    assert (bundle / "manifest.json").exists(), out.stderr[-3000:]
    return json.loads((bundle / "manifest.json").read_text())


def _entry(manifest, variant):
    return next(a for a in manifest["artifacts"] if a["target"] == "executorch" and a["variant"] == variant)


@pytest.mark.slow
def test_every_variant_is_made_offline_and_verified(exported, manifest):
    out, log, bundle = exported
    assert out.returncode == 0, out.stderr[-3000:]
    assert not log.exists() or not log.read_text().strip(), log.read_text()
    got = {a["variant"]: a["status"] for a in manifest["artifacts"]}
    assert got == {v: "verified" for v in VARIANTS}
    for v in VARIANTS:
        a = _entry(manifest, v)
        assert (bundle / a["path"]).read_bytes()[4:8] == b"ET12"
        assert a["parity"]["cosine"] > 0.99 and a["metrics"]["top1"] > 0.9, (v, a["parity"], a["metrics"])
    # XNNPACK programs run in executorch.runtime, fp32 close to torch
    fp32 = _entry(manifest, "fp32")
    assert fp32["verified_by"].startswith("executorch 1.5.1 (XNNPACK")
    assert fp32["parity"]["max_abs"] < 1e-4
    assert "latency_ms" in fp32
    # Core ML delegates: the payload's Core ML program in the reference interpreter, fp16 simulated, not timed
    for v in ("coreml", "coreml-int8"):
        a = _entry(manifest, v)
        assert a["verified_by"].startswith("mobilekit-coreml-interpreter"), a["verified_by"]
        assert a["verified_compute"].startswith("fp16")
        assert "latency_ms" not in a
        assert a["min_os"] == "iOS16"
    int8 = _entry(manifest, "int8")
    assert int8["compression"][0]["calibration_samples"] == 64
    assert int8["size_bytes"] < 0.4 * fp32["size_bytes"]


@pytest.mark.slow
def test_metadata_is_read_back_from_the_program(exported, manifest):
    from mobilekit.targets.executorch import metadata

    bundle = exported[2]
    for v in ("fp32", "coreml"):
        meta = metadata.read(bundle / _entry(manifest, v)["path"])
        assert meta["get_labels"] == (ZOO / "digits_labels.txt").read_text().split()
        assert meta["get_mean"] == [0.5, 0.5, 0.5] and meta["get_std"] == [0.5, 0.5, 0.5]
        assert meta["get_scale"] == pytest.approx(1 / 255)
        doc = meta["get_metadata_json"]
        assert (doc["name"], doc["version"], doc["license"], doc["variant"]) == ("digits", "1.0.0", "Apache-2.0", v)
        assert doc["inputs"][0]["shape"] == [1, 3, 32, 32] and doc["labels_output"] == "logits"
        assert doc["made_with"]["executorch"] == "1.5.1"


@pytest.mark.slow
def test_delegation_report_is_in_the_manifest_and_inspect(exported, manifest):
    from mobilekit.targets.executorch import delegation_summary

    for v in VARIANTS:
        rep = _entry(manifest, v)["details"]["delegation"]
        assert rep["delegated_subgraphs"] == 1 and rep["delegated_ops"] > 0, rep
        assert rep["source"].endswith("get_delegation_info")
    assert _entry(manifest, "fp32")["details"]["delegation"]["delegated_percent"] == 100.0
    assert delegation_summary(_entry(manifest, "fp32")).startswith("XNNPACK runs 100.0% of ops")
    # fp16's float32 inputs/outputs are cast outside the delegate, on the portable kernels
    fp16 = _entry(manifest, "fp16")["details"]["delegation"]
    assert fp16["fallback_op_types"] == {"dim_order_ops__to_dim_order_copy_default": 2}
    assert "dim_order_ops__to_dim_order_copy_default ×2" in delegation_summary(_entry(manifest, "fp16"))
    assert delegation_summary(_entry(manifest, "coreml")).startswith("Core ML runs 100.0% of ops")
    assert delegation_summary({"target": "onnx", "details": {}}) == ""
    out = subprocess.run([sys.executable, "-m", "mobilekit", "inspect", str(exported[2])], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "XNNPACK runs 100.0% of ops" in out.stdout


@pytest.mark.slow
def test_bench_times_the_xnnpack_programs_and_skips_core_ml(exported):
    from mobilekit.bench.host import bench

    # one child process per artifact: fp32 stands for the XNNPACK programs (the same session code)
    run = bench(exported[2], threads=2, runs=5, warmup=1, only=("executorch/fp32", "executorch/coreml"), write=False)
    ok = {d["model"]["variant"]: d for d in run.results}
    assert set(ok) == {"fp32"}, [(s.label, s.reason) for s in run.skipped]
    for d in ok.values():
        assert d["status"] == "ok", d["error"]
        assert d["runtime"] == {"name": "executorch", "version": "1.5.1"}
        assert d["config"]["threads"] == 2 and d["config"]["delegate"] == "xnnpack"
        assert len(d["results"]["runs_ms"]) == 5 and d["results"]["latency_ms"]["p50"] > 0
    skipped = {s.label: s.reason for s in run.skipped}
    assert "Apple" in skipped["executorch/coreml"]


def test_int8_without_calibration_is_exit_2_naming_the_key(tmp_path):
    out, _ = _export(tmp_path, _config(tmp_path, variants=["fp32", "int8"], calibration=False), timeout=300)
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert any("calibration.data" in ln for ln in lines), out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "dist" / "digits").exists()


def test_a_missing_executorch_is_one_line_with_the_install_command(monkeypatch):
    import importlib.util

    from mobilekit import config as config_mod
    from mobilekit.errors import UserError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "executorch" else real(name, *a))
    with pytest.raises(UserError) as err:
        config_mod.resolve({"name": "m", "source": "tiny_models:build", "targets": ["executorch"]})
    assert "pip install 'mobilekit[executorch]'" in err.value.one_line()


@pytest.mark.slow
def test_translator_encoder_and_decoder_programs_decode_token_exact(tmp_path):
    """The shipped translator through the same workers: a .pte per graph, greedy decoding like torch."""
    import tomllib

    data = tomllib.loads((ROOT / "examples/translation/mobilekit.toml").read_text())
    for key in ("onnx", "tflite", "coreml"):
        data.pop(key, None)
    base = ROOT / "examples/translation"
    data.update(targets=["executorch"], output_dir=str(tmp_path / "dist"), weights=str(base / data["weights"]))
    data["translation"]["tokenizer"] = str(base / data["translation"]["tokenizer"])
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if not isinstance(v, dict)]
    lines += ["[translation]"] + [f"{k} = {json.dumps(v)}" for k, v in data["translation"].items()]
    # coreml: the decoder step's delegate lists its inputs in another order than the graph's
    # (position, token, …); the interpreter must feed them by name, or a good pair fails
    lines += ["[executorch]", 'variants = ["fp32", "coreml"]']
    config = tmp_path / "mobilekit.toml"
    config.write_text("\n".join(lines) + "\n")
    out, log = _export(tmp_path, config, timeout=1500)
    assert out.returncode == 0, out.stderr[-3000:]
    assert not log.exists() or not log.read_text().strip()
    manifest = json.loads((tmp_path / "dist" / "translator" / "manifest.json").read_text())
    arts = {(a["variant"], a["graph"]): a for a in manifest["artifacts"]}
    assert set(arts) == {(v, g) for v in ("fp32", "coreml") for g in ("encoder", "decoder")}
    assert [arts["fp32", g]["path"] for g in ("encoder", "decoder")] == ["executorch/encoder.pte", "executorch/decoder.pte"]
    for (variant, _graph), a in arts.items():
        assert a["status"] == "verified", a.get("error")
        runner = "executorch 1.5.1" if variant == "fp32" else "mobilekit-coreml-interpreter"
        assert a["verified_by"].startswith(runner), a["verified_by"]
        assert a["decoding"]["sentences"] >= 100
        assert a["decoding"]["token_exact"] == 1.0, a["decoding"].get("differences")
        assert a["details"]["delegation"]["delegated_subgraphs"] >= 1


class _DictOut:
    """A model returning a dict of outputs."""

    @staticmethod
    def build():
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(10, 6)

            def forward(self, x):
                y = torch.tanh(self.fc(x))
                return {"seq": y, "last": y.sum(-1, keepdim=True)}

        torch.manual_seed(0)
        return Net().eval()


@pytest.mark.slow
def test_dict_outputs_lower_in_fp16_too(tmp_path):
    import mobilekit

    cfg = {"name": "dictout", "task": "generic", "targets": ["executorch"], "output_dir": str(tmp_path),
           "inputs": [{"name": "x", "shape": [1, 5, 10]}], "outputs": [{"name": "seq"}, {"name": "last"}],
           "executorch": {"variants": ["fp32", "fp16"]}}
    arts = {a["variant"]: a for a in mobilekit.export(_DictOut.build(), config=cfg).artifacts}
    assert arts["fp32"]["status"] == arts["fp16"]["status"] == "verified", {v: a.get("error") for v, a in arts.items()}
    assert set(arts["fp16"]["parity"]["per_output"]) == {"seq", "last"}


class _CumSum:
    @staticmethod
    def build():
        import torch

        class Net(torch.nn.Module):
            def forward(self, x):  # nothing XNNPACK takes; the Core ML delegate does
                return torch.cumsum(x, dim=1)

        return Net().eval()


@pytest.mark.slow
def test_a_variant_that_fails_to_lower_keeps_the_others(tmp_path):
    import mobilekit
    from mobilekit.conversion import ExportFailed

    cfg = {"name": "cumsum", "task": "generic", "targets": ["executorch"], "output_dir": str(tmp_path),
           "inputs": [{"name": "x", "shape": [1, 5, 6]}], "outputs": [{"name": "y"}],
           "executorch": {"variants": ["fp32", "coreml"]}}
    with pytest.raises(ExportFailed) as err:
        mobilekit.export(_CumSum.build(), config=cfg)
    arts = {a["variant"]: a for a in err.value.bundle.artifacts}
    assert set(arts) == {"fp32", "coreml"}  # not one "all" entry: the Core ML .pte stands
    assert arts["coreml"]["status"] == "verified"
    assert arts["fp32"]["status"] == "failed" and "delegated nothing" in arts["fp32"]["error"]
    assert "path" not in arts["fp32"] and arts["fp32"]["log"]
    assert str(err.value).startswith("executorch/fp32: executorch: ") and "coreml" not in str(err.value)
