"""Device latency in a real sweep: a phone result imported with `mobilekit bench import` into a
trial's bundle becomes that trial's device column (results.json, report), also for a
results.json written before rows recorded their artifact; `report BUNDLE --sweep` shows it."""

import json
import shutil

import pytest
from click.testing import CliRunner

from mobilekit.bench import results as res
from mobilekit.cli_bench import bench, report
from mobilekit.sweep import results as sweep_results, run as sweep_run

pytestmark = pytest.mark.slow

RUNS = [2.41, 2.38, 2.44, 2.60, 2.39, 2.42, 2.40, 3.06, 2.41, 2.37]


def phone_result(file: str, sha: str) -> dict:
    """A Pixel run of one file, as the Android harness writes it (what `bench import` accepts)."""
    return {
        "schema": "mobilekit.bench/1", "created_at": "2026-12-01T10:00:00+00:00",
        "source": {"kind": "device", "tool": "mobilekit android harness (androidx.test)"},
        "device": {"platform": "android", "model": "Pixel 8", "os": "Android 15 (API 35)", "cores": 9},
        "runtime": {"name": "onnxruntime", "version": "1.22.0"},
        "model": {"file": file, "sha256": sha},
        "config": {"backend": "cpu", "delegate": "CPUExecutionProvider", "compute_units": None, "threads": 4,
                   "warmup_runs": 5, "runs": len(RUNS)},
        "status": "ok", "error": None,
        "results": {"init_ms": 30.0, "load_ms": 48.2, "first_inference_ms": 3.9, "latency_ms": res.latency_stats(RUNS),
                    "runs_ms": RUNS, "memory": {"peak_delta_bytes": 9_000_000, "method": "VmHWM minus VmRSS before load"}},
    }


@pytest.fixture
def imported(local_sweep, tmp_path):
    """A copy of the session's sweep with a phone result imported into its int8 trial's bundle."""
    out, toml, folder = local_sweep
    assert out.returncode == 0, out.stderr
    copy = tmp_path / "sweep"
    shutil.copytree(folder, copy)
    row = next(r for r in json.loads((copy / "results.json").read_text())["trials"] if r["candidate"]["variant"] == "int8-dynamic")
    phone = tmp_path / "pixel.json"
    phone.write_text(json.dumps(phone_result(row["artifact"]["path"], row["artifact"]["sha256"])))
    r = CliRunner().invoke(bench, ["import", str(copy / row["bundle"]), str(phone)])
    assert r.exit_code == 0, r.output
    return toml, copy, row


def test_an_imported_device_result_becomes_the_trials_device_column(imported):
    toml, copy, row = imported
    res_ = sweep_run.sweep(str(toml), output=copy)
    assert (res_.ran, res_.cached) == (0, 2)  # cached rows get the device figures too
    doc = json.loads((copy / "results.json").read_text())
    sweep_results.validate(doc, "results.json")
    by = {r["id"]: r for r in doc["trials"]}
    stats = res.latency_stats(RUNS)
    [dev] = by[row["id"]]["device"]
    assert dev["device"] == "Pixel 8 (Android 15 (API 35))" and dev["runtime"].startswith("onnxruntime cpu ×4")
    assert (dev["p50_ms"], dev["p90_ms"]) == (stats["p50"], stats["p90"])
    other = next(r for r in doc["trials"] if r["id"] != row["id"])
    assert "device" not in other  # the fp32 file has no device result
    line = next(ln for ln in (copy / "report.md").read_text().splitlines() if ln.startswith(f"| {row['id']}"))
    assert f"{stats['p50']:.3f} / {stats['p90']:.3f} (Pixel 8" in line


def test_an_old_results_json_finds_the_device_result_through_the_trial_manifest(imported):
    _, copy, row = imported
    doc = json.loads((copy / "results.json").read_text())
    for r in doc["trials"]:  # as written before rows recorded their artifact
        r.pop("artifact", None)
        r.pop("device", None)
    (copy / "results.json").write_text(json.dumps(doc))
    r = CliRunner().invoke(report, [str(copy)])
    assert r.exit_code == 0, r.output
    md = (copy / "report.md").read_text()
    assert "(Pixel 8 (Android 15 (API 35)), onnxruntime cpu ×4" in next(ln for ln in md.splitlines() if ln.startswith(f"| {row['id']}"))


def test_a_bundle_report_with_sweep_has_the_sweep_section_and_its_plots(imported):
    _, copy, row = imported
    bundle = copy / row["bundle"]
    r = CliRunner().invoke(report, [str(bundle), "--sweep", str(copy)])
    assert r.exit_code == 0, r.output
    assert "2 sweep trial(s)" in r.output
    md = (bundle / "report.md").read_text()
    assert "## Artifacts" in md and "## Compression sweep" in md
    assert "report/sweep-frontier-onnx.png" in md and (bundle / "report" / "sweep-frontier-onnx.png").stat().st_size > 1000
    page = (bundle / "report.html").read_text()
    assert "<h2>Compression sweep</h2>" in page and 'id="plot-sweep-frontier-onnx"' in page
