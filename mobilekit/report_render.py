"""What the bundle report (report.py) and the sweep report (report_sweep.py) draw and write with:
PNG figures (matplotlib's Agg canvas, no pyplot: nothing global is touched), Markdown and HTML
tables, the self-contained HTML page (plots as data URIs, no script, no external reference)."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

from .bundle import write_atomic
from .errors import UserError

IMAGES_DIR = "report"
COLORS = {"onnx": "#1f77b4", "tflite": "#ff7f0e", "coreml": "#2ca02c", "executorch": "#9467bd"}
CYCLE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]


@dataclass
class Plot:
    name: str  # file stem
    title: str
    png: bytes
    caption: str = ""


def mb(n: int | None) -> str:
    if n is None:
        return "-"
    from .inspect import human_size

    return human_size(n)


def ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def write_images(folder: Path, plots: list[Plot]) -> list[Path]:
    """`folder/report/<name>.png` for every plot; PNGs left from an earlier report are removed."""
    img_dir = folder / IMAGES_DIR
    if img_dir.is_symlink() or (img_dir.exists() and not img_dir.is_dir()):
        # a downloaded bundle may carry a link out of it; deleting old PNGs would follow it
        raise UserError(f"{img_dir} is a symbolic link or a file, not the report's folder",
                        hint="Remove it; mobilekit never writes or deletes through a link.")
    img_dir.mkdir(exist_ok=True)
    for old in img_dir.glob("*.png"):
        if old.is_file() or old.is_symlink():
            old.unlink()  # removes a link itself, never its target
    images = []
    for p in plots:
        f = img_dir / f"{p.name}.png"
        write_atomic(f, p.png)
        images.append(f)
    return images


def md_table(head: list[str], rows: list[list[str]]) -> str:
    def cell(s: str) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def md_plot(p: Plot) -> list[str]:
    return [f"### {p.title}", "", f"![{p.title}]({IMAGES_DIR}/{p.name}.png)", "", p.caption, ""]


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0 2em} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:0.85em} .muted{color:#666;font-size:0.9em}
"""


def html_table(head: list[str], rows: list[list[str]]) -> str:
    def td(c: str) -> str:
        c = str(c)
        num = c[:1].isdigit() and " " not in c.strip()[:12]
        cls = ' class="num"' if num else ""
        return f"<td{cls}>{html.escape(c)}</td>"

    out = ["<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(td(c) for c in r) + "</tr>" for r in rows]
    out.append("</tbody></table>")
    return "\n".join(out)


def html_plot(p: Plot) -> str:
    e = html.escape
    data = base64.b64encode(p.png).decode("ascii")
    return (f"<figure id=\"plot-{p.name}\"><h3>{e(p.title)}</h3>"
            f"<img alt=\"{e(p.title)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{e(p.caption)}</figcaption></figure>")


def html_page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
