"""Channel pruning + distillation figures. Prints JSON and saves it.

- digits CNN (the shipped demo classifier): 50% of channels pruned, then distilled from the
  original on the training split; params, MACs, held-out top-1 of the teacher, of the pruned
  model before distillation and after it. Also 50% magnitude pruning without fine-tuning.
- the same through `mobilekit export` (examples/digits_pruned/mobilekit.toml): every artifact's
  size, status and held-out top-1 drop from the unpruned source model, on all three targets.
- MobileNetV2-style net (100 classes, 224×224, untrained): params, MACs and eager CPU latency
  before and after 50% channel pruning.

    .venv/bin/python bench/prune_distill.py [--epochs 8]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from mobilekit.compress import DistillConfig, PruneConfig, distill, prune, top1
from mobilekit.zoo import digits_cnn, digits_data, mobilenet_v2

OUT = Path(__file__).parent / "results" / "prune_distill.json"


def _latency_ms(model: torch.nn.Module, x: torch.Tensor, runs: int = 20) -> float:
    model.eval()
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1e3, 3)


def digits(epochs: int) -> dict:
    teacher = digits_cnn.trained()
    px, y, _, _ = digits_data.load_split()
    heldout = digits_data.heldout()
    x = torch.zeros(1, 3, 32, 32)
    pruned = prune(teacher, x, PruneConfig(method="channels", amount=0.5))
    cfg = DistillConfig(epochs=epochs)
    result = distill(pruned.model, teacher, (digits_data.preprocess(px), y), cfg, eval_data=heldout, progress=False)
    magnitude = prune(teacher, x, PruneConfig(method="magnitude", amount=0.5))
    return {
        "model": "digits_cnn (3x32x32, 10 classes)",
        "train_samples": int(len(y)),
        "heldout_samples": int(len(heldout[1])),
        "channels_50": {
            "params_before": pruned.before.params,
            "params_after": pruned.after.params,
            "macs_before": pruned.before.macs,
            "macs_after": pruned.after.macs,
            "params_ratio": round(pruned.params_ratio, 4),
            "macs_ratio": round(pruned.macs_ratio, 4),
            "prune_s": round(pruned.seconds, 2),
            "top1_teacher": round(result.teacher_top1, 4),
            "top1_pruned_before_distill": round(result.student_top1_before, 4),
            "top1_distilled": round(result.student_top1, 4),
            "top1_drop_points": round(100 * result.top1_drop, 2),
            "distill": {
                "epochs": epochs,
                "seconds": round(result.seconds, 2),
                "losses": [round(v, 4) for v in result.losses],
                "config": result.to_dict()["config"],
            },
        },
        "magnitude_50_no_finetune": {
            "sparsity_after": round(magnitude.after.sparsity, 4),
            "nonzero_params_after": magnitude.after.nonzero_params,
            "macs_ratio": round(magnitude.macs_ratio, 4),
            "top1": round(top1(magnitude.model, heldout), 4),
        },
    }


def exported() -> dict:
    import tempfile

    import mobilekit

    config = Path(__file__).resolve().parents[1] / "examples" / "digits_pruned" / "mobilekit.toml"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            bundle = mobilekit.export(config=str(config), output_dir=tmp)
        except mobilekit.CheckError as exc:  # a broken budget still leaves the figures
            bundle = exc.bundle
        m = bundle.manifest
    return {
        "config": "examples/digits_pruned/mobilekit.toml",
        "macs_ratio": m["torch_compression"]["macs_ratio"],
        "params_ratio": m["torch_compression"]["params_ratio"],
        "source_top1": round(m["metrics"]["source"]["top1"], 4),
        "torch_top1": round(m["metrics"]["torch"]["top1"], 4),
        "artifacts": {
            f"{a['target']}/{a['variant']}": {
                "status": a["status"], "size_bytes": a.get("size_bytes"),
                **({"top1": round(a["metrics"]["top1"], 4), "top1_drop_points": round(100 * a["metrics"]["top1_drop"], 2)}
                   if a.get("metrics") else {}),
            }
            for a in m["artifacts"]
        },
    }


def mobilenet() -> dict:
    model = mobilenet_v2.build()
    x = torch.randn(1, 3, 224, 224)
    res = prune(model, x, PruneConfig(method="channels", amount=0.5))
    return {
        "model": "mobilenet_v2 (100 classes, 224x224, untrained)",
        "params_before": res.before.params,
        "params_after": res.after.params,
        "macs_before": res.before.macs,
        "macs_after": res.after.macs,
        "params_ratio": round(res.params_ratio, 4),
        "macs_ratio": round(res.macs_ratio, 4),
        "prune_s": round(res.seconds, 2),
        "eager_latency_ms_before": _latency_ms(model, x),
        "eager_latency_ms_after": _latency_ms(res.model, x),
    }


def main(epochs: int = 8) -> dict:
    torch.set_num_threads(2)
    t = time.perf_counter()
    out = {
        "host": {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                 "torch_pruning": _version("torch-pruning")},
        "digits": digits(epochs),
        "digits_exported": exported(),
        "mobilenet_v2": mobilenet(),
    }
    out["total_s"] = round(time.perf_counter() - t, 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return out


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    main(ap.parse_args().epochs)
