"""Real models converted to Core ML with mobilekit's own target, run through the interpreter.

Each model converts once per session (module fixtures); conversions make these `slow`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from mobilekit.targets.base import ConvertJob, options_dict  # noqa: E402
from mobilekit.targets.coreml import TARGET  # noqa: E402
from mobilekit.verify import verdict  # noqa: E402
from mobilekit.verify.coreml_interp import UnsupportedOp, first_divergence, runner  # noqa: E402
from mobilekit.verify.coreml_interp.interpreter import run as run_program  # noqa: E402
from mobilekit.verify.coreml_interp.program import Ref, load  # noqa: E402

pytestmark = pytest.mark.slow

DIGITS_PRE = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": 1 / 255, "color": "RGB"}


def _tolerance(name: str) -> dict:
    """The default verify tolerance the other targets use (fp32 / fp16 / int8)."""
    return verdict.rule_for(name)


def _convert(root: Path, model, spec: dict, options: dict) -> dict:
    """mobilekit's Core ML target on `model`; {variant: (package path, record)}."""
    root.mkdir(parents=True, exist_ok=True)
    shapes = [tuple(t["shape"]) for t in spec["inputs"]]
    ep = torch.export.export(model, tuple(torch.zeros(s) for s in shapes))
    torch.export.save(ep, str(root / "program.pt2"))
    opts = TARGET.parse_options(options, "coreml")
    job = ConvertJob(target="coreml", program=str(root / "program.pt2"), spec=spec, options=options_dict(opts),
                     bundle_dir=str(root / "bundle"), work_dir=str(root / "work"),
                     versions={"mobilekit": "test", "torch": torch.__version__})
    return {r.variant: (Path(job.bundle_dir) / r.path, r) for r in TARGET.convert(job)}


def _spec(name, shape, pre=None, labels=None, out_shape=None) -> dict:
    return {"name": name, "version": "0.1", "task": "image_classification", "author": "", "license": "",
            "description": "",
            "inputs": [{"name": "image", "shape": list(shape), "dtype": "float32", "dynamic": [], "preprocessing": pre,
                        "labels": None, "labels_path": None, "description": ""}],
            "outputs": [{"name": "logits", "shape": list(out_shape), "dtype": "float32", "dynamic": [], "preprocessing": None,
                         "labels": labels, "labels_path": "assets/labels.txt" if labels else None, "description": ""}]}


def _image_inputs(n: int, shape, pre: dict, seed: int = 0) -> list[np.ndarray]:
    """Spec inputs made from whole pixels, so the pixel round trip is exact."""
    rng = np.random.default_rng(seed)
    mean = np.asarray(pre["mean"]).reshape(1, -1, 1, 1)
    std = np.asarray(pre["std"]).reshape(1, -1, 1, 1)
    return [((rng.integers(0, 256, size=shape) * pre["scale"] - mean) / std).astype(np.float32) for _ in range(n)]


def _torch(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


# --------------------------------------------------------------------------------------------
# fixtures: one conversion per model per session


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from mobilekit.zoo import digits_cnn

    model = digits_cnn.trained()
    spec = _spec("digits", (1, 3, 32, 32), DIGITS_PRE, [str(d) for d in range(10)], (1, 10))
    pkgs = _convert(tmp_path_factory.mktemp("cmi-digits"), model, spec, {
        "compute_precision": "float32", "minimum_deployment_target": "iOS16",
        "variants": ["fp32", "fp16", "int8", "palettize-4", "pruned"]})
    return model, pkgs


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory):
    from mobilekit.zoo import mobilenet_v2

    torch.manual_seed(0)
    model = mobilenet_v2.MobileNetV2(num_classes=20, width_mult=0.5)
    # random init gives activations near 1e-8 in eval mode (BN stats 0/1); calibrate BN statistics
    # on random batches so activations are O(1), as in a trained net
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 64, 64))
    model.eval()
    spec = _spec("mnv2", (1, 3, 64, 64), None, None, (1, 20))
    pkgs = _convert(tmp_path_factory.mktemp("cmi-mnv2"), model, spec,
                    {"compute_precision": "float32", "variants": ["fp32", "fp16"]})
    return model, pkgs


# --------------------------------------------------------------------------------------------
# parity with torch


def test_digits_fp32_matches_torch_and_classifier(digits):
    model, pkgs = digits
    path, record = pkgs["fp32"]
    run = runner(path, record)
    assert run.verified_by.startswith("mobilekit-coreml-interpreter ")
    worst = 0.0
    for x in _image_inputs(3, (1, 3, 32, 32), DIGITS_PRE):
        out = run({"image": x})
        ref = _torch(model, x)
        worst = max(worst, float(np.abs(out["logits"] - ref).max()))
        probs = torch.softmax(torch.from_numpy(ref), -1).numpy()
        np.testing.assert_allclose(out["classLabel_probs"], probs, atol=1e-5)
    assert worst <= 1e-4, worst


