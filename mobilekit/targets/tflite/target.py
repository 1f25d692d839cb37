"""The TFLite target behind the protocol: validation, conversion dispatch, runner, structure checks."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from ... import _validate
from ...errors import ConversionError, UserError
from ..base import ArtifactRecord, ConvertJob, Target, Unverifiable, package_version, take_keep_float
from .flatbuffer import _signature_names
from .inputs import _load_calibration, _offline_environment, _one_line, _spec_inputs, _variants
from .options import _AUTO_ORDER, SIGNATURE_KEY, VARIANTS, TFLiteOptions, _Built
from .records import _finish
from .via_litert_torch import _build_litert_torch
from .via_onnx2tf import _build_onnx2tf


class TFLiteTarget(Target):
    name = "tflite"
    Options = TFLiteOptions
    # True because "auto"/"onnx2tf" start from the pipeline's ONNX. With converter =
    # "litert-torch" the ONNX is not used; convert() also makes its own when job.onnx is None.
    needs_onnx = True
    # compression presets → variants. "size" takes int8-dynamic: smallest file, no calibration
    # data needed (but slow on CPUs: XNNPACK leaves its hybrid convolutions to TFLite kernels).
    presets = {"fp16": ["fp32", "fp16"], "int8": ["fp32", "int8"], "size": ["fp32", "int8-dynamic"],
               "speed": ["fp32", "int8"]}

    def converter_versions(self) -> dict[str, str]:
        return {
            "onnx2tf": package_version("onnx2tf"),
            "tensorflow": package_version("tensorflow"),
            "litert-torch": package_version("litert-torch"),
            "ai-edge-litert": package_version("ai-edge-litert"),
        }

    def needs_calibration(self, options: Any) -> bool:
        return "int8" in _variants(options)

    def validate(self, options: Any, spec: Any, config: Any) -> None:
        opts = self.parse_options(options, "tflite") if isinstance(options, dict) else options
        take_keep_float(opts, config, "tflite")
        opts.check("tflite")
        if "int8" in opts.variants and config is not None:
            cal = getattr(getattr(config, "calibration", None), "data", None)
            if not cal:
                raise UserError(
                    "tflite: the \"int8\" variant (full-integer) needs calibration data",
                    hint="Set `calibration.data` (100–500 preprocessed training samples), or use \"int8-dynamic\" instead.",
                )
        inputs = _spec_inputs(spec)
        if opts.integer_io and not any(t["dtype"] == "float32" for t in inputs):
            raise UserError(
                "tflite.integer_io: the model has no float inputs to make int8",
                hint="Set `tflite.integer_io = false`.",
            )

    # -- conversion (runs in the worker) --------------------------------------------------
    def convert(self, job: ConvertJob) -> list[ArtifactRecord]:
        opts = _validate.build(TFLiteOptions, dict(job.options or {}), "tflite")
        work = Path(job.work_dir)
        work.mkdir(parents=True, exist_ok=True)
        _offline_environment(work)
        variants = [v for v in VARIANTS if v in opts.variants]
        calibration = _load_calibration(job, opts) if "int8" in variants else None

        order = _AUTO_ORDER if opts.converter == "auto" else (opts.converter,)
        made: dict[str, _Built] = {}
        attempts: list[str] = []
        for name in order:
            pending = [v for v in variants if v not in made]
            if not pending:
                break
            print(f"[mobilekit] tflite: {name} for {', '.join(pending)}", flush=True)
            try:
                builder = _BUILDERS[name]
                built, failed = builder(job, opts, pending, calibration, work, strict=opts.converter != "auto")
            except (UserError, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 - a converter's failure, incl. onnx2tf's sys.exit
                traceback.print_exc()
                attempts.append(f"{name}: {_one_line(exc)}")
                continue
            for b in built:
                made[b.variant] = b
            attempts.extend(f"{name} ({v}): {msg}" for v, msg in failed.items())
        missing = [v for v in variants if v not in made]
        if missing:
            tried = "; ".join(attempts) or "no converter ran"
            raise ConversionError("tflite", f"could not make {', '.join(missing)} ({tried})"[:900])

        out_dir = Path(job.bundle_dir) / "tflite"
        out_dir.mkdir(parents=True, exist_ok=True)
        records = []
        for v in variants:
            b = made[v]
            if attempts and b.converter != order[0]:
                b.details["fallback_from"] = attempts  # why the first choice did not make it
            records.append(_finish(job, opts, b, out_dir))
        return records

    # -- mobilekit bench: LiteRT with XNNPACK or its built-in kernels ----------------------------
    runtime_dists = {"litert": "ai-edge-litert"}

    def bench_configs(self, entry, threads, prefs):
        from .bench import configs

        return configs(threads, prefs)

    def bench_init(self, config):
        from .bench import init

        return init(config)

    def timed_session(self, record, bundle_dir, samples, config, handle=None):
        from .bench import session

        return session(record, Path(bundle_dir), samples, config, handle)

    def bench_delegate(self, config, session, runtime_log):
        from .bench import delegate_that_ran

        return delegate_that_ran(config, runtime_log)

    def runner(self, record: ArtifactRecord, bundle_dir: Path):
        try:
            from ...verify.runners import litert_runner
        except ImportError as exc:  # pragma: no cover
            raise Unverifiable(f"ai-edge-litert is not installed ({exc})") from None
        try:
            import ai_edge_litert  # noqa: F401
        except ImportError as exc:
            raise Unverifiable(f"ai-edge-litert is not installed ({exc})") from None
        return litert_runner(Path(bundle_dir) / record.path, record)

    def check_structure(self, record: ArtifactRecord, bundle_dir: Path, spec: Any) -> dict:
        """The signature names the spec's tensors and the metadata reads back."""
        from ...errors import CheckError

        path = Path(bundle_dir) / record.path
        sig = _signature_names(path.read_bytes())
        want_in = [t.tensor for t in record.inputs]
        want_out = [t.tensor for t in record.outputs]
        if sig is None:
            raise CheckError(f"{record.path} has no {SIGNATURE_KEY!r} signature")
        if sorted(sig[0]) != sorted(want_in) or sorted(sig[1]) != sorted(want_out):
            raise CheckError(f"{record.path}: signature tensors {sig} differ from {want_in} → {want_out}")
        facts: dict = {"signature": {"inputs": sig[0], "outputs": sig[1]}}
        if record.details.get("metadata"):
            from .metadata import read_metadata

            try:
                meta = read_metadata(path)
            except ValueError as exc:
                raise CheckError(f"{record.path}: {exc}") from None
            facts["metadata"] = {k: meta[k] for k in ("name", "version", "min_parser_version")}
            facts["metadata"]["labels"] = len(meta["labels"] or [])
        return facts

    # -- accuracy fallback: TensorFlow's selective quantization (keep_float.py) -------------------
    # -- mobilekit debug: experimental_preserve_all_tensors; the Analyzer's GPU check ----------
    trace_by_value = True  # onnx2tf keeps no source names

    def tracer(self):
        from .trace import trace

        return trace

    def placement(self, path, entry):
        from .placement import gpu_estimate

        return gpu_estimate(path)

    def keep_float(self, record, bundle_dir, work_dir, calibration, options, **context):
        from .keep_float import CALIBRATED, TFLiteKeepFloat

        if record.variant != "int8" or (record.made_by or {}).get("converter") != "onnx2tf":
            return None  # int8-dynamic, or litert-torch's int8 (PT2E: another quantizer)
        if not (Path(work_dir) / CALIBRATED).exists():
            return None
        return TFLiteKeepFloat(record, bundle_dir, work_dir)


# -- options, spec, data ------------------------------------------------------------------------

_BUILDERS = {"onnx2tf": _build_onnx2tf, "litert-torch": _build_litert_torch}

