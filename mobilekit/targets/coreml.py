"""Core ML target: torch.export program → ML Program `.mlpackage`, one package per variant.

What it makes, from the shared capture (`job.program`):

- The model is wrapped before conversion: per-channel `std` that Core ML's image preprocessing
  cannot express (one scalar scale) is folded in as an exact per-channel multiply, and when an
  output has labels a softmax of it is added and fed to Core ML's classifier (`classLabel`,
  `classLabel_probs`). The labelled output itself stays an output (raw logits), so parity is
  checked on the very tensor torch gives and apps keep the raw scores.
- Image inputs (spec inputs with `preprocessing`) become `ImageType`: the app passes a pixel
  buffer / CGImage and Core ML does `pixel * scale + bias`; the record's layout is "image".
  Other inputs are float32 / int32 multi-arrays.
- Variants (`coreml.variants`): fp16, fp32, int8 (per-channel linear), int4-block (per-block
  int4, iOS18+), palettize-N (k-means LUT, per tensor or per grouped channel), pruned
  (magnitude pruning, sparse storage). Compressed variants start from the model converted at
  `compute_precision` and compress its weights only (activations stay float).
- Packages are saved deterministically: the debug-handle map torch.export adds is dropped,
  `model.mlmodel` is re-serialized with sorted maps and without the conversion date, and the
  ids in `Manifest.json` are derived from the content instead of random UUIDs.

No Core ML runtime exists off macOS: there `runner` runs the package through mobilekit's
reference interpreter (`verify/coreml_interp`, fp16 simulated), and `check_structure` (package
loads, I/O names/types/shapes, labels, weight bit widths) checks what the runtime would refuse.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import CheckError, ConfigError, ConversionError, UserError
from .base import ArtifactRecord, ConvertJob, Target, TensorIO, Unverifiable, package_version

DeploymentTarget = Literal["iOS15", "iOS16", "iOS17", "iOS18", "macOS12", "macOS13", "macOS14", "macOS15"]
VariantName = Literal[
    "fp16", "fp32", "int8", "int4-block",
    "palettize-1", "palettize-2", "palettize-3", "palettize-4", "palettize-6", "palettize-8",
    "pruned",
]

# Core ML specification version of each deployment target, and the OS releases of each version.
_SPEC_VERSION = {"iOS15": 6, "iOS16": 7, "iOS17": 8, "iOS18": 9,
                 "macOS12": 6, "macOS13": 7, "macOS14": 8, "macOS15": 9}
_OS_OF_SPEC = {
    6: {"iOS": "15", "macOS": "12", "tvOS": "15", "watchOS": "8"},
    7: {"iOS": "16", "macOS": "13", "tvOS": "16", "watchOS": "9"},
    8: {"iOS": "17", "macOS": "14", "tvOS": "17", "watchOS": "10"},
    9: {"iOS": "18", "macOS": "15", "tvOS": "18", "watchOS": "11"},
}
_LABEL_OUTPUT = "classLabel"
_PROBS_OUTPUT = "classLabel_probs"  # coremltools names it <predicted_feature_name>_probs
_PROBS_INTERNAL = "mobilekit_probabilities"  # the softmax the classify op consumes
_DEBUG_FILES = ("executorch_debug_handle_mapping.json",)
_ID_NAMESPACE = uuid.UUID("5b0a4a53-6f2e-4f4c-9a43-6d6f62696c65")  # fixed: package item ids


@dataclass
class CoreMLOptions:
    """`[tool.mobilekit.coreml]`."""

    minimum_deployment_target: DeploymentTarget = "iOS16"
    compute_precision: Literal["float16", "float32"] = "float16"
    # One package per variant; the first listed is `<Name>.mlpackage`, the others
    # `<Name>.<variant>.mlpackage`. Default: the compute precision's float variant.
    variants: list[VariantName] | None = None
    # palettize-N: 0 = one look-up table per weight tensor; G > 0 = one table per G output
    # channels (per-grouped-channel, iOS18 / macOS15 or newer).
    palettize_group_size: int = 0
    int4_block_size: int = 32  # int4-block: input channels per quantization block
    prune_sparsity: float = 0.5  # pruned: fraction of each weight tensor set to zero
    weight_threshold: int = 2048  # weight tensors with fewer elements stay uncompressed
    classifier_softmax: bool = True  # the labelled output is logits: add softmax for the classifier
    fold_std: bool = True  # per-channel std: fold exactly into the model (else approximate it)
    image_inputs: bool = True  # image inputs as ImageType (pixel buffers); False: NCHW multi-arrays
    package_name: str | None = None  # default: the config's name in CamelCase (a Swift class name)

    def check(self, key: str) -> None:
        if self.variants is None:
            self.variants = ["fp16" if self.compute_precision == "float16" else "fp32"]
        if not self.variants:
            raise ConfigError(f"{key}.variants", "is empty", hint='List at least one variant, e.g. ["fp16", "int8"].')
        seen = set()
        for i, v in enumerate(self.variants):
            if v in seen:
                raise ConfigError(f"{key}.variants[{i}]", f"lists {v!r} twice")
            seen.add(v)
        target = self.minimum_deployment_target
        for v in self.variants:
            need = _variant_min_spec(v, self)
            if _SPEC_VERSION[target] < need:
                why = " (per-grouped-channel palettization)" if v.startswith("palettize") and self.palettize_group_size else ""
                raise ConfigError(
                    f"{key}.variants",
                    f"{v}{why} needs minimum_deployment_target {_os_name(target, need)} or newer, got {target}",
                    hint=f"Set `{key}.minimum_deployment_target = \"{_os_name(target, need)}\"` or drop {v}.",
                )
        if self.palettize_group_size < 0:
            raise ConfigError(f"{key}.palettize_group_size", f"must be >= 0, got {self.palettize_group_size}")
        if self.int4_block_size < 1:
            raise ConfigError(f"{key}.int4_block_size", f"must be >= 1, got {self.int4_block_size}")
        if not 0.0 < self.prune_sparsity < 1.0:
            raise ConfigError(f"{key}.prune_sparsity", f"must be between 0 and 1 (exclusive), got {self.prune_sparsity}")
        if self.weight_threshold < 1:
            raise ConfigError(f"{key}.weight_threshold", f"must be >= 1, got {self.weight_threshold}")
        if self.package_name is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", self.package_name):
            raise ConfigError(f"{key}.package_name", f"{self.package_name!r} is not a valid Swift class name",
                              hint="Use letters, digits and _, not starting with a digit.")


def _variant_min_spec(variant: str, opts: CoreMLOptions) -> int:
    if variant in ("fp16", "fp32"):
        return 6
    if variant == "int4-block":
        return 9
    if variant.startswith("palettize") and opts.palettize_group_size:
        return 9
    return 7  # compressed weights (constexpr ops) arrived with iOS16 / macOS13


def _os_name(configured: str, spec_version: int) -> str:
    family = "macOS" if configured.startswith("macOS") else "iOS"
    return family + _OS_OF_SPEC[spec_version][family]


# --------------------------------------------------------------------------------------------
# variants


@dataclass(frozen=True)
class _Plan:
    variant: str
    base: str  # "float16" / "float32": the conversion it starts from
    precision: str  # the record's precision
    tolerance: str  # which verify tolerance applies: fp32 / fp16 / int8
    compression: list[dict] = field(default_factory=list)


def _plans(opts: CoreMLOptions) -> list[_Plan]:
    base = opts.compute_precision
    float_name = "fp16" if base == "float16" else "fp32"
    thr = opts.weight_threshold
    plans = []
    for v in opts.variants or []:
        if v == "fp16":
            plans.append(_Plan(v, "float16", "fp16", "fp16"))
        elif v == "fp32":
            plans.append(_Plan(v, "float32", "fp32", "fp32"))
        elif v == "int8":
            plans.append(_Plan(v, base, "int8", "int8", [
                {"method": "linear_quantization", "dtype": "int8", "mode": "linear_symmetric",
                 "granularity": "per_channel", "weight_threshold": thr, "bits": 8}]))
        elif v == "int4-block":
            plans.append(_Plan(v, base, "int4", "int8", [
                {"method": "linear_quantization", "dtype": "int4", "mode": "linear_symmetric",
                 "granularity": "per_block", "block_size": opts.int4_block_size, "weight_threshold": thr, "bits": 4}]))
        elif v.startswith("palettize-"):
            nbits = int(v.split("-")[1])
            c = {"method": "palettization", "mode": "kmeans", "nbits": nbits, "weight_threshold": thr, "bits": nbits,
                 "granularity": "per_grouped_channel" if opts.palettize_group_size else "per_tensor"}
            if opts.palettize_group_size:
                c["group_size"] = opts.palettize_group_size
            plans.append(_Plan(v, base, f"lut{nbits}", "int8", [c]))
        elif v == "pruned":
            plans.append(_Plan(v, base, f"{float_name}-sparse", "int8", [
                {"method": "magnitude_pruning", "target_sparsity": opts.prune_sparsity, "weight_threshold": thr}]))
        else:  # pragma: no cover - the Literal type refuses other names
            raise ConfigError("coreml.variants", f"unknown variant {v!r}")
    return plans


def _compress(model: Any, plan: _Plan) -> tuple[Any, dict]:
    """The plan's weight compression applied to `model`; also returns per-tensor overrides."""
    if not plan.compression:
        return model, {}
    import coremltools as ct
    import coremltools.optimize.coreml as cto

    # Start from the saved form (spec + weights), not the converter's in-memory MIL program: in
    # that one the classifier's labels are a list const, which the compression passes cannot
    # serialize ("Unknown map from SSA type list"); read back from the spec they are bound to
    # the classify op as the backend expects.
    model = ct.models.MLModel(model.get_spec(), weights_dir=model.weights_dir, skip_model_load=True)
    c = plan.compression[0]
    thr = c["weight_threshold"]
    overrides: dict[str, Any] = {}
    notes: dict[str, str] = {}
    if c["method"] == "linear_quantization":
        kw = {"block_size": c["block_size"]} if c["granularity"] == "per_block" else {}
        cfg = cto.OpLinearQuantizerConfig(mode=c["mode"], dtype=c["dtype"], granularity=c["granularity"],
                                          weight_threshold=thr, **kw)
        if c["granularity"] == "per_block":
            # coremltools skips (leaves float) any weight whose input channels are not a multiple
            # of the block size; quantize those per output channel instead.
            fallback = cto.OpLinearQuantizerConfig(mode=c["mode"], dtype=c["dtype"], granularity="per_channel",
                                                   weight_threshold=thr)
            for name, (cin, _cout) in _weight_channels(model, thr).items():
                if cin % c["block_size"]:
                    overrides[name] = fallback
                    notes[name] = f"per_channel ({cin} input channels, not a multiple of {c['block_size']})"
        config = cto.OptimizationConfig(global_config=cfg, op_name_configs=overrides or None)
        return cto.linear_quantize_weights(model, config), notes
    if c["method"] == "palettization":
        kw = {"group_size": c["group_size"]} if c["granularity"] == "per_grouped_channel" else {}
        cfg = cto.OpPalettizerConfig(mode=c["mode"], nbits=c["nbits"], granularity=c["granularity"],
                                     weight_threshold=thr, **kw)
        if c["granularity"] == "per_grouped_channel":
            # likewise for output channels that are not a multiple of the group size
            fallback = cto.OpPalettizerConfig(mode=c["mode"], nbits=c["nbits"], granularity="per_tensor",
                                              weight_threshold=thr)
            for name, (_cin, cout) in _weight_channels(model, thr).items():
                if cout % c["group_size"]:
                    overrides[name] = fallback
                    notes[name] = f"per_tensor ({cout} output channels, not a multiple of {c['group_size']})"
        config = cto.OptimizationConfig(global_config=cfg, op_name_configs=overrides or None)
        return cto.palettize_weights(model, config), notes
    if c["method"] == "magnitude_pruning":
        cfg = cto.OpMagnitudePrunerConfig(target_sparsity=c["target_sparsity"], weight_threshold=thr)
        return cto.prune_weights(model, cto.OptimizationConfig(global_config=cfg)), notes
    raise ConfigError("coreml.variants", f"unknown compression {c['method']!r}")  # pragma: no cover


