"""Readable summaries of a bundle, for `mobilekit inspect` and the end of `export`."""

from __future__ import annotations

from .bundle import Bundle


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def summary_lines(bundle: Bundle) -> list[str]:
    m = bundle.manifest
    lines = [f"{m['name']} {m['version']} ({m['task']}) → {bundle.path}"]
    torch_metric = (m.get("metrics") or {}).get("torch", {}).get("top1")
    if torch_metric is not None:
        lines.append(f"  torch top-1 {torch_metric:.4f} on {m['metrics']['samples']} samples")
    tc = m.get("torch_compression")
    if tc:
        what = " + ".join(k for k in ("prune", "distill") if k in tc)
        src = (m.get("metrics") or {}).get("source", {}).get("top1")
        lines.append(f"  {what}: MACs ×{tc['macs_ratio']:.3f}, params ×{tc['params_ratio']:.3f}"
                     + (f"; source model top-1 {src:.4f} (drops are measured from it)" if src is not None else ""))
    lines.append(f"  {'artifact':26s} {'size':>9s}  {'status':10s} {'SNR dB':>7s} {'max abs':>9s} {'top-1 agr':>9s} {'top-1':>7s}  computed in")
    for a in m["artifacts"]:
        label = f"{a['target']}/{a['variant']}" + (f" {a['graph']}" if a.get("graph") else "")
        size = human_size(a["size_bytes"]) if "size_bytes" in a else "-"
        par = a.get("parity") or {}
        max_abs = f"{par['max_abs']:.2g}" if isinstance(par.get("max_abs"), (int, float)) else "-"
        snr = f"{par['snr_db']:.1f}" if isinstance(par.get("snr_db"), (int, float)) else "-"
        compute = a.get("verified_compute", "-") if a["status"] == "verified" else ""
        agree = f"{par['top1_agreement']:.3f}" if "top1_agreement" in par else "-"
        top1 = f"{a['metrics']['top1']:.4f}" if (a.get("metrics") or {}).get("top1") is not None else "-"
        lines.append(f"  {label:26s} {size:>9s}  {a['status']:10s} {snr:>7s} {max_abs:>9s} {agree:>9s} {top1:>7s}  {compute}")
        if a.get("verified_compute_note"):
            lines.append(f"      note: {a['verified_compute_note']}")
        if a.get("decoding"):  # translation: greedy decoding of the held-out sentences against torch's
            d = a["decoding"]
            ties = f" (+{d['ties']} near-tie flips)" if d.get("ties") else ""
            lines.append(f"      token-exact {d['token_exact']:.2%}{ties} of {d['sentences']}, exact match {d['exact_match']:.3f}, BLEU {d['bleu']:.1f}")
        if a["status"] == "unverified":
            lines.append(f"      unverified: {a['status_reason']}")
        elif a["status"] == "failed":
            lines.append(f"      failed: {a['error']}" + (f" (log: {a['log']})" if a.get("log") else ""))
    return lines
