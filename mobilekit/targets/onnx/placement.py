"""Where an ONNX model's nodes would run on a phone: onnxruntime's mobile usability checker for
the NNAPI and Core ML execution providers — estimates from the providers' published op lists."""

from __future__ import annotations

from pathlib import Path


def estimate(path: Path) -> dict:
    import onnx
    from onnxruntime.tools.mobile_helpers import usability_checker as checker

    model = onnx.load(str(path))
    out = {"source": "onnxruntime mobile usability checker (estimate)"}
    for ep, info in (("nnapi", checker.check_nnapi_partitions(model, require_fixed_input_sizes=True)),
                     ("coreml", checker.check_coreml_partitions(model, True, "coreml_supported_mlprogram_ops.md"))):
        out[ep] = {"nodes": info.num_nodes, "supported_nodes": info.num_supported_nodes, "partitions": info.num_partitions,
                   "unsupported_ops": sorted(op.split(":", 1)[-1] for op in info.unsupported_ops)}
    return out
