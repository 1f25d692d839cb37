"""ExportConfig and its parts, read from `[tool.mobilekit]`, `mobilekit.toml` or a dict.

Unknown keys and wrong types are refused with the dotted key path. Each target's own section
(`[tool.mobilekit.tflite]`, …) is validated by that target's Options class, so this module
names no target.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import _validate
from .compress.distill import DistillConfig
from .compress.prune import PruneConfig
from .diff import DiffThresholds
from .errors import ConfigError, UserError
from .sweep.space import SweepConfig

DType = Literal["float32", "int64", "int32"]
Precision = Literal["fp32", "fp16", "int8"]


@dataclass
class Preprocessing:
    """How raw pixels become the model's input: x = (pixel * scale - mean) / std."""

    mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    std: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    scale: float = 1.0 / 255.0
    color: Literal["RGB", "BGR", "GRAY"] = "RGB"

    def check(self, key: str) -> None:
        for name in ("mean", "std"):
            for i, v in enumerate(getattr(self, name)):
                if not math.isfinite(v):
                    raise ConfigError(f"{key}.{name}[{i}]", f"must be a finite number, got {v}")
        if not math.isfinite(self.scale):
            raise ConfigError(f"{key}.scale", f"must be a finite number, got {self.scale}")
        if len(self.mean) != len(self.std):
            raise ConfigError(f"{key}.std", f"has {len(self.std)} values but mean has {len(self.mean)}")
        for i, s in enumerate(self.std):
            if not s > 0:
                raise ConfigError(f"{key}.std[{i}]", f"must be > 0, got {s}")
        if not self.scale > 0:
            raise ConfigError(f"{key}.scale", f"must be > 0, got {self.scale}")
        channels = 1 if self.color == "GRAY" else 3
        if len(self.mean) != channels:
            raise ConfigError(f"{key}.mean", f"needs {channels} values for color {self.color}, got {len(self.mean)}")


@dataclass
class InputConfig:
    name: str
    shape: list[int]
    dtype: DType = "float32"
    dynamic: list[int] = field(default_factory=list)  # indices of dims that may vary (e.g. [0] = batch)
    preprocessing: Preprocessing | None = None  # given => an image input, NCHW
    description: str = ""
    # [low, high) of an integer input's values (token ids: [0, vocab)); verification samples
    # cover it. Unset: the smallest nn.Embedding of the model, else [0, 2).
    range: list[int] | None = None

    def check(self, key: str) -> None:
        if not _IDENT.match(self.name):
            raise ConfigError(f"{key}.name", f"{self.name!r} is not a valid tensor name", hint="Use letters, digits and _.")
        if not self.shape:
            raise ConfigError(f"{key}.shape", "must have at least one dimension")
        for i, d in enumerate(self.shape):
            if d < 1:
                raise ConfigError(f"{key}.shape[{i}]", f"must be >= 1, got {d}", hint="Give an example size; mark it in `dynamic`.")
        numel = math.prod(self.shape)
        if numel > _MAX_ELEMENTS:
            raise ConfigError(f"{key}.shape", f"{self.shape} is {numel:,} elements per sample, more than mobilekit can verify in memory",
                              hint=f"Give an example size (at most {_MAX_ELEMENTS:,} elements) and mark varying dims in `dynamic`.")
        for i in self.dynamic:
            if not 0 <= i < len(self.shape):
                raise ConfigError(f"{key}.dynamic", f"dim {i} is outside the {len(self.shape)}-D shape")
        if self.range is not None:
            if self.dtype == "float32":
                raise ConfigError(f"{key}.range", "is for integer inputs (token ids)", hint="Remove it or set dtype = \"int64\".")
            if len(self.range) != 2 or self.range[0] >= self.range[1]:
                raise ConfigError(f"{key}.range", f"must be [low, high) with low < high, got {self.range}")
        if self.preprocessing is not None:
            if len(self.shape) != 4:
                raise ConfigError(f"{key}.shape", f"an image input must be 4-D NCHW, got {self.shape}")
            if self.shape[1] != len(self.preprocessing.mean):
                raise ConfigError(
                    f"{key}.shape",
                    f"has {self.shape[1]} channels but preprocessing has {len(self.preprocessing.mean)}",
                )
            if self.dtype != "float32":
                raise ConfigError(f"{key}.dtype", "an image input must be float32")


