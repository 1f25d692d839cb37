"""Where an artifact's ops would run on a device — only from tools that know, each labelled: each
target's `placement` hook (ExecuTorch's delegation report: exact; TFLite's Analyzer and
onnxruntime's usability checker: estimates; Core ML: needs macOS, not guessed)."""

from __future__ import annotations

from pathlib import Path


def estimate(target: str, path: Path, entry: dict) -> dict:
    from ..errors import MobileKitError
    from ..targets import base

    try:
        return base.get(target).placement(path, entry)
    except MobileKitError:  # a target this install does not know
        return {}
