"""Edits and reads of the .tflite flatbuffer: signatures, float I/O, tensor details."""

from __future__ import annotations

from ...errors import ConversionError
from .options import SIGNATURE_KEY


def _read(data: bytes):
    from ai_edge_litert.tools import flatbuffer_utils

    return flatbuffer_utils.read_model_from_bytearray(bytearray(data))


def _write(model) -> bytes:
    from ai_edge_litert.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _add_signature(data: bytes, in_names: list[str], out_names: list[str]) -> bytes:
    """A `serving_default` SignatureDef naming the first subgraph's inputs/outputs in order."""
    from ai_edge_litert import schema_py_generated as fb

    model = _read(data)
    sg = model.subgraphs[0]
    if len(sg.inputs) != len(in_names) or len(sg.outputs) != len(out_names):
        raise ConversionError("tflite", f"converted model has {len(sg.inputs)} inputs/{len(sg.outputs)} outputs, expected {len(in_names)}/{len(out_names)}")
    sig = fb.SignatureDefT()
    sig.signatureKey = SIGNATURE_KEY
    sig.subgraphIndex = 0
    sig.inputs = [fb.TensorMapT(name=n, tensorIndex=int(i)) for n, i in zip(in_names, sg.inputs)]
    sig.outputs = [fb.TensorMapT(name=n, tensorIndex=int(i)) for n, i in zip(out_names, sg.outputs)]
    model.signatureDefs = [sig]
    return _write(model)


def _float_io(data: bytes) -> bytes:
    """Give a full-int8 model float32 inputs/outputs: QUANTIZE in front, DEQUANTIZE behind.

    litert-torch's PT2E path quantizes the model's boundary tensors too; apps that feed floats
    (integer_io = false) get the same interface as the TFLite converter's full-int8 files.
    """
    from ai_edge_litert import schema_py_generated as fb
    from ai_edge_litert.tools import flatbuffer_utils

    model = _read(data)
    sg = model.subgraphs[0]

    def opcode(builtin: int, version: int) -> int:
        for i, oc in enumerate(model.operatorCodes):
            if flatbuffer_utils.get_builtin_code_from_operator_code(oc) == builtin and oc.version == version:
                return i
        model.operatorCodes.append(fb.OperatorCodeT(deprecatedBuiltinCode=min(builtin, 127), version=version, builtinCode=builtin))
        return len(model.operatorCodes) - 1

    def float_twin(idx: int) -> int:
        t = sg.tensors[idx]
        twin = fb.TensorT(shape=list(t.shape), type=fb.TensorType.FLOAT32, buffer=0, name=t.name,
                          shapeSignature=list(t.shapeSignature) if t.shapeSignature is not None else None,
                          hasRank=t.hasRank)
        t.name = (t.name.decode() if isinstance(t.name, bytes) else t.name) + "_int8"
        sg.tensors.append(twin)
        return len(sg.tensors) - 1

    quantized = (fb.TensorType.INT8, fb.TensorType.UINT8)
    remap: dict[int, int] = {}
    front = []
    for pos, idx in enumerate(list(sg.inputs)):
        if sg.tensors[idx].type in quantized:
            new = float_twin(idx)
            front.append(fb.OperatorT(opcodeIndex=opcode(fb.BuiltinOperator.QUANTIZE, 1), inputs=[new], outputs=[int(idx)]))
            sg.inputs[pos] = new
            remap[int(idx)] = new
    back = []
    for pos, idx in enumerate(list(sg.outputs)):
        if sg.tensors[idx].type in quantized:
            new = float_twin(idx)
            back.append(fb.OperatorT(opcodeIndex=opcode(fb.BuiltinOperator.DEQUANTIZE, 2), inputs=[int(idx)], outputs=[new]))
            sg.outputs[pos] = new
            remap[int(idx)] = new
    if not remap:
        return data
    sg.operators = front + list(sg.operators) + back
    for sig in model.signatureDefs or []:
        if sig.subgraphIndex == 0:
            for tm in list(sig.inputs or []) + list(sig.outputs or []):
                tm.tensorIndex = remap.get(int(tm.tensorIndex), tm.tensorIndex)
    return _write(model)


def _signature_names(data: bytes) -> tuple[list[str], list[str]] | None:
    from ai_edge_litert import schema_py_generated as fb

    model = fb.Model.GetRootAs(data, 0)
    for i in range(model.SignatureDefsLength()):
        sig = model.SignatureDefs(i)
        if sig.SignatureKey().decode() == SIGNATURE_KEY:
            return ([sig.Inputs(j).Name().decode() for j in range(sig.InputsLength())],
                    [sig.Outputs(j).Name().decode() for j in range(sig.OutputsLength())])
    return None


def _io_details(data: bytes) -> tuple[dict, dict]:
    """Signature input/output details (dtype, shape, quantization) of a model."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=data)
    runner = interp.get_signature_runner(SIGNATURE_KEY)
    ins, outs = runner.get_input_details(), runner.get_output_details()
    ops = sorted({op["op_name"] for op in interp._get_ops_details()})  # noqa: SLF001 - no public API
    return ins, {"outputs": outs, "ops": ops}


# -- records and files -----------------------------------------------------------------------------
