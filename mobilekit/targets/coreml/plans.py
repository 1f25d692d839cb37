"""Variant plans and weight compression (int8, int4-block, palettization, pruning) with coremltools.optimize."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError
from .inspect import _all_ops, _dtype, _numel
from .options import CoreMLOptions

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


def _compress(model: Any, plan: _Plan, keep_float: list[str] | tuple = ()) -> tuple[Any, dict]:
    """The plan's weight compression applied to `model`; also returns per-tensor overrides.
    `keep_float`: op names whose weights stay float (the accuracy fallback's choice)."""
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
    overrides: dict[str, Any] = {name: None for name in keep_float}  # None: coremltools leaves that op float
    notes: dict[str, str] = {name: "kept float (fallback)" for name in keep_float}
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
        return cto.prune_weights(model, cto.OptimizationConfig(global_config=cfg, op_name_configs=overrides or None)), notes
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
