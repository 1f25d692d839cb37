"""A real sweep: results.json, frontier, pick, the cache on a re-run, per-trial failures, Ctrl-C."""

import json

import pytest

from mobilekit.sweep import results as sweep_results, run as sweep_run

pytestmark = pytest.mark.slow


def test_a_local_sweep_writes_results_frontier_and_a_pick(local_sweep):
    out, _, folder = local_sweep
    assert out.returncode == 0, out.stderr
    doc = json.loads((folder / "results.json").read_text())
    sweep_results.validate(doc, "results.json")
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
    import shutil

    _, toml, shared = local_sweep
    folder = tmp_path / "sweep"  # a copy: the session's sweep stays as the other tests expect it
    shutil.copytree(shared, folder)
    seen = []
    res = sweep_run.sweep(str(toml), output=folder, on_trial=lambda row, cached: seen.append(cached))
    assert (res.ran, res.cached) == (0, 2) and seen == [True, True]
    # widening by a variant whose export fails here would cost a trial; narrowing costs nothing
    res = sweep_run.sweep(str(toml), output=folder, sweep={"targets": {"onnx": ["fp32"]}})
    assert (res.ran, res.cached) == (0, 1) and len(res.rows) == 1
    # widening back finds the dropped trial in its folder: nothing recomputed
    res = sweep_run.sweep(str(toml), output=folder)
    assert (res.ran, res.cached) == (0, 2)


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


def test_export_winner_exports_the_picked_trial_as_the_bundle(local_sweep):
    import subprocess
    import sys

    out0, toml, folder = local_sweep
    assert out0.returncode == 0, out0.stderr
    out = subprocess.run([sys.executable, "-m", "mobilekit", "sweep", "--config", str(toml), "--output", str(folder),
                          "--export-winner"], capture_output=True, text=True, timeout=600)
    doc = json.loads((folder / "results.json").read_text())
    win = next((r for r in doc["trials"] if r["id"] == doc["select"]["winner"]), None)
    if win is None:  # int8 lost more than 0.5 pt on this CPU and fp32 is bigger: nothing qualifies
        assert out.returncode == 2 and "no trial meets the pick rule" in out.stderr
        return
    assert out.returncode == 0, out.stderr
    assert "2 trials (0 run, 2 cached)" in out.stdout
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("exported the winner to "))
    bundle = line.removeprefix("exported the winner to ").strip()
    manifest = json.loads(open(f"{bundle}/manifest.json").read())
    arts = [(a["target"], a["variant"], a["status"]) for a in manifest["artifacts"]]
    assert arts == [(win["candidate"]["target"], win["candidate"]["variant"], "verified")]
    art = manifest["artifacts"][0]
    assert abs(art["size_bytes"] - win["figures"]["size_bytes"]) < 0.05 * win["figures"]["size_bytes"]


def test_a_tpe_sweep_asks_within_its_budget_and_reuses_the_cache(local_sweep, tmp_path):
    import shutil

    _, toml, shared = local_sweep
    folder = tmp_path / "sweep"  # a copy: a 1-trial budget rewrites results.json with one row
    shutil.copytree(shared, folder)
    res = sweep_run.sweep(str(toml), output=folder, sweep={"sampler": "tpe", "trials": 2})
    assert (res.ran, res.cached) == (0, 2)  # the space has 2 candidates: TPE asked for both, both cached
    res = sweep_run.sweep(str(toml), output=folder, sweep={"sampler": "tpe", "trials": 1})
    assert (res.ran, res.cached) == (0, 1)
