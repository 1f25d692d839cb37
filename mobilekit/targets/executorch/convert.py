"""torch.export capture → `.pte` per variant (runs in the target's worker process).

One `to_edge_transform_and_lower(...).to_executorch()` per variant, from the pipeline's `.pt2`:
the XNNPACK partitioner for fp32/fp16/int8, the Core ML partitioner for coreml/coreml-int8. The
metadata constant methods are added in the same call; the delegation report is read from the
lowered edge program before it is serialized.
"""

from __future__ import annotations

import time
from pathlib import Path

from ...errors import ConversionError
from ..base import ArtifactRecord, ConvertJob, TensorIO, package_version
from . import delegation, metadata, quantize

# variant → (precision in the manifest, tolerance class, delegate)
PLANS = {
    "fp32": ("fp32", "fp32", "XnnpackBackend"),
    "fp16": ("fp16", "fp16", "XnnpackBackend"),
    "int8": ("int8", "int8", "XnnpackBackend"),
    "coreml": ("fp16", "fp16", "CoreMLBackend"),  # the Core ML delegate computes in fp16 by default
    "coreml-int8": ("int8", "int8", "CoreMLBackend"),  # int8 weights, fp16 compute
}
_DEPLOYMENT = {"iOS16": "iOS16", "iOS17": "iOS17", "iOS18": "iOS18"}


def convert(job: ConvertJob, opts) -> list[ArtifactRecord]:
    from . import VARIANTS, FILE_NAMES

    spec = job.spec
    out_dir = Path(job.bundle_dir) / "executorch"
    out_dir.mkdir(parents=True, exist_ok=True)
    variants = [v for v in VARIANTS if v in opts.variants]
    cal = quantize.load_calibration(job.calibration, spec, opts.calibration_samples) if "int8" in variants else None
    if opts.keep_float and "int8" in variants:  # an unknown name stops the target (a UserError), not just int8
        from ..base import capture_keep_float

        capture_keep_float(job.program, opts.keep_float)
    records, failed = [], []
    for v in variants:
        t = time.perf_counter()
        print(f"[mobilekit] executorch: lowering {v}", flush=True)
        try:
            program, compression, extra = _program(job, v, opts, cal)
            partitioner = _partitioner(v, opts)
            edge = _lower(program, partitioner, metadata.constant_methods(spec, v, job.versions) if opts.metadata else None)
            report = delegation.report(edge.exported_program(), _BACKEND_NAMES[PLANS[v][2]])
            report["summary"] = delegation.summary(report)
            data = edge.to_executorch().buffer
        except Exception as exc:  # noqa: BLE001 - one line for the manifest; the traceback is in the log
            import traceback

            traceback.print_exc()
            failed.append((v, f"{type(exc).__name__}: {_first_line(exc)}"))
            continue
        if report["delegated_subgraphs"] == 0:
            failed.append((v, f"the {report['backend']} partitioner delegated nothing; every op would run on the "
                              "portable CPU kernels"))
            continue
        path = out_dir / FILE_NAMES[v]
        path.write_bytes(data)
        precision, tolerance, backend = PLANS[v]
        details = {"delegation": report, "backend": backend, "tolerance": tolerance,
                   "convert_seconds": round(time.perf_counter() - t, 2), **extra}
        if opts.metadata:
            details["constant_methods"] = sorted(metadata.constant_methods(spec, v, {}))
        records.append(_record(job, v, path, precision, compression, details))
    if not records:  # nothing converted: the target fails as one, with the first reason
        v, why = failed[0]
        raise ConversionError("executorch", f"{v}: {why}" + (f" (and {len(failed) - 1} more variant(s))" if len(failed) > 1 else ""))
    # a variant that failed is recorded as such; the ones that lowered are judged as usual
    records += [ArtifactRecord("executorch", v, "", PLANS[v][0], "", {}, error=why) for v, why in failed]
    return sorted(records, key=lambda r: variants.index(r.variant))


_BACKEND_NAMES = {"XnnpackBackend": "XNNPACK", "CoreMLBackend": "Core ML"}


