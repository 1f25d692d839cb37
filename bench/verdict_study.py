"""Where the verdict's thresholds come from: good conversions vs deliberately broken ones.

For a zoo of architectures built here (CNNs, a MobileNetV2-style net, a tiny ViT, an MLP with
GELU/LayerNorm, a token-id transformer classifier; random weights scaled so logits reach ~±12, as
trained nets' do), every target × precision is exported by mobilekit with the real converters and
judged against torch. Then *broken* artifacts are made the way converters break models — one
layer's weights off by 5%, one bias dropped, int8 calibrated on the wrong data — and judged
against the same torch reference. A threshold is sound when every good artifact of a precision
clears it and every broken one misses, with a margin (printed in dB).

    python bench/verdict_study.py [--archs digits,mlp,...] [--out bench/results/verdict_study.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _emit import cpu_label  # noqa: E402  (bench/ is on sys.path when run as a script)


def zoo():
    """name → (build(seed) -> nn.Module, inputs config, targets)."""
    import torch
    from torch import nn

    def scaled(model, target_std=4.0, example=None):
        """Scale the last layer so logits spread like a trained net's (std ~4, max ~12)."""
        with torch.no_grad():
            out = model(example)
            last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
            last.weight.mul_(target_std / (out.std().item() + 1e-9))
        return model

    img = lambda c, s: [{"name": "image", "shape": [1, c, s, s],  # noqa: E731
                         "preprocessing": {"mean": [0.5] * c, "std": [0.25] * c, "scale": 1 / 255, "color": "RGB"}}]

    def digits(seed):
        from mobilekit.zoo.digits_cnn import build

        torch.manual_seed(seed)
        return build()  # the trained weights are loaded by the config below

    def mobilenet(seed):
        from mobilekit.zoo.mobilenet_v2 import build

        torch.manual_seed(seed)
        m = build().eval()
        return scaled(m, example=torch.randn(4, 3, 96, 96))

    class ViT(nn.Module):
        def __init__(self, dim=64, patches=16, layers=2, classes=10):
            super().__init__()
            self.embed = nn.Conv2d(3, dim, 8, 8)
            self.pos = nn.Parameter(torch.randn(1, patches, dim) * 0.02)
            block = nn.TransformerEncoderLayer(dim, 4, dim * 2, dropout=0.0, batch_first=True, norm_first=True, activation="gelu")
            self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            t = self.embed(x).flatten(2).transpose(1, 2) + self.pos
            return self.head(self.norm(self.blocks(t)).mean(1))

    def vit(seed):
        torch.manual_seed(seed)
        return scaled(ViT().eval(), example=torch.randn(4, 3, 32, 32))

    def mlp(seed):
        torch.manual_seed(seed)
        m = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.GELU(), nn.LayerNorm(128), nn.Linear(128, 64), nn.GELU(),
                          nn.Linear(64, 10)).eval()
        return scaled(m, example=torch.randn(4, 1, 64))

    class TokenClassifier(nn.Module):
        def __init__(self, vocab=1000, dim=64, classes=5):
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            block = nn.TransformerEncoderLayer(dim, 4, dim * 2, dropout=0.0, batch_first=True, activation="gelu")
            self.enc = nn.TransformerEncoder(block, 1, enable_nested_tensor=False)
            self.head = nn.Linear(dim, classes)

        def forward(self, ids):
            return self.head(self.enc(self.emb(ids)).mean(1))

    def tokens(seed):
        torch.manual_seed(seed)
        return scaled(TokenClassifier().eval(), example=torch.randint(0, 1000, (4, 16)))

    all3, no_tfl = ["onnx", "tflite", "coreml"], ["onnx", "coreml"]
    return {
        "digits": (digits, img(3, 32), all3, str(ROOT / "mobilekit/zoo/digits_cnn.safetensors")),
        "mobilenet_v2": (mobilenet, img(3, 96), ["onnx", "tflite"], None),
        "vit_tiny": (vit, img(3, 32), all3, None),
        "mlp_gelu_ln": (mlp, [{"name": "x", "shape": [1, 1, 64]}], all3, None),
        "token_transformer": (tokens, [{"name": "ids", "shape": [1, 16], "dtype": "int64"}], no_tfl, None),
    }


VARIANTS = {"onnx": ["fp32", "fp16", "int8-dynamic", "int8"], "tflite": ["fp32", "fp16", "int8-dynamic", "int8"],
            "coreml": ["fp32", "fp16", "int8"]}


