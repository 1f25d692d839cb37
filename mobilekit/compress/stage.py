"""The export pipeline's torch-level compression stage: prune, then distill, before capture.

Takes the loaded source (the teacher) and returns a new `Loaded` holding the student, plus a
record for the manifest (params/MACs/sparsity before and after, distillation figures, the
source model's metric). Nothing runs when the config asks for neither.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import UserError


def requested(comp: Any) -> bool:
    return comp.prune.method != "none" or bool(comp.distill.data)


def apply(cfg: Any, loaded: Any, spec: Any, train: Any, eval_data: Any, *, show_progress: bool) -> tuple[Any, dict | None]:
    """(Loaded student, manifest record) — or (loaded, None) when no torch-level compression is asked.

    train: the labelled distillation Dataset (None without `compression.distill.data`);
    eval_data: the evaluation Dataset or None (the source model is scored on it for the drop).
    """
    comp = cfg.compression
    if not requested(comp):
        return loaded, None
    import torch

    from ..capture import example_inputs
    from ..source import load_factory
    from .distill import DistillConfig, distill, top1
    from .flops import stats
    from .prune import prune

    key = "compression.prune" if comp.prune.method != "none" else "compression.distill"
    teacher = loaded.module
    if not isinstance(teacher, torch.nn.Module):
        raise UserError(f"{key}: needs the eager model, but the source is a {loaded.kind} ({loaded.origin})",
                        hint="Give `source` as `pkg.module:factory` (with `weights`) or pass the nn.Module, not an exported program.")
    teacher.eval()
    feeds = example_inputs(spec)
    args = tuple(torch.from_numpy(feeds[t.name]) for t in spec.inputs)
    example = args[0] if len(args) == 1 else args
    record: dict[str, Any] = {"before": stats(teacher, example).to_dict()}

    student = teacher
    if comp.prune.method != "none":
        pruned = prune(teacher, example, comp.prune, key="compression.prune")
        record["prune"] = pruned.to_dict()
        student = pruned.model
    if comp.distill.student:
        student = load_factory(comp.distill.student, cfg, key="compression.distill.student")
    if comp.distill.data:
        dcfg = DistillConfig(**{f.name: getattr(comp.distill, f.name) for f in dataclasses.fields(DistillConfig)})
        result = distill(student, teacher, train, dcfg, eval_data=eval_data, progress=show_progress, key="compression.distill")
        record["distill"] = result.to_dict()
        student = result.model
    student.eval()
    record["after"] = stats(student, example).to_dict()
    before, after = record["before"], record["after"]
    record["params_ratio"] = round(after["params"] / before["params"], 6) if before["params"] else 1.0
    record["macs_ratio"] = round(after["macs"] / before["macs"], 6) if before["macs"] else 1.0
    if eval_data is not None:
        record["source_top1"] = top1(teacher, eval_data)
    what = " + ".join(k for k in ("prune", "distill") if k in record)
    return dataclasses.replace(loaded, module=student, origin=f"{loaded.origin} ({what})"), record
