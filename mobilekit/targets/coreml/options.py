"""Core ML options: deployment targets, spec versions, variant names and their validation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Literal

from ...errors import ConfigError

DeploymentTarget = Literal["iOS15", "iOS16", "iOS17", "iOS18", "macOS12", "macOS13", "macOS14", "macOS15"]
VariantName = Literal[
    "fp16", "fp32", "int8", "int4-block",
    "palettize-1", "palettize-2", "palettize-3", "palettize-4", "palettize-6", "palettize-8",
    "pruned",
]

# Core ML specification version of each deployment target, and the OS releases of each version.
_SPEC_VERSION = {"iOS15": 6, "iOS16": 7, "iOS17": 8, "iOS18": 9,
                 "macOS12": 6, "macOS13": 7, "macOS14": 8, "macOS15": 9}
_OS_OF_SPEC = {
    6: {"iOS": "15", "macOS": "12", "tvOS": "15", "watchOS": "8"},
    7: {"iOS": "16", "macOS": "13", "tvOS": "16", "watchOS": "9"},
    8: {"iOS": "17", "macOS": "14", "tvOS": "17", "watchOS": "10"},
    9: {"iOS": "18", "macOS": "15", "tvOS": "18", "watchOS": "11"},
}
_LABEL_OUTPUT = "classLabel"
_PROBS_OUTPUT = "classLabel_probs"  # coremltools names it <predicted_feature_name>_probs
_PROBS_INTERNAL = "mobilekit_probabilities"  # the softmax the classify op consumes
_DEBUG_FILES = ("executorch_debug_handle_mapping.json",)
_ID_NAMESPACE = uuid.UUID("5b0a4a53-6f2e-4f4c-9a43-6d6f62696c65")  # fixed: package item ids


@dataclass
class CoreMLOptions:
    """`[tool.mobilekit.coreml]`."""

    minimum_deployment_target: DeploymentTarget = "iOS16"
    compute_precision: Literal["float16", "float32"] = "float16"
    # One package per variant; the first listed is `<Name>.mlpackage`, the others
    # `<Name>.<variant>.mlpackage`. Default: the compute precision's float variant.
    variants: list[VariantName] | None = None
    # palettize-N: 0 = one look-up table per weight tensor; G > 0 = one table per G output
    # channels (per-grouped-channel, iOS18 / macOS15 or newer).
    palettize_group_size: int = 0
    int4_block_size: int = 32  # int4-block: input channels per quantization block
    prune_sparsity: float = 0.5  # pruned: fraction of each weight tensor set to zero
    weight_threshold: int = 2048  # weight tensors with at most this many elements stay uncompressed
    classifier_softmax: bool = True  # the labelled output is logits: add softmax for the classifier
    fold_std: bool = True  # per-channel std: fold exactly into the model (else approximate it)
    image_inputs: bool = True  # image inputs as ImageType (pixel buffers); False: NCHW multi-arrays
    package_name: str | None = None  # default: the config's name in CamelCase (a Swift class name)
    # compressed variants: torch node or module names whose op's weights stay float (weight-only
    # compression: a layer without weights has nothing to keep); set from `[compression] keep_float`
    keep_float: list[str] = field(default_factory=list)

    def check(self, key: str) -> None:
        if self.variants is None:
            self.variants = ["fp16" if self.compute_precision == "float16" else "fp32"]
        if not self.variants:
            raise ConfigError(f"{key}.variants", "is empty", hint='List at least one variant, e.g. ["fp16", "int8"].')
        seen = set()
        for i, v in enumerate(self.variants):
            if v in seen:
                raise ConfigError(f"{key}.variants[{i}]", f"lists {v!r} twice")
            seen.add(v)
        target = self.minimum_deployment_target
        for v in self.variants:
            need = _variant_min_spec(v, self)
            if _SPEC_VERSION[target] < need:
                why = " (per-grouped-channel palettization)" if v.startswith("palettize") and self.palettize_group_size else ""
                raise ConfigError(
                    f"{key}.variants",
                    f"{v}{why} needs minimum_deployment_target {_os_name(target, need)} or newer, got {target}",
                    hint=f"Set `{key}.minimum_deployment_target = \"{_os_name(target, need)}\"` or drop {v}.",
                )
        if self.palettize_group_size < 0:
            raise ConfigError(f"{key}.palettize_group_size", f"must be >= 0, got {self.palettize_group_size}")
        if self.int4_block_size < 1:
            raise ConfigError(f"{key}.int4_block_size", f"must be >= 1, got {self.int4_block_size}")
        if not 0.0 < self.prune_sparsity < 1.0:
            raise ConfigError(f"{key}.prune_sparsity", f"must be between 0 and 1 (exclusive), got {self.prune_sparsity}")
        if self.weight_threshold < 1:
            raise ConfigError(f"{key}.weight_threshold", f"must be >= 1, got {self.weight_threshold}")
        if self.package_name is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", self.package_name):
            raise ConfigError(f"{key}.package_name", f"{self.package_name!r} is not a valid Swift class name",
                              hint="Use letters, digits and _, not starting with a digit.")


def _variant_min_spec(variant: str, opts: CoreMLOptions) -> int:
    if variant in ("fp16", "fp32"):
        return 6
    if variant == "int4-block":
        return 9
    if variant.startswith("palettize") and opts.palettize_group_size:
        return 9
    return 7  # compressed weights (constexpr ops) arrived with iOS16 / macOS13


def _os_name(configured: str, spec_version: int) -> str:
    family = "macOS" if configured.startswith("macOS") else "iOS"
    return family + _OS_OF_SPEC[spec_version][family]
