"""What moved out of the Android app into the shared Kotlin core (mobile/kotlin), run on the JVM
by its check program (src/test/.../PureCoreCheck.kt) and judged here with NumPy:

- framing: which part of a camera frame the model sees and where the guide box is drawn
  (the digits model's 32x32, a 224x224 ImageNet-style model, a non-square one), with and without
  a CameraX ViewPort crop, at every sensor rotation;
- frame-to-tensor: an RGBA camera buffer with row padding read straight into the model input
  (rotation, crop, bilinear resize, normalization) equals NumPy doing the same on the image;
- one verified encoder/decoder pair as a unit, never a mixed pair; the picker's summary line;
- error states: one line per error, the one-thread-per-model worker (creation, runs and close on
  one thread, results delivered on the "main" thread, errors caught, busy never stuck);
- camera choice: back, else front, else a message;
- a 640x480 camera frame read into a model input allocates (almost) nothing: no frame copy, no boxing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from toolchain import kotlin_core_jar

from .conftest import build_standin_translator_bundle
from .test_android_demo import _bilinear

# (frame_w, frame_h, rotation, view_w, view_h, model_w, model_h): a phone in portrait, landscape,
# a tablet, and the three model shapes the issue names.
FRAMING = [
    (640, 480, 90, 1080, 2200, 32, 32),
    (640, 480, 90, 1080, 2200, 224, 224),
    (640, 480, 0, 2200, 1080, 224, 224),
    (1280, 720, 270, 1600, 2560, 32, 32),
    (640, 480, 180, 1000, 1000, 320, 240),
    (640, 480, 90, 1080, 1920, 240, 320),
]
# The same with CameraX's cropRect (sensor coordinates) when bound with the preview's ViewPort.
PLANS = [
    (640, 480, 90, (0, 0, 640, 480), 1080, 2200, 32, 32),  # no ViewPort: the whole frame
    (640, 480, 90, (0, 83, 640, 314), 1080, 2200, 224, 224),  # a tall view's crop, in sensor coordinates
    (640, 480, 270, (0, 83, 640, 314), 1080, 2200, 32, 32),
    (640, 480, 0, (0, 69, 640, 342), 2200, 1176, 224, 224),
    (640, 480, 180, (10, 20, 600, 400), 1500, 1000, 320, 240),
]
RGBA_W, RGBA_H, RGBA_STRIDE = 12, 8, 12 * 4 + 8  # rows padded as camera buffers often are


def _case(c):
    keys = ("frame_w", "frame_h", "rotation", "view_w", "view_h", "model_w", "model_h")
    return dict(zip(keys, c))


def _plan_case(c):
    fw, fh, r, crop, vw, vh, mw, mh = c
    return {"frame_w": fw, "frame_h": fh, "rotation": r, "crop": list(crop), "view_w": vw, "view_h": vh,
            "model_w": mw, "model_h": mh}


def _artifact(target, variant, status, graph=None, p50=None, per_token=None, precision=None):
    a = {"target": target, "variant": variant, "path": f"{target}/{graph or 'model'}.{variant}", "layout": "NHWC",
         "precision": precision or variant, "status": status}
    if graph:
        a["graph"] = graph
    if p50 is not None:
        a["latency_ms"] = {"p50": p50}
    if per_token is not None:
        a["decoding"] = {"ms_per_token": per_token}
    return a


def _manifests(translator: Path) -> tuple[dict, dict]:
    classification = {
        "schema": "mobilekit.manifest/1", "name": "imagenet", "version": "1", "task": "image_classification",
        "inputs": [{"name": "image", "shape": [1, 3, 224, 224], "dtype": "float32",
                    "preprocessing": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                                      "scale": 1 / 255, "color": "RGB"}}],
        "outputs": [{"name": "logits", "shape": [1, 1000], "dtype": "float32"}],
        "artifacts": [_artifact("tflite", "int8", "verified", p50=1.5), _artifact("tflite", "fp32", "verified", p50=4.25),
                      _artifact("tflite", "fp16", "unverified"), _artifact("tflite", "int8-dynamic", "failed"),
                      _artifact("onnx", "fp32", "verified", p50=3.0), _artifact("coreml", "fp16", "verified")],
    }
    translation = json.loads((translator / "manifest.json").read_text())
    translation["artifacts"] = [
        # fp32: both verified; fp16: the decoder unverified (a pair is only as good as its worse half);
        # int8: the encoder failed (no pair); int8-dynamic: a decoder without its encoder (no pair).
        _artifact("tflite", "fp32", "verified", "encoder"), _artifact("tflite", "fp32", "verified", "decoder", per_token=0.5),
        _artifact("tflite", "fp16", "verified", "encoder"), _artifact("tflite", "fp16", "unverified", "decoder"),
        _artifact("tflite", "int8", "failed", "encoder"), _artifact("tflite", "int8", "verified", "decoder"),
        _artifact("tflite", "int8-dynamic", "verified", "decoder"),
        _artifact("executorch", "fp32", "verified", "encoder"), _artifact("executorch", "fp32", "verified", "decoder"),
    ]
    return classification, translation


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("pure-core")
    translator = build_standin_translator_bundle(tmp / "translator")
    data = tmp / "data"
    data.mkdir()
    (data / "framing.json").write_text(json.dumps([_case(c) for c in FRAMING]))
    (data / "plans.json").write_text(json.dumps([_plan_case(c) for c in PLANS]))
    (data / "rgba.json").write_text(json.dumps({"width": RGBA_W, "height": RGBA_H, "row_stride": RGBA_STRIDE}))
    (data / "rgba.bin").write_bytes(_rgba_buffer().tobytes())
    classification, translation = _manifests(translator)
    (data / "classification.json").write_text(json.dumps(classification))
    (data / "translation.json").write_text(json.dumps(translation))
    proc = subprocess.run(["java", "-cp", str(kotlin_core_jar()), "dev.mobilekit.core.PureCoreCheckKt", str(data), str(translator)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    out["_translator"] = translator
    return out


# -- framing -----------------------------------------------------------------------------------

def _upright(fw, fh, r):
    return (fh, fw) if r % 180 == 90 else (fw, fh)


def _check_region(region, visible, mw, mh):
    """The model's region: its aspect ratio, centred in `visible`, as large as fits."""
    x, y, w, h = region
    vx, vy, vw, vh = visible
    assert vx <= x and vy <= y and x + w <= vx + vw and y + h <= vy + vh
    assert w == vw or h == vh  # touches two sides: the largest box of that aspect
    assert abs(w * mh - h * mw) <= max(mw, mh)  # aspect within one pixel
    assert abs((x - vx) - (vx + vw - x - w)) <= 1 and abs((y - vy) - (vy + vh - y - h)) <= 1


