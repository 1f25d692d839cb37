"""ExecuTorch target: `.pte` programs for the XNNPACK and Core ML delegates.

Variants (one `.pte` each, all lowered from the pipeline's torch.export capture):

- `fp32`: XNNPACK delegate, float32.
- `fp16`: the model cast to float16 (inputs/outputs stay float32: casts at both ends), XNNPACK.
- `int8`: PT2E static quantization with ExecuTorch's XNNPACKQuantizer (symmetric, weights per
  channel), calibrated on `calibration.data`, XNNPACK.
- `coreml`: Core ML delegate (fp16 compute, the delegate's default).
- `coreml-int8`: Core ML delegate with int8 weights (coremltools linear quantization, per channel).

Every program carries its metadata as constant methods (`metadata.py`) and its record a
delegation report (`delegation.py`, ExecuTorch's own `get_delegation_info`). XNNPACK programs
are verified with `executorch.runtime` (the portable + XNNPACK kernels in the wheel); Core ML
ones by extracting the delegate's Core ML program and running it in mobilekit's reference
interpreter (`runner.py`).

Nothing here imports executorch or torch at module level: the registry reads this module while
parsing configs and for `mobilekit --help`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ... import _validate
from ...errors import ConfigError, UserError
from ..base import (ArtifactRecord, BenchConfig, ConvertJob, KeepFloat, Target, Unverifiable, package_version,
                    take_keep_float)
from .delegation import delegation_summary  # noqa: F401  (for `mobilekit inspect`)

Variant = Literal["fp32", "fp16", "int8", "coreml", "coreml-int8"]
VARIANTS: tuple[str, ...] = ("fp32", "fp16", "int8", "coreml", "coreml-int8")
FILE_NAMES = {v: "model.pte" if v == "fp32" else f"model.{v}.pte" for v in VARIANTS}
INSTALL_HINT = "pip install 'mobilekit[executorch]'"


@dataclass
class ExecuTorchOptions:
    """`[tool.mobilekit.executorch]`."""

    variants: list[Variant] = field(default_factory=lambda: ["fp32"])
    calibration_samples: int = 200  # at most this many calibration samples are used (int8)
    metadata: bool = True  # constant methods get_labels / get_mean / get_std / get_metadata_json
    # Core ML delegate variants
    coreml_minimum_deployment_target: Literal["iOS16", "iOS17", "iOS18"] = "iOS16"
    coreml_weight_threshold: int = 2048  # coreml-int8: smaller weight tensors stay float
    # int8: capture node or module names the XNNPACK quantizer leaves float (`[compression]
    # keep_float` is copied here; the accuracy fallback sets it for its re-lowering)
    keep_float: list[str] = field(default_factory=list)

    def check(self, key: str) -> None:
        if not self.variants:
            raise ConfigError(f"{key}.variants", "is empty", hint=f"List at least one of {', '.join(VARIANTS)}.")
        seen = set()
        for i, v in enumerate(self.variants):
            if v in seen:
                raise ConfigError(f"{key}.variants[{i}]", f"{v!r} is listed twice")
            seen.add(v)
        if self.calibration_samples < 1:
            raise ConfigError(f"{key}.calibration_samples", f"must be >= 1, got {self.calibration_samples}")
        if self.coreml_weight_threshold < 1:
            raise ConfigError(f"{key}.coreml_weight_threshold", f"must be >= 1, got {self.coreml_weight_threshold}")


def installed() -> bool:
    return importlib.util.find_spec("executorch") is not None


class ExecuTorchTarget(Target):
    name = "executorch"
    Options = ExecuTorchOptions
    # int8 is XNNPACK's static int8; "size" and "speed" pick it too (the smallest and, with
    # XNNPACK's int8 kernels, the fastest .pte on the hosts measured: bench/executorch_vs_litert_onnx.py).
    presets = {"fp16": ["fp32", "fp16"], "int8": ["fp32", "int8"], "size": ["fp32", "int8"], "speed": ["fp32", "int8"]}
    runtime_dists = {"executorch": "executorch"}

    def parse_options(self, data: Any, key: str) -> Any:
        if not installed():
            # a config naming the target fails here, in one line, before any work
            raise UserError("executorch is not installed: the \"executorch\" target needs it", hint=INSTALL_HINT)
        return super().parse_options(data, key)

    def converter_versions(self) -> dict[str, str]:
        return {"executorch": package_version("executorch"), "torchao": package_version("torchao")}

    def needs_calibration(self, options: Any) -> bool:
        return "int8" in _variants(options)

    def validate(self, options: Any, spec: Any, config: Any) -> None:
        opts = self.parse_options(options, "executorch") if isinstance(options, dict) else options
        take_keep_float(opts, config, "executorch")
        opts.check("executorch")
        if "int8" in opts.variants and config is not None:
            if not getattr(getattr(config, "calibration", None), "data", None):
                raise UserError(
                    "executorch: the \"int8\" variant (XNNPACK static int8) needs calibration data: `calibration.data` is not set",
                    hint="Set `calibration.data` (100–500 preprocessed training samples), or drop \"int8\" from `executorch.variants`.",
                )

    def convert(self, job: ConvertJob) -> list[ArtifactRecord]:
        from .convert import convert

        opts = _validate.build(ExecuTorchOptions, dict(job.options or {}), "executorch")
        return convert(job, opts)

    def runner(self, record: ArtifactRecord, bundle_dir: Path):
        if not installed():
            raise Unverifiable(f"executorch is not installed ({INSTALL_HINT})")
        from .runner import runner

        return runner(record, Path(bundle_dir))

    def bench_configs(self, entry: dict, threads: int, prefs: dict):
        if not installed():
            return f"executorch is not installed ({INSTALL_HINT})"
        return [BenchConfig(runtime="executorch", delegate="xnnpack", threads=threads)]

    def bench_init(self, config: BenchConfig) -> None:
        from .runner import init_runtime

        init_runtime(config.threads or 1)

    def timed_session(self, record: ArtifactRecord, bundle_dir: Path, samples: list[dict], config: BenchConfig, handle=None):
        from .runner import timed_session

        return timed_session(record, Path(bundle_dir), samples, config.threads or 1)

    # -- mobilekit debug: ETDump intermediates of the program lowered again; delegation (exact) --
    trace_needs_capture = True

    def tracer(self):
        from .trace import trace

        return trace

    def placement(self, path, entry):
        delegation = (entry.get("details") or {}).get("delegation")
        return {"source": "ExecuTorch get_delegation_info at export (exact)", **delegation} if delegation else {}

    def keep_float(self, record, bundle_dir, work_dir, calibration, options, *, program=None, spec=None, **context):
        """XNNPACK int8: lowered again from the capture with the layers' nodes left out of the quantizer."""
        if record.variant != "int8" or program is None or spec is None or not installed():
            return None
        return ExecuTorchKeepFloat(record, bundle_dir, Path(program), spec, calibration, _validate.to_dict(options)
                                   if not isinstance(options, dict) else options)

    def check_structure(self, record: ArtifactRecord, bundle_dir: Path, spec: Any) -> dict:
        from .runner import check_program

        return check_program(record, Path(bundle_dir))


