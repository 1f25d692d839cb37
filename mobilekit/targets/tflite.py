"""TFLite (LiteRT) target: fp32 / fp16 / int8-dynamic / int8 .tflite files with standard metadata.

Two converters, both measured on this project's models (see `bench/tflite_variants.py` and the
notes at `_AUTO_ORDER`):

- **onnx2tf** (from the pipeline's fp32 ONNX): the ONNX copy is simplified with onnxsim in this
  process, onnx2tf builds a Keras model (image inputs become NHWC), and we freeze one
  `tf.function` around it and run `tf.lite.TFLiteConverter` once per variant — the converter's
  own post-training quantization (fp16 weights; dynamic-range int8; full int8 calibrated on
  `job.calibration`). We do not let onnx2tf write its own .tflite files: its SavedModel export
  costs ~45 s for MobileNetV2 here, it writes many files we do not ship, and it allows Flex (TF)
  ops, which no LiteRT app build runs. The frozen function has no SignatureDef, so one is added.
- **litert-torch** (from the torch.export program, no TensorFlow): the exported module, wrapped
  so image inputs are NHWC and outputs carry the spec's names, is converted directly; fp16 and
  int8-dynamic are litert-torch's own recipes (ai-edge-quantizer) applied to that fp32 model;
  full int8 is litert-torch's PT2E static quantization calibrated on `job.calibration`.

Every file gets TFLite metadata (`mobilekit.tflite_metadata`), a `serving_default` signature
with the spec's tensor names, and is byte-identical for the same model and config.

Conversion never touches the network: onnx2tf's sample-image download is pre-empted by a
deterministic file in the work folder, hub access is switched off in the environment, and a
test runs a whole conversion with sockets blocked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .. import _validate
from ..errors import ConfigError, ConversionError, UserError
from .base import ArtifactRecord, ConvertJob, Target, TensorIO, Unverifiable, package_version

Variant = Literal["fp32", "fp16", "int8-dynamic", "int8"]
VARIANTS: tuple[str, ...] = ("fp32", "fp16", "int8-dynamic", "int8")
FILE_NAMES = {
    "fp32": "model.tflite",
    "fp16": "model.fp16.tflite",
    "int8-dynamic": "model.int8-dynamic.tflite",
    "int8": "model.int8.tflite",
}
SIGNATURE_KEY = "serving_default"

# `converter = "auto"` tries these in order and falls back to the next when one fails (an
# exception, or an fp32 file that disagrees with torch). Measured on this project's host (2 vCPUs,
# shared; bench/results/tflite_variants.json and tests/targets/test_tflite.py):
#   - time, all four variants in a worker incl. imports: MobileNetV2 40 s (onnx2tf) vs 193 s
#     (litert-torch: re-export, decompositions and PT2E re-export dominate); digits CNN 31 s vs
#     62 s; MobileNetV2 fp32 alone ~20 s vs ~50-90 s;
#   - parity, fp32 vs torch: the same for both (MobileNetV2 max abs 2.1e-6, digits 2.4e-6);
#   - determinism: both byte-identical across runs and processes (with the fixes below);
#   - int8 on digits: both keep fp32's held-out top-1 (99.72 %);
#   - robustness: onnx2tf is the one with known silent failures (see _simplify_onnx), which the
#     fp32 self-check guards; litert-torch needs neither ONNX nor TensorFlow.
# onnx2tf goes first for speed; litert-torch is the fallback.
_AUTO_ORDER = ("onnx2tf", "litert-torch")

# onnx2tf reads this from the cwd instead of downloading MS-COCO samples from GitHub.
_ONNX2TF_SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"


@dataclass
class TFLiteOptions:
    converter: Literal["auto", "onnx2tf", "litert-torch"] = "auto"
    variants: list[Variant] = field(default_factory=lambda: ["fp32"])
    integer_io: bool = False  # full int8 with int8 input/output tensors (needs "int8")
    calibration_samples: int = 200  # at most this many calibration samples are used
    metadata: bool = True  # attach TFLite metadata (name, normalization, labels.txt, …)

    def check(self, key: str) -> None:
        if not self.variants:
            raise ConfigError(f"{key}.variants", "is empty", hint='List at least one of "fp32", "fp16", "int8-dynamic", "int8".')
        seen = set()
        for i, v in enumerate(self.variants):
            if v in seen:
                raise ConfigError(f"{key}.variants[{i}]", f"{v!r} is listed twice")
            seen.add(v)
        if self.integer_io and "int8" not in self.variants:
            raise ConfigError(
                f"{key}.integer_io",
                "needs the \"int8\" variant (int8 input/output tensors exist only in a full-integer model)",
                hint=f'Add "int8" to `{key}.variants`, or set `{key}.integer_io = false`.',
            )
        if self.calibration_samples < 1:
            raise ConfigError(f"{key}.calibration_samples", f"must be >= 1, got {self.calibration_samples}")


@dataclass
class _Built:
    """One variant's model bytes before metadata, and what made it."""

    variant: str
    data: bytes
    converter: str
    layouts: dict[str, str]  # spec input name -> "NHWC" / "NCHW" / ""
    compression: list[dict]
    details: dict = field(default_factory=dict)


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
        spec = job.spec
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

    def runner(self, record: ArtifactRecord, bundle_dir: Path):
        try:
            from ..verify.runners import litert_runner
        except ImportError as exc:  # pragma: no cover
            raise Unverifiable(f"ai-edge-litert is not installed ({exc})") from None
        try:
            import ai_edge_litert  # noqa: F401
        except ImportError as exc:
            raise Unverifiable(f"ai-edge-litert is not installed ({exc})") from None
        return litert_runner(Path(bundle_dir) / record.path, record)

    def check_structure(self, record: ArtifactRecord, bundle_dir: Path, spec: Any) -> dict:
        """The signature names the spec's tensors and the metadata reads back."""
        from ..errors import CheckError

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
            from ..tflite_metadata import read_metadata

            try:
                meta = read_metadata(path)
            except ValueError as exc:
                raise CheckError(f"{record.path}: {exc}") from None
            facts["metadata"] = {k: meta[k] for k in ("name", "version", "min_parser_version")}
            facts["metadata"]["labels"] = len(meta["labels"] or [])
        return facts


