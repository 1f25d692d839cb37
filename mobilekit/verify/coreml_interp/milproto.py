"""A saved `.mlpackage`'s MIL program with its weights, read without a Core ML runtime.

Shared by the interpreter and the Core ML target's structure checks; lives here because the
interpreter (verify/) must not depend on a target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..._imports import quiet_coremltools
from ...errors import CheckError


_CACHE: dict[tuple, tuple[Any, Any]] = {}
_CACHE_SIZE = 4  # packages: an export checks each one twice (structure, then parity), in a row


def _signature(path: Path) -> tuple:
    """The package's files with sizes and mtimes: a rewritten package is read again."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return tuple((str(f.relative_to(path) if path.is_dir() else f.name), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def load_program(path: Path) -> tuple[Any, Any]:
    """(MLModel without a runtime, its MIL program with weights) of a saved package.

    Kept for the last few packages (read-only use): the structure check and the interpreter
    each need it, and parsing a MobileNetV2 package's weights twice cost ~0.3 s.
    """
    key = (str(Path(path).resolve()), _signature(Path(path)))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    loaded = _load(Path(path))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = loaded
    return loaded


def _load(path: Path) -> tuple[Any, Any]:
    ct = quiet_coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load as mil_load

    model = ct.models.MLModel(str(path), skip_model_load=True)
    spec = model.get_spec()
    if spec.WhichOneof("Type") != "mlProgram":
        raise CheckError(f"coreml: {path.name} is not an ML Program (got {spec.WhichOneof('Type')})")
    prog = mil_load(spec, specification_version=spec.specificationVersion, file_weights_dir=model.weights_dir)
    return model, prog
