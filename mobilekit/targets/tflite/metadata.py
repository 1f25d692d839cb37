"""TFLite model metadata in the standard format, without tflite-support.

What the Android `MetadataExtractor` / Task Library / Android Studio ML binding read:

- a `ModelMetadata` flatbuffer (schema `targets/tflite/_schema/metadata_schema.fbs`, file
  identifier "M001") stored in one of the model's buffers, named by a `Model.metadata` entry
  called "TFLITE_METADATA";
- associated files (here `labels.txt`, type TENSOR_AXIS_LABELS) appended to the end of the
  .tflite as a zip archive (stored, not compressed; offsets counted from the start of the file,
  as `zipfile` in append mode writes them — what tflite-support's MetadataPopulator does).

The interpreter ignores both: the file still loads and runs. Everything is written
deterministically (fixed zip timestamps and attributes, no random ids), so the same inputs give
the same bytes.

Normalization follows the metadata convention: `NormalizationOptions` apply to the raw input
values (`(x - mean) / std`, e.g. pixels 0–255), not to mobilekit's `pixel * scale` form; the
TFLite target converts before calling `write_metadata`.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

# The oldest metadata parser that understands every field written here (all from schema 1.0.0:
# NormalizationOptions, ImageProperties, Stats, TENSOR_AXIS_LABELS).
MIN_PARSER_VERSION = "1.0.0"
LABELS_FILE = "labels.txt"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date zip can store: no wall-clock in the bytes


def write_metadata(tflite_path: str | Path, meta: dict, labels: list[str] | None = None,
                   normalization: dict | None = None) -> None:
    """Attach metadata (and labels.txt) to a .tflite file in place, replacing any already there.

    meta: name, version, author, license, description (all optional strings); optionally
      `inputs` / `outputs`: {signature tensor name: description}.
    labels: one per class; written as `labels.txt`, linked to the first output (or to
      `meta["labels_output"]`) as TENSOR_AXIS_LABELS.
    normalization: {"mean": [...], "std": [...]} on raw input values, for the first input (or
      `normalization["input"]`); `color` ("RGB"/"GRAY"/"BGR") marks the input as an image.
    """
    path = Path(tflite_path)
    model_bytes = _strip_zip(path.read_bytes())
    model = _read_model(model_bytes)
    in_names, out_names = _io_names(model)
    meta_bytes = _build_metadata(meta, labels, normalization, in_names, out_names)
    _set_metadata_buffer(model, meta_bytes)

    from ai_edge_litert.tools import flatbuffer_utils

    data = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
    if labels:
        text = "".join(f"{label}\n" for label in labels).encode("utf-8")
        data = _append_zip(data, {LABELS_FILE: text})
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def read_metadata(tflite_path: str | Path) -> dict:
    """The metadata written by `write_metadata` (or any standard writer), as plain data.

    Keys: name, version, author, license, description, min_parser_version, inputs, outputs
    (lists of {name, description, mean?, std?, color?, associated_files?}), mean, std (of the
    first normalized input), labels (read back from the zip), associated_files (names in the zip).
    Raises ValueError when the file has no TFLite metadata.
    """
    from ._schema import FILE_IDENTIFIER, METADATA_BUFFER_NAME
    from ._schema import schema as ms

    data = Path(tflite_path).read_bytes()
    buf = _metadata_buffer(data, METADATA_BUFFER_NAME)
    if buf is None:
        raise ValueError(f"{tflite_path} has no {METADATA_BUFFER_NAME} metadata")
    if not ms.ModelMetadata.ModelMetadataBufferHasIdentifier(buf, 0):
        raise ValueError(f"{tflite_path}: metadata buffer lacks the {FILE_IDENTIFIER!r} identifier")
    mm = ms.ModelMetadataT.InitFromObj(ms.ModelMetadata.GetRootAs(buf, 0))
    out: dict[str, Any] = {
        "name": _s(mm.name), "version": _s(mm.version), "author": _s(mm.author),
        "license": _s(mm.license), "description": _s(mm.description),
        "min_parser_version": _s(mm.minParserVersion),
        "inputs": [], "outputs": [], "mean": None, "std": None, "labels": None,
    }
    sg = mm.subgraphMetadata[0] if mm.subgraphMetadata else None
    for kind, tensors in (("inputs", sg.inputTensorMetadata if sg else None),
                          ("outputs", sg.outputTensorMetadata if sg else None)):
        for tm in tensors or []:
            entry: dict[str, Any] = {"name": _s(tm.name), "description": _s(tm.description)}
            for pu in tm.processUnits or []:
                if pu.optionsType == ms.ProcessUnitOptions.NormalizationOptions:
                    entry["mean"] = [float(v) for v in pu.options.mean]
                    entry["std"] = [float(v) for v in pu.options.std]
            content = tm.content
            if content is not None and content.contentPropertiesType == ms.ContentProperties.ImageProperties:
                entry["color"] = {ms.ColorSpaceType.RGB: "RGB", ms.ColorSpaceType.GRAYSCALE: "GRAY"}.get(
                    content.contentProperties.colorSpace, "UNKNOWN")
            files = [(_s(af.name), af.type) for af in tm.associatedFiles or []]
            if files:
                entry["associated_files"] = [n for n, _ in files]
                label_file = next((n for n, t in files if t == ms.AssociatedFileType.TENSOR_AXIS_LABELS), None)
                if label_file:
                    entry["labels_file"] = label_file
            out[kind].append(entry)
    first_norm = next((t for t in out["inputs"] if "mean" in t), None)
    if first_norm:
        out["mean"], out["std"] = first_norm["mean"], first_norm["std"]
    zipped = _zip_contents(data)
    out["associated_files"] = sorted(zipped)
    label_file = next((t["labels_file"] for t in out["outputs"] if "labels_file" in t), None)
    if label_file and label_file in zipped:
        out["labels"] = [line for line in zipped[label_file].decode("utf-8").splitlines() if line]
    return out


# -- building the metadata flatbuffer ----------------------------------------------------------

def _build_metadata(meta: dict, labels: list[str] | None, norm: dict | None,
                    in_names: list[str], out_names: list[str]) -> bytes:
    import flatbuffers

    from ._schema import FILE_IDENTIFIER
    from ._schema import schema as ms

    descriptions_in = meta.get("inputs") or {}
    descriptions_out = meta.get("outputs") or {}
    norm_input = (norm or {}).get("input") or (in_names[0] if in_names else None)
    labels_output = meta.get("labels_output") or (out_names[0] if out_names else None)

    inputs = []
    for name in in_names:
        tm = ms.TensorMetadataT()
        tm.name = name
        tm.description = descriptions_in.get(name, "")
        content = ms.ContentT()
        if norm and name == norm_input:
            mean = [float(v) for v in norm["mean"]]
            std = [float(v) for v in norm["std"]]
            color = norm.get("color", "RGB")
            props = ms.ImagePropertiesT()
            props.colorSpace = {"RGB": ms.ColorSpaceType.RGB, "GRAY": ms.ColorSpaceType.GRAYSCALE}.get(
                color, ms.ColorSpaceType.UNKNOWN)
            content.contentPropertiesType = ms.ContentProperties.ImageProperties
            content.contentProperties = props
            opts = ms.NormalizationOptionsT()
            opts.mean, opts.std = mean, std
            unit = ms.ProcessUnitT()
            unit.optionsType = ms.ProcessUnitOptions.NormalizationOptions
            unit.options = opts
            tm.processUnits = [unit]
            # What the standard image writers record: the range normalized 0–255 pixels fall in.
            lo, hi = norm.get("pixel_range", (0.0, 255.0))
            stats = ms.StatsT()
            stats.min = [(lo - m) / s for m, s in zip(mean, std)]
            stats.max = [(hi - m) / s for m, s in zip(mean, std)]
            tm.stats = stats
        else:
            content.contentPropertiesType = ms.ContentProperties.FeatureProperties
            content.contentProperties = ms.FeaturePropertiesT()
        tm.content = content
        inputs.append(tm)

    outputs = []
    for name in out_names:
        tm = ms.TensorMetadataT()
        tm.name = name
        tm.description = descriptions_out.get(name, "")
        content = ms.ContentT()
        content.contentPropertiesType = ms.ContentProperties.FeatureProperties
        content.contentProperties = ms.FeaturePropertiesT()
        tm.content = content
        if labels and name == labels_output:
            af = ms.AssociatedFileT()
            af.name = LABELS_FILE
            af.description = "Labels for the classes of this output, one per line, in index order."
            af.type = ms.AssociatedFileType.TENSOR_AXIS_LABELS
            tm.associatedFiles = [af]
        outputs.append(tm)

    sg = ms.SubGraphMetadataT()
    sg.name = meta.get("name") or ""
    sg.inputTensorMetadata = inputs
    sg.outputTensorMetadata = outputs

    mm = ms.ModelMetadataT()
    mm.name = meta.get("name") or ""
    mm.description = meta.get("description") or ""
    mm.version = meta.get("version") or ""
    mm.author = meta.get("author") or ""
    mm.license = meta.get("license") or ""
    mm.subgraphMetadata = [sg]
    mm.minParserVersion = MIN_PARSER_VERSION

    builder = flatbuffers.Builder(1024)
    builder.Finish(mm.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


# -- the model flatbuffer ----------------------------------------------------------------------

def _read_model(data: bytes):
    from ai_edge_litert.tools import flatbuffer_utils

    return flatbuffer_utils.read_model_from_bytearray(bytearray(data))


def _io_names(model) -> tuple[list[str], list[str]]:
    """The first subgraph's inputs/outputs in order, named by the signature where there is one."""
    sg = model.subgraphs[0]
    by_index_in: dict[int, str] = {}
    by_index_out: dict[int, str] = {}
    for sig in model.signatureDefs or []:
        if sig.subgraphIndex != 0:
            continue
        for tm in sig.inputs or []:
            by_index_in[tm.tensorIndex] = _s(tm.name)
        for tm in sig.outputs or []:
            by_index_out[tm.tensorIndex] = _s(tm.name)
    ins = [by_index_in.get(int(i), _s(sg.tensors[int(i)].name)) for i in sg.inputs]
    outs = [by_index_out.get(int(i), _s(sg.tensors[int(i)].name)) for i in sg.outputs]
    return ins, outs