# -- options, spec, data ------------------------------------------------------------------------

def _variants(options: Any) -> list[str]:
    if isinstance(options, dict):
        return list(options.get("variants") or ["fp32"])
    return list(getattr(options, "variants", None) or ["fp32"])


def _spec_inputs(spec: Any) -> list[dict]:
    if isinstance(spec, dict):
        return spec["inputs"]
    from dataclasses import asdict

    return [asdict(t) for t in spec.inputs]


def _is_image(t: dict) -> bool:
    return bool(t.get("preprocessing"))


def _nhwc(shape: list[int]) -> list[int]:
    return [shape[0], *shape[2:], shape[1]]


def _offline_environment(work: Path) -> None:
    """Make the conversion self-contained: tools on PATH, no hub access, onnx2tf's samples local."""
    _onnx2tf_sample_file(work)  # the worker's cwd, in case anything reads it from there
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        # onnx2tf runs the `onnxsim` command when asked to simplify, and silently skips it when the
        # command is missing; we simplify in-process, but keep the venv's tools reachable anyway.
        os.environ["PATH"] = bindir + os.pathsep + path
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")


def _onnx2tf_sample_file(folder: Path) -> None:
    """onnx2tf looks for this in the cwd and downloads MS-COCO crops from GitHub when it is absent.

    A deterministic stand-in (float32 NHWC in [0, 1]); onnx2tf only uses it for its internal
    dummy inference, since we quantize with our own calibration data.
    """
    sample = folder / _ONNX2TF_SAMPLE_FILE
    if not sample.exists():
        rng = np.random.default_rng(20)
        np.save(sample, rng.random((20, 128, 128, 3), dtype=np.float32))


def _load_calibration(job: ConvertJob, opts: TFLiteOptions) -> dict[str, np.ndarray]:
    """The job's calibration inputs (NCHW, preprocessed), at most `calibration_samples` of them."""
    if not job.calibration:
        raise UserError(
            "tflite: the \"int8\" variant (full-integer) needs calibration data and none was given",
            hint="Set `calibration.data` (100–500 preprocessed training samples), or use \"int8-dynamic\" instead.",
        )
    path = Path(job.calibration)
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise UserError(f"tflite: calibration file {path} cannot be read ({exc})", hint="Give a .npz with one array per input name.") from None
    out = {}
    for t in job.spec["inputs"]:
        if t["name"] not in arrays:
            raise UserError(f"tflite: calibration data has no array for input {t['name']!r}",
                            hint=f"Provide arrays named {[i['name'] for i in job.spec['inputs']]}.")
        a = np.asarray(arrays[t["name"]])
        if a.ndim == len(t["shape"]) - 1:
            a = a[None]
        if list(a.shape[1:]) != list(t["shape"][1:]):
            raise UserError(f"tflite: calibration data for {t['name']!r} has shape {list(a.shape)}, expected [N, {', '.join(map(str, t['shape'][1:]))}]",
                            hint="Give preprocessed inputs in the model's NCHW shape.")
        out[t["name"]] = a[: opts.calibration_samples].astype(t["dtype"])
    n = {len(a) for a in out.values()}
    if len(n) != 1 or 0 in n:
        raise UserError(f"tflite: calibration arrays have different or zero lengths ({sorted(n)})", hint="Give the same number of samples for every input.")
    return out


