"""A TFLite artifact's intermediate values, from LiteRT with `experimental_preserve_all_tensors`.

Every op output is read after the run and dequantized with its own scale and zero point (int8
activations are per-tensor in the TFLite schema). Values stay in the file's layout (NHWC for
images); matching to torch's NCHW values happens in `match`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ...verify.runners import _dequantize, _quantize, _to_layout, _version
from ...debug.trace import Trace, stack


def trace(path: Path, record, samples: list[dict[str, np.ndarray]]) -> Trace:
    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging": that is what this is
        interp = Interpreter(model_path=str(path), num_threads=2, experimental_preserve_all_tensors=True)
    signatures = interp.get_signature_list()
    key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
    runner = interp.get_signature_runner(key)
    in_details = runner.get_input_details()
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    ops_details = interp._get_ops_details()  # the public API has no op list; ai-edge-litert keeps this one stable
    produced = {int(o): op for op in ops_details for o in op["outputs"] if o >= 0}
    order, inputs, ops = [], {}, {}
    for op in ops_details:
        for o in op["outputs"]:
            if o < 0 or not np.issubdtype(tensors[o]["dtype"], np.number):
                continue
            name = tensors[o]["name"]
            order.append(name)
            ops[name] = op["op_name"]
            inputs[name] = [tensors[int(i)]["name"] for i in op["inputs"] if i >= 0 and int(i) in produced]
    per_sample = []
    for feeds in samples:
        native = {}
        for t in record.inputs:
            d = in_details[t.tensor]
            native[t.tensor] = _quantize(_to_layout(np.asarray(feeds[t.name]), t.layout), d)
        runner(**native)
        seen = {}
        for op in ops_details:
            for o in op["outputs"]:
                if o < 0 or tensors[o]["name"] not in ops:
                    continue
                d = tensors[o]
                seen[d["name"]] = np.asarray(_dequantize(interp.get_tensor(int(o)), d), np.float32)
        per_sample.append(seen)
    return Trace(values=stack(per_sample), order=order, inputs=inputs, ops=ops,
                 runtime=f"ai-edge-litert {_version('ai-edge-litert')} (all tensors preserved)", graph="main")
