"""The TFLite target with the real converters and the real LiteRT interpreter.

Each test builds a ConvertJob as the pipeline does (torch.export program, fp32 ONNX, spec dict,
calibration .npz) and calls `TARGET.convert(job)` directly; the files are then run with
`litert_runner` against torch. Conversions are shared per module: the slow part is converting.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mobilekit import config as config_mod
from mobilekit import spec as spec_mod
from mobilekit.errors import ConfigError, ConversionError, UserError
from mobilekit.targets import tflite
from mobilekit.targets.base import ArtifactRecord, ConvertJob
from mobilekit.targets.tflite import TARGET
from mobilekit.targets.tflite import target as tflite_target
from netblock import blocked_env

ZOO = Path(__file__).resolve().parents[2] / "mobilekit" / "zoo"
ALL = ["fp32", "fp16", "int8-dynamic", "int8"]


# -- workspace helpers ----------------------------------------------------------------------------

class Workspace:
    """What the pipeline hands a worker: program, ONNX, spec, calibration; plus torch for reference."""

    def __init__(self, root: Path, model, name: str, shape: list[int], labels_file: str | None, calibration):
        import torch

        from mobilekit.targets.onnx.export import export_onnx

        self.root = root
        self.program = root / "program.pt2"
        torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(self.program))
        self.module = model
        outputs = [{"name": "logits", **({"labels": labels_file} if labels_file else {})}]
        cfg = config_mod.from_dict({
            "name": name, "version": "1.2.3", "author": "Test Author", "license": "Apache-2.0",
            "description": f"{name} for tests", "task": "image_classification", "targets": ["tflite"],
            "inputs": [{"name": "image", "shape": shape, "preprocessing": {"mean": [0.5] * 3, "std": [0.5] * 3}}],
            "outputs": outputs,
        }, base_dir=str(ZOO))
        with torch.no_grad():
            out = model(torch.zeros(shape))
        self.spec = spec_mod.with_output_shapes(spec_mod.from_config(cfg), [list(out.shape)], ["float32"]).to_dict()
        self.onnx = root / "model.onnx"
        export_onnx(self.program, self.onnx, self.spec, opset=18)
        self.calibration = root / "calibration.npz"
        np.savez(self.calibration, image=calibration)

    def job(self, name: str, **options) -> ConvertJob:
        out = self.root / name
        return ConvertJob(target="tflite", program=str(self.program), spec=self.spec, options=options,
                          bundle_dir=str(out / "bundle"), work_dir=str(out / "work"), onnx=str(self.onnx),
                          calibration=str(self.calibration), versions={"mobilekit": "test"})

    def convert(self, name: str, **options) -> tuple[list[ArtifactRecord], Path]:
        job = self.job(name, **options)
        return TARGET.convert(job), Path(job.bundle_dir)

    def torch_out(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.module(torch.from_numpy(x)).numpy()


def run_file(record: ArtifactRecord, bundle: Path):
    from mobilekit.verify.runners import litert_runner

    return litert_runner(bundle / record.path, record)


def top1(run, x: np.ndarray, y: np.ndarray) -> float:
    hits = sum(int(np.argmax(run({"image": x[i:i + 1]})["logits"]) == y[i]) for i in range(len(x)))
    return hits / len(x)


def max_abs(run, ws: Workspace, xs: np.ndarray) -> float:
    return max(float(np.abs(run({"image": xs[i:i + 1]})["logits"] - ws.torch_out(xs[i:i + 1])).max()) for i in range(len(xs)))


def mobilenet_with_statistics():
    """The zoo MobileNetV2 with BatchNorm statistics from two seeded random batches.

    As built, the untrained net's logits are ~1e-9 (identity BN statistics after shrinking
    convolutions), so a 1e-4 tolerance would check nothing; with these they are O(0.1).
    """
    import torch

    from mobilekit.zoo import mobilenet_v2

    model = mobilenet_v2.build()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
            m.reset_running_stats()
    model.train()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, 3, 224, 224, generator=gen))
    return model.eval()


def random_images(n: int, shape: list[int], seed: int) -> np.ndarray:
    px = np.random.default_rng(seed).integers(0, 256, (n, *shape[1:]))
    return ((px / 255.0 - 0.5) / 0.5).astype(np.float32)


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from mobilekit.zoo import digits_cnn, digits_data

    x, y = digits_data.heldout()
    ws = Workspace(tmp_path_factory.mktemp("tflite-digits"), digits_cnn.trained(), "digits", [1, 3, 32, 32],
                   "digits_labels.txt", digits_data.calibration(128))
    ws.heldout = (x, y)
    return ws


@pytest.fixture(scope="module")
def digits_auto(digits):
    """converter = auto, all four variants (first conversion in this process: cold imports)."""
    return digits.convert("auto", variants=ALL)


@pytest.fixture(scope="module")
def digits_fallback(digits):
    """auto with onnx2tf failing (forced): litert-torch must make fp32 and full int8 (float I/O)."""
    def broken(*args, **kwargs):
        raise RuntimeError("onnx2tf failed on purpose (test)")

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(tflite_target._BUILDERS, "onnx2tf", broken)
        return digits.convert("fallback", variants=["fp32", "int8"])


# -- options and validation (fast) ---------------------------------------------------------------

def test_options_defaults_and_key_paths():
    opts = TARGET.parse_options({}, "tflite")
    assert (opts.converter, opts.variants, opts.integer_io) == ("auto", ["fp32"], False)
    with pytest.raises(ConfigError) as e:
        TARGET.parse_options({"variants": ["fp32"], "integer_io": True}, "tflite")
    assert e.value.key == "tflite.integer_io" and '"int8"' in e.value.one_line()
    with pytest.raises(ConfigError) as e:
        TARGET.parse_options({"variants": ["fp32", "int4"]}, "tflite")
    assert e.value.key == "tflite.variants[1]"
    with pytest.raises(ConfigError) as e:
        TARGET.parse_options({"variants": []}, "tflite")
    assert e.value.key == "tflite.variants"
    with pytest.raises(ConfigError) as e:
        TARGET.parse_options({"converter": "tf"}, "tflite")
    assert e.value.key == "tflite.converter"
    assert TARGET.needs_calibration(TARGET.parse_options({"variants": ["fp32", "int8"]}, "tflite"))
    assert not TARGET.needs_calibration(TARGET.parse_options({"variants": ["int8-dynamic"]}, "tflite"))


def test_validate_refuses_impossible_combinations():
    cfg = config_mod.from_dict({
        "targets": ["tflite"], "inputs": [{"name": "image", "shape": [1, 3, 8, 8], "preprocessing": {}}],
        "outputs": [{"name": "logits"}], "tflite": {"variants": ["fp32", "int8"]},
    })
    spec = spec_mod.from_config(cfg)
    with pytest.raises(UserError, match="calibration"):
        TARGET.validate(cfg.options("tflite"), spec, cfg)
    opts = tflite.TFLiteOptions(variants=["fp32"], integer_io=True)  # built directly: check() not run yet
    with pytest.raises(ConfigError, match="integer_io"):
        TARGET.validate(opts, spec, None)


def test_full_int8_without_calibration_is_a_one_line_user_error(tmp_path):
    spec = {"name": "m", "inputs": [{"name": "image", "shape": [1, 3, 8, 8], "dtype": "float32", "preprocessing": {}}],
            "outputs": [{"name": "logits", "shape": [1, 3], "dtype": "float32"}]}
    job = ConvertJob(target="tflite", program=str(tmp_path / "none.pt2"), spec=spec, options={"variants": ["fp32", "int8"]},
                     bundle_dir=str(tmp_path / "b"), work_dir=str(tmp_path / "w"), onnx=None, calibration=None)
    with pytest.raises(UserError) as e:
        TARGET.convert(job)
    line = e.value.one_line()
    assert "calibration" in line and "\n" not in line
    assert not (tmp_path / "b").exists()


# -- the digits CNN --------------------------------------------------------------------------------

@pytest.mark.slow
def test_digits_all_variants_verify(digits, digits_auto):
    records, bundle = digits_auto
    x, y = digits.heldout
    assert [r.variant for r in records] == ALL
    runs = {r.variant: run_file(r, bundle) for r in records}
    assert max_abs(runs["fp32"], digits, x[:32]) <= 1e-4
    scores = {v: top1(run, x, y) for v, run in runs.items()}
    assert scores["fp32"] > 0.98, scores
    for v in ("fp16", "int8-dynamic", "int8"):
        assert scores["fp32"] - scores[v] <= 0.005, scores
    sizes = {r.variant: (bundle / r.path).stat().st_size for r in records}
    assert sizes["int8"] < 0.35 * sizes["fp32"] and sizes["fp16"] < 0.6 * sizes["fp32"], sizes


@pytest.mark.slow
def test_digits_records_describe_the_files(digits, digits_auto):
    records, bundle = digits_auto
    names = {"fp32": "tflite/model.tflite", "fp16": "tflite/model.fp16.tflite",
             "int8-dynamic": "tflite/model.int8-dynamic.tflite", "int8": "tflite/model.int8.tflite"}
    for r in records:
        assert r.target == "tflite" and r.path == names[r.variant]
        assert r.layout == "NHWC"
        assert r.made_by["converter"] == "onnx2tf" and r.made_by["version"]  # auto's first choice
        assert r.inputs[0].tensor == "image" and r.inputs[0].layout == "NHWC" and r.inputs[0].shape == [1, 32, 32, 3]
        assert r.outputs[0].tensor == "logits" and r.outputs[0].shape == [1, 10]
        assert r.inputs[0].dtype == r.outputs[0].dtype == "float32"  # integer_io is off
        assert "FLEX" not in " ".join(r.details["ops"])
        facts = TARGET.check_structure(r, bundle, None)
        assert facts["signature"] == {"inputs": ["image"], "outputs": ["logits"]}
        assert facts["metadata"]["labels"] == 10
        json.dumps(r.to_dict())  # crosses the process boundary as JSON
    by = {r.variant: r for r in records}
    assert by["fp32"].compression == [] and by["fp32"].details["self_check"]["ok"]
    assert by["int8"].compression[0] | {"calibration_samples": 0} == {
        "kind": "quantization", "weights": "int8", "activations": "int8", "granularity": "per-channel",
        "io": "float32", "calibration_samples": 0, "method": "TFLiteConverter full integer"}
    assert by["int8"].compression[0]["calibration_samples"] == 128
    assert by["fp16"].compression[0]["weights"] == "fp16"
    assert by["int8-dynamic"].compression[0]["activations"] == "dynamic-int8"
    assert {"QUANTIZE", "DEQUANTIZE"} <= set(by["int8"].details["ops"])


@pytest.mark.slow
def test_digits_metadata_reads_back(digits_auto):
    from mobilekit.targets.tflite.metadata import read_metadata

    records, bundle = digits_auto
    for r in records:
        meta = read_metadata(bundle / r.path)
        assert (meta["name"], meta["version"], meta["author"], meta["license"]) == ("digits", "1.2.3", "Test Author", "Apache-2.0")
        assert meta["description"] == "digits for tests"
        # (pixel / 255 - 0.5) / 0.5 == (pixel - 127.5) / 127.5: the metadata convention is raw pixels
        assert meta["mean"] == meta["std"] == [127.5, 127.5, 127.5]
        assert meta["inputs"][0]["name"] == "image" and meta["inputs"][0]["color"] == "RGB"
        assert meta["labels"] == [str(d) for d in range(10)]
        assert meta["outputs"][0]["labels_file"] == "labels.txt"


@pytest.mark.slow
def test_two_conversions_give_identical_bytes(digits, digits_auto):
    records, bundle = digits_auto
    again, bundle2 = digits.convert("auto-again", variants=ALL)
    for a, b in zip(records, again):
        assert (bundle / a.path).read_bytes() == (bundle2 / b.path).read_bytes(), a.path
        assert a.to_dict() | {"details": {}} == b.to_dict() | {"details": {}}


@pytest.mark.slow
def test_conversion_with_sockets_blocked(digits, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:2] or args[:1])
        raise OSError(101, "Network is unreachable (blocked by test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # a fresh work folder: onnx2tf's sample file is not there until the target writes it
    records, bundle = digits.convert("offline", converter="onnx2tf", variants=["fp32", "int8"])
    assert attempts == []
    assert [r.variant for r in records] == ["fp32", "int8"]
    x, _ = digits.heldout
    assert max_abs(run_file(records[0], bundle), digits, x[:8]) <= 1e-4


@pytest.mark.slow
def test_litert_torch_fallback_makes_verified_fp32_and_int8(digits, digits_auto, digits_fallback):
    records, bundle = digits_fallback
    x, y = digits.heldout
    by = {r.variant: r for r in records}
    for r in records:
        assert r.made_by["converter"] == "litert-torch"
        assert r.details["fallback_from"] == ["onnx2tf: RuntimeError: onnx2tf failed on purpose (test)"]
        assert TARGET.check_structure(r, bundle, None)["signature"] == {"inputs": ["image"], "outputs": ["logits"]}
    fp32 = run_file(by["fp32"], bundle)
    assert max_abs(fp32, digits, x[:32]) <= 1e-4
    # PT2E quantizes the boundary too; _float_io gives the file float32 input/output again
    assert by["int8"].inputs[0].dtype == by["int8"].outputs[0].dtype == "float32"
    assert {"QUANTIZE", "DEQUANTIZE"} <= set(by["int8"].details["ops"])
    assert by["int8"].compression[0]["method"] == "litert-torch PT2E static"
    s32, s8 = top1(fp32, x, y), top1(run_file(by["int8"], bundle), x, y)
    assert s32 > 0.98 and s32 - s8 <= 0.005, (s32, s8)
    # both converters made a verified fp32 file of the same model
    auto_fp32 = next(r for r in digits_auto[0] if r.variant == "fp32")
    assert auto_fp32.made_by["converter"] == "onnx2tf"


@pytest.mark.slow
def test_every_converter_failing_is_a_conversion_error(digits):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(tflite_target._BUILDERS, "onnx2tf", broken)
        mp.setitem(tflite_target._BUILDERS, "litert-torch", broken)
        with pytest.raises(ConversionError, match="could not make fp32.*onnx2tf: RuntimeError: boom.*litert-torch: RuntimeError: boom"):
            digits.convert("all-broken", variants=["fp32"])


@pytest.mark.slow
def test_worker_process_offline_integer_io_and_same_bytes(digits, digits_auto, tmp_path):
    """The production path: `python -m mobilekit.worker` in a fresh process, network blocked."""
    env, log = blocked_env(tmp_path)
    job = digits.job("worker", converter="onnx2tf", variants=["fp32", "int8"], integer_io=True)
    work = Path(job.work_dir)
    work.mkdir(parents=True)
    job.save(work / "job.json")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PATH"] = "/usr/bin:/bin"  # the worker must find the venv's tools itself
    proc = subprocess.run([sys.executable, "-m", "mobilekit.worker", str(work / "job.json"), str(work / "result.json")],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((work / "result.json").read_text())
    assert result.get("error") is None, result["error"]
    assert not log.exists(), log.read_text()
    records = [ArtifactRecord.from_dict(r) for r in result["records"]]
    bundle = Path(job.bundle_dir)
    # same fp32 bytes as the in-process conversion: determinism across processes
    auto_fp32 = next(r for r in digits_auto[0] if r.variant == "fp32")
    assert (bundle / records[0].path).read_bytes() == (digits_auto[1] / auto_fp32.path).read_bytes()
    int8 = records[1]
    assert int8.inputs[0].dtype == int8.outputs[0].dtype == "int8"
    assert int8.compression[0]["io"] == "int8"
    x, y = digits.heldout
    s32, s8 = top1(run_file(records[0], bundle), x, y), top1(run_file(int8, bundle), x, y)
    assert s32 - s8 <= 0.005, (s32, s8)


# -- the MobileNetV2-style net ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("tflite-mnv2"), mobilenet_with_statistics(), "mnv2",
                     [1, 3, 224, 224], None, random_images(4, [1, 3, 224, 224], seed=0))


@pytest.mark.slow
@pytest.mark.parametrize("converter", ["onnx2tf", "litert-torch"])
def test_mobilenet_fp32_matches_torch(mobilenet, converter):
    records, bundle = mobilenet.convert(converter, converter=converter, variants=["fp32"])
    (r,) = records
    assert r.made_by["converter"] == converter
    xs = random_images(3, [1, 3, 224, 224], seed=1)
    assert float(np.abs(mobilenet.torch_out(xs[:1])).max()) > 0.05  # the check is not vacuous
    assert max_abs(run_file(r, bundle), mobilenet, xs) <= 1e-4
    from mobilekit.targets.tflite.metadata import read_metadata

    meta = read_metadata(bundle / r.path)
    assert meta["name"] == "mnv2" and meta["labels"] is None and meta["mean"] == [127.5] * 3
