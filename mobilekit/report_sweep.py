"""A compression sweep in the report: per target, metric drop against size and against host p50
(trials as points, the target's Pareto frontier as a staircase, the pick rule's winner starred),
and a table of every trial with its figures, its device latency when imported results exist for
its artifact, and the failed ones with their error and log.

Two ways in: `mobilekit sweep` writes `<sweep>/report.md`, `report.html` and `report/*.png` beside
results.json (`mobilekit report SWEEP_DIR` rewrites them, e.g. after a `bench import`), and
`mobilekit report BUNDLE --sweep SWEEP_DIR` adds the same section to the bundle's report.
"""

from __future__ import annotations

import html as html_mod
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import report_render as render
from .bundle import write_atomic
from .errors import BundleError, UserError
from .report_render import Plot

RESULTS = "results.json"
_AXES = (("size_bytes", "artifact size (kB)", 1e-3), ("latency", "host p50 (ms)", 1.0))


@dataclass
class SweepView:
    folder: Path
    doc: dict
    rows: list[dict] = field(default_factory=list)

    @property
    def winner(self) -> str | None:
        return self.doc["select"]["winner"]


@dataclass
class SweepReport:
    md: Path
    html: Path
    images: list[Path]
    trials: int


def is_sweep_folder(path: str | Path) -> bool:
    p = Path(path)
    return (p / RESULTS).is_file() and not (p / "manifest.json").exists()


def load(folder: str | Path, bundles: tuple[Path, ...] = ()) -> SweepView:
    """results.json of a sweep folder (any mobilekit.sweep/1, old rows included), with the device
    results found for its trials' artifacts (in the trial bundles and `bundles`) attached."""
    from .sweep.devices import attach
    from .sweep.results import validate

    folder = Path(folder)
    path = folder / RESULTS
    if not path.is_file():
        raise UserError(f"{folder} has no {RESULTS}", hint="Give the folder `mobilekit sweep` wrote (sweep.output_dir, or its --output).")
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        raise BundleError(f"{path} is not valid JSON", hint="Re-run `mobilekit sweep` to write it again.") from None
    validate(doc, str(path))
    attach(doc["trials"], folder, tuple(bundles))
    return SweepView(folder, doc, doc["trials"])


def write_sweep_report(folder: str | Path, bundles: tuple[Path, ...] = ()) -> SweepReport:
    """report.md, report.html and report/*.png in the sweep folder."""
    view = load(folder, bundles)
    plots_ = plots(view)
    images = render.write_images(view.folder, plots_)
    title = _title(view)
    md = view.folder / "report.md"
    write_atomic(md, ("\n".join([f"# {title}", "", *markdown(view, plots_, heading=False)]).rstrip() + "\n").encode("utf-8"))
    out = view.folder / "report.html"
    write_atomic(out, render.html_page(title, [f"<h1>{html_mod.escape(title)}</h1>", *html(view, plots_, heading=False)]).encode("utf-8"))
    return SweepReport(md, out, images, len(view.rows))


# -- figures ----------------------------------------------------------------------------------

def _label(r: dict) -> str:
    from .sweep.space import label

    return label(r["candidate"])


def _plotted(rows: list[dict], cost: str) -> list[tuple[float, float, dict]]:
    """(cost, drop, row) of the trials a plot of `cost` can place; failed trials never."""
    from .sweep.pareto import cost_of

    out = []
    for r in rows:
        c, d = cost_of(r, cost), r["figures"].get("metric_drop_pt")
        if r["status"] != "failed" and c is not None and d is not None:
            out.append((c, d, r))
    return out


def plots(view: SweepView, prefix: str = "") -> list[Plot]:
    """One figure per target (size and latency side by side), after one of all targets together."""
    targets = sorted({r["candidate"]["target"] for r in view.rows})
    out = []
    if len(targets) > 1 and _plotted(view.rows, "size_bytes"):
        out.append(_figure(view, view.rows, f"{prefix}frontier-all", "All targets",
                           "Every target's trials; the staircase is the sweep's frontier across formats."))
    for t in targets:
        rows = [r for r in view.rows if r["candidate"]["target"] == t]
        if not (_plotted(rows, "size_bytes") or _plotted(rows, "latency")):
            continue  # every trial failed or has no metric: the table says so
        out.append(_figure(view, rows, f"{prefix}frontier-{t}", f"Target {t}",
                           f"{t} trials only; the staircase is {t}'s own frontier (no other {t} trial is both "
                           "smaller or faster and at least as accurate)."))
    return out


def layout(view: SweepView, rows: list[dict], cost: str) -> dict:
    """What one plot of `cost` shows: the placed trials (id → (cost, drop)), the frontier's ids in
    staircase order, the pick when it is among them, and the trials left off with why."""
    from .sweep.pareto import frontier

    pts = {r["id"]: (c, d) for c, d, r in _plotted(rows, cost)}
    off = {r["id"]: ("failed" if r["status"] == "failed" else "no figure") for r in rows if r["id"] not in pts}
    return {"points": pts, "frontier": [i for i in frontier(rows, cost) if i in pts],
            "pick": view.winner if view.winner in pts else None, "left_off": off}


