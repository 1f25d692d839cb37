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


def execute(spec: dict, running: _Running | None = None) -> tuple[dict, str]:
    """Run one trial in its own process; (its row, its log text). A crash is a failed row."""
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "row.json").unlink(missing_ok=True)
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1, default=str))
    log = folder / "log.txt"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(spec.get("pythonpath", [])), TF_CPP_MIN_LOG_LEVEL="2")
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
    futures = {pool.submit(execute, s, running): s for s in specs}
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


def run_ray(specs: list[dict], address: str, on_done: Callable[[dict, dict, str], None]) -> None:
    """Each trial a Ray task (one CPU) on the cluster at `address`; the driver keeps the files."""
    from ..errors import UserError

    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray installed", hint="pip install 'ray[default]' (or use --executor local).") from None
    try:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot reach a Ray cluster at {address!r}: {str(exc).splitlines()[0][:200]}",
                        hint="Start one with `ray start --head` (or pass --address host:port).") from None
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
    finally:
        ray.shutdown()
