"""An ExecuTorch artifact's intermediate values, from ExecuTorch's own devtools.

The `.pte` is lowered again from the same capture with an ETRecord (targets/executorch/relower),
run in the pybindings runtime with an ETDump and a debug buffer (intermediate output logging),
and read back with `executorch.devtools.Inspector`: each runtime event that logged outputs
carries the debug handles of the graph nodes it ran. Those handles name nodes of the ETRecord's
exported program, which is the capture itself, so its node names are torch_trace's.

An XNNPACK delegate call logs only its outputs, not the ops inside it: it is one layer here,
keyed `delegate@<instruction>`, covering the nodes listed in `covers`. A delegate (or kernel)
with one output computes the value of the last node it covers in graph order (the one node in
the group nothing else in the group reads); with several outputs, which output is which node is
not recorded, so they are listed as unmatched.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from ...debug.trace import NotTraceable, Trace, stack

DEBUG_BUFFER_BYTES = 64 << 20  # every intermediate of one sample; the wheel fails the run if it overflows


def trace(path: Path, record, samples: list[dict[str, np.ndarray]], *, program: Path | None = None,
          spec: dict | None = None, options: dict | None = None, calibration: Path | None = None) -> Trace:
    if record.details.get("backend") == "CoreMLBackend":
        raise NotTraceable("a Core ML delegate runs only on Apple platforms, and ExecuTorch logs no intermediates "
                           "inside it; its Core ML program is the one the coreml target's artifact is traced from")
    if program is None:
        raise NotTraceable("tracing a .pte needs the capture it was lowered from (run `mobilekit debug` with the config)")
    if record.variant == "int8" and calibration is None:
        raise NotTraceable("the int8 .pte is lowered again to get an ETRecord, which needs the config's calibration.data")
    from ..base import package_version
    from .relower import relower

    shipped = relower(record, path, program, spec, options or {}, calibration)
    if not shipped.identical:
        raise NotTraceable("lowering the capture again does not reproduce the bundle's .pte byte for byte (another "
                           "executorch/torch version, or another config?): an ETRecord would describe another program")
    with tempfile.TemporaryDirectory(prefix="mobilekit-etdump-") as work:
        fused = _traced(shipped, record, samples, Path(work) / "shipped")
        notes = ["lowered again from the capture with an ETRecord: byte-identical to the bundle's .pte"]
        try:  # the shipped program's delegate calls hide their ops; XNNPACK's per-op mode shows each
            per_op = _traced(relower(record, path, program, spec, options or {}, calibration, per_op=True),
                             record, samples, Path(work) / "per-op")
        except Exception as exc:  # noqa: BLE001 - the shipped program's layers still stand
            per_op = None
            notes.append(f"XNNPACK per-op lowering failed ({type(exc).__name__}: {str(exc).strip()[:120]}); layers are the shipped program's")
    chosen = fused
    if per_op is not None:
        agree = _output_snr_db(fused["outputs"], per_op["outputs"])
        if agree >= PER_OP_AGREE_DB:
            chosen = per_op
            notes.append(f"layers from the same model lowered in XNNPACK per-op mode (same kernels, one delegate call per op); "
                         f"its outputs are {agree:.1f} dB from the shipped program's")
        else:
            notes.append(f"XNNPACK per-op mode's outputs are {agree:.1f} dB from the shipped program's (< {PER_OP_AGREE_DB:g}): "
                         "layers are the shipped program's")
    trace_ = chosen["trace"]
    delegates = [k for k in trace_.order if k.startswith("delegate@")]
    if chosen is fused and delegates:
        notes.append(f"{len(delegates)} XNNPACK delegate call(s): each logs only its outputs, so each is one layer "
                     "(the nodes it covers are under `covers`)")
    trace_.notes = notes
    trace_.runtime = f"executorch {package_version('executorch')} (ETDump intermediate outputs, Inspector)"
    return trace_


PER_OP_AGREE_DB = 40.0  # the per-op program stands for the shipped one only if their outputs agree this well


def _traced(lowered, record, samples, work: Path) -> dict:
    """Run `lowered` on every sample with intermediate logging; its Trace and program outputs."""
    work.mkdir(parents=True)
    etrecord = work / "model.etrecord"
    lowered.etrecord.save(str(etrecord))  # Inspector keys the debug-handle maps as a saved ETRecord does
    per_sample, outputs, events, inspector = [], [], None, None
    for i, feeds in enumerate(samples):
        got, events, inspector, outs = _run_once(lowered.buffer, record, feeds, etrecord, work / f"s{i}")
        per_sample.append(got)
        outputs.append(outs)
    graph, handles_of = _reference_graph(inspector)
    order, inputs, ops, covers, holds = _layers(events, graph, handles_of)
    node_of = {n.name: n for n in graph.graph.nodes}
    for got in per_sample:
        for key in list(got):
            if not np.issubdtype(got[key].dtype, np.floating):
                value = _dequantized(got[key], node_of.get((covers.get(key) or [""])[-1]))
                if value is None:
                    del got[key]  # an integer value no quantize node describes: not compared
                else:
                    got[key] = value
    values = stack(per_sample)
    tr = Trace(values={k: v for k, v in values.items() if k in ops}, order=order, inputs=inputs, ops=ops, runtime="",
               graph="forward", covers=covers, aliases=holds)
    return {"trace": tr, "outputs": outputs}


def _output_snr_db(a: list, b: list) -> float:
    from ...verify.verdict import output_figures

    snrs = [output_figures(np.stack([s[i] for s in a]), np.stack([s[i] for s in b]))["snr_db"] for i in range(len(a[0]))]
    return float(min(snrs))


def _reference_graph(inspector):
    """The ETRecord's exported program (the capture, with debug handles propagated back) and
    debug handle → node names, as the Inspector resolves them for its own numeric comparison."""
    from executorch.devtools.inspector._inspector_utils import get_aot_debug_handle_to_op_name_mapping

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph, _name = inspector._resolve_reference_graph(None)  # noqa: SLF001 - what calculate_numeric_gap uses
    handles_of: dict[int, list[str]] = {}
    for key, names in get_aot_debug_handle_to_op_name_mapping(graph).items():
        for h in key:
            handles_of.setdefault(int(h), []).extend(names)
    return graph, handles_of


def _run_once(buffer: bytes, record, feeds, etrecord: Path, stem: Path):
    """One sample: the program run with intermediate output logging; (values by layer key, events)."""
    import torch
    from executorch.devtools import Inspector
    from executorch.extension.pybindings.portable_lib import _load_for_executorch_from_buffer

    module = _load_for_executorch_from_buffer(buffer, enable_etdump=True, debug_buffer_size=DEBUG_BUFFER_BYTES)
    args = tuple(torch.from_numpy(np.array(feeds[t.name], dtype=t.dtype, order="C", copy=True)) for t in record.inputs)
    outs = [np.asarray(o.detach().float().numpy() if isinstance(o, torch.Tensor) else o, np.float32)
            for o in module.run_method("forward", args)]
    dump, debug = stem.with_suffix(".etdp"), stem.with_suffix(".bin")
    module.write_etdump_result_to_file(str(dump), str(debug))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inspector = Inspector(etdump_path=str(dump), etrecord=str(etrecord), debug_buffer_path=str(debug))
    events = _output_events(inspector)
    values = {}
    for ev in events:
        outs = ev["outputs"]
        if len(outs) == 1 and isinstance(outs[0], torch.Tensor):  # integer ones: dequantized in _traced
            values[ev["key"]] = outs[0].detach().numpy().copy()
    return values, events, inspector, outs


def _output_events(inspector) -> list[dict]:
    """Events that logged outputs and ran graph nodes, in execution order (the last of an
    instruction's events: a kernel call logs as the kernel and again as OPERATOR_CALL)."""
    by_instruction: dict[int, dict] = {}
    for block in inspector.event_blocks:
        for ev in block.events:
            if not ev.op_types or not ev.debug_data or ev.debug_handles is None or ev.is_delegated_op:
                continue
            handles = (ev.debug_handles,) if isinstance(ev.debug_handles, int) else tuple(ev.debug_handles)
            n_out = int(ev.num_outputs or 1)
            data = list(ev.debug_data)
            kind = "delegate" if ev.name == "DELEGATE_CALL" else "kernel"
            iid = int(ev._instruction_id)  # noqa: SLF001 - the event's instruction, as Inspector keys them
            if kind == "kernel" and iid in by_instruction:
                continue  # the kernel's own event came first; OPERATOR_CALL repeats it
            by_instruction[iid] = {"key": f"{kind}@{iid}", "name": ev.name, "handles": handles,
                                   "backend": ev.delegate_backend_name, "outputs": data[-n_out:], "n_out": n_out}
    return [by_instruction[i] for i in sorted(by_instruction)]


def _layers(events, graph, handles_of):
    """Per layer key: the nodes it covers, the node whose value it holds (one output: the last it
    covers), the layer keys it reads from, and its op description."""
    position = {n.name: i for i, n in enumerate(graph.graph.nodes)}
    node_of = {n.name: n for n in graph.graph.nodes}
    covers: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for ev in events or []:
        names = sorted({name for h in ev["handles"] for name in handles_of.get(int(h), [])}, key=lambda n: position.get(n, 0))
        covers[ev["key"]] = names
        for name in names:
            owner[name] = ev["key"]
    order, inputs, ops, holds = [], {}, {}, {}
    for ev in events or []:
        if ev["n_out"] == 1 and covers[ev["key"]]:
            # nothing else in the group reads its last node: that is the group's output
            holds[_stands_for(node_of[covers[ev["key"]][-1]])] = ev["key"]
    owner.update(holds)  # per-op int8 groups overlap at their Q/DQ edges: a node belongs to the layer holding it
    ran = {ev["key"]: i for i, ev in enumerate(events or [])}
    for ev in events or []:
        key = ev["key"]
        order.append(key)
        # a layer reads only layers that ran before it (groups overlap at Q/DQ edges: a node a
        # later group also covers is not an input of this one)
        inputs[key] = sorted({owner[a.name] for name in covers[key] for a in node_of[name].all_input_nodes
                              if a.name in owner and ran[owner[a.name]] < ran[key]})
        ops[key] = (f"DELEGATE_CALL ({ev['backend'] or 'delegate'}, {len(covers[key])} nodes)" if key.startswith("delegate@")
                    else ev["name"])
    return order, inputs, ops, covers, holds


_QDQ = ("quantize_per_tensor", "dequantize_per_tensor", "quantize_per_channel", "dequantize_per_channel")


def _stands_for(node) -> str:
    """A quantize → dequantize pair's output is the value of the node it quantized (int8 PT2E
    graphs end every layer with one), as an ONNX Q/DQ pair's is."""
    while any(q in str(node.target) for q in _QDQ) and node.all_input_nodes:
        node = node.all_input_nodes[0]
    return node.name


def _dequantized(value: np.ndarray, node) -> np.ndarray | None:
    """An int8 value passed between delegate calls, read with the scale and zero point of the
    quantize (or dequantize) node at the group's end (per-tensor, constants in the PT2E graph)."""
    # the group ends in quantize (its int8 output) or in the dequantize XNNPACK absorbed into the next call
    if node is None or "quantize_per_tensor" not in str(node.target):
        return None
    scale, zero_point = node.args[1], node.args[2]
    if not isinstance(scale, (int, float)) or not isinstance(zero_point, (int, float)):
        return None
    return ((value.astype(np.float32) - float(zero_point)) * float(scale)).astype(np.float32)
