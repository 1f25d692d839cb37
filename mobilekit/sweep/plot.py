"""frontier.png: metric drop against size and against host p50, one colour per target, the
frontier joined by a line. matplotlib (Agg) is imported only here."""

from __future__ import annotations

from pathlib import Path

from . import pareto
from .space import label


def plot(doc: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in doc["trials"] if r["status"] != "failed" and r["figures"].get("metric_drop_pt") is not None]
    by_id = {r["id"]: r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, cost, key, xlabel in ((axes[0], "size_bytes", "size", "artifact size (kB)"),
                                  (axes[1], "latency", "latency", "host p50 (ms)")):
        scale = 1e-3 if cost == "size_bytes" else 1.0
        for target in sorted({r["candidate"]["target"] for r in rows}):
            pts = [(pareto.cost_of(r, cost), r) for r in rows if r["candidate"]["target"] == target and pareto.cost_of(r, cost) is not None]
            ax.scatter([c * scale for c, _ in pts], [r["figures"]["metric_drop_pt"] for _, r in pts], label=target)
            for c, r in pts:
                ax.annotate(label(r["candidate"]).split("/", 1)[1], (c * scale, r["figures"]["metric_drop_pt"]), fontsize=7)
        front = [by_id[i] for i in doc["frontier"][key] if i in by_id]
        if front:
            ax.plot([pareto.cost_of(r, cost) * scale for r in front], [r["figures"]["metric_drop_pt"] for r in front], "k--", lw=1, label="frontier")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("top-1 drop (points)")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(f"mobilekit sweep: {doc['name']} ({len(doc['trials'])} trials)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
