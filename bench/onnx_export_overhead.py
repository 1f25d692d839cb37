"""Export wall time of `mobilekit.export` (ONNX target, with verification) against the bare
`torch.onnx.export` call, for the MobileNetV2-style net. Prints JSON and saves it.

    .venv/bin/python bench/onnx_export_overhead.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import mobilekit
from mobilekit.zoo import mobilenet_v2

OUT = Path(__file__).parent / "results" / "onnx_export_overhead.json"


def main() -> dict:
    torch.set_num_threads(2)
    model = mobilenet_v2.build()
    x = torch.randn(1, 3, 224, 224)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        torch.onnx.export(model, (x,), f"{tmp}/bare.onnx", dynamo=True, external_data=False, verbose=False)
        bare = time.perf_counter() - t

        t = time.perf_counter()
        bundle = mobilekit.export(
            model, config={
                "name": "mnv2", "output_dir": tmp, "targets": ["onnx"],
                "inputs": [{"name": "image", "shape": [1, 3, 224, 224],
                            "preprocessing": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}],
                "outputs": [{"name": "logits"}], "verify": {"samples": 4},
            })
        full = time.perf_counter() - t
        art = bundle.artifact("onnx", "fp32")
        result = {
            "model": "mobilenet_v2 (100 classes)",
            "params": sum(p.numel() for p in model.parameters()),
            "bare_torch_onnx_export_s": round(bare, 2),
            "mobilekit_export_s": round(full, 2),
            "ratio": round(full / bare, 2),
            "stages_s": bundle.manifest["stages"],
            "onnx_size_bytes": art["size_bytes"],
            "max_abs": art["parity"]["max_abs"],
        }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    print()
    return result


if __name__ == "__main__":
    main()
