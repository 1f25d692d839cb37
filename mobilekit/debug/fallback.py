"""`[compression] fallback = "auto"`: an int8 artifact that fails its checks gets its worst layers
kept in float, one at a time, until it passes — the fewest layers the greedy order finds.

Each round traces the artifact as it is now (`mobilekit debug`'s comparison against torch), takes
the layer that adds the most error itself and is not yet in float, asks the target for the region
that keeps that tensor unquantized, re-quantizes and runs the export's own checks again (the same
verdict, metric and budgets). A round can make things worse before a later one fixes them (an
outlier tensor hurts whichever quantized layer reads it), so the search goes on to the round
limit; if no round passes, the plain int8 artifact is put back and the attempts are recorded.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from ..targets.base import ArtifactRecord
from ..verify.verdict import precision_class
from . import layers as layers_mod
from . import match
from .run import tracer


def _set_aside(path: Path) -> Path:
    """A copy of the plain artifact (a file, or a Core ML package folder) beside it, in staging."""
    copy = path.with_name(path.name + ".before-fallback")
    (shutil.copytree if path.is_dir() else shutil.copy2)(path, copy)
    return copy


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def _put_back(copy: Path, path: Path) -> None:
    _remove(path)
    copy.rename(path)


def _figures(entry: dict) -> dict:
    return {"status": entry.get("status"), "snr_db": (entry.get("parity") or {}).get("snr_db"),
            "top1_drop": (entry.get("metrics") or {}).get("top1_drop"), "size_bytes": entry.get("size_bytes"),
            "sha256": entry.get("sha256")}


def wants(entry: dict) -> bool:
    return entry.get("status") == "failed" and "parity" in entry and precision_class(entry.get("precision", "fp32")) == "int8"


def apply(entries: list[dict], target: Any, *, torch_trace: Callable[[], Any], samples: list[dict],
          check: Callable[[ArtifactRecord], dict], bundle_dir: Path, work_dir: Path, calibration: Path | None,
          options: Any, max_rounds: int, progress: Any) -> list[dict]:
    out = []
    for entry in entries:
        if not wants(entry):
            out.append(entry)
            continue
        rec = ArtifactRecord.from_dict(entry)
        keep = target.keep_float(rec, bundle_dir, work_dir, calibration, options)
        if keep is None or tracer(rec.target) is None:
            entry["fallback"] = {"status": "not available", "reason": f"{rec.target} cannot keep layers in float yet"}
            out.append(entry)
            continue
        out.append(_search(entry, rec, keep, torch_trace(), samples, check, bundle_dir, max_rounds, progress))
    return out


def _search(entry, rec, keep, tt, samples, check, bundle_dir, max_rounds, progress) -> dict:
    label = f"{rec.target}/{rec.variant}"
    path = Path(bundle_dir) / rec.path
    original = _set_aside(path)
    trace = tracer(rec.target)
    kept_layers: list[str] = []
    kept_tensors: list[str] = []
    rounds: list[dict] = []
    current = entry
    try:
        for _ in range(max_rounds):
            tr = trace(path, rec, samples)
            # only targets whose tensor names survive conversion keep layers in float (ONNX, Core ML)
            matches, _unmatched = match.by_name(tt, tr, [t.tensor for t in rec.outputs])
            ranked = sorted(layers_mod.compare(tt, tr, matches), key=lambda r: r.own_snr_db)
            pick, region = None, []
            for row in ranked:
                if row.artifact in kept_tensors:
                    continue
                region = [n for n in keep.region(row.artifact) if n not in kept_layers]
                if region:
                    pick = row
                    break
            if pick is None:
                break
            kept_tensors.append(pick.artifact)
            kept_layers.extend(region)
            keep.requantize(kept_layers)
            current = check(rec)
            rounds.append({"layer": pick.torch, "tensor": pick.artifact, "own_snr_db": pick.own_snr_db,
                           "kept_float": list(kept_layers), **_figures(current)})
            if current["status"] == "verified":
                break
    except BaseException:
        _put_back(original, path)  # an error or Ctrl-C mid-round: the plain artifact, as it was
        raise
    if current["status"] == "verified":
        _remove(original)
    else:
        _put_back(original, path)
    record = {"before": _figures(entry), "rounds": rounds, "kept_float": kept_layers,
              "layers": [r["layer"] for r in rounds]}
    if current is not entry and current["status"] == "verified":
        current["fallback"] = {"status": "passed", **record}
        current["compression"] = [*current.get("compression", []), {"kind": "float fallback", "kept_float": kept_layers}]
        drop = current["fallback"]["rounds"][-1]["top1_drop"]
        progress.done(f"fallback {label}", f"{len(kept_layers)} node(s) kept in float after {len(rounds)} round(s)"
                      + (f", top-1 drop {drop * 100:.2f} pt" if drop is not None else ""))
        return current
    # nothing passed: the plain int8 artifact is back (put back above), with its verdict
    entry["fallback"] = {"status": "did not pass", **record}
    progress.warn(f"{label}: fallback kept {len(kept_layers)} node(s) in float over {len(rounds)} round(s) and still fails; "
                  "the plain int8 artifact is kept")
    return entry
