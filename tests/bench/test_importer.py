"""`mobilekit bench import`: device results checked against the schema and the bundle's checksums,
and TFLite benchmark_model output converted to mobilekit.bench/1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mobilekit.bench import results as res
from mobilekit.bench.importer import convert_benchmark_model, parse_benchmark_model
from mobilekit.bundle import sha256, write_manifest
from mobilekit.cli_bench import bench
from mobilekit.errors import UserError
from test_results import sample_result

DATA = Path(__file__).parent / "data"


def fake_bundle(root: Path) -> Path:
    """A minimal valid bundle with one ONNX and one TFLite file (bytes need not be real models)."""
    root.mkdir(parents=True)
    files = {"onnx/model.onnx": b"not really onnx", "tflite/model.tflite": b"not really tflite"}
    artifacts = []
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        target = rel.split("/")[0]
        artifacts.append({
            "target": target, "variant": "fp32", "path": rel, "sha256": sha256(root / rel), "size_bytes": len(data),
            "precision": "fp32", "layout": "NCHW", "made_by": {"converter": "test"}, "status": "verified",
            "verified_by": "test", "parity": {"max_abs": 1e-6, "cosine": 1.0, "top1_agreement": 1.0},
        })
    write_manifest(root, {
        "schema": "mobilekit.manifest/1", "name": "fake", "version": "1.0.0", "task": "image_classification",
        "created_with": {"mobilekit": "test"},
        "inputs": [{"name": "image", "shape": [1, 3, 8, 8], "dtype": "float32"}],
        "outputs": [{"name": "logits", "shape": [1, 3], "dtype": "float32"}],
        "artifacts": artifacts,
    })
    return root


@pytest.fixture
def fake(tmp_path) -> Path:
    return fake_bundle(tmp_path / "fake")


def _sha(bundle: Path, rel: str) -> str:
    return sha256(bundle / rel)


def invoke(*args):
    return CliRunner().invoke(bench, [str(a) for a in args])


def _one_error_line(result) -> str:
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    return errors[0]


def test_import_adds_a_hand_written_result(fake, tmp_path):
    f = tmp_path / "pixel.json"
    f.write_text(json.dumps(sample_result(sha=_sha(fake, "onnx/model.onnx"))))
    result = invoke("import", fake, f)
    assert result.exit_code == 0, result.output
    docs, bad = res.load_all(fake)
    assert bad == [] and len(docs) == 1
    assert docs[0]["device"]["model"] == "Pixel 8"
    assert docs[0]["source"]["bundle"] == "fake" and docs[0]["model"]["size_bytes"] == 15


def test_wrong_sha256_is_refused_with_one_line_and_nothing_written(fake, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(sample_result(sha=_sha(fake, "onnx/model.onnx"))))
    bad = tmp_path / "stale.json"
    bad.write_text(json.dumps(sample_result(sha="0" * 64)))
    result = invoke("import", fake, good, bad)
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "stale.json: model sha256 000000000000… (onnx/model.onnx) matches no artifact of bundle fake" in line
    assert not (fake / "bench").exists()  # all or nothing


def test_missing_field_is_refused_with_one_line(fake, tmp_path):
    doc = sample_result(sha=_sha(fake, "onnx/model.onnx"))
    del doc["results"]["latency_ms"]["p50"]
    f = tmp_path / "pixel.json"
    f.write_text(json.dumps(doc))
    result = invoke("import", fake, f)
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "pixel.json is not a valid mobilekit.bench/1 result: missing field results/latency_ms/p50" in line


@pytest.mark.parametrize("content, words", [("{", "is not valid JSON"), ("hello", "neither a mobilekit.bench/1 JSON file nor a benchmark_model log")])
def test_unreadable_files_are_refused(fake, tmp_path, content, words):
    f = tmp_path / "x.json"
    f.write_text(content)
    result = invoke("import", fake, f)
    assert result.exit_code == 2 and words in _one_error_line(result)


def test_tampered_bundle_is_refused(fake, tmp_path):
    f = tmp_path / "pixel.json"
    f.write_text(json.dumps(sample_result(sha=_sha(fake, "onnx/model.onnx"))))
    (fake / "onnx/model.onnx").write_bytes(b"changed")
    result = invoke("import", fake, f)
    assert result.exit_code == 2 and "does not match its checksum" in _one_error_line(result)


def test_xcodebuild_log_lines_and_folders_are_read(fake, tmp_path):
    doc = sample_result(sha=_sha(fake, "tflite/model.tflite"))
    doc["model"].update(file="tflite/model.tflite", target="tflite")
    log = tmp_path / "xcodebuild.log"
    log.write_text("Test Suite 'All tests' started\nMOBILEKIT-BENCH-JSON " + json.dumps(doc) + "\nTest Suite passed\n")
    folder = tmp_path / "pulled"
    folder.mkdir()
    other = dict(doc, device=dict(doc["device"], model="Galaxy S24"))
    (folder / "a.json").write_text(json.dumps([other]))
    result = invoke("import", fake, log, folder)
    assert result.exit_code == 0, result.output
    docs, _ = res.load_all(fake)
    assert sorted(d["device"]["model"] for d in docs) == ["Galaxy S24", "Pixel 8"]


# -- benchmark_model --------------------------------------------------------------------------

def _sample(name: str, sha: str = "b" * 64) -> str:
    return (DATA / name).read_text().replace("@SHA@", sha)


def test_benchmark_model_output_converts_to_the_schema():
    doc = convert_benchmark_model(_sample("benchmark_model_xnnpack.txt"))
    assert res.errors(doc) == []
    assert doc["status"] == "ok" and doc["source"]["kind"] == "device"
    assert doc["device"] == {"platform": "android", "model": "Pixel 7", "os": "Android 14 (API 34)", "cores": 8,
                             "arch": "arm64-v8a", "manufacturer": "Google", "soc": "Google Tensor G2"}
    assert doc["runtime"] == {"name": "litert", "version": "2.19.0"}
    assert doc["config"]["delegate"] == "xnnpack" and doc["config"]["threads"] == 4
    assert doc["config"]["runs"] == 50 and doc["config"]["warmup_runs"] == 5
    r = doc["results"]
    assert r["load_ms"] == pytest.approx(4.127) and r["first_inference_ms"] == pytest.approx(0.612)
    lat = r["latency_ms"]
    assert lat["mean"] == pytest.approx(0.24182) and lat["min"] == pytest.approx(0.228) and lat["max"] == pytest.approx(0.402)
    assert lat["p50"] == pytest.approx(0.236) and lat["p95"] == pytest.approx(0.281) and lat["std"] == pytest.approx(0.024)
    assert lat["p90"] is None and lat["p99"] is None and r["runs_ms"] == []
    assert r["memory"]["peak_delta_bytes"] == int(5.6875 * 1024 * 1024)
    assert r["memory"]["peak_bytes"] == int(9.42578 * 1024 * 1024)


def test_benchmark_model_failure_becomes_a_failed_result():
    doc = convert_benchmark_model(_sample("benchmark_model_gpu_failed.txt"))
    assert res.errors(doc) == []
    assert doc["status"] == "failed" and doc["results"] is None
    assert "GPU delegate" in doc["error"] and doc["config"]["backend"] == "gpu"


def test_benchmark_model_from_logcat_with_old_format():
    doc = convert_benchmark_model(_sample("benchmark_model_logcat.txt"))
    assert res.errors(doc) == []
    assert doc["config"]["delegate"] == "gpu" and doc["device"]["model"] == "Galaxy A14"
    assert doc["results"]["latency_ms"]["mean"] == pytest.approx(1.45528)
    assert doc["results"]["latency_ms"]["p50"] is None
    assert doc["results"]["load_ms"] == pytest.approx(92.318)
    assert doc["results"]["memory"]["peak_delta_bytes"] == int(73.4102 * 1024 * 1024)
    assert any("10 of 12 nodes" in n for n in doc["notes"])


def test_benchmark_model_without_the_header_is_refused():
    text = "\n".join(ln for ln in _sample("benchmark_model_xnnpack.txt").splitlines() if not ln.startswith("#"))
    assert parse_benchmark_model(text)["summary"]["avg_us"] == pytest.approx(241.82)
    with pytest.raises(UserError, match="without the model's sha256"):
        convert_benchmark_model(text, "raw.txt")


def test_import_of_benchmark_model_logs(fake, tmp_path):
    sha = _sha(fake, "tflite/model.tflite")
    folder = tmp_path / "benchmark_model"
    folder.mkdir()
    for name in ("benchmark_model_xnnpack.txt", "benchmark_model_gpu_failed.txt"):
        (folder / name).write_text(_sample(name, sha))
    result = invoke("import", fake, folder)
    assert result.exit_code == 0, result.output
    docs, _ = res.load_all(fake)
    assert sorted((d["config"]["delegate"], d["status"]) for d in docs) == [("gpu", "failed"), ("xnnpack", "ok")]
    assert all(d["model"]["target"] == "tflite" for d in docs)
