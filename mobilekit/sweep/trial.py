"""One trial: export one candidate, read its verification figures, time it with the host bench.

Run as `python -m mobilekit.sweep.trial SPEC.json` (a process of its own, so a converter crash or
a Ctrl-C costs only this trial); it writes `row.json` beside its log in the trial folder.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path


def run(spec: dict) -> dict:
    """The figures of one candidate; never raises for a failed export (the row says so)."""
    from ..conversion import ExportFailed
    from ..errors import MobileKitError

    t0 = time.perf_counter()
    cand = spec["candidate"]
    row: dict = {"status": "failed", "figures": {}}
    try:
        from .. import api

        try:
            bundle = api.export(config=spec["config"], force=True)
        except ExportFailed as exc:  # the bundle is written with the failure recorded
            bundle = exc.bundle
        entry = bundle.artifact(cand["target"], cand["variant"])
        row["figures"] = _figures(entry, bundle.manifest)
        if entry.get("sha256"):  # what imported device results of this file are matched by
            row["artifact"] = {"path": entry.get("path"), "sha256": entry["sha256"]}
        if entry["status"] == "failed":
            row["error"] = entry.get("error", "failed")
        else:
            row["status"] = "ok" if entry["status"] == "verified" else "unverified"
            if entry["status"] == "unverified":
                row["error"] = entry.get("status_reason", "")
            p50 = _bench_p50(bundle.path, entry, spec.get("bench_runs", 0))
            if p50 is not None:
                row["figures"]["host_p50_ms"] = p50
        row["bundle"] = str(bundle.path)
    except MobileKitError as exc:
        row["error"] = exc.one_line()
    except Exception as exc:  # a crash marks this trial failed; the sweep goes on
        traceback.print_exc()
        row["error"] = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
    if row["status"] == "failed":  # the log says why too, not only results.json
        print(f"trial failed: {row['error']}", file=sys.stderr)
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _figures(entry: dict, manifest: dict) -> dict:
    parity = entry.get("parity") or {}
    metrics = entry.get("metrics") or {}
    out = {"size_bytes": entry.get("size_bytes"), "top1": metrics.get("top1"),
           # points of top-1 lost against the source model (1.0 = one point), as budgets count them
           "metric_drop_pt": None if metrics.get("top1_drop") is None else round(metrics["top1_drop"] * 100, 6),
           "cosine": parity.get("cosine"), "max_abs": parity.get("max_abs"),
           "verify_p50_ms": (entry.get("latency_ms") or {}).get("p50")}
    tc = manifest.get("torch_compression")
    if tc:
        out["params_ratio"] = tc.get("params_ratio")
    return out


def _bench_p50(path: Path, entry: dict, runs: int) -> float | None:
    """A short host bench of this artifact; None when this host cannot time it (e.g. Core ML on Linux)."""
    if runs < 1:
        return None
    from ..bench import host
    from ..errors import UserError

    try:
        done = host.bench(path, runs=runs, warmup=2, threads=1, write=False, only=(f"{entry['target']}/{entry['variant']}",))
    except UserError:  # nothing here can run it
        return None
    ok = [d for d in done.results if d["status"] == "ok"]
    return float(ok[0]["results"]["latency_ms"]["p50"]) if ok else None


def main(argv: list[str]) -> int:
    spec_path = Path(argv[0])
    spec = json.loads(spec_path.read_text())
    row = run(spec)
    tmp = spec_path.parent / "row.json.tmp"
    tmp.write_text(json.dumps(row, indent=1, default=str))
    tmp.replace(spec_path.parent / "row.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
