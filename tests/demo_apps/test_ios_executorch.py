"""ExecuTorch (`.pte`) in the iOS demo app, checked without a Swift compiler:

- which artifacts the app offers: the core's `Runtimes.appTargets` are what `mobilekit scaffold ios`
  copies (scaffold.PLATFORMS), the backends it maps are the ones the export writes, and both the
  XNNPACK and the Core ML delegate `.pte` of a real export are offered (Fixtures/choices_golden.json,
  from scaffold's own rule; ChoicesGoldenTests.swift checks the Swift core against it on macOS);
- the app's ExecuTorch calls use only the API shapes of the iOS harness's ExecuTorchBenchmarkTests
  (checked against the v1.0.1 sources), plus `Tensor.withUnsafeMutableBytes` for the reused input;
- ExecuTorch objects are made and run on the models' workers only, the camera reuses one input
  tensor, both screens list Core ML and ExecuTorch choices with their runtimes;
- the Xcode project links the harness's ExecuTorch package pin and products with `-all_load`.

What cannot run here: Swift itself (no compiler; tree-sitter parses every file in test_ios_demo.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mobilekit.bench.harness import delegate_elsewhere
from mobilekit.scaffold import PLATFORMS

ROOT = Path(__file__).resolve().parents[2]
IOS = ROOT / "ios_demo"
APP = IOS / "MobileKitDemo"
CORE = ROOT / "mobile" / "swift"
FIXTURES = CORE / "Tests" / "MobileKitCoreTests" / "Fixtures"
HARNESS = ROOT / "templates" / "harness" / "ios"
HARNESS_ET = HARNESS / "Tests" / "MobileKitBenchTests" / "ExecuTorchBenchmarkTests.swift"
PBXPROJ = IOS / "MobileKitDemo.xcodeproj" / "project.pbxproj"
RUNTIMES = CORE / "Sources" / "MobileKitCore" / "Runtimes.swift"

# Public names of the ExecuTorch 1.0.1 Swift API (Module, Tensor, AnyTensor, Value and their members,
# extension/apple/ExecuTorch/Exported at the v1.0.1 tag) that cannot be mistaken for the app's own.
TYPES = ("Module", "Tensor", "AnyTensor", "Value")
MEMBERS = ("load", "forward", "execute", "setInput", "setInputs", "setOutput", "isLoaded", "unload", "methodNames",
           "methodMetadata", "anyTensor", "asTensor", "dataType", "withUnsafeBytes", "withUnsafeMutableBytes", "copy",
           "resize", "scalars", "empty", "full", "ones", "zeros", "rand", "randn", "randint", "bytes", "mutableBytes",
           "mmap", "mmapUseMlock", "mmapUseMlockIgnoreErrors", "shapeDynamism", "dimensionOrder", "strides")
FUNCTIONS = ("elementCount",)
# Beyond the harness: in ExecuTorch+Tensor.swift at v1.0.1 (`public func withUnsafeMutableBytes<R>(_ body:
# (UnsafeMutableBufferPointer<T>) throws -> R) rethrows -> R`), for the camera's input tensor reused per frame.
EXTRA = {".withUnsafeMutableBytes"}


def code(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def _labels(args: str) -> str:
    """`(a: x, y, b: f(z: 1))` → `a:_:b:` (argument labels at depth 0)."""
    depth, parts, cur = 0, [], ""
    for ch in args:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        m = re.match(r"\s*(\w+)\s*:(?!:)", p)
        out.append(f"{m.group(1)}:" if m and not p.strip().startswith(("[", "\"")) else "_:")
    return "".join(out) if "".join(parts).strip() else ""


def _args(text: str, start: int) -> str:
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1:i]
    raise AssertionError("unbalanced parentheses")


def api_shapes(swift: str) -> set[str]:
    """Every ExecuTorch API use as a shape: `Module(filePath:loadMode:)`, `Tensor<Float>(_:shape:)`,
    `.forward(_:)`, `.anyTensor`, `elementCount(ofShape:)`. Only member uses on an instance or an ExecuTorch
    type count, so the app's own `ExecuTorchPrograms.forward(...)` and declarations do not."""
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code(swift))  # string literals are prose, not calls
    shapes = set()
    for m in re.finditer(r"(?<![\w.])(" + "|".join(TYPES) + r")(<\w+>)?\(", text):
        if not re.search(r"\b(func|init)\s*$", text[:m.start()]):
            shapes.add(f"{m.group(1)}{m.group(2) or ''}({_labels(_args(text, m.end() - 1))})")
    # an instance (`module.`, `outputs[0].`, `Tensor<Float>(t).`) or an ExecuTorch type (`Tensor<Float>.zeros`)
    receiver = r"(?:\b[a-z]\w*|[)\]]|\b(?:" + "|".join(TYPES) + r")(?:<\w+>)?)"
    for m in re.finditer(receiver + r"\s*\.(" + "|".join(MEMBERS) + r")\b(\s*\()?", text):
        call = f"({_labels(_args(text, m.end() - 1))})" if m.group(2) else ""
        shapes.add(f".{m.group(1)}" + (call if m.group(1) not in ("withUnsafeBytes", "withUnsafeMutableBytes") else ""))
    for m in re.finditer(r"(?<![\w.])\.(mmap\w*)\b", text):
        shapes.add(f".{m.group(1)}")
    for m in re.finditer(r"(?<![\w.])(" + "|".join(FUNCTIONS) + r")\(", text):
        shapes.add(f"{m.group(1)}({_labels(_args(text, m.end() - 1))})")
    return shapes