def _check_guide(guide, region, visible, view_w, view_h):
    """The guide box is the region scaled exactly as the preview scales the visible part onto the view."""
    left, top, gw, gh = guide
    sx, sy = view_w / visible[2], view_h / visible[3]
    assert sx == pytest.approx(sy, rel=0.01)  # the visible part has the view's aspect
    assert left == pytest.approx((region[0] - visible[0]) * sx, abs=sx) and gw == pytest.approx(region[2] * sx, abs=sx)
    assert top == pytest.approx((region[1] - visible[1]) * sy, abs=sy) and gh == pytest.approx(region[3] * sy, abs=sy)
    assert -1 <= left and -1 <= top and left + gw <= view_w + 1 and top + gh <= view_h + 1


@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(FRAMING)))
def test_the_guide_shows_exactly_what_the_model_sees_in_a_fill_center_preview(core, i):
    fw, fh, r, view_w, view_h, mw, mh = FRAMING[i]
    got = core["framing"][i]
    w, h = _upright(fw, fh, r)
    assert got["upright"] == [w, h]
    vx, vy, vw, vh = got["visible"]
    # fill-center: the view's aspect ratio, centred, touching two sides of the frame
    assert (vw == w or vh == h) and abs(vw * view_h - vh * view_w) <= max(view_w, view_h)
    assert abs(vx - (w - vx - vw)) <= 1 and abs(vy - (h - vy - vh)) <= 1
    _check_region(got["region"], got["visible"], mw, mh)
    _check_guide(got["guide"], got["region"], got["visible"], view_w, view_h)
    if mw == mh and view_h > view_w:  # a square model in a portrait preview: the full width
        assert got["guide"][2] == pytest.approx(view_w, abs=1)


