"""An ONNX artifact's intermediate values: every float tensor exposed as a graph output, run on ORT.

Q/DQ models: a tensor X followed by QuantizeLinear → DequantizeLinear is judged by the DQ output
(the value the next layer really reads), under X's name; the Q/DQ pair itself is not a layer.
With every intermediate an output, ORT cannot fuse across them: the figures are those of the
QDQ arithmetic the file describes, as onnxruntime's own quantization debugger measures them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...debug.trace import Trace, stack

_FLOAT = {1, 10, 11, 16}  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


def trace(path: Path, record, samples: list[dict[str, np.ndarray]]) -> Trace:
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    graph = model.graph
    inferred = onnx.shape_inference.infer_shapes(model)
    elem = {v.name: v.type.tensor_type.elem_type for v in [*inferred.graph.value_info, *graph.output, *graph.input]}
    consts = {i.name for i in graph.initializer} | {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    producer = {o: n for n in graph.node for o in n.output}

    # X → the DQ output that stands for it; the DQ output → X
    judged_as: dict[str, str] = {}
    for n in graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in producer and producer[n.input[0]].op_type == "QuantizeLinear":
            judged_as[producer[n.input[0]].input[0]] = n.output[0]
    stands_for = {dq: x for x, dq in judged_as.items()}

    def canonical(name: str) -> str:
        if name in stands_for:
            return stands_for[name]
        node = producer.get(name)
        if node is not None and node.op_type == "QuantizeLinear":
            return canonical(node.input[0])
        return name

    order, inputs, ops, wanted = [], {}, {}, []
    for n in graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear", "Constant"):
            if n.op_type == "DequantizeLinear" and n.output[0] in stands_for:
                wanted.append(n.output[0])
            continue
        for o in n.output:
            if not o or o in consts or elem.get(o) not in _FLOAT:
                continue
            order.append(o)
            ops[o] = n.op_type
            inputs[o] = [canonical(i) for i in n.input if i and i not in consts and canonical(i) not in consts]
            wanted.append(o)
    have = {o.name for o in graph.output}
    for name in wanted:
        if name not in have:
            graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    per_sample = []
    for feeds in samples:
        native = {t.tensor: np.asarray(feeds[t.name]).astype(_np_dtype(t.dtype)) for t in record.inputs}
        got = dict(zip(names, session.run(names, native)))
        per_sample.append({x: got[judged_as.get(x, x)] for x in order if judged_as.get(x, x) in got})
    return Trace(values=stack(per_sample), order=order, inputs=inputs, ops=ops,
                 runtime=f"onnxruntime {ort.__version__} (every intermediate an output)", graph=graph.name or "main",
                 aliases=stands_for)


def _np_dtype(dtype: str):
    return {"float32": np.float32, "float16": np.float16, "int64": np.int64, "int32": np.int32}.get(dtype, np.float32)
