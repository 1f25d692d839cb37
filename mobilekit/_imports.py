"""Resolve "pkg.module:attr" references from configs, with user-facing errors."""

from __future__ import annotations

import importlib
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
