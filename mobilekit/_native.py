"""Load order of native libraries that break each other.

torch's CUDA wheels (what pip takes for torch 2.14 from PyPI) depend on triton. Its libtriton
segfaults when it is loaded after TensorFlow (measured: TF 2.21 then triton 3.8.0 → SIGSEGV;
the other order works), and torch loads triton lazily — torch.export's dynamo import does —
often after a converter has imported TensorFlow (onnx2tf, litert-torch, coremltools' probe).
`before_tensorflow()` loads triton first when it is installed; without triton (torch's CPU
wheels, our pinned set) it does nothing. Called in every process that may import TensorFlow:
the converter workers, the bench children, and before mobilekit imports TensorFlow itself.
"""

from __future__ import annotations

import importlib.util
import sys


def before_tensorflow() -> bool:
    """True when triton was loaded here (so TensorFlow can come after it)."""
    if "triton" in sys.modules or "tensorflow" in sys.modules:
        return False  # already safe, or too late to help
    try:
        if importlib.util.find_spec("triton") is None:
            return False
    except (ImportError, ValueError):
        return False
    try:
        import triton  # noqa: F401
    except Exception:  # a broken triton must not stop a CPU export
        return False
    return True
