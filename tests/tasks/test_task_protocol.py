"""The Task protocol (mobilekit/tasks/base.py): the built-in tasks follow it, and a new task is
one module plus one registry line — the pipeline captures, converts, names, stages and commits
its graphs without knowing it."""

from __future__ import annotations

import inspect
import json

import pytest

from mobilekit import bundle as bundle_mod, config as config_mod, pipeline, tasks
from mobilekit.tasks import base

HOOKS = [name for name, member in inspect.getmembers(base.Task) if inspect.isfunction(member) and not name.startswith("_")]


@pytest.mark.parametrize("name", tasks.names())
def test_every_registered_task_has_every_hook(name):
    task = tasks.get(name)
    assert HOOKS and all(callable(getattr(task, h, None)) for h in HOOKS), [h for h in HOOKS if not hasattr(task, h)]
    assert isinstance(task.tensor_golden, bool)
    for h in HOOKS:  # same parameters as the protocol, so the pipeline's calls fit every task
        want = list(inspect.signature(getattr(base.Task, h)).parameters)[1:]
        assert list(inspect.signature(getattr(task, h)).parameters) == want, (name, h)


def test_only_translation_has_its_own_golden_format():
    assert [n for n in tasks.names() if tasks.registered(n)] == ["translation"]


@pytest.mark.slow
def test_a_new_task_is_one_module_and_one_registry_line(tmp_path, monkeypatch):
    import tiny_models

    monkeypatch.setitem(tasks._TASKS, "two_stage", "tasks.two_stage_task:TwoStage")
    cfg = config_mod.resolve(tiny_models.config(tmp_path, task="two_stage", targets=["onnx"], compression={"preset": "none"}))
    b = pipeline.export(cfg)
    arts = {(a["target"], a["variant"], a["graph"]): a for a in b.artifacts}
    assert set(arts) == {("onnx", "fp32", "features"), ("onnx", "fp32", "head")}
    assert all(a["status"] == "verified" and a["parity"]["max_abs"] < 1e-4 for a in arts.values())
    # the pipeline named each graph's artifact and log after the graph, and wrote the skeleton once
    assert arts["onnx", "fp32", "features"]["path"] == "onnx/features.onnx"
    assert (b.path / "logs" / "onnx-head.log").is_file()
    m = json.loads((b.path / "manifest.json").read_text())
    assert m["task"] == "two_stage" and m["two_stage"] == {"graphs": ["features", "head"]}
    assert set(m["stages"]) >= {"load", "capture", "reference", "convert", "verify"}
    assert (b.path / "assets/golden/two_stage.json").is_file()
    bundle_mod.load_bundle(b.path)  # a valid, checksummed bundle