def _program(job: ConvertJob, variant: str, opts, cal):
    """The ExportedProgram to lower for `variant`, its compression facts and extra details."""
    import torch

    spec = job.spec
    if variant == "int8":
        keep = list(getattr(opts, "keep_float", None) or [])
        program, used = quantize.int8_program(Path(job.program), spec, cal, keep_float=keep)
        compression = [{"kind": "quantization", "method": "PT2E static (XNNPACKQuantizer)", "weights": "int8",
                        "activations": "int8", "granularity": "per-channel", "io": "float32", "calibration_samples": used}]
        if keep:
            from ..base import capture_keep_float

            nodes = capture_keep_float(job.program, keep)  # the quantizer's filter sees exactly these
            compression.append({"kind": "float fallback", "by": "compression.keep_float", "requested": keep,
                                "nodes": nodes, "kept_float": nodes})
        return program, compression, {"made_by_quantizer": {"torchao": package_version("torchao")}}
    ep = torch.export.load(job.program)
    if variant == "fp16":
        example = tuple(torch.zeros(t["shape"], dtype=getattr(torch, t["dtype"])) for t in spec["inputs"])
        return (torch.export.export(_Half.wrap(ep.module()), example, strict=False),
                [{"kind": "cast", "weights": "fp16", "activations": "fp16", "io": "float32"}],
                # measured: a 64→256 3×3 conv is 592000 bytes as fp32 and as fp16 (named weight data
                # of 589824 bytes = fp32); the fp16 .pte is not smaller, its activations are fp16
                {"note": "executorch 1.5.1's XNNPACK serializer stores these weights as fp32: no size saving"})
    if variant == "coreml-int8":
        return ep, [{"kind": "quantization", "method": "coremltools linear_quantize_weights (Core ML delegate)",
                     "weights": "int8", "activations": "fp16", "granularity": "per-channel",
                     "weight_threshold": opts.coreml_weight_threshold}], {}
    return ep, [], {}


def _default_dtype_ops() -> set:
    import torch

    aten = torch.ops.aten
    return {aten.where.Scalar, aten.full.default, aten.scalar_tensor.default}