def executorch_files() -> dict[str, str]:
    return {p.name: p.read_text() for p in APP.rglob("*.swift") if re.search(r"^import ExecuTorch$", p.read_text(), re.M)}


def test_the_api_shape_extractor_sees_what_it_must():
    got = api_shapes("let m = Module(filePath: p, loadMode: .mmap)\ntry m.load(\"forward\")\n"
                     "let out: [Value] = try m.forward([Value(Tensor<Float>(xs, shape: [1, 2]))])\n"
                     "_ = try ExecuTorchPrograms.forward(m, [v])\nstatic func copy(_ v: Value) {}\nlet t = out[0].anyTensor\n"
                     "let z = Tensor<Float>.zeros(shape: [2])\ninput.withUnsafeMutableBytes { _ in }\n")
    assert got == {"Module(filePath:loadMode:)", ".mmap", ".load(_:)", ".forward(_:)", "Value(_:)", "Tensor<Float>(_:shape:)",
                   ".anyTensor", ".zeros(shape:)", ".withUnsafeMutableBytes"}


def test_the_apps_executorch_calls_are_the_harness_api_shapes():
    files = executorch_files()
    assert set(files) == {"ExecuTorchPrograms.swift", "ExecuTorchClassifier.swift", "ExecuTorchSeq2SeqRunner.swift"}
    assert all((APP / "ExecuTorch" / name).is_file() for name in files)  # ExecuTorch stays in its folder
    harness = api_shapes(HARNESS_ET.read_text())
    app = set().union(*(api_shapes(t) for t in files.values()))
    assert app - harness == EXTRA, sorted(app - harness)
    for needed in ("Module(filePath:loadMode:)", ".mmap", ".load(_:)", ".forward(_:)", ".copy()", ".anyTensor",
                   "Tensor<Float>(_:shape:)", "Tensor<Int32>(_:shape:)", "Tensor<Int64>(_:shape:)", "Value(_:)"):
        assert needed in app, needed
    # ExecuTorch's Swift API has no thread-count setting: none is invented
    for text in files.values():
        assert not re.search(r"thread", code(text), re.I)
    # and the core never depends on it
    assert "executorch" not in (CORE / "Package.swift").read_text().lower()
    assert not [p.name for p in (CORE / "Sources").rglob("*.swift") if "import ExecuTorch" in p.read_text()]


def test_executorch_objects_live_on_the_model_workers():
    sources = {p.name: code(p.read_text()) for p in APP.rglob("*.swift")}
    assert {n for n, t in sources.items() if "Module(filePath:" in t} == {"ExecuTorchPrograms.swift"}
    assert {n for n, t in sources.items() if "ExecuTorchPrograms.load(" in t} == {"ExecuTorchClassifier.swift", "TranslateWorker.swift"}
    assert {n for n, t in sources.items() if "ExecuTorchClassifier(" in t} == {"FrameClassifier.swift"}
    assert {n for n, t in sources.items() if "ExecuTorchSeq2SeqRunner(" in t} == {"TranslateWorker.swift"}
    frames = sources["FrameClassifier.swift"]
    load = frames[frames.index("func load("):frames.index("private func install(")]
    assert load.index("queue.async") < load.index("ExecuTorchClassifier(")  # made on the classifier's queue
    assert "dispatchPrecondition(condition: .onQueue(queue))" in frames[frames.index("private func install("):]
    for screen_state in ("CameraModel.swift", "TranslateModel.swift"):
        for word in ("Module", "Tensor<", "Value(", "ExecuTorchPrograms"):
            assert word not in sources[screen_state], (screen_state, word)


