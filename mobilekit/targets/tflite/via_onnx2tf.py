"""TFLite via onnx2tf: ONNX → Keras → one frozen tf.function → TFLiteConverter per variant."""

from __future__ import annotations

import contextlib
import shutil
import traceback
from pathlib import Path

from ...errors import ConversionError
from ..base import ConvertJob, package_version
from .flatbuffer import _add_signature
from .inputs import _calibration_batches, _is_image, _nhwc, _one_line, _onnx2tf_sample_file
from .options import TFLiteOptions, _Built
from .records import _self_check


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
        from ..onnx.export import export_onnx

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
            if v == "int8":  # calibrate, then quantize: the same two steps c.convert() takes, kept apart
                from . import keep_float

                c._experimental_calibrate_only = True  # noqa: SLF001 - what QuantizationDebugger sets
                calibrated = bytes(c.convert())
                deny = []
                if opts.keep_float:  # `[compression] keep_float`: torch names, found in the file by value
                    found = keep_float.from_torch_names(job, calibrated, layouts, cal, opts.keep_float, work)
                    deny = found["kept_float"]
                    compression.append({"kind": "float fallback", "by": "compression.keep_float",
                                        "requested": list(opts.keep_float), **found})
                data = keep_float.quantize(calibrated, integer_io=opts.integer_io, keep_float=deny)
                keep_float.save_for_fallback(work, calibrated, spec, dict(job.options or {}), layouts,
                                             compression, details, opts.integer_io)
            else:
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
