"""Re-quantize an ONNX int8 artifact with named nodes left in float (onnxruntime's nodes_to_exclude).

A tensor stays float only when no node around it is quantized: ORT puts a Q/DQ pair on a tensor
as soon as its producer or any reader is quantized. So the region that keeps tensor T in float is
T's producer and every node that reads T (through the Q/DQ pair that stands for it).
"""

from __future__ import annotations

from pathlib import Path

from ..base import ArtifactRecord, KeepFloat

_QDQ = ("QuantizeLinear", "DequantizeLinear")
BASE_COPY = "onnx-fp32-base.onnx"  # in the work folder, when fp32 is not a shipped variant


class OnnxKeepFloat(KeepFloat):
    def __init__(self, record: ArtifactRecord, bundle_dir: Path, work_dir: Path, calibration: Path | None, options: dict):
        self.record = record
        self.path = Path(bundle_dir) / record.path
        shipped = Path(bundle_dir) / "onnx" / "model.onnx"
        self.base = shipped if shipped.exists() else Path(work_dir) / BASE_COPY
        self.work = Path(work_dir)
        self.calibration = calibration
        self.options = options

    def region(self, tensor: str) -> list[str]:
        import onnx

        graph = onnx.load(str(self.path), load_external_data=False).graph
        producer = {o: n for n in graph.node for o in n.output}
        readers: dict[str, list] = {}
        for n in graph.node:
            for i in n.input:
                readers.setdefault(i, []).append(n)

        def through_qdq(name: str) -> list:
            out = []
            for n in readers.get(name, []):
                out.extend(through_qdq(n.output[0]) if n.op_type in _QDQ else [n])
            return out

        nodes = [producer[tensor]] if tensor in producer and producer[tensor].op_type not in _QDQ else []
        nodes += through_qdq(tensor)
        return list(dict.fromkeys(n.name for n in nodes if n.name))

    def requantize(self, layers: list[str]) -> None:
        from . import quantize

        if self.record.variant == "int8":
            quantize.static_int8(self.base, self.path, Path(self.calibration), per_channel=self.options["per_channel"],
                                 reduce_range=self.options["reduce_range"], work=self.work, nodes_to_exclude=layers)
        else:
            quantize.dynamic_int8(self.base, self.path, per_channel=self.options["per_channel"], work=self.work,
                                  nodes_to_exclude=layers)
