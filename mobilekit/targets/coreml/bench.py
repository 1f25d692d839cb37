"""`mobilekit bench` of a Core ML package: the Core ML runtime through coremltools, macOS only."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ..base import ArtifactRecord, BenchConfig, TimedSession

_UNITS = {"cpuOnly": "CPU_ONLY", "all": "ALL"}
_BACKEND = {"cpuOnly": "cpu", "all": "all"}


def configs() -> list[BenchConfig] | str:
    if sys.platform != "darwin":
        return "Core ML runs only on macOS (use the iOS harness in harness/ios/)"
    return [BenchConfig(runtime="coreml", backend=_BACKEND[u], compute_units=u) for u in _UNITS]


def init(config: BenchConfig) -> Any:  # pragma: no cover - macOS only
    from ..._imports import quiet_coremltools

    return quiet_coremltools()


def session(record: ArtifactRecord, bundle_dir: Path, samples: list[dict], config: BenchConfig,
            ct: Any) -> TimedSession:  # pragma: no cover - macOS only
    import platform

    import numpy as np

    from .runner import _to_pil

    t = time.perf_counter()
    model = ct.models.MLModel(str(bundle_dir / record.path), compute_units=getattr(ct.ComputeUnit, _UNITS[config.compute_units]))
    load_ms = (time.perf_counter() - t) * 1e3
    pre = {t["name"]: t.get("preprocessing") for t in json.loads((bundle_dir / "manifest.json").read_text())["inputs"]}
    feeds = []
    for smp in samples:
        native = {}
        for t in record.inputs:
            v = smp[t.name]
            native[t.tensor] = _to_pil(v, pre[t.name]) if t.layout == "image" else \
                np.asarray(v).astype(np.float32 if t.dtype.startswith("float") else np.int32)
        feeds.append(native)
    return TimedSession(call=lambda i: model.predict(feeds[i % len(feeds)]), runtime_version=f"macOS {platform.mac_ver()[0]}",
                        load_ms=load_ms, notes=[f"coremltools {ct.__version__} MLModel.predict"], handle=model)