def _set_metadata_buffer(model, meta_bytes: bytes) -> None:
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema_fb

    from ._schema import METADATA_BUFFER_NAME

    data = np.frombuffer(meta_bytes, dtype=np.uint8).copy()
    for entry in model.metadata or []:
        if _s(entry.name) == METADATA_BUFFER_NAME:
            model.buffers[entry.buffer].data = data
            return
    buffer = schema_fb.BufferT()
    buffer.data = data
    model.buffers.append(buffer)
    entry = schema_fb.MetadataT()
    entry.name = METADATA_BUFFER_NAME
    entry.buffer = len(model.buffers) - 1
    if model.metadata is None:
        model.metadata = []
    model.metadata.append(entry)


def _metadata_buffer(data: bytes, name: str) -> bytes | None:
    """The named metadata buffer's bytes, read without unpacking the whole model."""
    from ai_edge_litert import schema_py_generated as schema_fb

    model = schema_fb.Model.GetRootAs(data, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if _s(entry.Name()) == name:
            buf = model.Buffers(entry.Buffer())
            if buf.Offset():  # stored outside the flatbuffer (models > 2 GB)
                return data[buf.Offset(): buf.Offset() + buf.Size()]
            return buf.DataAsNumpy().tobytes() if buf.DataLength() else b""
    return None


# -- associated files (zip appended to the model) -----------------------------------------------

def _append_zip(data: bytes, files: dict[str, bytes]) -> bytes:
    """`data` with a zip of `files` appended, as zipfile's append mode writes it (absolute offsets)."""
    bio = io.BytesIO(data)
    bio.seek(0, io.SEEK_END)
    with zipfile.ZipFile(bio, "a", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # unix, whatever the host (zipfile picks 0 on Windows)
            info.external_attr = 0o100644 << 16
            zf.writestr(info, files[name])
    return bio.getvalue()


def _zip_contents(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {n: zf.read(n) for n in zf.namelist()}
    except zipfile.BadZipFile:
        return {}


def _strip_zip(data: bytes) -> bytes:
    """The model flatbuffer without a previously appended zip (so rewriting does not stack them)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            start = min(i.header_offset for i in infos) if infos else None
    except zipfile.BadZipFile:
        return data
    if start is None:
        return data
    # zipfile reports offsets adjusted for data prepended to the archive: they are absolute here.
    return data[:start]


def _s(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)
