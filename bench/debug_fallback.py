"""The debugger and the accuracy fallback on the shipped outliers example (examples/outliers).

Exports it twice — plain, and with `[compression] fallback = "auto"` and a 0.5-point top-1 budget —
and records per int8 artifact: the top-1 drop, where `mobilekit debug` places the damage, and what
the fallback kept in float (nodes, rounds, size) — on all four targets: ONNX (nodes_to_exclude), TFLite
(TensorFlow's selective quantization), Core ML (op_name_configs) and ExecuTorch (the XNNPACK
quantizer's node filter). Prints JSON and saves bench/results/debug_fallback.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _emit import cpu_label, emit

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples/outliers/mobilekit.toml"


def _export(folder: Path, extra: str) -> tuple[dict, float, dict]:
    text = CONFIG.read_text().replace('"../../', f'"{ROOT}/').replace(f'output_dir = "{ROOT}/dist"', f'output_dir = "{folder}"')
    toml = folder / "mobilekit.toml"
    toml.write_text(text + extra)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(toml), "--force"], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    manifest = json.loads((folder / "outliers" / "manifest.json").read_text())
    debug = subprocess.run([sys.executable, "-m", "mobilekit", "debug", str(folder / "outliers"), "--config", str(toml), "--json",
                            "--no-placement"], capture_output=True, text=True)
    return manifest, seconds, json.loads(debug.stdout) if debug.returncode == 0 else {"error": debug.stderr[-500:]}


def _row(a: dict, dbg: dict) -> dict:
    label = f"{a['target']}/{a['variant']}"
    art = (dbg.get("artifacts") or {}).get(label, {})
    worst = min(art.get("layers", []), key=lambda r: r["own_snr_db"], default=None)
    return {"status": a["status"], "top1": (a.get("metrics") or {}).get("top1"),
            "top1_drop_pt": round(100 * (a.get("metrics") or {}).get("top1_drop", float("nan")), 2),
            "output_snr_db": (a.get("parity") or {}).get("snr_db"), "size_bytes": a.get("size_bytes"),
            "first_below": (art.get("first_below") or {}).get("torch"),
            "worst_own_layer": worst and {"torch": worst["torch"], "own_snr_db": worst["own_snr_db"],
                                          "snr_db": worst["snr_db"], "channel_snr_db": worst["channel_snr_db"]},
            "fallback": a.get("fallback") and _fallback(a)}


def _fallback(a: dict) -> dict:
    fb = a["fallback"]
    before = fb.get("before") or {}
    out = {k: fb.get(k) for k in ("status", "kept_float", "layers", "reason")}
    return out | {"rounds": len(fb.get("rounds", [])), "layers_kept_float": len(fb.get("kept_float") or []),
                  "before": {"top1_drop_pt": None if before.get("top1_drop") is None else round(100 * before["top1_drop"], 2),
                             "output_snr_db": before.get("snr_db"), "size_bytes": before.get("size_bytes")}}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench/results/debug_fallback.json"))
    args = ap.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("plain", ""), ("fallback_auto", '\n[compression]\nfallback = "auto"\n\n[budgets]\nmax_metric_drop = 0.5\n')):
            folder = Path(tmp) / name
            folder.mkdir()
            manifest, seconds, dbg = _export(folder, extra)
            runs[name] = {"export_s": round(seconds, 1),
                          "artifacts": {f"{a['target']}/{a['variant']}": _row(a, dbg) for a in manifest["artifacts"]}}
    return emit({"what": "examples/outliers (digits CNN, two ×128 channels after block 1, same float outputs): "
                         "plain int8 vs [compression] fallback = \"auto\" with max_metric_drop 0.5",
                 "host": cpu_label(), "note": "one run on a shared 2-core host; sizes and top-1 are exact, seconds are not; int8 results can "
                         "differ in their last bits on another CPU",
                 "runs": runs}, args.out)


if __name__ == "__main__":
    main()
