"""Tasks as plug-ins: what a task adds around the exported graphs.

The built-in task, single-graph tensors in and out (image_classification, generic), is the
pipeline itself (`mobilekit.pipeline`). A task whose model splits into several graphs or whose
check is not "same tensors" (translation: an encoder, a decoder step, greedy decoding judged
sentence by sentence) registers here and is imported only when a bundle or config names it.

A registered task provides, by dotted reference:
- `export(cfg, model, progress) -> Bundle`: its graphs, references and checks, using the shared
  machinery (`mobilekit.conversion` for workers, `mobilekit.bundle` for staging and commit,
  `mobilekit.verify.verdict` for the rule) and adding its own manifest section;
- `reverify(bundle, progress) -> dict`: `mobilekit verify` of its bundles (a per-artifact report,
  CheckError with `.report` on failure).

Adding a task: one new module and one line in `_TASKS`.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

_TASKS: dict[str, dict[str, str]] = {
    "translation": {"export": "mobilekit.tasks.translation:export",
                    "reverify": "mobilekit.tasks.translation_verify:reverify"},
}


def registered(task: str) -> bool:
    """True when `task` is a plug-in task (not the pipeline's built-in tensor task)."""
    return task in _TASKS


def hook(task: str, name: str) -> Callable[..., Any]:
    """The plug-in task's `name` function (export | reverify), imported on first use."""
    module, attr = _TASKS[task][name].split(":")
    return getattr(importlib.import_module(module), attr)
