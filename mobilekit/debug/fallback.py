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
from .run import by_value, for_target, needs_capture, tracer


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
          options: Any, max_rounds: int, progress: Any, context: dict | None = None) -> list[dict]:
    """`context`: what a tracer that lowers the artifact again needs (`run.capture_context`: ExecuTorch)."""
    out = []
    for entry in entries:
        if not wants(entry):
            out.append(entry)
            continue
        rec = ArtifactRecord.from_dict(entry)
        given = {k: context[k] for k in ("program", "spec") if k in context} if context else {}
        keep = target.keep_float(rec, bundle_dir, work_dir, calibration, options, **given)
        if keep is None or tracer(rec.target) is None:
            entry["fallback"] = {"status": "not available", "reason": f"{rec.target}/{rec.variant} cannot keep layers in float"}
            out.append(entry)
            continue
        matcher = _matcher(rec, entries, bundle_dir, samples, context)
        if isinstance(matcher, str):
            entry["fallback"] = {"status": "not available", "reason": matcher}
            out.append(entry)
            continue
        out.append(_search(entry, rec, keep, torch_trace(), samples, check, bundle_dir, max_rounds, progress, matcher))
    return out


def _matcher(rec: ArtifactRecord, entries: list[dict], bundle_dir: Path, samples: list[dict], context: dict | None):
    """How this round's trace of the artifact is traced and matched to torch's nodes, as the
    debugger does it (`run._one`): a function (torch trace, kept layers) → (trace, matches), or why not."""
    trace = tracer(rec.target)
    path = Path(bundle_dir) / rec.path
    if needs_capture(rec.target):
        if not context or not context.get("program"):
            return f"{rec.target} is traced by lowering it again from the capture, which the caller did not give"
        base = for_target(context, rec.target)

        def traced(tt, kept):
            # the program is lowered again with the kept layers float, as the artifact now is
            opts = dict(base["options"])
            ctx = {**base, "options": {**opts, "keep_float": list(dict.fromkeys([*(opts.get("keep_float") or []), *kept]))}}
            tr = trace(path, rec, samples, **ctx)
            matches, _ = match.by_name(tt, tr, tt.outputs)
            return tr, matches

        return traced
    if by_value(rec.target):  # no source names: matched by value on the fp32 file of the same converter
        converter = (rec.made_by or {}).get("converter")
        sibling = next((e for e in entries if e.get("target") == rec.target and e.get("precision") == "fp32"
                        and (e.get("made_by") or {}).get("converter") == converter
                        and (Path(bundle_dir) / e.get("path", "")).is_file()), None)
        if sibling is None:
            return ("TFLite files keep no source tensor names; matching their layers needs the fp32 TFLite file of "
                    "the same converter in the bundle (add the `fp32` variant)")
        anchor: list = []

        def traced(tt, kept):
            if not anchor:
                a = trace(Path(bundle_dir) / sibling["path"], ArtifactRecord.from_dict(sibling), samples)
                anchor.append((a, match.by_anchor(tt, a)[0]))
            tr = trace(path, rec, samples)
            matches, _lost = match.transfer(anchor[0][1], anchor[0][0], tr)
            return tr, matches

        return traced

    def traced(tt, kept):
        tr = trace(path, rec, samples)
        return tr, match.by_name(tt, tr, [t.tensor for t in rec.outputs])[0]

    return traced


def _search(entry, rec, keep, tt, samples, check, bundle_dir, max_rounds, progress, traced) -> dict:
    label = f"{rec.target}/{rec.variant}"
    path = Path(bundle_dir) / rec.path
    original = _set_aside(path)
    kept_layers: list[str] = []
    kept_tensors: list[str] = []
    rounds: list[dict] = []
    current = entry
    try:
        for _ in range(max_rounds):
            tr, matches = traced(tt, kept_layers)
            ranked = sorted(layers_mod.compare(tt, tr, matches), key=lambda r: r.own_snr_db)
            pick, region = None, []
            for row in ranked:
                name = row.torch if keep.names == "torch" else row.artifact
                if name in kept_tensors:
                    continue
                region = [n for n in keep.region(name) if n not in kept_layers]
                if region:
                    pick = row
                    break
            if pick is None:
                break
            kept_tensors.append(pick.torch if keep.names == "torch" else pick.artifact)
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
