"""ONNX target: torch.onnx.export (dynamo) from the shared capture, checked, with metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ConfigError
from .base import ArtifactRecord, ConvertJob, Target, TensorIO, Unverifiable, package_version


@dataclass
class OnnxOptions:
    opset: int = 18
    dynamic_batch: bool = False
    variants: list[Literal["fp32"]] = None  # type: ignore[assignment]

    def check(self, key: str) -> None:
        if not 17 <= self.opset <= 23:
            raise ConfigError(f"{key}.opset", f"must be between 17 and 23, got {self.opset}")
        if self.variants is None:
            self.variants = ["fp32"]
        if not self.variants:
            raise ConfigError(f"{key}.variants", "is empty", hint="List at least one variant, e.g. [\"fp32\"].")


class OnnxTarget(Target):
    name = "onnx"
    Options = OnnxOptions

    def converter_versions(self) -> dict[str, str]:
        return {"torch": package_version("torch"), "onnx": package_version("onnx"),
                "onnxscript": package_version("onnxscript")}

    def convert(self, job: ConvertJob) -> list[ArtifactRecord]:
        from ..onnx_export import export_onnx

        out = Path(job.bundle_dir) / "onnx" / "model.onnx"
        opts = job.options
        export_onnx(Path(job.program), out, job.spec, opset=opts["opset"],
                    dynamic_batch=opts["dynamic_batch"], versions=job.versions)
        return [
            ArtifactRecord(
                target="onnx",
                variant="fp32",
                path="onnx/model.onnx",
                precision="fp32",
                layout=_layout(job.spec),
                made_by={"converter": "torch.onnx", "version": package_version("torch"),
                         "onnx": package_version("onnx")},
                inputs=[TensorIO(t["name"], t["name"], "NCHW" if t["preprocessing"] else "", t["dtype"], t["shape"])
                        for t in job.spec["inputs"]],
                outputs=[TensorIO(t["name"], t["name"], "", t["dtype"], t["shape"]) for t in job.spec["outputs"]],
                details={"opset": opts["opset"], "dynamic_batch": opts["dynamic_batch"]},
            )
        ]

    def runner(self, record: ArtifactRecord, bundle_dir: Path):
        try:
            from ..verify.runners import onnxruntime_runner
        except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
            raise Unverifiable(f"onnxruntime is not installed ({exc})") from None
        return onnxruntime_runner(bundle_dir / record.path, record)


def _layout(spec: dict) -> str:
    return "NCHW" if any(t["preprocessing"] for t in spec["inputs"]) else ""


TARGET = OnnxTarget()
