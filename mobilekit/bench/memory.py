"""Peak memory of a bench child around load + runs (the method is written into every result)."""

from __future__ import annotations

from pathlib import Path


class Memory:
    """Peak RSS of this process around load + runs (see the module doc)."""

    def __init__(self):
        self.hwm = self._reset_hwm()
        self.baseline = rss()
        self.sampled = self.baseline

    @staticmethod
    def _reset_hwm() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            return vm_hwm() is not None
        except OSError:
            return False

    def sample(self) -> None:
        now = rss()
        if now > self.sampled:
            self.sampled = now

    def result(self) -> dict:
        self.sample()
        peak = self.sampled
        if self.hwm:
            hwm = vm_hwm()
            if hwm is not None:
                peak = max(peak, hwm)
            method = ("Linux VmHWM (peak RSS, reset via /proc/self/clear_refs right before load) read after the "
                      "last run, floored by RSS sampled after load and every run; minus RSS before load")
        else:
            method = "max RSS sampled after load and after every run, minus RSS before load (a lower bound)"
        return {"peak_delta_bytes": int(peak - self.baseline), "baseline_bytes": int(self.baseline),
                "peak_bytes": int(peak), "method": method}


def rss() -> int:
    """Resident set size of this process: psutil, else /proc/self/status."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("cannot measure memory: install psutil") from None


def vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
