"""ExecuTorch (`.pte`) in the Android demo app, checked without an Android SDK:

- which artifacts the app offers: the core's rule (Runtimes.delegateElsewhere: a Core ML delegate
  `.pte` is Apple-only) agrees with the Python side's (bench.harness.delegate_elsewhere) on every
  artifact of a manifest, for both platforms; the pickers list XNNPACK `.pte` beside the TFLite
  ones with their runtime, translation pairs as units; a bundle with only Apple `.pte` gets one line;
- ProgramIo (forward's positional values in the manifest's order and dtypes) and ModelFiles (the
  asset copied to the app's files once, named and checked by sha256), on the JVM;
- the app's translation path on a real ExecuTorch pair: the core's tokenizer, CachedSeq2SeqRunner
  (explicit KV cache) and ProgramIo on the JVM, each `forward` run here by executorch.runtime over
  a pipe; the generated ids are the golden ones;
- the app's ExecuTorch file compiles against the executorch-android 1.0.1 signatures (stubs), the
  Gradle files pin the harness's version and store `.pte` uncompressed.

What cannot run here: the `:app` module (no Android SDK, no AAR), so the Compose screens and the
AAR's native code are not compiled or run."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest

from mobilekit.bench.harness import delegate_elsewhere
from toolchain import kotlin_core_jar, require_tool

from .conftest import ANDROID, ROOT, build_standin_translator_bundle

SOURCES = ANDROID / "app/src/main/java/dev/mobilekit/demo"
HARNESS = ROOT / "templates/harness/android"
CHECK = "dev.mobilekit.core.ExecuTorchCoreCheckKt"


def _pte(variant: str, graph: str | None = None, backend: str | None = None, status: str = "verified") -> dict:
    name = f"{graph or 'model'}.{variant}.pte"
    a = {"target": "executorch", "variant": variant, "path": f"executorch/{name}", "precision": variant.split("-")[-1],
         "status": status, "layout": "NCHW" if graph is None else "",
         "details": {"backend": backend or ("CoreMLBackend" if variant.startswith("coreml") else "XnnpackBackend")}}
    if graph:
        a["graph"] = graph
    return a


def _classification() -> dict:
    return {
        "schema": "mobilekit.manifest/1", "name": "imagenet", "version": "1", "task": "image_classification",
        "inputs": [{"name": "image", "shape": [1, 3, 224, 224], "dtype": "float32",
                    "preprocessing": {"mean": [0.5] * 3, "std": [0.5] * 3, "scale": 1 / 255, "color": "RGB"}}],
        "outputs": [{"name": "logits", "shape": [1, 1000], "dtype": "float32"}],
        "artifacts": [
            {"target": "tflite", "variant": "fp32", "path": "tflite/model.tflite", "precision": "fp32", "status": "verified",
             "layout": "NHWC"},
            _pte("fp32"), _pte("fp16"), _pte("int8"), _pte("coreml"), _pte("coreml-int8"),
            _pte("ane", backend="CoreMLBackend"),  # a Core ML program whatever its variant is called
            _pte("int8-dynamic", status="failed"),
            {"target": "coreml", "variant": "fp16", "path": "coreml/M.mlpackage", "precision": "fp16", "status": "verified"},
        ],
    }


def _run_rules(manifest: dict, tmp: Path) -> dict:
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    (tmp / "files").mkdir()
    proc = subprocess.run(["java", "-cp", str(kotlin_core_jar()), CHECK, "rules", str(tmp / "manifest.json"), str(tmp / "files")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("et-rules")
    translator = build_standin_translator_bundle(tmp / "translator")
    translation = json.loads((translator / "manifest.json").read_text())
    like = {a["graph"]: a for a in translation["artifacts"] if a["target"] == "tflite"}
    for variant in ("fp32", "int8", "coreml"):
        for graph in ("encoder", "decoder"):
            translation["artifacts"].append({**like[graph], **_pte(variant, graph),
                                             "inputs": like[graph]["inputs"], "outputs": like[graph]["outputs"]})
    translation["artifacts"].append({**like["encoder"], **_pte("fp16", "encoder")})  # no fp16 decoder: no pair
    (tmp / "c").mkdir()
    (tmp / "t").mkdir()
    return {"classification": (_classification(), _run_rules(_classification(), tmp / "c")),
            "translation": (translation, _run_rules(translation, tmp / "t"))}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["classification", "translation"])
def test_the_core_and_the_python_side_agree_which_pte_runs_where(rules, kind):
    manifest, got = rules[kind]
    for a in manifest["artifacts"]:
        for platform in ("android", "ios"):
            assert got["elsewhere"][a["path"]][platform] == delegate_elsewhere(a, platform), (a["path"], platform)
    from mobilekit.scaffold import PLATFORMS

    assert got["app_targets"] == {p: list(PLATFORMS[p].targets) for p in ("android", "ios")}  # what scaffold copies for each app
    refused = {p for p, v in got["elsewhere"].items() if v["android"]}
    assert refused and all(".coreml" in p or ".ane" in p for p in refused)


@pytest.mark.slow
def test_the_camera_picker_offers_xnnpack_pte_beside_tflite_with_their_runtime(rules):
    _, got = rules["classification"]
    assert [(c["target"], c["variant"]) for c in got["android"]] == [
        ("tflite", "fp32"), ("executorch", "fp32"), ("executorch", "fp16"), ("executorch", "int8")]
    assert [c["title"] for c in got["android"][:2]] == ["LiteRT · tflite fp32", "ExecuTorch · executorch fp32"]
    # iOS runs the Core ML delegate programs (and Core ML itself); never a failed one
    ios = {(c["target"], c["variant"]) for c in got["ios"]}
    assert {("coreml", "fp16"), ("executorch", "coreml"), ("executorch", "coreml-int8"), ("executorch", "ane")} <= ios
    assert ("executorch", "int8-dynamic") not in ios


@pytest.mark.slow
def test_the_translate_picker_offers_pte_pairs_as_units_and_never_an_apple_pair(rules):
    _, got = rules["translation"]
    pairs = [(c["target"], c["variant"]) for c in got["android"]]
    assert ("executorch", "fp32") in pairs and ("executorch", "int8") in pairs and ("tflite", "fp32") in pairs
    assert ("executorch", "coreml") not in pairs and ("executorch", "fp16") not in pairs  # Apple-only; half a pair
    for c in got["android"]:
        assert set(c["paths"]) == {"encoder", "decoder"}
        if c["target"] == "executorch":  # one variant per pair (the stand-in's tflite files have no variant in their names)
            assert {Path(p).name.split(".")[1] for p in c["paths"].values()} == {c["variant"]}
    assert ("executorch", "coreml") in [(c["target"], c["variant"]) for c in got["ios"]]


@pytest.mark.slow
def test_a_bundle_with_only_apple_pte_says_why_in_one_line(rules):
    for kind in ("classification", "translation"):
        _, got = rules[kind]
        assert got["apple_only_android"] == []
        msg = got["apple_only_message"]
        assert "\n" not in msg and "the Core ML delegate runs only on Apple platforms" in msg, msg
        assert "executorch/coreml" in msg and "re-export with the tflite target or an executorch fp32/fp16/int8 variant" in msg


@pytest.mark.slow
def test_program_values_follow_the_manifest_order_and_dtypes(rules):
    p = rules["classification"][1]["program_io"]
    assert p["order"] == ["token", "past_keys", "position"]
    assert p["dtypes"] == ["int64", "float32", "int32"]  # given int32 / float32 / int64: cast as declared
    assert p["values"] == [[7.0], [0.0, 0.5, 1.0, 1.5, 2.0, 2.5], [5.0]]
    assert p["outputs"] == ["logits", "present_keys"]
    assert p["errors"] == [
        "no value for input 'past_keys' of executorch/fp32/decoder",
        "a float32 tensor cannot be fed where the manifest declares integer ids",
        "input 'past_keys' of executorch/fp32/decoder has 4 values; the manifest's shape [2, 3] holds 6",
        "the manifest lists no inputs for executorch/fp32/decoder: re-export the bundle with this mobilekit",
        "executorch/fp32/decoder gave 1 output(s); the manifest lists 2",
    ]


@pytest.mark.slow
def test_a_pte_is_copied_once_by_sha256_and_a_wrong_copy_is_refused(rules):
    import hashlib

    f = rules["classification"][1]["files"]
    sha = hashlib.sha256(b"a .pte's bytes").hexdigest()
    assert f["name"] == f"{sha}.pte" and f["content_ok"] and f["same_file"]
    assert f["opened"] == 1  # the second load reuses the copy
    assert f["mismatch"].startswith("executorch/model.int8.pte in the app does not match its manifest (sha256 ")
    assert f["no_sha"] == "executorch/fp32 has no sha256 in the manifest: re-export the bundle"
    assert f["pruned"] == 1 and f["left"] == [f"{sha}.pte"]  # the older bundle's copy went, no .part is left


# -- a real ExecuTorch pair through the app's translation path -----------------------------------

@pytest.fixture(scope="module")
def pte_translator(tmp_path_factory) -> Path:
    """The shipped translator exported to ExecuTorch fp32 only (encoder + decoder step with the explicit KV cache), ~30 s."""
    import mobilekit

    tmp = tmp_path_factory.mktemp("app-pte-translator")
    zoo = ROOT / "mobilekit" / "zoo"
    cfg = {"name": "translator", "version": "1.0.0", "task": "translation", "source": "mobilekit.zoo.translator:build",
           "weights": str(zoo / "translator.safetensors"), "targets": ["executorch"], "output_dir": str(tmp / "dist"),
           "translation": {"tokenizer": str(zoo / "translator_tokenizer.json"), "data": "mobilekit.zoo.translation_corpus:heldout",
                           "max_source_len": 20, "max_target_len": 40, "samples": 20, "golden": 4},
           "executorch": {"variants": ["fp32"]}}
    return mobilekit.export(config=cfg).path


def _serve(bundle: Path) -> tuple[dict, int]:
    """Runs the core's pipe check, answering each `forward` with executorch.runtime; its DONE document and the call count."""
    import torch
    from executorch.runtime import Runtime

    runtime, methods = Runtime.get(), {}
    proc = subprocess.Popen(["java", "-cp", str(kotlin_core_jar()), CHECK, "pipe", str(bundle)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    calls = 0
    try:
        for line in proc.stdout:
            if line.startswith("DONE "):
                return json.loads(line[5:]), calls
            assert line.startswith("RUN "), line[:200]
            req = json.loads(line[4:])
            if req["path"] not in methods:
                methods[req["path"]] = runtime.load_program(bundle / req["path"]).load_method("forward")
            values = [torch.tensor(v["values"], dtype=getattr(torch, v["dtype"])).reshape(v["shape"]) for v in req["inputs"]]
            outs = [o.contiguous() for o in methods[req["path"]].execute(values)]
            reply = {"outputs": [{"dtype": str(o.dtype).removeprefix("torch."), "shape": list(o.shape),
                                  "values": o.reshape(-1).tolist()} for o in outs]}
            proc.stdin.write(json.dumps(reply) + "\n")
            proc.stdin.flush()
            calls += 1
        raise AssertionError("the check ended without DONE: " + proc.stderr.read()[-3000:])
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_the_apps_translation_path_on_a_real_pte_pair_gives_the_golden_ids(pte_translator):
    manifest = json.loads((pte_translator / "manifest.json").read_text())
    spec = manifest["translation"]
    samples = json.loads((pte_translator / spec["golden"]).read_text())["samples"]
    done, calls = _serve(pte_translator)
    assert done["choice"]["target"] == "executorch" and done["choice"]["title"] == "ExecuTorch · executorch fp32"
    assert done["choice"]["paths"] == {"encoder": "executorch/encoder.pte", "decoder": "executorch/decoder.pte"}
    assert len(done["samples"]) == len(samples)
    for got, want in zip(done["samples"], samples):
        assert got["source_ids"] == want["source_ids"], want["text"]  # the core's tokenizer and source contract
        assert got["ids"] == want["output_ids"], want["text"]  # greedy through the real programs, cache fed back
        assert got["output"] == want["output_text"]
    arts = {a["graph"]: a for a in manifest["artifacts"] if a["target"] == "executorch"}
    dtypes = {c["graph"]: c["dtypes"] for c in done["calls"]}
    assert dtypes == {g: [t["dtype"] for t in arts[g]["inputs"]] for g in ("encoder", "decoder")}  # as the manifest declares
    # one encoder run per sentence, one decoder step per generated token (its <eos> included)
    assert done["greedy_calls"] == len(samples) + sum(len(s["output_ids"]) for s in samples)
    assert calls >= done["greedy_calls"]
    if done["beam2"] is not None:
        assert done["beam2"][-1] == spec["special_tokens"]["eos"] or len(done["beam2"]) == spec["max_target_len"] - 1


@pytest.mark.slow
def test_the_app_offers_exactly_the_pte_that_scaffold_copies(pte_translator, tmp_path):
    """A copy of the real ExecuTorch translator plus a (fake-bytes) Core ML delegate pair, scaffolded
    into a stand-in app folder: the .pte pairs the core offers on Android are the .pte files scaffold put there."""
    import shutil

    from mobilekit.bundle import sha256, write_manifest
    from mobilekit.scaffold import scaffold

    bundle = tmp_path / "translator"
    shutil.copytree(pte_translator, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    for a in [a for a in manifest["artifacts"] if a["target"] == "executorch"]:
        rel = a["path"].replace(".pte", ".coreml.pte")
        (bundle / rel).write_bytes(b"not really a Core ML delegate program")
        manifest["artifacts"].append({**a, "variant": "coreml", "path": rel, "sha256": sha256(bundle / rel),
                                      "size_bytes": (bundle / rel).stat().st_size,
                                      "details": {**(a.get("details") or {}), "backend": "CoreMLBackend"}})
    write_manifest(bundle, manifest)
    app = tmp_path / "app"
    app.mkdir()
    (app / "settings.gradle.kts").write_text("// stand-in for android_demo\n")
    done = scaffold("android", bundle, app)
    copied = {f for f in done.files if f.endswith(".pte")}
    assert copied == {"executorch/encoder.pte", "executorch/decoder.pte"}
    assert any("coreml.pte: the Core ML delegate runs only on Apple platforms" in s for s in done.skipped)
    scaffolded = json.loads((done.path / "manifest.json").read_text())
    (tmp_path / "check").mkdir()
    got = _run_rules(scaffolded, tmp_path / "check")
    offered = {p for c in got["android"] if c["target"] == "executorch" for p in c["paths"].values()}
    assert offered == copied
    assert {p for c in got["ios"] if c["target"] == "executorch" for p in c["paths"].values()} > copied  # iOS takes the Core ML pair too


# -- the app's files ------------------------------------------------------------------------------

def _aar_stubs() -> dict[str, str]:
    """The executorch-android 1.0.1 signatures the harness test compiles against (tests/bench), plus
    the direct-buffer ones the Camera path uses (Tensor.allocateFloatBuffer, fromBlob(FloatBuffer, long[]),
    as the v1.0.1 tag's Tensor.java declares them)."""
    tree = ast.parse((ROOT / "tests/bench/test_harness_executorch.py").read_text())
    stubs = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "_AAR_STUBS")
    extra = ("  public static java.nio.FloatBuffer allocateFloatBuffer(int numElements) { throw new UnsupportedOperationException(); }\n"
             "  public static Tensor fromBlob(java.nio.FloatBuffer data, long[] shape) { throw new UnsupportedOperationException(); }\n")
    stubs["Tensor.java"] = stubs["Tensor.java"].replace("public abstract class Tensor {\n", "public abstract class Tensor {\n" + extra)
    assert "allocateFloatBuffer" in stubs["Tensor.java"]
    return stubs


@pytest.mark.slow
def test_the_apps_executorch_file_compiles_against_the_aar_signatures(tmp_path):
    kotlinc = require_tool("kotlinc")
    source = SOURCES / "ExecuTorchModel.kt"
    imports = set(re.findall(r"^import (\S+)$", source.read_text(), re.M))
    assert not [i for i in imports if i.startswith(("android.", "androidx."))]  # so it can be compiled here
    assert {i for i in imports if i.startswith("org.pytorch")} == {f"org.pytorch.executorch.{n}" for n in ("DType", "EValue", "Module", "Tensor")}
    stubs = tmp_path / "org/pytorch/executorch"
    stubs.mkdir(parents=True)
    for name, text in _aar_stubs().items():
        (stubs / name).write_text(text)
    out = tmp_path / "out"
    proc = subprocess.run([kotlinc, "-cp", str(kotlin_core_jar()), str(source), *map(str, sorted(stubs.glob("*.java"))), "-d", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for cls in ("ExecuTorchPrograms", "ExecuTorchTensorModel", "ExecuTorchImageModel"):
        assert (out / f"dev/mobilekit/demo/{cls}.class").is_file(), cls


def test_gradle_pins_the_harness_executorch_and_stores_pte_uncompressed():
    app = tomllib.loads((ANDROID / "gradle/libs.versions.toml").read_text())
    harness = tomllib.loads((HARNESS / "gradle/libs.versions.toml").read_text())
    assert app["versions"]["executorch"] == harness["versions"]["executorch"] == "1.0.1"
    assert app["libraries"]["executorch-android"] == harness["libraries"]["executorch-android"]
    build = (ANDROID / "app/build.gradle.kts").read_text()
    assert "implementation(libs.executorch.android)" in build
    assert re.search(r'noCompress \+= listOf\("tflite", "pte"\)', build)


def test_both_screens_offer_the_apps_runtimes_and_load_pte_on_the_model_thread():
    for vm in ("CameraViewModel.kt", "TranslateViewModel.kt"):
        code = (SOURCES / vm).read_text()
        assert "Choices.forApp(" in code and "Runtimes.ANDROID" in code, vm
        assert 'listOf("tflite")' not in code, vm  # LiteRT is no longer the only runtime
        assert "Choices.noneMessage(" in code, vm
    # the .pte copy and Module.load happen only in the model factories (run inside worker.loadChoice)
    for f in SOURCES.glob("*.kt"):
        code = f.read_text()
        if "modelFile(" in code or "ExecuTorchPrograms.load(" in code:
            assert f.name in ("AssetBundle.kt", "ImageClassifier.kt", "Translators.kt", "ExecuTorchModel.kt"), f.name
    assert "CachedSeq2SeqRunner(encoder, decoder, config)" in (SOURCES / "Translators.kt").read_text()
    readme = (ANDROID / "README.md").read_text()
    assert "ExecuTorch" in readme and "coreml-int8" in readme
