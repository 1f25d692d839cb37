"""The benchmark result schema `mobilekit.bench/1`: one document per model file × runtime
configuration × device, written by the host benchmark, the device harnesses and the
benchmark_model converter alike, and kept in `<bundle>/bench/*.json`.

Statistics (the Kotlin and Swift harnesses compute them the same way):
- percentiles interpolate linearly between closest ranks (numpy's default),
- std is the population standard deviation (ddof = 0).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from ..errors import BundleError

SCHEMA = "mobilekit.bench/1"
BENCH_DIR = "bench"
PERCENTILES = (50, 90, 95, 99)


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(resources.files("mobilekit.schemas").joinpath("bench.schema.json").read_text())


def errors(doc: Any) -> list[str]:
    """Every schema violation of `doc`, as `at: message` lines (empty when valid)."""
    import jsonschema

    if not isinstance(doc, dict):
        return [f"(top): expected a JSON object, got {type(doc).__name__}"]
    validator = jsonschema.Draft202012Validator(schema())
    out: list[str] = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))):
        line = _describe(e)
        if line.startswith("error: ") and doc.get("status") != "ok":
            line = f"error: status is {doc.get('status')!r}, so error must say why (got {doc.get('error')!r})"
        if line not in out:
            out.append(line)
    return out


def _describe(error) -> str:
    import jsonschema

    # An error under an if/then or anyOf: report the most specific sub-error.
    best = jsonschema.exceptions.best_match([error]) if error.context else error
    while best.context:
        best = jsonschema.exceptions.best_match(best.context)
    at = "/".join(str(p) for p in best.absolute_path) or "(top)"
    if best.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", best.message)
        field = missing[0] if missing else best.message
        where = f"{at}/{field}" if at != "(top)" else field
        return f"missing field {where}"
    return f"{at}: {best.message[:160]}"


def validate(doc: Any, where: str) -> None:
    """Raise BundleError (one line) unless `doc` is a valid mobilekit.bench/1 result."""
    if isinstance(doc, dict) and doc.get("schema") != SCHEMA:
        raise BundleError(f"{where}: schema is {doc.get('schema')!r}, expected {SCHEMA!r}",
                          hint="Give a result written by mobilekit bench or a mobilekit harness.")
    problems = errors(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BundleError(f"{where} is not a valid {SCHEMA} result: {problems[0]}{more}",
                          hint="Fix the file or re-run the harness.")


# -- statistics -------------------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = (len(sorted_values) - 1) * p / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (rank - lo)


def latency_stats(runs_ms: Iterable[float]) -> dict:
    values = [float(v) for v in runs_ms]
    if not values:
        raise ValueError("no runs")
    s = sorted(values)
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    out = {"min": s[0], "mean": mean, "std": std}
    for p in PERCENTILES:
        out[f"p{p}"] = percentile(s, p)
    out["max"] = s[-1]
    return {k: round(v, 6) for k, v in out.items()}


# -- documents --------------------------------------------------------------------------------

def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def host_device() -> dict:
    """This machine, in the schema's device shape."""
    system = platform.system()
    plat = {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}.get(system, system.lower() or "unknown")
    if plat == "macos":
        os_name = f"macOS {platform.mac_ver()[0]}"
    else:
        os_name = f"{system} {platform.release()}".strip()
    try:
        import psutil

        cores = psutil.cpu_count(logical=True)
        mem = psutil.virtual_memory().total
    except Exception:  # pragma: no cover - psutil is installed with the tflite extra
        cores, mem = os.cpu_count(), None
    return {"platform": plat, "model": _cpu_name(), "os": os_name, "cores": cores,
            "arch": platform.machine() or "unknown", "memory_bytes": mem}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":  # pragma: no cover - macOS only
        import subprocess

        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  timeout=5).stdout.strip() or "Mac"
        except Exception:
            return "Mac"
    return platform.processor() or platform.machine() or "unknown"


def label(doc: dict) -> str:
    """A short name for one result's artifact: `onnx/fp32`."""
    m = doc.get("model", {})
    if m.get("target") and m.get("variant"):
        return f"{m['target']}/{m['variant']}"
    return m.get("file", "?")


def config_label(doc: dict) -> str:
    """`onnxruntime cpu ×2`, `litert gpu`, `coreml cpuAndNeuralEngine`."""
    c = doc.get("config", {})
    parts = [doc.get("runtime", {}).get("name", "?")]
    if c.get("compute_units"):
        parts.append(c["compute_units"])
    else:
        parts.append(c.get("backend", "?"))
        if c.get("delegate") and c["delegate"] not in (c.get("backend"), "CPUExecutionProvider"):
            parts.append(c["delegate"])
    if c.get("threads"):
        parts.append(f"×{c['threads']}")
    return " ".join(parts)


def device_label(doc: dict) -> str:
    d = doc.get("device", {})
    kind = doc.get("source", {}).get("kind", "")
    name = d.get("model", "?")
    if kind == "host":
        return f"host {d.get('platform', '')} {d.get('arch', '')}".strip()
    return f"{name} ({d.get('os', '')})".strip()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(text)).strip("-").lower()[:60] or "x"


def filename(doc: dict) -> str:
    """A stable file name: the same device, artifact and configuration overwrite each other."""
    src = doc["source"]["kind"]
    d, m, c = doc["device"], doc["model"], doc["config"]
    who = "host" if src == "host" else f"{_slug(d.get('platform', ''))}-{_slug(d.get('model', ''))}"
    what = f"{_slug(m.get('target') or Path(m['file']).suffix.lstrip('.'))}-{_slug(m.get('variant') or Path(m['file']).stem)}"
    how = _slug(doc["runtime"]["name"]) + "-" + _slug(c.get("compute_units") or c.get("backend"))
    if c.get("delegate") and not c.get("compute_units") and c["delegate"] != "CPUExecutionProvider":
        how += "-" + _slug(c["delegate"])
    if c.get("threads"):
        how += f"-t{c['threads']}"
    return f"{who}-{what}-{how}.json"


def write(bundle_dir: Path, doc: dict, name: str | None = None) -> Path:
    """Write one result into `<bundle>/bench/` atomically."""
    out_dir = Path(bundle_dir) / BENCH_DIR
    out_dir.mkdir(exist_ok=True)
    path = out_dir / (name or filename(doc))
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def load_all(bundle_dir: Path) -> tuple[list[dict], list[str]]:
    """Every valid result in `<bundle>/bench/`, and a line per file that was not."""
    out_dir = Path(bundle_dir) / BENCH_DIR
    docs, bad = [], []
    if not out_dir.is_dir():
        return docs, bad
    for p in sorted(out_dir.glob("*.json")):
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            bad.append(f"{p.name}: not JSON ({exc})")
            continue
        problems = errors(doc)
        if problems:
            bad.append(f"{p.name}: {problems[0]}")
            continue
        doc.setdefault("_file", p.name)
        docs.append(doc)
    return docs, bad