def _config(name, inputs, targets, out, cal, weights=None):
    cfg = {"name": name, "task": "image_classification", "inputs": inputs, "outputs": [{"name": "logits"}],
           "targets": targets, "output_dir": str(out), "latency_runs": 0, "timeout": 900,
           "calibration": {"data": str(cal)}}
    if weights:
        cfg["weights"] = weights
    for t in targets:
        variants = VARIANTS[t]
        if t == "onnx" and any(i.get("dtype") == "int64" for i in inputs):
            variants = ["fp32", "fp16", "int8-dynamic"]
        cfg[t] = {"variants": variants}
    if "coreml" in targets:
        cfg["coreml"]["minimum_deployment_target"] = "iOS16"
    return cfg


def _export(model, cfg):
    import mobilekit
    from mobilekit.pipeline import ExportFailed

    try:
        return mobilekit.export(model, config=cfg, force=True)
    except ExportFailed as exc:
        return exc.bundle


def _rows(bundle, kind: str) -> list[dict]:
    rows = []
    for a in bundle.artifacts:
        p = a.get("parity") or {}
        rows.append({"kind": kind, "target": a["target"], "variant": a["variant"], "precision": a.get("precision"),
                     "status": a["status"], "snr_db": p.get("snr_db"), "cosine": p.get("cosine"),
                     "rel_max_abs": (p.get("per_output", {}).get("logits") or {}).get("rel_max_abs"),
                     "top1_agreement": p.get("top1_agreement"), "error": a.get("error") or a.get("status_reason")})
    return rows


def _judge_against(good_bundle, bad_bundle, kind: str, only: set[str]) -> list[dict]:
    """Run the broken bundle's artifacts on the good bundle's golden inputs, judge vs its torch outputs."""
    from mobilekit.reverify import load_golden
    from mobilekit.targets import base as targets
    from mobilekit.targets.base import ArtifactRecord, Unverifiable
    from mobilekit.verify import verdict

    ins, refs = load_golden(good_bundle)
    rows = []
    for a in bad_bundle.artifacts:
        if f"{a['target']}/{a['variant']}" not in only or a["status"] == "failed" and "path" not in a:
            continue
        try:
            run = targets.get(a["target"]).runner(ArtifactRecord.from_dict(a), Path(bad_bundle.path))
        except Unverifiable:
            continue
        rule = verdict.rule_for(a.get("precision", "fp32"))
        try:
            outs = [run(s) for s in ins]
        except Exception as exc:  # e.g. XNNPACK refuses a zero quantization scale: broken, and caught
            rows.append({"kind": kind, "target": a["target"], "variant": a["variant"], "precision": a.get("precision"),
                         "status": "failed", "snr_db": None, "cosine": None, "rel_max_abs": None,
                         "error": f"does not run: {type(exc).__name__}: {str(exc)[:120]}"})
            continue
        fig = verdict.compare(refs, outs, classifier_output="logits", rule=rule)
        rows.append({"kind": kind, "target": a["target"], "variant": a["variant"], "precision": a.get("precision"),
                     "status": "failed" if verdict.failures(fig, rule) else "verified", "snr_db": fig["snr_db"],
                     "cosine": fig["cosine"], "rel_max_abs": fig["per_output"]["logits"]["rel_max_abs"],
                     "top1_agreement": fig.get("top1_agreement")})
    return rows


def _perturbed(model, how: str, example):
    """The model with one layer broken, choosing (middle first) a layer whose break torch itself can see:
    a 5% scale before a normalization, or dropping a bias that is zero, changes nothing and is no break.
    Returns (model, torch-level SNR of the break in dB) or (None, None) when no layer's break shows."""
    import torch
    from torch import nn

    with torch.no_grad():
        ref = model(example)
    candidates = [n for n, x in model.named_modules() if isinstance(x, (nn.Conv2d, nn.Linear)) and x.bias is not None]
    mid = len(candidates) // 2
    order = sorted(range(len(candidates)), key=lambda i: abs(i - mid))
    for i in order:
        m = copy.deepcopy(model)
        layer = dict(m.named_modules())[candidates[i]]
        with torch.no_grad():
            if how == "one layer's weights ×1.05":
                layer.weight.mul_(1.05)
            elif how == "one bias dropped":
                layer.bias.zero_()
            out = m(example)
        noise = float(((out - ref) ** 2).mean())
        snr = 10 * np.log10(float((ref ** 2).mean()) / noise) if noise > 0 else float("inf")
        if snr < VISIBLE_BREAK_DB:
            return m, snr
    return None, None


