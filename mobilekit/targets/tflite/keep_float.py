"""Full-integer TFLite with named ops left in float: TensorFlow's selective quantization.

The onnx2tf path's int8 file is made in two steps, as `TFLiteConverter` makes it inside: the
converter calibrates only (`_experimental_calibrate_only`: a float model carrying each tensor's
observed range), then the MLIR quantizer (`tf.lite.python.convert.mlir_quantize`, what
`tf.lite.experimental.QuantizationDebugger.get_nondebug_quantized_model` calls) quantizes it —
with `denylisted_nodes`, op output tensor names that stay float (the quantizer puts a
Dequantize before and a Quantize after them). With no names it gives the converter's own bytes.

The calibrated model is kept in the target's work folder (with what `_finish` needs), so the
accuracy fallback re-quantizes without running onnx2tf or the calibration again. Only the
onnx2tf converter is covered: litert-torch's int8 is PT2E, another quantizer.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..base import ArtifactRecord, KeepFloat

CALIBRATED = "int8.calibrated.tflite"  # in the tflite work folder
FINISH = "int8.finish.json"  # the job and build facts `_finish` needs for the same record
# ops whose int8 output takes its input's scale: a tensor stays float only if they do too
_PASS_THROUGH = {"MAX_POOL_2D", "RESHAPE", "SQUEEZE", "TRANSPOSE", "PAD", "STRIDED_SLICE", "SLICE", "GATHER",
                 "QUANTIZE", "DEQUANTIZE", "SPLIT", "SPLIT_V", "EXPAND_DIMS"}
_QDQ = {"QUANTIZE", "DEQUANTIZE"}


def quantize(calibrated: bytes, *, integer_io: bool, keep_float: list[str] = ()) -> bytes:
    """The converter's full-integer step on a calibrated model, with `keep_float` ops left float."""
    import tensorflow as tf
    from tensorflow.lite.python import convert as tfl_convert
    from tensorflow.lite.python.lite import _deduplicate_readonly_buffers

    io = tf.int8 if integer_io else tf.float32
    data = tfl_convert.mlir_quantize(calibrated, disable_per_channel=False, input_data_type=io, output_data_type=io,
                                     denylisted_nodes=list(keep_float) or None)
    return bytes(_deduplicate_readonly_buffers(data))


def op_outputs(data: bytes) -> list[dict]:
    """Each op of the file's main graph: its builtin name, output and input tensor names."""
    from .flatbuffer import _read

    model = _read(data)
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    g = model.subgraphs[0]

    def tname(i: int) -> str:
        n = g.tensors[i].name
        return n.decode() if isinstance(n, bytes) else n

    out = []
    for op in g.operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        out.append({"op": names.get(builtin, str(builtin)), "outputs": [tname(i) for i in op.outputs if i >= 0],
                    "inputs": [tname(i) for i in op.inputs if i >= 0]})
    return out


def float_tensor_names(data: bytes) -> set[str]:
    """Op output names of the calibrated model: the names `denylisted_nodes` can take."""
    return {o for op in op_outputs(data) for o in op["outputs"]}


def region(ops: list[dict], tensor: str, known: set[str]) -> list[str]:
    readers: dict[str, list[dict]] = {}
    for op in ops:
        for i in op["inputs"]:
            readers.setdefault(i, []).append(op)
    chosen = [op for op in ops if tensor in op["outputs"] and op["op"] not in _QDQ]
    seen: set[int] = set()

    def follow(name: str) -> None:
        for op in readers.get(name, []):
            if id(op) in seen:
                continue
            seen.add(id(op))
            if op["op"] not in _QDQ:
                chosen.append(op)
            if op["op"] in _PASS_THROUGH:
                for o in op["outputs"]:
                    follow(o)

    follow(tensor)
    return list(dict.fromkeys(o for op in chosen for o in op["outputs"] if o in known))


SAMPLES = 8  # calibration samples torch and the calibrated model are compared on to match names


