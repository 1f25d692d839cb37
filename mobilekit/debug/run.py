"""`debug_bundle`: every artifact of a bundle, layer by layer against the torch model it came from.

The bundle holds no torch model, so the config it was exported from gives it again; the golden
outputs prove it is the same model before anything is compared.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import tasks
from ..bundle import Bundle, inside
from ..errors import UserError
from ..targets.base import ArtifactRecord
from ..verify import verdict
from . import layers as layers_mod
from . import match
from .placement import estimate
from .trace import NotTraceable

SCHEMA = "mobilekit.debug/1"
DEFAULT_SAMPLES = 8
SAME_MODEL_MIN_SNR_DB = 60.0  # torch on the golden inputs vs the bundle's golden outputs


def tracer(target: str):
    """The target's tracer (its `tracer` hook), or None."""
    t = _target(target)
    return t.tracer() if t is not None else None


def _target(name: str):
    from ..errors import MobileKitError
    from ..targets import base

    try:
        return base.get(name)
    except MobileKitError:  # a bundle from an install with another target
        return None


def needs_capture(target: str) -> bool:
    t = _target(target)
    return bool(t is not None and t.trace_needs_capture)


def by_value(target: str) -> bool:
    t = _target(target)
    return bool(t is not None and t.trace_by_value)


def debug_bundle(bundle: Bundle, cfg: Any, *, artifacts: list[str] | None = None, data: str | None = None,
                 samples: int = DEFAULT_SAMPLES, base_dir: str | Path = ".", placement: bool = True) -> dict:
    if tasks.registered(bundle.manifest.get("task", "")):
        raise UserError(f"{bundle.path} is a {bundle.manifest['task']} bundle: `mobilekit debug` compares single-graph models",
                        hint="Its encoder and decoder-step graphs are not traced yet; `mobilekit verify` decodes its sentences again.")
    if samples < 1:
        raise UserError(f"--samples {samples}: needs at least 1", hint="Give a positive number (default 8).")
    labels = {f"{a['target']}/{a['variant']}": a for a in bundle.artifacts}
    chosen = artifacts or list(labels)
    unknown = [c for c in chosen if c not in labels]
    if unknown:
        raise UserError(f"--artifact {unknown[0]}: the bundle has no such artifact", hint=f"Choose from: {', '.join(labels)}.")

    from ..capture import capture
    from ..source import load as load_source
    from ..spec import from_config
    from .torch_trace import torch_values

    from ..reverify import load_golden

    spec = from_config(cfg)
    golden_in, golden_out = load_golden(bundle)
    inputs = _samples(spec, data, samples, base_dir) if data else golden_in[:samples]
    loaded = load_source(cfg)
    with tempfile.TemporaryDirectory(prefix="mobilekit-debug-") as work:
        captured = capture(loaded, spec, Path(work))
        _same_model(bundle, captured, spec, golden_in[:samples], golden_out[:samples])  # with --data too
        tt = torch_values(captured.program, spec, inputs)
        result = {"schema": SCHEMA, "bundle": str(bundle.path), "samples": len(inputs), "data": data or "golden",
                  "torch_nodes": len(tt.order), "artifacts": {}}
        anchors: dict[str, Any] = {}
        context = _capture_context(cfg, spec, captured.program, chosen, labels, Path(work))
        for label in chosen:
            result["artifacts"][label] = _one(bundle, labels[label], tt, inputs, labels, anchors, placement, context)
    return result


def _capture_context(cfg, spec, program: Path, chosen: list[str], labels: dict, work: Path) -> dict:
    """`capture_context` for `mobilekit debug`: the calibration inputs are loaded again from the
    config, as the export wrote them for the converters."""
    if not any(needs_capture(labels[c]["target"]) for c in chosen):
        return {}
    calibration = None
    if getattr(cfg.calibration, "data", None) and any(needs_capture(labels[c]["target"]) and labels[c]["variant"] == "int8"
                                                       for c in chosen):
        from ..data import load as load_data

        ds = load_data(cfg.calibration.data, spec, key="calibration.data", base_dir=cfg.base_dir, limit=cfg.calibration.limit)
        calibration = work / "calibration.npz"
        np.savez(calibration, **ds.inputs)
    return capture_context(cfg, spec, program, calibration)


