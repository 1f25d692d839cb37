"""ModelSpec: what the model takes and gives, in plain data that workers and apps can read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .config import ExportConfig
from .errors import UserError


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: list[int]
    dtype: str = "float32"
    dynamic: list[int] = field(default_factory=list)
    preprocessing: dict | None = None  # mean/std/scale/color for image inputs
    labels: list[str] | None = None
    labels_path: str | None = None  # where the bundle keeps them ("assets/labels.txt")
    description: str = ""
    range: list[int] | None = None  # [low, high) of an integer input's values

    @property
    def is_image(self) -> bool:
        return self.preprocessing is not None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    version: str
    task: str
    author: str
    license: str
    description: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    @property
    def labels(self) -> list[str] | None:
        for o in self.outputs:
            if o.labels:
                return o.labels
        return None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        d = dict(d)
        d["inputs"] = [TensorSpec(**t) for t in d["inputs"]]
        d["outputs"] = [TensorSpec(**t) for t in d["outputs"]]
        return cls(**d)


def read_labels(path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"labels file {path} does not exist", hint="Fix `outputs[].labels` in the config.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"labels file {path} cannot be read: {exc}", hint="Give a UTF-8 text file, one label a line.") from None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise UserError(f"labels file {path} is empty", hint="Write one label a line.")
    return labels


def from_config(cfg: ExportConfig, output_shapes: dict[str, list[int]] | None = None) -> ModelSpec:
    """The spec from the config; output shapes come from running the model once."""
    inputs = [
        TensorSpec(
            name=i.name,
            shape=list(i.shape),
            dtype=i.dtype,
            dynamic=list(i.dynamic),
            preprocessing=asdict(i.preprocessing) if i.preprocessing else None,
            description=i.description,
            range=list(i.range) if i.range else None,
        )
        for i in cfg.inputs
    ]
    outputs = []
    shapes = output_shapes or {}
    for o in cfg.outputs:
        labels = read_labels(cfg.path(o.labels)) if o.labels else None
        outputs.append(
            TensorSpec(
                name=o.name,
                shape=list(shapes.get(o.name, [])),
                labels=labels,
                labels_path="assets/labels.txt" if labels else None,
                description=o.description,
            )
        )
    return ModelSpec(
        name=cfg.name,
        version=cfg.version,
        task=cfg.task,
        author=cfg.author,
        license=cfg.license,
        description=cfg.description,
        inputs=inputs,
        outputs=outputs,
    )


def with_output_shapes(spec: ModelSpec, shapes: list[list[int]], dtypes: list[str]) -> ModelSpec:
    outs = []
    for i, (shape, dtype) in enumerate(zip(shapes, dtypes)):
        base = spec.outputs[i] if i < len(spec.outputs) else TensorSpec(name=f"output_{i}", shape=[])
        if base.labels and (not shape or shape[-1] != len(base.labels)):  # a shifted label list mislabels every class
            raise UserError(f"the labels file of output {base.name!r} has {len(base.labels)} labels but the output has "
                            f"{shape[-1] if shape else 'no'} values per sample (shape {list(shape)})",
                            hint="Write one label a line, one line per class, in class-index order.")
        outs.append(TensorSpec(**{**asdict(base), "shape": list(shape), "dtype": dtype}))
    return ModelSpec(**{**asdict(spec), "inputs": spec.inputs, "outputs": outs})


def describe(spec: ModelSpec) -> dict[str, Any]:
    """The metadata every target stores natively (ONNX metadata_props, TFLite, Core ML)."""
    meta = {
        "name": spec.name,
        "version": spec.version,
        "author": spec.author,
        "license": spec.license,
        "description": spec.description,
        "task": spec.task,
    }
    return meta
