"""Lower a bundle's `.pte` again, from the same capture, with an ETRecord (for `mobilekit debug`).

The export writes no ETRecord (it holds whole programs: too big for a bundle). ExecuTorch's
Inspector needs one to map runtime events to graph nodes, so the debugger repeats the variant's
lowering — the same `_program`, partitioner and constant methods (read back from the bundle's
file) — with `generate_etrecord=True`, and says whether the bytes came out identical to the
bundle's. Only XNNPACK variants: a Core ML delegate runs on Apple platforms only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..base import ArtifactRecord, ConvertJob


@dataclasses.dataclass
class Relowered:
    buffer: bytes
    etrecord: object  # executorch.devtools.ETRecord
    identical: bool  # byte-identical to the bundle's .pte


def constant_methods_of(path: Path) -> dict:
    """The bundle program's constant methods, in the form `to_edge_transform_and_lower` takes."""
    from . import metadata

    read = metadata.read(path)
    # metadata.constant_methods' order: the methods are serialized in it
    out = {k: read[k] for k in ("get_labels", "get_metadata_json", "get_mean", "get_std", "get_scale") if k in read}
    if "get_labels" in out:
        out["get_labels"] = "\n".join(out["get_labels"])
    if "get_metadata_json" in out:  # as metadata.constant_methods wrote it
        out["get_metadata_json"] = json.dumps(out["get_metadata_json"], sort_keys=True, ensure_ascii=False)
    return out


def relower(record: ArtifactRecord, path: Path, program: Path, spec: dict, options: dict,
            calibration: Path | None, per_op: bool = False) -> Relowered:
    """`options`: the target's `[executorch]` table as plain data; `calibration`: the .npz the
    export calibrated int8 on (the same data gives the same observers, hence the same program);
    `per_op`: XNNPACK's per-op mode, every op its own delegate call, so each logs its output."""
    from ... import _validate
    from . import ExecuTorchOptions
    from .convert import PLANS, _lower_with_etrecord, _partitioner, _program
    from .quantize import load_calibration

    opts = _validate.build(ExecuTorchOptions, dict(options or {}), "executorch")
    variant = record.variant
    job = ConvertJob(target="executorch", program=str(program), spec=spec, options=dict(options or {}),
                     bundle_dir="", work_dir="", calibration=str(calibration) if calibration else None)
    cal = load_calibration(job.calibration, spec, opts.calibration_samples) if variant == "int8" else None
    ep, _compression, _extra = _program(job, variant, opts, cal)
    assert PLANS[variant][2] == "XnnpackBackend"  # the caller checked: internal invariant, not user input
    methods = constant_methods_of(path)
    edge = _lower_with_etrecord(ep, _partitioner(variant, opts, per_op=per_op), methods or None)
    et = edge.to_executorch()
    buffer = bytes(et.buffer)
    return Relowered(buffer=buffer, etrecord=et.get_etrecord(), identical=buffer == Path(path).read_bytes())
