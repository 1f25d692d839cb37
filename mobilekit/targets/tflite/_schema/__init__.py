"""Python code for the TFLite metadata flatbuffer schema (`metadata_schema.fbs`, namespace `tflite`).

tflite-support (the usual metadata writer) cannot be installed next to current TensorFlow/onnx
(it needs protobuf<4), so the schema's Python classes are generated here instead and committed:

    # schema: metadata_schema.fbs from the mediapipe 1.2.3 wheel
    #         (mediapipe/tasks/metadata/metadata_schema.fbs; schema version 1.5.0, identifier "M001";
    #          sha256 54f0cc99a87d56045bc32ad177bf5d02a29836416493cab3e98a06057b60797b)
    apt-get install -y flatbuffers-compiler        # flatc 2.0.8
    cd mobilekit/_tflite_schema
    flatc --python --gen-object-api --gen-onefile metadata_schema.fbs
    # → metadata_schema_generated.py (a provenance comment was added at its top)

Regenerate the same way if the schema changes; nothing else in this folder is hand-written. The
generated module needs only the `flatbuffers` runtime package. Import it lazily
(`mobilekit.targets.tflite.metadata` does).
"""

from . import metadata_schema_generated as schema  # noqa: F401

FILE_IDENTIFIER = b"M001"
METADATA_BUFFER_NAME = "TFLITE_METADATA"
