"""The ONNX target on the shipped digits model: every variant verified on ONNX Runtime."""

import json

import onnx
import pytest

import mobilekit
from conftest import ROOT

pytestmark = pytest.mark.slow

DEMO = ROOT / "examples/digits/mobilekit.toml"


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    variants = ["fp32", "fp16", "int8-dynamic", "int8"]
    first = mobilekit.export(config=str(DEMO), targets=["onnx"], output_dir=str(out / "a"), onnx={"variants": variants})
    second = mobilekit.export(config=str(DEMO), targets=["onnx"], output_dir=str(out / "b"), onnx={"variants": variants})
    return first, second


def test_every_variant_verifies_with_top1_within_half_a_point(digits):
    b, _ = digits
    torch_top1 = b.manifest["metrics"]["torch"]["top1"]
    assert torch_top1 > 0.98
    for a in b.artifacts:
        assert a["status"] == "verified", a
        assert a["parity"]["top1_agreement"] == 1.0
        assert torch_top1 - a["metrics"]["top1"] <= 0.005, a["variant"]
    fp32 = b.artifact("onnx", "fp32")
    assert fp32["parity"]["max_abs"] < 1e-4
    assert b.artifact("onnx", "int8")["size_bytes"] < 0.35 * fp32["size_bytes"]
    assert b.artifact("onnx", "fp16")["size_bytes"] < 0.55 * fp32["size_bytes"]


def test_metadata_is_in_the_model_and_stack_traces_are_not(digits):
    b, _ = digits
    for a in b.artifacts:
        model = onnx.load(str(b.path / a["path"]))
        props = {p.key: p.value for p in model.metadata_props}
        assert props["name"] == "digits" and props["task"] == "image_classification"
        assert json.loads(props["labels"]) == [str(d) for d in range(10)]
        assert json.loads(props["inputs"])[0]["preprocessing"]["mean"] == [0.5, 0.5, 0.5]
        assert not any(n.metadata_props for n in model.graph.node)
    onnx.checker.check_model(str(b.path / "onnx/model.onnx"), full_check=True)


def test_two_exports_give_identical_bytes_and_manifests(digits):
    a, b = digits
    for art in a.artifacts:
        assert (a.path / art["path"]).read_bytes() == (b.path / art["path"]).read_bytes(), art["path"]

    def stable(m):
        # timestamps, timings and memory figures differ by nature; everything else must not
        arts = [{k: v for k, v in a.items() if k != "latency_ms"} for a in m["artifacts"]]
        return {**{k: v for k, v in m.items() if k not in ("created_at", "stages", "peak_rss_mb")}, "artifacts": arts}

    assert stable(a.manifest) == stable(b.manifest)


def test_golden_vectors_are_written_with_pixels(digits):
    b, _ = digits
    index = json.loads((b.path / "assets/golden/index.json").read_text())
    assert index["samples"] == 16
    assert index["pixels"]["image"]["shape"] == [16, 32, 32, 3]
    assert (b.path / "assets/labels.txt").read_text().split() == [str(d) for d in range(10)]


def test_int8_has_no_bias_zero_points_and_ort_still_fuses_every_conv(digits, tmp_path):
    """The all-zero int32 bias zero points are dropped (optional in DequantizeLinear); the
    QDQ units still become QLinearConv/QGemm when ORT optimizes the graph."""
    import onnxruntime as ort

    b, _ = digits
    path = b.path / b.artifact("onnx", "int8")["path"]
    model = onnx.load(str(path))
    ints = {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT32}
    bias_dq = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in ints]
    assert bias_dq and all(len(n.input) == 2 for n in bias_dq)
    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node]
    float_convs = sum(1 for n in onnx.load(str(b.path / "onnx/model.onnx")).graph.node if n.op_type in ("Conv", "Gemm"))
    assert ops.count("QLinearConv") + ops.count("QGemm") == float_convs and "Conv" not in ops
