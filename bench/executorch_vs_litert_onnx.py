"""ExecuTorch (XNNPACK) vs LiteRT (XNNPACK) vs ONNX Runtime on this host, fp32 and int8.

    .venv/bin/python bench/executorch_vs_litert_onnx.py [--rounds 40] [--burst 5] [--threads 2]

For the MobileNetV2-style net (`mobilekit.zoo.mobilenet_v2`, untrained, 224×224) and the trained
digits CNN (32×32), exports onnx / tflite / executorch with variants fp32 and int8 (ONNX static
QDQ, TFLite full-integer, ExecuTorch PT2E + XNNPACKQuantizer), then loads all six files in ONE
process and times them alternating — `rounds` rounds, each runtime `burst` calls per round,
in a new random order each round — so that the machine's load (shared cores) falls on every
runtime alike. Same threads for all three (ExecuTorch's XNNPACK thread pool, LiteRT `num_threads`, ORT `intra_op_num_threads`).
Prints JSON and saves it to bench/results/executorch_vs_litert_onnx.json; the headline figures
are `p50_ratio_executorch_over_litert` / `_over_onnxruntime` (below 1: ExecuTorch is faster)
and `size_ratio_pte_over_tflite`. One run: on a busy host, read the ratios, not the ms.
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
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "bench" / "results" / "executorch_vs_litert_onnx.json"
TARGETS = ("executorch", "tflite", "onnx")


def _export(name: str, model, shape, pre, cal_path: Path, labels: str | None, tmp: Path, verify: dict | None = None):
    import mobilekit
    from mobilekit.pipeline import ExportFailed

    cfg = {
        "name": name, "output_dir": str(tmp), "targets": list(TARGETS),
        "inputs": [{"name": "image", "shape": shape, "preprocessing": pre}],
        "outputs": [{"name": "logits", **({"labels": labels} if labels else {})}],
        "onnx": {"variants": ["fp32", "int8"]}, "tflite": {"variants": ["fp32", "int8"]},
        "executorch": {"variants": ["fp32", "int8"]},
        "calibration": {"data": str(cal_path)}, "verify": verify or {"samples": 4}, "latency_runs": 0,
    }
    t = time.perf_counter()
    try:
        bundle = mobilekit.export(model, config=cfg)
    except ExportFailed as exc:  # e.g. int8 parity on the untrained net: still time what was made
        bundle = exc.bundle
    return bundle, time.perf_counter() - t


def _sessions(bundle, threads: int, sample):
    """{(target, variant): call()} for every artifact, feeds prepared outside the timed call."""
    from mobilekit.targets import base as targets
    from mobilekit.targets.base import ArtifactRecord
    from mobilekit.verify.runners import litert_runner, onnxruntime_runner

    calls = {}
    for a in bundle.artifacts:
        if a["target"] not in TARGETS or "path" not in a:
            continue
        rec = ArtifactRecord.from_dict(a)
        path = bundle.path / rec.path
        if a["target"] == "executorch":
            s = targets.get("executorch").timed_session(rec, bundle.path, [sample], threads)
            calls[(a["target"], a["variant"])] = (lambda s=s: s.call(0), s)
        elif a["target"] == "tflite":
            run = litert_runner(path, rec, threads=threads)
            calls[(a["target"], a["variant"])] = (lambda run=run: run(sample), run)
        else:
            run = onnxruntime_runner(path, rec, threads=threads)
            calls[(a["target"], a["variant"])] = (lambda run=run: run(sample), run)
    return calls


def _alternate(calls: dict, rounds: int, burst: int, warmup: int) -> dict:
    import numpy as np

    for fn, _ in calls.values():
        for _ in range(warmup):
            fn()
    times: dict = {k: [] for k in calls}
    rng = np.random.default_rng(0)
    keys = list(calls)
    for _ in range(rounds):
        # a new order every round: a runtime whose threads still spin after its burst (ORT's
        # intra-op pool does) must not always slow down the same successor
        for k in [keys[i] for i in rng.permutation(len(keys))]:
            fn, _ = calls[k]
            for _ in range(burst):
                t = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t) * 1e3)
    return {k: {"p50_ms": round(float(np.median(v)), 4), "p10_ms": round(float(np.percentile(v, 10)), 4),
                "p90_ms": round(float(np.percentile(v, 90)), 4), "calls": len(v)} for k, v in times.items()}


def _one_model(label: str, bundle, export_s: float, threads: int, rounds: int, burst: int, warmup: int) -> dict:
    from mobilekit.reverify import load_golden

    samples, _ = load_golden(bundle)
    calls = _sessions(bundle, threads, samples[0])
    lat = _alternate(calls, rounds, burst, warmup)
    arts = {(a["target"], a["variant"]): a for a in bundle.artifacts if "variant" in a}
    out: dict = {"model": label, "export_s": round(export_s, 1), "latency": {f"{t}/{v}": x for (t, v), x in lat.items()},
                 "artifacts": {f"{t}/{v}": {"size_bytes": a.get("size_bytes"), "status": a["status"],
                                            "error": a.get("error"), "delegation": (a.get("details") or {}).get("delegation", {}).get("summary")}
                               for (t, v), a in arts.items()}}
    for v in ("fp32", "int8"):
        et = lat.get(("executorch", v))
        for other, key in (("tflite", "litert"), ("onnx", "onnxruntime")):
            o = lat.get((other, v))
            out[f"p50_ratio_executorch_over_{key}_{v}"] = round(et["p50_ms"] / o["p50_ms"], 3) if et and o else None
        pte, tfl = arts.get(("executorch", v)), arts.get(("tflite", v))
        out[f"size_ratio_pte_over_tflite_{v}"] = (round(pte["size_bytes"] / tfl["size_bytes"], 3)
                                                  if pte and tfl and pte.get("size_bytes") and tfl.get("size_bytes") else None)
        ranked = sorted((x["p50_ms"], t) for (t, vv), x in lat.items() if vv == v)
        out[f"fastest_{v}"] = ranked[0][1] if ranked else None
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--burst", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--calibration", type=int, default=32)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from mobilekit.bench.results import host_device
    from mobilekit.zoo import digits_cnn, digits_data, mobilenet_v2
    from tflite_int8_vs_fp32 import MEAN, STD, calibration_images

    torch.set_num_threads(args.threads)
    models = []
    with tempfile.TemporaryDirectory(prefix="et-vs-") as tmp:
        tmp = Path(tmp)
        cal = tmp / "mnv2_cal.npy"
        np.save(cal, calibration_images(args.calibration, args.size))
        bundle, s = _export("mnv2", mobilenet_v2.build(), [1, 3, args.size, args.size], {"mean": MEAN, "std": STD}, cal, None, tmp)
        models.append(_one_model(f"mobilenet_v2 (zoo, untrained), {args.size}x{args.size}", bundle, s,
                                 args.threads, args.rounds, args.burst, args.warmup))
        cal = tmp / "digits_cal.npy"
        np.save(cal, digits_data.calibration()[:200].astype(np.float32))
        bundle, s = _export("digits", digits_cnn.trained(), [1, 3, 32, 32], {"mean": [0.5] * 3, "std": [0.5] * 3,
                            "scale": 1 / 255}, cal, str(digits_cnn.LABELS), tmp,
                            verify={"samples": 16, "inputs": "mobilekit.zoo.digits_data:heldout"})
        models.append(_one_model("digits CNN (trained), 32x32", bundle, s, args.threads, args.rounds, args.burst, args.warmup))

    dev = host_device()
    result = {
        "what": "p50 of per-call latency; the three runtimes alternate in one process (rounds × burst calls each)",
        "host": f"{platform.system()} {platform.machine()}, {dev.get('model', '?')}",
        "note": "one run on a shared, busy host (2 cores, several agents): ratios are indicative, ms are not",
        "threads": args.threads, "rounds": args.rounds, "burst": args.burst, "warmup": args.warmup,
        "models": models,
    }
    return emit(result, args.out)


if __name__ == "__main__":
    main()
