"""`mobilekit report BUNDLE [--sweep DIR]`: report.md and a self-contained report.html in the bundle.

What it shows, from the manifest and every valid `bench/*.json` (host and imported device
results):

- a table of the artifacts (size, precision, status, parity, task metric),
- a table of the benchmarks (per device and runtime configuration: load, first inference,
  p50/p90/p99, peak memory), and the ones that failed or could not run,
- plots: size per artifact, latency per artifact × device × configuration, task metric per
  artifact, the size / latency / accuracy trade-off, and each artifact's parity,
- with `sweep=`, a compression sweep's trials, frontiers and pick (report_sweep.py).

report.html embeds the plots (report_render.py) as data URIs and has no script or external
reference, so it opens offline; report.md links the same PNGs, written to `report/`. The
manifest is not changed.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

from . import report_render as render
from .bench import results as res
from .bundle import Bundle, load_bundle, write_atomic
from .report_render import Plot

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
IMAGES_DIR = render.IMAGES_DIR


@dataclass
class Report:
    md: Path
    html: Path
    images: list[Path] = field(default_factory=list)
    results: int = 0
    ignored: list[str] = field(default_factory=list)
    sweep_trials: int = 0  # rows of the sweep shown, when one was given


def write_report(path: str | Path, sweep: str | Path | None = None) -> Report:
    """Write report.md, report.html and report/*.png into the bundle at `path`; with `sweep`
    (a `mobilekit sweep` folder) a section on its trials too, device results of this bundle
    matched to the trials' artifacts by sha256."""
    bundle = load_bundle(path, check_files=False)
    docs, ignored = res.load_all(bundle.path)
    plots = _plots(bundle, docs)
    sweep_md: list[str] = []
    sweep_html: list[str] = []
    sweep_plots: list[Plot] = []
    trials = 0
    if sweep is not None:
        from . import report_sweep

        view = report_sweep.load(sweep, bundles=(bundle.path,))
        sweep_plots = report_sweep.plots(view, prefix="sweep-")
        sweep_md, sweep_html, trials = report_sweep.markdown(view, sweep_plots), report_sweep.html(view, sweep_plots), len(view.rows)
    images = render.write_images(bundle.path, plots + sweep_plots)
    md = bundle.path / REPORT_MD
    text = _markdown(bundle, docs, ignored, plots)
    write_atomic(md, ("\n".join([text.rstrip(), "", *sweep_md]).rstrip() + "\n").encode("utf-8"))
    out = bundle.path / REPORT_HTML
    write_atomic(out, _html(bundle, docs, ignored, plots, sweep_html).encode("utf-8"))
    return Report(md, out, images, len(docs), ignored, trials)


# -- data -------------------------------------------------------------------------------------

def _label(a: dict) -> str:
    return f"{a['target']}/{a['variant']}"


def _by_sha(bundle: Bundle) -> dict[str, dict]:
    return {a["sha256"]: a for a in bundle.artifacts if a.get("sha256")}


def _ok(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["status"] == "ok"]


def _series(d: dict) -> str:
    return f"{res.device_label(d)} · {res.config_label(d)}"


# -- plots ------------------------------------------------------------------------------------

def _plots(bundle: Bundle, docs: list[dict]) -> list[Plot]:
    arts = [a for a in bundle.artifacts if a.get("size_bytes") is not None]
    plots = []
    if arts:
        plots.append(_size_plot(arts))
    ok = _ok(docs)
    if ok:
        plots.append(_latency_plot(bundle, ok))
    metric_arts = [a for a in bundle.artifacts if isinstance((a.get("metrics") or {}).get("top1"), (int, float))]
    if metric_arts:
        plots.append(_metric_plot(bundle, metric_arts))
    trade = _tradeoff_plot(bundle, ok)
    if trade:
        plots.append(trade)
    par = [a for a in bundle.artifacts if isinstance((a.get("parity") or {}).get("max_abs"), (int, float))]
    if par:
        plots.append(_parity_plot(par))
    plots.extend(_layer_plot(a) for a in bundle.artifacts if (a.get("debug") or {}).get("layers"))
    return plots


def _size_plot(arts: list[dict]) -> Plot:
    fig = render.figure(7.5, 0.5 * len(arts) + 1.4)
    ax = fig.add_subplot()
    labels = [_label(a) for a in arts]
    sizes = [a["size_bytes"] / 1024 for a in arts]
    y = range(len(arts))
    bars = ax.barh(list(y), sizes, color=[render.COLORS.get(a["target"], "#7f7f7f") for a in arts])
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    ax.set_xlabel("size (KB)")
    ax.set_title("Size per artifact")
    for b, a in zip(bars, arts):
        ax.annotate(f" {render.mb(a['size_bytes'])} · {a.get('precision', '')}", (b.get_width(), b.get_y() + b.get_height() / 2),
                    va="center", fontsize=8)
    ax.set_xlim(0, max(sizes) * 1.35 if sizes and max(sizes) > 0 else 1)
    ax.grid(axis="x", alpha=0.3)
    return Plot("size", "Size per artifact", render.png(fig), "File (or .mlpackage folder) size of each artifact.")


def _latency_plot(bundle: Bundle, ok: list[dict]) -> Plot:
    ok = sorted(ok, key=lambda d: (res.label(d), res.device_label(d), res.config_label(d)))
    devices = sorted({res.device_label(d) for d in ok})
    color = {s: render.CYCLE[i % len(render.CYCLE)] for i, s in enumerate(devices)}
    fig = render.figure(8.5, 0.42 * len(ok) + 1.8)
    ax = fig.add_subplot()
    y = list(range(len(ok)))
    p50 = [d["results"]["latency_ms"]["p50"] or d["results"]["latency_ms"]["mean"] for d in ok]
    p90 = [d["results"]["latency_ms"]["p90"] for d in ok]
    err = [[0] * len(ok), [max(0.0, (b if b is not None else a) - a) for a, b in zip(p50, p90)]]
    ax.barh(y, p50, xerr=err, color=[color[res.device_label(d)] for d in ok], capsize=3, error_kw={"elinewidth": 1})
    ax.set_yticks(y, [f"{res.label(d)}  ({res.config_label(d)})" for d in ok], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("latency per inference (ms): bar p50, whisker p90")
    ax.set_title("Latency per artifact, device and configuration")
    ax.grid(axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=color[s], label=s) for s in devices], fontsize=7, loc="lower right")
    caption = "Bars are coloured by device. Golden inputs on every device (benchmark_model results: random inputs)."
    return Plot("latency", "Latency", render.png(fig), caption)


def _metric_plot(bundle: Bundle, arts: list[dict]) -> Plot:
    fig = render.figure(7.5, 0.5 * len(arts) + 1.6)
    ax = fig.add_subplot()
    vals = [a["metrics"]["top1"] for a in arts]
    y = list(range(len(arts)))
    ax.barh(y, vals, color=[render.COLORS.get(a["target"], "#7f7f7f") for a in arts])
    ax.set_yticks(y, [_label(a) for a in arts])
    ax.invert_yaxis()
    ref = ((bundle.manifest.get("metrics") or {}).get("torch") or {}).get("top1")
    lo = min(vals + ([ref] if ref is not None else []))
    ax.set_xlim(max(0.0, lo - 0.05), 1.0)
    if ref is not None:
        ax.axvline(ref, color="black", linestyle="--", linewidth=1, label=f"torch {ref:.4f}")
        ax.legend(fontsize=8, loc="lower left")
    for yi, v in zip(y, vals):
        ax.annotate(f" {v:.4f}", (v, yi), va="center", fontsize=8)
    n = (bundle.manifest.get("metrics") or {}).get("samples")
    ax.set_xlabel("top-1 accuracy" + (f" on {n} samples" if n else ""))
    ax.set_title("Task metric per artifact")
    ax.grid(axis="x", alpha=0.3)
    return Plot("metric", "Task metric", render.png(fig), "Measured on the host runtime at export; the same file gives the same numbers on a device up to kernel rounding.")


def _accuracy_kind(arts: list[dict]) -> tuple[str, str] | None:
    """The accuracy figure every artifact in `arts` has: (key, label)."""
    for key, label in (("metrics.top1", "top-1 accuracy"), ("parity.top1_agreement", "top-1 agreement with torch"),
                       ("parity.cosine", "cosine similarity to torch")):
        if arts and all(_figure_of(a, key) is not None for a in arts):
            return key, label
    return None


def _figure_of(a: dict, key: str) -> float | None:
    group, name = key.split(".")
    v = (a.get(group) or {}).get(name)
    return float(v) if isinstance(v, (int, float)) else None


def _tradeoff_plot(bundle: Bundle, ok: list[dict]) -> Plot | None:
    from matplotlib.lines import Line2D

    by_sha = _by_sha(bundle)
    points = []  # (x, y, size, label, series)
    pairs = [(d, by_sha[d["model"]["sha256"]]) for d in ok if d["model"]["sha256"] in by_sha]
    kind = _accuracy_kind([a for _, a in pairs])
    if pairs and kind:
        for d, a in pairs:
            lat = d["results"]["latency_ms"]
            points.append((lat["p50"] or lat["mean"], _figure_of(a, kind[0]), a.get("size_bytes") or 0, _label(a), _series(d)))
        xlabel = "p50 latency (ms)"
    else:
        arts = [a for a in bundle.artifacts if a.get("size_bytes") is not None]
        kind = _accuracy_kind([a for a in arts if a["status"] != "failed"])
        if not kind:
            return None
        for a in arts:
            if a["status"] != "failed":
                points.append((a["size_bytes"] / 1024, _figure_of(a, kind[0]), a["size_bytes"], _label(a), "artifacts"))
        xlabel = "size (KB)"
    if not points:
        return None
    fig = render.figure(7.5, 4.6)
    ax = fig.add_subplot()
    series = sorted({p[4] for p in points})
    biggest = max(p[2] for p in points) or 1
    handles = []
    for i, s in enumerate(series):
        pts = [p for p in points if p[4] == s]
        c = render.CYCLE[i % len(render.CYCLE)]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=[40 + 600 * p[2] / biggest for p in pts],
                   alpha=0.6, color=c, edgecolors="black", linewidths=0.5)
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=7, color=c, alpha=0.6, label=s))
    # Labels of points that sit close together are stacked, not drawn over each other.
    xs_all = [p[0] for p in points]
    log_x = min(xs_all) > 0 and max(xs_all) / min(xs_all) > 20
    placed: list[tuple[float, float]] = []
    for p in sorted(points, key=lambda q: (q[1], q[0])):
        x = math.log10(p[0]) if log_x else p[0]
        width = (math.log10(max(xs_all)) - math.log10(min(xs_all))) if log_x else (max(xs_all) - min(xs_all))
        near = sum(1 for (px, py) in placed if abs(px - x) <= 0.08 * (width or 1) and abs(py - p[1]) < 1e-9 + 0.02 * abs(p[1]))
        placed.append((x, p[1]))
        ax.annotate(p[3], (p[0], p[1]), textcoords="offset points", xytext=(8, 6 + 11 * near), fontsize=8)
    xs = [p[0] for p in points]
    if min(xs) > 0 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
    lo_x, hi_x = min(xs), max(xs)
    span = (hi_x - lo_x) or hi_x or 1
    if ax.get_xscale() == "linear":
        ax.set_xlim(max(0.0, lo_x - 0.15 * span), hi_x + 0.25 * span)
    ys = [p[1] for p in points]
    pad = max(0.005, (max(ys) - min(ys)) * 0.3)
    ax.set_ylim(min(ys) - pad, max(ys) + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(kind[1])
    ax.set_title("Size / latency / accuracy trade-off (marker area ∝ size)")
    ax.grid(alpha=0.3)
    if series != ["artifacts"]:
        ax.legend(handles=handles, fontsize=7, loc="lower right")
    return Plot("tradeoff", "Trade-off", render.png(fig), f"Each point is an artifact on one device and configuration; up is more accurate ({kind[1]}), left is faster, bigger markers are bigger files.")


def _parity_plot(arts: list[dict]) -> Plot:
    fig = render.figure(7.5, 0.5 * len(arts) + 1.6)
    ax = fig.add_subplot()
    vals = [max(a["parity"]["max_abs"], 1e-12) for a in arts]
    y = list(range(len(arts)))
    ax.barh(y, vals, color=["#d62728" if a["status"] == "failed" else render.COLORS.get(a["target"], "#7f7f7f") for a in arts])
    ax.set_xscale("log")
    ax.set_yticks(y, [_label(a) for a in arts])
    ax.invert_yaxis()
    for yi, a, v in zip(y, arts, vals):
        par = a["parity"]
        bits = [f"max abs {par['max_abs']:.2g}"]
        if "cosine" in par:
            bits.append(f"cos {par['cosine']:.6f}")
        if "top1_agreement" in par:
            bits.append(f"top-1 agr {par['top1_agreement']:.3f}")
        tol = (a.get("tolerance") or {}).get("max_abs")
        if tol:
            ax.plot([tol, tol], [yi - 0.4, yi + 0.4], color="black", linewidth=1.5)
        ax.annotate("  " + ", ".join(bits), (v, yi), va="center", fontsize=7)
    lo, hi = min(vals), max(vals + [max(((a.get("tolerance") or {}).get("max_abs") or 0) for a in arts)])
    ax.set_xlim(lo / 10, hi * 1e4)
    ax.set_xlabel("max abs difference from torch on the golden inputs (log); black tick: tolerance")
    ax.set_title("Parity with the source model")
    ax.grid(axis="x", alpha=0.3)
    return Plot("parity", "Parity", render.png(fig), "Checked at export on the host runtime against torch's outputs (unverified artifacts have no figures).")


def _layer_plot(a: dict) -> Plot:
    """Per-layer SNR of a failed artifact (its `debug` summary, written at export): where it breaks."""
    d = a["debug"]
    rows = d["layers"]
    fig = render.figure(7.5, 3.2)
    ax = fig.add_subplot()
    x = list(range(len(rows)))
    ax.plot(x, [r["snr_db"] for r in rows], marker="o", label="SNR (whole tensor)", color="#1f77b4")
    ax.plot(x, [r["channel_snr_db"] for r in rows], marker=".", label="median channel SNR", color="#ff7f0e")
    ax.scatter(x, [min(r["own_snr_db"], 80.0) for r in rows], marker="v", color="#d62728", zorder=3,
               label="own SNR (low: this layer adds the error; 80 = nothing)")
    ax.axhline(d["threshold_db"], color="black", linewidth=1, linestyle="--", label=f"threshold {d['threshold_db']:g} dB")
    ax.set_xticks(x, [r["torch"] for r in rows], rotation=60, ha="right", fontsize=6)
    ax.set_ylabel("dB vs torch")
    ax.set_title(f"{_label(a)}: per-layer error")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    name = f"layers-{a['target']}-{a['variant']}".replace("/", "-")
    first = (d.get("first_below") or {}).get("torch")
    caption = (f"From `mobilekit debug` at export ({d['runtime']}, {d['samples']} samples), layers in torch's order."
               + (f" First below the threshold: {first}." if first else ""))
    return Plot(name, f"Per-layer error: {_label(a)}", render.png(fig), caption)


# -- text -------------------------------------------------------------------------------------

def _artifact_rows(bundle: Bundle) -> list[list[str]]:
    rows = []
    for a in bundle.artifacts:
        par = a.get("parity") or {}
        m = a.get("metrics") or {}
        status = a["status"]
        if status == "unverified":
            status += f" ({a.get('status_reason', '')})"
        elif status == "failed":
            status += f" ({a.get('error', '')[:120]})"
        rows.append([
            _label(a), a.get("path", "-"), a.get("precision", "-"), render.mb(a.get("size_bytes")), status,
            f"{par['snr_db']:.1f}" if _num(par.get("snr_db")) else "-",
            f"{par['max_abs']:.2g}" if _num(par.get("max_abs")) else "-",
            f"{par['cosine']:.6f}" if _num(par.get("cosine")) else "-",
            f"{par['top1_agreement']:.3f}" if _num(par.get("top1_agreement")) else "-",
            f"{m['top1']:.4f}" if isinstance(m.get("top1"), (int, float)) else "-",
            # precision honesty: an fp16 artifact checked by an fp32-computing host says so
            a.get("verified_compute", "-") if a["status"] == "verified" else "-",
        ])
    return rows


_ART_HEAD = ["artifact", "file", "precision", "size", "status", "SNR dB", "max abs", "cosine", "top-1 agr", "top-1", "computed in"]


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
_BENCH_HEAD = ["artifact", "device", "runtime / config", "load ms", "first ms", "p50 ms", "p90 ms", "p99 ms", "mean ± std ms", "peak mem Δ", "runs"]


def _bench_rows(docs: list[dict]) -> list[list[str]]:
    rows = []
    for d in sorted(_ok(docs), key=lambda d: (res.label(d), res.device_label(d), res.config_label(d))):
        r = d["results"]
        lat = r["latency_ms"]
        mem = r["memory"].get("peak_delta_bytes")
        rows.append([
            res.label(d), res.device_label(d), f"{res.config_label(d)} {d['runtime']['version']}", render.ms(r["load_ms"]),
            render.ms(r["first_inference_ms"]), render.ms(lat["p50"]), render.ms(lat["p90"]), render.ms(lat["p99"]),
            f"{render.ms(lat['mean'])} ± {render.ms(lat['std'])}", render.mb(max(mem, 0)) if mem is not None else "-",
            f"{d['config']['warmup_runs']}+{d['config']['runs']}",
        ])
    return rows


def _problem_rows(docs: list[dict]) -> list[list[str]]:
    return [[res.label(d), res.device_label(d), res.config_label(d), d["status"], d.get("error") or ""]
            for d in docs if d["status"] != "ok"]


def _methods(docs: list[dict]) -> list[str]:
    seen = []
    for d in _ok(docs):
        m = d["results"]["memory"].get("method")
        if m and m not in seen:
            seen.append(m)
    return seen


def _intro(bundle: Bundle) -> list[str]:
    m = bundle.manifest
    lines = [f"{m.get('description', '')}".strip()]
    made = ", ".join(f"{k} {v}" for k, v in (m.get("created_with") or {}).items() if v)
    lines.append(f"Task: {m['task']}. Created {m.get('created_at', '?')} with {made}.")
    ref = ((m.get("metrics") or {}).get("torch") or {}).get("top1")
    if ref is not None:
        lines.append(f"Torch reference top-1: {ref:.4f} on {m['metrics'].get('samples', '?')} samples ({m['metrics'].get('dataset', '')}).")
    return [x for x in lines if x]


def _markdown(bundle: Bundle, docs: list[dict], ignored: list[str], plots: list[Plot]) -> str:
    m = bundle.manifest
    out = [f"# {m['name']} {m['version']} — mobilekit report", ""]
    out += [line + "  " for line in _intro(bundle)] + [""]
    out += ["## Artifacts", "", render.md_table(_ART_HEAD, _artifact_rows(bundle)), ""]
    out += ["## Benchmarks", ""]
    rows = _bench_rows(docs)
    if rows:
        out += [render.md_table(_BENCH_HEAD, rows), ""]
        out += ["Times in milliseconds; `first` is the first inference after load; the percentiles are over the measured runs "
                "(warm-up + measured in the last column). Peak memory Δ: " + " / ".join(_methods(docs)) + ".", ""]
    else:
        out += ["No benchmark results yet: run `mobilekit bench` (this host) and `mobilekit bench import` (devices).", ""]
    problems = _problem_rows(docs)
    if problems:
        out += ["Did not run:", "", render.md_table(["artifact", "device", "config", "status", "why"], problems), ""]
    if ignored:
        out += ["Ignored files in bench/ (not valid mobilekit.bench/1):", ""] + [f"- {x}" for x in ignored] + [""]
    out += ["## Plots", ""]
    for p in plots:
        out += render.md_plot(p)
    return "\n".join(out).rstrip() + "\n"


def _html(bundle: Bundle, docs: list[dict], ignored: list[str], plots: list[Plot], extra: list[str]) -> str:
    m = bundle.manifest
    e = html.escape
    title = f"{m['name']} {m['version']} — mobilekit report"
    body = [f"<h1>{e(title)}</h1>"] + [f"<p class=\"muted\">{e(x)}</p>" for x in _intro(bundle)]
    body += ["<h2>Artifacts</h2>", render.html_table(_ART_HEAD, _artifact_rows(bundle))]
    body.append("<h2>Benchmarks</h2>")
    rows = _bench_rows(docs)
    if rows:
        body.append(render.html_table(_BENCH_HEAD, rows))
        body.append("<p class=\"muted\">Times in milliseconds; <i>first</i> is the first inference after load; the "
                    "percentiles are over the measured runs (warm-up + measured in the last column). Peak memory Δ: "
                    + e(" / ".join(_methods(docs))) + ".</p>")
    else:
        body.append("<p>No benchmark results yet: run <code>mobilekit bench</code> (this host) and "
                    "<code>mobilekit bench import</code> (devices).</p>")
    problems = _problem_rows(docs)
    if problems:
        body += ["<p>Did not run:</p>", render.html_table(["artifact", "device", "config", "status", "why"], problems)]
    if ignored:
        body.append("<p>Ignored files in bench/ (not valid mobilekit.bench/1):</p><ul>"
                    + "".join(f"<li>{e(x)}</li>" for x in ignored) + "</ul>")
    body.append("<h2>Plots</h2>")
    body += [render.html_plot(p) for p in plots] + extra
    return render.html_page(title, body)
