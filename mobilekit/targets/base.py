"""The target protocol and registry.

A target is one module exposing `TARGET`, an instance of a `Target` subclass. Modules are
imported lazily by name (as Olive registers passes), and must not import heavy packages at
module level: the registry is read while parsing config and by `mobilekit --help`.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .. import _validate
from ..errors import InternalError

_REGISTRY: dict[str, str] = {
    "onnx": "mobilekit.targets.onnx",
    "tflite": "mobilekit.targets.tflite",
    "coreml": "mobilekit.targets.coreml",
    "executorch": "mobilekit.targets.executorch",
}


def register(name: str, module: str) -> None:
    """Add a target from another package: `module` exposes `TARGET`."""
    _REGISTRY[name] = module


def _all() -> dict[str, str]:
    # Plugins can also come from the environment, so worker processes see them too:
    # MOBILEKIT_TARGETS="name=package.module,other=pkg.mod"
    extra = {}
    for item in filter(None, os.environ.get("MOBILEKIT_TARGETS", "").split(",")):
        name, _, module = item.partition("=")
        if name and module:
            extra[name.strip()] = module.strip()
    return {**_REGISTRY, **extra}


def names() -> list[str]:
    return list(_all())


def get(name: str) -> "Target":
    try:
        module = importlib.import_module(_all()[name])
    except KeyError:
        raise InternalError(f"no target named {name!r}") from None
    return module.TARGET


@dataclass
class ConvertJob:
    """Everything a worker needs to convert one target; crosses the process boundary as JSON."""

    target: str
    program: str  # torch.export .pt2 of the model to convert
    spec: dict  # ModelSpec.to_dict()
    options: dict  # the target's options, as plain data
    bundle_dir: str  # staging bundle root; artifacts go under <bundle_dir>/<target>/
    work_dir: str  # scratch space for this target
    onnx: str | None = None  # an fp32 ONNX of the same model, when the target needs one
    calibration: str | None = None  # .npz of preprocessed inputs (NCHW), keyed by input name
    versions: dict = field(default_factory=dict)  # mobilekit/torch versions, for metadata

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "ConvertJob":
        return cls(**json.loads(Path(path).read_text()))


@dataclass
class TensorIO:
    """How a spec tensor appears in one artifact: its native name, layout and dtype."""

    name: str  # the spec's name
    tensor: str  # the artifact's own name for it
    layout: str = "NCHW"  # NCHW / NHWC for 4-D images; "" otherwise
    dtype: str = "float32"
    shape: list[int] = field(default_factory=list)


@dataclass
class ArtifactRecord:
    """What a conversion made: one file (or package) of one variant."""

    target: str
    variant: str
    path: str  # relative to the bundle root
    precision: str  # fp32 / fp16 / int8 / mixed …
    layout: str
    made_by: dict
    compression: list[dict] = field(default_factory=list)
    inputs: list[TensorIO] = field(default_factory=list)
    outputs: list[TensorIO] = field(default_factory=list)
    min_os: str | None = None
    details: dict = field(default_factory=dict)  # target-specific facts (ops, bit widths, …)
    # This variant failed to convert (no file was written); the target's other variants stand.
    error: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["error"] is None:
            del d["error"]
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "ArtifactRecord":
        d = dict(d)
        d["inputs"] = [TensorIO(**t) for t in d.get("inputs", [])]
        d["outputs"] = [TensorIO(**t) for t in d.get("outputs", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


# A runner takes the spec's inputs (NCHW, float32 as torch sees them) and returns the spec's
# outputs; it does its own layout transposes and integer (de)quantization.
Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


class Unverifiable(Exception):
    """This host cannot run the artifact (e.g. no Core ML runtime on Linux)."""


@dataclass
class TimedSession:
    """A loaded artifact for `mobilekit bench`: `call(i)` runs one inference on prepared feeds `i`.

    Feeds are converted to the runtime's own tensors before timing, so the timed call is the
    runtime's (see `Target.timed_session`).
    """

    call: Callable[[int], Any]
    runtime_version: str
    load_ms: float | None = None  # model file → ready to run
    delegate: str | None = None
    notes: list[str] = field(default_factory=list)
    handle: Any = None  # runtime objects the call needs alive (session, interpreter, program)


@dataclass(frozen=True)
class BenchConfig:
    """One runtime configuration `mobilekit bench` times an artifact in."""

    runtime: str  # the result's runtime.name: onnxruntime, litert, coreml, executorch, runner
    backend: str = "cpu"  # cpu | gpu | npu | all
    delegate: str | None = None
    compute_units: str | None = None
    threads: int | None = None


class Target:
    """Subclass per target. Instances are stateless; `convert` runs in a worker process."""

    name: ClassVar[str]
    Options: ClassVar[type]
    needs_onnx: ClassVar[bool] = False  # gets an fp32 ONNX of the model in `job.onnx`
    # writes that fp32 ONNX (its first variant): `base_file` in the bundle, `base_options()` when
    # only the file is wanted (the user did not ask for this target)
    provides_onnx: ClassVar[bool] = False
    base_file: ClassVar[str] = ""

    def base_options(self) -> dict:
        raise NotImplementedError
    # compression preset name → this target's variants (config.CompressionConfig)
    presets: ClassVar[dict[str, list[str]]] = {}

    def parse_options(self, data: Any, key: str) -> Any:
        if isinstance(data, self.Options):
            return data
        return _validate.build(self.Options, data, key)

    def validate(self, options: Any, spec: Any, config: Any) -> None:
        """Cheap checks in the main process before any work: raise UserError."""

    def needs_calibration(self, options: Any) -> bool:
        return False

    def convert(self, job: ConvertJob) -> list[ArtifactRecord]:
        raise NotImplementedError

    def runner(self, record: ArtifactRecord, bundle_dir: Path) -> Runner:
        """A runner for the artifact, or raise Unverifiable(reason)."""
        raise Unverifiable(f"no host runtime for {self.name}")

    # -- `mobilekit bench` (mobilekit/bench/host.py asks only these; it names no target) --------
    # runtime name (as in the bench result's `runtime.name`) → the distribution whose version it is
    runtime_dists: ClassVar[dict[str, str]] = {}

    def bench_configs(self, entry: dict, threads: int, prefs: dict) -> list[BenchConfig] | str:
        """The configurations `mobilekit bench` times this artifact (its manifest entry) in on this host, or why none.

        `prefs` holds the bench command's target-specific choices (e.g. `litert_delegates`).
        The default times the verification runner, when this host has one.
        """
        return [BenchConfig(runtime="runner")]

    def bench_init(self, config: BenchConfig) -> Any:
        """Import and set up the runtime (the bench's `init_ms`, before memory is sampled)."""
        return None

    def timed_session(self, record: ArtifactRecord, bundle_dir: Path, samples: list[dict], config: BenchConfig,
                      handle: Any = None) -> TimedSession:
        """Load the artifact for timing; `samples` are spec-named inputs, `handle` what bench_init gave.

        Raise Unverifiable(reason) when this host cannot run it. The default times the
        verification runner (its own input/output conversions included), never a reference
        interpreter: its timing says nothing about a device.
        """
        run = self.runner(record, bundle_dir)
        if getattr(run, "reference_interpreter", False):
            raise Unverifiable(f"{record.target} runs here only through a reference interpreter; its timing says nothing about a device")
        from .. import __version__

        return TimedSession(call=lambda i: run(samples[i % len(samples)]), runtime_version=f"mobilekit {__version__}",
                            notes=[f"timed through mobilekit's {record.target} verification runner (includes its input/output conversions)"],
                            handle=run)

    def bench_delegate(self, config: BenchConfig, session: TimedSession, runtime_log: str) -> tuple[str | None, list[str]]:
        """The delegate that really ran (and notes), given what the runtime logged while it ran."""
        return session.delegate, []

    def runtime_version(self, runtime: str) -> str:
        dist = self.runtime_dists.get(runtime)
        if dist:
            return package_version(dist) or "not installed"
        from .. import __version__

        return f"mobilekit {__version__}"

    def converter_versions(self) -> dict[str, str]:
        """Versions of the packages this target converts with (for the manifest and doctor)."""
        return {}

    def check_structure(self, record: ArtifactRecord, bundle_dir: Path, spec: Any) -> dict:
        """Checks that need no runtime; return facts to record, raise CheckError on failure."""
        return {}

    # -- mobilekit debug -------------------------------------------------------------------------
    # its tracer lowers the artifact again from the capture (gets program, spec, options, calibration)
    trace_needs_capture: ClassVar[bool] = False
    # its files keep no source tensor names: matched to torch by value, anchored on the fp32 file
    trace_by_value: ClassVar[bool] = False

    def tracer(self) -> Callable[..., Any] | None:
        """`trace(path, record, samples, **capture) -> mobilekit.debug.trace.Trace`: the artifact's
        own intermediate values from its runtime, or None when this target has no tracer."""
        return None

    def placement(self, path: Path, entry: dict) -> dict:
        """Where the artifact's ops would run on a device, from a tool that knows, labelled with
        its `source` (exact or an estimate); {} when there is none."""
        return {}

    # -- accuracy-aware fallback (`[compression] fallback = "auto"`) ----------------------------
    def keep_float(self, record: ArtifactRecord, bundle_dir: Path, work_dir: Path, calibration: Path | None,
                   options: Any, **context: Any) -> "KeepFloat | None":
        """How this target re-quantizes `record` with named layers left in float, or None when it
        cannot (the fallback then records that and leaves the artifact as it is). `context` holds
        `program`, the torch.export capture, for targets that quantize from it (ExecuTorch)."""
        return None


class KeepFloat:
    """A target's means to keep layers of one quantized artifact in float."""

    # what `region` is given: "artifact", the artifact tensor the debugger matched (ONNX, Core ML,
    # TFLite), or "torch", the torch node name (ExecuTorch: its quantizer works on the capture)
    names: ClassVar[str] = "artifact"

    def region(self, tensor: str) -> list[str]:
        """The layers (the target's own names) to leave in float so that `tensor`, an artifact
        tensor the debugger names, is computed and stored without quantization."""
        raise NotImplementedError

    def requantize(self, layers: list[str]) -> None:
        """Write the artifact again, in place, with `layers` left in float."""
        raise NotImplementedError


def take_keep_float(options: Any, config: Any, key: str) -> None:
    """`[compression] keep_float` into a quantizing target's own options (its `keep_float` field),
    at validation in the main process: the worker's job and the cache fingerprint carry it then.
    A list the target section sets itself wins."""
    names = list(getattr(getattr(config, "compression", None), "keep_float", None) or [])
    if names and hasattr(options, "keep_float") and not options.keep_float:
        options.keep_float = names


def _module_of(node) -> str:
    """The innermost module path a capture node was traced in ('' at the top)."""
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


def resolve_keep_float(graph: Any, names: list[str] | tuple, key: str = "compression.keep_float") -> list[str]:
    """The capture's node names for a `keep_float` list: a node name stands for itself, a module
    name (`features.0`) for every node traced inside that module. Names that are neither: one
    UserError that names them and a few valid ones. `graph`: a torch.fx Graph of the capture."""
    from ..errors import UserError

    nodes = [n for n in graph.nodes if n.op == "call_function"]
    by_name = {n.name for n in nodes}
    out, unknown = [], []
    for name in names:
        if name in by_name:
            out.append(name)
            continue
        inside = [n.name for n in nodes if _module_of(n) == name or _module_of(n).startswith(name + ".")]
        out.extend(inside) if inside else unknown.append(name)
    if unknown:
        modules = list(dict.fromkeys(m for m in (_module_of(n) for n in nodes) if m))
        raise UserError(f"{key}: {', '.join(map(repr, unknown))} names no node or module of the model",
                        hint=f"Give node names of the capture (e.g. {', '.join(n.name for n in nodes[:4])}) or module "
                             f"names (e.g. {', '.join(modules[:4])}); `mobilekit debug BUNDLE --config CONFIG` lists "
                             "every layer by node name.")
    return list(dict.fromkeys(out))


def capture_keep_float(program: str | Path, names: list[str] | tuple, key: str = "compression.keep_float") -> list[str]:
    """`resolve_keep_float` on the torch.export capture saved at `program` (a worker's job.program)."""
    return resolve_keep_float(capture_graph(program), names, key)


def capture_graph(program: str | Path) -> Any:
    import torch

    return torch.export.load(str(program)).graph


def fused_into(graph: Any, node: str, has_value: set[str] | dict) -> str | None:
    """The node whose value a converter kept for `node` when it fused it away (a conv folded with
    its batch norm: the file holds only the relu after them): the first node down the chain of
    single readers that has a value in the file, or None."""
    by_name = {n.name: n for n in graph.nodes}
    cur = by_name.get(node)
    for _ in range(8):
        if cur is None or len(cur.users) != 1:
            return None
        cur = next(iter(cur.users))
        if cur.name in has_value:
            return cur.name
    return None


def package_version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def options_dict(options: Any) -> dict:
    return _validate.to_dict(options)
