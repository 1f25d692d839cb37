"""Spec inputs, layouts and calibration data for the TFLite converters; the offline environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UserError
from ..base import ConvertJob
from .options import _ONNX2TF_SAMPLE_FILE, TFLiteOptions


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
