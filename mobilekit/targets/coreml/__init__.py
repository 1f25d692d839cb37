"""Core ML target: torch.export program → ML Program `.mlpackage`, one package per variant.

What it makes, from the shared capture (`job.program`):

- The model is wrapped before conversion: per-channel `std` that Core ML's image preprocessing
  cannot express (one scalar scale) is folded in as an exact per-channel multiply, and when an
  output has labels a softmax of it is added and fed to Core ML's classifier (`classLabel`,
  `classLabel_probs`). The labelled output itself stays an output (raw logits), so parity is
  checked on the very tensor torch gives and apps keep the raw scores.
- Image inputs (spec inputs with `preprocessing`) become `ImageType`: the app passes a pixel
  buffer / CGImage and Core ML does `pixel * scale + bias`; the record's layout is "image".
  Other inputs are float32 / int32 multi-arrays.
- Variants (`coreml.variants`): fp16, fp32, int8 (per-channel linear), int4-block (per-block
  int4, iOS18+), palettize-N (k-means LUT, per tensor or per grouped channel), pruned
  (magnitude pruning, sparse storage). Compressed variants start from the model converted at
  `compute_precision` and compress its weights only (activations stay float).
- Packages are saved deterministically: the debug-handle map torch.export adds is dropped,
  `model.mlmodel` is re-serialized with sorted maps and without the conversion date, and the
  ids in `Manifest.json` are derived from the content instead of random UUIDs.

No Core ML runtime exists off macOS: there `runner` runs the package through mobilekit's
reference interpreter (`verify/coreml_interp`, fp16 simulated), and `check_structure` (package
loads, I/O names/types/shapes, labels, weight bit widths) checks what the runtime would refuse.
"""
# The package's modules, one job each: options (validation) · plans (variants, weight
# compression) · convert (torch program → MLModel) · metadata (metadata, deterministic save) ·
# inspect (reading packages back) · checks (structure) · runner (macOS) · common (helpers).

from __future__ import annotations

from .checks import check_package
from .common import _coremltools, coremltools_quietly  # noqa: F401  (_coremltools: the name older callers import)
from .inspect import _all_ops, inspect_package, load_program, package_sha256, package_size  # noqa: F401
from .metadata import save_package
from .options import CoreMLOptions
from .runner import _mac_runner, _to_pil  # noqa: F401  (tests)
from .target import CoreMLTarget

TARGET = CoreMLTarget()

__all__ = ["TARGET", "CoreMLOptions", "CoreMLTarget", "check_package", "coremltools_quietly", "inspect_package",
           "load_program", "package_sha256", "package_size", "save_package"]
