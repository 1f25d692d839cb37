"""Helpers for the bench tests and tests/test_report.py: a digits-like bundle.

Not a conftest.py: tests/conftest.py is imported as `conftest` by other test modules, and a
second conftest.py here would take that name.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # tiny_models
ROOT = TESTS.parent

_LITERT_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import torch, litert_torch, tiny_models
edge = litert_torch.convert(tiny_models.build(), (torch.zeros(1, 3, 8, 8),))
edge.export(sys.argv[2])
"""


def tflite_target_available() -> bool:
    return importlib.util.find_spec("mobilekit.targets.tflite") is not None


def export_tiny_bundle(out: Path, with_eval: bool = False) -> Path:
    """Export TinyNet to ONNX and TFLite into `out/dist/tiny`.

    With mobilekit's tflite target the TFLite artifact is its own; until that target exists,
    one converted with litert-torch is added to the manifest (verified against the golden
    vectors here), so the LiteRT benchmark path is always exercised. `with_eval` adds a small
    labelled eval set (so artifacts get a task metric).
    """
    import mobilekit
    import tiny_models

    targets = ["onnx", "tflite"] if tflite_target_available() else ["onnx"]
    extra = {}
    if with_eval:
        extra["eval"] = {"data": str(_eval_set(out))}
    bundle = mobilekit.export(config=tiny_models.config(out, targets=targets, **extra))
    if "tflite" not in targets:
        add_litert_artifact(bundle.path, out / "eval.npz" if with_eval else None)
    return bundle.path


def _eval_set(out: Path) -> Path:
    """48 random images labelled by TinyNet itself, a quarter of the labels changed: top-1 ≈ 0.75."""
    import torch

    import tiny_models

    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        labels = tiny_models.build()(torch.from_numpy(x)).argmax(1).numpy()
    flip = rng.random(48) < 0.25
    labels[flip] = (labels[flip] + 1) % 3
    path = out / "eval.npz"
    out.mkdir(parents=True, exist_ok=True)
    np.savez(path, image=x, labels=labels)
    return path


def add_litert_artifact(root: Path, eval_npz: Path | None = None) -> None:
    from mobilekit.bundle import load_bundle, sha256, size_bytes, write_manifest
    from mobilekit.reverify import load_golden
    from mobilekit.targets.base import ArtifactRecord
    from mobilekit.verify.runners import litert_runner

    (root / "tflite").mkdir(exist_ok=True)
    path = root / "tflite" / "model.tflite"
    subprocess.run([sys.executable, "-c", _LITERT_SCRIPT, str(TESTS), str(path)], check=True,
                   capture_output=True, timeout=600)
    manifest = json.loads((root / "manifest.json").read_text())
    entry = {
        "target": "tflite", "variant": "fp32", "path": "tflite/model.tflite", "precision": "fp32", "layout": "NCHW",
        "made_by": {"converter": "litert-torch (test fixture)"}, "compression": [],
        "inputs": [{"name": "image", "tensor": "args_0", "layout": "NCHW", "dtype": "float32", "shape": [1, 3, 8, 8]}],
        "outputs": [{"name": "logits", "tensor": "output_0", "layout": "", "dtype": "float32", "shape": [1, 3]}],
        "sha256": sha256(path), "size_bytes": size_bytes(path),
    }
    bundle = load_bundle(root)
    ins, outs = load_golden(bundle)
    run = litert_runner(path, ArtifactRecord.from_dict(entry))
    max_abs = max(float(np.abs(run(i)["logits"] - o["logits"]).max()) for i, o in zip(ins, outs))
    assert max_abs < 1e-4, max_abs
    entry.update(status="verified", verified_by="ai-edge-litert (test fixture)",
                 parity={"max_abs": max_abs, "cosine": 1.0, "top1_agreement": 1.0})
    if eval_npz is not None:
        with np.load(eval_npz) as z:
            x, labels = z["image"], z["labels"]
        preds = [int(run({"image": x[i : i + 1]})["logits"].argmax()) for i in range(len(x))]
        entry["metrics"] = {"top1": float(np.mean(np.array(preds) == labels)), "samples": len(x)}
    manifest["artifacts"].append(entry)
    write_manifest(root, manifest)
