"""int8 file size ÷ (parameters × 1 byte) for the MobileNetV2-style net, ONNX and TFLite.

The issue's target is ≤ 1.10: an int8 file should be little more than its weights. Prints JSON
and saves bench/results/int8_size_ratio.json.
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
                "name": "mnv2", "output_dir": tmp, "targets": ["onnx", "tflite"],
                "inputs": [{"name": "image", "shape": [1, 3, 224, 224],
                            "preprocessing": {"mean": mean.ravel().tolist(), "std": std.ravel().tolist()}}],
                "outputs": [{"name": "logits"}], "verify": {"samples": 2}, "latency_runs": 0,
                "onnx": {"variants": ["int8"]}, "tflite": {"variants": ["int8"]},
                "calibration": {"data": f"{tmp}/calib.npy"},
            })
        except mobilekit.CheckError as exc:  # untrained net: near-zero logits can fail parity; sizes still count
            bundle = exc.bundle
        result = {"model": "mobilenet_v2 (100 classes), 224x224", "params": params, "artifacts": {}}
        for a in bundle.artifacts:
            result["artifacts"][f"{a['target']}/{a['variant']}"] = {
                "size_bytes": a["size_bytes"], "ratio_to_params": round(a["size_bytes"] / params, 3), "status": a["status"]}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    print()
    return result


if __name__ == "__main__":
    main()
