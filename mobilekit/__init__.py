"""mobilekit: a trained PyTorch model → verified Core ML, TFLite and ONNX packages.

    import mobilekit
    bundle = mobilekit.export(model, (torch.randn(1, 3, 32, 32),), config="mobilekit.toml")

This module imports nothing heavy (no torch, TensorFlow or coremltools); the API functions
import what they need when called.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "export",
    "load_bundle",
    "verify_bundle",
    "ExportConfig",
    "MobileKitError",
    "UserError",
    "CheckError",
    "InternalError",
]

from .errors import CheckError, InternalError, MobileKitError, UserError


def __getattr__(name: str):
    # Lazy, so `import mobilekit` stays light.
    if name in ("export", "verify_bundle"):
        from . import api

        return getattr(api, name)
    if name == "sweep":  # the package is callable: mobilekit.sweep(config, ...) runs a sweep
        import importlib

        return importlib.import_module(".sweep", __name__)
    if name == "load_bundle":
        from .bundle import load_bundle

        return load_bundle
    if name == "ExportConfig":
        from .config import ExportConfig

        return ExportConfig
    raise AttributeError(f"module 'mobilekit' has no attribute {name!r}")
