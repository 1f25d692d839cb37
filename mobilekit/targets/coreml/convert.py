"""Preparing the torch program (std folding, classifier softmax, image inputs) and converting it with coremltools."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...errors import ConversionError, UserError
from ..base import ConvertJob
from .common import _coremltools, _first_line
from .inspect import _numel
from .options import _LABEL_OUTPUT, _PROBS_INTERNAL, _PROBS_OUTPUT, CoreMLOptions

# --------------------------------------------------------------------------------------------
# preparing the torch program


@dataclass
class _Prepared:
    spec: dict
    program: Any  # the ExportedProgram ct.convert takes (ATEN dialect)
    ct_inputs: list
    output_names: list[str]  # spec outputs, in the program's order
    classifier: dict | None
    labels: list[str] | None
    preprocessing_notes: dict
    notes: list[str]


def _prepare(job: ConvertJob, spec: dict, opts: CoreMLOptions) -> _Prepared:
    """Load the capture, wrap it (std folding, softmax) and re-export it for coremltools."""
    import numpy as np
    import torch
    from torch.utils import _pytree as pytree

    ct = _coremltools()
    ep = torch.export.load(str(job.program))
    example = _example_args(spec)
    spec_outputs = list(spec["outputs"])
    if not spec_outputs or not all(o.get("shape") for o in spec_outputs):
        # the pipeline fills output shapes from a torch run; without them, run the program once
        with torch.inference_mode():
            ref = pytree.tree_leaves(ep.module()(*[torch.from_numpy(a) for a in example]))
        if not spec_outputs:
            spec_outputs = [{"name": f"output_{i}", "shape": [], "dtype": str(r.dtype).removeprefix("torch."),
                             "labels": None, "description": ""} for i, r in enumerate(ref)]
        if len(spec_outputs) != len(ref):
            raise ConversionError("coreml", f"the program returns {len(ref)} outputs but the spec lists {len(spec_outputs)}")
        spec_outputs = [{**o, "shape": list(o.get("shape") or ref[i].shape)} for i, o in enumerate(spec_outputs)]
    n_out = len(ep.graph_signature.user_outputs)
    if n_out != len(spec_outputs):
        raise ConversionError("coreml", f"the program returns {n_out} outputs but the spec lists {len(spec_outputs)}")
    spec = {**spec, "outputs": spec_outputs}

    notes: list[str] = []
    pre_notes: dict = {}
    inv_std: dict[int, list[float]] = {}
    ct_inputs = []
    for i, t in enumerate(spec["inputs"]):
        pre = t.get("preprocessing")
        if pre and opts.image_inputs:
            scale, bias, note, fold = _image_scale_bias(pre, opts.fold_std)
            if fold is not None:
                inv_std[i] = fold
            layout = {"RGB": ct.colorlayout.RGB, "BGR": ct.colorlayout.BGR, "GRAY": ct.colorlayout.GRAYSCALE}[pre.get("color", "RGB")]
            ct_inputs.append(ct.ImageType(name=t["name"], shape=tuple(t["shape"]), scale=scale,
                                          bias=bias if len(bias) > 1 else bias[0], color_layout=layout,
                                          channel_first=True))
            pre_notes[t["name"]] = {"scale": scale, "bias": bias, "color_layout": pre.get("color", "RGB"), **note}
            if t.get("dynamic"):
                notes.append(f"input {t['name']!r}: Core ML image inputs have a fixed size; dynamic dims {t['dynamic']} fixed at {t['shape']}")
        else:
            dtype = np.float32 if t["dtype"] == "float32" else np.int32
            if t["dtype"] == "int64":
                notes.append(f"input {t['name']!r}: int64 becomes int32 (Core ML has no int64 inputs)")
            shape = [ct.RangeDim(1, 4096, default=d) if k in t.get("dynamic", []) else d for k, d in enumerate(t["shape"])]
            ct_inputs.append(ct.TensorType(name=t["name"], shape=ct.Shape(shape), dtype=dtype))

    labelled = [k for k, o in enumerate(spec["outputs"]) if o.get("labels")]
    classifier = None
    labels = None
    if labelled:
        out = spec["outputs"][labelled[0]]
        one_example = _numel(out["shape"][:-1]) == 1 and not any(t.get("dynamic") for t in spec["inputs"])
        if not one_example:
            notes.append(f"output {out['name']!r}: no Core ML classifier (it takes one example, the output is "
                         f"{out['shape']}{' with dynamic inputs' if out['shape'][:-1] == [1] else ''}); labels are in metadata")
            labels = list(out["labels"])
            labelled = []
    if labelled:
        k = labelled[0]
        out = spec["outputs"][k]
        labels = list(out["labels"])
        n = out["shape"][-1] if out["shape"] else None
        if n is not None and n != len(labels):
            raise UserError(f"coreml: output {out['name']!r} has {n} values but {len(labels)} labels",
                            hint="Give one label per class in the labels file.")
        if len(labelled) > 1:
            notes.append(f"only {out['name']!r} drives the Core ML classifier; labels of the other outputs are in metadata only")
        classifier = {"label_output": _LABEL_OUTPUT, "probabilities_output": _PROBS_OUTPUT, "scores_output": out["name"],
                      "softmax_added": bool(opts.classifier_softmax), "labels": len(labels)}

    if not inv_std and not labelled:
        # nothing to add: convert the capture as it is (saves a re-export, ~10 s for a MobileNetV2)
        try:
            program = _decompose(ep)
        except Exception as exc:
            raise ConversionError("coreml", f"decomposing the program failed: {type(exc).__name__}: {_first_line(exc)}") from exc
        return _Prepared(spec, program, ct_inputs, [o["name"] for o in spec["outputs"]], None, labels, pre_notes, notes)
    wrapper = _Wrapper(ep.module(), inv_std, labelled[0] if labelled else None, opts.classifier_softmax)
    dynamic = None
    if any(t.get("dynamic") for t in spec["inputs"] if not (t.get("preprocessing") and opts.image_inputs)):
        dims = []
        for t in spec["inputs"]:
            if t.get("dynamic") and not (t.get("preprocessing") and opts.image_inputs):
                dims.append({k: torch.export.Dim(f"{t['name']}_{k}", min=1, max=4096) for k in t["dynamic"]})
            else:
                dims.append(None)
        dynamic = {"xs": tuple(dims)}
    try:
        program = torch.export.export(wrapper, tuple(torch.from_numpy(a) for a in example),
                                      dynamic_shapes=dynamic, strict=False)
        program = _decompose(program)
    except Exception as exc:
        raise ConversionError("coreml", f"re-exporting the wrapped program failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    return _Prepared(spec, program, ct_inputs, [o["name"] for o in spec["outputs"]], classifier, labels, pre_notes, notes)


# ops an empty table leaves that coremltools 9 has no converter for (Hugging Face encoders: the
# attention mask's new_ones and a bool `&`); only then is the default table used, which would
# otherwise split ops coremltools converts whole
_NEEDS_DEFAULT_TABLE = {"new_ones", "new_zeros", "new_full", "new_empty", "__and__", "__or__"}


def _decompose(ep):
    program = ep.run_decompositions({})
    left = {_op_name(n.target) for n in program.graph.nodes if n.op == "call_function"} & _NEEDS_DEFAULT_TABLE
    if left:
        import torch

        program = ep.run_decompositions(torch.export.default_decompositions())
    return program


def _op_name(target) -> str:
    return getattr(target, "_opname", None) or getattr(target, "__name__", "")


def _image_scale_bias(pre: dict, fold_std: bool) -> tuple[float, list[float], dict, list[float] | None]:
    """Core ML computes `pixel * scale + bias` (one scale); the spec says `(pixel * s - mean) / std`.

    Equal std: exact. Per-channel std with `fold_std`: Core ML does `pixel * s - mean` and the
    model multiplies each channel by 1/std (exact). Without folding: the mean std is used as
    the scale and the bias stays exact per channel; the error is recorded.
    """
    mean = [float(m) for m in pre["mean"]]
    std = [float(s) for s in pre["std"]]
    s = float(pre["scale"])
    if max(std) - min(std) <= 1e-12 * max(std):
        return s / std[0], [-m / std[0] for m in mean], {"std": "exact"}, None
    if fold_std:
        return s, [-m for m in mean], {"std": "folded", "folded_inverse_std": [1.0 / v for v in std]}, [1.0 / v for v in std]
    avg = sum(std) / len(std)
    err = max(abs(v / avg - 1.0) for v in std)  # |approximate scale / exact scale - 1|
    return s / avg, [-m / v for m, v in zip(mean, std)], {"std": "approximate", "std_used": avg,
                                                           "max_relative_scale_error": err}, None


def _example_args(spec: dict) -> list:
    import numpy as np

    rng = np.random.default_rng(0)
    out = []
    for t in spec["inputs"]:
        if t["dtype"] == "float32":
            out.append(rng.standard_normal(t["shape"]).astype(np.float32))
        else:
            out.append(np.zeros(t["shape"], dtype=t["dtype"]))
    return out


def _wrapper_class():
    import torch
    from torch.utils import _pytree as pytree

    class Wrapper(torch.nn.Module):
        """The captured program, plus std folding on inputs and softmax on the labelled output."""

        def __init__(self, inner, inv_std: dict[int, list[float]], labelled: int | None, softmax: bool):
            super().__init__()
            self.inner = inner
            self.scaled = sorted(inv_std)
            for i, v in inv_std.items():
                self.register_buffer(f"inv_std_{i}", torch.tensor(v, dtype=torch.float32).reshape(1, -1, 1, 1))
            self.labelled = labelled
            self.softmax = softmax

        def forward(self, *xs):
            xs = list(xs)
            for i in self.scaled:
                xs[i] = xs[i] * getattr(self, f"inv_std_{i}")
            outs = pytree.tree_leaves(self.inner(*xs))
            if self.labelled is not None:
                scores = outs[self.labelled]
                probs = torch.softmax(scores, dim=-1) if self.softmax else scores + 0.0
                outs = [*outs, probs]
            return tuple(outs)

        # ep.module() refuses train()/eval(); nothing here has training behaviour
        def train(self, mode: bool = True):
            return self

    return Wrapper


def _Wrapper(inner, inv_std, labelled, softmax):
    return _wrapper_class()(inner, inv_std, labelled, softmax)


def _convert_base(ct: Any, prepared: _Prepared, opts: CoreMLOptions, precision: str) -> Any:

    # Output dtypes are left to coremltools: fp16 under fp16 compute (iOS16+), fp32 otherwise.
    # Forcing fp32 adds a cast after the last op; coremltools' compression passes then reorder
    # it after the classify op, and the backend (which expects classify last) fails to
    # serialize the labels. The record carries the dtype; runners cast.
    outputs = [ct.TensorType(name=o["name"]) for o in prepared.spec["outputs"]]
    kwargs: dict = {}
    if prepared.classifier:
        outputs.append(ct.TensorType(name=_PROBS_INTERNAL))
        kwargs["classifier_config"] = ct.ClassifierConfig(
            prepared.labels, predicted_feature_name=_LABEL_OUTPUT, predicted_probabilities_output=_PROBS_INTERNAL)
        kwargs["pass_pipeline"] = _classifier_pipeline(ct)
    _register_missing_ops()
    try:
        return ct.convert(
            prepared.program,
            convert_to="mlprogram",
            inputs=prepared.ct_inputs,
            outputs=outputs,
            minimum_deployment_target=getattr(ct.target, opts.minimum_deployment_target),
            compute_precision=ct.precision.FLOAT16 if precision == "float16" else ct.precision.FLOAT32,
            skip_model_load=True,
            **kwargs,
        )
    except Exception as exc:
        op = _failing_op(exc)
        raise ConversionError("coreml", f"coremltools could not convert the model: {type(exc).__name__}: {_first_line(exc)}",
                              op=op, hint="See the coreml log in the bundle for the converter's traceback.") from exc


def _failing_op(exc: BaseException) -> str | None:
    m = re.search(r"PyTorch convert function for op '([^']+)' not implemented", str(exc)) or \
        re.search(r"Unsupported fx node ([^,\s]+)", str(exc))
    return m.group(1) if m else None


# torch ops that are views coremltools 9 has no entry for although it maps their copies to a
# no-op (`alias_copy`, `clone`): torch.export leaves `aten.alias` for a slice over a whole dim
# (`x[:, :C]` of a C-channel tensor), which failed the whole Core ML target
_VIEW_NOOPS = ("alias",)


def _register_missing_ops() -> None:
    from coremltools.converters.mil.frontend.torch import ops
    from coremltools.converters.mil.frontend.torch.torch_op_registry import _TORCH_OPS_REGISTRY

    for name in _VIEW_NOOPS:
        if name not in _TORCH_OPS_REGISTRY.name_to_func_mapping:
            _TORCH_OPS_REGISTRY.set_func_by_name(ops.noop, name)


def _classifier_pipeline(ct: Any) -> Any:
    """The default passes plus one that works around a coremltools 9.0 classifier bug.

    With fp16 I/O (iOS16+) the function's output types are set before the backend adds the
    classify op, which turns one output into two (label, probabilities). The backend then
    indexes the output types by the new positions and fails with an IndexError as soon as the
    model has another output (our raw scores). Padding the list by one fixes the indexing; the
    padded entry is only read to ask "is this an image output?".
    """
    from coremltools.converters.mil.mil.passes.graph_pass import AbstractGraphPass
    from coremltools.converters.mil.mil.passes.pass_registry import PASS_REGISTRY, register_pass

    name = "mobilekit::pad_classifier_output_types"
    if name not in PASS_REGISTRY:

        class pad_classifier_output_types(AbstractGraphPass):  # noqa: N801 - registry uses the class name
            def apply(self, prog):
                fn = prog.functions["main"]
                if fn.output_types is not None and len(fn.output_types) == len(fn.outputs):
                    fn.output_types = list(fn.output_types) + [ct.TensorType()]

        register_pass(namespace="mobilekit")(pad_classifier_output_types)
    pipeline = ct.PassPipeline.DEFAULT
    pipeline.append_pass(name)
    return pipeline
