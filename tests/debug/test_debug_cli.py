"""`mobilekit debug` on a real bundle whose int8 artifacts really break (examples/outliers)."""

import json

import onnx
import pytest

from .conftest import CONFIG, ROOT, run_debug

pytestmark = pytest.mark.slow

# zoo/outlier_cnn.py puts two ×128 channels into the first block's output ("relu"): per-tensor int8
# of that tensor leaves the other channels a few levels — the median channel sees it there, while
# the whole-tensor SNR (dominated by the outliers) first drops at the next block ("relu_1"). On
# Core ML int8 (weights only) the damage is the next conv's weights for those channels (÷128).
CULPRIT = "relu"
FIRST_BELOW = "relu_1"


@pytest.fixture(scope="module")
def result(outliers_bundle, tmp_path_factory):
    overlays = tmp_path_factory.mktemp("overlays")
    proc = run_debug(str(outliers_bundle), "--config", str(CONFIG), "--json", "--overlay", str(overlays))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_every_artifact_is_compared_on_real_inputs(result, outliers_bundle):
    manifest = json.loads((outliers_bundle / "manifest.json").read_text())
    labels = {f"{a['target']}/{a['variant']}" for a in manifest["artifacts"]}
    assert set(result["artifacts"]) == labels
    assert result["schema"] == "mobilekit.debug/1" and result["data"] == "golden" and result["samples"] == 8
    for art in result["artifacts"].values():
        assert art["status"] == "compared", art
        assert len(art["layers"]) >= 5, art["unmatched"]


def test_float_artifacts_stay_above_their_threshold_at_every_layer(result):
    for label in ("onnx/fp32", "tflite/fp32", "coreml/fp16", "executorch/fp32"):
        art = result["artifacts"][label]
        assert art["first_below"] is None, (label, art["first_below"])
        assert min(r["snr_db"] for r in art["layers"]) >= art["threshold_db"]


@pytest.mark.parametrize("label", ["onnx/int8", "tflite/int8", "executorch/int8"])
def test_broken_int8_is_traced_to_the_layer_that_breaks_it(result, label):
    art = result["artifacts"][label]
    assert art["output_snr_db"] < art["threshold_db"]  # agrees with the export's verdict: it failed
    assert art["first_below"]["torch"] == FIRST_BELOW
    worst = min(art["layers"], key=lambda r: r["own_snr_db"])
    assert worst["torch"] == CULPRIT and worst["own_snr_db"] < 10
    assert worst["inherited_snr_db"] is None  # it reads only the input: the error is its own
    assert worst["snr_db"] > 20  # ... and the whole-tensor SNR alone would not have shown it


def test_weight_only_int8_is_traced_to_the_weights_that_read_the_outliers(result):
    art = result["artifacts"]["coreml/int8"]
    worst = min(art["layers"], key=lambda r: r["own_snr_db"])
    assert worst["op"].startswith("_native_batch_norm") and worst["torch"].endswith("_1")  # the second block's conv+BN
    assert worst["inherited_snr_db"] > 40 and worst["own_snr_db"] < 20


def test_the_export_recorded_where_each_failure_starts(outliers_bundle):
    manifest = json.loads((outliers_bundle / "manifest.json").read_text())
    by_label = {f"{a['target']}/{a['variant']}": a for a in manifest["artifacts"]}
    for label in ("onnx/int8", "tflite/int8", "executorch/int8"):
        d = by_label[label]["debug"]
        assert d["first_below"]["torch"] == FIRST_BELOW and d["worst_own"][0]["torch"] == CULPRIT, d
    assert "debug" not in by_label["onnx/fp32"]


def test_tflite_compressed_file_is_matched_through_its_fp32_sibling(result):
    art = result["artifacts"]["tflite/int8"]
    assert any(r["artifact"].startswith("model") for r in art["layers"])  # onnx2tf's own names
    assert all(isinstance(reason, str) and reason for reason in art["unmatched"].values())


