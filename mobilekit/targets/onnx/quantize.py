"""ONNX variants made with ONNX Runtime's own tools: float16, dynamic int8, static QDQ int8.

Runs inside the ONNX target's worker; imports onnx/onnxruntime at call time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def to_fp16(src: Path, dst: Path) -> Path:
    """Weights and compute in float16; inputs and outputs stay float32 so apps feed the same data."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    import onnx

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True, disable_shape_infer=False)
    dst.write_bytes(model.SerializeToString(deterministic=True))
    return dst


def _preprocessed(src: Path, work: Path) -> Path:
    """ORT's recommended pre-pass (shape inference, folding) before quantization."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = work / f"{src.stem}.pre.onnx"
    work.mkdir(parents=True, exist_ok=True)
    quant_pre_process(str(src), str(out), skip_symbolic_shape=True)
    return out


def dynamic_int8(src: Path, dst: Path, *, per_channel: bool, work: Path, nodes_to_exclude: list[str] | None = None) -> Path:
    """int8 weights; activations quantized at run time. Best for Linear/MatMul-heavy models.
    `nodes_to_exclude`: node names left in float (the accuracy fallback's choice)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(_preprocessed(src, work)), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                     nodes_to_exclude=list(nodes_to_exclude or []))
    _copy_metadata(src, dst)
    return dst


class _Reader:
    """Feeds calibration samples one at a time (the exported graph has a fixed batch)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        n = len(next(iter(arrays.values())))
        self._items = iter([{k: v[i : i + 1].astype(np.float32) if v.dtype.kind == "f" else v[i : i + 1] for k, v in arrays.items()} for i in range(n)])

    def get_next(self):
        return next(self._items, None)


def static_int8(src: Path, dst: Path, calibration: Path, *, per_channel: bool, reduce_range: bool, work: Path,
                nodes_to_exclude: list[str] | None = None) -> Path:
    """QDQ with uint8 activations and int8 weights, calibrated by MinMax on the given samples.

    reduce_range keeps weights to 7 bits: x86 CPUs without VNNI compute u8×s8 products with
    saturating 16-bit adds (VPMADDUBSW), which overflow with full-range weights. Measured here
    on the digits model: full range lost 0.56 points of top-1 and 2.9 max abs on the logits;
    7-bit lost nothing (max abs 0.41). `nodes_to_exclude`: node names left in float (the accuracy
    fallback's choice; see keep_float.py).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with np.load(calibration) as z:
        arrays = {k: z[k] for k in z.files}
    quantize_static(
        str(_preprocessed(src, work)), str(dst), _Reader(arrays),
        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        per_channel=per_channel, reduce_range=reduce_range, calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=list(nodes_to_exclude or []),
    )
    _copy_metadata(src, dst)
    return dst


def _copy_metadata(src: Path, dst: Path) -> None:
    """The quantizers drop metadata_props; put them back, and save deterministically."""
    import onnx

    original = onnx.load(str(src), load_external_data=False)
    model = onnx.load(str(dst))
    del model.metadata_props[:]
    model.metadata_props.extend(original.metadata_props)
    model.doc_string = original.doc_string
    model.model_version = original.model_version
    _drop_bias_zero_points(model)
    dst.write_bytes(model.SerializeToString(deterministic=True))


def _drop_bias_zero_points(model) -> int:
    """Remove the all-zero int32 zero points ORT writes for every quantized bias (one per channel).

    DequantizeLinear's zero point is optional and defaults to 0, so the graph means the same
    without them; ORT still fuses the QDQ Conv/Gemm units (checked: same QLinearConv count,
    identical outputs). On the MobileNetV2-style net they were ~68 KB of the int8 file (4 bytes a
    channel). Returns how many were dropped.
    """
    from onnx import TensorProto, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    uses: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    dropped = set()
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or len(node.input) < 3 or node.domain not in ("", "ai.onnx"):
            continue
        x, zp = inits.get(node.input[0]), inits.get(node.input[2])
        if x is None or zp is None or zp.data_type != TensorProto.INT32 or x.data_type != TensorProto.INT32:
            continue
        if np.any(numpy_helper.to_array(zp)):
            continue
        uses[node.input[2]] -= 1
        if uses[node.input[2]] == 0:
            dropped.add(node.input[2])
        del node.input[2]
    if dropped:
        keep = [i for i in model.graph.initializer if i.name not in dropped]
        del model.graph.initializer[:]
        model.graph.initializer.extend(keep)
    return len(dropped)


def keep_float_nodes(base: Path, program: str | Path, names: list[str]) -> dict:
    """`[compression] keep_float` (torch node / module names) as ONNX node names to exclude.

    torch.onnx names each value after the FX node that computes it, so torch node T is ONNX value
    T, and the node that produces it runs in float (its readers are quantized as usual unless
    listed too: the fallback's regions keep a whole tensor float instead). A node folded away in
    the export (a conv with its batch norm) is the ONNX node that computes the value after it
    (`fused`); one with no value at all is listed under `not_matched`."""
    import onnx

    from ..base import capture_graph, fused_into, resolve_keep_float

    capture = capture_graph(program)
    nodes = resolve_keep_float(capture, names)
    graph = onnx.load(str(base), load_external_data=False).graph
    producer = {o: n for n in graph.node for o in n.output}
    torch_names = {n.name for n in capture.nodes}
    kept, not_matched, fused = [], [], {}
    for t in nodes:
        if t in producer:
            kept.append(producer[t].name)
            continue
        into = fused_into(capture, t, producer)
        if into is None:
            not_matched.append(t)
            continue
        # folded into the node that computes `into`'s input (a Conv with the batch norm in it)
        fused[t] = into
        kept += [producer[i].name for i in producer[into].input if i in producer and i not in torch_names]
    return {"nodes": nodes, "kept_float": list(dict.fromkeys(k for k in kept if k)), "fused": fused,
            "not_matched": not_matched}
