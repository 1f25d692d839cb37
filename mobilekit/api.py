"""The Python API behind `mobilekit.export` and `mobilekit verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import config as config_mod
from .bundle import Bundle, load_bundle
from .progress import Progress


def export(model: Any = None, example_inputs: Any = None, config: Any = None, *,
           progress: Progress | None = None, force: bool = False, **overrides: Any) -> Bundle:
    """Export `model` (an nn.Module, or None to use the config's `source`) to a verified bundle.

    `config` is an ExportConfig, a dict, a path to a .toml, or None (mobilekit.toml /
    pyproject.toml in the current folder); keyword overrides win over it. Raises UserError for
    bad input (nothing written) and ExportFailed (a CheckError, with `.bundle`) when artifacts
    fail; the bundle is then written with the failures recorded. Targets whose inputs did not
    change since the bundle already at the destination are reused; `force=True` rebuilds all.
    """
    from .pipeline import export as run

    cfg = config_mod.resolve(config, overrides)
    return run(cfg, model, example_inputs, progress, force=force)


def verify_bundle(path: str | Path, progress: Progress | None = None) -> dict:
    """Re-check a bundle: manifest, checksums, and each runnable artifact against its golden vectors."""
    from .reverify import reverify

    return reverify(load_bundle(path), progress)
