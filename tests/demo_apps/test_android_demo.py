"""The Android demo's pure-Kotlin core, compiled with kotlinc and run on the JVM against the
golden vectors of the digits and translation bundles (compared here with NumPy and HF `tokenizers`)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from toolchain import kotlin_core_jar

from .conftest import ANDROID, KOTLIN_CORE, ROOT

CORE = KOTLIN_CORE / "src"


@pytest.fixture(scope="session")
def check_jar() -> Path:
    """The shared core plus its check programs, compiled once per session (tests/toolchain.py)."""
    return kotlin_core_jar()


RUNS = [3.2, 1.5, 2.25, 9.0, 4.75, 2.0, 2.5, 3.0, 1.25, 6.5, 2.75, 3.5]


@pytest.fixture(scope="session")
def checked(check_jar, digits_bundle, translator_bundle, tmp_path_factory) -> dict:
    runs = tmp_path_factory.mktemp("runs") / "runs.json"
    runs.write_text(json.dumps(RUNS))
    proc = subprocess.run(["java", "-cp", str(check_jar), "dev.mobilekit.core.GoldenVectorsCheckKt", str(digits_bundle),
                           str(translator_bundle), str(runs)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _golden(bundle: Path) -> tuple[dict, Path]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    return manifest, bundle / manifest["golden"]


# -- digits: manifest, preprocessing, top-k --------------------------------------------------

@pytest.mark.slow
def test_manifest_parsing_of_the_real_digits_bundle(checked, digits_bundle):
    manifest, _ = _golden(digits_bundle)
    got = checked["digits"]
    assert (got["name"], got["task"], got["version"]) == (manifest["name"], manifest["task"], manifest["version"])
    spec = manifest["inputs"][0]
    pre = spec["preprocessing"]
    assert got["input"]["name"] == spec["name"] and got["input"]["shape"] == spec["shape"]
    np.testing.assert_allclose(got["input"]["mean"], pre["mean"], rtol=1e-7)
    np.testing.assert_allclose(got["input"]["std"], pre["std"], rtol=1e-7)
    assert got["input"]["scale"] == pytest.approx(pre["scale"], rel=1e-7) and got["input"]["color"] == pre["color"]
    assert got["labels_path"] == manifest["outputs"][0]["labels"]
    assert got["labels"] == (digits_bundle / manifest["outputs"][0]["labels"]).read_text().split()
    assert got["artifacts"] == [[a["target"], a["variant"], a["path"], a["layout"], a["status"]]
                                for a in manifest["artifacts"]]
    tflite = [a for a in manifest["artifacts"] if a["target"] == "tflite" and a["status"] != "failed"]
    if tflite:  # the app runs the fp32 file when there is one, in the layout that file expects
        want = next((a for a in tflite if a["variant"] == "fp32"), tflite[0])
        assert got["chosen_tflite"] == want["path"]
        shape = want["inputs"][0]["shape"]
        assert got["app_preprocessor"]["layout"] == want["inputs"][0]["layout"] == "NHWC"
        assert [got["app_preprocessor"]["height"], got["app_preprocessor"]["width"]] == shape[1:3]


@pytest.mark.slow
def test_preprocessing_of_golden_pixels_equals_golden_inputs(checked, digits_bundle):
    _, golden = _golden(digits_bundle)
    pixels = np.load(golden / "pixels.image.npy")
    expected = np.load(golden / "inputs.image.npy")
    got = np.asarray(checked["digits"]["processed_nchw"], np.float32).reshape(expected.shape)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    assert pixels.dtype == np.uint8 and pixels.shape[-1] == 3
    if checked["digits"]["processed_app"]:  # the NHWC feed of the TFLite artifact: the same values
        nhwc = np.asarray(checked["digits"]["processed_app"], np.float32).reshape(expected.transpose(0, 2, 3, 1).shape)
        np.testing.assert_allclose(nhwc, expected.transpose(0, 2, 3, 1), atol=1e-6, rtol=0)


def _bilinear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Half-pixel-center bilinear resize (the core's rule), in float32 like the Kotlin code."""
    h, w = img.shape[:2]
    out = np.zeros((out_h, out_w, img.shape[2]), np.float32)
    for y in range(out_h):
        sy = np.clip(np.float32((y + 0.5) * h / out_h - 0.5), 0, h - 1)
        iy, fy = int(sy), np.float32(sy - int(sy))
        jy = min(iy + 1, h - 1)
        for x in range(out_w):
            sx = np.clip(np.float32((x + 0.5) * w / out_w - 0.5), 0, w - 1)
            ix, fx = int(sx), np.float32(sx - int(sx))
            jx = min(ix + 1, w - 1)
            top = img[iy, ix] * (1 - fx) + img[iy, jx] * fx
            bottom = img[jy, ix] * (1 - fx) + img[jy, jx] * fx
            out[y, x] = top * (1 - fy) + bottom * fy
    return out