def capture_context(cfg, spec, program: Path, calibration: Path | None) -> dict:
    """What a tracer that lowers the artifact again needs (`trace_needs_capture`): the capture, the
    spec, the targets' options (each tracer gets its own, `_for_entry`) and the calibration inputs
    the export used."""
    import dataclasses

    options = {name: dataclasses.asdict(o) if dataclasses.is_dataclass(o) else dict(o or {})
               for name, o in (getattr(cfg, "target_options", None) or {}).items()}
    return {"program": Path(program), "spec": spec.to_dict(), "options_by_target": options, "calibration": calibration}


def for_target(context: dict | None, target: str) -> dict:
    """The capture context as one target's tracer takes it: its own options under `options`."""
    if not context:
        return {}
    out = {k: v for k, v in context.items() if k != "options_by_target"}
    out["options"] = dict((context.get("options_by_target") or {}).get(target) or {})
    return out


def _for_entry(context: dict, entry: dict) -> dict:
    """For one artifact: its target's options with the nodes it kept float (`[compression]
    keep_float`, the accuracy fallback) — lowered again without them, it is another program."""
    out = for_target(context, entry["target"])
    kept = [n for c in entry.get("compression") or [] if c.get("kind") == "float fallback"
            for n in (c.get("nodes") or c.get("kept_float") or [])]
    kept += (entry.get("fallback") or {}).get("kept_float") or []
    if out and kept:
        out["options"]["keep_float"] = list(dict.fromkeys([*(out["options"].get("keep_float") or []), *kept]))
    return out


SUMMARY_WORST = 3


def summarize_failures(bundle_dir: Path, entries: list[dict], torch_trace, samples: list[dict],
                       context: dict | None = None) -> None:
    """At export: each artifact that failed its parity or metric checks gets `debug` — the first
    layer below its threshold and the layers that add the most error — so the manifest says where
    it went wrong (`mobilekit debug` gives every layer)."""
    labels = {f"{e['target']}/{e['variant']}": e for e in entries if "variant" in e}
    anchors: dict[str, Any] = {}
    bundle = Bundle(Path(bundle_dir), {"artifacts": entries})
    for entry in entries:
        if entry.get("status") != "failed" or "parity" not in entry or "debug" in entry or tracer(entry["target"]) is None:
            continue
        if needs_capture(entry["target"]) and not context:
            continue  # the caller gave no capture to lower it again from
        try:
            art = _one(bundle, entry, torch_trace(), samples, labels, anchors, placement=False, context=context)
        except Exception as exc:  # a diagnosis must not take the export down; say it failed, in the manifest
            entry["debug"] = {"error": f"{type(exc).__name__}: {str(exc).strip()[:300]}"}
            continue
        if art["status"] != "compared":
            entry["debug"] = {"status": art["status"], "reason": art["reason"]}
            continue
        worst = sorted(art["layers"], key=lambda r: r["own_snr_db"])[:SUMMARY_WORST]
        entry["debug"] = {"runtime": art["runtime"], "samples": len(samples), "threshold_db": art["threshold_db"],
                          "first_below": art["first_below"], "worst_own": worst,
                          "layers": [{k: r[k] for k in ("torch", "snr_db", "channel_snr_db", "own_snr_db")} for r in art["layers"]],
                          "torch_nodes_unmatched": len(art["unmatched"]),
                          "how": "mobilekit debug BUNDLE --artifact " + f"{entry['target']}/{entry['variant']} for every layer"}


def _samples(spec, data: str, n: int, base_dir) -> list[dict]:
    from ..data import load as load_data

    ds = load_data(data, spec, key="--data", base_dir=base_dir, limit=n)
    return [ds.sample(i) for i in range(min(n, len(ds)))]


