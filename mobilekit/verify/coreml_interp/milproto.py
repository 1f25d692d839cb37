"""A saved `.mlpackage`'s MIL program with its weights, read without a Core ML runtime.

Shared by the interpreter and the Core ML target's structure checks; lives here because the
interpreter (verify/) must not depend on a target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..._imports import quiet_coremltools
from ...errors import CheckError


def load_program(path: Path) -> tuple[Any, Any]:
    """(MLModel without a runtime, its MIL program with weights) of a saved package."""
    ct = quiet_coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load as mil_load

    model = ct.models.MLModel(str(path), skip_model_load=True)
    spec = model.get_spec()
    if spec.WhichOneof("Type") != "mlProgram":
        raise CheckError(f"coreml: {path.name} is not an ML Program (got {spec.WhichOneof('Type')})")
    prog = mil_load(spec, specification_version=spec.specificationVersion, file_weights_dir=model.weights_dir)
    return model, prog
