"""Reading a package back without a runtime: its program, ops, I/O, weight storage, checksums."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from ...verify.coreml_interp.milproto import load_program


def _tree_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's sorted (relative path, content sha256) pairs."""
    h = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(p.relative_to(path).as_posix().encode() + b"\0" + _tree_digest(p).encode() + b"\n")
    return h.hexdigest()


def package_sha256(path: str | Path) -> str:
    """One checksum for an .mlpackage folder (sorted relative paths and file hashes)."""
    return _tree_digest(Path(path))


def package_size(path: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())

# --------------------------------------------------------------------------------------------
# reading a package back (no runtime needed)


def inspect_package(path: Path) -> dict:
    """Facts about a saved package: spec version, I/O, op counts, weight storage, sizes."""
    model, prog = load_program(Path(path))
    spec = model.get_spec()
    ops = _all_ops(prog)
    counts = Counter(op.op_type for op in ops)
    weights_dir = Path(model.weights_dir) if model.weights_dir else None
    return {
        "spec_version": spec.specificationVersion,
        "io": _describe_io(spec),
        "ops": dict(sorted(counts.items())),
        "op_count": sum(n for t, n in counts.items() if t != "const"),
        "weights": _weight_storage(ops),
        "size_bytes": package_size(path),
        "weights_bytes": package_size(weights_dir) if weights_dir and weights_dir.exists() else 0,
        "classify_labels": _classify_labels(ops),
    }


def _all_ops(prog: Any) -> list:
    out = []

    def walk(block):
        for op in block.operations:
            out.append(op)
            for b in getattr(op, "blocks", []) or []:
                walk(b)

    walk(prog.functions["main"])
    return out


def _describe_io(spec: Any) -> dict:
    from coremltools.proto import FeatureTypes_pb2

    array_types = {FeatureTypes_pb2.ArrayFeatureType.FLOAT32: "float32", FeatureTypes_pb2.ArrayFeatureType.FLOAT16: "float16",
                   FeatureTypes_pb2.ArrayFeatureType.INT32: "int32", FeatureTypes_pb2.ArrayFeatureType.DOUBLE: "float64"}
    color = {FeatureTypes_pb2.ImageFeatureType.RGB: "RGB", FeatureTypes_pb2.ImageFeatureType.BGR: "BGR",
             FeatureTypes_pb2.ImageFeatureType.GRAYSCALE: "GRAY"}

    def one(f):
        kind = f.type.WhichOneof("Type")
        if kind == "imageType":
            it = f.type.imageType
            return {"type": "image", "width": it.width, "height": it.height, "color": color.get(it.colorSpace, str(it.colorSpace)),
                    "dtype": "uint8", "shape": [1, 1 if it.colorSpace == FeatureTypes_pb2.ImageFeatureType.GRAYSCALE else 3, it.height, it.width]}
        if kind == "multiArrayType":
            at = f.type.multiArrayType
            shape = [int(d) for d in at.shape]
            out = {"type": "array", "dtype": array_types.get(at.dataType, str(at.dataType)), "shape": shape}
            if at.WhichOneof("ShapeFlexibility") == "shapeRange":
                out["ranges"] = [[int(r.lowerBound), int(r.upperBound)] for r in at.shapeRange.sizeRanges]
            return out
        if kind == "dictionaryType":
            return {"type": "dict", "dtype": "float64", "shape": []}
        if kind == "stringType":
            return {"type": "string", "dtype": "string", "shape": []}
        if kind == "int64Type":
            return {"type": "int64", "dtype": "int64", "shape": []}
        return {"type": kind or "unknown", "dtype": "", "shape": []}

    d = spec.description
    return {
        "inputs": {f.name: one(f) for f in d.input},
        "outputs": {f.name: one(f) for f in d.output},
        "predicted_feature": d.predictedFeatureName,
        "predicted_probabilities": d.predictedProbabilitiesName,
    }


def _dtype(var: Any) -> str:
    from coremltools.converters.mil.mil import types

    try:
        return types.builtin_to_string(var.dtype)
    except Exception:  # list vars (the classifier's labels) have no dtype
        return type(var).__name__


def _numel(shape: Any) -> int:
    n = 1
    for d in shape or ():
        n *= int(d)
    return n


def _bits(dtype: str) -> int | None:
    m = re.search(r"(\d+)$", dtype)
    return int(m.group(1)) if m else None


def _weight_storage(ops: list) -> dict:
    """How the weights are stored: elements per storage kind, per-tensor facts, bit widths.

    Kinds: fp16 / fp32 (plain consts), int8 / uint8 / int4 / uint4 … (linear quantization),
    lutN (palettized, N-bit indices), sparse (pruned: a bit mask and the non-zero values).
    """
    elements: Counter = Counter()
    tensors = []
    consumed_by_constexpr = set()
    for op in ops:
        if op.op_type.startswith("constexpr_"):
            for v in op.inputs.values():
                consumed_by_constexpr.add(id(v))
    for op in ops:
        t = op.op_type
        if t == "const":
            out = op.outputs[0]
            if id(out) in consumed_by_constexpr:
                continue
            dt = _dtype(out)
            if dt in ("fp16", "fp32", "fp64"):
                n = _numel(out.shape)
                elements[dt] += n
                tensors.append({"name": out.name, "kind": dt, "elements": n})
            continue
        if not t.startswith("constexpr_"):
            continue
        out = op.outputs[0]
        n = _numel(out.shape)
        entry: dict = {"name": out.name, "op": t, "elements": n}
        ins = op.inputs
        if t in ("constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"):
            data = ins.get("quantized_data") if "quantized_data" in ins else ins.get("data")
            kind = _dtype(data)
            entry.update(kind=kind, bits=_bits(kind))
        elif t == "constexpr_lut_to_dense":
            lut = ins["lut"]
            size = lut.shape[-2] if len(lut.shape) >= 2 else lut.shape[0]
            nbits = int(round(math.log2(size)))
            entry.update(kind=f"lut{nbits}", bits=nbits, lut_dtype=_dtype(lut), lut_shape=list(lut.shape))
        elif t == "constexpr_sparse_to_dense":
            nz = _numel(ins["nonzero_data"].shape)
            entry.update(kind="sparse", sparsity=round(1.0 - nz / n, 6) if n else 0.0, values_dtype=_dtype(ins["nonzero_data"]))
        elif t == "constexpr_cast":
            entry.update(kind=_dtype(ins["source_val"]))
        else:
            entry.update(kind=t)
        elements[entry["kind"]] += n
        tensors.append(entry)
    bits = sorted({e["bits"] for e in tensors if e.get("bits")})
    compressed = sum(e["elements"] for e in tensors if e.get("op"))
    total = sum(e["elements"] for e in tensors)
    return {
        "elements": dict(sorted(elements.items())),
        "compressed_fraction": round(compressed / total, 6) if total else 0.0,
        "bits": bits,
        "tensors": tensors,
    }


def _classify_labels(ops: list) -> list[str] | None:
    for op in ops:
        if op.op_type == "classify":
            classes = op.inputs["classes"]
            val = classes.val if classes.val is not None else getattr(classes.op, "val", None)
            if val is None:
                return None
            vals = val.val if hasattr(val, "val") else val
            return [str(v) for v in vals]
    return None