def _same_model(bundle: Bundle, captured, spec, inputs: list[dict], golden: list[dict]) -> None:
    from ..capture import run_torch

    for i, (feeds, want) in enumerate(zip(inputs, golden)):
        got = run_torch(captured.module, spec, feeds)
        for out, value in zip(spec.outputs, got):
            snr = verdict.output_figures(np.asarray(want[out.name])[None], value[None])["snr_db"]
            if not snr >= SAME_MODEL_MIN_SNR_DB:
                raise UserError(f"the config's model is not the one {bundle.path} was exported from: its output "
                                f"{out.name!r} on golden sample {i} is {snr:.1f} dB from the bundle's",
                                hint="Pass the config (and weights) the bundle was exported with: --config PATH.")


def _one(bundle: Bundle, entry: dict, tt, inputs: list[dict], labels: dict, anchors: dict, placement: bool,
         context: dict | None = None) -> dict:
    target = entry["target"]
    out: dict[str, Any] = {"target": target, "variant": entry["variant"], "precision": entry.get("precision")}
    path = inside(bundle.path, entry["path"])
    if not path.exists():
        return {**out, "status": "skipped", "reason": f"{entry['path']} is not in the bundle ({entry.get('status')})"}
    if placement:
        out["placement"] = estimate(target, path, entry)
    trace_fn = tracer(target)
    if trace_fn is None:
        return {**out, "status": "not traced", "reason": f"no tracer for {target} artifacts"}
    rec = ArtifactRecord.from_dict(entry)
    try:
        tr = trace_fn(path, rec, inputs, **_for_entry(context or {}, entry)) if needs_capture(target) else trace_fn(path, rec, inputs)
    except NotTraceable as exc:
        return {**out, "status": "not traced", "reason": str(exc)}
    if by_value(target):
        matches, unmatched = _matches_by_value(bundle, entry, rec, tr, tt, inputs, labels, anchors)
        if matches is None:
            return {**out, "status": "not traced", "reason": unmatched}
    elif tr.covers:  # ExecuTorch: layers hold torch nodes' values by debug handle (tr.aliases), outputs included
        matches, unmatched = match.by_name(tt, tr, tt.outputs)
        unmatched = match.inside_layers(unmatched, tr)
    else:
        matches, unmatched = match.by_name(tt, tr, [t.tensor for t in rec.outputs])
    rows = layers_mod.compare(tt, tr, matches)
    threshold = float((entry.get("tolerance") or {}).get("min_snr_db") or verdict.rule_for(entry.get("precision", "fp32")).min_snr_db)
    first = next((r for r in rows if r.snr_db < threshold), None)
    outs = [r.snr_db for r in rows if r.torch in tt.outputs]
    matched_artifact = {m.artifact for m in matches.values()}
    return {**out, "status": "compared", "runtime": tr.runtime, "graph": tr.graph, "threshold_db": threshold,
            "output_snr_db": min(outs) if outs else math.nan,
            "first_below": first.to_dict() if first else None,
            "layers": [r.to_dict() for r in rows],
            "unmatched": unmatched,
            "artifact_tensors_unmatched": sorted(set(tr.order) - matched_artifact),
            "notes": tr.notes, **({"covers": tr.covers} if tr.covers else {})}


def _matches_by_value(bundle, entry, rec, tr, tt, inputs, labels, anchors):
    """A file without source names (TFLite): anchored on the fp32 file of the same target and
    converter (this one, if it is fp32), whose tensors match torch's by value."""
    converter = (entry.get("made_by") or {}).get("converter")
    if entry.get("precision") == "fp32":
        return match.by_anchor(tt, tr)
    sibling = next((a for a in labels.values() if a["target"] == entry["target"] and a.get("precision") == "fp32"
                    and (a.get("made_by") or {}).get("converter") == converter
                    and inside(bundle.path, a["path"]).exists()), None)
    if sibling is None:
        return None, (f"{entry['target']} files keep no source tensor names; matching needs the fp32 file of the same "
                      "converter in the bundle (export the `fp32` variant too)")
    key = sibling["path"]
    if key not in anchors:
        anchor = tracer(entry["target"])(inside(bundle.path, key), ArtifactRecord.from_dict(sibling), inputs)
        anchors[key] = (anchor, *match.by_anchor(tt, anchor))
    anchor, matches, unmatched = anchors[key]
    kept, lost = match.transfer(matches, anchor, tr)
    return kept, {**unmatched, **lost}
