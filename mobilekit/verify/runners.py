"""Host runtimes behind one call shape: spec inputs (NCHW float32 / ints) → spec outputs.

Each runner does what the artifact's manifest entry says it needs: layout transposes (NHWC
for TFLite images) and integer quantization of inputs/outputs for full-int8 files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _to_layout(x: np.ndarray, layout: str) -> np.ndarray:
    if layout == "NHWC" and x.ndim == 4:
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    return x


def _from_layout(x: np.ndarray, layout: str) -> np.ndarray:
    if layout == "NHWC" and x.ndim == 4:
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return x


def onnxruntime_runner(path: Path, record, threads: int = 2):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    ins = {t.name: t for t in record.inputs}
    outs = [t for t in record.outputs]

    def run(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        native = {ins[n].tensor: _to_layout(v, ins[n].layout) for n, v in feeds.items()}
        values = session.run([t.tensor for t in outs], native)
        return {t.name: _from_layout(v, t.layout) for t, v in zip(outs, values)}

    run.session = session  # type: ignore[attr-defined]
    run.compute = cpu_compute(record.precision)  # type: ignore[attr-defined]
    run.runtime = f"onnxruntime {_version('onnxruntime')}"  # type: ignore[attr-defined]
    return run


def cpu_compute(precision: str) -> str:
    """What ONNX Runtime's CPU provider and LiteRT's CPU kernels compute a precision in.

    Both run fp16 graphs in fp32 (ORT inserts casts / fp32 kernels; LiteRT's fp16 files hold
    fp16 weights that are dequantized): a host check of an fp16 artifact is an fp32-compute check.
    """
    from .verdict import precision_class

    cls = precision_class(precision)
    return "fp32" if cls == "fp16" else cls


def litert_runner(path: Path, record, threads: int = 2):
    """LiteRT interpreter (XNNPACK on CPU). Finds tensors by the names the record gives.

    Inputs are transposed to the record's layout (NHWC images) and quantized when the file takes
    integers (full-int8 with `integer_io`; int64 spec inputs that the file takes as int32 are
    cast); integer outputs are dequantized with the file's scale and zero point.
    """
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=threads)
    signatures = interp.get_signature_list()
    if not signatures:
        raise RuntimeError(f"{path} has no signature; mobilekit's TFLite files always have one")
    key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
    runner = interp.get_signature_runner(key)
    in_details = runner.get_input_details()
    out_details = runner.get_output_details()
    ins = {t.name: t for t in record.inputs}
    for label, wanted, have in (("input", [t.tensor for t in record.inputs], in_details),
                                ("output", [t.tensor for t in record.outputs], out_details)):
        missing = [w for w in wanted if w not in have]
        if missing:
            raise RuntimeError(f"{path}: signature {key!r} has no {label} named {missing[0]!r} (it has {sorted(have)})")

    def run(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        native = {}
        for name, value in feeds.items():
            t = ins[name]
            d = in_details[t.tensor]
            x = _to_layout(value, t.layout)
            native[t.tensor] = _quantize(x, d)
        result = runner(**native)
        out = {}
        for t in record.outputs:
            y = _dequantize(result[t.tensor], out_details[t.tensor])
            out[t.name] = _from_layout(y, t.layout)
        return out

    run.interpreter = interp  # type: ignore[attr-defined]
    run.compute = cpu_compute(record.precision)  # type: ignore[attr-defined]
    run.runtime = f"ai-edge-litert {_version('ai-edge-litert')} (XNNPACK, {threads} threads)"  # type: ignore[attr-defined]
    return run


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = detail["dtype"]
    scale, zero = detail.get("quantization", (0.0, 0))
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero = detail.get("quantization", (0.0, 0))
    if np.issubdtype(y.dtype, np.integer) and scale:
        return (y.astype(np.float32) - zero) * scale
    return y
