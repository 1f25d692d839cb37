"""`[compression] fallback = "auto"` on the outliers example: the fewest layers kept in float."""

import json
import re
import subprocess
import sys

import pytest

from .conftest import CONFIG, ROOT

pytestmark = pytest.mark.slow


def _export(tmp_path, *, rounds: int | None = None, targets=("onnx", "tflite")):
    text = CONFIG.read_text().replace('"../../', f'"{ROOT}/').replace(f'output_dir = "{ROOT}/dist"', f'output_dir = "{tmp_path}"')
    text = re.sub(r"(?m)^targets = \[.*\]$", f"targets = {json.dumps(list(targets))}", text)
    text += "\n[compression]\nfallback = \"auto\"\n" + (f"fallback_max_rounds = {rounds}\n" if rounds else "")
    text += "\n[budgets]\nmax_metric_drop = 0.5\n"
    toml = tmp_path / "mobilekit.toml"
    toml.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(toml)], capture_output=True, text=True,
                          timeout=900)
    manifest = json.loads((tmp_path / "outliers" / "manifest.json").read_text())
    return proc, {f"{a['target']}/{a['variant']}": a for a in manifest["artifacts"]}


def test_auto_fallback_keeps_the_outlier_layers_in_float_and_passes(tmp_path):
    proc, arts = _export(tmp_path, targets=("onnx", "tflite", "coreml"))
    assert proc.returncode == 1, proc.stderr[-3000:]  # tflite/int8 still fails: its target cannot keep layers in float yet
    onnx8 = arts["onnx/int8"]
    assert onnx8["status"] == "verified", onnx8.get("error")
    fb = onnx8["fallback"]
    assert fb["status"] == "passed"
    assert fb["before"]["status"] == "failed" and fb["before"]["top1_drop"] > 0.01  # plain int8 lost > 1 point
    assert onnx8["metrics"]["top1_drop"] <= 0.005  # within the 0.5-point budget now
    # the first block (where the outliers are made) and the conv that reads them: nothing else
    assert {"node_Conv_67", "node_Conv_69"} <= set(fb["kept_float"]) and len(fb["kept_float"]) <= 4
    assert fb["layers"][0] == "relu" and len(fb["rounds"]) <= 3
    assert onnx8["size_bytes"] < 0.5 * arts["onnx/fp32"]["size_bytes"]  # still mostly int8
    assert onnx8["compression"][-1] == {"kind": "float fallback", "kept_float": fb["kept_float"]}
    assert arts["tflite/int8"]["fallback"]["status"] == "not available"
    assert "fallback onnx/int8: " in proc.stderr
    # Core ML int8 is weight-only: the conv that reads the ÷128 weights keeps its weights float
    coreml8 = arts["coreml/int8"]
    assert coreml8["status"] == "verified", coreml8.get("error")
    cfb = coreml8["fallback"]
    assert cfb["status"] == "passed" and cfb["before"]["status"] == "failed"
    assert cfb["layers"] == ["_native_batch_norm_legit_no_training_1"] and len(cfb["kept_float"]) == 1
    assert coreml8["size_bytes"] < arts["coreml/fp16"]["size_bytes"]
    # the bundle is consistent: its checksums and golden vectors hold
    verify = subprocess.run([sys.executable, "-m", "mobilekit", "verify", str(tmp_path / "outliers")], capture_output=True,
                            text=True, timeout=600)
    assert "onnx/int8" in verify.stdout and "ok" in verify.stdout.split("onnx/int8", 1)[1].splitlines()[0]


def test_a_fallback_that_runs_out_of_rounds_puts_the_plain_artifact_back(tmp_path):
    proc, arts = _export(tmp_path, rounds=1, targets=("onnx",))
    assert proc.returncode == 1
    onnx8 = arts["onnx/int8"]
    assert onnx8["status"] == "failed" and onnx8["fallback"]["status"] == "did not pass"
    assert len(onnx8["fallback"]["rounds"]) == 1
    assert onnx8["sha256"] == onnx8["fallback"]["before"]["sha256"]  # the plain int8 file is back
    assert onnx8["fallback"]["rounds"][0]["sha256"] != onnx8["sha256"]
    assert "still fails; the plain int8 artifact is kept" in proc.stderr
