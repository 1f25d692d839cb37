"""`mobilekit bench import BUNDLE FILE...`: device results into `<bundle>/bench/`.

Accepted inputs, each checked against the schema and against the bundle's checksums (the
result's `model.sha256` must be the sha256 of one of the bundle's artifacts) before anything is
written; one bad file refuses the whole import with one line:

- a `mobilekit.bench/1` JSON document, a JSON list of them, or a folder of such files (what the
  Android harness pulls from the device);
- a log with `MOBILEKIT-BENCH-JSON {...}` lines (what the iOS XCTest prints into xcodebuild's
  output);
- the output of TFLite's `benchmark_model`, as saved by harness/android/scripts/benchmark_model.sh
  with its `# key: value` header (model file and sha256, device, delegate). `convert_benchmark_model`
  turns it into the schema; it is plain Python so it can be tested on a saved log.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import results as res
from ..errors import BundleError, UserError

MARKER = "MOBILEKIT-BENCH-JSON"
_MARKER_RE = re.compile(MARKER + r"\s+(\{.*\})\s*$")
_BM_HEADER = "# mobilekit: benchmark_model"


def import_results(path: str | Path, files: list[str | Path]) -> list[Path]:
    """Validate every result in `files` against the schema and the bundle, then add them."""
    from ..bundle import load_bundle

    if not files:
        raise UserError("no result files given", hint="Give one or more result files: mobilekit bench import BUNDLE RESULTS.json...")
    bundle = load_bundle(path)
    docs: list[tuple[str, dict]] = []
    for f in files:
        docs.extend(read_any(Path(f)))
    if not docs:
        raise UserError("the given files hold no benchmark results", hint="Give the JSON files the harness wrote.")
    by_sha: dict[str, list[dict]] = {}
    for a in bundle.artifacts:
        if a.get("sha256"):
            by_sha.setdefault(a["sha256"], []).append(a)
    ready = []
    for where, doc in docs:
        res.validate(doc, where)
        sha = doc["model"]["sha256"]
        matches = by_sha.get(sha)
        if not matches:
            raise BundleError(
                f"{where}: model sha256 {sha[:12]}… ({doc['model']['file']}) matches no artifact of bundle {bundle.name}",
                hint="Import results of this bundle's own files (re-run the harness after a re-export).")
        entry = next((a for a in matches if a["path"] == doc["model"]["file"]), matches[0])
        doc = dict(doc)
        model = dict(doc["model"])
        model.update(file=entry["path"], target=entry["target"], variant=entry["variant"])
        if "size_bytes" in entry:
            model["size_bytes"] = entry["size_bytes"]
        doc["model"] = model
        doc["source"] = {**doc["source"], "bundle": bundle.name, "bundle_version": bundle.manifest.get("version", "")}
        doc.pop("_file", None)
        ready.append(doc)
    return [res.write(bundle.path, doc) for doc in ready]


def read_any(path: Path) -> list[tuple[str, dict]]:
    """Every result document in a file or folder, each with where it came from."""
    if path.is_dir():
        out = []
        for p in sorted(path.iterdir()):
            if p.is_file() and p.suffix in (".json", ".txt", ".log"):
                out.extend(read_any(p))
        return out
    if not path.is_file():
        raise UserError(f"{path}: no such file", hint="Give the result files the harness wrote.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a text file", hint="Give a mobilekit.bench/1 JSON file or a benchmark_model log.") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UserError(f"{path} is not valid JSON ({exc})", hint="Give the file the harness wrote, unchanged.") from None
        if isinstance(data, list):
            return [(f"{path}[{i}]", d) for i, d in enumerate(data)]
        return [(str(path), data)]
    if MARKER in text:
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            m = _MARKER_RE.search(line)
            if m:
                try:
                    out.append((f"{path}:{n}", json.loads(m.group(1))))
                except ValueError as exc:
                    raise UserError(f"{path}:{n}: the {MARKER} line is not valid JSON ({exc})",
                                    hint="The log was cut; re-run the test.") from None
        return out
    if _BM_HEADER in text or "Inference timings in us" in text or re.search(r"^.*Graph: \[", text, re.M):
        return [(str(path), convert_benchmark_model(text, str(path)))]
    raise UserError(f"{path} is neither a {res.SCHEMA} JSON file nor a benchmark_model log",
                    hint="Give the files written by the harness in harness/android or harness/ios.")


# -- TFLite benchmark_model -------------------------------------------------------------------

_NUM = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_KV_RE = re.compile(r"\b(count|first|curr|min|max|avg|std|p5|median|p95)=" + _NUM)
_SUMMARY_RE = re.compile(r"Inference timings in us: Init: " + _NUM + r", First inference: " + _NUM
                         + r", Warmup \(avg\): " + _NUM + r", Inference \(avg\): " + _NUM)
_FLAG_RE = re.compile(r"(Num threads|#threads used for CPU inference|Min num runs|Min warmup runs|Use gpu|Use NNAPI|Use xnnpack|Graph|Use Hexagon|Use CoreML): \[([^\]]*)\]")
_MEM_DELTA_RE = re.compile(r"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): init=" + _NUM + r" overall=" + _NUM)
_MEM_PEAK_RE = re.compile(r"Overall peak memory footprint \(MB\) via periodic monitoring: " + _NUM)
_INIT_RE = re.compile(r"Initialized session in " + _NUM + r"\s*ms")
_REPLACE_RE = re.compile(r"Replacing (\d+) out of (\d+) node\(s\) with delegate \((\w+)\)")
_MB = 1024 * 1024


def parse_benchmark_model(text: str) -> dict:
    """The figures in a benchmark_model output (microseconds and MB, as printed)."""
    out: dict[str, Any] = {"flags": {}, "stats": [], "header": {}, "replaced": [], "errors": [], "created": []}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            out["header"][key.strip()] = value.strip()
            continue
        for m in _FLAG_RE.finditer(line):
            out["flags"][m.group(1)] = m.group(2)
        m = _SUMMARY_RE.search(line)
        if m:
            out["summary"] = dict(zip(("init_us", "first_us", "warmup_avg_us", "avg_us"), map(float, m.groups())))
            continue
        if re.search(r"\bcount=\d", line):
            out["stats"].append({k: float(v) for k, v in _KV_RE.findall(line)})
            continue
        m = _MEM_PEAK_RE.search(line)
        if m:
            out["mem_peak_mb"] = float(m.group(1))
            continue
        m = _MEM_DELTA_RE.search(line)
        if m:
            out["mem_init_mb"], out["mem_overall_mb"] = float(m.group(1)), float(m.group(2))
            continue
        m = _INIT_RE.search(line)
        if m:
            out["session_init_ms"] = float(m.group(1))
        m = _REPLACE_RE.search(line)
        if m:
            out["replaced"].append((int(m.group(1)), int(m.group(2)), m.group(3)))
        if "Created TensorFlow Lite" in line and "delegate" in line:
            out["created"].append(line[line.index("Created TensorFlow Lite"):])
        if re.search(r"\bERROR\b|Failed to|failed to", line):
            out["errors"].append(line.strip())
    return out


def convert_benchmark_model(text: str, where: str = "benchmark_model log") -> dict:
    """One benchmark_model run (with the harness script's header) → a mobilekit.bench/1 result."""
    p = parse_benchmark_model(text)
    h, flags = p["header"], p["flags"]
    sha = h.get("model.sha256", "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise UserError(f"{where}: benchmark_model log without the model's sha256",
                        hint="Run it through harness/android/scripts/benchmark_model.sh, or add a `# model.sha256: <hex>` line.")
    graph = flags.get("Graph", "")
    model_file = h.get("model.file") or Path(graph).name or "model.tflite"

    def on(name: str) -> bool:
        return flags.get(name, "0").strip().lower() in ("1", "true")

    if h.get("config.delegate"):
        delegate = h["config.delegate"]
    elif on("Use gpu"):
        delegate = "gpu"
    elif on("Use NNAPI"):
        delegate = "nnapi"
    elif on("Use xnnpack") or any("XNNPACK" in c for c in p["created"]):
        delegate = "xnnpack"
    else:
        delegate = "none"
    backend = h.get("config.backend") or {"gpu": "gpu", "nnapi": "nnapi"}.get(delegate, "cpu")
    threads = flags.get("Num threads") or flags.get("#threads used for CPU inference") or h.get("config.threads")
    cores = h.get("device.cores")
    device = {
        "platform": h.get("device.platform", "android"),
        "model": h.get("device.model", "unknown device"),
        "os": h.get("device.os", "Android"),
        "cores": int(cores) if cores and cores.isdigit() else None,
    }
    for key in ("arch", "manufacturer", "soc"):
        if h.get(f"device.{key}"):
            device[key] = h[f"device.{key}"]
    measured = p["stats"][-1] if p["stats"] else None
    warm = p["stats"][:-1]
    runs = int(measured["count"]) if measured else int(h.get("config.runs", "1") or 1)
    doc: dict[str, Any] = {
        "schema": res.SCHEMA,
        "created_at": h.get("created_at") or res.now(),
        "source": {"kind": "device", "tool": "tflite benchmark_model (converted by mobilekit)"},
        "device": device,
        "runtime": {"name": "litert", "version": h.get("runtime.version") or "unknown (benchmark_model)"},
        "model": {"file": model_file, "sha256": sha},
        "config": {
            "backend": backend, "delegate": delegate, "compute_units": None,
            "threads": int(threads) if threads and str(threads).lstrip("-").isdigit() and int(threads) > 0 else None,
            "warmup_runs": int(sum(s["count"] for s in warm)) if warm else int(flags.get("Min warmup runs", "1") or 1),
            "runs": max(1, runs),
            "inputs": "random",
        },
        "notes": ["benchmark_model feeds random inputs and reports no per-run times: runs_ms is empty; p50 is its "
                  "median, p95 its p95, p90 and p99 are not reported"],
    }
    summary = p.get("summary")
    if not summary or not measured or measured.get("avg") is None:
        why = p["errors"][0] if p["errors"] else "the log has no 'Inference timings' line (the run did not finish)"
        doc.update(status="failed", error=why[:300], results=None)
        return doc
    us = 1e-3
    lat = {
        "min": measured["min"] * us, "mean": measured["avg"] * us, "std": (measured["std"] or 0.0) * us,
        "p50": measured["median"] * us if measured.get("median") is not None else None,
        "p90": None,
        "p95": measured["p95"] * us if measured.get("p95") is not None else None,
        "p99": None,
        "max": measured["max"] * us,
    }
    if "mem_peak_mb" in p and "mem_overall_mb" not in p:
        memory = {"peak_delta_bytes": None, "peak_bytes": int(p["mem_peak_mb"] * _MB),
                  "method": "benchmark_model: overall peak memory footprint via periodic monitoring (no baseline)"}
    elif "mem_overall_mb" in p:
        memory = {"peak_delta_bytes": int(p["mem_overall_mb"] * _MB),
                  "method": "benchmark_model: memory footprint delta from the start of the tool (overall), approximate"}
        if "mem_peak_mb" in p:
            memory["peak_bytes"] = int(p["mem_peak_mb"] * _MB)
    else:
        memory = {"peak_delta_bytes": None, "method": "not reported (run benchmark_model with --report_peak_memory_footprint=true)"}
    doc["results"] = {
        "init_ms": None,
        "load_ms": round(summary["init_us"] * us, 4),
        "first_inference_ms": round(summary["first_us"] * us, 4),
        "latency_ms": {k: (round(v, 6) if v is not None else None) for k, v in lat.items()},
        "runs_ms": [],
        "memory": memory,
    }
    doc["status"], doc["error"] = "ok", None
    for done, total, name in p["replaced"]:
        if done < total:
            doc["notes"].append(f"{name} ran {done} of {total} nodes; the rest ran on the CPU kernels")
    return doc
