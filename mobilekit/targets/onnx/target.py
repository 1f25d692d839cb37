"""ONNX target: torch.onnx.export (dynamo) from the shared capture, checked, with metadata."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ...errors import ConfigError
from ..base import (ArtifactRecord, BenchConfig, ConvertJob, Target, TensorIO, Unverifiable, options_dict, package_version,
                    take_keep_float)
from . import keep_float

Variant = Literal["fp32", "fp16", "int8-dynamic", "int8"]
# variant → (file name, precision recorded in the manifest)
FILES = {
    "fp32": ("model.onnx", "fp32"),
    "fp16": ("model.fp16.onnx", "fp16"),
    "int8-dynamic": ("model.int8-dynamic.onnx", "int8"),
    "int8": ("model.int8.onnx", "int8"),
}


@dataclass
class OnnxOptions:
    opset: int = 18
    dynamic_batch: bool = False
    # fp32 is always made (the others derive from it); int8 = static QDQ with calibration data
    variants: list[Variant] = field(default_factory=lambda: ["fp32"])
    per_channel: bool = True  # int8 weights quantized per output channel
    reduce_range: bool = True  # 7-bit weights for static int8: exact on x86 CPUs without VNNI
    # int8 / int8-dynamic: torch node or module names left float (nodes_to_exclude); set from
    # `[compression] keep_float`
    keep_float: list[str] = field(default_factory=list)

    def check(self, key: str) -> None:
        if not 17 <= self.opset <= 23:
            raise ConfigError(f"{key}.opset", f"must be between 17 and 23, got {self.opset}")
        if not self.variants:
            raise ConfigError(f"{key}.variants", "is empty", hint="List at least one variant, e.g. [\"fp32\"].")
        if len(set(self.variants)) != len(self.variants):
            raise ConfigError(f"{key}.variants", "lists a variant twice")


class OnnxTarget(Target):
    name = "onnx"
    Options = OnnxOptions
    # static QDQ int8 runs at fp32 speed on x86 ORT and dynamic int8 ~10x slower (CONVERTER-NOTES):
    # both "int8" and "speed" pick static QDQ.
    presets = {"fp16": ["fp32", "fp16"], "int8": ["fp32", "int8"], "size": ["fp32", "int8"], "speed": ["fp32", "int8"]}

    def converter_versions(self) -> dict[str, str]:
        return {"torch": package_version("torch"), "onnx": package_version("onnx"),
                "onnxscript": package_version("onnxscript")}

    provides_onnx = True  # TFLite (onnx2tf) converts from its fp32 file
    base_file = f"onnx/{FILES['fp32'][0]}"

    def base_options(self) -> dict:
        return {"opset": 18, "dynamic_batch": False, "variants": ["fp32"]}

    def validate(self, options, spec, config) -> None:
        take_keep_float(options, config, "onnx")

    def needs_calibration(self, options: OnnxOptions) -> bool:
        return "int8" in options.variants

    def convert(self, job: ConvertJob) -> list[ArtifactRecord]:
        from . import quantize as onnx_quantize
        from .export import export_onnx

        folder = Path(job.bundle_dir) / "onnx"
        opts = job.options
        base = export_onnx(Path(job.program), folder / FILES["fp32"][0], job.spec, opset=opts["opset"],
                           dynamic_batch=opts["dynamic_batch"], versions=job.versions)
        records = []
        wanted = opts.get("keep_float") or []
        user = (onnx_quantize.keep_float_nodes(base, job.program, wanted)
                if wanted and any(v.startswith("int8") for v in opts["variants"]) else None)
        exclude = user["kept_float"] if user else []
        for variant in opts["variants"]:
            fname, precision = FILES[variant]
            compression: list[dict] = []
            made_by = {"converter": "torch.onnx", "version": package_version("torch"), "onnx": package_version("onnx")}
            if variant == "fp16":
                onnx_quantize.to_fp16(base, folder / fname)
                compression = [{"kind": "cast", "weights": "fp16", "activations": "fp16", "io": "fp32"}]
            elif variant == "int8-dynamic":
                onnx_quantize.dynamic_int8(base, folder / fname, per_channel=opts["per_channel"], work=Path(job.work_dir),
                                           nodes_to_exclude=exclude)
                compression = [{"kind": "quantization", "method": "dynamic", "weights": "int8", "activations": "dynamic uint8"}]
            elif variant == "int8":
                onnx_quantize.static_int8(base, folder / fname, Path(job.calibration), per_channel=opts["per_channel"],
                                          reduce_range=opts["reduce_range"], work=Path(job.work_dir), nodes_to_exclude=exclude)
                compression = [{"kind": "quantization", "method": "static QDQ", "weights": "int8", "activations": "uint8"}]
            if user and variant.startswith("int8"):
                compression.append({"kind": "float fallback", "by": "compression.keep_float", "requested": list(wanted), **user})
            if variant != "fp32":
                made_by = {**made_by, "quantizer": "onnxruntime.quantization", "onnxruntime": package_version("onnxruntime")}
            records.append(ArtifactRecord(
                target="onnx",
                variant=variant,
                path=f"onnx/{fname}",
                precision=precision,
                layout=_layout(job.spec),
                made_by=made_by,
                compression=compression,
                inputs=[TensorIO(t["name"], t["name"], "NCHW" if t["preprocessing"] else "", t["dtype"], t["shape"])
                        for t in job.spec["inputs"]],
                outputs=[TensorIO(t["name"], t["name"], "", t["dtype"], t["shape"]) for t in job.spec["outputs"]],
                details={"opset": opts["opset"], "dynamic_batch": opts["dynamic_batch"]},
            ))
        if "fp32" not in opts["variants"]:
            # fp32 is the base the others are made from; it ships only when asked for (the work
            # folder keeps it for the accuracy fallback, which re-quantizes from it)
            shutil.move(base, Path(job.work_dir) / keep_float.BASE_COPY)
        return records

    # -- mobilekit debug: every intermediate exposed as an output; NNAPI / Core ML EP estimates ---
    def tracer(self):
        from .trace import trace

        return trace

    def placement(self, path, entry):
        from .placement import estimate

        return estimate(path)

    def keep_float(self, record, bundle_dir, work_dir, calibration, options, **context):
        if record.variant not in ("int8", "int8-dynamic"):
            return None
        return _WithUserList(record, bundle_dir, work_dir, calibration, options_dict(options))

    # -- mobilekit bench: ONNX Runtime, CPU execution provider ---------------------------------
    runtime_dists = {"onnxruntime": "onnxruntime"}

    def bench_configs(self, entry, threads, prefs):
        return [BenchConfig(runtime="onnxruntime", delegate="CPUExecutionProvider", threads=threads)]

    def bench_init(self, config):
        from .bench import init

        return init(config)

    def timed_session(self, record, bundle_dir, samples, config, handle=None):
        from .bench import session

        return session(record, Path(bundle_dir), samples, handle)

    def runner(self, record: ArtifactRecord, bundle_dir: Path):
        try:
            from ...verify.runners import onnxruntime_runner
        except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
            raise Unverifiable(f"onnxruntime is not installed ({exc})") from None
        return onnxruntime_runner(bundle_dir / record.path, record)


class _WithUserList(keep_float.OnnxKeepFloat):
    """The fallback's re-quantization keeps what `[compression] keep_float` kept, too."""

    def requantize(self, layers: list[str]) -> None:
        user = next((c for c in self.record.compression if c.get("by") == "compression.keep_float"), None)
        super().requantize(list(dict.fromkeys([*(user or {}).get("kept_float", []), *layers])))


def _layout(spec: dict) -> str:
    return "NCHW" if any(t["preprocessing"] for t in spec["inputs"]) else ""


TARGET = OnnxTarget()
