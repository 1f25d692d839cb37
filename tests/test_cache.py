"""Re-exporting with nothing changed reuses artifacts; changing one target rebuilds only it."""

import time

import pytest

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
    assert second.manifest["stages"]["convert"] < 1.0

    third = mobilekit.export(config={**cfg, "tflite": {"variants": ["fp32", "fp16"]}})
    ran = {a["target"] for a in third.artifacts if not a.get("cached")}
    assert ran == {"tflite"}
    assert (third.path / "logs/tflite.log").stat().st_mtime > (third.path / "logs/onnx.log").stat().st_mtime

    forced = mobilekit.export(config=cfg, force=True)
    assert not any(a.get("cached") for a in forced.artifacts)


def test_a_tampered_cached_file_is_not_reused(tmp_path):
    cfg = tiny_models.config(tmp_path)
    first = mobilekit.export(config=cfg)
    model = first.path / "onnx/model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    again = mobilekit.export(config=cfg)
    assert not again.artifacts[0].get("cached") and again.artifacts[0]["status"] == "verified"
