"""A real sweep: results.json, frontier, pick, the cache on a re-run, per-trial failures, Ctrl-C."""

import json

import pytest

from mobilekit.sweep import run as sweep_run

pytestmark = pytest.mark.slow


def test_a_local_sweep_writes_results_frontier_and_a_pick(local_sweep):
    out, _, folder = local_sweep
    assert out.returncode == 0, out.stderr
    doc = json.loads((folder / "results.json").read_text())
    sweep_run.validate(doc, "results.json")
    assert doc["complete"] and len(doc["trials"]) == 2
    by = {r["candidate"]["variant"]: r for r in doc["trials"]}
    for r in by.values():
        assert r["status"] == "ok", r
        assert (folder / r["log"]).exists()
        assert r["figures"]["host_p50_ms"] > 0 and r["figures"]["top1"] > 0.9
    assert by["fp32"]["figures"]["metric_drop_pt"] == 0.0
    assert by["int8-dynamic"]["figures"]["size_bytes"] < by["fp32"]["figures"]["size_bytes"] / 2
    # int8 figures vary across CPUs: only bounds
    assert abs(by["int8-dynamic"]["figures"]["metric_drop_pt"]) < 2.0
    assert by["int8-dynamic"]["id"] in doc["frontier"]["size"]
    if by["int8-dynamic"]["figures"]["metric_drop_pt"] <= 0.5:
        assert doc["select"]["winner"] == by["int8-dynamic"]["id"]
    assert (folder / "frontier.png").stat().st_size > 1000
    assert "pick (smallest within 0.5 pt)" in out.stdout


def test_a_rerun_computes_nothing_and_a_wider_space_only_the_new_trial(local_sweep, tmp_path):
    _, toml, folder = local_sweep
    seen = []
    res = sweep_run.sweep(str(toml), output=folder, on_trial=lambda row, cached: seen.append(cached))
    assert (res.ran, res.cached) == (0, 2) and seen == [True, True]
    # widening by a variant whose export fails here would cost a trial; narrowing costs nothing
    res = sweep_run.sweep(str(toml), output=folder, sweep={"targets": {"onnx": ["fp32"]}})
    assert (res.ran, res.cached) == (0, 1)


def _broken(tmp_path):
    import tiny_models

    return tiny_models.config(tmp_path, source="tiny_models:broken",
                              sweep={"targets": {"onnx": ["fp32", "fp16"]}, "bench_runs": 0, "workers": 1})


def test_a_failed_trial_keeps_its_log_and_ctrl_c_keeps_finished_trials(tmp_path):
    folder = tmp_path / "sweep"

    def interrupt(row, cached):
        raise KeyboardInterrupt  # as Ctrl-C arriving while the second trial runs

    with pytest.raises(KeyboardInterrupt):
        sweep_run.sweep(_broken(tmp_path), output=folder, on_trial=interrupt)
    doc = json.loads((folder / "results.json").read_text())
    assert not doc["complete"] and len(doc["trials"]) == 1
    row = doc["trials"][0]
    assert row["status"] == "failed" and "weights server unreachable" in row["error"]
    assert "weights server unreachable" in (folder / row["log"]).read_text()
    # the resumed sweep runs only the trial that did not finish
    res = sweep_run.sweep(_broken(tmp_path), output=folder)
    assert (res.ran, res.cached) == (1, 1)
    assert res.doc["complete"] and res.doc["select"]["winner"] is None
