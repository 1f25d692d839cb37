"""ExecuTorch (`.pte`) in the device harnesses: `bench harness` writes Android and iOS projects
that reference a bundle's ExecuTorch programs (the Android one leaves out the Core ML delegate
programs, with the reason), the pinned runtime versions agree across files, the Kotlin backend
passes ktlint and compiles against the `org.pytorch:executorch-android` 1.0.1 signatures, the
Swift test parses, device results for a `.pte` import onto its artifact next to the host's, and
the harnesses' feeding convention (positional values in each artifact's manifest order and
dtypes; for translation the KV-cache loop) reproduces the golden outputs of real `.pte` files,
run here with executorch.runtime.

What cannot run here: Gradle/Android and Xcode builds. The Kotlin backend is compiled with
kotlinc against Java stubs carrying the AAR's public signatures as of the v1.0.1 tag
(extension/android/executorch_android/src/main/java/org/pytorch/executorch/{Module,EValue,
Tensor,DType}.java), not against the AAR itself; the Swift file is syntax-checked only."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mobilekit
import tiny_models
from toolchain import kotlin_core_jar, require_tool, swift_errors
from mobilekit.bench import results as res
from mobilekit.bench.harness import capabilities, generate
from mobilekit.bundle import sha256, write_manifest
from mobilekit.cli_bench import bench
from test_harness import _refused, _translation_fake, runnable_fake
from test_results import sample_result

VERSION = "1.0.1"  # org.pytorch:executorch-android on Maven Central; the swiftpm-1.0.1 branch of pytorch/executorch
KT = "benchmark/src/androidTest/kotlin/dev/mobilekit/bench"
SWIFT = "Tests/MobileKitBenchTests"
# The products of the ExecuTorch Swift package on its swiftpm-1.0.1 branch (its Package.swift).
SWIFT_PRODUCTS = {"backend_coreml", "backend_mps", "backend_xnnpack", "executorch", "executorch_llm", "kernels_llm",
                  "kernels_optimized", "kernels_quantized", "kernels_torchao"}


def _add_pte(root: Path, variant: str, rel: str, graph: str | None = None, like: dict | None = None) -> dict:
    """A (fake-bytes) ExecuTorch program entry in the bundle's manifest, checksummed."""
    manifest = json.loads((root / "manifest.json").read_text())
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(f"not really a {variant} .pte {graph or ''}".encode())
    base = like or next(a for a in manifest["artifacts"] if a["target"] == "onnx")
    entry = {**base, "target": "executorch", "variant": variant, "path": rel, "sha256": sha256(root / rel),
             "size_bytes": (root / rel).stat().st_size, "layout": "NCHW",
             "details": {"backend": "CoreMLBackend" if variant.startswith("coreml") else "XnnpackBackend"}}
    manifest["artifacts"].append(entry)
    write_manifest(root, manifest)
    return entry


@pytest.fixture(scope="module")
def et_harness(tmp_path_factory) -> Path:
    """Both harnesses of the fake bundle plus an XNNPACK and a Core ML delegate `.pte`."""
    root = runnable_fake(tmp_path_factory.mktemp("et") / "fake")
    _add_pte(root, "fp32", "executorch/model.pte")
    _add_pte(root, "coreml", "executorch/model.coreml.pte")
    result = CliRunner().invoke(bench, ["harness", str(root)])
    assert result.exit_code == 0, result.output
    return root / "harness"


def test_both_templates_declare_executorch():
    for platform in ("android", "ios"):
        assert "executorch" in capabilities(platform)["targets"], platform


def test_the_projects_reference_the_pte_programs(et_harness):
    android, ios = et_harness / "android", et_harness / "ios"
    record = {a["path"]: a for a in json.loads((android / "mobilekit-harness.json").read_text())["artifacts"]}
    assert {"executorch/model.pte", "executorch/model.coreml.pte"} <= set(record)
    assert record["executorch/model.pte"]["sha256"] == sha256(et_harness.parent / "executorch/model.pte")
    readme = (android / "README.md").read_text()
    assert "`executorch/model.pte` (executorch/fp32" in readme
    assert "`executorch/model.coreml.pte` (executorch/coreml): the Core ML delegate runs only on Apple platforms, not benchmarked" in readme
    ios_readme = (ios / "README.md").read_text()
    assert "`executorch/model.pte` (executorch/fp32" in ios_readme and "`executorch/model.coreml.pte` (executorch/coreml" in ios_readme
    ios_record = {a["path"] for a in json.loads((ios / "mobilekit-harness.json").read_text())["artifacts"]}
    assert {"coreml/Fake.mlpackage", "executorch/model.pte", "executorch/model.coreml.pte"} == ios_record
    # the models reach the apps: Gradle copies executorch/ into the test assets, prepare.sh into the resources
    gradle = (android / "benchmark/build.gradle.kts").read_text()
    assert '"executorch/**"' in gradle and '"pte"' in gradle and "libs.executorch.android" in gradle
    assert 'buildConfigField("String", "EXECUTORCH_VERSION"' in gradle
    prepare = (ios / "scripts/prepare.sh").read_text()
    assert "for target in coreml executorch" in prepare
    subprocess.run(["bash", "-n", str(ios / "scripts/prepare.sh")], check=True)