def test_executorch_layers_come_from_its_own_runtime_events(result, outliers_bundle):
    art = result["artifacts"]["executorch/int8"]
    assert art["runtime"].startswith("executorch ") and "ETDump" in art["runtime"]
    assert any("byte-identical" in n for n in art["notes"])  # the ETRecord describes the shipped program
    assert all(r["artifact"].startswith(("delegate@", "kernel@")) for r in art["layers"])
    covered = {n for names in art["covers"].values() for n in names}
    assert {r["torch"] for r in art["layers"]} <= covered
    # nodes inside a delegate call are listed as such, never guessed
    assert any("inside delegate@" in why for why in art["unmatched"].values())
    assert art["placement"]["source"].startswith("executorch.devtools")  # exact, from get_delegation_info


def test_overlays_name_tensors_of_the_artifact_graph(result, outliers_bundle):
    paths = {p.rsplit("/", 1)[1]: p for p in result["overlays"]}
    data = json.loads(open(paths["onnx-int8.node-data.json"]).read())
    model = onnx.load(str(outliers_bundle / "onnx/model.int8.onnx"))
    assert list(data) == [model.graph.name]
    tensors = {o for n in model.graph.node for o in n.output}
    results = data[model.graph.name]["results"]
    assert results and set(results) <= tensors
    assert all(isinstance(v["value"], float) for v in results.values())


def test_table_marks_the_first_layer_below_threshold(outliers_bundle):
    proc = run_debug(str(outliers_bundle), "--config", str(CONFIG), "--artifact", "onnx/int8", "--samples", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"first layer below 12 dB: {FIRST_BELOW}" in proc.stdout
    assert "◀ first below" in proc.stdout and "tflite/" not in proc.stdout


def test_unknown_artifact_is_one_line_exit_2(outliers_bundle):
    proc = run_debug(str(outliers_bundle), "--config", str(CONFIG), "--artifact", "onnx/int4")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --artifact onnx/int4: the bundle has no such artifact. Choose from: onnx/fp32, onnx/int8, tflite/fp32, "
        "tflite/int8, coreml/fp16, coreml/int8, executorch/fp32, executorch/int8."]


def test_a_config_of_another_model_is_refused(outliers_bundle, tmp_path):
    other = tmp_path / "other.toml"
    text = CONFIG.read_text().replace('"../../', f'"{ROOT}/').replace("mobilekit.zoo.outlier_cnn:build", "mobilekit.zoo.digits_cnn:build")
    other.write_text(text)  # digits_cnn:build is the untrained architecture: another function
    proc = run_debug(str(outliers_bundle), "--config", str(other), "--artifact", "onnx/fp32")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "is not the one" in proc.stderr and "--config" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_placement_comes_only_from_tools_that_know_and_says_which(result):
    onnx_p = result["artifacts"]["onnx/int8"]["placement"]
    assert "estimate" in onnx_p["source"] and onnx_p["nnapi"]["nodes"] >= onnx_p["nnapi"]["supported_nodes"] > 0
    assert "QuantizeLinear" in onnx_p["coreml"]["unsupported_ops"]  # the Core ML EP's published list has no Q/DQ
    tfl = result["artifacts"]["tflite/int8"]["placement"]
    assert "optimistic" in tfl["source"] and isinstance(tfl["gpu_compatible"], bool)
    coreml = result["artifacts"]["coreml/int8"]["placement"]
    assert coreml["source"] is None and "macOS" in coreml["note"]


def test_the_report_plots_each_failed_artifacts_layers(outliers_bundle, tmp_path):
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "outliers"
    shutil.copytree(outliers_bundle, copy)
    proc = subprocess.run([sys.executable, "-m", "mobilekit", "report", str(copy)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pngs = {p.name for p in (copy / "report").glob("layers-*.png")}
    assert pngs == {"layers-onnx-int8.png", "layers-tflite-int8.png", "layers-coreml-int8.png", "layers-executorch-int8.png"}
    assert (copy / "report/layers-onnx-int8.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"First below the threshold: {FIRST_BELOW}." in (copy / "report.md").read_text()


def test_data_gives_the_inputs_and_the_golden_check_still_holds(outliers_bundle, tmp_path):
    import numpy as np

    golden = np.load(outliers_bundle / "assets/golden/inputs.image.npy")
    np.save(tmp_path / "x.npy", golden[:3].reshape(3, 3, 32, 32))
    proc = run_debug(str(outliers_bundle), "--config", str(CONFIG), "--artifact", "onnx/fp32", "--data", str(tmp_path / "x.npy"),
                     "--json", "--no-placement")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["samples"] == 3 and out["data"].endswith("x.npy")
