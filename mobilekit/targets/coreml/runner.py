"""The macOS runner (the Core ML runtime); elsewhere the reference interpreter runs packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..base import ArtifactRecord, Unverifiable
from .common import _coremltools, _first_line
from .options import _PROBS_OUTPUT

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