def _rotated_crop(fw, fh, r, crop):
    """CameraX's sensor cropRect in upright coordinates, by NumPy rotating a mask clockwise."""
    mask = np.zeros((fh, fw), bool)
    x, y, w, h = crop
    mask[y:y + h, x:x + w] = True
    up = np.rot90(mask, k=-(r // 90))
    ys, xs = np.nonzero(up)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(PLANS)))
def test_a_viewport_crop_is_the_visible_part_and_the_model_region_sits_inside_it(core, i):
    fw, fh, r, crop, view_w, view_h, mw, mh = PLANS[i]
    got = core["plans"][i]
    w, h = _upright(fw, fh, r)
    assert got["upright"] == [w, h]
    if crop == (0, 0, fw, fh):  # no ViewPort: worked out from the view, as without a crop
        j = FRAMING.index((fw, fh, r, view_w, view_h, mw, mh))
        assert got["visible"] == core["framing"][j]["visible"] and got["region"] == core["framing"][j]["region"]
    else:
        assert got["visible"] == _rotated_crop(fw, fh, r, crop)
    _check_region(got["region"], got["visible"], mw, mh)
    _check_guide(got["guide"], got["region"], got["visible"], view_w, view_h)


@pytest.mark.slow
def test_a_224_imagenet_bundle_gets_its_size_from_the_manifest_and_a_square_guide(core):
    got = core["imagenet"]
    assert got["model"] == [224, 224, "NHWC"]  # shape [1, 3, 224, 224], NHWC TFLite artifact
    # a 480x640 upright frame in a 1080x2200 portrait preview: 314x640 shown, the centred 314x314 classified
    assert got["region"] == [83, 163, 314, 314]
    assert got["guide"] == pytest.approx([0, 559.0, 1080, 1080], abs=4)


# -- frame to tensor ---------------------------------------------------------------------------

def _rgba_buffer() -> np.ndarray:
    rng = np.random.default_rng(3)
    buf = rng.integers(0, 256, (RGBA_H, RGBA_STRIDE), dtype=np.uint8)  # padding bytes are noise
    return buf