def test_the_camera_reuses_one_input_tensor_per_frame():
    text = code((APP / "ExecuTorch" / "ExecuTorchClassifier.swift").read_text())
    classify = text[text.index("func classify("):]
    init = text[text.index("init(url:"):text.index("func classify(")]
    assert "Tensor<Float>(" in init and "inputValue = Value(input)" in init
    assert "Tensor<" not in classify and "Value(" not in classify  # nothing allocated per frame
    assert "input.withUnsafeMutableBytes" in classify and "ExecuTorchPrograms.forward(module, [inputValue])" in classify
    assert "Preprocess.tensor(" in classify and "PixelBufferImage.modelImage(" in classify  # the Core ML path's preprocessing


def test_both_screens_list_every_runtime_and_decode_pte_pairs_in_the_core():
    camera, translate = (code((APP / f).read_text()) for f in ("Camera/CameraModel.swift", "Translate/TranslateModel.swift"))
    assert "ModelChoices.appClassifiers(" in camera and "ModelChoices.appPairs(" in translate
    for text in (camera, translate):
        assert 'target: "coreml"' not in text  # Core ML is no longer the only runtime
        assert "ModelChoices.noneMessage(" in text and "choiceID" in text
    for screen in ("Camera/CameraScreen.swift", "Translate/TranslateScreen.swift"):
        text = code((APP / screen).read_text())
        assert "Text(ModelChoices.title(c)).tag(c.id)" in text, screen  # runtime label, unique id across runtimes
        assert "model.selected?.runtime == .coreML" in text, screen  # compute units: Core ML only
        assert "ModelChoices.summary(" in text, screen  # host p50 beside the device's p50/p90, as before
    worker = code((APP / "Translate/TranslateWorker.swift").read_text())
    assert worker.count("translator.translate(text, runner: r, beamWidth: width)") == 2  # one decoding, both runtimes
    runner = code((APP / "ExecuTorch/ExecuTorchSeq2SeqRunner.swift").read_text())
    assert "Seq2SeqBeamRunner" in runner and "Seq2SeqProgramIO(" in runner and "var decoderState" in runner


def swift_string_list(text: str, name: str) -> list[str]:
    m = re.search(rf"static let {name} = \[([^\]]*)\]", text)
    assert m, name
    return re.findall(r'"([^"]+)"', m.group(1))


def test_the_app_runs_exactly_the_targets_scaffold_copies():
    runtimes = RUNTIMES.read_text()
    assert swift_string_list(runtimes, "appTargets") == list(PLATFORMS["ios"].targets)
    golden = json.loads((FIXTURES / "choices_golden.json").read_text())
    assert golden["targets"] == list(PLATFORMS["ios"].targets)  # what ChoicesGoldenTests holds the Swift core to


def test_the_backends_the_app_maps_are_the_ones_a_real_export_writes():
    backends = dict(re.findall(r'"(\w+Backend)": \.(\w+)', RUNTIMES.read_text()))
    assert backends == {"XnnpackBackend": "executorchXNNPACK", "CoreMLBackend": "executorchCoreML"}
    labels = dict(re.findall(r'case \.(\w+): return "([^"]+)"', RUNTIMES.read_text()))
    assert labels == {"coreML": "Core ML", "executorchXNNPACK": "ExecuTorch XNNPACK",
                      "executorchCoreML": "ExecuTorch Core ML delegate"}
    written = set()
    for path in sorted((FIXTURES / "manifests").glob("*.json")):
        written |= {a["details"]["backend"] for a in json.loads(path.read_text())["artifacts"] if a["target"] == "executorch"}
    assert written == set(backends)


def test_both_kinds_of_pte_of_a_real_export_are_offered_on_ios():
    golden = json.loads((FIXTURES / "choices_golden.json").read_text())["manifests"]
    manifest = json.loads((FIXTURES / "manifests" / "digits.json").read_text())
    runtimes = {c["id"]: c["runtime"] for c in golden["digits"]["choices"]}
    assert {r for i, r in runtimes.items() if i.startswith("executorch/")} == {"ExecuTorch XNNPACK", "ExecuTorch Core ML delegate"}
    assert runtimes["executorch/coreml"] == runtimes["executorch/coreml-int8"] == "ExecuTorch Core ML delegate"
    assert {runtimes[f"executorch/{v}"] for v in ("fp32", "fp16", "int8")} == {"ExecuTorch XNNPACK"}
    pte = [a for a in manifest["artifacts"] if a["target"] == "executorch"]
    assert all(delegate_elsewhere(a, "ios") is None for a in pte)  # iOS has the Core ML delegate...
    assert {a["variant"] for a in pte if delegate_elsewhere(a, "android")} == {"coreml", "coreml-int8"}  # ...Android not
    assert set(golden["digits"]["scaffold_copies"]) == {p for c in golden["digits"]["choices"] for p in c["paths"]}
    pairs = {c["id"] for c in golden["translator"]["choices"]}
    assert {"coreml/fp16", "executorch/fp32", "executorch/fp16"} <= pairs


