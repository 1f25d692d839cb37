"""TFLite metadata written with the generated schema code, read back three ways.

The model is a two-op TFLite flatbuffer built here with the LiteRT schema classes (no converter
needed): y = x + c; z = y * 2, with a `serving_default` signature.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from mobilekit.targets.tflite.metadata import LABELS_FILE, read_metadata, write_metadata

META = {"name": "tiny", "version": "2.0.1", "author": "Ann Author", "license": "MIT",
        "description": "A tiny model.", "inputs": {"image": "RGB pixels"}, "outputs": {"scores": "class scores"}}
LABELS = ["cat", "dog", "bird"]
NORM = {"mean": [127.5, 127.0, 126.5], "std": [64.0, 63.5, 63.0], "color": "RGB"}


def tiny_model() -> bytes:
    from ai_edge_litert import schema_py_generated as fb
    from ai_edge_litert.tools import flatbuffer_utils

    const = np.arange(3, dtype=np.float32)
    two = np.array([2.0], dtype=np.float32)
    buffers = [fb.BufferT(), fb.BufferT(), fb.BufferT(data=np.frombuffer(const.tobytes(), np.uint8)),
               fb.BufferT(), fb.BufferT(data=np.frombuffer(two.tobytes(), np.uint8)), fb.BufferT()]
    tensors = [
        fb.TensorT(shape=[1, 2, 2, 3], type=fb.TensorType.FLOAT32, buffer=1, name="image"),
        fb.TensorT(shape=[3], type=fb.TensorType.FLOAT32, buffer=2, name="c"),
        fb.TensorT(shape=[1, 2, 2, 3], type=fb.TensorType.FLOAT32, buffer=3, name="y"),
        fb.TensorT(shape=[1], type=fb.TensorType.FLOAT32, buffer=4, name="two"),
        fb.TensorT(shape=[1, 2, 2, 3], type=fb.TensorType.FLOAT32, buffer=5, name="scores"),
    ]
    ops = [
        fb.OperatorT(opcodeIndex=0, inputs=[0, 1], outputs=[2], builtinOptionsType=fb.BuiltinOptions.AddOptions,
                     builtinOptions=fb.AddOptionsT()),
        fb.OperatorT(opcodeIndex=1, inputs=[2, 3], outputs=[4], builtinOptionsType=fb.BuiltinOptions.MulOptions,
                     builtinOptions=fb.MulOptionsT()),
    ]
    sg = fb.SubGraphT(tensors=tensors, inputs=[0], outputs=[4], operators=ops, name="main")
    sig = fb.SignatureDefT(inputs=[fb.TensorMapT(name="image", tensorIndex=0)],
                           outputs=[fb.TensorMapT(name="scores", tensorIndex=4)], signatureKey="serving_default", subgraphIndex=0)
    model = fb.ModelT(version=3, operatorCodes=[
        fb.OperatorCodeT(deprecatedBuiltinCode=fb.BuiltinOperator.ADD, builtinCode=fb.BuiltinOperator.ADD, version=1),
        fb.OperatorCodeT(deprecatedBuiltinCode=fb.BuiltinOperator.MUL, builtinCode=fb.BuiltinOperator.MUL, version=1),
    ], subgraphs=[sg], buffers=buffers, description="test", signatureDefs=[sig])
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def run(path) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    x = np.linspace(0, 1, 12, dtype=np.float32).reshape(1, 2, 2, 3)
    return runner(image=x)["scores"]


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "tiny.tflite"
    path.write_bytes(tiny_model())
    return path


def test_round_trip(model_file):
    before = run(model_file)
    write_metadata(model_file, META, LABELS, NORM)
    meta = read_metadata(model_file)
    assert {k: meta[k] for k in ("name", "version", "author", "license", "description")} == {
        k: META[k] for k in ("name", "version", "author", "license", "description")}
    assert meta["min_parser_version"] == "1.0.0"
    assert meta["mean"] == NORM["mean"] and meta["std"] == NORM["std"]
    assert meta["labels"] == LABELS and meta["associated_files"] == [LABELS_FILE]
    assert meta["inputs"] == [{"name": "image", "description": "RGB pixels", "mean": NORM["mean"], "std": NORM["std"], "color": "RGB"}]
    assert meta["outputs"] == [{"name": "scores", "description": "class scores", "associated_files": [LABELS_FILE],
                                "labels_file": LABELS_FILE}]
    # the interpreter ignores metadata and the appended zip: same results
    np.testing.assert_array_equal(run(model_file), before)


def test_layout_is_the_standard_one(model_file):
    """What the Android MetadataExtractor looks for: a TFLITE_METADATA buffer with identifier M001,
    and labels.txt as a stored zip entry at the end of the file, offsets from the file start."""
    from ai_edge_litert import schema_py_generated as fb

    size_before = model_file.stat().st_size
    write_metadata(model_file, META, LABELS, NORM)
    data = model_file.read_bytes()
    model = fb.Model.GetRootAs(data, 0)
    entries = {model.Metadata(i).Name().decode(): model.Metadata(i).Buffer() for i in range(model.MetadataLength())}
    assert "TFLITE_METADATA" in entries
    buf = model.Buffers(entries["TFLITE_METADATA"]).DataAsNumpy().tobytes()
    assert buf[4:8] == b"M001"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (info,) = zf.infolist()
        assert info.filename == LABELS_FILE and info.compress_type == zipfile.ZIP_STORED
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert zf.read(LABELS_FILE) == b"cat\ndog\nbird\n"
        assert info.header_offset > size_before  # the archive sits after the flatbuffer
    # offsets are absolute (as `zipfile` append mode writes them): no prefix correction needed
    eocd = data.rindex(b"PK\x05\x06")
    cd_offset = int.from_bytes(data[eocd + 16: eocd + 20], "little")
    assert data[cd_offset: cd_offset + 4] == b"PK\x01\x02"


def test_deterministic_and_rewritable(model_file, tmp_path):
    write_metadata(model_file, META, LABELS, NORM)
    once = model_file.read_bytes()
    other = tmp_path / "other.tflite"
    other.write_bytes(tiny_model())
    write_metadata(other, META, LABELS, NORM)
    assert other.read_bytes() == once
    # writing again replaces the metadata and the zip instead of stacking them
    write_metadata(model_file, META, LABELS, NORM)
    assert model_file.read_bytes() == once
    write_metadata(model_file, {**META, "version": "3.0.0"}, ["a", "b", "c"], None)
    meta = read_metadata(model_file)
    assert meta["version"] == "3.0.0" and meta["labels"] == ["a", "b", "c"] and meta["mean"] is None
    with zipfile.ZipFile(model_file) as zf:
        assert zf.namelist() == [LABELS_FILE]


def test_without_labels_or_normalization(model_file):
    write_metadata(model_file, {"name": "bare"})
    meta = read_metadata(model_file)
    assert meta["name"] == "bare" and meta["labels"] is None and meta["mean"] is None
    assert meta["associated_files"] == [] and meta["inputs"][0]["name"] == "image"
    assert run(model_file).shape == (1, 2, 2, 3)


def test_no_metadata_is_an_error(model_file):
    with pytest.raises(ValueError, match="no TFLITE_METADATA"):
        read_metadata(model_file)


@pytest.mark.skipif(shutil.which("flatc") is None, reason="flatc (apt: flatbuffers-compiler) not installed")
def test_flatc_decodes_the_metadata_with_the_published_schema(model_file, tmp_path):
    """An independent reader: flatc and the .fbs, not our generated Python."""
    import json

    from ai_edge_litert import schema_py_generated as fb

    from mobilekit.targets.tflite import _schema as _tflite_schema

    write_metadata(model_file, META, LABELS, NORM)
    data = model_file.read_bytes()
    model = fb.Model.GetRootAs(data, 0)
    idx = next(model.Metadata(i).Buffer() for i in range(model.MetadataLength()) if model.Metadata(i).Name() == b"TFLITE_METADATA")
    (tmp_path / "meta.bin").write_bytes(model.Buffers(idx).DataAsNumpy().tobytes())
    fbs = f"{_tflite_schema.__path__[0]}/metadata_schema.fbs"
    subprocess.run(["flatc", "--json", "--strict-json", "--raw-binary", "-o", str(tmp_path), fbs, "--", str(tmp_path / "meta.bin")],
                   check=True, capture_output=True)
    doc = json.loads((tmp_path / "meta.json").read_text())
    assert doc["name"] == "tiny" and doc["min_parser_version"] == "1.0.0"
    tin = doc["subgraph_metadata"][0]["input_tensor_metadata"][0]
    assert tin["process_units"][0]["options_type"] == "NormalizationOptions"
    assert tin["process_units"][0]["options"]["mean"] == NORM["mean"]
    assert tin["content"]["content_properties_type"] == "ImageProperties"
    tout = doc["subgraph_metadata"][0]["output_tensor_metadata"][0]
    assert tout["associated_files"][0] == {"name": "labels.txt", "description": tout["associated_files"][0]["description"],
                                           "type": "TENSOR_AXIS_LABELS"}
