"""Package metadata (labels, preprocessing, versions) and deterministic saving (stable bytes and ids)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from ...errors import ConversionError
from ..base import package_version
from .convert import _Prepared
from .inspect import _tree_digest
from .options import _DEBUG_FILES, _ID_NAMESPACE, _LABEL_OUTPUT, _PROBS_OUTPUT
from .plans import _Plan

# --------------------------------------------------------------------------------------------
# metadata and deterministic saving


def _set_metadata(model: Any, spec: dict, versions: dict, plan: _Plan, prepared: _Prepared) -> None:
    model.author = spec.get("author") or ""
    model.license = spec.get("license") or ""
    model.short_description = spec.get("description") or spec.get("name", "")
    model.version = spec.get("version") or ""
    names = {f.name for f in model.get_spec().description.input} | {f.name for f in model.get_spec().description.output}
    for t in prepared.spec["inputs"]:
        if t["name"] in names:
            model.input_description[t["name"]] = t.get("description") or _input_text(t, prepared.preprocessing_notes.get(t["name"]))
    for t in prepared.spec["outputs"]:
        if t["name"] in names:
            text = t.get("description") or ("Raw scores (logits), one per label" if t.get("labels") else f"Output {t['name']}")
            model.output_description[t["name"]] = text
    if prepared.classifier:
        model.output_description[_LABEL_OUTPUT] = "The most likely label"
        model.output_description[_PROBS_OUTPUT] = ("Probability of each label (softmax of the scores)"
                                                   if prepared.classifier["softmax_added"] else "Score of each label")
    meta = model.user_defined_metadata
    meta["mobilekit.name"] = spec.get("name", "")
    meta["mobilekit.task"] = spec.get("task", "")
    meta["mobilekit.variant"] = plan.variant
    meta["mobilekit.precision"] = plan.precision
    meta["mobilekit.compression"] = json.dumps(plan.compression, sort_keys=True)
    meta["mobilekit.preprocessing"] = json.dumps(
        {t["name"]: t["preprocessing"] for t in prepared.spec["inputs"] if t.get("preprocessing")}, sort_keys=True)
    if prepared.labels:
        meta["mobilekit.labels"] = json.dumps(prepared.labels)
    for k in ("mobilekit", "torch"):
        if versions.get(k):
            meta[f"mobilekit.versions.{k}"] = str(versions[k])
    meta["mobilekit.versions.coremltools"] = package_version("coremltools") or ""
    if prepared.classifier and any(t.get("preprocessing") for t in prepared.spec["inputs"]):
        meta["com.apple.coreml.model.preview.type"] = "imageClassifier"  # Xcode's preview tab


def _input_text(t: dict, note: dict | None) -> str:
    pre = t.get("preprocessing")
    if not pre or not note:
        return f"Input {t['name']}, shape {t['shape']}"
    h, w = t["shape"][-2:]
    return (f"{pre.get('color', 'RGB')} image, {w}x{h}; the model normalizes it itself "
            f"((pixel * {pre['scale']:.6g} - mean) / std, mean {pre['mean']}, std {pre['std']})")


_NONDETERMINISTIC_META = ("com.github.apple.coremltools.conversion_date",)


def save_package(model: Any, path: Path) -> Path:
    """Save an ML Program package so that the same model gives the same bytes.

    Written beside the destination and moved into place. The debug-handle map is dropped,
    `model.mlmodel` is re-serialized deterministically without the conversion date, the
    Manifest's random item ids become ids derived from each item's content, and permissions are
    normalized.
    """
    from coremltools.proto import Model_pb2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent)) / path.name
    try:
        model.save(str(tmp))
        for p in sorted(tmp.rglob("*")):
            if p.name in _DEBUG_FILES and p.is_file():
                p.unlink()
        manifest = json.loads((tmp / "Manifest.json").read_text())
        entries = manifest["itemInfoEntries"]
        spec_path = None
        for item in entries.values():
            if item["name"] == "model.mlmodel" or item["path"].endswith(".mlmodel"):
                spec_path = tmp / "Data" / item["path"]
        if spec_path is None:  # pragma: no cover - every ML package has a spec item
            raise ConversionError("coreml", "the saved package has no model.mlmodel item")
        spec = Model_pb2.Model()
        spec.ParseFromString(spec_path.read_bytes())
        for key in _NONDETERMINISTIC_META:
            if key in spec.description.metadata.userDefined:
                del spec.description.metadata.userDefined[key]
        spec_path.write_bytes(spec.SerializeToString(deterministic=True))
        # content-derived ids, so equal packages are equal byte for byte
        new_ids = {}
        for old, item in entries.items():
            digest = _tree_digest(tmp / "Data" / item["path"])
            new_ids[old] = str(uuid.uuid5(_ID_NAMESPACE, f"{item['path']}:{digest}")).upper()
        manifest["itemInfoEntries"] = {new_ids[k]: v for k, v in entries.items()}
        manifest["rootModelIdentifier"] = new_ids.get(manifest.get("rootModelIdentifier"), manifest.get("rootModelIdentifier"))
        (tmp / "Manifest.json").write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n")
        for p in [tmp, *tmp.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return path
