"""Where trials run: `local` (a pool of trial processes on this machine) or `ray` (Ray tasks on an
existing cluster). Both call `execute`, so a trial gives the same row wherever it ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

TRIAL_TIMEOUT_S = 1800.0


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class _Running:
    """The trial processes alive now, so Ctrl-C can stop them instead of orphaning them."""

    def __init__(self) -> None:
        self.procs: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def kill_all(self) -> None:
        with self.lock:
            self.stopping = True
            for p in self.procs:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def execute(spec: dict, running: _Running | None = None, threads: int | None = None) -> tuple[dict, str]:
    """Run one trial in its own process; (its row, its log text). A crash is a failed row.
    `threads`: the trial's share of the cores (OMP_NUM_THREADS), unless the user set it."""
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "row.json").unlink(missing_ok=True)
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1, default=str))
    log = folder / "log.txt"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(spec.get("pythonpath", [])), TF_CPP_MIN_LOG_LEVEL="2")
    if threads is not None:
        env.setdefault("OMP_NUM_THREADS", str(threads))
    with open(log, "wb") as out:
        # its own session: a Ctrl-C reaches the driver, which stops the trials itself
        proc = subprocess.Popen([sys.executable, "-m", "mobilekit.sweep.trial", str(spec_path)], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        if running is not None:
            with running.lock:
                if running.stopping:
                    proc.kill()
                running.procs.add(proc)
        try:
            code = proc.wait(timeout=spec.get("timeout", TRIAL_TIMEOUT_S))
            why = f"the trial process exited with code {code}"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            why = f"timed out after {spec.get('timeout', TRIAL_TIMEOUT_S):.0f} s"
        finally:
            if running is not None:
                with running.lock:
                    running.procs.discard(proc)
    text = log.read_text(errors="replace")
    try:
        row = json.loads((folder / "row.json").read_text())
    except (OSError, ValueError):
        tail = [ln for ln in text.splitlines() if ln.strip()][-2:]
        row = {"status": "failed", "figures": {}, "error": why + (f": {' | '.join(tail)}" if tail else "")}
    return row, text


def run_local(specs: list[dict], workers: int, on_done: Callable[[dict, dict, str], None]) -> None:
    """Run specs `workers` at a time; `on_done(spec, row, log)` as each finishes. Ctrl-C stops
    the running trials and re-raises once the finished ones are handed over."""
    running = _Running()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    # each trial its share of the cores, as Ray gives a 1-CPU task OMP_NUM_THREADS=1: without it
    # every trial's torch/TF pools take all cores and 2 workers run slower than Ray's 2 tasks
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    futures = {pool.submit(execute, s, running, threads): s for s in specs}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for f in done:
                row, text = f.result()
                on_done(futures[f], row, text)
    except BaseException:
        running.kill_all()
        for f in futures:
            f.cancel()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)


def _connect(address: str):
    from ..errors import UserError

    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray installed", hint="pip install 'ray[default]' (or use --executor local).") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UserError(f"cannot reach a Ray cluster at {address!r}: {str(exc).splitlines()[0][:200]}",
                            hint="Start one with `ray start --head` (or pass --address host:port).") from None
    return ray


def ray_width(address: str) -> int:
    """Trials the cluster runs at once (its CPUs): the batch a TPE sweep asks for."""
    return max(1, int(_connect(address).cluster_resources().get("CPU", 1)))


def stop_ray() -> None:
    try:
        import ray
    except ImportError:  # nothing was started
        return
    if ray.is_initialized():
        ray.shutdown()


def probe(token_path: str, token: str, files: dict[str, str]) -> list[str]:
    """On a node: what it does not see as the driver does (the sweep folder's token file, the
    config's input files with their sha256). Empty when the filesystem is shared."""
    from .inputs import digest

    bad = []
    try:
        if Path(token_path).read_text() != token:
            bad.append(str(Path(token_path).parent))
    except OSError:
        bad.append(str(Path(token_path).parent))
    for path, sha in files.items():
        try:
            if digest(Path(path)) != sha:
                bad.append(path)
        except OSError:
            bad.append(path)
    return bad


def unshared_nodes(ray, node_ids: list[str], shared: dict) -> dict[str, list[str]]:
    """node address → the paths it does not share with the driver, for the nodes given; a probe
    task pinned to each node answers through the object store."""
    import secrets

    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    folder = Path(shared["folder"])
    token, token_path = secrets.token_hex(16), folder / ".ray-probe"
    token_path.write_text(token)
    addr = {n["NodeID"]: n.get("NodeManagerAddress", n["NodeID"][:12]) for n in ray.nodes()}
    task = ray.remote(num_cpus=0, max_retries=0)(probe)
    refs = {n: task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote(
        str(token_path), token, shared["files"]) for n in node_ids}
    try:
        return {addr.get(n, n): bad for n, bad in ((n, ray.get(r, timeout=120)) for n, r in refs.items()) if bad}
    finally:
        token_path.unlink(missing_ok=True)


def check_shared_filesystem(ray, address: str, shared: dict) -> None:
    """Trials read the config's files and write their artifacts at the driver's paths: a node
    that does not see them would fail every trial, so say it once, before any trial runs."""
    from ..errors import UserError

    here = None if address.startswith("ray://") else ray.get_runtime_context().get_node_id()  # a Ray Client driver is on no node
    others = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and n["NodeID"] != here]
    bad = unshared_nodes(ray, others, shared) if others else {}
    if bad:
        node, paths = next(iter(bad.items()))
        raise UserError(f"Ray node {node} (of {len(bad)} such) does not see this machine's files at the same paths "
                        f"({paths[0]}{' …' if len(paths) > 1 else ''}): the trials need a shared filesystem",
                        hint="Mount the project and the sweep folder at the same paths on every node, or use --executor local.")


_CHECKED: set[tuple] = set()  # (cluster, sweep folder) already probed by this driver


def run_ray(specs: list[dict], address: str, on_done: Callable[[dict, dict, str], None], shared: dict | None = None) -> None:
    """Each trial a Ray task (one CPU) on the cluster at `address`. A trial's row and log come
    back through the object store; its artifact is written at the driver's path, so nodes other
    than the driver's must share its filesystem (checked first). `stop_ray()` disconnects."""
    ray = _connect(address)
    if shared is not None and (address, shared["folder"]) not in _CHECKED:
        check_shared_filesystem(ray, address, shared)
        _CHECKED.add((address, shared["folder"]))
    remote = ray.remote(num_cpus=1, max_retries=0)(execute)
    refs = {remote.remote(s): s for s in specs}
    try:
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for r in done:
                row, text = ray.get(r)
                on_done(refs[r], row, text)
    except BaseException:
        for r in refs:
            ray.cancel(r, force=True)
        raise