@pytest.mark.parametrize("variant", ["fp16"])
def test_digits_fp16_within_fp16_tolerance(digits, variant):
    model, pkgs = digits
    path, record = pkgs[variant]
    run = runner(path, record)
    assert run.program.computes_in_fp16
    xs = _image_inputs(4, (1, 3, 32, 32), DIGITS_PRE, seed=1)
    figures = verdict.compare([{"logits": _torch(model, x)} for x in xs], [run(({"image": x})) for x in xs],
                             classifier_output="logits")
    assert verdict.failures(figures, _tolerance("fp16")) == [], figures
    assert figures["max_abs"] > 0  # really rounded to fp16, not computed in fp32


def test_mobilenet_fp32_and_fp16_match_torch(mobilenet):
    model, pkgs = mobilenet
    x = np.random.default_rng(2).standard_normal((1, 3, 64, 64)).astype(np.float32)
    ref = _torch(model, x)
    assert float(np.abs(ref).max()) > 0.05  # a meaningful scale for the tolerances
    out32 = runner(*pkgs["fp32"])({"image": x})["logits"]
    assert float(np.abs(out32 - ref).max()) <= 1e-4
    out16 = runner(*pkgs["fp16"])({"image": x})
    figures = verdict.compare([{"logits": ref}], [out16], classifier_output="logits")
    assert verdict.failures(figures, _tolerance("fp16")) == [], figures


# --------------------------------------------------------------------------------------------
# compressed variants: the constexpr ops give exactly coremltools' decompressed weights


def _constexpr_exact(path, record, x: np.ndarray, op_types: set[str]) -> dict:
    """Each constexpr op's output equals coremltools' decompression; the program on those dense
    weights (constexpr ops removed) gives exactly the same outputs. Returns the runner's outputs."""
    from mobilekit.targets.coreml import _all_ops, load_program

    program, _spec_ = load(path)
    _model, mil = load_program(path)
    constexpr = [op for op in _all_ops(mil) if op.op_type in op_types]
    assert constexpr, f"{record.variant} has none of {op_types}"
    seen = {}
    feeds = runner(path, record).native_feeds({"image": x})
    run_program(program, feeds, trace=lambda step, outs: seen.update(outs) if step.op_type in op_types else None)
    dense = {}
    for op in constexpr:
        want = np.asarray(op.materialized_val_inference())
        got = seen[op.outputs[0].name]
        np.testing.assert_array_equal(got.astype(want.dtype), want)
        dense[op.outputs[0].name] = want
    for step in program.steps:
        step.args = {k: (dense[v.name] if isinstance(v, Ref) and v.name in dense else v) for k, v in step.args.items()}
    program.steps = [s for s in program.steps if s.op_type not in op_types]
    again = run_program(program, feeds)
    ours = runner(path, record)({"image": x})
    np.testing.assert_array_equal(np.asarray(again[record.outputs[0].tensor], np.float32), ours[record.outputs[0].name])
    return ours


@pytest.mark.parametrize(("variant", "op_type"), [("int8", "constexpr_affine_dequantize"),
                                                  ("palettize-4", "constexpr_lut_to_dense"),
                                                  ("pruned", "constexpr_sparse_to_dense")])
def test_compressed_weights_equal_coremltools_decompression(digits, variant, op_type):
    model, pkgs = digits
    x = _image_inputs(1, (1, 3, 32, 32), DIGITS_PRE, seed=3)[0]
    ours = _constexpr_exact(*pkgs[variant], x, {op_type})
    # quantized / palettized: still the torch classifier, within the compressed-variant tolerance
    # (50% magnitude pruning of this small net is not: cosine ~0.96, a property of the model)
    if variant != "pruned":
        figures = verdict.compare([{"logits": _torch(model, x)}], [ours], classifier_output="logits")
        assert verdict.failures(figures, _tolerance("int8")) == [], figures


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(32, 40, 1)
        self.fc = torch.nn.Linear(40, 5)

    def forward(self, image):
        x = torch.relu(self.conv(image))
        return self.fc(torch.relu(self.conv2(x)).mean((2, 3)))


TINY_PRE = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "scale": 1 / 255, "color": "BGR"}


