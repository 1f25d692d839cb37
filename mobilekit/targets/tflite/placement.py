"""Whether a TFLite model would run on the GPU delegate: TFLite's own Analyzer with its GPU
compatibility check — an estimate, known to be optimistic (runtime-only incompatibilities pass it)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path


def gpu_estimate(path: Path) -> dict:
    try:
        from tensorflow.lite.python.analyzer import ModelAnalyzer
    except ImportError:
        return {"source": None, "note": "the TFLite Analyzer comes with tensorflow, which is not installed (pip install 'mobilekit[tflite]')"}

    text = io.StringIO()
    with contextlib.redirect_stdout(text):  # the Analyzer prints its report
        ModelAnalyzer.analyze(model_path=str(path), gpu_compatibility=True)
    report = text.getvalue()
    warnings = [ln.strip() for ln in report.splitlines() if "GPU COMPATIBILITY WARNING" in ln]
    return {"source": "TFLite Analyzer, GPU delegate compatibility (estimate; known to be optimistic)",
            "gpu_compatible": "looks compatible with GPU delegate" in report, "warnings": warnings}
