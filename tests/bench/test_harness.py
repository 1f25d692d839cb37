"""The generated device harnesses: layout, the pure-Kotlin core compiled with kotlinc and checked
against the Python implementation, ktlint on the Kotlin and Gradle scripts, Swift syntax, and
`bench harness` refusing (one line, exit 2) any bundle a harness cannot run."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from toolchain import KOTLIN_CORE, require_tool, run_kotlin, swift_errors
from mobilekit.bench import results as res
from mobilekit.bench.harness import generate
from mobilekit.bundle import sha256, write_manifest
from mobilekit.cli_bench import bench
from demo_apps.conftest import build_standin_translator_bundle
from test_importer import fake_bundle
from test_results import sample_result


def runnable_fake(root: Path) -> Path:
    """The importer's fake bundle (ONNX + TFLite) plus what the harnesses need: golden inputs
    and a Core ML package, so that both platforms have something to run."""
    fake_bundle(root)
    manifest = json.loads((root / "manifest.json").read_text())
    golden = root / "assets" / "golden"
    golden.mkdir(parents=True)
    np.save(golden / "inputs.image.npy", np.zeros((2, 3, 8, 8), np.float32))
    (golden / "index.json").write_text(json.dumps({"samples": 2, "inputs": {"image": {"file": "inputs.image.npy"}}}))
    pkg = root / "coreml" / "Fake.mlpackage"
    pkg.mkdir(parents=True)
    (pkg / "Manifest.json").write_text("{}")
    manifest["artifacts"].append({**manifest["artifacts"][0], "target": "coreml", "variant": "fp16", "path": "coreml/Fake.mlpackage",
                                  "precision": "fp16", "sha256": sha256(pkg), "size_bytes": 2})
    manifest["golden"] = "assets/golden/"
    write_manifest(root, manifest)
    return root


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    root = runnable_fake(tmp_path_factory.mktemp("harness") / "fake")
    result = CliRunner().invoke(bench, ["harness", str(root)])
    assert result.exit_code == 0, result.output
    return root / "harness"


def test_layout_and_rendering(harness):
    android, ios = harness / "android", harness / "ios"
    for rel in ("settings.gradle.kts", "build.gradle.kts", "gradle/libs.versions.toml", "benchmark/build.gradle.kts",
                "benchmark/src/androidTest/kotlin/dev/mobilekit/bench/ModelBenchmarkTest.kt",
                "core/build.gradle.kts", "core/src/main/kotlin/dev/mobilekit/core/Stats.kt", "scripts/benchmark_model.sh", "README.md"):
        assert (android / rel).is_file(), rel
    for rel in ("Package.swift", "Tests/MobileKitBenchTests/CoreMLBenchmarkTests.swift", "scripts/prepare.sh", "README.md",
                "MobileKitCore/Package.swift", "MobileKitCore/Sources/MobileKitCore/BenchResult.swift"):
        assert (ios / rel).is_file(), rel
    # the iOS demo's Swift package, copied in as real files
    assert not (ios / "MobileKitCore").is_symlink() and '.package(path: "MobileKitCore")' in (ios / "Package.swift").read_text()
    readme = (android / "README.md").read_text()
    assert "{{" not in readme and "fake 1.0.0" in readme and "`tflite/model.tflite`" in readme
    assert "Firebase Test Lab" in readme and "adb shell am instrument" in readme
    record = json.loads((android / "mobilekit-harness.json").read_text())
    assert [a["path"] for a in record["artifacts"]] == ["onnx/model.onnx", "tflite/model.tflite"]
    assert "`coreml/Fake.mlpackage`" in (ios / "README.md").read_text()
    assert not (android / "harness.json").exists()  # the template's capability file stays in the template
    for script in [*android.glob("scripts/*.sh"), *ios.glob("scripts/*.sh")]:
        assert script.stat().st_mode & stat.S_IXUSR, script
        subprocess.run(["bash", "-n", str(script)], check=True)
    # the shared core is copied in as real files (a self-contained project) and stays Android-free
    assert not (android / "core").is_symlink()
    assert 'include(":benchmark", ":core")' in (android / "settings.gradle.kts").read_text()
    for kt in (android / "core/src/main").rglob("*.kt"):
        assert "import android" not in kt.read_text() and "import androidx" not in kt.read_text(), kt


def test_regenerating_keeps_pulled_results(harness):
    root = harness.parent
    (harness / "android" / "results").mkdir(exist_ok=True)
    (harness / "android" / "results" / "x.json").write_text("{}")
    generate(root, platforms=("android",))
    assert (harness / "android" / "results" / "x.json").exists()


@pytest.mark.slow
def test_kotlin_core_compiles_and_agrees_with_python(harness, tmp_path):
    # The check program is the core's own (mobile/kotlin/src/test/.../BenchCoreCheck.kt), compiled
    # once per session with the rest of the core; the rendered copy must be that same core.
    for kt in (harness / "android/core").rglob("*.kt"):
        assert kt.read_bytes() == (KOTLIN_CORE / kt.relative_to(harness / "android/core")).read_bytes(), kt

    rng = np.random.default_rng(1)
    data = tmp_path / "data"
    data.mkdir()
    runs = list(rng.gamma(2.0, 3.0, 37).round(6))
    (data / "runs.json").write_text(json.dumps(runs))
    f32 = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    np.save(data / "f32.npy", f32)
    np.save(data / "i64.npy", np.array([[1, -2, 3_000_000_000]], dtype=np.int64))
    np.save(data / "u8.npy", np.array([[0, 7, 255]], dtype=np.uint8))
    (data / "golden").mkdir()
    np.save(data / "golden" / "inputs.image.npy", f32)
    (data / "golden" / "index.json").write_text(json.dumps({"samples": 3, "inputs": {"image": {"file": "inputs.image.npy"}}}))
    pkg = data / "pkg"  # a folder like an .mlpackage, with names whose string and path orders differ
    for rel, content in {"a.b": b"1", "a/b": b"2", "Manifest.json": b"{}", "Data/com.apple.CoreML/model.mlmodel": b"m"}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes(content)
    fake_bundle(data / "bundle")
    sample = sample_result()
    (data / "sample.json").write_text(json.dumps(sample))

    stdout = run_kotlin("dev.mobilekit.core.BenchCoreCheckKt", data)
    out = json.loads(stdout)

    expected = res.latency_stats(runs)
    for k, v in expected.items():
        assert out["latency"][k] == pytest.approx(v, abs=2e-6), k
    assert out["f32_shape"] == [1, 3, 4, 5]
    np.testing.assert_allclose(out["f32_sample1"], f32[1].ravel(), rtol=1e-6)
    np.testing.assert_allclose(out["nhwc"], f32[1:2].transpose(0, 2, 3, 1).ravel(), rtol=1e-6)
    assert out["i64"] == [1, -2, 3_000_000_000] and out["u8"] == [0, 7, 255]
    x = np.array([-1, 0, 0.52, 10, -20], np.float32)
    assert out["quantized"] == np.clip(np.round(x / np.float32(0.05)) + 3, -128, 127).astype(int).tolist()
    assert out["sha_dir"] == sha256(pkg)
    assert out["golden_samples"] == 3
    np.testing.assert_allclose(out["golden_input"], f32[2].ravel(), rtol=1e-6)
    assert out["memory"]["peak_delta_bytes"] > 60_000_000, out["memory"]  # the 120 MB array
    doc = out["result"]
    assert res.errors(doc) == [], res.errors(doc)
    assert doc["model"]["sha256"] == sha256(data / "bundle/tflite/model.tflite")
    assert len(doc["results"]["runs_ms"]) == 5 and min(doc["results"]["runs_ms"]) >= 1.0
    assert out["file_name"] == "linux-jvm-tflite-fp32-litert-cpu-xnnpack-t2.json"
    assert out["roundtrip"] == json.loads(json.dumps(sample))


@pytest.mark.slow
def test_kotlin_and_gradle_scripts_pass_ktlint(harness):
    ktlint = require_tool("ktlint")
    android = harness / "android"
    proc = subprocess.run([ktlint, "--relative", "**/*.kt", "**/*.kts"], cwd=android, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    checked = list(android.rglob("*.kt")) + list(android.rglob("*.kts"))
    assert len(checked) >= 12


def test_swift_files_parse_without_errors(harness):
    files = sorted((harness / "ios").rglob("*.swift"))
    assert len(files) >= 7
    for f in files:
        assert swift_errors(f.read_bytes()) == [], f
    assert swift_errors(b"func broken( {\n  let x = \n}\n")  # the check does catch errors


# -- what a harness cannot run is refused, with one line -----------------------------------------

def _edit(root: Path, change) -> Path:
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _refused(root: Path, *args: str) -> str:
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = CliRunner().invoke(bench, ["harness", str(root), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written
    return lines[0]


def _no_target(platform_targets):
    def change(m):
        m["artifacts"] = [a for a in m["artifacts"] if a["target"] not in platform_targets]
    return change


def _failed(m):
    for a in m["artifacts"]:
        if a["target"] == "coreml":
            a.update(status="failed", error="coremltools: conversion failed")


def _executorch_coreml_only(m):
    # a .pte holding the Core ML delegate: the iOS harness runs it, the Android AAR cannot
    m["artifacts"] = [{**m["artifacts"][0], "target": "executorch", "variant": "coreml", "path": "executorch/model.coreml.pte",
                       "details": {"backend": "CoreMLBackend"}}]


@pytest.mark.parametrize("change, args, words", [
    (_no_target({"coreml"}), [], ["the ios harness cannot run bundle 'fake'", "no coreml or executorch artifact", "--platform android"]),
    (_failed, ["--platform", "ios"], ["no coreml or executorch artifact that did not fail"]),
    (_no_target({"tflite", "onnx"}), ["--platform", "android"], ["the android harness", "no tflite or onnx or executorch artifact", "--platform ios"]),
    (_executorch_coreml_only, ["--platform", "android"], ["the android harness", "(executorch/coreml) cannot run there: the Core ML delegate runs only on Apple platforms", "--platform ios"]),
    (lambda m: m.update(task="text_generation"), ["--platform", "android"], ["runs image_classification, generic, translation bundles, not text_generation"]),
])
def test_bench_harness_refuses_what_a_harness_cannot_run(tmp_path, change, args, words):
    root = _edit(runnable_fake(tmp_path / "fake"), change)
    line = _refused(root, *args)
    for w in words:
        assert w in line, line


def test_bench_harness_refuses_a_bundle_without_golden_inputs(tmp_path):
    root = runnable_fake(tmp_path / "fake")
    (root / "assets/golden/index.json").unlink()
    assert "golden inputs (assets/golden/index.json) are missing" in _refused(root, "--platform", "android")


def _translation_fake(root: Path, decoder_variant: str = "fp32") -> Path:
    """The demo tests' stand-in translation bundle (contract manifest, golden sentences, TFLite and
    ONNX encoder/decoder fp32 pairs), its decoders relabelled `decoder_variant`."""
    build_standin_translator_bundle(root)

    def change(m):
        for a in m["artifacts"]:
            if a["graph"] == "decoder":
                a["variant"] = decoder_variant
    return _edit(root, change)


def test_translation_bundles_get_an_android_harness_and_need_a_pair_and_golden_sentences(tmp_path):
    ok = _translation_fake(tmp_path / "ok")
    result = CliRunner().invoke(bench, ["harness", str(ok), "--platform", "android"])
    assert result.exit_code == 0, result.output
    assert (ok / "harness/android/benchmark/src/androidTest/kotlin/dev/mobilekit/bench/Seq2SeqBackend.kt").is_file()
    # both platforms by default: the iOS harness has no Core ML pair to run here, so the line says what does run
    line = _refused(ok)
    assert "the ios harness cannot run bundle 'translator'" in line and "--platform android" in line, line
    mixed = _translation_fake(tmp_path / "mixed", decoder_variant="fp16")
    assert "no tflite or onnx or executorch encoder and decoder of one variant" in _refused(mixed, "--platform", "android")
    (ok / "assets/golden/translation.json").unlink()
    assert "golden sentences (assets/golden/translation.json) are missing" in _refused(ok, "--platform", "android")


@pytest.fixture(scope="module")
def translator(request) -> Path:
    """The shipped translator: dist/translator when `make demo` built it, else this session's export."""
    built = Path(__file__).resolve().parents[2] / "dist" / "translator"
    if (built / "manifest.json").is_file():
        return built
    out, _, path = request.getfixturevalue("translator_export")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return path


@pytest.mark.slow
def test_onnx_runtime_takes_the_manifest_dtypes_the_android_harness_feeds(translator):
    """What the harness's OrtOptions.tensor does for every ONNX pair of the real translator: ids in
    the manifest's dtype (int32) run; the int64 the old harness fed is refused by ONNX Runtime."""
    import onnxruntime as ort

    manifest = json.loads((translator / "manifest.json").read_text())
    sample = json.loads((translator / manifest["golden"] / "translation.json").read_text())["samples"][0]
    encoders = [a for a in manifest["artifacts"] if a["target"] == "onnx" and a.get("graph") == "encoder"]
    assert encoders
    for a in encoders:
        ref = a["inputs"][0]
        assert ref["dtype"] == "int32", a["path"]
        session = ort.InferenceSession(str(translator / a["path"]), providers=["CPUExecutionProvider"])
        ids = np.asarray([sample["source_ids"]], np.int32)
        outputs = session.run(None, {ref["tensor"]: ids})
        assert all(np.isfinite(o).all() for o in outputs), a["path"]
        with pytest.raises(Exception, match="(?i)type|int64"):
            session.run(None, {ref["tensor"]: ids.astype(np.int64)})
