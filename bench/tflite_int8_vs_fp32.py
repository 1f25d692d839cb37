"""TFLite int8 vs float32 latency on this host, for the MobileNetV2-style net (224×224).

    .venv/bin/python bench/tflite_int8_vs_fp32.py [--runs 50] [--warmup 5] [--threads 2]

Exports `mobilekit.zoo.mobilenet_v2.build()` with the tflite target, variants fp32 and int8
(full-integer, calibrated on synthetic images), then times both files with `mobilekit bench`'s
host benchmark (each in a fresh process, golden inputs, LiteRT) twice: with LiteRT's default
XNNPACK delegate and with its built-in kernels only — to see whether int8 is slow because of
the delegate. Prints JSON and saves it to bench/results/tflite_int8_vs_fp32.json.
The headline figure is `p50_ratio_int8_over_fp32` (below 1: int8 is faster). The zoo net is
untrained, so its parity figures say little (its logits are all near zero, so the int8 file can
"fail" a cosine check); a file that failed parity is still timed, and its status is reported.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from _emit import emit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "results" / "tflite_int8_vs_fp32.json"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def calibration_images(n: int, size: int, seed: int = 0):
    """Smooth synthetic RGB images (blurred noise plus gradients), preprocessed like the model's inputs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (n, 3, size // 16, size // 16))
    img = small.repeat(16, axis=2).repeat(16, axis=3)
    ramp = np.linspace(0, 60, size)[None, None, :, None]
    img = np.clip(img * 0.8 + ramp + rng.normal(0, 8, img.shape), 0, 255) / 255.0
    mean = np.array(MEAN).reshape(1, 3, 1, 1)
    std = np.array(STD).reshape(1, 3, 1, 1)
    return ((img - mean) / std).astype(np.float32)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--calibration", type=int, default=32, help="calibration images")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    import mobilekit
    from mobilekit.bench import host
    from mobilekit.pipeline import ExportFailed
    from mobilekit.zoo import mobilenet_v2

    torch.set_num_threads(args.threads)
    model = mobilenet_v2.build()
    with tempfile.TemporaryDirectory(prefix="int8-vs-fp32-") as tmp:
        cal = Path(tmp) / "calibration.npy"
        np.save(cal, calibration_images(args.calibration, args.size))
        t = time.perf_counter()
        try:
            bundle = mobilekit.export(model, config={
                "name": "mnv2", "output_dir": tmp, "targets": ["tflite"],
                "inputs": [{"name": "image", "shape": [1, 3, args.size, args.size],
                            "preprocessing": {"mean": MEAN, "std": STD}}],
                "outputs": [{"name": "logits"}],
                "tflite": {"variants": ["fp32", "int8"]},
                "calibration": {"data": str(cal)},
                "verify": {"samples": 4},
            })
        except ExportFailed as exc:  # e.g. int8 parity on an untrained net: still time what was made
            bundle = exc.bundle
        export_s = time.perf_counter() - t
        arts = {a["variant"]: a for a in bundle.artifacts if a["target"] == "tflite"}
        run = host.bench(bundle.path, threads=args.threads, runs=args.runs, warmup=args.warmup, only=("tflite",),
                         litert_delegates=("xnnpack", "none"), include_failed=True,
                         progress=host.PlainBar(), write=False)

    by = {(d["model"]["variant"], d["config"]["delegate"]): d for d in run.results if d["status"] == "ok"}
    figures: dict = {}
    for (variant, delegate), d in sorted(by.items()):
        lat = d["results"]["latency_ms"]
        figures[f"{variant} {delegate}"] = {
            "p50_ms": round(lat["p50"], 3), "p90_ms": round(lat["p90"], 3), "mean_ms": round(lat["mean"], 3),
            "load_ms": round(d["results"]["load_ms"], 1), "peak_mem_delta_mb": round(d["results"]["memory"]["peak_delta_bytes"] / 2**20, 1),
        }
    ratios = {}
    for delegate in ("xnnpack", "none"):
        if ("int8", delegate) in by and ("fp32", delegate) in by:
            ratios[delegate] = round(by[("int8", delegate)]["results"]["latency_ms"]["p50"]
                                     / by[("fp32", delegate)]["results"]["latency_ms"]["p50"], 3)
    result = {
        "model": f"mobilenet_v2 (zoo, untrained), {args.size}x{args.size}",
        "host": f"{platform.system()} {platform.machine()}, {run.results[0]['device']['model'] if run.results else '?'}",
        "threads": args.threads, "runs": args.runs, "warmup": args.warmup,
        "p50_ratio_int8_over_fp32": ratios.get("xnnpack"),
        "p50_ratio_int8_over_fp32_without_xnnpack": ratios.get("none"),
        "latency": figures,
        "artifacts": {v: {"size_bytes": a.get("size_bytes"), "status": a["status"],
                          "max_abs": (a.get("parity") or {}).get("max_abs"),
                          "converter": (a.get("made_by") or {}).get("converter"),
                          "error": a.get("error")} for v, a in arts.items()},
        "failed_benchmarks": [f"{d['model']['variant']} {d['config']['delegate']}: {d['error']}" for d in run.failed],
        "export_s": round(export_s, 1),
    }
    return emit(result, args.out)


if __name__ == "__main__":
    main()
