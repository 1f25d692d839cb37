"""Where an artifact's ops would run on a device — only from tools that know, each labelled.

- ExecuTorch: the delegation report written at export (ExecuTorch's get_delegation_info): exact.
- TFLite: TFLite's own Analyzer with its GPU-delegate compatibility check: an estimate (it is known
  to be optimistic: runtime-only incompatibilities pass it).
- ONNX: onnxruntime's mobile usability checker, NNAPI and Core ML execution providers: estimates
  from the providers' published op lists.
- Core ML: per-op CPU/GPU/Neural Engine placement needs macOS (MLComputePlan); not guessed here.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

COREML_NOTE = "per-op CPU/GPU/Neural Engine placement needs macOS (MLComputePlan); not measured on this host"


def onnx_estimate(path: Path) -> dict:
    import onnx
    from onnxruntime.tools.mobile_helpers import usability_checker as checker

    model = onnx.load(str(path))
    out = {"source": "onnxruntime mobile usability checker (estimate)"}
    for ep, info in (("nnapi", checker.check_nnapi_partitions(model, require_fixed_input_sizes=True)),
                     ("coreml", checker.check_coreml_partitions(model, True, "coreml_supported_mlprogram_ops.md"))):
        out[ep] = {"nodes": info.num_nodes, "supported_nodes": info.num_supported_nodes, "partitions": info.num_partitions,
                   "unsupported_ops": sorted(op.split(":", 1)[-1] for op in info.unsupported_ops)}
    return out


def tflite_gpu_estimate(path: Path) -> dict:
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


def estimate(target: str, path: Path, entry: dict) -> dict:
    if target == "executorch":
        delegation = (entry.get("details") or {}).get("delegation")
        return {"source": "ExecuTorch get_delegation_info at export (exact)", **delegation} if delegation else {}
    if target == "onnx":
        return onnx_estimate(path)
    if target == "tflite":
        return tflite_gpu_estimate(path)
    if target == "coreml":
        return {"source": None, "note": COREML_NOTE}
    return {}
