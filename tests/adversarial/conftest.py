"""Fixtures of the hostile-input suite: a tiny real bundle made once per session, copied per test.

A package (`__init__.py`), so this conftest does not take the name `conftest` from tests/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_bundle_src(tmp_path_factory) -> Path:
    """A real ONNX bundle of TinyNet, exported once; tests copy it (`fresh_bundle`)."""
    import mobilekit
    import tiny_models

    tmp = tmp_path_factory.mktemp("adv-bundle")
    cfg = tiny_models.config(tmp, targets=["onnx"], latency_runs=0)
    return mobilekit.export(config=cfg).path


@pytest.fixture
def fresh_bundle(tiny_bundle_src, tmp_path) -> Path:
    dest = tmp_path / "dist" / "tiny"
    shutil.copytree(tiny_bundle_src, dest, symlinks=True)
    return dest
