"""A debug result as a table (worst first), as JSON, and as a Model Explorer node-data overlay."""

from __future__ import annotations

import json
from pathlib import Path

from ..verify.verdict import SNR_CAP_DB

WORST_SHOWN = 15


def placement_line(p: dict) -> str | None:
    if not p:
        return None
    if "nnapi" in p:
        parts = []
        for ep, name in (("nnapi", "NNAPI"), ("coreml", "Core ML EP")):
            e = p[ep]
            missing = f" (unsupported: {', '.join(e['unsupported_ops'])})" if e["unsupported_ops"] else ""
            parts.append(f"{name} {e['supported_nodes']}/{e['nodes']} nodes in {e['partitions']} partition(s){missing}")
        return f"  placement, estimated by {p['source'].split(' (')[0]}: " + "; ".join(parts)
    if "gpu_compatible" in p:
        verdict = "compatible" if p["gpu_compatible"] else f"{len(p['warnings'])} incompatible op(s)"
        return f"  placement, estimated by the TFLite Analyzer (optimistic): GPU delegate {verdict}"
    if "summary" in p:
        return f"  placement (ExecuTorch, exact): {p['summary']}"
    return f"  placement: {p['note']}" if p.get("note") else None


def table(result: dict) -> list[str]:
    lines = []
    for label, art in result["artifacts"].items():
        where = placement_line(art.get("placement") or {})
        if art["status"] != "compared":
            lines.append(f"{label}: {art['status']} — {art['reason']}")
            lines.extend([where] if where else [])
            continue
        first = art.get("first_below")
        lines.append(f"{label}: {len(art['layers'])} layers matched, {len(art['unmatched'])} torch nodes unmatched; "
                     f"{art['runtime']}; output SNR {art['output_snr_db']:.1f} dB (threshold {art['threshold_db']:g} dB)")
        lines.extend([where] if where else [])
        if first:
            lines.append(f"  first layer below {art['threshold_db']:g} dB: {first['torch']} ({first['op']}) at {first['snr_db']:.1f} dB")
        lines.append(f"  {'layer':<28} {'op':<22} {'SNR dB':>8} {'chan dB':>8} {'own dB':>8} {'in dB':>8} {'cosine':>9} {'max abs':>9}")
        worst = sorted(art["layers"], key=lambda r: r["own_snr_db"])[:WORST_SHOWN]
        for r in worst:
            mark = "  ◀ first below" if first and r["torch"] == first["torch"] else ""
            inh = "input" if r["inherited_snr_db"] is None else f"{r['inherited_snr_db']:.1f}"
            own = "—" if r["own_snr_db"] >= SNR_CAP_DB else f"{r['own_snr_db']:.1f}"  # adds nothing measurable
            lines.append(f"  {r['torch'][:28]:<28} {r['op'][:22]:<22} {r['snr_db']:8.1f} {r['channel_snr_db']:8.1f} {own:>8} {inh:>8} "
                         f"{r['cosine']:9.5f} {r['max_abs']:9.3g}{mark}")
        if len(art["layers"]) > WORST_SHOWN:
            lines.append(f"  … {len(art['layers']) - WORST_SHOWN} more in --json")
    return lines


def explorer_overlay(art: dict) -> dict:
    """Model Explorer node data: each matched tensor (keyed by the artifact's output tensor name)
    coloured by its SNR in dB, red at the threshold and below, green at 60 dB and above."""
    results = {}
    covers = art.get("covers") or {}
    for r in art["layers"]:
        # an ExecuTorch layer colours every node of the captured program it covers (a delegate
        # call's figure is that of its output): open the capture's graph, its nodes are these
        for key in covers.get(r["artifact"]) or [r["artifact"]]:
            results[key] = {"value": round(min(r["snr_db"], 200.0), 2)}
    low, high = art["threshold_db"], max(art["threshold_db"] + 1.0, 60.0)
    return {art.get("graph", "main"): {
        "results": results,
        "thresholds": [{"value": low, "bgColor": "#d73027"}, {"value": high, "bgColor": "#fee08b"},
                       {"value": 1e9, "bgColor": "#1a9850"}],
    }}


def write_overlays(result: dict, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for label, art in result["artifacts"].items():
        if art["status"] != "compared":
            continue
        path = folder / f"{label.replace('/', '-')}.node-data.json"
        path.write_text(json.dumps(explorer_overlay(art), indent=1) + "\n")
        written.append(path)
    return written