@pytest.fixture(scope="module")
def tiny18(tmp_path_factory):
    """BGR with per-channel std (folded into the model), iOS18 compression: per-block int4,
    per-grouped-channel LUTs and iOS18 sparse masks."""
    torch.manual_seed(1)
    model = TinyNet().eval()
    spec = _spec("tiny", (1, 3, 16, 16), TINY_PRE, ["a", "b", "c", "d", "e"], (1, 5))
    pkgs = _convert(tmp_path_factory.mktemp("cmi-tiny18"), model, spec, {
        "compute_precision": "float32", "minimum_deployment_target": "iOS18", "weight_threshold": 64,
        "palettize_group_size": 8, "variants": ["fp32", "int4-block", "palettize-4", "pruned"]})
    return model, pkgs


def test_bgr_image_with_folded_std_matches_torch(tiny18):
    model, pkgs = tiny18
    run = runner(*pkgs["fp32"])
    for x in _image_inputs(2, (1, 3, 16, 16), TINY_PRE, seed=6):
        out = run({"image": x})
        assert float(np.abs(out["logits"] - _torch(model, x)).max()) <= 1e-4


@pytest.mark.parametrize(("variant", "op_types"), [
    ("int4-block", {"constexpr_blockwise_shift_scale"}),
    ("palettize-4", {"constexpr_lut_to_dense"}),
    ("pruned", {"constexpr_sparse_to_dense"}),
])
def test_ios18_compressed_weights_equal_coremltools_decompression(tiny18, variant, op_types):
    _model, pkgs = tiny18
    x = _image_inputs(1, (1, 3, 16, 16), TINY_PRE, seed=7)[0]
    _constexpr_exact(*pkgs[variant], x, op_types)


# --------------------------------------------------------------------------------------------
# fp16 overflow is caught


class Overflow(torch.nn.Module):
    """An activation near 1e5 (> 65504, the fp16 maximum), scaled back down after a ReLU."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)
        with torch.no_grad():
            self.fc.weight.fill_(4.0e4)  # weights fit fp16; their sum over 8 inputs does not
            self.fc.bias.zero_()

    def forward(self, image):
        return torch.relu(self.fc(image)) * 1e-4


@pytest.fixture(scope="module")
def overflow(tmp_path_factory):
    model = Overflow().eval()
    spec = _spec("overflow", (1, 8), None, None, (1, 8))
    spec["task"] = "regression"
    pkgs = _convert(tmp_path_factory.mktemp("cmi-overflow"), model, spec,
                    {"compute_precision": "float32", "variants": ["fp32", "fp16"]})
    return model, pkgs


def test_fp16_overflow_fails_parity_and_fp32_passes(overflow):
    model, pkgs = overflow
    x = np.abs(np.random.default_rng(4).standard_normal((1, 8))).astype(np.float32) + 0.5  # sum >= 4 → > 1.6e5
    ref = {"logits": _torch(model, x)}
    assert float(ref["logits"].max()) > 6.5504  # the pre-scale activation exceeds 65504
    f32 = verdict.compare([ref], [runner(*pkgs["fp32"])({"image": x})], classifier_output=None)
    assert verdict.failures(f32, _tolerance("fp32")) == []
    out16 = runner(*pkgs["fp16"])({"image": x})
    assert not np.isfinite(out16["logits"]).all()
    with np.errstate(invalid="ignore"):
        f16 = verdict.compare([ref], [out16], classifier_output=None)
    assert verdict.failures(f16, _tolerance("fp16")), f16
    # and the report names the op that overflowed
    path, record = pkgs["fp16"]
    d = first_divergence(path, runner(path, record).native_feeds({"image": x}))
    assert d is not None and d.nonfinite and d.op_type == "linear", d
    assert "linear" in str(d) and "overflow" in str(d)


# --------------------------------------------------------------------------------------------
# unknown ops, macOS


def test_unknown_op_raises_before_running_naming_it(digits, monkeypatch):
    from mobilekit.verify.coreml_interp import registry

    registry.ops()
    monkeypatch.delitem(registry.OPS, "max_pool")
    path, record = digits[1]["fp32"]
    with pytest.raises(UnsupportedOp) as err:
        runner(path, record)
    assert err.value.op_type == "max_pool" and "'max_pool'" in str(err.value)


@pytest.mark.macos
@pytest.mark.skipif(sys.platform != "darwin", reason="needs the Core ML runtime (macOS only)")
def test_interpreter_matches_core_ml_runtime(digits):  # pragma: no cover - macOS
    from mobilekit.targets.coreml import _mac_runner

    _model, pkgs = digits
    for variant in ("fp32", "fp16", "int8"):
        path, record = pkgs[variant]
        ours = runner(path, record)
        mac = _mac_runner(record, path.parent.parent)
        for x in _image_inputs(2, (1, 3, 32, 32), DIGITS_PRE, seed=5):
            a, b = ours({"image": x}), mac({"image": x})
            tol = 1e-4 if variant == "fp32" else 5e-2
            np.testing.assert_allclose(a["logits"], b["logits"], atol=tol)