def test_pinned_versions_and_package_products_agree(et_harness):
    android, ios = et_harness / "android", et_harness / "ios"
    toml = (android / "gradle/libs.versions.toml").read_text()
    assert re.search(r'^executorch = "(.+)"$', toml, re.M).group(1) == VERSION
    assert 'executorch-android = { module = "org.pytorch:executorch-android", version.ref = "executorch" }' in toml
    package = (ios / "Package.swift").read_text()
    assert f'.package(url: "https://github.com/pytorch/executorch.git", branch: "swiftpm-{VERSION}")' in package
    assert ".iOS(.v17)" in package  # the ExecuTorch package's own minimum
    used = set(re.findall(r'\.product\(name: "(\w+)", package: "executorch"\)', package))
    assert {"executorch", "backend_xnnpack", "backend_coreml", "kernels_optimized"} <= used <= SWIFT_PRODUCTS
    assert '.unsafeFlags(["-Wl,-all_load"])' in package
    swift = (ios / SWIFT / "ExecuTorchBenchmarkTests.swift").read_text()
    assert f'let executorchVersion = "{VERSION}"' in swift


def test_the_kotlin_backend_uses_only_the_aar_api(et_harness):
    android = et_harness / "android"
    source = (android / KT / "ExecuTorchBackend.kt").read_text()
    imports = set(re.findall(r"^import (org\.pytorch\.\S+)$", source, re.M))
    assert imports == {f"org.pytorch.executorch.{n}" for n in ("DType", "EValue", "Module", "Tensor")}
    test = (android / KT / "ModelBenchmarkTest.kt").read_text()
    assert '"executorch" to "executorch"' in test and "et-xnnpack" in test and "ExecuTorchBackend(" in test
    assert 'runtime == "executorch"' in (android / KT / "Seq2SeqBackend.kt").read_text()


def test_the_swift_files_parse(et_harness):
    ios = et_harness / "ios"
    for f in (ios / SWIFT / "ExecuTorchBenchmarkTests.swift", ios / "Package.swift", ios / SWIFT / "CoreMLBenchmarkTests.swift",
              ios / SWIFT / "Seq2SeqBenchmarkTests.swift"):
        assert swift_errors(f.read_bytes()) == [], f
    swift = (ios / SWIFT / "ExecuTorchBenchmarkTests.swift").read_text()
    assert "import ExecuTorch" in swift and "Module(filePath:" in swift and 'runtimeName: "executorch"' in swift


