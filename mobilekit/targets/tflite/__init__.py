"""TFLite (LiteRT) target: fp32 / fp16 / int8-dynamic / int8 .tflite files with standard metadata.

Two converters, both measured on this project's models (see `bench/tflite_variants.py` and the
notes at `_AUTO_ORDER`):

- **onnx2tf** (from the pipeline's fp32 ONNX): the ONNX copy is simplified with onnxsim in this
  process, onnx2tf builds a Keras model (image inputs become NHWC), and we freeze one
  `tf.function` around it and run `tf.lite.TFLiteConverter` once per variant — the converter's
  own post-training quantization (fp16 weights; dynamic-range int8; full int8 calibrated on
  `job.calibration`). We do not let onnx2tf write its own .tflite files: its SavedModel export
  costs ~45 s for MobileNetV2 here, it writes many files we do not ship, and it allows Flex (TF)
  ops, which no LiteRT app build runs. The frozen function has no SignatureDef, so one is added.
- **litert-torch** (from the torch.export program, no TensorFlow): the exported module, wrapped
  so image inputs are NHWC and outputs carry the spec's names, is converted directly; fp16 and
  int8-dynamic are litert-torch's own recipes (ai-edge-quantizer) applied to that fp32 model;
  full int8 is litert-torch's PT2E static quantization calibrated on `job.calibration`.

Every file gets TFLite metadata (`targets/tflite/metadata.py`), a `serving_default` signature
with the spec's tensor names, and is byte-identical for the same model and config.

Conversion never touches the network: onnx2tf's sample-image download is pre-empted by a
deterministic file in the work folder, hub access is switched off in the environment, and a
test runs a whole conversion with sockets blocked.
"""
# Modules, one job each: options · target (the protocol) · inputs (spec and calibration data) ·
# via_onnx2tf / via_litert_torch (the two converters) · flatbuffer (signature and I/O edits) ·
# records (self-check, artifact records) · metadata (TFLite metadata, associated files).

from __future__ import annotations

from .options import SIGNATURE_KEY, VARIANTS, TFLiteOptions
from .target import TFLiteTarget

TARGET = TFLiteTarget()

__all__ = ["SIGNATURE_KEY", "TARGET", "TFLiteOptions", "TFLiteTarget", "VARIANTS"]
