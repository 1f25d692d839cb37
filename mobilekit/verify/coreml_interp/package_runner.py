"""`runner(path, record)`: run a Core ML package through the reference interpreter.

Same call shape as the other runners: spec-named float32 NCHW inputs in, spec-named outputs
out (plus `classLabel_probs` in label order for classifiers, as `_mac_runner` gives it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .image import to_pixels
from .interpreter import run as run_program
from .program import load

PROBS_OUTPUT = "classLabel_probs"
VERIFIED_BY = f"mobilekit-coreml-interpreter {__version__}"


def runner(path: str | Path, record: Any, *, fp16: bool = True):
    """A `run(feeds) -> outputs` callable; raises `UnsupportedOp` now if any op is unknown.

    `fp16=False` runs fp16 programs in fp32 simulation (for diagnosis, never for verification).
    """
    program, spec = load(path)  # raises UnsupportedOp before anything runs
    meta = spec.description.metadata.userDefined
    preprocessing = json.loads(meta.get("mobilekit.preprocessing", "{}") or "{}")
    labels = json.loads(meta.get("mobilekit.labels", "null") or "null")
    ins = {t.name: t for t in record.inputs}

    def native_feeds(feeds: dict) -> dict:
        native = {}
        for name, value in feeds.items():
            t = ins[name]
            if t.layout == "image":
                native[t.tensor] = to_pixels(np.asarray(value), preprocessing[name])
            else:
                native[t.tensor] = np.asarray(value).astype(np.float32 if t.dtype.startswith("float") else np.int32)
        return native

    def run(feeds: dict) -> dict:
        result = run_program(program, native_feeds(feeds), fp16=fp16)
        out = {t.name: np.asarray(result[t.tensor], dtype=np.float32) for t in record.outputs}
        probs = result.get(PROBS_OUTPUT)
        if isinstance(probs, dict) and labels:
            out[PROBS_OUTPUT] = np.array([[probs[str(lbl)] for lbl in labels]], dtype=np.float32)
        return out

    run.program = program  # type: ignore[attr-defined]
    run.native_feeds = native_feeds  # type: ignore[attr-defined]
    run.verified_by = VERIFIED_BY  # type: ignore[attr-defined]
    run.runtime = VERIFIED_BY  # type: ignore[attr-defined]  # what the pipeline writes as `verified_by`
    run.reference_interpreter = True  # type: ignore[attr-defined]  # its latency says nothing about a device
    # fp16 programs: every op output rounded to fp16, as a device's fp16 path stores it
    run.compute = "fp16 (simulated per op)" if fp16 and program.computes_in_fp16 else "fp32"  # type: ignore[attr-defined]
    run.details = {"fp16_simulated": bool(fp16 and program.computes_in_fp16),  # type: ignore[attr-defined]
                   "ops": len(program.steps), "op_types": program.op_types()}
    return run


def bundle_runner(record: Any, bundle_dir: str | Path, *, fp16: bool = True):
    """`Target.runner`'s call shape (record, bundle root), as `_mac_runner` takes it."""
    return runner(Path(bundle_dir) / record.path, record, fp16=fp16)