@pytest.fixture(scope="module")
def project():
    from pbxproj import XcodeProject

    return XcodeProject.load(str(PBXPROJ))


def test_the_project_links_the_harness_executorch_pin(project):
    harness = HARNESS.joinpath("Package.swift").read_text()
    url, branch = re.search(r'\.package\(url: "([^"]+)", branch: "([^"]+)"\)', harness).groups()
    products = re.findall(r'\.product\(name: "(\w+)", package: "executorch"\)', harness)
    remote = list(project.objects.get_objects_in_section("XCRemoteSwiftPackageReference"))
    assert len(remote) == 1
    ref = remote[0]
    assert (ref.repositoryURL, ref.requirement["kind"], ref.requirement["branch"]) == (url, "branch", branch)
    assert branch == "swiftpm-" + re.search(r'let executorchVersion = "([^"]+)"', HARNESS_ET.read_text()).group(1) == "swiftpm-1.0.1"
    target = next(t for t in project.objects.get_objects_in_section("PBXNativeTarget") if t.name == "MobileKitDemo")
    linked = [project.objects[d] for d in target.packageProductDependencies]
    assert [d.productName for d in linked if d.package == ref.get_id()] == products
    assert set(products) == {"executorch", "backend_xnnpack", "backend_coreml", "kernels_optimized", "kernels_quantized"}
    assert ref.get_id() in project.objects[project.rootObject].packageReferences
    assert "-Wl,-all_load" in harness
    for config in (project.objects[c] for c in project.objects[target.buildConfigurationList].buildConfigurations):
        assert "-all_load" in config.buildSettings["OTHER_LDFLAGS"], config.name  # static initializers of the backends
        ios = float(config.buildSettings["IPHONEOS_DEPLOYMENT_TARGET"])
        assert ios >= float(re.search(r"\.iOS\(\.v(\d+)\)", harness).group(1)) == 17  # what the package needs


def test_readme_says_the_runtime_switch_the_pin_and_no_thread_setting():
    text = (IOS / "README.md").read_text()
    for needle in ("ExecuTorch XNNPACK", "ExecuTorch Core ML delegate", "swiftpm-1.0.1", "-all_load", "no thread-count setting",
                   "withUnsafeMutableBytes", "iOS 17"):
        assert needle in text, needle


@pytest.fixture(scope="module")
def pte_digits(tmp_path_factory) -> Path:
    """The shipped digits model exported to ExecuTorch XNNPACK fp32 and Core ML delegate fp16 only (~40 s)."""
    import tomllib

    import mobilekit

    example = ROOT / "examples" / "digits"
    cfg = tomllib.loads((example / "mobilekit.toml").read_text())
    cfg.update(weights=str((example / cfg["weights"]).resolve()), targets=["executorch"],
               output_dir=str(tmp_path_factory.mktemp("ios-pte") / "dist"), executorch={"variants": ["fp32", "coreml"]})
    cfg["outputs"][0]["labels"] = str((example / cfg["outputs"][0]["labels"]).resolve())
    return mobilekit.export(config=cfg).path


@pytest.mark.slow
def test_scaffold_ios_copies_both_kinds_of_pte_with_the_backend_the_app_maps(pte_digits, tmp_path):
    import shutil

    from mobilekit.scaffold import scaffold

    app = tmp_path / "ios_demo"
    shutil.copytree(IOS, app, ignore=shutil.ignore_patterns(".build", "digits", "translator"))
    done = scaffold("ios", pte_digits, app)
    manifest = json.loads((done.path / "manifest.json").read_text())
    pte = [a for a in manifest["artifacts"] if a["target"] == "executorch"]
    assert {a["variant"] for a in pte} == {"fp32", "coreml"} and done.skipped == []
    for a in pte:
        assert (done.path / a["path"]).is_file(), a["path"]  # the file ExecuTorchPrograms.load opens from the app bundle
        assert a["inputs"][0]["dtype"] == "float32"  # what ExecuTorchClassifier feeds
    backends = dict(re.findall(r'"(\w+Backend)": \.(\w+)', RUNTIMES.read_text()))
    assert {a["variant"]: backends[a["details"]["backend"]] for a in pte} == {"fp32": "executorchXNNPACK", "coreml": "executorchCoreML"}
    # the app reads the bundle through the one path BundlePaths names
    assert (app / "MobileKitDemo" / "Bundles" / "digits" / "manifest.json") == done.path / "manifest.json"
