"""TFLite options, variant names and file names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ...errors import ConfigError

Variant = Literal["fp32", "fp16", "int8-dynamic", "int8"]
VARIANTS: tuple[str, ...] = ("fp32", "fp16", "int8-dynamic", "int8")
FILE_NAMES = {
    "fp32": "model.tflite",
    "fp16": "model.fp16.tflite",
    "int8-dynamic": "model.int8-dynamic.tflite",
    "int8": "model.int8.tflite",
}
SIGNATURE_KEY = "serving_default"

# `converter = "auto"` tries these in order and falls back to the next when one fails (an
# exception, or an fp32 file that disagrees with torch). Measured on this project's host (2 vCPUs,
# shared; bench/results/tflite_variants.json and tests/targets/test_tflite.py):
#   - time, all four variants in a worker incl. imports: MobileNetV2 40 s (onnx2tf) vs 193 s
#     (litert-torch: re-export, decompositions and PT2E re-export dominate); digits CNN 31 s vs
#     62 s; MobileNetV2 fp32 alone ~20 s vs ~50-90 s;
#   - parity, fp32 vs torch: the same for both (MobileNetV2 max abs 2.1e-6, digits 2.4e-6);
#   - determinism: both byte-identical across runs and processes (with the fixes below);
#   - int8 on digits: both keep fp32's held-out top-1 (99.72 %);
#   - robustness: onnx2tf is the one with known silent failures (see _simplify_onnx), which the
#     fp32 self-check guards; litert-torch needs neither ONNX nor TensorFlow.
# onnx2tf goes first for speed; litert-torch is the fallback.
_AUTO_ORDER = ("onnx2tf", "litert-torch")

# onnx2tf reads this from the cwd instead of downloading MS-COCO samples from GitHub.
_ONNX2TF_SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"


@dataclass
class TFLiteOptions:
    converter: Literal["auto", "onnx2tf", "litert-torch"] = "auto"
    variants: list[Variant] = field(default_factory=lambda: ["fp32"])
    integer_io: bool = False  # full int8 with int8 input/output tensors (needs "int8")
    calibration_samples: int = 200  # at most this many calibration samples are used
    metadata: bool = True  # attach TFLite metadata (name, normalization, labels.txt, …)
    # int8 (onnx2tf): torch node or module names left float by selective quantization; set from
    # `[compression] keep_float` (keep_float.py)
    keep_float: list[str] = field(default_factory=list)

    def check(self, key: str) -> None:
        if not self.variants:
            raise ConfigError(f"{key}.variants", "is empty", hint='List at least one of "fp32", "fp16", "int8-dynamic", "int8".')
        seen = set()
        for i, v in enumerate(self.variants):
            if v in seen:
                raise ConfigError(f"{key}.variants[{i}]", f"{v!r} is listed twice")
            seen.add(v)
        if self.integer_io and "int8" not in self.variants:
            raise ConfigError(
                f"{key}.integer_io",
                "needs the \"int8\" variant (int8 input/output tensors exist only in a full-integer model)",
                hint=f'Add "int8" to `{key}.variants`, or set `{key}.integer_io = false`.',
            )
        if self.calibration_samples < 1:
            raise ConfigError(f"{key}.calibration_samples", f"must be >= 1, got {self.calibration_samples}")
        if self.keep_float and self.converter == "litert-torch":
            raise ConfigError(f"{key}.converter", "\"litert-torch\" cannot keep layers in float (keep_float is set)",
                              hint="Use converter = \"onnx2tf\" (or \"auto\"), whose int8 step takes a list of ops to leave float.")


@dataclass
class _Built:
    """One variant's model bytes before metadata, and what made it."""

    variant: str
    data: bytes
    converter: str
    layouts: dict[str, str]  # spec input name -> "NHWC" / "NCHW" / ""
    compression: list[dict]
    details: dict = field(default_factory=dict)
