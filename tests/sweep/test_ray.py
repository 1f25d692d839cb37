"""The Ray executor on a real local Ray head (127.0.0.1): same trials, same figures as local."""

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from mobilekit.sweep import run as sweep_run

pytestmark = pytest.mark.slow



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_bin() -> str:
    import sys

    return str(Path(sys.executable).parent / "ray")


def test_a_sweep_on_a_ray_cluster_equals_the_local_one(local_sweep, tmp_path):
    pytest.importorskip("ray")
    out, toml, local_folder = local_sweep
    assert out.returncode == 0, out.stderr
    import tempfile

    port = _free_port()
    temp = tempfile.mkdtemp(prefix="mkray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    # its own temp dir, so this head never touches another session's cluster
    subprocess.run([_ray_bin(), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   check=True, capture_output=True, env=env, timeout=180)
    try:
        res = sweep_run.sweep(str(toml), executor="ray", address=f"127.0.0.1:{port}", output=tmp_path / "sweep")
    finally:
        subprocess.run([_ray_bin(), "stop"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)
    local = {r["fingerprint"]: r for r in json.loads((local_folder / "results.json").read_text())["trials"]}
    assert res.ran == 2 and {r["fingerprint"] for r in res.rows} == set(local)
    for r in res.rows:
        lr = local[r["fingerprint"]]
        assert r["executor"] == "ray" and r["status"] == lr["status"] == "ok"
        assert (tmp_path / "sweep" / r["log"]).exists()
        f, lf = r["figures"], lr["figures"]
        if r["candidate"]["variant"] == "fp32":  # deterministic: the same file and the same numbers
            assert f["size_bytes"] == lf["size_bytes"] and f["top1"] == lf["top1"] and f["max_abs"] == lf["max_abs"]
        else:  # int8 differs across CPUs and processes: approximately
            assert abs(f["size_bytes"] - lf["size_bytes"]) < 0.05 * lf["size_bytes"]
            assert abs(f["top1"] - lf["top1"]) < 0.02 and abs(f["cosine"] - lf["cosine"]) < 0.01
    assert res.doc["frontier"]["size"] == json.loads((local_folder / "results.json").read_text())["frontier"]["size"]
