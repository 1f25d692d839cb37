"""Load a model from any accepted source, safely.

Accepted: an nn.Module (API), "pkg.module:factory", a torch.export `.pt2`, a TorchScript `.pt`,
and a state_dict / safetensors file loaded into the factory's model. Files are never fully
unpickled unless the user opts in (`trust_pickle`): arbitrary pickles run code on load.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._imports import first_line, resolve_ref
from .config import ExportConfig
from .errors import SourceError, UserError


@dataclass
class Loaded:
    """A model ready to capture: an eager nn.Module, or an ExportedProgram (from .pt2)."""

    module: Any  # torch.nn.Module or torch.export.ExportedProgram
    kind: str  # "module" | "factory" | "pt2" | "torchscript" | "pickle"
    origin: str  # what the user gave, for messages and the manifest


def load(cfg: ExportConfig, model: Any = None) -> Loaded:
    import torch

    if model is not None:
        if isinstance(model, (str, Path)):
            return _load_ref(str(model), cfg)
        if isinstance(model, torch.export.ExportedProgram):
            return Loaded(model, "pt2", "ExportedProgram")
        if not isinstance(model, torch.nn.Module):
            raise SourceError(f"model must be a torch.nn.Module, got {type(model).__name__}", hint="Pass the module itself, or a `pkg.module:factory` string.")
        _apply_weights(model, cfg)
        return Loaded(model.eval(), "module", type(model).__name__)
    if not cfg.source:
        raise SourceError("no model given", hint="Set `source` in the config (`pkg.module:factory` or a .pt2/.pt file) or pass --source.")
    return _load_ref(cfg.source, cfg)


def _load_ref(ref: str, cfg: ExportConfig) -> Loaded:
    path = cfg.path(ref)
    suffix = Path(ref).suffix.lower()
    if suffix in (".pt2", ".pt", ".pth", ".onnx", ".safetensors", ".tflite", ".mlpackage") or path.exists():
        if not path.exists():
            raise SourceError(f"model file {path} does not exist", hint="Fix `source` in the config or --source.")
        if path.is_dir():
            raise SourceError(f"model path {path} is a folder", hint="Give a .pt2 or .pt file, or a `pkg.module:factory`.")
        if suffix == ".pt2":
            from ._pt2 import read_pt2

            return Loaded(read_pt2(path, trust_pickle=cfg.trust_pickle), "pt2", str(path))
        if suffix in (".pt", ".pth"):
            return _load_pt(path, cfg)
        if suffix == ".onnx":
            raise SourceError(f"{path}: starting from an .onnx file is not supported yet", hint="Give the PyTorch model (factory, .pt2 or .pt).")
        raise SourceError(f"{path}: a {suffix or 'file without suffix'} is not a model source", hint="Give a .pt2, a TorchScript .pt, or a `pkg.module:factory` (with `weights` for a state_dict).")
    module = load_factory(ref, cfg, key="source")
    _apply_weights(module, cfg)
    return Loaded(module.eval(), "factory", ref)


def load_factory(ref: str, cfg: ExportConfig, *, key: str):
    """Call `pkg.module:factory` and check it built an nn.Module (weights are the caller's job)."""
    factory = resolve_ref(ref, what="model factory", key=key, base_dir=cfg.base_dir)
    if not callable(factory):
        raise SourceError(f"{key}: {ref} is not callable", hint=f"Point `{key}` at a function that returns an nn.Module.")
    try:
        module = factory()
    except (Exception, SystemExit) as exc:  # sys.exit() in a factory is the user's code ending, not ours
        raise SourceError(f"{key}: factory {ref} raised {type(exc).__name__}: {first_line(exc)}", hint="Fix the factory; it must build the model with no arguments.") from None
    import torch

    if not isinstance(module, torch.nn.Module):
        raise SourceError(f"{key}: factory {ref} returned {type(module).__name__}, not an nn.Module", hint="Return the model from the factory.")
    return module


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("constants.pkl") for n in names) and any("/code/" in n for n in names)