@pytest.mark.slow
def test_the_kotlin_files_pass_ktlint(et_harness):
    ktlint = require_tool("ktlint")
    android = et_harness / "android"
    files = [f"{KT}/{n}" for n in ("ExecuTorchBackend.kt", "ModelBenchmarkTest.kt", "Seq2SeqBackend.kt", "Backends.kt")]
    proc = subprocess.run([ktlint, "--relative", *files, "benchmark/build.gradle.kts"], cwd=android, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


# The public signatures the Kotlin backend calls, as org.pytorch:executorch-android 1.0.1 declares them.
_AAR_STUBS = {
    "Module.java": """package org.pytorch.executorch;
public class Module {
  public static final int LOAD_MODE_FILE = 0;
  public static final int LOAD_MODE_MMAP = 1;
  private Module() {}
  public static Module load(final String modelPath, int loadMode, int numThreads) { throw new UnsupportedOperationException(); }
  public static Module load(final String modelPath, int loadMode) { throw new UnsupportedOperationException(); }
  public static Module load(final String modelPath) { throw new UnsupportedOperationException(); }
  public EValue[] forward(EValue... inputs) { throw new UnsupportedOperationException(); }
  public EValue[] execute(String methodName, EValue... inputs) { throw new UnsupportedOperationException(); }
  public int loadMethod(String methodName) { throw new UnsupportedOperationException(); }
  public String[] getMethods() { throw new UnsupportedOperationException(); }
  public void destroy() {}
}
""",
    "EValue.java": """package org.pytorch.executorch;
public class EValue {
  private EValue() {}
  public boolean isTensor() { return false; }
  public static EValue from(Tensor tensor) { throw new UnsupportedOperationException(); }
  public static EValue from(long value) { throw new UnsupportedOperationException(); }
  public static EValue from(double value) { throw new UnsupportedOperationException(); }
  public Tensor toTensor() { throw new UnsupportedOperationException(); }
}
""",
    "Tensor.java": """package org.pytorch.executorch;
public abstract class Tensor {
  public static Tensor fromBlob(byte[] data, long[] shape) { throw new UnsupportedOperationException(); }
  public static Tensor fromBlob(int[] data, long[] shape) { throw new UnsupportedOperationException(); }
  public static Tensor fromBlob(float[] data, long[] shape) { throw new UnsupportedOperationException(); }
  public static Tensor fromBlob(long[] data, long[] shape) { throw new UnsupportedOperationException(); }
  public static Tensor fromBlob(double[] data, long[] shape) { throw new UnsupportedOperationException(); }
  public long numel() { return 0; }
  public long[] shape() { throw new UnsupportedOperationException(); }
  public abstract DType dtype();
  public byte[] getDataAsByteArray() { throw new UnsupportedOperationException(); }
  public int[] getDataAsIntArray() { throw new UnsupportedOperationException(); }
  public float[] getDataAsFloatArray() { throw new UnsupportedOperationException(); }
  public long[] getDataAsLongArray() { throw new UnsupportedOperationException(); }
  public double[] getDataAsDoubleArray() { throw new UnsupportedOperationException(); }
}
""",
    "DType.java": """package org.pytorch.executorch;
public enum DType { UINT8, INT8, INT16, INT32, INT64, HALF, FLOAT, DOUBLE, COMPLEX_HALF, COMPLEX_FLOAT, COMPLEX_DOUBLE, BOOL }
""",
}


@pytest.mark.slow
def test_the_kotlin_backend_compiles_against_the_aar_signatures(et_harness, tmp_path):
    """ExecuTorchBackend.kt with the shared core (this session's jar), the harness's Backend and
    Unsupported declarations (from Backends.kt, whose LiteRT/ONNX parts need Android) and the
    AAR's signatures."""
    kotlinc = require_tool("kotlinc")
    android = et_harness / "android"
    backends = (android / KT / "Backends.kt").read_text()
    start, end = backends.index("/** One runtime configuration"), backends.index("/** LiteRT interpreter options")
    decls = tmp_path / "BackendDecls.kt"
    decls.write_text("package dev.mobilekit.bench\n\nimport dev.mobilekit.core.BenchSession\n\n" + backends[start:end])
    stubs = tmp_path / "org/pytorch/executorch"
    stubs.mkdir(parents=True)
    for name, text in _AAR_STUBS.items():
        (stubs / name).write_text(text)
    out = tmp_path / "out"
    proc = subprocess.run([kotlinc, "-cp", str(kotlin_core_jar()), str(android / KT / "ExecuTorchBackend.kt"), str(decls),
                           *map(str, sorted(stubs.glob("*.java"))), "-d", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "dev/mobilekit/bench/ExecuTorchBackend.class").is_file()
    assert (out / "dev/mobilekit/bench/ExecuTorchTensorModel.class").is_file()


# -- which bundles the harnesses now take ------------------------------------------------------

def test_an_executorch_only_bundle_gets_both_harnesses(tmp_path):
    root = runnable_fake(tmp_path / "fake")
    _add_pte(root, "fp32", "executorch/model.pte")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["target"] == "executorch"]
    write_manifest(root, manifest)
    result = CliRunner().invoke(bench, ["harness", str(root)])
    assert result.exit_code == 0, result.output
    for platform in ("android", "ios"):
        record = json.loads((root / "harness" / platform / "mobilekit-harness.json").read_text())
        assert [a["path"] for a in record["artifacts"]] == ["executorch/model.pte"], platform


def test_an_executorch_translation_pair_gets_both_harnesses_and_a_mixed_one_is_refused(tmp_path):
    ok = _translation_fake(tmp_path / "ok")
    manifest = json.loads((ok / "manifest.json").read_text())
    for a in [a for a in manifest["artifacts"] if a["target"] == "onnx"]:
        _add_pte(ok, "fp32", f"executorch/{a['graph']}.pte", graph=a["graph"], like=a)
    result = CliRunner().invoke(bench, ["harness", str(ok)])  # iOS too: it runs the ExecuTorch pair
    assert result.exit_code == 0, result.output
    ios = {(a["target"], a["path"]) for a in json.loads((ok / "harness/ios/mobilekit-harness.json").read_text())["artifacts"]}
    assert ios == {("executorch", "executorch/encoder.pte"), ("executorch", "executorch/decoder.pte")}

    mixed = _translation_fake(tmp_path / "mixed")
    manifest = json.loads((mixed / "manifest.json").read_text())
    encoder = next(a for a in manifest["artifacts"] if a["target"] == "onnx" and a["graph"] == "encoder")
    _add_pte(mixed, "fp32", "executorch/encoder.pte", graph="encoder", like=encoder)  # no decoder of that variant
    assert "no coreml or executorch encoder and decoder of one variant" in _refused(mixed, "--platform", "ios")


# -- a real .pte: what the harnesses feed it, and results in the one schema ---------------------

@pytest.fixture(scope="module")
def pte_bundle(tmp_path_factory) -> Path:
    """A real classification bundle with one ExecuTorch program (XNNPACK fp32) of the tiny net."""
    tmp = tmp_path_factory.mktemp("pte")
    cfg = tiny_models.config(tmp, name="tinyet", targets=["executorch"], latency_runs=0, executorch={"variants": ["fp32"]})
    return mobilekit.export(config=cfg).path


@pytest.mark.slow
def test_the_harness_feeding_reproduces_the_golden_outputs(pte_bundle):
    """What both harnesses do with a .pte, here with executorch.runtime: the golden inputs as
    positional tensors in the order and dtypes of the artifact's manifest inputs, forward, the
    outputs in the order of its outputs."""
    import torch
    from executorch.runtime import Runtime

    manifest = json.loads((pte_bundle / "manifest.json").read_text())
    (artifact,) = [a for a in manifest["artifacts"] if a["target"] == "executorch"]
    golden = pte_bundle / manifest["golden"]
    index = json.loads((golden / "index.json").read_text())
    method = Runtime.get().load_program(pte_bundle / artifact["path"]).load_method("forward")
    for i in range(index["samples"]):
        inputs = [torch.from_numpy(np.load(golden / index["inputs"][t["name"]]["file"])[i: i + 1].astype(t["dtype"]))
                  for t in artifact["inputs"]]
        assert [list(x.shape) for x in inputs] == [t["shape"] for t in artifact["inputs"]]
        outputs = method.execute(inputs)
        assert len(outputs) == len(artifact["outputs"])
        for ref, out in zip(artifact["outputs"], outputs):
            expected = np.load(golden / index["outputs"][ref["name"]]["file"])[i: i + 1]
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-4)


