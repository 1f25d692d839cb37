"""Wall time of `mobilekit.export` to all three targets with verification, against the bare
converter chain run by hand in one process without verification, for the MobileNetV2-style net.

    .venv/bin/python bench/export_vs_bare_chain.py [--size 224] [--skip-mobilekit] [--skip-bare]

Bare chain (what a script without mobilekit would do; imports are timed too, torch excluded):
  1. torch.onnx.export(dynamo=True, external_data=False)
  2. onnx2tf.convert on a copy of that ONNX (onnxsim on PATH, its sample-image file provided
     locally so nothing is downloaded), writing float32 .tflite
  3. coremltools.convert of a torch.export program to an ML Program (iOS16, fp16), saved
The bare chain runs first, then mobilekit.export(targets=["onnx", "tflite", "coreml"]) with the
default options and verification on 4 samples. Prints JSON (with mobilekit's own stage times)
and saves it to bench/results/export_vs_bare_chain.json. The headline is
`ratio_mobilekit_over_bare`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "results" / "export_vs_bare_chain.json"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
ONNX2TF_SAMPLE = "calibration_image_sample_data_20x128x128x3_float32.npy"


def bare_chain(model, size: int, work: Path) -> dict:
    import numpy as np
    import torch

    x = torch.randn(1, 3, size, size)
    times = {}
    t0 = time.perf_counter()

    t = time.perf_counter()
    onnx_path = work / "model.onnx"
    torch.onnx.export(model, (x,), str(onnx_path), dynamo=True, external_data=False, verbose=False)
    times["torch.onnx.export"] = time.perf_counter() - t

    t = time.perf_counter()
    import onnx2tf

    copy = work / "for_onnx2tf.onnx"  # onnx2tf rewrites its input file
    shutil.copy(onnx_path, copy)
    np.save(work / ONNX2TF_SAMPLE, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    with contextlib.chdir(work):
        onnx2tf.convert(input_onnx_file_path=str(copy), output_folder_path=str(work / "tf"), non_verbose=True,
                        verbosity="error")
    tflite = sorted((work / "tf").glob("*float32.tflite"))
    times["onnx2tf.convert"] = time.perf_counter() - t

    t = time.perf_counter()
    import coremltools as ct

    ep = torch.export.export(model, (x,)).run_decompositions({})
    ml = ct.convert(ep, inputs=[ct.TensorType(name="image", shape=tuple(x.shape))], convert_to="mlprogram",
                    minimum_deployment_target=ct.target.iOS16, compute_precision=ct.precision.FLOAT16)
    ml.save(str(work / "Model.mlpackage"))
    times["coremltools.convert"] = time.perf_counter() - t
    return {"total_s": round(time.perf_counter() - t0, 2), "steps_s": {k: round(v, 2) for k, v in times.items()},
            "tflite_written": [p.name for p in tflite]}


def with_mobilekit(model, size: int, work: Path) -> dict:
    import mobilekit
    from mobilekit.pipeline import ExportFailed

    t = time.perf_counter()
    failed = []
    try:
        bundle = mobilekit.export(model, config={
            "name": "mnv2", "output_dir": str(work), "targets": ["onnx", "tflite", "coreml"],
            "inputs": [{"name": "image", "shape": [1, 3, size, size], "preprocessing": {"mean": MEAN, "std": STD}}],
            "outputs": [{"name": "logits"}], "verify": {"samples": 4},
        })
    except ExportFailed as exc:
        bundle = exc.bundle
        failed = exc.lines
    total = time.perf_counter() - t
    return {
        "total_s": round(total, 2),
        "stages_s": bundle.manifest.get("stages"),
        "artifacts": {f"{a['target']}/{a['variant']}": {"status": a["status"], "size_bytes": a.get("size_bytes"),
                                                          "converter": (a.get("made_by") or {}).get("converter")}
                      for a in bundle.artifacts},
        "failed": failed,
    }


def _with_batch_statistics(model, size: int):
    """BatchNorm running statistics from a few random batches, as training would leave them: with
    the init's (mean 0, var 1) the untrained net's logits are ~1e-9, below fp16's range, and no
    fp16 artifact can match them (a degenerate reference, not a converter's fault)."""
    import torch

    torch.manual_seed(1)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, size, size))
    for m in bns:
        m.momentum = 0.1
    return model.eval()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--skip-bare", action="store_true")
    ap.add_argument("--skip-mobilekit", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)

    import torch

    from _emit import cpu_label
    from mobilekit.zoo import mobilenet_v2

    bindir = str(Path(sys.executable).parent)  # onnx2tf runs the `onnxsim` command
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    torch.set_num_threads(2)
    model = _with_batch_statistics(mobilenet_v2.build(), args.size)
    result: dict = {"model": f"mobilenet_v2 (zoo), {args.size}x{args.size}, {sum(p.numel() for p in model.parameters())} parameters",
                    "host": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs", "host_cpu": cpu_label()}
    with tempfile.TemporaryDirectory(prefix="export-vs-bare-") as tmp:
        if not args.skip_bare:
            (Path(tmp) / "bare").mkdir()
            result["bare_chain"] = bare_chain(model, args.size, Path(tmp) / "bare")
        if not args.skip_mobilekit:
            result["mobilekit"] = with_mobilekit(model, args.size, Path(tmp) / "mk")
    if "bare_chain" in result and "mobilekit" in result:
        result["ratio_mobilekit_over_bare"] = round(result["mobilekit"]["total_s"] / result["bare_chain"]["total_s"], 2)
    text = json.dumps(result, indent=2)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
