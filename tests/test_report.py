"""`mobilekit report`: report.md and a self-contained report.html whose plots render offline in
headless Chromium; device results imported with `mobilekit bench import` appear in it."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mobilekit.bench import results as res
from mobilekit.cli_bench import bench, report

pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("benchkit", Path(__file__).parent / "bench" / "benchkit.py")
bench_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_fixtures)


def device_result(sha: str) -> dict:
    """A hand-written result of a phone run, as the Android harness writes it."""
    runs = [1.21, 1.18, 1.24, 1.30, 1.19, 1.22, 1.20, 1.53, 1.21, 1.17]
    return {
        "schema": "mobilekit.bench/1",
        "created_at": "2026-11-20T10:00:00+00:00",
        "source": {"kind": "device", "tool": "mobilekit android harness (androidx.test)"},
        "device": {"platform": "android", "model": "Pixel 8", "os": "Android 15 (API 35)", "cores": 9},
        "runtime": {"name": "onnxruntime", "version": "1.22.0"},
        "model": {"file": "onnx/model.onnx", "sha256": sha},
        "config": {"backend": "cpu", "delegate": "CPUExecutionProvider", "compute_units": None, "threads": 4,
                   "warmup_runs": 5, "runs": len(runs)},
        "status": "ok",
        "error": None,
        "results": {"init_ms": 30.0, "load_ms": 48.2, "first_inference_ms": 3.9, "latency_ms": res.latency_stats(runs),
                    "runs_ms": runs, "memory": {"peak_delta_bytes": 9_000_000, "method": "VmHWM minus VmRSS before load"}},
    }


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    """A bundle with host results, an imported device result, and its report."""
    root = bench_fixtures.export_tiny_bundle(tmp_path_factory.mktemp("report"), with_eval=True)
    r = CliRunner().invoke(bench, [str(root), "--runs", "10", "--warmup", "1", "--threads", "1"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((root / "manifest.json").read_text())
    sha = next(a["sha256"] for a in manifest["artifacts"] if a["target"] == "onnx")
    phone = root.parent / "pixel.json"
    phone.write_text(json.dumps(device_result(sha)))
    r = CliRunner().invoke(bench, ["import", str(root), str(phone)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(report, [str(root)])
    assert r.exit_code == 0, r.output
    assert "5 plot(s), 3 benchmark result(s)" in r.output
    return root


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_markdown_has_tables_and_linked_plots(reported):
    md = (reported / "report.md").read_text()
    assert "| onnx/fp32 |" in md and "| tflite/fp32 |" in md
    assert "Pixel 8 (Android 15 (API 35))" in md  # the imported device result
    assert "host linux" in md or "host macos" in md
    links = re.findall(r"!\[[^\]]*\]\((report/[a-z]+\.png)\)", md)
    assert sorted(links) == sorted(f"report/{n}.png" for n in ("size", "latency", "metric", "tradeoff", "parity"))
    for link in links:
        assert _png_size((reported / link).read_bytes())[0] > 300


def test_html_is_self_contained(reported):
    page = (reported / "report.html").read_text()
    srcs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(srcs) == 5 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<script" not in page and "<link" not in page
    manifest_before = json.loads((reported / "manifest.json").read_text())
    assert "report" not in json.dumps(list(manifest_before))  # the manifest's keys are untouched


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium, see .ci/run)")
        pytest.skip("chromium is not installed")
    return path


def _headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    return subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True, timeout=180)


_PROBE = """<script>
window.addEventListener('load', () => {
  for (const img of document.images) {
    img.setAttribute('data-probe', img.complete + ' ' + img.naturalWidth + 'x' + img.naturalHeight);
  }
  document.body.setAttribute('data-probed', String(document.images.length));
});
</script></body>"""


def test_report_renders_in_headless_chromium_with_every_plot_loaded(reported, tmp_path):
    page = (reported / "report.html").read_text()
    expected = [_png_size(__import__("base64").b64decode(s.split(",", 1)[1]))
                for s in re.findall(r'<img[^>]*src="([^"]+)"', page)]
    probe = tmp_path / "probe.html"  # a copy with a probe script: the report itself has no script
    probe.write_text(page.replace("</body>", _PROBE))
    proc = _headless(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-probed="5"' in dom, dom[:500]
    probes = re.findall(r'data-probe="([^"]+)"', dom)
    assert len(probes) == 5
    for got, (w, h) in zip(probes, expected):
        assert got == f"true {w}x{h}", (got, w, h)  # loaded, at the PNG's own size

    shot = tmp_path / "report.png"
    proc = _headless(tmp_path, "--window-size=1200,2400", "--hide-scrollbars", f"--screenshot={shot}",
                     (reported / "report.html").as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1200, 2400)
        colours = im.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # text and plots, not a blank page


def test_report_without_bench_results(tmp_path, reported):
    copy = tmp_path / "tiny"
    shutil.copytree(reported, copy)
    shutil.rmtree(copy / "bench")
    (copy / "bench").mkdir()
    (copy / "bench" / "broken.json").write_text('{"schema": "mobilekit.bench/1"}')
    r = CliRunner().invoke(report, [str(copy)])
    assert r.exit_code == 0, r.output
    assert "warning: ignored bench/broken.json: missing field" in r.stderr
    md = (copy / "report.md").read_text()
    assert "No benchmark results yet" in md and "report/latency.png" not in md
    assert not (copy / "report" / "latency.png").exists()
    assert "report/size.png" in md and "report/parity.png" in md


def test_report_of_a_missing_bundle_is_one_line(tmp_path):
    r = CliRunner().invoke(report, [str(tmp_path / "nope")])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
