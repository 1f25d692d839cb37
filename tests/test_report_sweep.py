"""The sweep report on hand-made results.json rows (the shape a real sweep writes, including rows
written before `artifact`/`device` existed): per-target plots, frontier, pick, failed trials
listed and not plotted. The real sweep + `bench import` path is in tests/sweep/test_report_devices.py."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from mobilekit import report_sweep
from mobilekit.cli_bench import report


def _row(i: int, target: str, variant: str, drop, size, p50=None, status="ok", **extra) -> dict:
    tid = f"{i:012x}"
    row = {"id": tid, "fingerprint": f"{i:064x}", "candidate": {"target": target, "variant": variant, "prune": 0.0},
           "config": {"targets": [target]}, "status": status, "log": f"trials/{tid}/log.txt", "seconds": 12.5,
           "figures": {"size_bytes": size, "top1": None if drop is None else 0.99 - drop / 100, "metric_drop_pt": drop,
                       "host_p50_ms": p50}}
    if status != "ok":
        row["error"] = extra.pop("error", "converter crashed")
    row.update(extra)
    return row


def _sweep(tmp_path, rows, winner):
    folder = tmp_path / "sweep"
    folder.mkdir()
    from mobilekit.sweep import pareto

    doc = {"schema": "mobilekit.sweep/1", "name": "digits", "space": {}, "executor": "local", "wall_seconds": 61.0,
           "complete": True, "trials": rows,
           "frontier": {"size": pareto.frontier(rows, "size_bytes"), "latency": pareto.frontier(rows, "latency")},
           "select": {"rule": "smallest within 0.5 pt", "winner": winner}}
    (folder / "results.json").write_text(json.dumps(doc))
    return folder


ROWS = [
    _row(1, "onnx", "fp32", 0.0, 250_000, 0.20),
    _row(2, "onnx", "int8-dynamic", 0.3, 70_000, 0.30),
    _row(3, "onnx", "fp16", 0.0, 260_000, 0.25),  # beaten by fp32 on both: not on the frontier
    _row(4, "tflite", "int8", 1.2, 65_000, 0.05, artifact={"path": "tflite/model.int8.tflite", "sha256": "ab" * 32}),
    _row(5, "tflite", "fp16", None, None, status="failed", error="onnx2tf: Segmentation fault"),
    _row(6, "coreml", "fp16", 0.0, 130_000, None, status="unverified", error="no Core ML runtime"),
]


def test_layout_places_trials_draws_each_targets_frontier_and_marks_the_pick(tmp_path):
    view = report_sweep.load(_sweep(tmp_path, ROWS, winner=ROWS[1]["id"]))
    onnx = [r for r in view.rows if r["candidate"]["target"] == "onnx"]
    size = report_sweep.layout(view, onnx, "size_bytes")
    assert set(size["points"]) == {ROWS[0]["id"], ROWS[1]["id"], ROWS[2]["id"]}
    assert size["frontier"] == [ROWS[1]["id"], ROWS[0]["id"]]  # cheapest first; fp16 is dominated
    assert size["pick"] == ROWS[1]["id"] and size["points"][ROWS[1]["id"]] == (70_000, 0.3)
    tfl = report_sweep.layout(view, [r for r in view.rows if r["candidate"]["target"] == "tflite"], "latency")
    assert tfl["left_off"] == {ROWS[4]["id"]: "failed"} and tfl["pick"] is None
    core = report_sweep.layout(view, [r for r in view.rows if r["candidate"]["target"] == "coreml"], "latency")
    assert core["points"] == {} and core["left_off"] == {ROWS[5]["id"]: "no figure"}  # no host p50 on Linux


def test_report_of_a_sweep_folder_has_per_target_plots_and_every_trial_in_its_table(tmp_path):
    folder = _sweep(tmp_path, ROWS, winner=ROWS[1]["id"])
    r = CliRunner().invoke(report, [str(folder), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["sweep_trials"] == 6
    names = sorted(p.rsplit("/", 1)[1] for p in out["images"])
    assert names == ["frontier-all.png", "frontier-coreml.png", "frontier-onnx.png", "frontier-tflite.png"]
    md = (folder / "report.md").read_text()
    assert md.startswith("# digits — mobilekit sweep")
    table = [ln for ln in md.splitlines() if ln.startswith(f"| {ROWS[1]['id']}")]
    assert len(table) == 1 and "★ pick" in table[0] and "onnx/int8-dynamic" in table[0] and "size" in table[0]
    failed = next(ln for ln in md.splitlines() if ln.startswith(f"| {ROWS[4]['id']}"))
    assert "Segmentation fault" in failed and f"trials/{ROWS[4]['id']}/log.txt" in failed
    assert "Failed trials are listed in the table, not plotted." in md
    assert "Not on the latency plots (no host p50 or metric): tflite/fp16" not in md  # failed ones are not 'no figure'
    assert "coreml/fp16" in md.split("Not on the latency plots", 1)[1].splitlines()[0]
    assert "No device results for these artifacts yet" in md
    page = (folder / "report.html").read_text()
    srcs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(srcs) == 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)


def test_an_old_results_json_without_artifact_or_device_fields_still_reads(tmp_path):
    old = [{k: v for k, v in r.items() if k not in ("artifact", "device", "seconds")} for r in ROWS]
    view = report_sweep.load(_sweep(tmp_path, old, winner=None))
    assert len(view.rows) == 6 and not any("device" in r for r in view.rows)
    assert all(len(row) == len(report_sweep.HEAD) for row in report_sweep.table_rows(view))


def test_a_folder_without_results_is_one_line(tmp_path):
    import pytest

    from mobilekit.errors import UserError

    with pytest.raises(UserError) as info:
        report_sweep.load(tmp_path)
    assert "has no results.json" in info.value.one_line() and "\n" not in info.value.one_line()
