"""TFLite variants of the MobileNetV2-style net, per converter: size, LiteRT latency, parity, time.

    .venv/bin/python bench/tflite_variants.py [--rounds 15] [--per-round 10] [--threads 2]
                                              [--converters onnx2tf,litert-torch] [--size 224]

For each converter (`tflite.converter` = onnx2tf and litert-torch) the tflite target converts
the net to fp32, fp16, int8-dynamic and int8 in a fresh worker process (as an export does), then
every file is timed in one process with LiteRT (2 threads): rounds interleave the files so that
load from other processes on the host hits them all alike; p50 and min per file. Each file is
also timed without XNNPACK (LiteRT's built-in kernels) and with XNNPACK's "latest features", and
the number of XNNPACK partitions is recorded — the data behind the int8-vs-fp32 note below.

The zoo net is untrained and its logits are ~1e-9 (BatchNorm running stats are the identity
while the convolutions shrink activations), which makes parity figures meaningless and int8
calibration degenerate (cosine 0). Like the tests, this script first sets BatchNorm statistics
from two seeded random batches, so logits are O(0.1); sizes and speed are unaffected.

Prints JSON and saves it to bench/results/tflite_variants.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _emit import emit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "results" / "tflite_variants.json"
VARIANTS = ["fp32", "fp16", "int8-dynamic", "int8"]

# What the timings showed on the development host (AMD EPYC, 2 vCPUs, AVX2, no VNNI; shared, so
# p50s are noisy — compare within one run, and look at min_ms too):
NOTES = [
    "Full int8 (both converters) runs entirely inside XNNPACK (one partition) and is about as fast as "
    "fp32 here: x86 without AVX-VNNI/AVX512-VNNI has no int8 dot-product instruction, so XNNPACK's QS8 "
    "kernels do not beat its fp32 FMA kernels. Expect the int8 speed-up on ARM (sdot/i8mm), not on this host.",
    "int8 is much slower than fp32 when XNNPACK is not applied: LiteRT's built-in int8 kernels are ~2x slower "
    "than its built-in fp32 ones (no-xnnpack column). A benchmark or app that disables the default delegate "
    "(or an int8 graph XNNPACK refuses) shows 'int8 slower than fp32'.",
    "int8-dynamic (dynamic-range: int8 weights, float activations) is 2-3x slower than fp32: XNNPACK does not "
    "take the hybrid CONV_2D ops, so the graph splits into ~16 partitions with TFLite's hybrid kernels between "
    "them. experimental_default_delegate_latest_features=True (XNNPACK's newest options) does not change that. "
    "It is a size variant, not a speed one.",
    "fp16 (fp16 weights + DEQUANTIZE) runs at fp32 speed: XNNPACK folds the dequantize into fp32 weights at load.",
]
MEAN = [0.5, 0.5, 0.5]
STD = [0.5, 0.5, 0.5]


def build_net(size: int):
    """The zoo MobileNetV2 (100 classes) with BatchNorm statistics from random data (seeded)."""
    import torch

    from mobilekit.zoo import mobilenet_v2

    model = mobilenet_v2.build()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the batches below
            m.reset_running_stats()
    model.train()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, 3, size, size, generator=gen))
    return model.eval()


def pixels_to_input(px):
    import numpy as np

    x = px.astype(np.float32) / 255.0
    return ((x - np.array(MEAN, np.float32).reshape(1, 3, 1, 1)) / np.array(STD, np.float32).reshape(1, 3, 1, 1)).astype(np.float32)


def host_info() -> dict:
    info = {"system": f"{platform.system()} {platform.machine()}", "cpus": os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
        flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
        info["cpu"] = model
        info["simd"] = sorted(f for f in flags if f.startswith(("avx", "sse4", "fma", "f16c", "amx")) or "vnni" in f)
        info["int8_dot_product_instructions"] = any("vnni" in f for f in flags)
    except OSError:
        pass
    try:
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    return info


def convert(converter: str, work: Path, program: Path, onnx: Path, spec: dict, cal: Path) -> tuple[list, float, str | None]:
    from mobilekit.targets.base import ConvertJob
    from mobilekit.worker import RunningWorker

    bundle = work / f"bundle-{converter}"
    job = ConvertJob(target="tflite", program=str(program), spec=spec,
                     options={"converter": converter, "variants": VARIANTS}, bundle_dir=str(bundle),
                     work_dir=str(work / f"work-{converter}"), onnx=str(onnx), calibration=str(cal))
    t = time.perf_counter()
    result = RunningWorker(job, work / f"{converter}.log", timeout=3600).wait()
    return [(r, bundle) for r in result.records], time.perf_counter() - t, result.error


def time_files(files: dict, threads: int, rounds: int, per_round: int) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    configs = {}
    for key, path in files.items():
        for mode in ("xnnpack", "xnnpack-latest", "no-xnnpack"):
            kwargs = {"num_threads": threads}
            if mode == "no-xnnpack":
                kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            if mode == "xnnpack-latest":
                kwargs["experimental_default_delegate_latest_features"] = True
            interp = Interpreter(model_path=str(path), **kwargs)
            run = interp.get_signature_runner()
            feeds = {k: np.zeros(d["shape"], d["dtype"]) for k, d in run.get_input_details().items()}
            for _ in range(3):
                run(**feeds)
            ops = [o["op_name"] for o in interp._get_ops_details()]  # noqa: SLF001
            # one DELEGATE node per XNNPACK partition: 1 = the whole graph runs in XNNPACK
            configs[(key, mode)] = {"run": run, "feeds": feeds, "times": [], "interp": interp,
                                    "xnnpack_partitions": ops.count("DELEGATE")}
    for _ in range(rounds):
        for c in configs.values():
            for _ in range(per_round):
                t = time.perf_counter()
                c["run"](**c["feeds"])
                c["times"].append(time.perf_counter() - t)
    out: dict = {}
    for (key, mode), c in configs.items():
        ts = np.array(c["times"]) * 1000
        out.setdefault(key, {})[mode] = {
            "p50_ms": round(float(np.median(ts)), 2), "min_ms": round(float(ts.min()), 2),
            "p90_ms": round(float(np.percentile(ts, 90)), 2),
            "xnnpack_partitions": c["xnnpack_partitions"],
        }
    return out


def parity(record, bundle: Path, module, inputs) -> dict:
    import numpy as np
    import torch

    from mobilekit.verify.runners import litert_runner

    run = litert_runner(bundle / record.path, record)
    worst, cos, agree = 0.0, 1.0, 0
    for x in inputs:
        with torch.no_grad():
            ref = module(torch.from_numpy(x)).numpy().astype(np.float64)
        got = run({"image": x})["logits"].astype(np.float64)
        worst = max(worst, float(np.abs(ref - got).max()))
        cos = min(cos, float(np.dot(ref.ravel(), got.ravel()) / (np.linalg.norm(ref) * np.linalg.norm(got))))
        agree += int(ref.argmax() == got.argmax())
    return {"max_abs": worst, "cosine": round(cos, 6), "top1_agreement": agree / len(inputs)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--per-round", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--calibration", type=int, default=64)
    ap.add_argument("--converters", default="onnx2tf,litert-torch")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from mobilekit.targets.onnx.export import export_onnx

    host_before = host_info()
    size = args.size
    model = build_net(size)
    spec = {
        "name": "mobilenet_v2", "version": "1.0.0", "task": "image_classification", "author": "mobilekit bench",
        "license": "Apache-2.0", "description": "MobileNetV2-style net (untrained, BatchNorm statistics set)",
        "inputs": [{"name": "image", "shape": [1, 3, size, size], "dtype": "float32", "dynamic": [],
                    "preprocessing": {"mean": MEAN, "std": STD, "scale": 1 / 255, "color": "RGB"},
                    "labels": None, "labels_path": None, "description": ""}],
        "outputs": [{"name": "logits", "shape": [1, 100], "dtype": "float32", "dynamic": [], "preprocessing": None,
                     "labels": [f"class_{i}" for i in range(100)], "labels_path": "assets/labels.txt", "description": ""}],
    }
    rng = np.random.default_rng(0)
    results: dict = {"model": f"zoo mobilenet_v2 (100 classes, BatchNorm stats set), {size}x{size}, batch 1",
                     "threads": args.threads, "variants": VARIANTS, "converters": {}}
    with tempfile.TemporaryDirectory(prefix="tflite-variants-") as tmp:
        work = Path(tmp)
        program = work / "program.pt2"
        torch.export.save(torch.export.export(model, (torch.zeros(1, 3, size, size),)), str(program))
        onnx = work / "model.onnx"
        export_onnx(program, onnx, spec, opset=18)
        cal = work / "calibration.npz"
        np.savez(cal, image=pixels_to_input(rng.integers(0, 256, (args.calibration, 3, size, size))))
        checks = [pixels_to_input(rng.integers(0, 256, (1, 3, size, size))) for _ in range(8)]
        module = torch.export.load(str(program)).module()

        files = {}
        for conv in args.converters.split(","):
            made, seconds, error = convert(conv, work, program, onnx, spec, cal)
            entry: dict = {"convert_s_all_variants": round(seconds, 1), "error": error, "variants": {}}
            for record, bundle in made:
                path = bundle / record.path
                files[(conv, record.variant)] = path
                entry["variants"][record.variant] = {
                    "file": record.path, "size_bytes": path.stat().st_size,
                    "made_by": record.made_by.get("converter"),
                    "ops": record.details.get("ops"),
                    "parity_vs_torch": parity(record, bundle, module, checks),
                }
            results["converters"][conv] = entry
        timing = time_files({f"{c}/{v}": p for (c, v), p in files.items()}, args.threads, args.rounds, args.per_round)
        for (conv, variant) in files:
            results["converters"][conv]["variants"][variant]["latency"] = timing[f"{conv}/{variant}"]
    results["host"] = host_before
    results["host"]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    results["summary"] = {
        f"{c}/{v}": {"size_mb": round(d["size_bytes"] / 2**20, 2), "p50_ms": d["latency"]["xnnpack"]["p50_ms"],
                     "min_ms": d["latency"]["xnnpack"]["min_ms"], "max_abs": d["parity_vs_torch"]["max_abs"]}
        for c, e in results["converters"].items() for v, d in e["variants"].items()
    }
    results["notes"] = NOTES
    return emit(results, args.out, indent=1)


if __name__ == "__main__":
    main()
