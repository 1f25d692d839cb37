"""TFLite via litert-torch: the torch.export program converted directly (no TensorFlow)."""

from __future__ import annotations

import traceback
from pathlib import Path

import numpy as np

from ...errors import ConversionError
from ..base import ConvertJob, package_version
from .flatbuffer import _float_io
from .inputs import _calibration_batches, _is_image, _nhwc, _one_line
from .options import TFLiteOptions, _Built
from .records import _self_check


def _build_litert_torch(job: ConvertJob, opts: TFLiteOptions, variants: list[str], cal, work: Path,
                        *, strict: bool) -> tuple[list[_Built], dict[str, str]]:
    import litert_torch
    import torch

    spec = job.spec
    module = torch.export.load(job.program).module()
    for m in module.modules():  # an unlifted export module refuses .eval(); it is captured in eval mode
        m.training = False
    layouts = {t["name"]: ("NHWC" if _is_image(t) else "") for t in spec["inputs"]}
    wrapper = _io_wrapper(module, spec, layouts)
    sample = {}
    for t in spec["inputs"]:
        shape = _nhwc(t["shape"]) if layouts[t["name"]] == "NHWC" else t["shape"]
        sample[t["name"]] = torch.zeros(shape, dtype=getattr(torch, t["dtype"]))

    made_by = {"converter": "litert-torch", "version": package_version("litert-torch"),
               "ai-edge-litert": package_version("ai-edge-litert")}
    built, failed = [], {}
    fp32: bytes | None = None
    if any(v in variants for v in ("fp32", "fp16", "int8-dynamic")):
        fp32 = bytes(litert_torch.convert(wrapper, sample_kwargs=sample).model_content())
    for v in variants:
        details: dict = {"made_by": dict(made_by)}
        try:
            if v == "fp32":
                data = fp32
                compression: list[dict] = []
            elif v in ("fp16", "int8-dynamic"):
                from litert_torch.generative.quantize import quant_recipes
                from litert_torch.quantize import translate_recipe

                # The same ai-edge-quantizer recipe `litert_torch.convert(quant_config=…)` applies
                # after converting — applied to the fp32 model above instead of converting again.
                recipe = quant_recipes.full_fp16_recipe() if v == "fp16" else quant_recipes.full_dynamic_recipe()
                data = bytes(translate_recipe.quantize_model(fp32, translate_recipe.translate_to_ai_edge_recipe(recipe.generative_recipe)))
                details["made_by"]["ai-edge-quantizer"] = package_version("ai-edge-quantizer")
                compression = ([{"kind": "quantization", "weights": "fp16", "activations": "fp32",
                                 "method": "litert-torch full_fp16_recipe"}] if v == "fp16" else
                               [{"kind": "quantization", "weights": "int8", "activations": "dynamic-int8",
                                 "granularity": "per-channel", "method": "litert-torch full_dynamic_recipe"}])
            else:  # full int8: PT2E static quantization, calibrated
                if opts.keep_float:  # never a file that quietly quantizes what the config keeps float
                    raise ConversionError("tflite", "litert-torch's int8 cannot keep layers in float "
                                                    f"(keep_float = {list(opts.keep_float)})")
                data, n = _litert_pt2e_int8(wrapper, sample, spec, cal, layouts)
                if not opts.integer_io:
                    data = _float_io(data)
                details["made_by"]["torchao"] = package_version("torchao")
                compression = [{"kind": "quantization", "weights": "int8", "activations": "int8",
                                "granularity": "per-channel", "io": "int8" if opts.integer_io else "float32",
                                "calibration_samples": n, "method": "litert-torch PT2E static"}]
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            failed[v] = _one_line(exc)
            continue
        b = _Built(v, data, "litert-torch", layouts, compression, details)
        if v == "fp32":
            _self_check(job, b, work, strict=strict)
        built.append(b)
    return built, failed


def _io_wrapper(module, spec: dict, layouts: dict[str, str]):
    """nn.Module taking the spec's inputs by name (images NHWC) and returning {output name: tensor}."""
    import torch

    names = [t["name"] for t in spec["inputs"]]
    out_names = [t["name"] for t in spec["outputs"]]

    class _IO(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def _run(self, *xs):
            args = [x.permute(0, 3, 1, 2) if layouts[n] == "NHWC" else x for n, x in zip(names, xs)]
            result = self.inner(*args)
            flat = list(result.values()) if isinstance(result, dict) else (
                list(result) if isinstance(result, (list, tuple)) else [result])
            return {n: y for n, y in zip(out_names, flat)}

    # forward() with the spec's names as parameters: litert-torch names the signature after them
    # (names are identifiers: the config validates them).
    ns: dict = {}
    exec(f"def forward(self, {', '.join(names)}):\n    return self._run({', '.join(names)})\n", ns)  # noqa: S102
    _IO.forward = ns["forward"]
    wrapper = _IO(module)
    wrapper.training = False
    return wrapper


def _litert_pt2e_int8(wrapper, sample: dict, spec: dict, cal: dict, layouts: dict) -> tuple[bytes, int]:
    import litert_torch
    import torch
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    graph = torch.export.export(wrapper, (), sample).module()
    graph = prepare_pt2e(graph, quantizer)
    n = 0
    with torch.no_grad():
        for batch in _calibration_batches(spec, cal, layouts):
            graph(**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()})
            n += 1
    graph = convert_pt2e(graph, fold_quantize=False)
    model = litert_torch.convert(graph, sample_kwargs=sample, quant_config=QuantConfig(pt2e_quantizer=quantizer))
    return bytes(model.model_content()), n


# -- the parity guard `auto` falls back on --------------------------------------------------------
