"""Run one target's conversion in a child process.

Converters crash (segfaults in native code), hang, and print a lot; a child process contains all
three. The parent gets a result file or a failure with the log's tail; the console output goes
to a log file in the bundle, not to the user's terminal.

Child entry point: `python -m mobilekit.worker JOB.json RESULT.json`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .targets.base import ArtifactRecord, ConvertJob


@dataclass
class WorkerResult:
    target: str
    records: list[ArtifactRecord]
    error: str | None  # one line; None when the worker succeeded
    log: Path
    seconds: float
    user_error: bool = False


class RunningWorker:
    """A started worker; `wait()` collects it. Several can run at once."""

    def __init__(self, job: ConvertJob, log: Path, timeout: float):
        self.job = job
        self.log = log
        self.timeout = timeout
        work = Path(job.work_dir)
        work.mkdir(parents=True, exist_ok=True)
        self.job_file = work / "job.json"
        self.result_file = work / "result.json"
        job.save(self.job_file)
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = open(log, "wb")
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONUNBUFFERED"] = "1"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mobilekit.worker", str(self.job_file), str(self.result_file)],
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=job.work_dir,  # onnx2tf and friends write next to the cwd
            env=env,
            start_new_session=True,  # so a timeout can stop the whole process group
            preexec_fn=_die_with_parent,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._log_fh.close()

    def finished(self) -> bool:
        """Exited, or out of time (then `wait` stops it)."""
        return self.proc.poll() is not None or time.monotonic() - self.started >= self.timeout

    def wait(self) -> WorkerResult:
        name = self.job.target
        try:
            remaining = max(0.0, self.timeout - (time.monotonic() - self.started))
            code = self.proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.stop()
            return self._fail(f"timed out after {self.timeout:.0f} s (raise `timeout` in the config if it needs longer)")
        finally:
            if not self._log_fh.closed:
                self._log_fh.close()
        if self.result_file.exists():
            data = json.loads(self.result_file.read_text())
            if data.get("error"):
                return self._fail(data["error"], user_error=data.get("user_error", False))
            records = [ArtifactRecord.from_dict(r) for r in data["records"]]
            return WorkerResult(name, records, None, self.log, time.monotonic() - self.started)
        if code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = str(-code)
            return self._fail(f"converter crashed ({sig})")
        return self._fail(f"converter exited with code {code} without a result")

    def _fail(self, error: str, user_error: bool = False) -> WorkerResult:
        return WorkerResult(self.job.target, [], error, self.log, time.monotonic() - self.started, user_error)


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when the export process dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _child(job_path: str, result_path: str) -> int:
    from ._native import before_tensorflow
    from .errors import MobileKitError, UserError

    before_tensorflow()  # converters import TensorFlow; torch may load triton after it (segfault)
    from .targets import base

    job = ConvertJob.load(Path(job_path))
    result: dict = {"target": job.target}
    try:
        target = base.get(job.target)
        records = target.convert(job)
        result["records"] = [r.to_dict() for r in records]
    except MobileKitError as exc:
        traceback.print_exc()
        result["error"] = exc.one_line()
        result["user_error"] = isinstance(exc, UserError)
    except Exception as exc:  # a converter's own failure: record it, keep its traceback in the log
        traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result["error"] = f"{type(exc).__name__}: {first}"[:500]
    sys.stdout.flush()
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
