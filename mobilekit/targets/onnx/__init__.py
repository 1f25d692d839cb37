"""The ONNX target: torch.onnx.export (dynamo) from the shared capture, fp16 / int8 variants with
ONNX Runtime's tools, metadata, and ONNX Runtime as the host runner.

Modules: target (options, conversion, runner) · export (torch → ONNX, deterministic, shared by the
targets that start from ONNX) · quantize (fp16, dynamic and static int8).
"""

from .target import TARGET, OnnxOptions, OnnxTarget

__all__ = ["TARGET", "OnnxOptions", "OnnxTarget"]
