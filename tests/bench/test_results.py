"""The mobilekit.bench/1 schema and the statistics every harness must reproduce."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mobilekit.bench import results as res
from mobilekit.errors import BundleError


def sample_result(sha: str = "a" * 64, **changes) -> dict:
    """A hand-written device result, as a phone harness would write it."""
    runs = [12.1, 11.8, 12.4, 13.0, 11.9, 12.2, 12.0, 15.3, 12.1, 11.7]
    doc = {
        "schema": "mobilekit.bench/1",
        "created_at": "2026-11-20T10:00:00+00:00",
        "source": {"kind": "device", "tool": "mobilekit android harness (androidx.test)"},
        "device": {"platform": "android", "model": "Pixel 8", "os": "Android 15 (API 35)", "cores": 9,
                   "arch": "arm64-v8a", "manufacturer": "Google", "soc": "Google Tensor G3"},
        "runtime": {"name": "onnxruntime", "version": "1.22.0"},
        "model": {"file": "onnx/model.onnx", "sha256": sha, "target": "onnx", "variant": "fp32"},
        "config": {"backend": "cpu", "delegate": "CPUExecutionProvider", "compute_units": None, "threads": 4,
                   "warmup_runs": 5, "runs": len(runs), "inputs": "golden"},
        "status": "ok",
        "error": None,
        "results": {
            "init_ms": 31.5, "load_ms": 48.2, "first_inference_ms": 25.9,
            "latency_ms": res.latency_stats(runs), "runs_ms": runs,
            "memory": {"peak_delta_bytes": 18_350_080, "baseline_bytes": 120_000_000, "peak_bytes": 138_350_080,
                       "method": "VmHWM after reset minus VmRSS before load"},
        },
        "notes": [],
    }
    doc.update(changes)
    return doc


def test_a_hand_written_result_is_valid():
    assert res.errors(sample_result()) == []
    res.validate(sample_result(), "x.json")


@pytest.mark.parametrize("runs", [[1.0], [3.0, 1.0, 2.0], list(np.random.default_rng(0).gamma(2.0, 3.0, 97))])
def test_statistics_match_numpy(runs):
    s = res.latency_stats(runs)
    a = np.asarray(runs)
    assert s["min"] == pytest.approx(a.min()) and s["max"] == pytest.approx(a.max())
    assert s["mean"] == pytest.approx(a.mean(), rel=1e-6)
    assert s["std"] == pytest.approx(a.std(ddof=0), rel=1e-5, abs=1e-6)
    for p in (50, 90, 95, 99):
        assert s[f"p{p}"] == pytest.approx(np.percentile(a, p), rel=1e-6)


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda d: d["results"]["latency_ms"].pop("p90"), "missing field results/latency_ms/p90"),
        (lambda d: d["device"].pop("model"), "missing field device/model"),
        (lambda d: d.pop("runtime"), "missing field runtime"),
        (lambda d: d["model"].update(sha256="xyz"), "model/sha256"),
        (lambda d: d.update(status="failed"), "error"),  # a failure needs its error
        (lambda d: d.update(results=None), "results"),  # ok needs results
        (lambda d: d["config"].update(compute_units="gpu"), "config/compute_units"),
    ],
)
def test_invalid_results_are_refused_with_one_line(mutate, words):
    doc = copy.deepcopy(sample_result())
    mutate(doc)
    with pytest.raises(BundleError) as exc:
        res.validate(doc, "phone.json")
    line = exc.value.one_line()
    assert "\n" not in line and line.startswith("phone.json is not a valid mobilekit.bench/1 result")
    assert words in line, line


def test_wrong_schema_name_is_named():
    with pytest.raises(BundleError, match="schema is 'mobilekit.bench/0'"):
        res.validate(sample_result(schema="mobilekit.bench/0"), "old.json")


def test_a_failed_result_needs_no_results():
    doc = sample_result(status="failed", error="GPU delegate: unsupported op", results=None)
    assert res.errors(doc) == []


def test_file_names_are_stable_per_configuration():
    a, b = sample_result(), sample_result()
    b["config"]["threads"] = 2
    assert res.filename(a) == "android-pixel-8-onnx-fp32-onnxruntime-cpu-t4.json"
    assert res.filename(a) != res.filename(b)


def test_write_and_load_all(tmp_path):
    res.write(tmp_path, sample_result())
    (tmp_path / "bench" / "junk.json").write_text("{}")
    docs, bad = res.load_all(tmp_path)
    assert len(docs) == 1 and len(bad) == 1 and bad[0].startswith("junk.json: missing field")


def test_bench_and_report_help_need_no_heavy_package():
    import subprocess
    import sys

    heavy = ["torch", "onnx", "onnxruntime", "tensorflow", "coremltools", "onnx2tf", "numpy", "matplotlib", "ai_edge_litert"]
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {heavy!r}: raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from mobilekit.cli_bench import bench, report\n"
        "for cmd, args in ((bench, ['--help']), (bench, ['import', '--help']), (bench, ['run', '--help']),\n"
        "                  (bench, ['harness', '--help']), (report, ['--help'])):\n"
        "    try:\n"
        "        cmd(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (args, e.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--threads" in out.stdout and "RESULTS" in out.stdout