# A break counts when torch's own output moves by more than the loosest per-precision threshold
# lets through (int8: 12 dB): anything the fp32/fp16 rules would need to catch must be visible at 30 dB.
VISIBLE_BREAK_DB = 30.0


def study(names: list[str], work: Path) -> dict:
    import torch

    results = []
    for name in names:
        build, inputs, tgts, weights = zoo()[name]
        model = build(0)
        if weights:
            from safetensors.torch import load_file

            model.load_state_dict(load_file(weights))
        model.eval()
        shape = inputs[0]["shape"]
        rng = np.random.default_rng(1)
        if inputs[0].get("dtype") == "int64":
            cal = rng.integers(0, 1000, size=(64, *shape[1:])).astype(np.int64)
        else:
            cal = rng.standard_normal((64, *shape[1:])).astype(np.float32)
        np.save(work / f"{name}.cal.npy", cal)
        np.save(work / f"{name}.zeros.npy", np.zeros_like(cal))
        t = time.perf_counter()
        good = _export(model, _config(name, inputs, tgts, work / "good", work / f"{name}.cal.npy", weights))
        rows = _rows(good, "good")
        print(f"{name}: exported {len(rows)} artifacts in {time.perf_counter() - t:.0f} s", flush=True)
        bad_targets = [x for x in tgts if x != "coreml"]
        example = torch.from_numpy(cal[:16])
        for how in ("one layer's weights ×1.05", "one bias dropped"):
            broken, break_db = _perturbed(model, how, example)
            if broken is None:
                print(f"{name}: no layer where '{how}' changes torch's output by more than {VISIBLE_BREAK_DB} dB; skipped", flush=True)
                continue
            bad = _export(broken, _config(f"{name}-bad", inputs, bad_targets, work / "bad", work / f"{name}.cal.npy"))
            judged = _judge_against(good, bad, f"broken: {how}", {f"{x}/{v}" for x in bad_targets for v in ("fp32", "fp16")})
            for r in judged:
                r["break_torch_snr_db"] = round(break_db, 2)
            rows += judged
        if inputs[0].get("dtype") != "int64":
            badcal = _export(model, _config(f"{name}-badcal", inputs, bad_targets, work / "bad", work / f"{name}.zeros.npy", weights))
            rows += _judge_against(good, badcal, "broken: int8 calibrated on zeros", {f"{x}/int8" for x in bad_targets})
        for r in rows:
            r["arch"] = name
        results += rows
        torch.set_num_threads(2)
    return {"host": cpu_label(), "rules": {k: v.to_dict() for k, v in __import__("mobilekit.verify.verdict", fromlist=["RULES"]).RULES.items()},
            "rows": results, "separation": separation(results)}


def separation(rows: list[dict]) -> dict:
    """Per precision class: the worst good SNR, the best broken SNR, and the threshold between."""
    from mobilekit.verify import verdict

    out = {}
    for cls, rule in verdict.RULES.items():
        good = [r["snr_db"] for r in rows if r["kind"] == "good" and r["snr_db"] is not None
                and verdict.precision_class(r["precision"] or "fp32") == cls]
        bad = [r["snr_db"] for r in rows if r["kind"] != "good" and r["snr_db"] is not None
               and verdict.precision_class(r["precision"] or "fp32") == cls]
        out[cls] = {"threshold_db": rule.min_snr_db, "worst_good_db": min(good) if good else None,
                    "best_broken_db": max(bad) if bad else None,
                    "good_margin_db": (min(good) - rule.min_snr_db) if good else None,
                    "broken_margin_db": (rule.min_snr_db - max(bad)) if bad else None,
                    "good": len(good), "broken": len(bad)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default=",".join(zoo()))
    ap.add_argument("--out", default=str(ROOT / "bench/results/verdict_study.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = study(args.archs.split(","), Path(tmp))
    for r in result["rows"]:
        print(f"{r['arch']:18} {r['kind']:36} {r['target']:7} {r['variant']:13} {r['status']:10} "
              f"SNR {r['snr_db'] if r['snr_db'] is None else round(r['snr_db'], 1)!s:>6} dB  cos {r['cosine']}")
    print(json.dumps(result["separation"], indent=1))
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