def _variants(options: Any) -> list[str]:
    if isinstance(options, dict):
        return list(options.get("variants") or ["fp32"])
    return list(getattr(options, "variants", None) or ["fp32"])


# ops a tensor passes through on its way to the next layer: for it to stay float they must too
_PASS_THROUGH = ("max_pool2d", "flatten", "view", "reshape", "permute", "squeeze", "unsqueeze", "getitem", "clone",
                 "dropout", "pad", "cat")
# ops fused into the conv / linear before them (one quantized pattern)
_FUSED = ("batch_norm", "relu", "hardtanh", "clamp", "getitem")
_COMPUTE = ("conv", "linear", "addmm", "mm", "bmm", "add", "mul")


def _kind(node, names) -> bool:
    target = str(node.target)
    return node.op == "call_function" and any(k in target for k in names)


class ExecuTorchKeepFloat(KeepFloat):
    """The int8 `.pte` lowered again with capture nodes left float (the quantizer's filter).

    A node's region is the quantized pattern that computes it (conv → batch norm → relu) and every
    layer that reads its value (through pooling and reshapes) up to that layer's own output: its
    value is then never quantized, as an ONNX tensor with no Q/DQ pair around it.
    """

    names = "torch"

    def __init__(self, record, bundle_dir: Path, program: Path, spec: dict, calibration: Path | None, options: dict):
        import torch

        self.record = record
        self.spec = spec
        self.path = Path(bundle_dir) / record.path
        self.program = Path(program)
        self.calibration = calibration
        self.options = dict(options or {})
        self.graph = torch.export.load(str(self.program)).module().graph
        self.node_of = {n.name: n for n in self.graph.nodes}

    def _fused_down(self, node) -> list:
        out = [node]
        while len(node.users) == 1 and _kind(next(iter(node.users)), _FUSED):
            node = next(iter(node.users))
            out.append(node)
        return out

    def region(self, tensor: str) -> list[str]:
        node = self.node_of.get(tensor)
        if node is None or node.op != "call_function":
            return []
        up = [node]
        cur = node
        while _kind(cur, _FUSED) and cur.all_input_nodes:  # up to the conv / linear that starts the pattern
            cur = cur.all_input_nodes[0]
            if cur.op != "call_function":
                break
            up.append(cur)
            if not _kind(cur, _FUSED):
                break
        chosen = list(reversed(up)) + self._fused_down(node)[1:]
        last = chosen[-1]
        todo = list(last.users)
        seen = set()
        while todo:
            user = todo.pop(0)
            if user.name in seen or user.op != "call_function":
                continue
            seen.add(user.name)
            group = self._fused_down(user)
            chosen.extend(group)
            if _kind(user, _PASS_THROUGH) and not _kind(user, _COMPUTE):
                todo.extend(group[-1].users)
        return list(dict.fromkeys(n.name for n in chosen))

    def requantize(self, layers: list[str]) -> None:
        from .convert import lower_bytes
        from .relower import constant_methods_of

        methods = constant_methods_of(self.path)
        keep = list(dict.fromkeys([*(self.options.get("keep_float") or []), *layers]))  # the config's list, too
        data = lower_bytes(self.record.variant, self.program, self.spec, {**self.options, "keep_float": keep},
                           self.calibration, methods)
        self.path.write_bytes(data)


TARGET = ExecuTorchTarget()
