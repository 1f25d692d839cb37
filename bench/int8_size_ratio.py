"""int8 file size ÷ (parameters × 1 byte) for the MobileNetV2-style net, ONNX and TFLite.

The issue's target is ≤ 1.10: an int8 file should be little more than its weights. Prints JSON
and saves bench/results/int8_size_ratio.json, with a breakdown of the TFLite file: its int8
weights, int32 biases, and the per-channel quantization parameters (a float32 scale and an
int64 zero point — the schema's types — per output channel of every weight AND bias tensor).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

import mobilekit
from mobilekit.zoo import mobilenet_v2

OUT = Path(__file__).parent / "results" / "int8_size_ratio.json"


def main() -> dict:
    model = mobilenet_v2.build()
    params = sum(p.numel() for p in model.parameters())
    rng = np.random.default_rng(0)
    mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)
    calib = ((rng.integers(0, 256, (32, 3, 224, 224)).astype(np.float32) / 255 - mean) / std).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/calib.npy", calib)
        try:
            bundle = mobilekit.export(model, config={
                "name": "mnv2", "output_dir": tmp, "targets": ["onnx", "tflite"],  # fp32 ONNX too, for the folded parameter count
                "inputs": [{"name": "image", "shape": [1, 3, 224, 224],
                            "preprocessing": {"mean": mean.ravel().tolist(), "std": std.ravel().tolist()}}],
                "outputs": [{"name": "logits"}], "verify": {"samples": 2}, "latency_runs": 0,
                "onnx": {"variants": ["fp32", "int8"]}, "tflite": {"variants": ["int8"]},
                "calibration": {"data": f"{tmp}/calib.npy"},
            })
        except mobilekit.CheckError as exc:  # untrained net: near-zero logits can fail parity; sizes still count
            bundle = exc.bundle
        result = {"model": "mobilenet_v2 (100 classes), 224x224", "params": params, "artifacts": {}}
        for a in bundle.artifacts:
            result["artifacts"][f"{a['target']}/{a['variant']}"] = {
                "size_bytes": a["size_bytes"], "ratio_to_params": round(a["size_bytes"] / params, 3), "status": a["status"]}
        for a in bundle.artifacts:
            if a["target"] == "tflite":
                result["artifacts"][f"tflite/{a['variant']}"]["breakdown"] = tflite_breakdown(bundle.path / a["path"])
            if a["target"] == "onnx":
                result["artifacts"][f"onnx/{a['variant']}"]["breakdown"] = onnx_breakdown(bundle.path / a["path"])
        fp32_params = onnx_fp32_params(bundle.path / "onnx" / "model.onnx") if (bundle.path / "onnx" / "model.onnx").exists() else None
        if fp32_params:  # BatchNorm folded into the convs: what an int8 file can be measured against
            result["params_after_bn_folding"] = fp32_params
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    print()
    return result


def tflite_breakdown(path: Path) -> dict:
    """Bytes by kind: tensor data by dtype, quantization parameters, everything else."""
    from ai_edge_litert import schema_py_generated as schema

    data = path.read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    by_dtype: dict[str, int] = {}
    channels = qbytes = 0
    seen = set()
    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    for sg in model.subgraphs:
        for t in sg.tensors:
            buf = model.buffers[t.buffer]
            if t.buffer not in seen and buf.data is not None and len(buf.data):
                seen.add(t.buffer)
                by_dtype[names.get(t.type, str(t.type))] = by_dtype.get(names.get(t.type, str(t.type)), 0) + len(buf.data)
            q = t.quantization
            if q is not None and q.scale is not None and len(q.scale) > 1:
                channels += len(q.scale)
                qbytes += 4 * len(q.scale) + 8 * len(q.zeroPoint if q.zeroPoint is not None else [])
    counted = sum(by_dtype.values()) + qbytes
    return {"tensor_data_bytes": by_dtype, "per_channel_entries": channels, "quant_param_bytes": qbytes,
            "other_bytes": len(data) - counted}


def onnx_breakdown(path: Path) -> dict:
    """Bytes of initializers by (dtype, role: data / scale / zero_point), and the rest (graph, names)."""
    import onnx

    model = onnx.load(str(path))
    zps = {n.input[2] for n in model.graph.node if n.op_type in ("DequantizeLinear", "QuantizeLinear") and len(n.input) > 2}
    scales = {n.input[1] for n in model.graph.node if n.op_type in ("DequantizeLinear", "QuantizeLinear")}
    out: dict[str, int] = {}
    for init in model.graph.initializer:
        role = "zero_point" if init.name in zps else "scale" if init.name in scales else "data"
        key = f"{onnx.TensorProto.DataType.Name(init.data_type)} {role}"
        out[key] = out.get(key, 0) + len(init.raw_data) if init.raw_data else out.get(key, 0) + init.ByteSize()
    size = path.stat().st_size
    return {"initializer_bytes": out, "other_bytes": size - sum(out.values())}


def onnx_fp32_params(path: Path) -> int:
    import onnx
    from onnx import numpy_helper

    return int(sum(numpy_helper.to_array(i).size for i in onnx.load(str(path)).graph.initializer if i.data_type == onnx.TensorProto.FLOAT))


if __name__ == "__main__":
    main()
