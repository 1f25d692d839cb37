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


@pytest.fixture(scope="module")
def ray_head():
    """The address of a real Ray head on 127.0.0.1 with 2 CPUs, stopped after this module."""
    pytest.importorskip("ray")
    import tempfile

    port = _free_port()
    temp = tempfile.mkdtemp(prefix="mkray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    # its own temp dir, so this head never touches another session's cluster
    subprocess.run([_ray_bin(), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   check=True, capture_output=True, env=env, timeout=180)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([_ray_bin(), "stop"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_node_that_does_not_see_the_driver_files_is_named_before_any_trial(ray_head, tmp_path):
    import ray

    from mobilekit.errors import UserError
    from mobilekit.sweep import executors, inputs

    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"weights")
    good = {"folder": str(tmp_path), "files": {str(weights): inputs.digest(weights)}}
    bad = {"folder": str(tmp_path), "files": {str(weights): "0" * 64, str(tmp_path / "gone.npz"): "0" * 64}}
    ray.init(address=ray_head, log_to_driver=False, logging_level="ERROR")
    try:
        here = ray.get_runtime_context().get_node_id()
        node = next(n["NodeManagerAddress"] for n in ray.nodes() if n["NodeID"] == here)  # as Ray names it
        # the probe runs as a real task pinned to the node and answers through the object store
        assert executors.unshared_nodes(ray, [here], good) == {}
        assert executors.unshared_nodes(ray, [here], bad) == {node: [str(weights), str(tmp_path / "gone.npz")]}
        executors.check_shared_filesystem(ray, ray_head, bad)  # the driver's own node is never a problem
        with pytest.raises(UserError) as exc:  # a Ray Client driver is on no node: every node is probed
            executors.check_shared_filesystem(ray, "ray://127.0.0.1:10001", bad)
        assert "need a shared filesystem" in exc.value.one_line() and f"Ray node {node} " in exc.value.one_line()
        assert not (tmp_path / ".ray-probe").exists()
    finally:
        ray.shutdown()


def test_a_sweep_on_a_ray_cluster_equals_the_local_one(ray_head, local_sweep, tmp_path):
    out, toml, local_folder = local_sweep
    assert out.returncode == 0, out.stderr
    res = sweep_run.sweep(str(toml), executor="ray", address=ray_head, output=tmp_path / "sweep")
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
