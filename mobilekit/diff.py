"""`mobilekit diff OLD NEW`: artifact by artifact, what changed, and whether it passes the gate."""

from __future__ import annotations

from dataclasses import dataclass

from .bundle import Bundle
from .inspect import human_size


@dataclass
class DiffThresholds:
    """Limits on a change between two bundles; None = not checked."""

    max_size_growth: float | None = 0.10  # fraction: 0.10 = 10% bigger
    max_metric_drop: float | None = 0.5  # points of top-1
    max_latency_growth: float | None = None  # fraction of host p50 (noisy on shared machines)
    max_parity_growth: float | None = None  # factor on max abs error (e.g. 10 = ten times worse)

    def check(self, key: str) -> None:
        from .errors import ConfigError

        for name, value in vars(self).items():
            if value is not None and value < 0:
                raise ConfigError(f"{key}.{name}", f"must be >= 0, got {value}")


def _key(a: dict) -> tuple[str, str]:
    return a["target"], a["variant"]


def compare(old: Bundle, new: Bundle, limits: DiffThresholds) -> tuple[list[dict], list[str]]:
    """Rows (one per artifact in either bundle) and the lines of every broken threshold."""
    olds = {_key(a): a for a in old.artifacts}
    news = {_key(a): a for a in new.artifacts}
    rows, broken = [], []
    for key in list(olds) + [k for k in news if k not in olds]:
        o, n = olds.get(key), news.get(key)
        label = "/".join(key)
        row = {"artifact": label, "old": _figures(o), "new": _figures(n)}
        rows.append(row)
        if o is None or n is None:
            row["change"] = "added" if o is None else "removed"
            continue
        if n["status"] == "failed" and o["status"] != "failed":
            broken.append(f"{label}: now fails ({n.get('error', '')[:120]})")
        so, sn = row["old"]["size_bytes"], row["new"]["size_bytes"]
        if limits.max_size_growth is not None and so and sn and sn > so * (1 + limits.max_size_growth):
            broken.append(f"{label}: size grew {100 * (sn / so - 1):.1f}% ({human_size(so)} → {human_size(sn)}) > {100 * limits.max_size_growth:.0f}%")
        mo, mn = row["old"]["top1"], row["new"]["top1"]
        if limits.max_metric_drop is not None and mo is not None and mn is not None and (mo - mn) * 100 > limits.max_metric_drop:
            broken.append(f"{label}: top-1 dropped {(mo - mn) * 100:.2f} points ({mo:.4f} → {mn:.4f}) > {limits.max_metric_drop}")
        lo, ln = row["old"]["p50_ms"], row["new"]["p50_ms"]
        if limits.max_latency_growth is not None and lo and ln and ln > lo * (1 + limits.max_latency_growth):
            broken.append(f"{label}: host p50 grew {100 * (ln / lo - 1):.1f}% ({lo:.3f} → {ln:.3f} ms) > {100 * limits.max_latency_growth:.0f}%")
        po, pn = row["old"]["max_abs"], row["new"]["max_abs"]
        if limits.max_parity_growth is not None and po is not None and pn is not None and pn > max(po, 1e-12) * limits.max_parity_growth:
            broken.append(f"{label}: max abs error grew {pn / max(po, 1e-12):.1f}× ({po:.3g} → {pn:.3g}) > {limits.max_parity_growth}×")
    return rows, broken


def _figures(a: dict | None) -> dict:
    if a is None:
        return {"status": None, "size_bytes": None, "max_abs": None, "top1": None, "p50_ms": None}
    return {
        "status": a["status"],
        "size_bytes": a.get("size_bytes"),
        "max_abs": (a.get("parity") or {}).get("max_abs"),
        "top1": (a.get("metrics") or {}).get("top1"),
        "p50_ms": (a.get("latency_ms") or {}).get("p50"),
    }


def lines(rows: list[dict]) -> list[str]:
    def fmt(v, kind):
        if v is None:
            return "-"
        return {"size": human_size(v) if kind == "size" else "", "top1": f"{v:.4f}", "ms": f"{v:.3f}", "abs": f"{v:.2g}"}[kind] or str(v)

    out = [f"{'artifact':24s} {'size old → new':>24s} {'top-1 old → new':>18s} {'p50 ms old → new':>20s}"]
    for r in rows:
        o, n = r["old"], r["new"]
        out.append(
            f"{r['artifact']:24s} {fmt(o['size_bytes'], 'size'):>10s} → {fmt(n['size_bytes'], 'size'):<11s}"
            f" {fmt(o['top1'], 'top1'):>7s} → {fmt(n['top1'], 'top1'):<8s}"
            f" {fmt(o['p50_ms'], 'ms'):>8s} → {fmt(n['p50_ms'], 'ms'):<9s} {r.get('change', '')}"
        )
    return out
