"""An unchanged re-export ÷ the first export, on the shipped digits model (all its targets).

    .venv/bin/python bench/perf_reexport.py [--out bench/results/perf_reexport.json]

Runs the export twice into a fresh folder with the example's config, then prints and saves the
two wall times, their ratio (goal ≤ 0.1), and which stages the second run went through: an
unchanged run is decided before capture (stage `reuse`, no `capture`). A third run follows a
bundle whose last run failed one variant (its manifest marked so, as a crashed converter
leaves it): only that variant and its target's first are converted again, the rest are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "perf_reexport.json"))
    args = ap.parse_args(argv)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    import mobilekit

    config = str(ROOT / "examples" / "digits" / "mobilekit.toml")
    runs = []
    with tempfile.TemporaryDirectory(prefix="reexport-") as tmp:
        for i in range(3):
            if i == 2:
                failed = _mark_failed(Path(bundle.path), RETRIED)
            t = time.perf_counter()
            try:
                bundle = mobilekit.export(config=config, output_dir=tmp)
            except mobilekit.CheckError as exc:
                bundle = exc.bundle
            runs.append({"seconds": round(time.perf_counter() - t, 2), "stages_s": bundle.manifest.get("stages"),
                         "cached": sum(1 for a in bundle.artifacts if a.get("cached")), "artifacts": len(bundle.artifacts),
                         "peak_rss_mb": bundle.manifest.get("peak_rss_mb")})
    result = {"model": "examples/digits (all configured targets)", "host": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
              "first": runs[0], "unchanged_reexport": runs[1],
              "ratio_reexport_over_first": round(runs[1]["seconds"] / runs[0]["seconds"], 3),
              "one_variant_failed_before": {**runs[2], "failed_variant": failed},
              "ratio_retry_over_first": round(runs[2]["seconds"] / runs[0]["seconds"], 3)}
    text = json.dumps(result, indent=2)
    print(text)
    Path(args.out).write_text(text + "\n")
    return result


RETRIED = ("tflite", "int8")  # a variant that is not its target's first: the retry keeps the others


def _mark_failed(bundle: Path, which: tuple[str, str]) -> str:
    doc = json.loads((bundle / "manifest.json").read_text())
    entry = next(a for a in doc["artifacts"] if (a["target"], a["variant"]) == which)
    entry.update(status="failed", error="marked failed by bench/perf_reexport.py")
    (bundle / "manifest.json").write_text(json.dumps(doc))
    return "/".join(which)


if __name__ == "__main__":
    main()
