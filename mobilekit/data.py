"""Sample, calibration and evaluation data from a config string.

Accepted: a `.npy` file (inputs of a one-input model), a `.npz` (one array per input name, and
optionally `labels`), a folder of images in one sub-folder per label, or `pkg.module:callable`
returning an array, a dict of arrays, or `(inputs, labels)`.
Everything is returned as model inputs (NCHW float32 for images, preprocessed as the spec says).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._imports import first_line, resolve_ref
from .errors import UserError
from .spec import ModelSpec

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


@dataclass
class Dataset:
    inputs: dict[str, np.ndarray]  # name → (N, *sample shape without batch)
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def sample(self, i: int) -> dict[str, np.ndarray]:
        """The i-th example as a batch of one."""
        return {k: v[i : i + 1] for k, v in self.inputs.items()}

    def head(self, n: int) -> "Dataset":
        return Dataset({k: v[:n] for k, v in self.inputs.items()}, None if self.labels is None else self.labels[:n])


def load(ref: str, spec: ModelSpec, *, key: str, base_dir: str | Path = ".", limit: int | None = None) -> Dataset:
    if ":" in ref and not Path(ref).exists() and not _looks_like_windows_path(ref):
        fn = resolve_ref(ref, what="data callable", key=key, base_dir=base_dir)
        try:
            value = fn()
        except (Exception, SystemExit) as exc:  # a callable calling sys.exit() is the user's bug, not ours
            raise UserError(f"{key}: {ref} raised {type(exc).__name__}: {first_line(exc)}", hint="Fix the data callable.") from None
        if value is None:
            raise UserError(f"{key}: {ref} returned None", hint="Return an array, a dict of arrays keyed by input name, or (inputs, labels).")
        ds = _from_value(value, spec, f"{key}: {ref}")
    else:
        path = Path(ref)
        if not path.is_absolute():
            path = Path(base_dir) / path
        ds = _from_path(path, spec, key)
    if limit is not None:
        ds = ds.head(limit)
    _check_shapes(ds, spec, key, ref)
    return ds


def _looks_like_windows_path(ref: str) -> bool:
    return len(ref) > 2 and ref[1] == ":" and ref[2] in "\\/"


def _from_value(value: Any, spec: ModelSpec, key: str) -> Dataset:
    labels = None
    if isinstance(value, tuple) and len(value) == 2:
        value, labels = value
    if isinstance(value, dict):
        inputs = {str(k): _array(v, f"{key}[{k!r}]") for k, v in value.items()}
    else:
        if len(spec.inputs) != 1:
            raise UserError(f"{key}: got one array but the model has {len(spec.inputs)} inputs", hint="Return a dict keyed by input name.")
        inputs = {spec.inputs[0].name: _array(value, key)}
    return Dataset(inputs, None if labels is None else _array(labels, f"{key} labels"))


def _array(value: Any, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        reason = first_line(exc).split(". ")[0][:120]  # numpy's ragged-array message runs on for lines
        raise UserError(f"{where}: cannot be made into one array ({reason})", hint="Give equally shaped samples.") from None
    if arr.ndim == 0:
        raise UserError(f"{where}: is a single {type(value).__name__}, not an array of samples", hint="Return an array shaped (N, ...).")
    return arr


def _from_path(path: Path, spec: ModelSpec, key: str) -> Dataset:
    if not path.exists():
        raise UserError(f"{key}: {path} does not exist", hint="Fix the path in the config.")
    if path.is_dir():
        return _from_image_folder(path, spec, key)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return _from_value(np.load(path, allow_pickle=False), spec, key)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            labels = arrays.pop("labels", arrays.pop("y", None))
            if len(spec.inputs) == 1 and "x" in arrays and spec.inputs[0].name not in arrays:
                arrays[spec.inputs[0].name] = arrays.pop("x")
            return Dataset(arrays, labels)
    except (ValueError, OSError, EOFError) as exc:
        raise UserError(f"{key}: {path} cannot be read as {suffix}: {first_line(exc)}", hint="Give a valid NumPy file without pickled objects.") from None
    raise UserError(f"{key}: {path} is not a .npy, .npz or image folder", hint="Convert the data to one of those.")


def _from_image_folder(folder: Path, spec: ModelSpec, key: str) -> Dataset:
    image_inputs = [t for t in spec.inputs if t.is_image]
    if len(spec.inputs) != 1 or not image_inputs:
        raise UserError(f"{key}: an image folder needs a model with one image input", hint="Use a .npz keyed by input name.")
    t = image_inputs[0]
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{key}: no images (.png/.jpg/…) in {folder}", hint="Put images in the folder, one sub-folder per label.")
    labels_list = spec.labels
    arrays, labels = [], []
    for f in files:
        arrays.append(preprocess_image(_read_image(f, key), t.shape, t.preprocessing))
        cls = f.parent.name if f.parent != folder else None
        if cls is not None and labels_list and cls in labels_list:
            labels.append(labels_list.index(cls))
        elif cls is not None and cls.isdigit():
            labels.append(int(cls))
        else:
            labels.append(-1)
    lab = np.array(labels) if all(v >= 0 for v in labels) else None
    return Dataset({t.name: np.stack(arrays)}, lab)


def _read_image(path: Path, key: str):
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise UserError("reading images needs Pillow", hint="pip install pillow") from None
    try:
        with Image.open(path) as im:
            return im.convert("RGB").copy()
    except Exception as exc:
        raise UserError(f"{key}: cannot read image {path}: {first_line(exc)}", hint="Remove or replace that file.") from None


def preprocess_image(image, shape: list[int], pre: dict) -> np.ndarray:
    """A PIL image → one NCHW sample (without batch), as the spec's preprocessing says."""
    from PIL import Image

    _, c, h, w = shape
    image = image.resize((w, h), Image.BILINEAR)
    px = np.asarray(image, dtype=np.float32)
    if pre["color"] == "BGR":
        px = px[..., ::-1]
    elif pre["color"] == "GRAY":
        px = px.mean(axis=-1, keepdims=True)
    x = (px * pre["scale"] - np.array(pre["mean"], np.float32)) / np.array(pre["std"], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32)


