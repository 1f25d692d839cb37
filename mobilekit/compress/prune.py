"""Torch-level pruning, applied to the eager model before capture.

- "magnitude": global unstructured L1 pruning over conv and linear weights, made permanent
  (`torch.nn.utils.prune.remove`): the smallest `amount` of those weights become zeros, the
  model keeps its plain `weight` parameters (no `weight_orig`/`weight_mask`, which would double
  the exported size). Shapes and MACs stay the same: the win comes from sparse-aware compression
  downstream (Core ML sparse weights, zip), not from dense runtimes.
- "channels": structured, dependency-aware channel pruning with torch-pruning (MetaPruner +
  GroupMagnitudeImportance, the same ratio in every layer): channels are really removed, so
  params and MACs shrink for every runtime. Accuracy drops; fine-tune or distill afterwards
  (`mobilekit.compress.distill`).

The layers that produce the model's outputs (the final classifier) are always kept whole:
they are found by walking the autograd graph back from each output to the first conv/linear.

Light at import: torch and torch_pruning are imported inside the functions.
"""

from __future__ import annotations

import copy
import difflib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ConfigError, ConversionError
from .flops import ModelStats, as_torch_inputs, call, flatten, import_torch_pruning, stats, weight_modules

Method = Literal["none", "magnitude", "channels"]