def _calibration_batches(spec: dict, cal: dict[str, np.ndarray], layouts: dict[str, str]):
    """One sample at a time (batch as in the spec), in the converted model's layouts."""
    batch = spec["inputs"][0]["shape"][0]
    n = len(next(iter(cal.values())))
    for i in range(0, n - batch + 1, batch):
        sample = {}
        for t in spec["inputs"]:
            x = cal[t["name"]][i: i + batch]
            if layouts.get(t["name"]) == "NHWC":
                x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            sample[t["name"]] = x
        yield sample


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the converter exited (code {exc.code}); see the log"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


# -- onnx2tf ------------------------------------------------------------------------------------

def _build_onnx2tf(job: ConvertJob, opts: TFLiteOptions, variants: list[str], cal, work: Path,
                   *, strict: bool) -> tuple[list[_Built], dict[str, str]]:
    spec = job.spec
    wdir = work / "onnx2tf"
    shutil.rmtree(wdir, ignore_errors=True)
    wdir.mkdir(parents=True)
    onnx_path = wdir / "model.onnx"
    if job.onnx:
        shutil.copyfile(job.onnx, onnx_path)  # onnx2tf rewrites its input: never hand it the pipeline's file
    else:
        from ..onnx_export import export_onnx

        export_onnx(Path(job.program), onnx_path, spec, opset=18)
    _simplify_onnx(onnx_path)

    import onnx2tf
    import tensorflow as tf
    import tf_keras
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    tf_keras.backend.clear_session()  # fresh layer-name counters: same names, same bytes, every run
    tf.random.set_seed(0)
    keep = [t["name"] for t in spec["inputs"] if not _is_image(t)]
    _onnx2tf_sample_file(wdir)
    with contextlib.chdir(wdir):  # where onnx2tf looks for its sample file (the worker's cwd is work/)
        model = onnx2tf.convert(
            input_onnx_file_path=str(onnx_path),
            output_folder_path=str(wdir / "saved_model"),
            disable_model_save=True,  # we only need the Keras model (see the module docstring)
            not_use_onnxsim=True,  # done above, in-process (its CLI costs ~5 s a run, three runs)
            keep_shape_absolutely_input_names=keep or None,
            non_verbose=True,
            verbosity="error",
        )

    # Map Keras inputs to spec inputs (by name, else by position) and find their layouts.
    k_inputs = list(model.inputs)
    by_name = {ki.name.split(":")[0]: ki for ki in k_inputs}
    ordered = [by_name.get(t["name"], k_inputs[i]) for i, t in enumerate(spec["inputs"])]
    layouts = {}
    for t, ki in zip(spec["inputs"], ordered):
        shape = [int(d) if d is not None else -1 for d in ki.shape]
        if shape == list(t["shape"]):
            layouts[t["name"]] = "NCHW" if _is_image(t) else ""
        elif len(shape) == 4 and shape == _nhwc(t["shape"]):
            layouts[t["name"]] = "NHWC"
        else:
            raise ConversionError("tflite", f"onnx2tf gave input {t['name']!r} shape {shape}, expected {t['shape']} or its NHWC form")
    k_outputs = list(model.outputs)
    if len(k_outputs) != len(spec["outputs"]):
        raise ConversionError("tflite", f"onnx2tf gave {len(k_outputs)} outputs, the model has {len(spec['outputs'])}")
    out_perms = []
    for t, ko in zip(spec["outputs"], k_outputs):
        shape = [int(d) if d is not None else -1 for d in ko.shape]
        want = list(t["shape"])
        if not want or shape == want:
            out_perms.append(None)
        elif len(want) >= 3 and shape == [want[0], *want[2:], want[1]]:
            n = len(want)
            out_perms.append([0, n - 1, *range(1, n - 1)])  # channels-last back to the spec's layout
        else:
            raise ConversionError("tflite", f"onnx2tf gave output {t['name']!r} shape {shape}, expected {want}")

    signature = [tf.TensorSpec(ki.shape, ki.dtype, name=t["name"]) for t, ki in zip(spec["inputs"], ordered)]
    position = {id(ki): i for i, ki in enumerate(ordered)}

    @tf.function(input_signature=signature)
    def serve(*args):
        feed = [args[position[id(ki)]] for ki in k_inputs]
        outs = model(feed if len(feed) > 1 else feed[0])
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        return tuple(tf.transpose(o, p) if p else o for o, p in zip(outs, out_perms))

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())

    def converter():
        c = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
        # Builtins only: a Flex (TF) op would need the Flex delegate in every app; fail here instead.
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return c

    tf_version = package_version("tensorflow")
    made_by = {"converter": "onnx2tf", "version": package_version("onnx2tf"), "tensorflow": tf_version,
               "onnxsim": package_version("onnxsim")}
    built, failed = [], {}
    for v in variants:
        c = converter()
        details: dict = {"made_by": made_by}
        if v == "fp16":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
            c.target_spec.supported_types = [tf.float16]
            compression = [{"kind": "quantization", "weights": "fp16", "activations": "fp32",
                            "method": "TFLiteConverter float16 weights"}]
        elif v == "int8-dynamic":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
            compression = [{"kind": "quantization", "weights": "int8", "activations": "dynamic-int8",
                            "granularity": "per-channel", "method": "TFLiteConverter dynamic range"}]
        elif v == "int8":
            names = [t["name"] for t in spec["inputs"]]
            samples = list(_calibration_batches(spec, cal, layouts))

            def representative():
                for s in samples:
                    yield [s[n] for n in names]

            c.optimizations = [tf.lite.Optimize.DEFAULT]
            c.representative_dataset = representative
            c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if opts.integer_io:
                c.inference_input_type = tf.int8
                c.inference_output_type = tf.int8
            compression = [{"kind": "quantization", "weights": "int8", "activations": "int8",
                            "granularity": "per-channel", "io": "int8" if opts.integer_io else "float32",
                            "calibration_samples": len(samples), "method": "TFLiteConverter full integer"}]
        else:
            compression = []
        try:
            data = bytes(c.convert())
            data = _add_signature(data, [t["name"] for t in spec["inputs"]], [t["name"] for t in spec["outputs"]])
        except Exception as exc:  # noqa: BLE001 - one variant failing leaves the others
            traceback.print_exc()
            failed[v] = _one_line(exc)
            continue
        b = _Built(v, data, "onnx2tf", layouts, compression, details)
        if v == "fp32":
            _self_check(job, b, work, strict=strict)
        built.append(b)
    return built, failed


