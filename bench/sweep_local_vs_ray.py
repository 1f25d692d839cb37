"""The digits sweep (examples/digits/sweep.toml: 14 candidates on onnx, tflite, coreml, executorch)
run twice from scratch: the local executor with 2 workers, then Ray tasks on a local Ray head
with 2 CPUs (started here on 127.0.0.1, stopped after). Prints and saves:

- bench/results/sweep_local_vs_ray.json: wall time of each run and their ratio (one run each),
  whether both ran the same trials with the same statuses, the host CPU;
- bench/results/sweep_digits.json: the local run's trials (figures, status), frontiers and pick;
- bench/results/sweep_digits_frontier.png: its frontier plot.

    .venv/bin/python bench/sweep_local_vs_ray.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _emit import cpu_label, emit

from mobilekit.sweep import run as sweep_run
from mobilekit.sweep.space import label

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "examples/digits/sweep.toml"
RESULTS = Path(__file__).parent / "results"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str, env: dict) -> None:
    subprocess.run([str(Path(sys.executable).parent / "ray"), *args], check=True, capture_output=True, env=env, timeout=300)


def _table(res) -> list[dict]:
    out = []
    for r in res.rows:
        f = r["figures"]
        out.append({"trial": label(r["candidate"]), "status": r["status"], "size_bytes": f.get("size_bytes"),
                    "top1": f.get("top1"), "metric_drop_pt": f.get("metric_drop_pt"),
                    "host_p50_ms": f.get("host_p50_ms"), "seconds": r.get("seconds"),
                    **({"error": r["error"][:200]} if r.get("error") else {})})
    return out


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mksweep"))
    load = os.getloadavg()
    t = time.perf_counter()
    local = sweep_run.sweep(str(CONFIG), executor="local", workers=2, output=tmp / "local")
    local_s = time.perf_counter() - t

    temp = tempfile.mkdtemp(prefix="mkray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    port = _free_port()
    _ray("start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}", env=env)
    try:
        t = time.perf_counter()
        ray_res = sweep_run.sweep(str(CONFIG), executor="ray", address=f"127.0.0.1:{port}", output=tmp / "ray")
        ray_s = time.perf_counter() - t
    finally:
        _ray("stop", env=env)
        shutil.rmtree(temp, ignore_errors=True)

    by_fp = {r["fingerprint"]: r for r in ray_res.rows}
    same = set(by_fp) == {r["fingerprint"] for r in local.rows}
    shutil.copy(tmp / "local" / "frontier.png", RESULTS / "sweep_digits_frontier.png")
    ids = {r["id"]: label(r["candidate"]) for r in local.rows}
    emit({"config": str(CONFIG.relative_to(ROOT)), "host_cpu": cpu_label(), "cpu_count": os.cpu_count(),
          "trials": _table(local), "frontier": {k: [ids[i] for i in v] for k, v in local.doc["frontier"].items()},
          "select": {"rule": local.doc["select"]["rule"], "winner": ids.get(local.doc["select"]["winner"])}},
         RESULTS / "sweep_digits.json")
    emit({"what": "examples/digits/sweep.toml from scratch: local executor (2 workers) vs Ray tasks on a local head with 2 CPUs",
          "host_cpu": cpu_label(), "cpu_count": os.cpu_count(),
          "note": "one run each on a machine shared with other jobs (load average before: "
                  f"{load[0]:.1f}); wall times include each run's process start-up and Ray connect",
          "trials": len(local.rows), "targets": sorted({r["candidate"]["target"] for r in local.rows}),
          "same_trials": same,
          "same_status": same and all(by_fp[r["fingerprint"]]["status"] == r["status"] for r in local.rows),
          "local_wall_s": round(local_s, 1), "ray_wall_s": round(ray_s, 1), "ray_over_local": round(ray_s / local_s, 3),
          "failed": {"local": [label(r["candidate"]) for r in local.rows if r["status"] == "failed"],
                     "ray": [label(r["candidate"]) for r in ray_res.rows if r["status"] == "failed"]}},
         RESULTS / "sweep_local_vs_ray.json")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