@dataclass
class OutputConfig:
    name: str
    labels: str | None = None  # a text file, one label a line
    description: str = ""

    def check(self, key: str) -> None:
        if not _IDENT.match(self.name):
            raise ConfigError(f"{key}.name", f"{self.name!r} is not a valid tensor name", hint="Use letters, digits and _.")


@dataclass
class Tolerance:
    """A user's changes to one precision class's verdict rule (mobilekit/verify/verdict.py).

    None keeps the rule's own limit; `max_abs`/`mean_abs` are absolute limits some users want on
    top of the scale-aware ones (off by default: they do not scale with the outputs).
    """

    min_snr_db: float | None = None
    min_cosine: float | None = None
    min_top1_agreement: float | None = None
    tie_margin: float | None = None
    max_abs: float | None = None
    mean_abs: float | None = None

    def check(self, key: str) -> None:
        for name, value in vars(self).items():
            if value is not None and not math.isfinite(value):
                raise ConfigError(f"{key}.{name}", f"must be a finite number, got {value}")
        for name in ("min_cosine", "min_top1_agreement"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{key}.{name}", f"must be between 0 and 1, got {value}")


@dataclass
class VerifyConfig:
    # 32 samples: enough that one top-1 flip of an int8 artifact is not the verdict (see verdict.py)
    samples: int = 32
    seed: int = 0
    inputs: str | None = None  # .npy / .npz of preprocessed model inputs; seeded random otherwise
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    # A model whose outputs cannot judge an artifact (constant, input-independent): export its
    # artifacts `unverified` instead of stopping with exit 2.
    allow_degenerate: bool = False

    def check(self, key: str) -> None:
        if self.samples < 1:
            raise ConfigError(f"{key}.samples", f"must be >= 1, got {self.samples}")
        for name, tol in self.tolerances.items():
            if name not in ("fp32", "fp16", "int8"):
                raise ConfigError(f"{key}.tolerances.{name}", "unknown precision", hint="Use fp32, fp16 or int8.")
            tol.check(f"{key}.tolerances.{name}")


@dataclass
class DataConfig:
    """Data for calibration or evaluation: a .npy/.npz file, an image folder, or `pkg.mod:callable`."""

    data: str | None = None
    limit: int | None = None


PRESETS = ("none", "fp16", "int8", "size", "speed")


@dataclass
class DistillSection(DistillConfig):
    """Knowledge distillation before capture; it runs when `data` is set. The student is the
    pruned source model, or `student` (`pkg.module:factory`); the teacher is the source."""

    data: str | None = None  # labelled training data: .npz with `labels`, image folder, or callable
    limit: int | None = None
    student: str | None = None


@dataclass
class CompressionConfig:
    """One recipe for every target. A preset picks each target's variants (its own `PRESETS`
    table); a target section that lists `variants` itself overrides the preset for that target."""

    preset: Literal["none", "fp16", "int8", "size", "speed"] = "none"
    prune: PruneConfig = field(default_factory=PruneConfig)  # torch level, before capture
    distill: DistillSection = field(default_factory=lambda: DistillSection())
    # "auto": an int8 artifact that fails its checks is re-quantized with the layers that add the
    # most error kept in float (ranked by `mobilekit debug`), until it passes or the rounds run out
    fallback: Literal["off", "auto"] = "off"
    fallback_max_rounds: int = 6
    # torch node names (as `mobilekit debug` lists layers) or module names (`features.0`) every
    # target that quantizes leaves in float: ONNX nodes_to_exclude, TFLite selective quantization,
    # the ExecuTorch XNNPACK quantizer's filter, Core ML's op_name_configs (weights); recorded in
    # each artifact's `compression`
    keep_float: list[str] = field(default_factory=list)

    def check(self, key: str) -> None:
        for i, name in enumerate(self.keep_float):
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{key}.keep_float[{i}]", f"is {name!r}: must be a node or module name",
                                  hint="List torch node names (`mobilekit debug` shows them) or module names, e.g. [\"relu\", \"features.0\"].")
            if name in self.keep_float[:i]:
                raise ConfigError(f"{key}.keep_float[{i}]", f"{name!r} is listed twice")
        if not 1 <= self.fallback_max_rounds <= 64:
            raise ConfigError(f"{key}.fallback_max_rounds", f"is {self.fallback_max_rounds}: must be 1 to 64",
                              hint="Each round keeps one more layer in float; 6 is the default.")
        d = self.distill
        if d.student and not d.data:
            raise ConfigError(f"{key}.distill.student", "a student needs training: `distill.data` is not set",
                              hint="Set `compression.distill.data` to labelled training data.")
        if d.data and not d.student and self.prune.method == "none":
            raise ConfigError(f"{key}.distill", "there is no student: `prune.method` is 'none' and no `student` is given",
                              hint="Set `compression.prune.method = \"channels\"` (the pruned model is the student) or `distill.student`.")


