"""Tasks as plug-ins (the protocol is `mobilekit.tasks.base.Task`).

A task says which graphs a model splits into, how its references and golden files are made,
which checks judge an artifact and what its manifest section holds; the pipeline does the rest.
Tasks are imported only when a config or a bundle names them.

Adding a task: one new module with a class following `Task`, and one line in `_TASKS`.
"""

from __future__ import annotations

import importlib
from typing import Any

_TASKS: dict[str, str] = {
    # single-graph tensors in and out; "generic" is the same without labels and top-1
    "image_classification": "mobilekit.tasks.classification:Classification",
    "generic": "mobilekit.tasks.classification:Classification",
    # an encoder and a decoder-step graph, judged by greedy decoding sentence by sentence
    "translation": "mobilekit.tasks.translation:Translation",
}


def names() -> list[str]:
    return list(_TASKS)


def get(task: str) -> Any:
    """The `mobilekit.tasks.base.Task` that `task` names (a bundle's `task` or a config's), imported
    on first use. (No import of .base here: config reads this registry, base names config.)"""
    module, attr = _TASKS.get(task, _TASKS["generic"]).split(":")
    return getattr(importlib.import_module(module), attr)()


def registered(task: str) -> bool:
    """True when `task`'s bundles hold something other than single-graph golden tensors (translation)."""
    return task in _TASKS and not get(task).tensor_golden