class _Half:
    """The model in float16 behind float32 inputs/outputs (apps feed and read float32)."""

    @staticmethod
    def wrap(module):
        import torch

        class Half(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner.half()

            def forward(self, *xs):
                from torch.utils import _pytree

                args = [x.half() if x.is_floating_point() else x for x in xs]
                # any output structure (tensor, tuple, dict of tensors): the same one, in float32
                return _pytree.tree_map(lambda y: y.float() if isinstance(y, torch.Tensor) and y.is_floating_point() else y,
                                        self.inner(*args))

        wrapper = Half(_Half.graph_in_half(module))
        wrapper.training = False  # eval() would call train() on the exported module, which refuses it
        return wrapper

    @staticmethod
    def graph_in_half(gm):
        """The captured graph with float32 written into it made float16: casts (`.to(float32)` in
        Hugging Face models), tensors it creates (`zeros`, `full`: an RNN's initial state), and the
        dtype assertions torch.export records beside them. Without this, such a model mixes fp16
        and fp32 (`SpecViolationError: mismatched dtypes`, `Tensor dtype mismatch`)."""
        import torch

        def half(v):
            if v is torch.float32:
                return torch.float16
            if isinstance(v, (list, tuple)):
                return type(v)(half(x) for x in v)
            return v

        default_ops = _default_dtype_ops()
        for node in list(gm.graph.nodes):
            if node.op == "get_attr":  # tensor constants are plain attributes: Module.half() skips them
                owner, _, name = node.target.rpartition(".")
                mod = gm.get_submodule(owner) if owner else gm
                value = getattr(mod, name)
                if isinstance(value, torch.Tensor) and not isinstance(value, torch.nn.Parameter) and value.dtype == torch.float32:
                    setattr(mod, name, value.half())
                continue
            if node.op != "call_function":
                continue
            if node.target is torch.ops.aten._assert_tensor_metadata.default and not node.users:
                gm.graph.erase_node(node)
                continue
            node.args = half(node.args)
            node.kwargs = {k: half(v) for k, v in node.kwargs.items()}
            if node.target in default_ops and "dtype" not in node.kwargs:
                # made from Python scalars: float32 (the default dtype) whenever the graph is re-run,
                # lowering included; a cast right after keeps the rest of the graph in fp16
                with gm.graph.inserting_after(node):
                    cast = gm.graph.call_function(torch.ops.aten._to_copy.default, (node,), {"dtype": torch.float16})
                node.replace_all_uses_with(cast, delete_user_cb=lambda user: user is not cast)
        gm.recompile()
        return gm


def _partitioner(variant: str, opts, per_op: bool = False):
    """`per_op`: one XNNPACK delegate call per op (`mobilekit debug`'s per-layer view)."""
    if PLANS[variant][2] == "XnnpackBackend":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        return XnnpackPartitioner(per_op_mode=True) if per_op else XnnpackPartitioner()
    from ..coreml import _coremltools

    ct = _coremltools()  # quietly, and without TensorFlow (coremltools probes for it)
    from executorch.backends.apple.coreml.compiler import CoreMLBackend
    from executorch.backends.apple.coreml.partition import CoreMLPartitioner

    quant = None
    if variant == "coreml-int8":
        quant = {"mode": "linear_symmetric", "dtype": "int8", "granularity": "per_channel",
                 "weight_threshold": opts.coreml_weight_threshold}
    specs = CoreMLBackend.generate_compile_specs(
        minimum_deployment_target=getattr(ct.target, _DEPLOYMENT[opts.coreml_minimum_deployment_target]),
        compute_precision=ct.precision.FLOAT16, op_linear_quantizer_config=quant)
    return CoreMLPartitioner(compile_specs=specs)


def _lower(program, partitioner, methods):
    from executorch.exir import to_edge_transform_and_lower

    return to_edge_transform_and_lower(program, partitioner=[partitioner], constant_methods=methods or None)


def lower_bytes(variant: str, program: Path, spec: dict, options: dict, calibration: Path | None,
                methods: dict | None) -> bytes:
    """One XNNPACK variant lowered again from the capture (the accuracy fallback's re-lowering): the
    same steps as `convert`, so `relower` with the same options reproduces it byte for byte."""
    from ... import _validate
    from . import ExecuTorchOptions

    opts = _validate.build(ExecuTorchOptions, dict(options or {}), "executorch")
    job = ConvertJob(target="executorch", program=str(program), spec=spec, options=dict(options or {}),
                     bundle_dir="", work_dir="", calibration=str(calibration) if calibration else None)
    cal = quantize.load_calibration(job.calibration, spec, opts.calibration_samples) if variant == "int8" else None
    ep, _compression, _extra = _program(job, variant, opts, cal)
    edge = _lower(ep, _partitioner(variant, opts), methods or None)
    return bytes(edge.to_executorch().buffer)


def _lower_with_etrecord(program, partitioner, methods):
    """As `_lower`, keeping what ExecuTorch's Inspector needs (`mobilekit debug`, relower.py)."""
    from executorch.exir import to_edge_transform_and_lower

    return to_edge_transform_and_lower(program, partitioner=[partitioner], constant_methods=methods or None,
                                       generate_etrecord=True)


def _record(job: ConvertJob, variant: str, path: Path, precision: str, compression: list, details: dict) -> ArtifactRecord:
    spec = job.spec
    image = any(t.get("preprocessing") for t in spec["inputs"])
    made_by = {"converter": "executorch", "version": package_version("executorch"), "torch": package_version("torch")}
    if details.get("backend") == "CoreMLBackend":
        made_by["coremltools"] = package_version("coremltools")
    made_by.update(details.pop("made_by_quantizer", {}))
    return ArtifactRecord(
        target="executorch",
        variant=variant,
        path=path.relative_to(Path(job.bundle_dir)).as_posix(),
        precision=precision,
        layout="NCHW" if image else "",
        made_by=made_by,
        compression=compression,
        inputs=[TensorIO(t["name"], t["name"], "NCHW" if t.get("preprocessing") else "", t["dtype"], list(t["shape"]))
                for t in spec["inputs"]],
        outputs=[TensorIO(t["name"], t["name"], "", t.get("dtype") or "float32", list(t.get("shape") or []))
                 for t in spec["outputs"]],
        min_os=job_min_os(variant, job),
        details=details,
    )


def job_min_os(variant: str, job: ConvertJob) -> str | None:
    if PLANS[variant][2] != "CoreMLBackend":
        return None
    return (job.options or {}).get("coreml_minimum_deployment_target", "iOS16")


def _first_line(exc: BaseException) -> str:
    """The message's first line; with the next one when the first only announces it ("...: ")."""
    text = [t.strip() for t in str(exc).strip().splitlines() if t.strip()]
    if not text:
        return "(no message)"
    head = text[0] + (" " + text[1] if text[0].endswith(":") and len(text) > 1 else "")
    return head[:300]