def _device_result(artifact: dict, platform: str) -> dict:
    if platform == "android":
        return sample_result(sha=artifact["sha256"], runtime={"name": "executorch", "version": VERSION},
                             model={"file": artifact["path"], "sha256": artifact["sha256"], "target": "executorch", "variant": "fp32"},
                             config={"backend": "cpu", "delegate": "xnnpack", "compute_units": None, "threads": 4,
                                     "warmup_runs": 5, "runs": 10, "inputs": "golden"})
    doc = sample_result(sha=artifact["sha256"], runtime={"name": "executorch", "version": VERSION},
                        model={"file": artifact["path"], "sha256": artifact["sha256"], "target": "executorch", "variant": "fp32"},
                        config={"backend": "cpu", "delegate": None, "compute_units": None, "threads": None,
                                "warmup_runs": 5, "runs": 10, "inputs": "golden"})
    doc["source"] = {"kind": "device", "tool": "mobilekit ios harness (XCTest)"}
    doc["device"] = {"platform": "ios", "model": "iPhone16,1", "os": "iOS 18.1.0", "cores": 6, "arch": "arm64"}
    return doc


@pytest.mark.slow
def test_host_and_device_results_for_a_pte_share_the_schema_and_land_on_it(pte_bundle, tmp_path):
    generate(pte_bundle)  # a real bundle with only a .pte: both harnesses are written
    for platform in ("android", "ios"):
        record = json.loads((pte_bundle / "harness" / platform / "mobilekit-harness.json").read_text())
        assert [a["path"] for a in record["artifacts"]] == ["executorch/model.pte"]
    host = CliRunner().invoke(bench, ["run", str(pte_bundle), "--runs", "3", "--warmup", "1"])
    assert host.exit_code == 0, host.output
    manifest = json.loads((pte_bundle / "manifest.json").read_text())
    (artifact,) = [a for a in manifest["artifacts"] if a["target"] == "executorch"]
    files = []
    for platform in ("android", "ios"):
        f = tmp_path / f"{platform}.json"
        f.write_text(json.dumps(_device_result(artifact, platform)))
        files.append(str(f))
    imported = CliRunner().invoke(bench, ["import", str(pte_bundle), *files])
    assert imported.exit_code == 0, imported.output
    docs, bad = res.load_all(pte_bundle)
    assert bad == []
    kinds = {(d["source"]["kind"], d["device"]["platform"]) for d in docs}
    assert {("device", "android"), ("device", "ios")} <= kinds and any(k == "host" for k, _ in kinds), kinds
    for d in docs:
        assert res.errors(d) == [], d
        assert (d["model"]["target"], d["model"]["variant"], d["model"]["file"]) == ("executorch", "fp32", "executorch/model.pte")
        assert d["model"]["sha256"] == artifact["sha256"] and d["runtime"]["name"] == "executorch"
        if d["source"]["kind"] == "device":
            assert d["source"]["bundle"] == "tinyet" and d["model"]["size_bytes"] == artifact["size_bytes"]