@dataclass
class Budgets:
    """Limits every artifact must meet; a broken one fails the export (exit 1), one line each."""

    max_metric_drop: float | None = None  # points of the task metric vs torch (1.0 = one point of top-1)
    max_size_mb: float | None = None
    max_latency_ms: float | None = None  # host p50, measured while verifying

    def check(self, key: str) -> None:
        for name in ("max_metric_drop", "max_size_mb", "max_latency_ms"):
            value = getattr(self, name)
            if value is not None and (value < 0 or math.isnan(value)):
                raise ConfigError(f"{key}.{name}", f"must be >= 0, got {value}")


@dataclass
class TranslationConfig:
    """task = "translation": the tokenizer, the fixed lengths, and what decoding is checked on."""

    tokenizer: str | None = None  # a Hugging Face tokenizers JSON (BPE per mobilekit.tasks.tokenizer)
    max_source_len: int | None = None  # must match the model's; None = the model's own
    max_target_len: int | None = None
    data: str | None = None  # `pkg.module:callable` → [(source text, reference text)], held out
    samples: int = 100  # sentences greedy decoding is compared on, per artifact pair
    golden: int = 8  # sentences written as golden vectors for device tests
    min_token_exact: float = 1.0  # fp32 artifacts: share of sentences decoded exactly as torch does
    min_token_exact_compressed: float = 0.8  # fp16 / int8 artifacts

    def check(self, key: str) -> None:
        if self.samples < 1:
            raise ConfigError(f"{key}.samples", f"must be >= 1, got {self.samples}")
        if not 0 <= self.golden <= self.samples:
            raise ConfigError(f"{key}.golden", f"must be between 0 and samples ({self.samples}), got {self.golden}")
        for name in ("min_token_exact", "min_token_exact_compressed"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{key}.{name}", f"must be between 0 and 1, got {getattr(self, name)}")
        for name in ("max_source_len", "max_target_len"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ConfigError(f"{key}.{name}", f"must be >= 2, got {value}")


@dataclass
class ExportConfig:
    name: str = "model"
    version: str = "1.0.0"
    author: str = ""
    license: str = ""
    description: str = ""
    task: str = "generic"  # a name in the task registry (mobilekit/tasks/__init__.py)
    source: str | None = None  # "pkg.module:factory", or a .pt2 / .pt / .onnx file
    weights: str | None = None  # state_dict (.pt/.pth) or .safetensors loaded into the factory's model
    trust_pickle: bool = False  # allow full unpickling of .pt files (trusted files only)
    inputs: list[InputConfig] = field(default_factory=list)
    outputs: list[OutputConfig] = field(default_factory=list)
    targets: list[str] = field(default_factory=lambda: ["onnx"])
    output_dir: str = "dist"
    timeout: float = 1800.0  # seconds a target's worker may run before it is stopped
    timeouts: dict[str, float] = field(default_factory=dict)  # per target, overriding `timeout`
    parallel: bool = True
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    calibration: DataConfig = field(default_factory=DataConfig)
    eval: DataConfig = field(default_factory=DataConfig)
    budgets: Budgets = field(default_factory=Budgets)
    compression: CompressionConfig = field(default_factory=CompressionConfig)
    diff: DiffThresholds = field(default_factory=DiffThresholds)  # for `mobilekit diff`
    translation: TranslationConfig = field(default_factory=TranslationConfig)  # task = "translation"
    latency_runs: int = 20  # host runs per artifact for the latency figure (0 = not measured)
    sweep: SweepConfig = field(default_factory=SweepConfig)  # `mobilekit sweep`; ignored by export
    # One section per target (`[tool.mobilekit.onnx]`), validated by the target's Options class.
    target_options: dict[str, Any] = field(default_factory=dict)
    # Where relative paths in the config are resolved from (the config file's folder).
    base_dir: str = "."

    def check(self, key: str) -> None:
        from .targets import base as targets

        if len(self.name.encode()) > 200:  # the staging folder adds ~35 bytes to a 255-byte file name limit
            raise ConfigError("name", f"is {len(self.name.encode())} bytes long; a bundle name may have at most 200", hint="Use a shorter `name` (or --name).")
        if not _NAME.match(self.name):
            raise ConfigError("name", f"{self.name!r} is not usable as a folder name", hint="Use letters, digits, '-', '_' and '.'.")
        from . import tasks

        if self.task not in tasks.names():
            raise ConfigError("task", f"unknown task {self.task!r}", hint=f"Choose from {', '.join(tasks.names())}.")
        if not self.targets:
            raise ConfigError("targets", "is empty", hint=f"Choose from {', '.join(targets.names())}.")
        for i, t in enumerate(self.targets):
            if t not in targets.names():
                raise ConfigError(f"targets[{i}]", f"unknown target {t!r}", hint=f"Choose from {', '.join(targets.names())}.")
        if len(set(self.targets)) != len(self.targets):
            raise ConfigError("targets", "lists a target twice")
        if self.budgets.max_metric_drop is not None and not self.eval.data:
            raise ConfigError("budgets.max_metric_drop", "needs evaluation data to measure the metric",
                              hint="Set `eval.data` to a labelled dataset.")
        if self.budgets.max_latency_ms is not None and self.latency_runs < 1:
            raise ConfigError("latency_runs", "must be >= 1 when budgets.max_latency_ms is set")
        if self.task == "translation":
            # an `hf:` folder carries its own tokenizer.json; every other source names one
            hf_folder = isinstance(self.source, str) and self.source.startswith("hf:")
            for name in ("data",) if hf_folder else ("tokenizer", "data"):
                if not getattr(self.translation, name):
                    raise ConfigError(f"translation.{name}", "is required for task = \"translation\"",
                                      hint="Set the tokenizer JSON and the held-out sentences: `pkg.module:callable` giving "
                                           "(source, reference) pairs, or a UTF-8 text file, one `source<TAB>reference` per line.")
        names = [i.name for i in self.inputs] + [o.name for o in self.outputs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError("inputs", f"tensor name {sorted(dup)[0]!r} is used twice")
        for key_, value in [("timeout", self.timeout)] + [(f"timeouts.{k}", v) for k, v in self.timeouts.items()]:
            if not value > 0 or math.isinf(value):
                raise ConfigError(key_, f"must be a positive number of seconds, got {value}")
        for k in self.timeouts:
            if k not in self.targets:
                raise ConfigError(f"timeouts.{k}", f"names a target that is not in `targets` ({', '.join(self.targets)})")
        parsed = {}
        for tname in list(self.target_options) + [t for t in self.targets if t not in self.target_options]:
            if tname not in targets.names():
                raise ConfigError(tname, "unknown key", hint=f"Known target sections: {', '.join(targets.names())}.")
            target = targets.get(tname)
            section = self.target_options.get(tname, {})
            if isinstance(section, dict) and "variants" not in section:
                preset = target.presets.get(self.compression.preset) if self.compression.preset != "none" else None
                if preset:
                    section = {**section, "variants": list(preset)}
            parsed[tname] = target.parse_options(section, tname)
        self.target_options = parsed

    # -- helpers ---------------------------------------------------------------------------
    def path(self, value: str) -> Path:
        """Resolve a path from the config against the folder the config came from."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def timeout_for(self, target: str) -> float:
        return self.timeouts.get(target, self.timeout)

    def options(self, target: str) -> Any:
        return self.target_options[target]

    def to_dict(self) -> dict:
        d = _validate.to_dict(self)
        d.pop("base_dir", None)
        return d


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_ELEMENTS = 1 << 28  # 1 GiB of float32 per sample; verification holds dozens of samples
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_FIELDS = {f.name for f in dataclasses.fields(ExportConfig)} - {"target_options", "base_dir"}


def from_dict(data: dict, *, base_dir: str | Path = ".") -> ExportConfig:
    """Build an ExportConfig from plain data; target sections are split off by name."""
    if not isinstance(data, dict):
        raise ConfigError("(top)", f"expected a table, got {type(data).__name__}")
    from .targets import base as targets

    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    plain = {k: v for k, v in data.items() if k in _FIELDS or k not in targets.names()}
    sections = {k: v for k, v in data.items() if k in targets.names() and k not in _FIELDS}
    for name, section in sections.items():
        if not isinstance(section, dict):
            raise ConfigError(name, f"expected a table, got {type(section).__name__}")
    plain["target_options"] = sections
    plain["base_dir"] = str(base_dir)
    return _validate.build(ExportConfig, plain)


def load(path: str | Path | None = None, *, cwd: str | Path = ".") -> dict:
    """Read raw config data: the given file, else `mobilekit.toml`, else pyproject's `[tool.mobilekit]`.

    Returns {} when nothing is found; the caller merges overrides and calls `from_dict`.
    """
    import tomllib

    cwd = Path(cwd)
    candidates = [Path(path)] if path else [cwd / "mobilekit.toml", cwd / "pyproject.toml"]
    for p in candidates:
        if not p.exists():
            if path:
                raise UserError(f"config file {p} does not exist", hint="Check the path given to --config.")
            continue
        if p.is_dir():
            raise UserError(f"config path {p} is a folder", hint="Give a .toml file.")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{p} is not valid TOML: {exc}", hint="Fix the syntax at that line.") from None
        if p.name == "pyproject.toml":
            tool = data.get("tool", {})
            if not isinstance(tool, dict):
                raise UserError(f"{p}: `tool` is a {type(tool).__name__}, not a table", hint="Write it as [tool.mobilekit] sections.")
            data = tool.get("mobilekit")
            if data is None:
                if path:
                    raise UserError(f"{p} has no [tool.mobilekit] section", hint="Add one, or pass a mobilekit.toml.")
                continue
            if not isinstance(data, dict):
                raise UserError(f"{p}: `tool.mobilekit` is a {type(data).__name__}, not a table", hint="Write it as a [tool.mobilekit] section with keys.")
        return {"__file__": str(p), **data}
    return {}


def merge(base: dict, overrides: dict) -> dict:
    """Overrides win; nested tables merge key by key; None means 'not given'."""
    out = dict(base)
    for k, v in overrides.items():
        if v is None:
            continue
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def resolve(config: ExportConfig | dict | str | Path | None = None, overrides: dict | None = None) -> ExportConfig:
    """The one way in: any config form plus overrides → a validated ExportConfig."""
    if isinstance(config, ExportConfig):
        if not overrides:
            return config
        flat = config.to_dict()
        flat.update(flat.pop("target_options"))
        config = flat | {"base_dir": config.base_dir}
    if config is None or isinstance(config, (str, Path)):
        raw = load(config)
    else:
        raw = dict(config)
    base_dir = raw.pop("base_dir", None)
    source_file = raw.pop("__file__", None)
    if base_dir is None:
        base_dir = str(Path(source_file).parent) if source_file else "."
    return from_dict(merge(raw, overrides or {}), base_dir=base_dir)
