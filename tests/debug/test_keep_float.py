"""`[compression] keep_float`: the layers a user names stay float on every target that quantizes.

The outliers example (examples/outliers) with block 1, the pool and block 2 kept float by module
name, no fallback: plain int8 loses 4-16 points there, so passing the 0.5-point budget proves
each target honoured the list. One export for the module (real converters and runtimes).
"""

import json
import re
import subprocess
import sys

import pytest

from .conftest import CONFIG, ROOT

pytestmark = pytest.mark.slow

KEEP = ["features.0", "features.1", "features.2"]  # conv-bn-relu, max pool, conv-bn-relu


def _export(tmp_path, targets, keep):
    text = CONFIG.read_text().replace('"../../', f'"{ROOT}/').replace(f'output_dir = "{ROOT}/dist"', f'output_dir = "{tmp_path}"')
    text = re.sub(r"(?m)^targets = \[.*\]$", f"targets = {json.dumps(list(targets))}", text)
    text += f"\n[compression]\nkeep_float = {json.dumps(keep)}\n\n[budgets]\nmax_metric_drop = 0.5\n"
    toml = tmp_path / "mobilekit.toml"
    toml.write_text(text)
    return subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(toml)], capture_output=True, text=True,
                          timeout=1200)


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keep_float")
    proc = _export(tmp, ("onnx", "tflite", "executorch", "coreml"), KEEP)
    manifest = json.loads((tmp / "outliers" / "manifest.json").read_text())
    return proc, {f"{a['target']}/{a['variant']}": a for a in manifest["artifacts"]}


@pytest.mark.parametrize("label", ["onnx/int8", "tflite/int8", "executorch/int8"])
def test_each_target_keeps_the_named_layers_float(kept, label):
    proc, arts = kept
    art = arts[label]
    assert art["status"] == "verified", (art.get("error"), proc.stderr[-2000:])
    assert art["metrics"]["top1_drop"] <= 0.005  # plain int8 loses 4.2-15.9 points on this model
    entry = next(c for c in art["compression"] if c.get("by") == "compression.keep_float")
    assert entry["requested"] == KEEP
    # module names → the capture's nodes under them (7: conv, bn, relu, pool, conv, bn, relu)
    assert {"conv2d", "relu", "max_pool2d", "conv2d_1", "relu_1"} <= set(entry["nodes"]) and len(entry["nodes"]) <= 8
    assert entry["kept_float"] and "fallback" not in art
    fp32 = arts[label.replace("int8", "fp32")]
    assert art["size_bytes"] < 0.5 * fp32["size_bytes"]


def test_nothing_the_list_names_is_dropped_silently(kept):
    _proc, arts = kept
    for label in ("onnx/int8", "tflite/int8"):
        entry = next(c for c in arts[label]["compression"] if c.get("by") == "compression.keep_float")
        # a conv folded with its batch norm is kept as the op that computes the relu after them
        assert entry["fused"].get("conv2d") == "relu" and entry["fused"].get("conv2d_1") == "relu_1", entry
        assert entry["not_matched"] == [], entry  # every node is in a kept op or listed here
    # the ops that compute the listed nodes, nothing more
    onnx = next(c for c in arts["onnx/int8"]["compression"] if c.get("by") == "compression.keep_float")
    assert onnx["kept_float"] == ["node_Conv_67", "node_relu", "node_max_pool2d", "node_Conv_69", "node_relu_1"]
    tfl = next(c for c in arts["tflite/int8"]["compression"] if c.get("by") == "compression.keep_float")
    assert len(tfl["kept_float"]) == 3  # TFLite fuses conv-bn-relu into one op: two of them and the pool


def test_core_ml_keeps_the_weights_of_the_named_convs_float(kept):
    """Core ML compresses weights only: the two convs' weights stay float (each folded with its
    batch norm into the op named after it), the relus and the pool have none to keep."""
    proc, arts = kept
    art = arts["coreml/int8"]
    assert art["status"] == "verified", (art.get("error"), proc.stderr[-2000:])  # plain: parity fails (cosine 0.94)
    entry = next(c for c in art["compression"] if c.get("by") == "compression.keep_float")
    assert entry["requested"] == KEEP and len(entry["kept_float"]) == 2, entry
    assert {"conv2d", "conv2d_1"} <= set(entry["fused"]), entry
    assert {"relu", "max_pool2d", "relu_1"} <= set(entry["not_matched"]) and "weights only" in entry["note"]
    assert art["size_bytes"] < arts["coreml/fp16"]["size_bytes"]
    assert not any(c.get("by") == "compression.keep_float" for c in arts["coreml/fp16"]["compression"])  # not compressed


def test_an_unknown_name_is_one_clear_error(tmp_path):
    proc = _export(tmp_path, ("onnx",), ["features.0", "no_such_layer"])
    assert proc.returncode == 1, proc.stderr[-2000:]  # the target fails (names are known once captured)
    assert "onnx/all: compression.keep_float: 'no_such_layer' names no node or module of the model" in proc.stderr
    assert "mobilekit debug" in proc.stderr and "features.0" in proc.stderr  # valid names and how to see them


def test_the_list_is_validated_with_the_config():
    from mobilekit import _validate
    from mobilekit.config import CompressionConfig
    from mobilekit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"compression.keep_float\[1\].*listed twice"):
        _validate.build(CompressionConfig, {"keep_float": ["relu", "relu"]}, "compression")
    with pytest.raises(ConfigError, match=r"compression.keep_float\[0\]"):
        _validate.build(CompressionConfig, {"keep_float": [""]}, "compression")