def from_torch_names(job, calibrated: bytes, layouts: dict, cal: dict, names: list[str], work: Path) -> dict:
    """`[compression] keep_float` (torch node / module names) as the calibrated model's op names:
    the ops that compute those nodes run in float (what reads them is quantized as usual, unless
    it is listed too; the fallback's regions keep a whole tensor float instead).

    TFLite keeps no source names, so each torch node is found by value, as `mobilekit debug`
    matches a TFLite file: torch and the calibrated (float) model run on the first calibration
    samples, and a node matches the one tensor that reproduces it (`debug.match.by_anchor`). A node
    no tensor reproduces uniquely (fused away, e.g. a conv folded with its batch norm and relu)
    is listed under `not_matched`, never dropped silently."""
    from ...debug import match
    from .trace import trace
    from ...debug.torch_trace import torch_values
    from ...spec import ModelSpec
    from ..base import capture_graph, fused_into, resolve_keep_float
    from .flatbuffer import _add_signature
    from .options import _Built
    from .records import _record

    capture = capture_graph(job.program)
    nodes = resolve_keep_float(capture, names)
    n = min(SAMPLES, len(next(iter(cal.values()))))
    batch = job.spec["inputs"][0]["shape"][0]
    samples = [{t["name"]: cal[t["name"]][i: i + batch] for t in job.spec["inputs"]} for i in range(0, n - batch + 1, batch)]
    tt = torch_values(Path(job.program), ModelSpec.from_dict(job.spec), samples)
    path = work / "int8.calibrated-for-names.tflite"
    signed = _add_signature(calibrated, [t["name"] for t in job.spec["inputs"]], [t["name"] for t in job.spec["outputs"]])
    path.write_bytes(signed)
    try:
        tr = trace(path, _record(job, _Built("int8", signed, "onnx2tf", layouts, []), path.name), samples)
    finally:
        path.unlink(missing_ok=True)
    matches, _unmatched = match.by_anchor(tt, tr)
    known = float_tensor_names(calibrated)
    deny, not_matched, fused = [], [], {}
    for node in nodes:
        into = node if node in matches else fused_into(capture, node, matches)
        if into is None:
            not_matched.append(node)
            continue
        if into != node:
            fused[node] = into  # a conv and batch norm fused into the op that outputs the relu after them
        tensor = matches[into].artifact
        if tensor in known:  # the op that computes it runs in float (its readers stay as they are)
            deny.append(tensor)
        else:
            not_matched.append(node)
    return {"nodes": nodes, "kept_float": list(dict.fromkeys(deny)), "fused": fused, "not_matched": not_matched}


class TFLiteKeepFloat(KeepFloat):
    def __init__(self, record: ArtifactRecord, bundle_dir: Path, work_dir: Path):
        self.record = record
        self.bundle_dir = Path(bundle_dir)
        self.path = self.bundle_dir / record.path
        self.calibrated = (Path(work_dir) / CALIBRATED).read_bytes()
        self.finish = json.loads((Path(work_dir) / FINISH).read_text())
        self.known = float_tensor_names(self.calibrated)

    def region(self, tensor: str) -> list[str]:
        """`tensor`'s producer and every op that reads it (through ops that keep its scale), by
        their output names in the calibrated model."""
        return region(op_outputs(self.path.read_bytes()), tensor, self.known)

    def requantize(self, layers: list[str]) -> None:
        from ..base import ConvertJob
        from .flatbuffer import _add_signature
        from .options import TFLiteOptions, _Built
        from .records import _finish
        from ... import _validate

        f = self.finish
        user = next((c for c in self.record.compression if c.get("by") == "compression.keep_float"), None)
        layers = list(dict.fromkeys([*(user or {}).get("kept_float", []), *layers]))  # what the config keeps, too
        data = quantize(self.calibrated, integer_io=f["integer_io"], keep_float=layers)
        spec = f["spec"]
        data = _add_signature(data, [t["name"] for t in spec["inputs"]], [t["name"] for t in spec["outputs"]])
        job = ConvertJob(target="tflite", program="", spec=spec, options=f["options"], bundle_dir=str(self.bundle_dir),
                         work_dir="")
        opts = _validate.build(TFLiteOptions, dict(f["options"]), "tflite")
        b = _Built("int8", data, "onnx2tf", f["layouts"], f["compression"], dict(f["details"]))
        _finish(job, opts, b, self.path.parent)


def save_for_fallback(work: Path, calibrated: bytes, spec: dict, options: dict, layouts: dict, compression: list,
                      details: dict, integer_io: bool) -> None:
    work.mkdir(parents=True, exist_ok=True)
    (work / CALIBRATED).write_bytes(calibrated)
    (work / FINISH).write_text(json.dumps({"spec": spec, "options": options, "layouts": layouts, "compression": compression,
                                           "details": details, "integer_io": integer_io}))