def _load_pt(path: Path, cfg: ExportConfig) -> Loaded:
    import torch

    if _is_torchscript(path):
        try:
            return Loaded(torch.jit.load(str(path), map_location="cpu"), "torchscript", str(path))
        except Exception as exc:
            raise SourceError(f"{path} is not a loadable TorchScript file: {first_line(exc)}", hint="Re-save it with torch.jit.save.") from None
    obj = _torch_load(path, cfg.trust_pickle)
    if isinstance(obj, torch.nn.Module):
        return Loaded(obj.eval(), "pickle", str(path))
    if isinstance(obj, dict):
        raise SourceError(f"{path} holds a state_dict, which needs the model's code", hint="Set `source` to the model factory and `weights` to this file.")
    raise SourceError(f"{path} holds a {type(obj).__name__}, not a model", hint="Give a TorchScript .pt, a .pt2, or a factory plus weights.")


def _torch_load(path: Path, trust_pickle: bool) -> Any:
    import pickle

    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as exc:
        if not trust_pickle:
            raise UserError(
                f"{path} holds pickled Python objects, which can run code when loaded (refused: {first_line(exc)[:120]})",
                hint="Save a state_dict or TorchScript/.pt2 instead, or pass --trust-pickle if you trust this file.",
            ) from None
        raise SourceError(f"{path} cannot be unpickled: {first_line(exc)}", hint="Check that the file is complete.") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{path} is not a readable PyTorch file: {first_line(exc)}", hint="Check the file is complete and was saved with torch.save.") from None
    except Exception as exc:  # an opted-in pickle may raise anything while it runs
        raise SourceError(f"{path} failed to load: {type(exc).__name__}: {first_line(exc)}", hint="Check the file and the code it needs.") from None


def _apply_weights(module, cfg: ExportConfig) -> None:
    if not cfg.weights:
        return
    path = cfg.path(cfg.weights)
    if not path.is_file():
        raise SourceError(f"weights file {path} does not exist", hint="Fix `weights` in the config or --weights.")
    if path.suffix.lower() == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise SourceError(f"{path} is not a readable safetensors file: {first_line(exc)}", hint="Re-save the weights.") from None
    else:
        state = _torch_load(path, cfg.trust_pickle)
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]  # a common checkpoint layout
        if not isinstance(state, dict):
            raise SourceError(f"{path} holds a {type(state).__name__}, not a state_dict", hint="Save model.state_dict().")
    problem = _state_mismatch(module, state)
    if problem:
        raise SourceError(f"weights {path} do not fit the model: {problem}", hint="Check that `source` builds the architecture these weights were trained on.")
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise SourceError(f"weights {path} do not fit the model: {first_line(exc)}", hint="Check that `source` builds the architecture these weights were trained on.") from None


def _few(keys, n: int = 3) -> str:
    keys = sorted(map(str, keys))
    return ", ".join(keys[:n]) + (f" (+{len(keys) - n} more)" if len(keys) > n else "")


def _state_mismatch(module, state: dict) -> str | None:
    """Name the first few missing/unexpected/misshapen keys (torch's message spans many lines)."""
    import torch

    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        return f"{len(bad)} entr{'y is' if len(bad) == 1 else 'ies are'} not a tensor: {_few(map(str, bad))}"
    want = module.state_dict()
    missing, unexpected = set(want) - set(state), set(state) - set(want)
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s): {_few(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {_few(unexpected)}")
    shapes = [f"{k} {list(state[k].shape)} vs the model's {list(want[k].shape)}" for k in sorted(set(want) & set(state))
              if state[k].shape != want[k].shape]
    if shapes:
        parts.append(f"{len(shapes)} of another shape: {_few(shapes, 2)}")
    if missing and unexpected and all(k.startswith("module.") for k in unexpected):
        parts.append("(saved from a DataParallel wrapper? strip the `module.` prefix)")
    return "; ".join(parts) or None


def input_paths(cfg: ExportConfig) -> list[Path]:
    """Files and folders the export reads: the bundle it writes may not hold any of them."""
    values = [cfg.source, cfg.weights, cfg.calibration.data, cfg.eval.data, cfg.verify.inputs,
              cfg.compression.distill.data, cfg.translation.tokenizer, *(o.labels for o in cfg.outputs)]
    found = []
    for v in values:
        if isinstance(v, str) and v:
            p = cfg.path(v)
            if p.exists():
                found.append(p)
    return found
