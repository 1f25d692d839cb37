"""Knowledge distillation: train a (pruned, smaller) student against a teacher's soft targets.

loss = alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − alpha) · CE(student, labels)

Classes are on dim 1 of the outputs (classifier logits (N, C); dense heads (N, C, H, W) work too).
The teacher runs in eval mode once over the training set (its logits are cached when they fit in
256 MB); the student trains with AdamW and a cosine learning-rate decay, on a copy: the models
passed in are not modified. Runs are deterministic for a seed on a given machine and thread count
(the seed fixes the student's RNG-dependent layers and the batch order; the caller's global RNG
state is restored afterwards).

Light at import: torch and numpy are imported inside the functions.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UserError
from .flops import call


def _k(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


@dataclass
class DistillConfig:
    temperature: float = 4.0
    alpha: float = 0.9  # weight of the soft-target (teacher) loss; 1 − alpha goes to the labels
    epochs: int = 10
    lr: float = 2e-3  # peak AdamW learning rate, decayed to 0 by a cosine schedule
    batch_size: int = 64
    seed: int = 0

    def check(self, key: str = "") -> None:
        def number(value: Any) -> bool:
            return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)

        if not number(self.temperature) or not self.temperature > 0:
            raise ConfigError(_k(key, "temperature"), f"must be > 0, got {self.temperature!r}", hint="Typical values are 2 to 8.")
        if not number(self.alpha) or not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(_k(key, "alpha"), f"must be between 0 and 1, got {self.alpha!r}",
                              hint="It is the weight of the teacher's soft targets; 1 − alpha weighs the labels.")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(_k(key, name), f"must be a whole number >= 1, got {v!r}")
        if not number(self.lr) or not self.lr > 0:
            raise ConfigError(_k(key, "lr"), f"must be > 0, got {self.lr!r}", hint="Try 1e-3.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(_k(key, "seed"), f"must be a whole number, got {self.seed!r}")

    @classmethod
    def from_dict(cls, data: dict, key: str = "distill") -> "DistillConfig":
        from .._validate import build

        return build(cls, data, key)


@dataclass
class DistillResult:
    model: Any  # the trained student copy, in eval mode
    teacher_top1: float | None  # on eval_data (None without eval_data)
    student_top1_before: float | None
    student_top1: float | None
    epochs: int
    losses: list[float]  # mean training loss per epoch
    seconds: float  # training time (evaluation excluded)
    config: DistillConfig
    prune: Any = None  # the PruneResult when distill_from_config pruned the teacher to make the student
    saved_to: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def top1_drop(self) -> float | None:
        if self.teacher_top1 is None or self.student_top1 is None:
            return None
        return self.teacher_top1 - self.student_top1

    def to_dict(self) -> dict:
        from .._validate import to_dict

        r = lambda v: None if v is None else round(v, 6)  # noqa: E731
        out = {
            "teacher_top1": r(self.teacher_top1),
            "student_top1_before": r(self.student_top1_before),
            "student_top1": r(self.student_top1),
            "top1_drop": r(self.top1_drop),
            "epochs": self.epochs,
            "losses": [round(v, 6) for v in self.losses],
            "seconds": round(self.seconds, 3),
            "config": to_dict(self.config),
        }
        if self.prune is not None:
            out["prune"] = self.prune.to_dict()
        if self.saved_to:
            out["saved_to"] = self.saved_to
        return out


# -- data ----------------------------------------------------------------------------------------


def _as_data(data: Any, key: str) -> tuple[tuple, Any]:
    """(inputs as a tuple of tensors, labels tensor or None) from (inputs, labels) or a Dataset."""
    import numpy as np
    import torch

    if hasattr(data, "inputs") and hasattr(data, "labels") and isinstance(data.inputs, dict):  # mobilekit.data.Dataset
        inputs, labels = tuple(data.inputs.values()), data.labels
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, labels = data
        inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    else:
        raise UserError(f"{key}: expected (inputs, labels), got {type(data).__name__}",
                        hint="Pass a tuple of an inputs array (N, ...) and an int labels array (N,).")

    def tensor(x: Any, what: str) -> Any:
        if isinstance(x, torch.Tensor):
            return x.detach().cpu()
        try:
            return torch.from_numpy(np.ascontiguousarray(np.asarray(x)))
        except (TypeError, ValueError) as exc:
            raise UserError(f"{key}: {what} is not an array ({exc})", hint="Give numpy arrays or tensors.") from None

    xs = tuple(tensor(x, "inputs") for x in inputs)
    n = len(xs[0])
    if n == 0:
        raise UserError(f"{key}: has no samples", hint="Give at least one batch of training data.")
    for x in xs:
        if len(x) != n:
            raise UserError(f"{key}: inputs have different lengths ({len(x)} and {n})", hint="Give one row per sample in every input.")
    y = None
    if labels is not None:
        y = tensor(labels, "labels")
        if y.is_floating_point() or y.dtype == torch.bool:
            raise UserError(f"{key}: labels must be integer class indices, got {y.dtype}", hint="Give labels as an int array.")
        y = y.long()
        if len(y) != n:
            raise UserError(f"{key}: {n} inputs but {len(y)} labels", hint="Give one label per sample.")
    xs = tuple(x.float() if x.dtype == torch.float64 else x for x in xs)
    return xs, y


def _logits(out: Any, key: str) -> Any:
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise UserError(f"{key}: the model returned {type(out).__name__}; distillation needs logits (a tensor)",
                    hint="Wrap the model so forward() returns the class logits.")


def _predict(model: Any, xs: tuple, batch: int) -> Any:
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(xs[0]), batch):
            outs.append(_logits(call(model, tuple(x[i : i + batch] for x in xs)), "model"))
    return torch.cat(outs)


def top1(model: Any, data: Any, batch_size: int = 256) -> float:
    """Top-1 accuracy of `model` (run in eval mode, then restored) on (inputs, labels)."""
    xs, y = _as_data(data, "eval_data")
    if y is None:
        raise UserError("eval_data: has no labels", hint="Give (inputs, labels).")
    was = model.training
    model.eval()
    try:
        pred = _predict(model, xs, batch_size).argmax(1)
    finally:
        model.train(was)
    return float((pred == y).float().mean())


# -- training ------------------------------------------------------------------------------------


def distill(
    student: Any,
    teacher: Any,
    train_data: Any,
    cfg: DistillConfig | dict | None = None,
    eval_data: Any = None,
    progress: bool = True,
    *,
    key: str = "distill",
) -> DistillResult:
    """Train a copy of `student` to match `teacher` (soft targets) and the labels.

    train_data / eval_data: (inputs, labels) with inputs an array/tensor (N, ...) or a tuple of
    them for a multi-input model, labels int (N,) (labels may be None when alpha == 1); a
    `mobilekit.data.Dataset` works too. progress: a rich bar on a terminal, plain lines
    (stderr) otherwise; False for none.
    """
    import torch
    import torch.nn.functional as F

    if cfg is None:
        cfg = DistillConfig()
    elif isinstance(cfg, dict):
        cfg = DistillConfig.from_dict(cfg, key)
    cfg.check(key)
    for name, m in (("student", student), ("teacher", teacher)):
        if not isinstance(m, torch.nn.Module):
            raise UserError(f"{key}: the {name} must be an eager torch.nn.Module, got {type(m).__name__}",
                            hint="Give the model (or its factory), not an exported program.")
    xs, y = _as_data(train_data, "train_data")
    if y is None and cfg.alpha < 1.0:
        raise UserError("train_data: has no labels but alpha < 1 weighs a label loss",
                        hint=f"Give labels, or set `{key}.alpha` = 1 to learn from the teacher alone.")
    n = len(xs[0])
    T, alpha = float(cfg.temperature), float(cfg.alpha)

    student = copy.deepcopy(student)
    teacher_was = teacher.training
    teacher.eval()
    try:
        teacher_top1 = top1(teacher, eval_data) if eval_data is not None else None
        before = top1(student, eval_data) if eval_data is not None else None

        # the teacher's logits, once (no augmentation here, so they are the same every epoch)
        with torch.no_grad():
            probe = _logits(call(teacher, tuple(x[:2] for x in xs)), "teacher")
            was = student.training
            student.eval()
            s_probe = _logits(call(student, tuple(x[:2] for x in xs)), "student")
            student.train(was)
        if s_probe.shape != probe.shape:
            raise UserError(f"{key}: the student's output {tuple(s_probe.shape)} differs from the teacher's {tuple(probe.shape)}",
                            hint="The student must predict the same classes as the teacher.")
        cache_bytes = n * probe[0].numel() * 4
        cached = _predict(teacher, xs, 256) if cache_bytes <= 256 * 2**20 else None
        if y is not None:
            classes = probe.shape[1]
            if int(y.min()) < 0 or int(y.max()) >= classes:
                raise UserError(f"train_data: labels run from {int(y.min())} to {int(y.max())} but the model has {classes} classes",
                                hint="Give class indices 0..C-1.")

        steps_per_epoch = sum(1 for i in range(0, n, cfg.batch_size) if min(cfg.batch_size, n - i) >= 2) or 1
        total = cfg.epochs * steps_per_epoch
        bar = _bar(progress, total)
        losses: list[float] = []
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            gen = torch.Generator().manual_seed(cfg.seed)
            params = [p for p in student.parameters()]
            for p in params:
                p.requires_grad_(True)
            opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
            student.train()
            try:
                for epoch in range(cfg.epochs):
                    perm = torch.randperm(n, generator=gen)
                    run, count = 0.0, 0
                    for i in range(0, n, cfg.batch_size):
                        b = perm[i : i + cfg.batch_size]
                        if len(b) < 2 and n >= 2:  # BatchNorm cannot train on one sample
                            continue
                        xb = tuple(x[b] for x in xs)
                        out = _logits(call(student, xb), "student")
                        if cached is not None:
                            t_out = cached[b]
                        else:
                            with torch.no_grad():
                                t_out = _logits(call(teacher, xb), "teacher")
                        loss = out.new_zeros(())
                        if alpha > 0:
                            log_p_s = F.log_softmax(out / T, dim=1)
                            log_p_t = F.log_softmax(t_out / T, dim=1)
                            kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(1).mean()
                            loss = loss + alpha * T * T * kl
                        if alpha < 1:
                            loss = loss + (1 - alpha) * F.cross_entropy(out, y[b])
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        sched.step()
                        run += float(loss.detach()) * len(b)
                        count += len(b)
                        bar.step(epoch, float(loss.detach()))
                    losses.append(run / max(count, 1))
                    bar.epoch(epoch, cfg.epochs, losses[-1])
            finally:
                bar.close()
                opt.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - started
        student.eval()
        after = top1(student, eval_data) if eval_data is not None else None
    finally:
        teacher.train(teacher_was)
    return DistillResult(student, teacher_top1, before, after, cfg.epochs, losses, seconds, cfg)


class _Bar:
    def step(self, epoch: int, loss: float) -> None: ...
    def epoch(self, epoch: int, epochs: int, loss: float) -> None: ...
    def close(self) -> None: ...


class _Plain(_Bar):
    def __init__(self):
        self.t0 = time.perf_counter()

    def epoch(self, epoch: int, epochs: int, loss: float) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] distill epoch {epoch + 1}/{epochs}: loss {loss:.4f}", file=sys.stderr, flush=True)


class _Rich(_Bar):
    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          TimeRemainingColumn(), console=Console(stderr=True), transient=False)
        self.p.start()
        self.task = self.p.add_task("distill", total=total)

    def step(self, epoch: int, loss: float) -> None:
        self.p.update(self.task, advance=1, description=f"distill epoch {epoch + 1} loss {loss:.4f}")

    def epoch(self, epoch: int, epochs: int, loss: float) -> None:
        self.p.console.print(f"distill epoch {epoch + 1}/{epochs}: loss {loss:.4f}", highlight=False)

    def close(self) -> None:
        self.p.stop()


def _bar(progress: bool, total: int) -> _Bar:
    if not progress:
        return _Bar()
    if sys.stderr.isatty():
        return _Rich(total)
    return _Plain()


# -- the CLI's entry point -----------------------------------------------------------------------


def distill_from_config(
    teacher: Any,
    train_data: Any,
    cfg: DistillConfig | dict | None = None,
    *,
    student: Any = None,
    prune_cfg: Any = None,
    example_inputs: Any = None,
    eval_data: Any = None,
    out: str | Path | None = None,
    dynamic_batch: bool = False,
    base_dir: str | Path = ".",
    progress: bool = True,
) -> DistillResult:
    """What `mobilekit distill` runs: make (or take) a student, distill it, optionally save it.

    teacher: an nn.Module (the config's `source`, loaded by mobilekit.source).
    student: an nn.Module, a `pkg.module:factory` string, or None to prune the teacher with
      `prune_cfg` (a PruneConfig or a dict; method "channels" or "magnitude").
    train_data / eval_data: (inputs, labels), a mobilekit.data.Dataset, or a `pkg.module:callable`
      string returning (inputs, labels).
    example_inputs: for pruning and saving; defaults to the first training sample.
    out: a `.pt2` path: the student is captured with torch.export and saved there, ready to be
      a `source` of `mobilekit export` (batch dim dynamic if `dynamic_batch`).
    """
    import torch

    from .._imports import first_line, resolve_ref

    def data(ref: Any, key: str) -> Any:
        if isinstance(ref, str):
            fn = resolve_ref(ref, what="data callable", key=key, base_dir=base_dir)
            try:
                return fn()
            except Exception as exc:
                raise UserError(f"{key}: {ref} raised {type(exc).__name__}: {first_line(exc)}", hint="Fix the data callable.") from None
        return ref

    if isinstance(teacher, torch.export.ExportedProgram):
        raise UserError("distill: the teacher is an exported program, which cannot be run for training here",
                        hint="Give the model as `pkg.module:factory` (with weights) or a module.")
    if out is not None and Path(out).suffix.lower() != ".pt2":  # before training, not after
        raise UserError(f"distill output {out} must end in .pt2", hint="Name the output file student.pt2 (a torch.export program).")
    train = data(train_data, "distill.data")
    evald = data(eval_data, "eval.data") if eval_data is not None else None
    xs, _ = _as_data(train, "distill.data")
    if example_inputs is None:
        example_inputs = tuple(x[:1] for x in xs)
        if len(example_inputs) == 1:
            example_inputs = example_inputs[0]
    pruned = None
    if student is None:
        from .prune import PruneConfig, prune

        pc = prune_cfg if prune_cfg is not None else PruneConfig()
        if isinstance(pc, dict):
            pc = PruneConfig.from_dict(pc, "prune")
        if pc.method == "none":
            raise UserError("distill: there is no student: no `student` is given and `prune.method` is 'none'",
                            hint="Set `prune.method` = 'channels' (and `prune.amount`), or give a student factory.")
        pruned = prune(teacher, example_inputs, pc)
        student = pruned.model
    elif isinstance(student, str):
        factory = resolve_ref(student, what="student factory", key="distill.student", base_dir=base_dir)
        try:
            student = factory()
        except Exception as exc:
            raise UserError(f"distill.student: {student} raised {type(exc).__name__}: {first_line(exc)}", hint="Fix the factory.") from None
    result = distill(student, teacher, train, cfg, eval_data=evald, progress=progress)
    result.prune = pruned
    if out is not None:
        result.saved_to = str(save_pt2(result.model, example_inputs, out, dynamic_batch=dynamic_batch))
    return result


def save_pt2(model: Any, example_inputs: Any, path: str | Path, *, dynamic_batch: bool = False) -> Path:
    """Capture `model` with torch.export on `example_inputs` and save the program to `path` (.pt2)."""
    import torch

    from .flops import as_torch_inputs

    path = Path(path)
    if path.suffix.lower() != ".pt2":
        raise UserError(f"distill output {path} must end in .pt2", hint="Name the output file student.pt2 (a torch.export program).")
    args = as_torch_inputs(example_inputs)
    if isinstance(args, dict):
        kwargs, args = args, ()
    else:
        kwargs, args = {}, (args if isinstance(args, tuple) else (args,))
    dynamic = None
    if dynamic_batch:
        batch = torch.export.Dim("batch", min=1, max=4096)
        if kwargs:
            dynamic = {k: {0: batch} for k in kwargs}
        else:
            dynamic = tuple({0: batch} for _ in args)
    model.eval()
    ep = torch.export.export(model, args, kwargs or None, dynamic_shapes=dynamic, strict=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(ep, str(path))
    return path


__all__ = ["DistillConfig", "DistillResult", "distill", "distill_from_config", "save_pt2", "top1"]
