"""The Pareto frontier of finished trials and the pick rule (`smallest within 0.5 pt`)."""

from __future__ import annotations

from .space import parse_select


def cost_of(r: dict, cost: str) -> float | None:
    return latency(r) if cost == "latency" else r["figures"].get(cost)


def frontier(rows: list[dict], cost: str) -> list[str]:
    """Ids of the trials no other trial beats on both metric drop and `cost` ("size_bytes" or
    "latency"), cheapest first. Failed trials are not candidates."""
    pts = [(r["id"], r["figures"]["metric_drop_pt"], cost_of(r, cost)) for r in rows
           if r["status"] != "failed" and r["figures"].get("metric_drop_pt") is not None and cost_of(r, cost) is not None]
    keep = [(i, d, c) for i, d, c in pts
            if not any(d2 <= d and c2 <= c and (d2 < d or c2 < c) for _, d2, c2 in pts)]
    return [i for i, _, _ in sorted(keep, key=lambda p: (p[2], p[1], p[0]))]


def latency(r: dict) -> float | None:
    f = r["figures"]
    return f.get("host_p50_ms") if f.get("host_p50_ms") is not None else f.get("verify_p50_ms")


def select(rows: list[dict], rule: str) -> dict | None:
    """The trial the rule picks among those that passed verification, or None."""
    how, within = parse_select(rule)
    ok = [r for r in rows if r["status"] == "ok" and r["figures"].get("metric_drop_pt") is not None]
    if within is not None:
        ok = [r for r in ok if r["figures"]["metric_drop_pt"] <= within + 1e-9]
    if how == "smallest":
        ok = [r for r in ok if r["figures"].get("size_bytes") is not None]
        key = lambda r: (r["figures"]["size_bytes"], r["figures"]["metric_drop_pt"], r["id"])
    elif how == "fastest":
        ok = [r for r in ok if latency(r) is not None]
        key = lambda r: (latency(r), r["figures"]["metric_drop_pt"], r["id"])
    else:
        key = lambda r: (r["figures"]["metric_drop_pt"], r["figures"].get("size_bytes") or 0, r["id"])
    return min(ok, key=key) if ok else None
