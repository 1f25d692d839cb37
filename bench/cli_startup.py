"""`mobilekit --help` start-up ÷ `python -c pass`, alternating runs in one session (median, min–max):
the console script users run (help text saved from click, no click import) and `python -m
mobilekit --help` (click itself), so the difference is visible.

Also lists the slowest imports of `mobilekit.cli` (python -X importtime). Prints JSON and saves it to
bench/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _emit import cpu_label, emit

ROOT = Path(__file__).resolve().parents[1]


def _once(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t


def _slowest_imports(n: int = 8) -> list[dict]:
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import mobilekit.cli"], capture_output=True, text=True,
                         cwd=ROOT).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (x.strip() for x in line.split(":", 1)[1].split("|"))
            rows.append({"module": name, "cumulative_ms": int(cumulative) / 1000})
    top = [r for r in rows if not r["module"].startswith(" ")]  # top-level imports only (indent = nested)
    return sorted(top, key=lambda r: -r["cumulative_ms"])[:n]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--out", default=str(ROOT / "bench/results/cli_startup.json"))
    args = ap.parse_args(argv)
    script = str(Path(sys.executable).parent / "mobilekit")  # the console script pip wrote
    bare, helps, via_click = [], [], []
    for _ in range(args.runs):
        bare.append(_once([sys.executable, "-c", "pass"]))
        helps.append(_once([script, "--help"]))
        via_click.append(_once([sys.executable, "-m", "mobilekit", "--help"]))

    def summary(xs):
        return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}

    return emit({
        "what": "wall time of `mobilekit --help` (console script) and `python -m mobilekit --help` ÷ `python -c pass`, "
                "alternating, one session",
        "host": cpu_label(), "runs": args.runs,
        "python_pass_s": summary(bare),
        "mobilekit_help_s": summary(helps),
        "ratio": summary([h / b for h, b in zip(helps, bare)]),
        "python_m_mobilekit_help_s": summary(via_click),
        "ratio_python_m": summary([h / b for h, b in zip(via_click, bare)]),
        "slowest_imports_of_mobilekit_cli": _slowest_imports(),
    }, args.out)


if __name__ == "__main__":
    main()