def _check_shapes(ds: Dataset, spec: ModelSpec, key: str, ref: str) -> None:
    names = {t.name for t in spec.inputs}
    missing = names - set(ds.inputs)
    if missing:
        raise UserError(f"{key}: {ref} has no data for input {sorted(missing)[0]!r}", hint=f"Provide arrays named {sorted(names)}.")
    counts = {len(v) for v in ds.inputs.values()}
    if len(counts) != 1 or 0 in counts:
        raise UserError(f"{key}: {ref} has {'no samples' if 0 in counts else 'inputs of different lengths'}", hint="Give the same number (> 0) of samples for every input.")
    for t in spec.inputs:
        arr = ds.inputs[t.name]
        if arr.dtype.kind not in "biuf":
            raise UserError(f"{key}: {ref}: samples for {t.name!r} are {_kind(arr)}, not numbers", hint="Give numeric arrays (preprocessed model inputs).")
        want = list(t.shape[1:])
        got = list(arr.shape[1:])
        if len(got) != len(want) or any(g != w and i + 1 not in t.dynamic for i, (g, w) in enumerate(zip(got, want))):
            raise UserError(
                f"{key}: samples for {t.name!r} have shape {got}, the model takes {want}",
                hint="Give samples shaped (N, " + ", ".join(map(str, want)) + ").",
            )
        with np.errstate(over="ignore", invalid="ignore"):
            ds.inputs[t.name] = arr.astype(np.float32 if t.dtype == "float32" else t.dtype)
        _check_finite(ds.inputs[t.name], f"{key}: {ref}: input {t.name!r}")
    if ds.labels is not None:
        if ds.labels.dtype.kind not in "biuf":
            raise UserError(f"{key}: {ref} labels are {_kind(ds.labels)}, not class indices", hint="Give integer labels (class indices).")
        _check_finite(ds.labels, f"{key}: {ref}: labels")
        if len(ds.labels) != len(ds):
            raise UserError(f"{key}: {ref} has {len(ds.labels)} labels for {len(ds)} samples", hint="Give one label per sample.")


def _kind(arr: np.ndarray) -> str:
    return {"U": "strings", "S": "bytes", "O": "Python objects", "b": "booleans", "c": "complex numbers",
            "M": "dates", "m": "time deltas", "V": "records"}.get(arr.dtype.kind, f"of dtype {arr.dtype}")


def _check_finite(arr: np.ndarray, where: str) -> None:
    """NaN/inf in data would pass every comparison silently; name the first one."""
    if arr.dtype.kind != "f":
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        value = arr[idx]
        raise UserError(f"{where} has {value} at sample {idx[0]}" + (f", index {list(idx[1:])}" if len(idx) > 1 else "")
                        + (" (a value too large for float32)" if np.isinf(value) else ""),
                        hint="Clean the data: every value must be a finite number.")