@pytest.mark.slow
def test_rgba_camera_buffers_are_read_rotated_cropped_and_resized_like_numpy(core):
    buf = _rgba_buffer()
    sensor = buf[:, : RGBA_W * 4].reshape(RGBA_H, RGBA_W, 4)[..., :3].astype(np.float32)
    for r in (0, 90, 180, 270):
        got = core["rgba"][str(r)]
        upright = np.rot90(sensor, k=-(r // 90))
        x, y, w, h = got["crop"]
        assert w == h == min(upright.shape[:2])  # the centre square
        crop = upright[y:y + h, x:x + w]
        expected = (_bilinear(crop, 5, 5) * np.float32(1 / 255) - np.float32(0.5)) / np.float32(0.5)
        np.testing.assert_allclose(np.asarray(got["values"], np.float32).reshape(3, 5, 5), expected.transpose(2, 0, 1),
                                   atol=1e-5, err_msg=f"rotation {r}")
    assert "row stride 47 is too small" in core["rgba"]["bad_stride"]


@pytest.mark.slow
def test_a_camera_frame_is_read_without_copying_it(core):
    """Heap bytes allocated per 640x480 frame read into a 32x32 and a 224x224 input, after warm-up
    (the issue's old path: a bitmap, a rotated copy and a pixel array, ~3.7 MB a frame; a boxed
    `(Int, Int) -> Int` pixel lambda alone made ~1.5 MB a 224x224 frame)."""
    for size, cost in core["frame_cost"].items():
        assert cost["frame_bytes"] > 1_000_000
        assert cost["bytes_per_frame"] < 8192, (size, cost)


# -- variants: one verified pair as a unit -----------------------------------------------------

@pytest.mark.slow
def test_translation_variants_are_encoder_decoder_pairs_never_mixed(core):
    got = core["choices"]["translation.json"]
    assert [(c["target"], c["variant"], c["status"]) for c in got["verified"]] == [
        ("tflite", "fp32", "verified"), ("executorch", "fp32", "verified")]
    assert got["verified"][0]["paths"] == {"encoder": "tflite/encoder.fp32", "decoder": "tflite/decoder.fp32"}
    # with unverified ones shown: fp16 is unverified as a pair; int8 (failed encoder) and the lone
    # int8-dynamic decoder are no pair at all
    assert [(c["target"], c["variant"], c["status"]) for c in got["all"]] == [
        ("tflite", "fp32", "verified"), ("executorch", "fp32", "verified"), ("tflite", "fp16", "unverified")]
    for c in got["all"]:
        assert {Path(p).name.split(".")[1] for p in c["paths"].values()} == {c["variant"]}  # one variant per pair
    assert got["coreml"] == [got["verified"][1]]  # only the executorch pair runs where coreml is asked for


@pytest.mark.slow
def test_classification_variants_verified_first_failed_never(core):
    got = core["choices"]["classification.json"]
    assert [(c["target"], c["variant"]) for c in got["verified"]] == [("tflite", "fp32"), ("tflite", "int8")]
    assert [(c["target"], c["variant"], c["status"]) for c in got["all"]] == [
        ("tflite", "fp32", "verified"), ("tflite", "int8", "verified"), ("tflite", "fp16", "unverified")]
    assert [c["host_p50_ms"] for c in got["verified"]] == [4.25, 1.5]
    summaries = got["summaries"]
    assert summaries[0] == ("tflite fp32 · fp32 · verified · host p50 4.25 ms · device: not run yet | "
                            "tflite fp32 · fp32 · verified · host p50 4.25 ms · device p50 2.50 ms, p90 3.70 ms (4 runs)")
    translation = core["choices"]["translation.json"]["summaries"][0]
    assert "host 0.50 ms/token" in translation and "tflite fp32" in translation


# -- error states and the model thread ---------------------------------------------------------

@pytest.mark.slow
def test_errors_are_one_line_each(core):
    assert core["errors"] == [
        "bundle 'x' has no usable tflite artifact",
        "IllegalArgumentException: Internal error: failed to apply delegate",
        "no GPU",
        "out of memory (try a smaller variant)",
    ]
    assert core["states"] == ["Loading tflite fp32 failed: IllegalArgumentException: bad model"]


@pytest.mark.slow
def test_one_thread_per_model_makes_runs_and_closes_it_and_delivers_on_main(core):
    w = core["worker"]
    assert w["call"]["value"] == "model-digits"  # manifests are read there too, not in composition
    for key in ("call", "load", "run", "job_error", "oom", "after_error", "load_error", "run_without_model", "reload",
                "after_close", "load_after_close"):
        assert w[key]["delivered_on"] == "main", key  # UI state changes on the main thread only
        assert w[key]["busy_after"] is False, key  # busy is never left stuck
    # made, run and closed on the model's own thread (the GPU delegate's rule)
    assert w["made_on"] == ["model-digits"] * 4
    ready, failed = w["choice_states"]
    assert ready.startswith("Ready(choice=ModelChoice(target=tflite, variant=fp16") and "backend=gpu on model-digits" in ready
    assert failed == ("Failed(message=Loading tflite fp16 failed: IllegalArgumentException: "
                      "Internal error: failed to apply delegate)")
    assert w["run"]["value"] == "model-digits|model-digits"
    assert w["on_worker"] == ["model-digits|model-digits", "IllegalArgumentException: bad frame"]
    assert w["closed_on"] == ["model-digits"] * 4  # each on the next load, the last on close
    assert "not the model's thread" in w["off_worker"]
    # errors are results, and the worker goes on
    assert w["job_error"] == {**w["job_error"], "ok": False, "error": "tokenizer: bad id 9999"}
    assert w["oom"]["error"] == "out of memory (try a smaller variant)"
    assert w["after_error"]["ok"] and w["after_error"]["value"] == "model-digits"
    assert not w["load_error"]["ok"] and "failed to apply delegate" in w["load_error"]["error"]
    assert w["run_without_model"]["error"] == "no model is loaded"
    assert w["reload"]["ok"] and w["has_model"] is True
    # a second request while one runs is refused, not queued behind it
    assert w["busy"] == {"first": True, "second": False, "busy_while_running": True, "first_result": "true"}
    assert w["after_close"]["error"] == "model-digits is closed" and not w["load_after_close"]["ok"]


@pytest.mark.slow
def test_camera_choice_falls_back_to_the_front_lens_then_a_message(core):
    assert core["camera"] == ["BACK", "FRONT", "BACK", None]
    assert core["camera_failed"] == "Could not start the camera: IllegalArgumentException: No available camera can be found"


# -- the runtime-independent translation runner (what the harness runs) --------------------------

@pytest.mark.slow
def test_cached_runner_feeds_manifest_dtypes_and_benchmarks_every_golden_sentence(core):
    s = core["seq2seq"]
    manifest = json.loads((core["_translator"] / "manifest.json").read_text())
    samples = json.loads((core["_translator"] / "assets/golden/translation.json").read_text())["samples"]
    assert s["source_dtype"] == manifest["translation"]["encoder"]["inputs"][0]["dtype"] == "int32"
    assert s["encoder_dtypes"] == ["int32"]  # what the manifest says, not int64
    assert {f["token_dtype"] for f in s["fed"]} == {"int32"}
    eos = manifest["translation"]["special_tokens"]["eos"]
    strip = lambda ids: ids[:-1] if ids and ids[-1] == eos else ids  # noqa: E731
    assert strip(s["generated"]) == strip(samples[0]["output_ids"])
    # the cache comes back: step k sees k steps written into it, zeroed at each sentence
    assert [f["past0"] for f in s["fed"]] == list(range(len(s["fed"])))
    assert [f["position"] for f in s["fed"]] == list(range(len(s["fed"])))
    assert s["bench_sentences"] == len(samples) and s["bench_exact"] == len(samples)
    assert s["bench_encoder_runs"] == len(samples)
    assert s["bench_steps"] == sum(len(strip(x["output_ids"])) + (x["output_ids"][-1] == eos) for x in samples)
    assert "ids must be int32 or int64" in s["wrong_dtype"]
    # the harness's result document for a pair: valid mobilekit.bench/1, one run per decoder step, the decoder's file
    from mobilekit.bench import results as res
    from mobilekit.bundle import sha256

    doc = s["bench_result"]
    assert res.errors(doc) == [], res.errors(doc)
    assert len(doc["results"]["runs_ms"]) == doc["config"]["runs"] == s["bench_steps"]
    assert doc["model"]["file"] == "tflite/decoder.tflite" and doc["model"]["target"] == "tflite"
    assert doc["model"]["sha256"] == sha256(core["_translator"] / doc["model"]["file"])