def _weight_channels(model: Any, threshold: int) -> dict[str, tuple[int, int]]:
    """{const op name: (input channels, output channels)} of the float weights compression sees."""
    from coremltools.converters.mil.frontend.milproto.load import load as mil_load

    try:
        from coremltools.optimize._utils import select_input_output_channel_axis
    except ImportError:  # pragma: no cover - private helper; conv/linear convention otherwise
        select_input_output_channel_axis = None
    spec = model.get_spec()
    prog = mil_load(spec, specification_version=spec.specificationVersion, file_weights_dir=model.weights_dir)
    out = {}
    for op in _all_ops(prog):
        if op.op_type != "const" or _dtype(op.outputs[0]) not in ("fp16", "fp32"):
            continue
        shape = op.outputs[0].shape
        if len(shape) < 2 or _numel(shape) < threshold or not op.outputs[0].child_ops:
            continue
        in_axis, out_axis = (1, 0)
        if select_input_output_channel_axis is not None:
            try:
                a, b = select_input_output_channel_axis(op)
                in_axis, out_axis = (1 if a is None else a), (0 if b is None else b)
            except Exception:
                pass
        out[op.name] = (int(shape[in_axis]), int(shape[out_axis]))
    return out


# --------------------------------------------------------------------------------------------
# the target


