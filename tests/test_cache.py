"""Re-exporting with nothing changed reuses artifacts; changing one target rebuilds only it."""

import time

import pytest
import torch

import mobilekit
import tiny_models

pytestmark = pytest.mark.slow


def test_unchanged_targets_are_reused_and_only_the_changed_one_converts(tmp_path):
    cfg = tiny_models.config(tmp_path, targets=["onnx", "tflite"], tflite={"variants": ["fp32"]})
    t = time.perf_counter()
    first = mobilekit.export(config=cfg)
    first_s = time.perf_counter() - t

    t = time.perf_counter()
    second = mobilekit.export(config=cfg)
    second_s = time.perf_counter() - t
    assert all(a.get("cached") for a in second.artifacts)
    assert [a["sha256"] for a in second.artifacts] == [a["sha256"] for a in first.artifacts]
    assert second_s <= 0.2 * first_s, (first_s, second_s)
    assert "capture" not in second.manifest["stages"] and "reuse" in second.manifest["stages"]  # decided before capture
    assert (second.path / "assets/golden/index.json").exists()

    third = mobilekit.export(config={**cfg, "tflite": {"variants": ["fp32", "fp16"]}})
    ran = {a["target"] for a in third.artifacts if not a.get("cached")}
    assert ran == {"tflite"}
    assert (third.path / "logs/tflite.log").stat().st_mtime > (third.path / "logs/onnx.log").stat().st_mtime

    forced = mobilekit.export(config=cfg, force=True)
    assert not any(a.get("cached") for a in forced.artifacts)


def test_a_failed_variant_is_converted_again_and_the_passed_ones_are_kept(tmp_path):
    """A bundle whose last run failed one variant (its manifest says so, as a crashed converter or
    a missed check would leave it): the re-export converts that variant (and the target's first,
    which the others derive from) and keeps the rest of the target and the other targets."""
    import json

    cfg = tiny_models.config(tmp_path, targets=["onnx", "tflite"], onnx={"variants": ["fp32", "fp16", "int8-dynamic"]},
                             tflite={"variants": ["fp32"]})
    first = mobilekit.export(config=cfg)
    manifest_path = first.path / "manifest.json"
    doc = json.loads(manifest_path.read_text())
    fp16 = next(a for a in doc["artifacts"] if a["target"] == "onnx" and a["variant"] == "fp16")
    fp16.update(status="failed", error="the converter crashed (left by an earlier run)")
    manifest_path.write_text(json.dumps(doc))
    onnx_log = (first.path / "logs/onnx.log").read_bytes()

    again = mobilekit.export(config=cfg)
    by = {f"{a['target']}/{a['variant']}": a for a in again.artifacts}
    assert list(by) == ["onnx/fp32", "onnx/fp16", "onnx/int8-dynamic", "tflite/fp32"]  # the bundle's order
    assert by["onnx/int8-dynamic"].get("cached") and by["tflite/fp32"].get("cached")
    assert not by["onnx/fp16"].get("cached") and by["onnx/fp16"]["status"] == "verified"
    assert not by["onnx/fp32"].get("cached") and by["onnx/fp32"]["status"] == "verified"
    first_by = {f"{a['target']}/{a['variant']}": a for a in first.artifacts}
    assert by["onnx/int8-dynamic"]["sha256"] == first_by["onnx/int8-dynamic"]["sha256"]
    assert (again.path / by["onnx/int8-dynamic"]["path"]).exists() and (again.path / by["onnx/fp32"]["path"]).exists()
    assert by["onnx/fp16"]["log"] == "logs/onnx.retry.log" and (again.path / "logs/onnx.log").read_bytes() == onnx_log
    assert "capture" in again.manifest["stages"]  # a failed artifact is never reused before capture
    third = mobilekit.export(config=cfg)  # everything passed now: the whole bundle is reused
    assert all(a.get("cached") for a in third.artifacts) and "capture" not in third.manifest["stages"]


def test_a_tampered_cached_file_is_not_reused(tmp_path):
    cfg = tiny_models.config(tmp_path)
    first = mobilekit.export(config=cfg)
    model = first.path / "onnx/model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    again = mobilekit.export(config=cfg)
    assert not again.artifacts[0].get("cached") and again.artifacts[0]["status"] == "verified"


MODEL_CODE = """
import torch


def scale():
    return {factor}


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1)) * scale()


def build():
    return Net().eval()
"""


def test_a_change_in_a_helper_file_of_the_model_is_seen_before_capture(tmp_path):
    pkg = tmp_path / "repo" / "netpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text(MODEL_CODE.split("class Net")[0].format(factor="2.0"))
    (pkg / "model.py").write_text("from .helpers import scale\n" + "import torch\n\nclass Net" + MODEL_CODE.split("class Net")[1])
    cfg = {**tiny_models.config(tmp_path, targets=["onnx"]), "source": "netpkg.model:build", "base_dir": str(tmp_path / "repo"),
           "inputs": [{"name": "image", "shape": [1, 3, 8, 8], "preprocessing": {"mean": [0.5] * 3, "std": [0.5] * 3}}]}
    first = mobilekit.export(config=cfg)
    assert first.artifacts[0]["status"] == "verified" and first.artifacts[0]["source_fingerprint"]
    again = mobilekit.export(config=cfg)
    assert again.artifacts[0].get("cached") and "capture" not in again.manifest["stages"]

    # a helper the forward pass calls, in another file of the package: not reused before capture
    import sys

    (pkg / "helpers.py").write_text(MODEL_CODE.split("class Net")[0].format(factor="3.0"))
    for name in [m for m in sys.modules if m.startswith("netpkg")]:
        del sys.modules[name]
    changed = mobilekit.export(config=cfg)
    assert "capture" in changed.manifest["stages"] and not changed.artifacts[0].get("cached")
    assert changed.artifacts[0]["sha256"] != first.artifacts[0]["sha256"]


def test_a_pt2_source_is_fingerprinted_and_reused_wherever_the_bundle_goes(tmp_path):
    # an ExportedProgram's state_dict is a property, not a method; the output folder is not an input
    ep = torch.export.export(tiny_models.build(), (torch.randn(1, 3, 8, 8),))
    torch.export.save(ep, str(tmp_path / "m.pt2"))
    cfg = {**tiny_models.config(tmp_path, targets=["onnx"]), "source": str(tmp_path / "m.pt2")}
    first = mobilekit.export(config={**cfg, "output_dir": str(tmp_path / "a")})
    elsewhere = mobilekit.export(config={**cfg, "output_dir": str(tmp_path / "b")})
    assert first.artifacts[0]["status"] == "verified"
    assert elsewhere.artifacts[0]["source_fingerprint"] == first.artifacts[0]["source_fingerprint"]
    again = mobilekit.export(config={**cfg, "output_dir": str(tmp_path / "a")})
    assert again.artifacts[0].get("cached") and "capture" not in again.manifest["stages"]