@pytest.mark.slow
def test_camera_frames_are_center_cropped_and_resized(checked, digits_bundle):
    manifest, _ = _golden(digits_bundle)
    pre = manifest["inputs"][0]["preprocessing"]
    i = np.arange(48 * 40)
    frame = np.stack([i * 7 % 256, i * 13 % 256, i * 29 % 256], -1).reshape(40, 48, 3).astype(np.float32)
    crop = frame[:, 4:44]  # the centered 40x40 square of a 48x40 frame
    x = _bilinear(crop, 16, 16) * np.float32(pre["scale"])
    x = (x - np.array(pre["mean"], np.float32)) / np.array(pre["std"], np.float32)
    got = np.asarray(checked["digits"]["resized_16_from_48x40"], np.float32).reshape(16, 16, 3)
    np.testing.assert_allclose(got, x, atol=1e-4)


@pytest.mark.slow
def test_top_k_of_golden_logits_matches_numpy(checked, digits_bundle):
    _, golden = _golden(digits_bundle)
    logits = np.load(golden / "outputs.logits.npy").astype(np.float64)
    top = checked["digits"]["top3"]
    assert len(top) == len(logits)
    for row, ranked in zip(logits, top):
        assert ranked[0]["index"] == int(np.argmax(row))
        assert [r["index"] for r in ranked] == list(np.argsort(-row, kind="stable")[:3])
        assert ranked[0]["label"] == str(ranked[0]["index"])  # digits' labels are "0".."9"
        p = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        np.testing.assert_allclose([r["p"] for r in ranked], p[[r["index"] for r in ranked]], rtol=1e-5)


# -- translator: tokenizer and greedy decoding ------------------------------------------------

def _is_standin(bundle: Path) -> bool:
    return json.loads((bundle / "manifest.json").read_text())["version"].endswith("-standin")


def _samples(bundle: Path) -> list[dict]:
    _, golden = _golden(bundle)
    return json.loads((golden / "translation.json").read_text(encoding="utf-8"))["samples"]


@pytest.mark.slow
def test_translation_manifest_is_parsed(checked, translator_bundle):
    manifest, _ = _golden(translator_bundle)
    tr, got = manifest["translation"], checked["translator"]
    assert got["special"] == [tr["special_tokens"][k] for k in ("pad", "bos", "eos", "unk")] == [0, 1, 2, 3]
    assert (got["vocab_size"], got["max_source_len"], got["max_target_len"]) == (
        tr["vocab_size"], tr["max_source_len"], tr["max_target_len"])
    prefer = ["fp32", "fp16", "int8-dynamic", "int8"]  # the app's choice (Manifest.kt)
    tflite = sorted((a for a in manifest["artifacts"] if a["target"] == "tflite"), key=lambda a: prefer.index(a["variant"]))
    by_graph = {g: next(a["path"] for a in tflite if a["graph"] == g) for g in ("encoder", "decoder")}
    assert (got["encoder_artifact"], got["decoder_artifact"]) == (by_graph["encoder"], by_graph["decoder"])
    assert got["decoder_inputs"] == [t["name"] for t in tr["decoder"]["inputs"]]
    # how the app's TFLite runner feeds each decoder input (the real bundle's names, see seq2seq_split.py)
    encoder_outputs = {t["name"] for t in tr["encoder"]["outputs"]}
    for t in tr["decoder"]["inputs"]:
        name, feed = t["name"], got["wiring"][t["name"]]
        if name in ("token", "position"):
            assert feed == name.capitalize()
        elif name in encoder_outputs:
            assert feed == f"FromEncoder(output={name})"
        else:
            assert name.startswith("past_") and feed == f"Cache(output=present_{name[5:]})"
    assert got["wiring"]["<logits>"] == "logits"


