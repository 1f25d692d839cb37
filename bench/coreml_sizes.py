"""Core ML package size per variant for the MobileNetV2-style net (mobilekit.zoo.mobilenet_v2).

    .venv/bin/python bench/coreml_sizes.py [--classes 100] [--size 224] [--out bench/results/coreml_sizes.json]

Converts the net once through the Core ML target (as a worker would: `TARGET.convert(job)`),
with iOS16 for fp32, fp16, int8, palettize-4, palettize-2 and pruned, and iOS18 for int4-block
(per-block int4 needs it). Prints JSON and saves it. Sizes are whole `.mlpackage` folders
(model.mlmodel + weights + Manifest.json). The net is untrained: sizes do not depend on the
weights' values except for pruning's sparse storage, which does not either (fixed sparsity).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IOS16_VARIANTS = ["fp32", "fp16", "int8", "palettize-4", "palettize-2", "pruned"]
IOS18_VARIANTS = ["int4-block"]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def _job(work: Path, program: Path, spec: dict, options: dict, tag: str):
    from mobilekit.targets.base import ConvertJob, options_dict
    from mobilekit.targets.coreml import TARGET

    import torch

    opts = TARGET.parse_options(options, "coreml")
    return ConvertJob(target="coreml", program=str(program), spec=spec, options=options_dict(opts),
                      bundle_dir=str(work / f"bundle-{tag}"), work_dir=str(work / f"work-{tag}"),
                      versions={"mobilekit": "bench", "torch": torch.__version__})


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "coreml_sizes.json"))
    args = ap.parse_args(argv)

    import torch

    from mobilekit.targets.coreml import TARGET
    from mobilekit.zoo import mobilenet_v2

    torch.set_num_threads(2)
    model = mobilenet_v2.build(num_classes=args.classes)
    params = sum(p.numel() for p in model.parameters())
    spec = {
        "name": "mobilenet_v2", "version": "1.0.0", "task": "image_classification", "author": "mobilekit bench",
        "license": "Apache-2.0", "description": "MobileNetV2-style net (untrained), for size work",
        "inputs": [{"name": "image", "shape": [1, 3, args.size, args.size], "dtype": "float32", "dynamic": [],
                    "preprocessing": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD, "scale": 1 / 255, "color": "RGB"},
                    "labels": None, "labels_path": None, "description": ""}],
        "outputs": [{"name": "logits", "shape": [1, args.classes], "dtype": "float32", "dynamic": [], "preprocessing": None,
                     "labels": [f"class_{i}" for i in range(args.classes)], "labels_path": "assets/labels.txt",
                     "description": ""}],
    }
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="coreml-sizes-") as tmp:
        work = Path(tmp)
        program = work / "program.pt2"
        ep = torch.export.export(model, (torch.zeros(1, 3, args.size, args.size),))
        torch.export.save(ep, str(program))
        seconds = {}
        for tag, target, variants in (("ios16", "iOS16", IOS16_VARIANTS), ("ios18", "iOS18", IOS18_VARIANTS)):
            job = _job(work, program, spec, {"minimum_deployment_target": target, "variants": variants}, tag)
            t0 = time.perf_counter()
            records = TARGET.convert(job)
            seconds[tag] = round(time.perf_counter() - t0, 1)
            for r in records:
                check = TARGET.check_structure(r, Path(job.bundle_dir), spec)
                results[r.variant] = {
                    "size_bytes": r.details["size_bytes"],
                    "weights_bytes": r.details["weights_bytes"],
                    "precision": r.precision,
                    "min_os": r.min_os,
                    "weight_bits": check["weight_bits"],
                    "compressed_fraction": check["compressed_fraction"],
                    "weight_elements": check["weight_elements"],
                }
    fp32 = results["fp32"]["size_bytes"]
    int8 = results["int8"]["size_bytes"]
    out = {
        "model": f"mobilenet_v2 (zoo), {args.classes} classes, {args.size}x{args.size}, {params} parameters",
        "host": f"{platform.system()} {platform.machine()}, python {platform.python_version()}",
        "versions": TARGET.converter_versions(),
        "variants": results,
        "ratios": {
            "palettize-4 / int8": round(results["palettize-4"]["size_bytes"] / int8, 4),
            "palettize-2 / int8": round(results["palettize-2"]["size_bytes"] / int8, 4),
            "int4-block / int8": round(results["int4-block"]["size_bytes"] / int8, 4),
            **{f"{v} / fp32": round(r["size_bytes"] / fp32, 4) for v, r in results.items() if v != "fp32"},
        },
        "convert_seconds": seconds,
    }
    text = json.dumps(out, indent=2)
    print(text)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return out


if __name__ == "__main__":
    main()
