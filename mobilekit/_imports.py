"""Resolve "pkg.module:attr" references from configs, with user-facing errors."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from .errors import UserError


def resolve_ref(ref: str, *, what: str, key: str, base_dir: str | Path = ".") -> Any:
    if ":" not in ref:
        raise UserError(f"{key}: {ref!r} is not a `pkg.module:name` reference", hint=f"Write the {what} as `package.module:function`.")
    module_name, _, attr = ref.partition(":")
    base = str(Path(base_dir).resolve())
    # a model repo's own packages import from its root, as `python -m` would
    if base not in sys.path:
        sys.path.insert(0, base)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UserError(f"{key}: module {module_name!r} not found", hint=f"Check the {what} reference and that the module is importable from {base}.") from None
        raise UserError(f"{key}: importing {module_name!r} failed: no module {exc.name!r}", hint="Install what that module imports.") from None
    except Exception as exc:
        raise UserError(f"{key}: importing {module_name!r} raised {type(exc).__name__}: {_first_line(exc)}", hint="Fix the error in that module.") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UserError(f"{key}: {module_name!r} has no {attr!r}", hint=f"Check the {what} name after the colon.") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


first_line = _first_line


def quiet_coremltools() -> Any:
    """Import coremltools without letting it import TensorFlow (10 s here, and unused).

    coremltools probes for TensorFlow at import to enable its TF converters. When TensorFlow is
    not already loaded in this process, it is hidden for the duration of the import and
    restored after, so other code can still import it. MOBILEKIT_COREML_ALLOW_TF=1 disables it.
    """
    if "coremltools" in sys.modules:
        return sys.modules["coremltools"]
    import logging

    from ._native import before_tensorflow

    before_tensorflow()  # coremltools' import may load TensorFlow (MOBILEKIT_COREML_ALLOW_TF, or already wanted)

    hide = "tensorflow" not in sys.modules and os.environ.get("MOBILEKIT_COREML_ALLOW_TF") != "1"
    if hide:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
    # Its import warns once per missing native proxy ("Failed to load _MLModelProxy": no Core ML
    # runtime off macOS, known) and pulls in torchao, which warns about CUDA kernels a CPU build
    # lacks: noise in the user's terminal, nothing they can act on.
    logs = [logging.getLogger(n) for n in ("coremltools", "torchao", "torch.utils._pytree")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.ERROR)
    try:
        try:
            import coremltools
        except ImportError as exc:
            raise UserError(f"coremltools is not installed ({exc})", hint="pip install 'mobilekit[coreml]'") from None
    finally:
        for log, level in zip(logs, levels):
            log.setLevel(level)
        if hide and "tensorflow" in sys.modules and sys.modules["tensorflow"] is None:
            del sys.modules["tensorflow"]
    return coremltools
