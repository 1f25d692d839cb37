"""The Core ML reference interpreter on a built bundle's packages, against its golden vectors.

    .venv/bin/python bench/coreml_interp.py [--bundle dist/digits] [--out bench/results/coreml_interp.json]

For each Core ML artifact in the bundle's manifest: load time, time per inference (batch 1),
parity with the golden torch outputs (the manifest's figures: max/mean abs, cosine, top-1
agreement), whether fp16 was simulated, and the first op that diverges from the same program
in fp32 simulation on the first golden sample (None when fp16 stays within tolerance).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default=str(ROOT / "dist" / "digits"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "coreml_interp.json"))
    args = ap.parse_args()

    import numpy as np

    from mobilekit.targets.base import ArtifactRecord
    from mobilekit.verify import verdict
    from mobilekit.verify.coreml_interp import VERIFIED_BY, first_divergence, runner

    bundle = Path(args.bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    golden = bundle / "assets" / "golden"
    index = json.loads((golden / "index.json").read_text())
    inputs = {n: np.load(golden / d["file"]) for n, d in index["inputs"].items()}
    outputs = {n: np.load(golden / d["file"]) for n, d in index["outputs"].items()}
    n = int(index["samples"])
    feeds = [{k: v[i:i + 1] for k, v in inputs.items()} for i in range(n)]
    refs = [{k: v[i:i + 1] for k, v in outputs.items()} for i in range(n)]
    classifier = next((o["name"] for o in manifest.get("outputs", []) if o.get("labels")), None)
    rows = []
    for a in manifest["artifacts"]:
        if a["target"] != "coreml":
            continue
        rec = ArtifactRecord.from_dict(a)
        t0 = time.perf_counter()
        run = runner(bundle / rec.path, rec)
        t1 = time.perf_counter()
        outs = [run(f) for f in feeds]
        t2 = time.perf_counter()
        figures = verdict.compare(refs, [{k: o[k] for k in outputs} for o in outs], classifier_output=classifier)
        div = first_divergence(run.program, run.native_feeds(feeds[0]))
        rows.append({"variant": rec.variant, "precision": rec.precision, "load_s": round(t1 - t0, 3),
                     "ms_per_inference": round(1000 * (t2 - t1) / n, 2), "fp16_simulated": run.details["fp16_simulated"],
                     "ops": run.details["ops"], "parity": {k: v for k, v in figures.items() if k != "per_output"},
                     "first_divergence_vs_fp32_simulation": str(div) if div else None})
    result = {"bundle": str(bundle), "samples": n, "interpreter": VERIFIED_BY, "host": platform.platform(),
              "python": platform.python_version(), "artifacts": rows}
    text = json.dumps(result, indent=1)
    print(text)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