def _k(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


@dataclass
class PruneConfig:
    method: Method = "none"
    amount: float = 0.5  # magnitude: fraction of weights zeroed; channels: fraction of channels removed per layer
    ignore: list[str] = field(default_factory=list)  # module names left alone (the final classifier always is)
    round_to: int | None = None  # channels: keep a multiple of this many channels per layer (e.g. 8 for NPUs)

    def check(self, key: str = "") -> None:
        if self.method not in ("none", "magnitude", "channels"):
            raise ConfigError(_k(key, "method"), f"expected one of 'none' | 'magnitude' | 'channels', got {self.method!r}")
        a = self.amount
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0.0 < a < 1.0:
            raise ConfigError(
                _k(key, "amount"),
                f"must be between 0 and 1 (exclusive), got {a!r}",
                hint="Give the fraction to remove, e.g. 0.5 for half.",
            )
        for i, name in enumerate(self.ignore):
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{_k(key, 'ignore')}[{i}]", f"must be a module name, got {name!r}")
        if self.round_to is not None:
            if isinstance(self.round_to, bool) or not isinstance(self.round_to, int) or self.round_to < 1:
                raise ConfigError(_k(key, "round_to"), f"must be a whole number >= 1, got {self.round_to!r}")
            if self.method == "magnitude":
                raise ConfigError(
                    _k(key, "round_to"),
                    "only applies to method 'channels' (magnitude pruning removes no channels)",
                    hint="Remove `round_to` or use method = 'channels'.",
                )

    @classmethod
    def from_dict(cls, data: dict, key: str = "prune") -> "PruneConfig":
        """Build from plain data (a TOML table), refusing unknown keys and bad values."""
        from .._validate import build

        return build(cls, data, key)


@dataclass
class PruneResult:
    model: Any  # the pruned copy (torch.nn.Module), same train/eval mode as the input
    method: str
    amount: float
    before: ModelStats
    after: ModelStats
    kept: list[str]  # modules left whole: the output layers plus `ignore`
    seconds: float

    @property
    def macs_ratio(self) -> float:
        return self.after.macs / self.before.macs if self.before.macs else 1.0

    @property
    def params_ratio(self) -> float:
        return self.after.params / self.before.params if self.before.params else 1.0

    def to_dict(self) -> dict:
        """Plain data for manifests, reports and the bench."""
        return {
            "method": self.method,
            "amount": self.amount,
            "kept": list(self.kept),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "params_ratio": round(self.params_ratio, 6),
            "macs_ratio": round(self.macs_ratio, 6),
            "seconds": round(self.seconds, 3),
        }


def prune(model: Any, example_inputs: Any, cfg: PruneConfig | dict | None = None, *, key: str = "prune") -> PruneResult:
    """Prune a copy of `model` as `cfg` says; `model` itself is not modified.

    example_inputs: a tensor, a tuple of tensors (positional args) or a dict (keyword args);
    numpy arrays are accepted. They are used to trace the model (dependencies, output layers)
    and to count MACs. `key` is where the config lives, for error messages.
    """
    import torch

    if cfg is None:
        cfg = PruneConfig()
    elif isinstance(cfg, dict):
        cfg = PruneConfig.from_dict(cfg, key)
    cfg.check(key)
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(key, f"pruning needs an eager torch.nn.Module, got {type(model).__name__}",
                          hint="Prune the model before torch.export (give a factory or the module, not a .pt2).")
    started = time.perf_counter()
    inputs = as_torch_inputs(example_inputs)
    before = stats(model, inputs)

    work = copy.deepcopy(model)
    was_training = work.training
    work.eval()  # tracing must not move BatchNorm running stats
    modules = dict(work.named_modules())
    for i, name in enumerate(cfg.ignore):
        if name not in modules:
            close = difflib.get_close_matches(name, [n for n in modules if n], n=3)
            hint = f"Did you mean {', '.join(repr(c) for c in close)}?" if close else "Use names from model.named_modules()."
            raise ConfigError(f"{key}.ignore[{i}]", f"the model has no module named {name!r}", hint=hint)
    outputs = output_layers(work, inputs)
    kept = list(dict.fromkeys(outputs + list(cfg.ignore)))

    if cfg.method == "magnitude":
        _magnitude(work, cfg.amount, kept)
    elif cfg.method == "channels":
        _channels(work, inputs, cfg, kept, key)
    work.train(was_training)
    after = stats(work, inputs)
    return PruneResult(work, cfg.method, cfg.amount, before, after, kept, time.perf_counter() - started)


# -- the output layers ---------------------------------------------------------------------------


def output_layers(model: Any, inputs: Any) -> list[str]:
    """Names of the conv/linear layers whose outputs reach a model output with no other conv/linear
    in between (the classifier; every head of a multi-output model). Found on the autograd graph
    of one forward pass; the model's parameters are left as they were."""
    import torch


    layers = weight_modules(model)
    made_by: dict[int, str] = {}  # id(grad_fn node) -> layer name
    nodes: list[Any] = []  # keeps the nodes alive, so ids stay unique
    order: list[str] = []

    def hook(name: str):
        def record(_m, _inp, out):
            if isinstance(out, torch.Tensor) and out.grad_fn is not None:
                nodes.append(out.grad_fn)
                made_by[id(out.grad_fn)] = name
            order.append(name)

        return record

    flags = [(p, p.requires_grad) for p in model.parameters()]
    handles = [m.register_forward_hook(hook(n)) for n, m in layers]
    try:
        for p, _ in flags:
            p.requires_grad_(True)
        with torch.enable_grad():
            result = call(model, inputs)
        found: list[str] = []
        seen: set[int] = set()
        stack = [t.grad_fn for t in flatten(result) if t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            if id(node) in made_by:
                found.append(made_by[id(node)])
                continue
            stack.extend(n for n, _ in node.next_functions)
    finally:
        for h in handles:
            h.remove()
        for p, flag in flags:
            p.requires_grad_(flag)
    if not found and order:
        found = [order[-1]]
    # in model order, for stable reports
    rank = {n: i for i, (n, _) in enumerate(layers)}
    return sorted(set(found), key=rank.__getitem__)


def _under(name: str, kept: list[str]) -> bool:
    return any(name == k or name.startswith(k + ".") for k in kept)


# -- magnitude -----------------------------------------------------------------------------------


def _magnitude(model: Any, amount: float, kept: list[str]) -> None:
    from torch.nn.utils import prune as tprune

    targets = [(m, "weight") for n, m in weight_modules(model) if not _under(n, kept)]
    if not targets:
        raise ConfigError("prune.ignore", "leaves no conv or linear layer to prune")
    tprune.global_unstructured(targets, pruning_method=tprune.L1Unstructured, amount=amount)
    for m, name in targets:
        tprune.remove(m, name)  # permanent: plain `weight` again, no mask buffer or hook


# -- channels ------------------------------------------------------------------------------------


def _channels(model: Any, inputs: Any, cfg: PruneConfig, kept: list[str], key: str) -> None:
    import torch


    tp = import_torch_pruning()
    modules = dict(model.named_modules())
    ignored = [modules[n] for n in kept]
    with torch.no_grad():
        shapes_before = [tuple(t.shape) for t in flatten(call(model, inputs))]
    try:
        pruner = tp.pruner.MetaPruner(
            model,
            inputs,
            importance=tp.importance.GroupMagnitudeImportance(p=2),
            pruning_ratio=cfg.amount,  # torch-pruning's `ch_sparsity`, renamed in 1.4
            ignored_layers=ignored,
            round_to=cfg.round_to,
        )
        pruner.step()
    except Exception as exc:
        raise ConversionError(
            "prune",
            f"torch-pruning could not prune channels: {type(exc).__name__}: {_first_line(exc)}",
            hint=f"Leave the failing part alone with `{key}.ignore`, or use method = 'magnitude'.",
        ) from None
    model.zero_grad(set_to_none=True)
    try:
        with torch.no_grad():
            shapes_after = [tuple(t.shape) for t in flatten(call(model, inputs))]
    except Exception as exc:
        raise ConversionError(
            "prune",
            f"the channel-pruned model no longer runs: {type(exc).__name__}: {_first_line(exc)}",
            hint=f"Code that hard-codes channel counts (view/reshape) cannot be pruned: list that module in `{key}.ignore`.",
        ) from None
    if shapes_after != shapes_before:
        raise ConversionError(
            "prune",
            f"channel pruning changed the output shapes from {shapes_before} to {shapes_after}",
            hint=f"List the layer that makes that output in `{key}.ignore`.",
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


__all__ = ["PruneConfig", "PruneResult", "prune", "output_layers"]
