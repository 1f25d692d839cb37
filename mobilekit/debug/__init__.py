"""`mobilekit debug`: where does an artifact lose accuracy? Layer-by-layer against the torch model.

The flow: the torch program's intermediate values on real inputs (torch_trace) → each artifact's
own intermediate tensors from its runtime (each target's `tracer`: targets/*/trace.py) → matched to
torch nodes by what the converter preserves (match) → per-layer figures, the error a layer adds
vs the error it inherits (layers) → a table, JSON and a Model Explorer overlay (render).

Heavy imports (torch, onnxruntime, LiteRT) happen inside the tracers.
"""

from __future__ import annotations

from .run import debug_bundle

__all__ = ["debug_bundle"]