def _simplify_onnx(path: Path) -> None:
    """onnxsim, three passes as onnx2tf runs it — but in-process (its CLI spends ~5 s importing).

    Skipping simplification is not an option: onnx2tf then converts some graphs wrongly without
    any error (a transformer decoder's logits were off by 0.85), so a missing onnxsim is an error.
    """
    import onnx

    try:
        import onnxsim
    except ImportError as exc:
        raise ConversionError("tflite", f"onnxsim is not importable ({exc})", hint="Install mobilekit[tflite].") from None
    model = onnx.load(str(path))
    before = len(model.graph.node)
    for _ in range(3):
        model, ok = onnxsim.simplify(model)
        if not ok:
            raise ConversionError("tflite", "onnxsim could not validate the simplified ONNX model")
    onnx.save(model, str(path))
    print(f"[mobilekit] onnxsim: {before} → {len(model.graph.node)} nodes", flush=True)


# -- litert-torch -------------------------------------------------------------------------------

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

def _self_check(job: ConvertJob, b: _Built, work: Path, *, strict: bool) -> None:
    """Run the fp32 file on two seeded inputs against torch. In `auto`, a wrong file is a failure.

    Not the verification (the pipeline does that on the written file); a coarse guard against a
    converter that silently produces wrong numbers, so `auto` can try the other one.
    """
    import torch

    from ..capture import example_inputs
    from ..spec import ModelSpec
    from ..verify.runners import litert_runner

    spec_obj = ModelSpec.from_dict(job.spec)
    module = torch.export.load(job.program).module()
    path = work / f"selfcheck-{b.converter}.tflite"
    path.write_bytes(b.data)
    record = _record(job, b, "selfcheck.tflite")
    run = litert_runner(path, record)
    worst, cos = 0.0, 1.0
    for seed in (0, 1):
        feeds = example_inputs(spec_obj, seed=seed)
        with torch.no_grad():
            ref = module(*[torch.from_numpy(feeds[t["name"]]) for t in job.spec["inputs"]])
        refs = list(ref.values()) if isinstance(ref, dict) else (list(ref) if isinstance(ref, (list, tuple)) else [ref])
        got = run(feeds)
        for t, r in zip(job.spec["outputs"], refs):
            r = r.detach().numpy().astype(np.float64)
            g = np.asarray(got[t["name"]], np.float64).reshape(r.shape)
            scale = max(1.0, float(np.abs(r).max()))
            worst = max(worst, float(np.abs(r - g).max()) / scale)
            nr, ng = np.linalg.norm(r), np.linalg.norm(g)
            if nr > 0 and ng > 0:
                cos = min(cos, float(np.dot(r.ravel(), g.ravel()) / (nr * ng)))
    ok = worst <= 1e-3 and cos >= 0.999
    b.details["self_check"] = {"max_rel_abs": worst, "cosine": cos, "ok": ok}
    path.unlink(missing_ok=True)
    del run
    if not ok and not strict:
        raise ConversionError("tflite", f"{b.converter} fp32 disagrees with torch (max abs/scale {worst:.3g}, cosine {cos:.6f})")