# -- a real ExecuTorch translation pair ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pte_translator(tmp_path_factory) -> Path:
    """The shipped translator exported to ExecuTorch only (fp32 encoder + decoder step with the
    explicit KV cache): ~30 s, unlike the session's all-target export."""
    tmp = tmp_path_factory.mktemp("pte-translator")
    zoo = ROOT / "mobilekit" / "zoo"
    (tmp / "mobilekit.toml").write_text(f'''name = "translator"
version = "1.0.0"
task = "translation"
source = "mobilekit.zoo.translator:build"
weights = "{zoo / 'translator.safetensors'}"
targets = ["executorch"]
output_dir = "{tmp / 'dist'}"

[translation]
tokenizer = "{zoo / 'translator_tokenizer.json'}"
data = "mobilekit.zoo.translation_corpus:heldout"
max_source_len = 20
max_target_len = 40
samples = 20
golden = 4

[executorch]
variants = ["fp32"]
''')
    return mobilekit.export(config=str(tmp / "mobilekit.toml")).path


@pytest.mark.slow
def test_an_executorch_translator_gets_both_harnesses_and_their_loop_reproduces_the_golden_ids(pte_translator):
    """Both harnesses' decoding loop with executorch.runtime: positional values in each
    artifact's manifest order (int32 ids as declared), encoder outputs passed on by name, the
    cache zeroed per sentence and `present_X` fed back as `past_X`, greedy argmax; the generated
    ids are the golden ones."""
    import torch
    from executorch.runtime import Runtime

    result = CliRunner().invoke(bench, ["harness", str(pte_translator)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((pte_translator / "manifest.json").read_text())
    for platform in ("android", "ios"):
        record = json.loads((pte_translator / "harness" / platform / "mobilekit-harness.json").read_text())
        assert {a["path"] for a in record["artifacts"]} == {"executorch/encoder.pte", "executorch/decoder.pte"}, platform
    spec = manifest["translation"]
    arts = {a["graph"]: a for a in manifest["artifacts"] if a["target"] == "executorch"}
    runtime = Runtime.get()
    encoder = runtime.load_program(pte_translator / arts["encoder"]["path"]).load_method("forward")
    decoder = runtime.load_program(pte_translator / arts["decoder"]["path"]).load_method("forward")

    def tensor(ref, values):
        return torch.tensor(values, dtype=getattr(torch, ref["dtype"])).reshape(ref["shape"])

    special = spec["special_tokens"]
    samples = json.loads((pte_translator / spec["golden"]).read_text())["samples"]
    assert samples
    for sample in samples:
        (src,) = arts["encoder"]["inputs"]
        memory = dict(zip([t["name"] for t in arts["encoder"]["outputs"]], encoder.execute([tensor(src, sample["source_ids"])])))
        cache = {t["name"]: torch.zeros(t["shape"]) for t in arts["decoder"]["inputs"] if t["name"].startswith("past_")}
        token, ids = special["bos"], []
        while len(ids) < spec["max_target_len"] - 1:
            feeds = {"token": [token], "position": [len(ids)]}
            values = [tensor(t, feeds[t["name"]]) if t["name"] in feeds else memory.get(t["name"], cache.get(t["name"]))
                      for t in arts["decoder"]["inputs"]]
            out = dict(zip([t["name"] for t in arts["decoder"]["outputs"]], decoder.execute(values)))
            cache = {f"past_{k[len('present_'):]}": v.clone() for k, v in out.items() if k.startswith("present_")}
            token = int(out["logits"].reshape(-1).argmax())
            ids.append(token)
            if token == special["eos"]:
                break
        assert ids == sample["output_ids"], sample["text"]