@pytest.mark.slow
def test_tokenizer_encodes_golden_texts_to_source_ids_and_decodes_outputs(checked, translator_bundle):
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(translator_bundle / "assets" / "tokenizer.json"))
    samples = _samples(translator_bundle)
    got = checked["translator"]["samples"]
    assert len(got) == len(samples) >= 5
    for s, g in zip(samples, got):
        assert g["tokens"] == hf.encode(s["text"]).ids, s["text"]
        assert g["source_ids"] == s["source_ids"], s["text"]
        assert g["decoded_output_text"] == s["output_text"], s["text"]
        # the app's path (HfTokenizer + TranslationText, any tokenizer.json) gives the same
        assert g["app_tokens"] == g["tokens"] and g["app_source_ids"] == s["source_ids"], s["text"]
        assert g["app_output_text"] == s["output_text"] and g["app_greedy_text"] == g["greedy_text"], s["text"]
    # the goldens exercise unknown characters and multi-piece words, not only whole known words
    unk = json.loads((translator_bundle / "manifest.json").read_text())["translation"]["special_tokens"]["unk"]
    assert any(unk in g["tokens"] for g in got)
    if _is_standin(translator_bundle):  # its planted outputs hold <unk>, kept in the text as the real decoder does
        assert any("<unk>" in s["output_text"] for s in samples)
    assert any(not hf.id_to_token(t).endswith("</w>") for g in got for t in g["tokens"] if t != unk)


@pytest.mark.slow
def test_greedy_decoding_replays_step_logits_to_output_ids(checked, translator_bundle):
    manifest, golden = _golden(translator_bundle)
    tr = manifest["translation"]
    eos, bos = tr["special_tokens"]["eos"], tr["special_tokens"]["bos"]
    for s, g in zip(_samples(translator_bundle), checked["translator"]["samples"]):
        steps = np.load(golden / s["step_logits"])
        strip = lambda ids: ids[:-1] if ids and ids[-1] == eos else ids  # noqa: E731 (output_ids may omit <eos>)
        assert strip(g["greedy_ids"]) == strip(s["output_ids"]), s["text"]
        assert g["greedy_text"] == s["output_text"]
        assert g["step_count"] == len(g["greedy_ids"]) <= steps.shape[0]
        assert g["fed"] == [bos] + g["greedy_ids"][:-1] and g["positions"] == list(range(len(g["fed"])))
        assert g["encoded"] == s["source_ids"]
        assert g["stopped_at_eos"] == (g["greedy_ids"][-1] == eos)
        if not g["stopped_at_eos"]:
            assert len(g["greedy_ids"]) == tr["max_target_len"] - 1
    if _is_standin(translator_bundle):  # it plants a sample that never emits <eos>
        assert {g["stopped_at_eos"] for g in checked["translator"]["samples"]} == {True, False}


@pytest.mark.slow
def test_latency_statistics_match_numpy(checked):
    lat = checked["latency"]
    assert lat["count"] == len(RUNS) and lat["min"] == min(RUNS) and lat["max"] == max(RUNS)
    assert lat["mean"] == pytest.approx(np.mean(RUNS), abs=1e-12)
    assert lat["p50"] == pytest.approx(np.percentile(RUNS, 50), abs=1e-12)
    assert lat["p90"] == pytest.approx(np.percentile(RUNS, 90), abs=1e-12)
    assert checked["window_count"] == 10  # the live window keeps only the last 10


# -- the core is platform-free ---------------------------------------------------------------

def test_core_module_has_no_android_imports():
    files = sorted(CORE.rglob("*.kt"))
    assert len(files) >= 8
    for f in files:
        imports = re.findall(r"^import\s+(\S+)", f.read_text(), re.M)
        assert not [i for i in imports if i.startswith(("android.", "androidx.", "org.tensorflow", "com.google"))], f
    build = (KOTLIN_CORE / "build.gradle.kts").read_text()
    assert 'kotlin("jvm")' in build or "kotlin.jvm" in build
    assert "com.android" not in build
    # both projects build this one copy
    assert 'project(":core").projectDir = file("../mobile/kotlin")' in (ANDROID / "settings.gradle.kts").read_text()
    link = ROOT / "templates/harness/android/core"
    assert link.is_symlink() and link.resolve() == KOTLIN_CORE.resolve()
