"""The iOS benchmark harness template (templates/harness/ios): it parses, runs translation
bundles as well as classification ones (and says so in harness.json, which `mobilekit bench
harness` reads), links the one Swift core instead of keeping copies, and its prepare script
copies what both kinds of bundle need."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from toolchain import swift_errors

from mobilekit.bench.harness import capabilities, runnable

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "templates" / "harness" / "ios"
TESTS = HARNESS / "Tests" / "MobileKitBenchTests"


def harness_swift() -> list[Path]:
    # not the MobileKitCore link: that is mobile/swift, checked by test_ios_demo.py
    return sorted(p for p in HARNESS.rglob("*.swift") if "MobileKitCore" not in p.relative_to(HARNESS).parts)


def test_every_harness_swift_file_parses():
    files = harness_swift()
    assert {f.name for f in files} >= {"Package.swift", "CoreMLBenchmarkTests.swift", "Seq2SeqBenchmarkTests.swift", "Device.swift",
                                       "BenchRun.swift"}
    assert {str(f.relative_to(ROOT)): e for f in files if (e := swift_errors(f.read_bytes()))} == {}


def test_no_copies_of_the_core():
    """The harness links MobileKitCore and MobileKitCoreML; a second Npy reader or runner would drift."""
    assert (HARNESS / "MobileKitCore").resolve() == (ROOT / "mobile" / "swift").resolve()
    package = (HARNESS / "Package.swift").read_text()
    for product in ("MobileKitCore", "MobileKitCoreML"):
        assert f'.product(name: "{product}", package: "MobileKitCore")' in package
    declared = re.compile(r"\b(?:struct|class|enum|actor)\s+(NpyArray|MultiArrays|CoreMLSeq2SeqRunner|Golden|GoldenSentence|"
                          r"BundleManifest|Stats|BenchResult)\b")
    for f in harness_swift():
        assert not declared.findall(f.read_text()), f"{f.name} redefines {declared.findall(f.read_text())}"


def test_translation_bundles_get_their_own_benchmark():
    seq2seq = (TESTS / "Seq2SeqBenchmarkTests.swift").read_text()
    for needle in ("ModelChoices.seq2seqPairs(run.manifest, target: \"coreml\")", "CoreMLSeq2SeqRunner(", "GoldenSentence.load(",
                   "GreedyDecoder.decode(", "run.emit(result, from: self)", "runsMs: stepsMs"):
        assert needle in seq2seq, needle
    assert 'print("MOBILEKIT-BENCH-JSON ' in (TESTS / "BenchRun.swift").read_text()  # what `bench import` reads
    classify = (TESTS / "CoreMLBenchmarkTests.swift").read_text()
    assert "MultiArrays.make(" in classify and "constraint.dataType" in classify  # inputs in the declared dtype
    assert re.search(r"if run\.manifest\.translation != nil \{\s*throw XCTSkip", classify)  # index.json is not read for them


def manifest(task: str, artifacts: list[dict]) -> dict:
    m = {"schema": "mobilekit.manifest/1", "name": "t", "version": "1", "task": task, "artifacts": artifacts,
         "golden": "assets/golden/"}
    if task == "translation":
        m["translation"] = {"golden": "assets/golden/translation.json"}
    return m


def coreml(variant: str, graph: str | None = None, status: str = "verified") -> dict:
    a = {"target": "coreml", "variant": variant, "path": f"coreml/{graph or 'model'}.{variant}.mlpackage", "status": status}
    if graph:
        a["graph"] = graph
    return a


def test_bench_harness_accepts_what_the_ios_harness_runs(tmp_path):
    assert json.loads((HARNESS / "harness.json").read_text()) == capabilities("ios")
    assert capabilities("ios") == {"targets": ["coreml", "executorch"], "tasks": ["image_classification", "generic", "translation"]}
    golden = tmp_path / "assets" / "golden"
    golden.mkdir(parents=True)
    pair = [coreml("fp16", "encoder"), coreml("fp16", "decoder")]
    assert runnable(tmp_path, manifest("translation", pair), "ios") == "its golden sentences (assets/golden/translation.json) are missing"
    (golden / "translation.json").write_text('{"samples": []}')
    assert runnable(tmp_path, manifest("translation", pair), "ios") is None
    mixed = [coreml("fp16", "encoder"), coreml("int8", "decoder"), coreml("int8", "encoder", status="failed")]
    assert "encoder and decoder of one variant" in runnable(tmp_path, manifest("translation", mixed), "ios")
    assert runnable(tmp_path, manifest("image_classification", [coreml("fp16")]), "ios") == \
        "its golden inputs (assets/golden/index.json) are missing"


def test_prepare_copies_a_translation_bundles_assets(tmp_path):
    bundle = tmp_path / "translator"
    (bundle / "coreml" / "Encoder.mlpackage").mkdir(parents=True)
    (bundle / "coreml" / "Encoder.mlpackage" / "Manifest.json").write_text("{}")
    (bundle / "assets" / "golden").mkdir(parents=True)
    (bundle / "assets" / "tokenizer.json").write_text("{}")
    (bundle / "assets" / "golden" / "translation.json").write_text('{"samples": []}')
    (bundle / "manifest.json").write_text(json.dumps(manifest("translation", [])))
    harness = bundle / "harness" / "ios"
    shutil.copytree(HARNESS, harness, symlinks=True)
    dest = harness / "Tests" / "MobileKitBenchTests" / "Resources" / "bundle"
    (dest / "stale.txt").write_text("from a previous bundle")
    proc = subprocess.run(["bash", str(harness / "scripts" / "prepare.sh")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for rel in ("manifest.json", "coreml/Encoder.mlpackage/Manifest.json", "assets/tokenizer.json", "assets/golden/translation.json"):
        assert (dest / rel).is_file(), rel
    assert not (dest / "stale.txt").exists()
    assert (dest / "README.md").is_file()  # the placeholder is kept
    # a bundle without Core ML packages is refused with one line and exit code 2
    shutil.rmtree(bundle / "coreml")
    proc = subprocess.run(["bash", str(harness / "scripts" / "prepare.sh")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "coreml" in proc.stderr
