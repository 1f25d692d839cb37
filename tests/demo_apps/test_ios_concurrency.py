"""The iOS demo's threading and framing rules, checked on the sources (nothing compiles Swift
here; the Swift 6 compiler enforces the rest on the macOS CI job): Swift 6 language mode in the
app and both packages, screen state on the main actor, Core ML objects only on the models' own
threads, every `@unchecked Sendable` with the confinement it relies on written down, the camera
guarded, the framing guide drawn with the preview's own scaling, iPad in every orientation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "ios_demo" / "MobileKitDemo"
CORE = ROOT / "mobile" / "swift"
HARNESS = ROOT / "templates" / "harness" / "ios"
PBXPROJ = ROOT / "ios_demo" / "MobileKitDemo.xcodeproj" / "project.pbxproj"


def app_sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in APP.rglob("*.swift")}


def code(text: str) -> str:
    """The Swift text without // comments (so a rule is about code, not prose)."""
    return re.sub(r"//[^\n]*", "", text)


def test_swift_6_everywhere():
    text = PBXPROJ.read_text()
    assert set(re.findall(r"SWIFT_VERSION = ([\d.]+);", text)) == {"6.0"}
    assert set(re.findall(r"SWIFT_STRICT_CONCURRENCY = (\w+);", text)) == {"complete"}
    for package in (CORE / "Package.swift", HARNESS / "Package.swift"):
        assert package.read_text().startswith("// swift-tools-version:6.0"), package


def test_observable_state_is_main_actor_and_holds_no_core_ml():
    sources = app_sources()
    observable = {name: text for name, text in sources.items() if re.search(r"class \w+: ObservableObject", text)}
    assert set(observable) == {"CameraModel.swift", "TranslateModel.swift"}
    for name, text in observable.items():
        assert re.search(r"@MainActor\s+final class \w+: ObservableObject", text), name
        body = code(text)
        for core_ml in ("MLModel", "prediction(", "VNCoreMLRequest", "CoreMLSeq2SeqRunner"):
            assert core_ml not in body, f"{name} touches {core_ml} on the main actor"
    # no hand-made hops to the main queue: results reach the screens through the main actor
    for name, text in sources.items():
        assert "DispatchQueue.main" not in code(text), name


def test_models_are_made_and_run_on_their_own_threads():
    sources = app_sources()
    worker = code(sources["TranslateWorker.swift"])
    assert re.search(r"\bactor TranslateWorker\b", worker)
    assert "DispatchSerialQueue(" in worker and "unownedExecutor" in worker and "asUnownedSerialExecutor()" in worker
    assert "ModelCompiler.model(at:" in worker  # the encoder and decoder are created on the actor
    frames = code(sources["FrameClassifier.swift"])
    assert "ModelCompiler.model(at:" in frames and "Classifier(model:" in frames
    assert "dispatchPrecondition(condition: .onQueue(queue))" in frames
    # the camera delivers its frames on the classifier's queue: creation and inference share it
    assert "frameQueue: worker.queue" in code(sources["CameraModel.swift"])
    # MLModel objects are created in exactly those two places
    makers = {n for n, t in sources.items() if "ModelCompiler.model(at:" in code(t)}
    assert makers == {"TranslateWorker.swift", "FrameClassifier.swift"}


def test_every_unchecked_sendable_says_what_it_relies_on():
    files = [*APP.rglob("*.swift"), *(CORE / "Sources").rglob("*.swift")]
    found = 0
    for f in files:
        lines = f.read_text().splitlines()
        for i, line in enumerate(lines):
            if "@unchecked Sendable" in line and not line.lstrip().startswith("//"):
                found += 1
                doc = "\n".join(lines[max(0, i - 12):i])
                assert re.search(r"`?@unchecked(?: Sendable)?`?:", doc), f"{f.name}:{i + 1} does not say why it is safe"
    assert found >= 3  # CameraController, FrameClassifier, BPETokenizer


def test_worker_paths_report_errors_instead_of_crashing():
    sources = app_sources()
    frames = code(sources["FrameClassifier.swift"])
    assert frames.count("catch") >= 3 and ".loadFailed(" in frames and ".frameFailed(" in frames
    translate = code(sources["TranslateModel.swift"])
    assert "defer { busy = false }" in translate  # busy can never stay stuck
    for name in ("TranslateModel.swift", "CameraModel.swift"):
        assert "show(error.localizedDescription)" in code(sources[name]) or "show(message)" in code(sources[name]), name
    for screen in ("CameraScreen.swift", "TranslateScreen.swift"):
        assert 'Button("Retry")' in sources[screen], screen
    # no force-try in the app
    for name, text in sources.items():
        assert not re.search(r"\btry!", code(text)), name


def test_camera_is_guarded_and_tied_to_the_screen():
    camera = code(app_sources()["CameraController.swift"])
    assert "position: .back" in camera and "position: .front" in camera
    assert "has no camera" in camera  # neither: one clear message
    assert "wanted = false" in camera and "guard wanted else { return }" in camera  # no start after the screen left
    assert "runtimeErrorNotification" in camera
    screen = code(app_sources()["CameraScreen.swift"])
    assert ".onDisappear { model.disappear() }" in screen


GRAVITY = {".resizeAspect": "fit", ".resizeAspectFill": "fill"}


def test_the_framing_guide_uses_the_previews_scaling():
    sources = app_sources()
    preview = re.findall(r"videoGravity = (\.\w+)", code(sources["CameraPreview.swift"]))
    guide = re.findall(r"FramingGuide\.guideRect\(.*?gravity: \.(\w+)\)", code(sources["CameraScreen.swift"]), re.S)
    assert preview and guide
    assert {GRAVITY[g] for g in preview} == set(guide) == {"fit"}  # fit: the whole crop is always on screen
    # the preprocessor crops the region the guide draws (one definition)
    assert "FramingGuide.cropRegion(" in (CORE / "Sources/MobileKitCore/Preprocess.swift").read_text()


def test_ipad_runs_in_every_orientation():
    text = PBXPROJ.read_text()
    ipad = set(re.findall(r"INFOPLIST_KEY_UISupportedInterfaceOrientations_iPad = \"([^\"]+)\";", text))
    assert len(ipad) == 1
    assert set(ipad.pop().split()) == {"UIInterfaceOrientationPortrait", "UIInterfaceOrientationPortraitUpsideDown",
                                       "UIInterfaceOrientationLandscapeLeft", "UIInterfaceOrientationLandscapeRight"}
    assert "AVCaptureDevice.RotationCoordinator" in app_sources()["CameraPreview.swift"]


@pytest.mark.parametrize("name", ["FramingGuideTests.swift", "HalfTests.swift", "ModelChoiceTests.swift",
                                  "GoldenSentenceTests.swift", "NpyTests.swift"])
def test_the_moved_logic_has_xctests(name):
    text = (CORE / "Tests" / "MobileKitCoreTests" / name).read_text()
    assert len(re.findall(r"func test\w+\(\)", text)) >= 3, name
