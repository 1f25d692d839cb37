"""torch → ONNX with the dynamo exporter, shared by the ONNX target and those that start from ONNX.

Made deterministic and shippable: one file (no external data), no per-node stack traces,
metadata in `metadata_props` and the doc string.
"""

from __future__ import annotations

import json
from pathlib import Path


def export_onnx(program_path: Path, out: Path, spec: dict, *, opset: int = 18,
                dynamic_batch: bool = False, versions: dict | None = None) -> Path:
    import torch

    import onnx

    ep = torch.export.load(str(program_path))
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx_program = torch.onnx.export(
        ep,
        (),
        dynamo=True,
        opset_version=opset,
        input_names=[t["name"] for t in spec["inputs"]],
        output_names=[t["name"] for t in spec["outputs"]],
        external_data=False,
        optimize=True,
        verbose=False,
    )
    model = onnx_program.model_proto
    if dynamic_batch:
        for vi in list(model.graph.input) + list(model.graph.output):
            dims = vi.type.tensor_type.shape.dim
            if dims:
                dims[0].ClearField("dim_value")
                dims[0].dim_param = "batch"
    _strip_debug_metadata(model)
    _add_metadata(model, spec, versions or {})
    onnx.checker.check_model(model, full_check=True)
    out.write_bytes(model.SerializeToString(deterministic=True))
    return out


def _strip_debug_metadata(model) -> None:
    """The dynamo path stores ~200 KB of stack traces per model; none of it ships."""
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for fn in model.functions:
        for node in fn.node:
            del node.metadata_props[:]
    for vi in list(model.graph.value_info):
        del vi.metadata_props[:]
    del model.metadata_props[:]


def _add_metadata(model, spec: dict, versions: dict) -> None:
    props = {
        "name": spec["name"],
        "version": spec["version"],
        "author": spec["author"],
        "license": spec["license"],
        "task": spec["task"],
        "description": spec["description"],
        "inputs": json.dumps([{k: t[k] for k in ("name", "shape", "dtype", "preprocessing")} for t in spec["inputs"]]),
    }
    labels = next((o["labels"] for o in spec["outputs"] if o.get("labels")), None)
    if labels:
        props["labels"] = json.dumps(labels)
    props.update({f"made_with.{k}": v for k, v in versions.items() if v})
    for k, v in props.items():
        if v:
            entry = model.metadata_props.add()
            entry.key, entry.value = k, str(v)
    model.doc_string = spec["description"] or spec["name"]
    model.producer_name = "mobilekit"
    model.producer_version = versions.get("mobilekit", "")
    model.model_version = _int_version(spec["version"])


def _int_version(v: str) -> int:
    """ONNX's model_version is an int64: 1.2.3 → 1002003."""
    parts = [int(p) if p.isdigit() else 0 for p in v.split(".")[:3]] + [0, 0, 0]
    return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]
