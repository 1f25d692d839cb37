"""Frontier and pick rule on hand-made rows (the figures a real sweep writes)."""

from mobilekit.sweep import pareto


def _row(i, drop, size, p50=None, status="ok"):
    return {"id": i, "status": status, "candidate": {"target": "onnx", "variant": i, "prune": 0.0},
            "figures": {"metric_drop_pt": drop, "size_bytes": size, "host_p50_ms": p50}}


ROWS = [_row("a", 0.0, 250, 0.1), _row("b", 0.0, 130, 0.2), _row("c", 0.3, 70, 0.5),
        _row("d", 1.2, 60, 0.05), _row("e", 0.5, 140, 0.6), _row("f", 0.0, 10, 0.01, status="failed")]


def test_the_frontier_drops_dominated_and_failed_trials():
    assert pareto.frontier(ROWS, "size_bytes") == ["d", "c", "b"]  # cheapest first; e is beaten by b, f failed
    assert pareto.frontier(ROWS, "latency") == ["d", "a"]


def test_pick_rules():
    assert pareto.select(ROWS, "smallest within 0.5 pt")["id"] == "c"
    assert pareto.select(ROWS, "smallest within 2 pt")["id"] == "d"
    assert pareto.select(ROWS, "fastest within 0.5 pt")["id"] == "a"
    assert pareto.select(ROWS, "most accurate")["id"] == "b"  # ties on drop go to the smaller file
    assert pareto.select([r for r in ROWS if r["id"] == "d"], "smallest within 0.5 pt") is None


def test_latency_falls_back_to_the_verify_p50():
    r = _row("x", 0.0, 1)
    r["figures"].update(host_p50_ms=None, verify_p50_ms=0.4)
    assert pareto.latency(r) == 0.4
