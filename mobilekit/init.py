"""`mobilekit init`: a commented config and a CI workflow for a model repo, in one step.

Nothing is overwritten without `force`: an existing `[tool.mobilekit]` section, mobilekit.toml
or workflow file is refused with the path and the flag that would replace it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError

WORKFLOW = Path(".github/workflows/mobilekit.yml")


# the three a new repo's CI installs quickly; ExecuTorch is one --target away
DEFAULT_TARGETS = ("onnx", "tflite", "coreml")


@dataclass
class InitAnswers:
    name: str
    factory: str
    input_shape: list[int]
    task: str = "image_classification"
    targets: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    labels: str | None = None
    weights: str | None = None
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])


def templates_dir() -> Path:
    here = Path(__file__).resolve()
    for cand in (here.parents[1] / "templates", here.parent / "templates"):
        if cand.is_dir():
            return cand
    raise UserError("mobilekit's templates folder is missing from this installation", hint="Reinstall mobilekit.")


def _toml_list(values) -> str:
    return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else repr(v) for v in values) + "]"


def config_text(a: InitAnswers, prefix: str) -> str:
    """The config table; `prefix` is "tool.mobilekit." for pyproject.toml and "" for mobilekit.toml."""
    head = f"[{prefix[:-1]}]" if prefix else ""
    image = a.task == "image_classification" and len(a.input_shape) == 4
    lines = [
        "# mobilekit: export this model to ONNX, TFLite and Core ML (`mobilekit export`).",
        "# Unknown keys are refused; `mobilekit export --help` lists the flags that override these.",
        head,
        f'name = "{a.name}"                 # the bundle folder: dist/<name>/',
        'version = "1.0.0"',
        f'task = "{a.task}"',
        f'source = "{a.factory}"   # a function returning the nn.Module',
    ]
    if a.weights:
        lines.append(f'weights = "{a.weights}"   # state_dict or .safetensors loaded into it')
    lines += [
        f"targets = {_toml_list(a.targets)}",
        'output_dir = "dist"',
        "",
        f"[[{prefix}inputs]]",
        'name = "image"' if image else 'name = "input"',
        f"shape = {_toml_list(a.input_shape)}        # one example shape; list dynamic dims in `dynamic`",
    ]
    if image:
        lines += [
            f"[{prefix}inputs.preprocessing]            # x = (pixel * scale - mean) / std, RGB",
            f"mean = {_toml_list(a.mean)}",
            f"std = {_toml_list(a.std)}",
        ]
    lines += ["", f"[[{prefix}outputs]]", 'name = "logits"' if image else 'name = "output"']
    if a.labels:
        lines.append(f'labels = "{a.labels}"    # one label a line')
    lines += [
        "",
        f"[{prefix}compression]",
        'preset = "fp16"                 # none | fp16 | int8 | size | speed (int8/size need [calibration] data)',
        "",
        f"[{prefix}calibration]",
        '# data = "calib/"               # images (one folder per label), a .npy/.npz, or pkg.module:function',
        "",
        f"[{prefix}budgets]               # a broken budget fails the export (exit 1)",
        "# max_metric_drop = 1.0         # points of top-1 against the torch model (needs [eval] data)",
        "# max_size_mb = 10.0",
    ]
    return "\n".join(line for line in lines if line is not None) + "\n"


def _strip_section(text: str, prefix: str) -> str:
    """Remove every `[tool.mobilekit…]` table (for --force)."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        m = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            skipping = m.group(1) == prefix[:-1] or m.group(1).startswith(prefix)
        if not skipping:
            out.append(line)
    return "".join(out).rstrip() + "\n"


def _extras() -> set[str]:
    """The package's extras, from its installed metadata (none known when it is not installed)."""
    from importlib import metadata

    try:
        return set(metadata.metadata("mobilekit").get_all("Provides-Extra") or [])
    except metadata.PackageNotFoundError:
        return set()


def check_targets(targets: list[str]) -> None:
    from .targets import base

    known = base.names()
    for t in targets:
        if t not in known:
            raise UserError(f"--target {t}: no such target", hint=f"Choose from: {', '.join(known)}.")


def init(repo: Path, answers: InitAnswers, *, config_file: str = "pyproject", force: bool = False) -> list[Path]:
    repo = Path(repo)
    # Check everything before writing anything.
    check_targets(answers.targets)
    wf = repo / WORKFLOW
    if config_file == "pyproject":
        path = repo / "pyproject.toml"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        has_section = re.search(r"^\s*\[\[?tool\.mobilekit[\].]", text, re.M) is not None
        if has_section and not force:
            raise UserError(f"{path} already has a [tool.mobilekit] section", hint="Edit it, or pass --force to replace it.")
    else:
        path = repo / "mobilekit.toml"
        if path.exists() and not force:
            raise UserError(f"{path} already exists", hint="Edit it, or pass --force to replace it.")
    if wf.exists() and not force:
        raise UserError(f"{wf} already exists", hint="Pass --force to replace it.")

    if config_file == "pyproject":
        if has_section:
            text = _strip_section(text, "tool.mobilekit.")
        sep = "\n" if text and not text.endswith("\n\n") else ""
        path.write_text(text + sep + config_text(answers, "tool.mobilekit."), encoding="utf-8")
    else:
        path.write_text(config_text(answers, ""), encoding="utf-8")
    written = [path]
    extras = sorted(set(answers.targets) & _extras())  # a target with its own extra installs it in CI
    text = (templates_dir() / "ci" / "github-actions.yml").read_text()
    text = text.replace("{{extras}}", ",".join(extras + ["report"])).replace("{{name}}", answers.name)
    text = text.replace("{{bundle}}", f"dist/{answers.name}")
    wf.parent.mkdir(parents=True, exist_ok=True)
    wf.write_text(text)
    written.append(wf)
    return written
