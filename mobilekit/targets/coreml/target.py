"""The Core ML target: one package per variant from the shared capture (see the package docstring)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ...errors import ConversionError, UserError
from ..base import ArtifactRecord, ConvertJob, Target, TensorIO, package_version, take_keep_float
from .checks import check_package
from .common import _Clock, _coremltools, _first_line, _package_name, _reset_mil_names, _spec_dict
from .convert import _convert_base, _prepare, _Prepared
from .inspect import inspect_package
from .metadata import _set_metadata, save_package
from .options import _LABEL_OUTPUT, _OS_OF_SPEC, _PROBS_OUTPUT, CoreMLOptions, _os_name
from .plans import _compress, _Plan, _plans
from .runner import _mac_runner

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
        if config is not None:
            take_keep_float(options, config, "coreml")
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
        user = {}  # base precision → what `keep_float` resolved to in that base program
        if opts.keep_float and any(p.compression for p in plans):
            from .keep_float import ops_for_nodes

            user = {b: ops_for_nodes(m, job.program, opts.keep_float) for b, m in base_models.items()}
        for i, plan in enumerate(plans):
            kept = user[plan.base]["kept_float"] if plan.compression and plan.base in user else []
            with clock(f"compress_{plan.variant}"):
                try:
                    model, overrides = _compress(base_models[plan.base], plan, keep_float=kept)
                except Exception as exc:
                    raise ConversionError("coreml", f"{plan.variant}: weight compression failed: "
                                                    f"{type(exc).__name__}: {_first_line(exc)}") from exc
            _set_metadata(model, spec, job.versions, plan, prepared)
            rel = f"coreml/{name}.mlpackage" if i == 0 else f"coreml/{name}.{plan.variant}.mlpackage"
            with clock(f"save_{plan.variant}"):
                save_package(model, bundle / rel)
                facts = inspect_package(bundle / rel)
            record = self._record(rel, plan, opts, prepared, facts)
            if plan.compression and plan.base in user:
                record.compression.append({"kind": "float fallback", "by": "compression.keep_float",
                                           "requested": list(opts.keep_float), **user[plan.base]})
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
    # -- mobilekit bench: the Core ML runtime (macOS), CPU only and all compute units ----------
    def bench_configs(self, entry, threads, prefs):
        from .bench import configs

        return configs()

    def bench_init(self, config):  # pragma: no cover - macOS only
        from .bench import init

        return init(config)

    def timed_session(self, record, bundle_dir, samples, config, handle=None):  # pragma: no cover - macOS only
        from .bench import session

        return session(record, Path(bundle_dir), samples, config, handle)

    def runtime_version(self, runtime: str) -> str:
        if runtime == "coreml" and sys.platform == "darwin":  # pragma: no cover - macOS only
            import platform

            return f"macOS {platform.mac_ver()[0]}"
        return super().runtime_version(runtime)

    # -- mobilekit debug: the reference interpreter's values; placement needs macOS -------------
    def tracer(self):
        from .trace import trace

        return trace

    def placement(self, path, entry):
        return {"source": None, "note": "per-op CPU/GPU/Neural Engine placement needs macOS (MLComputePlan); "
                                        "not measured on this host"}

    def keep_float(self, record, bundle_dir, work_dir, calibration, options, **context):
        from .keep_float import CoreMLKeepFloat, uncompressed_sibling

        plan = next((p for p in _plans(options) if p.variant == record.variant), None)
        if plan is None or not plan.compression:
            return None
        base = uncompressed_sibling(record, bundle_dir, plan.base)
        return CoreMLKeepFloat(record, bundle_dir, base, plan) if base is not None else None

    def runner(self, record: ArtifactRecord, bundle_dir: Path):
        if sys.platform == "darwin":
            run = _mac_runner(record, Path(bundle_dir))
            run.runtime = f"coreml-runtime (coremltools {package_version('coremltools')})"  # type: ignore[attr-defined]
            return run
        # No Core ML runtime off macOS: the reference interpreter runs the MIL program op by op
        # (fp16 rounding simulated); an op it does not know raises UnsupportedOp (Unverifiable).
        from ...verify.coreml_interp import bundle_runner

        return bundle_runner(record, Path(bundle_dir))

    def check_structure(self, record: ArtifactRecord, bundle_dir: Path, spec: Any) -> dict:
        return check_package(record, Path(bundle_dir), _spec_dict(spec))