def _figure(view: SweepView, rows: list[dict], name: str, title: str, caption: str) -> Plot:
    from .sweep.space import parse_select

    fig = render.figure(11, 4.4)
    axes = fig.subplots(1, 2)
    _, within = parse_select(view.doc["select"]["rule"])
    by_id = {r["id"]: r for r in rows}
    targets = sorted({r["candidate"]["target"] for r in rows})
    for ax, (cost, xlabel, scale) in zip(axes, _AXES):
        lay = layout(view, rows, cost)
        pts = lay["points"]
        for i, t in enumerate(targets):
            color = render.COLORS.get(t, render.CYCLE[i % len(render.CYCLE)])
            for hollow in (False, True):  # unverified trials hollow: figures exist, the verdict did not pass
                sel = [pts[k] for k in pts if by_id[k]["candidate"]["target"] == t and (by_id[k]["status"] != "ok") == hollow]
                if sel:
                    ax.scatter([c * scale for c, _ in sel], [d for _, d in sel], s=46, zorder=3,
                               facecolors="none" if hollow else color, edgecolors=color,
                               label=f"{t}{' (unverified)' if hollow else ''}")
        for k, (c, d) in pts.items():
            ax.annotate(_label(by_id[k]).split("/", 1)[1], (c * scale, d), textcoords="offset points", xytext=(5, 4), fontsize=7)
        stair = [pts[k] for k in lay["frontier"]]
        if stair:
            ax.step([c * scale for c, _ in stair], [d for _, d in stair], where="post", color="black",
                    linestyle="--", linewidth=1, zorder=2)
            ax.scatter([c * scale for c, _ in stair], [d for _, d in stair], s=130, facecolors="none", edgecolors="black",
                       linewidths=1, zorder=2, label="frontier (ringed, joined)")
        if lay["pick"]:
            c, d = pts[lay["pick"]]
            ax.scatter([c * scale], [d], marker="*", s=320, color="#d62728", edgecolors="black", zorder=4, label="pick")
        if within is not None and pts:
            ax.axhline(within, color="#d62728", linewidth=0.8, linestyle=":", label=f"rule: drop ≤ {within:g} pt")
        if not pts:
            ax.text(0.5, 0.5, "no trial with this figure", ha="center", va="center", transform=ax.transAxes, color="#666")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("top-1 drop vs the source model (points)")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(f"{title}: metric drop against size and host p50 (down and left is better)")
    return Plot(name, f"Sweep frontier: {title}", render.png(fig), caption)


# -- text -------------------------------------------------------------------------------------

HEAD = ["trial", "candidate", "status", "top-1", "drop pt", "size", "host p50 ms", "device p50 / p90 ms",
        "frontier", "seconds", "note"]


def _device_cell(r: dict) -> str:
    return "; ".join(f"{render.ms(d['p50_ms'])} / {render.ms(d['p90_ms'])} ({d['device']}, {d['runtime']})"
                     for d in r.get("device") or []) or "-"


def table_rows(view: SweepView) -> list[list[str]]:
    from .sweep.pareto import latency

    front = view.doc["frontier"]
    out = []
    for r in view.rows:
        f = r["figures"]
        on = [k for k in ("size", "latency") if r["id"] in front.get(k, [])]
        note = r.get("error", "")[:160] if r["status"] != "ok" else ""
        if r["status"] == "failed":
            note = f"{note} (log {r['log']})"
        out.append([
            r["id"] + (" ★ pick" if r["id"] == view.winner else ""), _label(r), r["status"],
            f"{f['top1']:.4f}" if f.get("top1") is not None else "-",
            f"{f['metric_drop_pt']:+.2f}" if f.get("metric_drop_pt") is not None else "-",
            render.mb(f.get("size_bytes")), render.ms(latency(r)), _device_cell(r), ", ".join(on) or "-",
            f"{r['seconds']:.0f}" if r.get("seconds") is not None else "-", note,
        ])
    return out


def _title(view: SweepView) -> str:
    return f"{view.doc['name']} — mobilekit sweep"


def _summary(view: SweepView) -> list[str]:
    doc = view.doc
    failed = [r for r in view.rows if r["status"] == "failed"]
    wall = f" in {doc['wall_seconds']:.0f} s" if doc.get("wall_seconds") is not None else ""
    lines = [f"{len(view.rows)} trials ({len(failed)} failed){wall}, executor {doc.get('executor', '?')}"
             + ("" if doc.get("complete", True) else " — interrupted: only the finished trials are here") + ".",
             f"Pick rule `{doc['select']['rule']}`: " + (f"trial {view.winner}." if view.winner else "no trial qualifies.")]
    if failed:
        lines.append("Failed trials are listed in the table, not plotted.")
    no_lat = [_label(r) for r in view.rows if r["status"] != "failed" and not _plotted([r], "latency")]
    if no_lat:
        lines.append("Not on the latency plots (no host p50 or metric): " + ", ".join(no_lat) + ".")
    if not any(r.get("device") for r in view.rows):
        lines.append("No device results for these artifacts yet: `mobilekit bench import sweep/trials/<id>/<name> RESULTS.json` "
                     "(or into the exported winner) fills the device column.")
    return lines


def markdown(view: SweepView, plots_: list[Plot], heading: bool = True) -> list[str]:
    out = ["## Compression sweep", ""] if heading else []
    out += [line + "  " for line in _summary(view)] + [""]
    out += [render.md_table(HEAD, table_rows(view)), ""]
    for p in plots_:
        out += render.md_plot(p)
    return out


def html(view: SweepView, plots_: list[Plot], heading: bool = True) -> list[str]:
    e = html_mod.escape
    body = ["<h2>Compression sweep</h2>"] if heading else []
    body += [f"<p class=\"muted\">{e(x)}</p>" for x in _summary(view)]
    body.append(render.html_table(HEAD, table_rows(view)))
    body += [render.html_plot(p) for p in plots_]
    return body
