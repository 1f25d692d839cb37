"""`mobilekit bench BUNDLE` on a real exported bundle (ONNX + TFLite)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mobilekit.bench import host
from mobilekit.bench import results as res
from mobilekit.bundle import load_bundle
from benchkit import export_tiny_bundle
from mobilekit.cli_bench import bench

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    """The exported bundle (ONNX + TFLite); tests change only copies of it (`bundle`)."""
    return export_tiny_bundle(tmp_path_factory.mktemp("bench-bundle"))


@pytest.fixture
def bundle(tiny_bundle, tmp_path):
    import shutil

    copy = tmp_path / "tiny"
    shutil.copytree(tiny_bundle, copy)
    return copy


def invoke(*args):
    return CliRunner().invoke(bench, [str(a) for a in args])


def test_bench_writes_a_valid_result_for_every_onnx_and_tflite_artifact(bundle):
    result = invoke(bundle, "--runs", 12, "--warmup", 2, "--threads", 1)
    assert result.exit_code == 0, result.output
    manifest = load_bundle(bundle).manifest
    wanted = {(a["target"], a["variant"]) for a in manifest["artifacts"] if a["target"] in ("onnx", "tflite")}
    assert ("tflite", "fp32") in wanted and ("onnx", "fp32") in wanted
    files = sorted((bundle / "bench").glob("*.json"))
    docs = [json.loads(f.read_text()) for f in files]
    for f, d in zip(files, docs):
        assert res.errors(d) == [], f.name
    assert {(d["model"]["target"], d["model"]["variant"]) for d in docs} == wanted
    by_target = {d["model"]["target"]: d for d in docs}
    for target, runtime in (("onnx", "onnxruntime"), ("tflite", "litert")):
        d = by_target[target]
        art = next(a for a in manifest["artifacts"] if a["target"] == target)
        assert d["status"] == "ok" and d["source"]["kind"] == "host" and d["runtime"]["name"] == runtime
        assert d["model"]["sha256"] == art["sha256"] and d["model"]["file"] == art["path"]
        assert d["config"]["threads"] == 1 and d["config"]["runs"] == 12 and d["config"]["warmup_runs"] == 2
        r = d["results"]
        assert len(r["runs_ms"]) == 12 and all(v > 0 for v in r["runs_ms"])
        assert r["latency_ms"] == res.latency_stats(r["runs_ms"])
        assert r["load_ms"] > 0 and r["first_inference_ms"] > 0 and r["init_ms"] is not None
        assert r["memory"]["peak_delta_bytes"] is not None and r["memory"]["method"]
    assert by_target["tflite"]["config"]["delegate"] == "xnnpack"  # LiteRT reported creating it
    # the terminal summary names both
    assert "onnx/fp32" in result.stdout and "tflite/fp32" in result.stdout and "p50 ms" in result.stdout
    # plain progress lines on a non-TTY stderr
    assert "bench onnx/fp32 onnxruntime cpu ×1: 0/15 runs" in result.stderr


def test_json_output_and_only(bundle):
    result = invoke(bundle, "--runs", 3, "--warmup", 0, "--only", "onnx", "--json")
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout)
    assert [d["model"]["target"] for d in docs] == ["onnx"]


@pytest.mark.parametrize("args, words", [
    (["--runs", "0"], "--runs must be at least 1"),
    (["--only", "coreml"], "--only coreml: the bundle has no such artifact"),
])
def test_bad_options_are_one_line_exit_2(bundle, args, words):
    result = invoke(bundle, *args)
    assert result.exit_code == 2 and words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_runtime_failure_is_recorded_not_raised(bundle):
    """The child process fails to load a model: a `failed` result, and the others still run."""
    b = load_bundle(bundle)
    entry = dict(b.artifact("onnx"), path="onnx/missing.onnx")
    job = host.Job(bundle=str(bundle), entry=entry, runtime="onnxruntime", backend="cpu", delegate="CPUExecutionProvider",
                   compute_units=None, threads=1, warmup=0, runs=2, tool="test")
    doc = host.run_job(job, host.SilentBar())
    assert doc["status"] == "failed" and "missing.onnx" in doc["error"] and res.errors(doc) == []


def test_core_ml_is_skipped_off_macos(bundle, monkeypatch):
    b = load_bundle(bundle)
    b.manifest["artifacts"].append({"target": "coreml", "variant": "fp16", "path": "coreml/Tiny.mlpackage", "sha256": "c" * 64,
                                    "status": "unverified", "status_reason": "no Core ML runtime on this host"})
    monkeypatch.setattr(host.sys, "platform", "linux")
    jobs, skipped = host.plan(b, threads=1, runs=1, warmup=0)
    assert [s.label for s in skipped] == ["coreml/fp16"] and "only on macOS" in skipped[0].reason
    assert {j.runtime for j in jobs} == {"onnxruntime", "litert"}


def test_litert_without_xnnpack_is_a_separate_configuration(bundle):
    result = invoke(bundle, "--runs", 3, "--warmup", 0, "--only", "tflite", "--litert-delegate", "xnnpack",
                    "--litert-delegate", "none", "--json")
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout)
    assert sorted(d["config"]["delegate"] for d in docs) == ["none", "xnnpack"]
    assert len({res.filename(d) for d in docs}) == 2
