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


def distill(out: str | Path, model: Any = None, config: Any = None, *, progress: bool = True, **overrides: Any):
    """Prune/distill the config's source as `[compression.prune]` / `[compression.distill]` say
    and save the student to `out` (a torch.export `.pt2`), without exporting it.

    For long distillation runs: train once, then export the `.pt2` (with a config that has no
    torch-level compression, since the student is already compressed). Returns the
    DistillResult (figures in `.to_dict()`).
    """
    from . import data as data_mod
    from .capture import example_inputs
    from .compress.distill import DistillConfig, distill_from_config
    from .errors import ConfigError
    from .source import load as load_source
    from .spec import from_config

    cfg = config_mod.resolve(config, overrides)
    dc = cfg.compression.distill
    if not dc.data:
        raise ConfigError("compression.distill.data", "is not set: distillation needs labelled training data",
                          hint="Set `[compression.distill] data` to a labelled .npz, an image folder or `pkg.module:callable`.")
    if not cfg.inputs:
        raise ConfigError("inputs", "the config declares no inputs", hint="Add `[[inputs]]` with name and shape.")
    spec = from_config(cfg)
    loaded = load_source(cfg, model)

    def dataset(ref: str, key: str, limit: int | None = None):
        ds = data_mod.load(ref, spec, key=key, base_dir=cfg.base_dir, limit=limit)
        if ds.labels is None:
            raise ConfigError(key, f"{ref} has no labels", hint="Give labels (a `labels` array in the .npz, sub-folders per label, or (inputs, labels) from the callable).")
        return ds

    train = dataset(dc.data, "compression.distill.data", dc.limit)
    evald = dataset(cfg.eval.data, "eval.data", cfg.eval.limit) if cfg.eval.data else None
    import torch

    feeds = example_inputs(spec)
    args = tuple(torch.from_numpy(feeds[t.name]) for t in spec.inputs)
    dcfg = DistillConfig(**{f: getattr(dc, f) for f in DistillConfig.__dataclass_fields__})
    return distill_from_config(loaded.module, train, dcfg, student=dc.student, prune_cfg=cfg.compression.prune,
                               example_inputs=args[0] if len(args) == 1 else args, eval_data=evald, out=out,
                               base_dir=cfg.base_dir, progress=progress)


def debug(bundle: str | Path, config: Any = None, *, artifacts: list[str] | None = None, data: str | None = None,
          samples: int = 8, placement: bool = True, **overrides: Any) -> dict:
    """Compare each artifact of `bundle` layer by layer with the torch model of `config` (the one
    it was exported from): per matched tensor SNR, cosine, max abs, and the error each layer adds
    itself vs inherits, and op-placement estimates (`placement=False` skips them). Returns the
    `mobilekit.debug/1` dict; `debug.render` prints it."""
    from .debug import debug_bundle

    cfg = config_mod.resolve(config, overrides)
    return debug_bundle(load_bundle(bundle), cfg, artifacts=artifacts, data=data, samples=samples, base_dir=cfg.base_dir,
                        placement=placement)


def verify_bundle(path: str | Path, progress: Progress | None = None) -> dict:
    """Re-check a bundle: manifest, checksums, and each runnable artifact against its golden vectors."""
    from .reverify import reverify

    return reverify(load_bundle(path), progress)
