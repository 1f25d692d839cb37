"""Small helpers shared by the Core ML modules: the quiet coremltools import, timing, names."""

from __future__ import annotations

import re
from typing import Any

from ..._imports import quiet_coremltools

# --------------------------------------------------------------------------------------------
# helpers


class _Clock:
    """Named stage durations (for the record's details and the worker log)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        import contextlib
        import time

        @contextlib.contextmanager
        def timed():
            t0 = time.perf_counter()
            try:
                yield
            finally:
                self.seconds[name] = round(time.perf_counter() - t0, 2)

        return timed()


# The quiet coremltools import lives beside the other import helpers: the reference interpreter
# (verify/) needs it too, and verify must not depend on this target.
_coremltools = quiet_coremltools


def _reset_mil_names() -> None:
    """Start coremltools' op-name counters from zero, as in a fresh process.

    The MIL builder names unnamed ops `const_<n>` from a process-wide counter, so a second
    conversion in the same process would get other names (and other bytes) than the first.
    Reset only before a conversion starts: resetting between a conversion and its compression
    could reuse names the program already has.
    """
    try:
        from coremltools.converters.mil.mil import Builder
    except ImportError:  # pragma: no cover
        return
    counts = getattr(Builder, "name_count", None)
    if hasattr(counts, "clear"):
        counts.clear()


def _package_name(name: str) -> str:
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return "Model" + text if text[0].isdigit() else text


def _spec_dict(spec: Any) -> dict:
    if isinstance(spec, dict):
        return spec
    if hasattr(spec, "to_dict"):
        return spec.to_dict()
    raise TypeError(f"expected a ModelSpec or its dict, got {type(spec).__name__}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


# The public name other packages (the ExecuTorch Core ML delegate, the bench) import.
coremltools_quietly = _coremltools
