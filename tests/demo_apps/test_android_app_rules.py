"""The Android app's threading, lifecycle and per-frame rules, read from its sources (no Android SDK
here to build or run it). What the rules rely on — the model thread, the framing, the error lines —
is run on the JVM in test_android_pure_core.py; these tests check that the app uses it that way."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .conftest import ANDROID, ROOT

APP = ANDROID / "app" / "src" / "main"
SOURCES = APP / "java" / "dev" / "mobilekit" / "demo"
HARNESS = ROOT / "templates" / "harness" / "android" / "benchmark" / "src" / "androidTest"
ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


def _read(name: str) -> str:
    return (SOURCES / name).read_text()


def _code(text: str) -> str:
    """Kotlin without comments, so that rules are checked on code only."""
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)


def _screens() -> dict[str, str]:
    return {p.name: _code(p.read_text()) for p in SOURCES.glob("*Screen.kt")}


def test_models_are_made_only_inside_a_model_worker_load():
    """Interpreters and GPU delegates are created on the model's thread: only in `worker.loadChoice(…)`."""
    makers = {"ImageClassifier(": "CameraViewModel.kt", "Translators.load(": "TranslateViewModel.kt"}
    for call, owner in makers.items():
        for f in SOURCES.glob("*.kt"):
            code = _code(f.read_text())
            if f.name in ("ImageClassifier.kt", "Translators.kt"):
                continue  # the declarations
            uses = [m.start() for m in re.finditer(re.escape(call), code)]
            if f.name != owner:
                assert not uses, f"{f.name} makes a model ({call}) outside its view model"
                continue
            assert len(uses) == 1, (f.name, call)
            load = code.rfind("worker.loadChoice(", 0, uses[0])
            assert load != -1 and "})" not in code[load:uses[0]], f"{call} is not inside worker.loadChoice"
    assert "LiteRtModel.create(" not in "".join(_code(p.read_text()) for p in SOURCES.glob("*Screen.kt"))


def test_nothing_heavy_happens_in_composition():
    for name, code in _screens().items():
        for banned in ("AssetBundle.open", "ImageClassifier(", "TfliteSeq2SeqRunner", "Translators.", "ExecuTorchPrograms", "Executors.", ".translate(text"):
            assert banned not in code, f"{name}: {banned}"
        assert "viewModel()" in code, name  # state (and the model) outlive rotation in a ViewModel
    for vm in ("CameraViewModel.kt", "TranslateViewModel.kt"):
        code = _code(_read(vm))
        assert ": AndroidViewModel(app)" in code and "ModelWorker<" in code and "override fun onCleared()" in code
        assert "worker.close()" in code


def test_the_camera_analyzer_runs_on_the_model_thread_and_reads_the_buffer_in_place():
    screen, vm, clf = _code(_read("CameraScreen.kt")), _code(_read("CameraViewModel.kt")), _code(_read("ImageClassifier.kt"))
    assert "setAnalyzer(model.analyzerExecutor, model.analyzer)" in screen
    assert "val analyzerExecutor get() = worker.executor" in vm and "worker\n            .onWorkerThread" in vm
    assert "OUTPUT_IMAGE_FORMAT_RGBA_8888" in screen and "STRATEGY_KEEP_ONLY_LATEST" in screen
    # no per-frame full-frame copies: no bitmap, no rotation matrix, no pixel array
    for code in (screen, vm, clf):
        for banned in ("toBitmap", "Bitmap.createBitmap", "getPixels", "Matrix()", "IntArray("):
            assert banned not in code, banned
    assert "processRgba(plane.buffer" in clf and "FrameMapping.plan(" in clf


def test_camera_binding_is_guarded_and_tied_to_the_screen():
    code = _code(_read("CameraScreen.kt"))
    assert "CameraChoice.pick(" in code and "CameraChoice.NO_CAMERA" in code and "CameraChoice.bindFailed(e)" in code
    assert code.index("CameraChoice.pick(") < code.index("bindToLifecycle(")
    assert "if (disposed) return" in code and "disposed = true" in code  # no bind after dispose
    assert "UseCaseGroup.Builder()" in code and "previewView.viewPort" in code  # frames cropped as the preview shows
    assert "clearAnalyzer()" in code and "unbind(preview, analysis)" in code
    bind = code.index("bindToLifecycle(")
    assert code.rfind("try {", 0, bind) > code.rfind("}", 0, code.rfind("try {", 0, bind))