# -- flatbuffer edits -----------------------------------------------------------------------------

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

def _record(job: ConvertJob, b: _Built, rel_path: str) -> ArtifactRecord:
    spec = job.spec
    ins, extra = _io_details(b.data)
    outs = extra["outputs"]
    inputs = [TensorIO(t["name"], t["name"], b.layouts.get(t["name"], ""), np.dtype(ins[t["name"]]["dtype"]).name,
                       [int(d) for d in ins[t["name"]]["shape"]]) for t in spec["inputs"]]
    outputs = [TensorIO(t["name"], t["name"], "", np.dtype(outs[t["name"]]["dtype"]).name,
                        [int(d) for d in outs[t["name"]]["shape"]]) for t in spec["outputs"]]
    layout = "NHWC" if "NHWC" in b.layouts.values() else ("NCHW" if "NCHW" in b.layouts.values() else "")
    precision = {"fp32": "fp32", "fp16": "fp16", "int8-dynamic": "int8-dynamic", "int8": "int8"}[b.variant]
    details = {k: v for k, v in b.details.items() if k != "made_by"}
    details["ops"] = extra["ops"]
    dynamic = {t["name"]: t["dynamic"] for t in spec["inputs"] if t.get("dynamic")}
    if dynamic:  # the file has the example shape; apps resize inputs with resizeInput() if needed
        details["dynamic_dims_fixed"] = dynamic
    return ArtifactRecord(
        target="tflite",
        variant=b.variant,
        path=rel_path,
        precision=precision,
        layout=layout,
        made_by=b.details.get("made_by", {"converter": b.converter}),
        compression=b.compression,
        inputs=inputs,
        outputs=outputs,
        details=details,
    )


def _finish(job: ConvertJob, opts: TFLiteOptions, b: _Built, out_dir: Path) -> ArtifactRecord:
    path = out_dir / FILE_NAMES[b.variant]
    path.write_bytes(b.data)
    if opts.metadata:
        from ..tflite_metadata import write_metadata

        meta, labels, norm = _metadata(job.spec)
        write_metadata(path, meta, labels, norm)
        b.details["metadata"] = True
    rel = path.relative_to(Path(job.bundle_dir)).as_posix()
    record = _record(job, b, rel)
    record.details["converter"] = b.converter
    return record


def _metadata(spec: dict) -> tuple[dict, list[str] | None, dict | None]:
    meta = {k: spec.get(k) or "" for k in ("name", "version", "author", "license", "description")}
    meta["inputs"] = {t["name"]: t.get("description") or "" for t in spec["inputs"]}
    meta["outputs"] = {t["name"]: t.get("description") or "" for t in spec["outputs"]}
    labelled = next((t for t in spec["outputs"] if t.get("labels")), None)
    labels = list(labelled["labels"]) if labelled else None
    if labelled:
        meta["labels_output"] = labelled["name"]
    image = next((t for t in spec["inputs"] if _is_image(t)), None)
    norm = None
    if image:
        pre = image["preprocessing"]
        # mobilekit: x = (pixel * scale - mean) / std; TFLite metadata: x = (pixel - mean') / std'.
        norm = {"input": image["name"], "color": pre.get("color", "RGB"),
                "mean": [m / pre["scale"] for m in pre["mean"]],
                "std": [s / pre["scale"] for s in pre["std"]]}
    return meta, labels, norm


_BUILDERS = {"onnx2tf": _build_onnx2tf, "litert-torch": _build_litert_torch}

TARGET = TFLiteTarget()