class CoreMLTarget(Target):
    name = "coreml"
    Options = CoreMLOptions
    presets = {"fp16": ["fp16"], "int8": ["fp16", "int8"], "size": ["fp16", "palettize-4"], "speed": ["fp16"]}

    def converter_versions(self) -> dict[str, str]:
        return {"coremltools": package_version("coremltools"), "torch": package_version("torch"),
                "scikit-learn": package_version("scikit-learn")}

    def validate(self, options: CoreMLOptions, spec: Any, config: Any) -> None:
        spec = _spec_dict(spec)
        outs = [o for o in spec.get("outputs", []) if o.get("labels")]
        names = {t["name"] for t in spec.get("inputs", []) + spec.get("outputs", [])}
        if outs and {_LABEL_OUTPUT, _PROBS_OUTPUT} & names:
            clash = sorted({_LABEL_OUTPUT, _PROBS_OUTPUT} & names)[0]
            raise UserError(f"coreml: tensor name {clash!r} is taken by the Core ML classifier outputs",
                            hint="Rename that input or output in the config.")
        for i, t in enumerate(spec.get("inputs", [])):
            if t.get("preprocessing") and options.image_inputs:
                shape = t["shape"]
                if shape[0] != 1:
                    raise UserError(
                        f"coreml: image input {t['name']!r} has batch {shape[0]}; Core ML image inputs take one image",
                        hint="Use batch 1 in `inputs[].shape`, or set `coreml.image_inputs = false`.")
        return None

    # -- conversion (runs in a worker process) ---------------------------------------------
    def convert(self, job: ConvertJob) -> list[ArtifactRecord]:
        opts = self.parse_options(job.options, "coreml")
        spec = _spec_dict(job.spec)
        self.validate(opts, spec, None)
        ct = _coremltools()
        plans = _plans(opts)
        clock = _Clock()
        _reset_mil_names()
        with clock("prepare"):
            prepared = _prepare(job, spec, opts)
        base_models = {}
        for base in dict.fromkeys(p.base for p in plans):
            with clock(f"convert_{base}"):
                base_models[base] = _convert_base(ct, prepared, opts, base)
        bundle = Path(job.bundle_dir)
        name = opts.package_name or _package_name(spec["name"])
        records = []
        for i, plan in enumerate(plans):
            with clock(f"compress_{plan.variant}"):
                try:
                    model, overrides = _compress(base_models[plan.base], plan)
                except Exception as exc:
                    raise ConversionError("coreml", f"{plan.variant}: weight compression failed: "
                                                    f"{type(exc).__name__}: {_first_line(exc)}") from exc
            _set_metadata(model, spec, job.versions, plan, prepared)
            rel = f"coreml/{name}.mlpackage" if i == 0 else f"coreml/{name}.{plan.variant}.mlpackage"
            with clock(f"save_{plan.variant}"):
                save_package(model, bundle / rel)
                facts = inspect_package(bundle / rel)
            record = self._record(rel, plan, opts, prepared, facts)
            if overrides:
                record.details["granularity_overrides"] = overrides
            records.append(record)
        for r in records:
            r.details["seconds"] = dict(clock.seconds)
        print(f"coreml: {', '.join(f'{k} {v:.1f}s' for k, v in clock.seconds.items())}", file=sys.stderr, flush=True)
        return records

    def _record(self, rel: str, plan: _Plan, opts: CoreMLOptions, prepared: "_Prepared", facts: dict) -> ArtifactRecord:
        spec_version = facts["spec_version"]
        io = facts["io"]
        inputs = []
        for t in prepared.spec["inputs"]:
            d = io["inputs"][t["name"]]
            if d["type"] == "image":
                inputs.append(TensorIO(t["name"], t["name"], "image", "uint8", list(t["shape"])))
            else:
                inputs.append(TensorIO(t["name"], t["name"], "NCHW" if t.get("preprocessing") else "", d["dtype"], list(t["shape"])))
        outputs = [TensorIO(t["name"], t["name"], "", io["outputs"][t["name"]]["dtype"],
                            list(io["outputs"][t["name"]]["shape"] or t["shape"]))  # symbolic dims: the spec's example
                   for t in prepared.spec["outputs"]]
        details = {
            "spec_version": spec_version,
            "min_os_all": _OS_OF_SPEC.get(spec_version, {}),
            "compute_precision": plan.base,
            "tolerance": plan.tolerance,
            "size_bytes": facts["size_bytes"],
            "weights_bytes": facts["weights_bytes"],
            "ops": facts["ops"],
            "op_count": facts["op_count"],
            "weights": facts["weights"],
            "preprocessing": prepared.preprocessing_notes,
            "weight_threshold": opts.weight_threshold,
        }
        if prepared.classifier:
            details["classifier"] = prepared.classifier
        if prepared.notes:
            details["notes"] = list(prepared.notes)
        return ArtifactRecord(
            target="coreml",
            variant=plan.variant,
            path=rel,
            precision=plan.precision,
            layout="image" if any(t.layout == "image" for t in inputs) else ("NCHW" if any(t.layout == "NCHW" for t in inputs) else ""),
            made_by={"converter": "coremltools", "version": package_version("coremltools"),
                     "torch": package_version("torch")},
            compression=[dict(c) for c in plan.compression],
            inputs=inputs,
            outputs=outputs,
            min_os=_os_name(opts.minimum_deployment_target, spec_version) if spec_version in _OS_OF_SPEC else None,
            details=details,
        )

    # -- verification ----------------------------------------------------------------------
    def runner(self, record: ArtifactRecord, bundle_dir: Path):
        if sys.platform == "darwin":
            run = _mac_runner(record, Path(bundle_dir))
            run.runtime = f"coreml-runtime (coremltools {package_version('coremltools')})"  # type: ignore[attr-defined]
            return run
        # No Core ML runtime off macOS: the reference interpreter runs the MIL program op by op
        # (fp16 rounding simulated); an op it does not know raises UnsupportedOp (Unverifiable).
        from ..verify.coreml_interp import bundle_runner

        return bundle_runner(record, Path(bundle_dir))

    def check_structure(self, record: ArtifactRecord, bundle_dir: Path, spec: Any) -> dict:
        return check_package(record, Path(bundle_dir), _spec_dict(spec))


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
            program = ep.run_decompositions({})
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
                                      dynamic_shapes=dynamic, strict=False).run_decompositions({})
    except Exception as exc:
        raise ConversionError("coreml", f"re-exporting the wrapped program failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    return _Prepared(spec, program, ct_inputs, [o["name"] for o in spec["outputs"]], classifier, labels, pre_notes, notes)


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
    import numpy as np

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
    m = re.search(r"PyTorch convert function for op '([^']+)' not implemented", str(exc))
    return m.group(1) if m else None


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


# --------------------------------------------------------------------------------------------
# metadata and deterministic saving


def _set_metadata(model: Any, spec: dict, versions: dict, plan: _Plan, prepared: _Prepared) -> None:
    model.author = spec.get("author") or ""
    model.license = spec.get("license") or ""
    model.short_description = spec.get("description") or spec.get("name", "")
    model.version = spec.get("version") or ""
    names = {f.name for f in model.get_spec().description.input} | {f.name for f in model.get_spec().description.output}
    for t in prepared.spec["inputs"]:
        if t["name"] in names:
            model.input_description[t["name"]] = t.get("description") or _input_text(t, prepared.preprocessing_notes.get(t["name"]))
    for t in prepared.spec["outputs"]:
        if t["name"] in names:
            text = t.get("description") or ("Raw scores (logits), one per label" if t.get("labels") else f"Output {t['name']}")
            model.output_description[t["name"]] = text
    if prepared.classifier:
        model.output_description[_LABEL_OUTPUT] = "The most likely label"
        model.output_description[_PROBS_OUTPUT] = ("Probability of each label (softmax of the scores)"
                                                   if prepared.classifier["softmax_added"] else "Score of each label")
    meta = model.user_defined_metadata
    meta["mobilekit.name"] = spec.get("name", "")
    meta["mobilekit.task"] = spec.get("task", "")
    meta["mobilekit.variant"] = plan.variant
    meta["mobilekit.precision"] = plan.precision
    meta["mobilekit.compression"] = json.dumps(plan.compression, sort_keys=True)
    meta["mobilekit.preprocessing"] = json.dumps(
        {t["name"]: t["preprocessing"] for t in prepared.spec["inputs"] if t.get("preprocessing")}, sort_keys=True)
    if prepared.labels:
        meta["mobilekit.labels"] = json.dumps(prepared.labels)
    for k in ("mobilekit", "torch"):
        if versions.get(k):
            meta[f"mobilekit.versions.{k}"] = str(versions[k])
    meta["mobilekit.versions.coremltools"] = package_version("coremltools") or ""
    if prepared.classifier and any(t.get("preprocessing") for t in prepared.spec["inputs"]):
        meta["com.apple.coreml.model.preview.type"] = "imageClassifier"  # Xcode's preview tab


def _input_text(t: dict, note: dict | None) -> str:
    pre = t.get("preprocessing")
    if not pre or not note:
        return f"Input {t['name']}, shape {t['shape']}"
    h, w = t["shape"][-2:]
    return (f"{pre.get('color', 'RGB')} image, {w}x{h}; the model normalizes it itself "
            f"((pixel * {pre['scale']:.6g} - mean) / std, mean {pre['mean']}, std {pre['std']})")


_NONDETERMINISTIC_META = ("com.github.apple.coremltools.conversion_date",)


def save_package(model: Any, path: Path) -> Path:
    """Save an ML Program package so that the same model gives the same bytes.

    Written beside the destination and moved into place. The debug-handle map is dropped,
    `model.mlmodel` is re-serialized deterministically without the conversion date, the
    Manifest's random item ids become ids derived from each item's content, and permissions are
    normalized.
    """
    from coremltools.proto import Model_pb2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent)) / path.name
    try:
        model.save(str(tmp))
        for p in sorted(tmp.rglob("*")):
            if p.name in _DEBUG_FILES and p.is_file():
                p.unlink()
        manifest = json.loads((tmp / "Manifest.json").read_text())
        entries = manifest["itemInfoEntries"]
        spec_path = None
        for item in entries.values():
            if item["name"] == "model.mlmodel" or item["path"].endswith(".mlmodel"):
                spec_path = tmp / "Data" / item["path"]
        if spec_path is None:  # pragma: no cover - every ML package has a spec item
            raise ConversionError("coreml", "the saved package has no model.mlmodel item")
        spec = Model_pb2.Model()
        spec.ParseFromString(spec_path.read_bytes())
        for key in _NONDETERMINISTIC_META:
            if key in spec.description.metadata.userDefined:
                del spec.description.metadata.userDefined[key]
        spec_path.write_bytes(spec.SerializeToString(deterministic=True))
        # content-derived ids, so equal packages are equal byte for byte
        new_ids = {}
        for old, item in entries.items():
            digest = _tree_digest(tmp / "Data" / item["path"])
            new_ids[old] = str(uuid.uuid5(_ID_NAMESPACE, f"{item['path']}:{digest}")).upper()
        manifest["itemInfoEntries"] = {new_ids[k]: v for k, v in entries.items()}
        manifest["rootModelIdentifier"] = new_ids.get(manifest.get("rootModelIdentifier"), manifest.get("rootModelIdentifier"))
        (tmp / "Manifest.json").write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n")
        for p in [tmp, *tmp.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return path


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


def load_program(path: Path) -> tuple[Any, Any]:
    """(MLModel without a runtime, its MIL program with weights) of a saved package."""
    ct = _coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load as mil_load

    model = ct.models.MLModel(str(path), skip_model_load=True)
    spec = model.get_spec()
    if spec.WhichOneof("Type") != "mlProgram":
        raise CheckError(f"coreml: {path.name} is not an ML Program (got {spec.WhichOneof('Type')})")
    prog = mil_load(spec, specification_version=spec.specificationVersion, file_weights_dir=model.weights_dir)
    return model, prog


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


# --------------------------------------------------------------------------------------------
# structural checks (Linux)


def check_package(record: ArtifactRecord, bundle_dir: Path, spec: dict) -> dict:
    """The package loads, has the I/O the record promises and the weights its variant promises."""
    path = bundle_dir / record.path
    where = f"coreml {record.variant} ({record.path})"
    if not path.is_dir():
        raise CheckError(f"{where}: package missing")
    try:
        facts = inspect_package(path)
    except CheckError:
        raise
    except Exception as exc:
        raise CheckError(f"{where}: package does not load: {type(exc).__name__}: {_first_line(exc)}") from exc
    io = facts["io"]
    problems = []
    spec_inputs = {t["name"]: t for t in spec.get("inputs", [])}
    for t in record.inputs:
        got = io["inputs"].get(t.tensor)
        if got is None:
            problems.append(f"input {t.tensor!r} missing (has {sorted(io['inputs'])})")
            continue
        st = spec_inputs.get(t.name)
        if t.layout == "image":
            if got["type"] != "image":
                problems.append(f"input {t.tensor!r} is {got['type']}, the record promises an image")
            elif st is not None:
                h, w = st["shape"][-2:]
                color = (st.get("preprocessing") or {}).get("color", "RGB")
                if (got["height"], got["width"]) != (h, w):
                    problems.append(f"input {t.tensor!r} is {got['width']}x{got['height']}, the spec says {w}x{h}")
                if got["color"] != color:
                    problems.append(f"input {t.tensor!r} is {got['color']}, the spec says {color}")
        else:
            if got["type"] != "array":
                problems.append(f"input {t.tensor!r} is {got['type']}, the record promises a multi-array")
            elif got["dtype"] != t.dtype:
                problems.append(f"input {t.tensor!r} is {got['dtype']}, the record promises {t.dtype}")
            elif got["shape"] and list(got["shape"]) != list(t.shape):
                problems.append(f"input {t.tensor!r} has shape {got['shape']}, the record promises {t.shape}")
            elif st is not None and st.get("dynamic"):
                ranges = got.get("ranges") or []
                fixed = [k for k in st["dynamic"] if k >= len(ranges) or ranges[k][0] == ranges[k][1]]
                if fixed:
                    problems.append(f"input {t.tensor!r}: dims {fixed} should be flexible (the spec marks them dynamic)")
    spec_outputs = {t["name"]: t for t in spec.get("outputs", [])}
    for t in record.outputs:
        got = io["outputs"].get(t.tensor)
        if got is None:
            problems.append(f"output {t.tensor!r} missing (has {sorted(io['outputs'])})")
            continue
        if got["dtype"] != t.dtype:
            problems.append(f"output {t.tensor!r} is {got['dtype']}, the record promises {t.dtype}")
        want = list((spec_outputs.get(t.name) or {}).get("shape") or t.shape)
        if want and got["shape"] and list(got["shape"]) != want:
            problems.append(f"output {t.tensor!r} has shape {got['shape']}, expected {want}")
    labels = next((o.get("labels") for o in spec.get("outputs", []) if o.get("labels")), None)
    if labels and record.details.get("classifier"):
        if io["predicted_feature"] != _LABEL_OUTPUT or io["predicted_probabilities"] != _PROBS_OUTPUT:
            problems.append(f"not a classifier with outputs {_LABEL_OUTPUT!r}/{_PROBS_OUTPUT!r}")
        got_labels = facts["classify_labels"]
        if got_labels is not None and got_labels != [str(x) for x in labels]:
            problems.append(f"classifier labels differ from the spec's (first: {got_labels[:3]} vs {labels[:3]})")
    problems += _check_weights(record, facts["weights"])
    if record.min_os and facts["spec_version"] in _OS_OF_SPEC:
        want_min = record.min_os
        fam = "macOS" if want_min.startswith("macOS") else "iOS"
        got_min = fam + _OS_OF_SPEC[facts["spec_version"]][fam]
        if got_min != want_min:
            problems.append(f"needs {got_min} but the record says {want_min}")
    if problems:
        raise CheckError(f"{where}: " + "; ".join(problems))
    return {
        "spec_version": facts["spec_version"],
        "ops": facts["ops"],
        "op_count": facts["op_count"],
        "weight_elements": facts["weights"]["elements"],
        "weight_bits": facts["weights"]["bits"],
        "compressed_fraction": facts["weights"]["compressed_fraction"],
        "uncompressed_large": [e["name"] for e in facts["weights"]["tensors"]
                               if not e.get("op") and e["elements"] >= int(record.details.get("weight_threshold", 2048))
                               and record.compression],
        "size_bytes": facts["size_bytes"],
        "inputs": io["inputs"],
        "outputs": io["outputs"],
    }


# A compressed variant fails its check when less than this share of its eligible weights (float
# tensors of >= weight_threshold elements) is stored compressed. coremltools skips a tensor it
# cannot compress with the requested layout (and says so only in its log); a few such tensors are
# listed in the facts, more than this share fails.
_MIN_COMPRESSED_SHARE = 0.9


def _check_weights(record: ArtifactRecord, weights: dict) -> list[str]:
    """Does the weight storage match what the variant promises?"""
    threshold = int(record.details.get("weight_threshold", 2048))
    tensors = weights["tensors"]
    big_plain = [e for e in tensors if not e.get("op") and e["elements"] >= threshold]
    compressed = [e for e in tensors if e.get("op")]
    v = record.variant
    if v in ("fp16", "fp32"):
        want = "fp16" if v == "fp16" else "fp32"
        bad = [e for e in big_plain if e["kind"] != want]
        if compressed:
            return [f"{v} should have no compressed weights, found {len(compressed)} ({compressed[0]['op']})"]
        if bad:
            return [f"{v} weights should be {want}, {bad[0]['name']} is {bad[0]['kind']}"]
        return []
    problems = []
    if not compressed:
        return [f"{v} promises compressed weights but none are"]
    c = record.compression[0] if record.compression else {}
    if c.get("method") == "magnitude_pruning":
        kinds = {e["kind"] for e in compressed}
        if kinds != {"sparse"}:
            problems.append(f"pruned weights should be sparse, found {sorted(kinds)}")
        want = float(c.get("target_sparsity", 0.0))
        low = [e for e in compressed if e.get("sparsity", 0.0) < want - 0.01]
        if low:
            problems.append(f"{low[0]['name']} has sparsity {low[0]['sparsity']:.3f} < {want}")
    else:
        want_bits = int(c.get("bits", 0))
        wrong = [e for e in compressed if e.get("bits") != want_bits]
        if wrong:
            problems.append(f"{v} promises {want_bits}-bit weights, {wrong[0]['name']} has {wrong[0].get('bits')} ({wrong[0]['kind']})")
        if c.get("method") == "palettization" and any(not e["kind"].startswith("lut") for e in compressed):
            problems.append(f"{v} weights should be palettized")
    eligible = sum(e["elements"] for e in compressed) + sum(e["elements"] for e in big_plain)
    share = sum(e["elements"] for e in compressed) / eligible if eligible else 1.0
    if share < _MIN_COMPRESSED_SHARE:
        names = ", ".join(e["name"] for e in big_plain[:3])
        problems.append(f"only {share:.0%} of the weights (tensors of >= {threshold} elements) are compressed; "
                        f"{len(big_plain)} are not ({names})")
    return problems


# --------------------------------------------------------------------------------------------
# macOS runner


def _mac_runner(record: ArtifactRecord, bundle_dir: Path):  # pragma: no cover - needs macOS
    import numpy as np

    ct = _coremltools()
    try:
        model = ct.models.MLModel(str(bundle_dir / record.path), compute_units=ct.ComputeUnit.ALL)
    except Exception as exc:
        raise Unverifiable(f"Core ML could not load {record.path}: {type(exc).__name__}: {_first_line(exc)}") from None
    spec = model.get_spec()
    preprocessing = json.loads(spec.description.metadata.userDefined.get("mobilekit.preprocessing", "{}") or "{}")
    labels = json.loads(spec.description.metadata.userDefined.get("mobilekit.labels", "null") or "null")
    ins = {t.name: t for t in record.inputs}

    def run(feeds: dict) -> dict:
        native = {}
        for name, value in feeds.items():
            t = ins[name]
            if t.layout == "image":
                native[t.tensor] = _to_pil(np.asarray(value), preprocessing[name])
            else:
                native[t.tensor] = np.asarray(value).astype(np.float32 if t.dtype.startswith("float") else np.int32)
        result = model.predict(native)
        out = {t.name: np.asarray(result[t.tensor], dtype=np.float32) for t in record.outputs}
        probs = result.get(_PROBS_OUTPUT)
        if isinstance(probs, dict) and labels:
            # the classifier's {label: probability} as a vector in label order (beside the raw scores)
            out[_PROBS_OUTPUT] = np.array([[probs[str(lbl)] for lbl in labels]], dtype=np.float32)
        return out

    run.model = model  # type: ignore[attr-defined]
    return run


def _to_pil(x: Any, pre: dict):
    """Spec input (1, C, H, W) float → the image whose preprocessing gives it back."""
    import numpy as np
    from PIL import Image

    mean = np.asarray(pre["mean"], np.float64).reshape(1, -1, 1, 1)
    std = np.asarray(pre["std"], np.float64).reshape(1, -1, 1, 1)
    pixels = (np.asarray(x, np.float64) * std + mean) / float(pre["scale"])
    px = np.clip(np.round(pixels), 0, 255).astype(np.uint8)[0]  # C, H, W in the model's channel order
    color = pre.get("color", "RGB")
    if color == "GRAY":
        return Image.fromarray(px[0], mode="L")
    hwc = px.transpose(1, 2, 0)
    if color == "BGR":  # Core ML hands the model BGR from an RGB picture
        hwc = hwc[..., ::-1]
    return Image.fromarray(np.ascontiguousarray(hwc), mode="RGB")


# --------------------------------------------------------------------------------------------
# helpers


class _Clock:
    """Named stage durations (for the record's details and the worker log)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        import contextlib
        import time

        @contextlib.contextmanager
        def timed():
            t0 = time.perf_counter()
            try:
                yield
            finally:
                self.seconds[name] = round(time.perf_counter() - t0, 2)

        return timed()


def _coremltools() -> Any:
    """Import coremltools without letting it import TensorFlow (10 s here, and unused).

    coremltools probes for TensorFlow at import to enable its TF converters. When TensorFlow is
    not already loaded in this process, it is hidden for the duration of the import and
    restored after, so other code can still import it. MOBILEKIT_COREML_ALLOW_TF=1 disables it.
    """
    if "coremltools" in sys.modules:
        return sys.modules["coremltools"]
    import logging

    hide = "tensorflow" not in sys.modules and os.environ.get("MOBILEKIT_COREML_ALLOW_TF") != "1"
    if hide:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
    # Its import warns once per missing native proxy ("Failed to load _MLModelProxy": no Core ML
    # runtime off macOS, known) and pulls in torchao, which warns about CUDA kernels a CPU build
    # lacks: noise in the user's terminal, nothing they can act on.
    logs = [logging.getLogger(n) for n in ("coremltools", "torchao", "torch.utils._pytree")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.ERROR)
    try:
        try:
            import coremltools
        except ImportError as exc:
            raise UserError(f"coremltools is not installed ({exc})", hint="pip install 'mobilekit[coreml]'") from None
    finally:
        for log, level in zip(logs, levels):
            log.setLevel(level)
        if hide and "tensorflow" in sys.modules and sys.modules["tensorflow"] is None:
            del sys.modules["tensorflow"]
    return coremltools


def _reset_mil_names() -> None:
    """Start coremltools' op-name counters from zero, as in a fresh process.

    The MIL builder names unnamed ops `const_<n>` from a process-wide counter, so a second
    conversion in the same process would get other names (and other bytes) than the first.
    Reset only before a conversion starts: resetting between a conversion and its compression
    could reuse names the program already has.
    """
    try:
        from coremltools.converters.mil.mil import Builder
    except ImportError:  # pragma: no cover
        return
    counts = getattr(Builder, "name_count", None)
    if hasattr(counts, "clear"):
        counts.clear()


def _package_name(name: str) -> str:
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return "Model" + text if text[0].isdigit() else text


def _spec_dict(spec: Any) -> dict:
    if isinstance(spec, dict):
        return spec
    if hasattr(spec, "to_dict"):
        return spec.to_dict()
    raise TypeError(f"expected a ModelSpec or its dict, got {type(spec).__name__}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


TARGET = CoreMLTarget()