def test_every_worker_result_reaches_the_screen_and_clears_busy():
    vm = _code(_read("TranslateViewModel.kt"))
    run = vm[vm.index("worker.run({"):]
    done = run[run.index("}) { r ->"):]
    assert done.index("busy = false") < done.index("onSuccess")  # cleared before either outcome
    assert ".onFailure { error = " in done
    for name in ("CameraViewModel.kt", "TranslateViewModel.kt"):
        code = _code(_read(name))
        assert "worker.loadChoice(" in code and "Errors.describe" in code, name  # load outcome: Ready or Failed
        assert "ModelWorker<" in code and "main.execute(it)" in code, name  # delivered on the main thread


def test_the_guide_is_drawn_from_the_frame_plan_the_model_was_fed():
    screen, clf = _code(_read("CameraScreen.kt")), _code(_read("ImageClassifier.kt"))
    assert "plan.guide(size.width.toInt(), size.height.toInt())" in screen
    assert "Classification(TopK.of(scores, k, labels)" in clf and ", plan)" in clf


def test_variant_pickers_show_status_and_host_beside_device_latency():
    for name in ("CameraScreen.kt", "TranslateScreen.kt"):
        code = _code(_read(name))
        assert "VariantPicker(" in code and "model.device" in code, name
    picker = _code(_read("Pickers.kt"))
    assert "DropdownMenu(" in picker and ".summary(device)" in picker and "hostLatency" in picker and "c.status" in picker
    assert "choice.artifact(\"encoder\")" in _read("TfliteSeq2SeqRunner.kt")  # the pair, from one choice
    assert 'manifest.artifact("tflite", graph' not in _code(_read("TfliteSeq2SeqRunner.kt"))


def test_no_direct_bytebuffer_rewind_in_the_app_or_the_harness():
    files = [*SOURCES.glob("*.kt"), *HARNESS.rglob("*.kt")]
    assert len(files) >= 10
    for f in files:
        assert not re.search(r"\.rewind\(\)", _code(f.read_text())), f
    assert "fun ByteBuffer.rewound()" in (ROOT / "mobile/kotlin/src/main/kotlin/dev/mobilekit/core/Buffers.kt").read_text()


def test_harness_feeds_the_manifest_dtypes_to_onnx_runtime():
    backends = _code((HARNESS / "kotlin/dev/mobilekit/bench/Backends.kt").read_text())
    assert '"int32" -> OnnxTensor.createTensor(env, IntBuffer.wrap(' in backends
    assert "t.dtype.startsWith(\"int\")" not in backends  # ints are not all fed as int64
    seq = _code((HARNESS / "kotlin/dev/mobilekit/bench/Seq2SeqBackend.kt").read_text())
    assert "CachedSeq2SeqRunner(encoder, decoder, config)" in seq and "data.dtype" in seq
    test = _code((HARNESS / "kotlin/dev/mobilekit/bench/ModelBenchmarkTest.kt").read_text())
    assert "TranslationBench.measure(" in test and "TranslationGolden.parse(" in test
    assert "Choices.of(manifest, TARGETS" in test  # pairs as units
    assert '"tflite" to "litert", "onnx" to "onnxruntime", "executorch" to "executorch"' in test


def test_dark_theme_and_state_across_rotation():
    main = _code(_read("MainActivity.kt"))
    assert "isSystemInDarkTheme()" in main and "darkColorScheme()" in main and "dynamicDarkColorScheme(" in main
    root = ET.parse(APP / "AndroidManifest.xml").getroot()
    theme = root.find("application").get(f"{ANDROID_NS}theme")
    assert theme == "@style/Theme.MobileKitDemo"
    day = ET.parse(APP / "res/values/themes.xml").getroot().find("style")
    night = ET.parse(APP / "res/values-night/themes.xml").getroot().find("style")
    assert day.get("name") == night.get("name") == "Theme.MobileKitDemo"
    assert "Light" in day.get("parent") and "Light" not in night.get("parent")
    # rotation recreates the activity (no configChanges shortcut); the ViewModels keep the state
    assert root.find("application/activity").get(f"{ANDROID_NS}configChanges") is None
    assert "var input by mutableStateOf(" in _code(_read("TranslateViewModel.kt"))
