"""Reuse a target's artifacts from the previous bundle when nothing that made them changed.

A target's fingerprint covers the captured graph and weights, the spec, the target's options,
the converter versions and the data its checks used. Reuse also requires the old files to
match their checksums, so a tampered bundle is never copied forward.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from . import bundle as bundle_mod
from .errors import MobileKitError


def data_hash(*arrays_groups) -> str:
    h = hashlib.sha256()
    for group in arrays_groups:
        if group is None:
            h.update(b"none")
            continue
        for name in sorted(group):
            h.update(name.encode())
            h.update(np.ascontiguousarray(group[name]).tobytes())
    return h.hexdigest()


def fingerprint(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def previous_manifest(dest: Path) -> dict | None:
    """The bundle already at dest, if it is a valid one; anything else means 'no cache'."""
    try:
        return bundle_mod.load_bundle(dest, check_files=False).manifest
    except MobileKitError:
        return None


def reuse(old: dict | None, old_root: Path, target: str, fp: str, staging: Path) -> list[dict] | None:
    if old is None:
        return None
    entries = [a for a in old["artifacts"] if a["target"] == target]
    if not entries or any(a.get("fingerprint") != fp or a["status"] == "failed" for a in entries):
        return None
    for a in entries:
        src = old_root / a["path"]
        if not src.exists() or bundle_mod.sha256(src) != a["sha256"]:
            return None
    for a in entries:
        for rel in filter(None, (a["path"], a.get("log"))):
            src, dst = old_root / rel, staging / rel
            if dst.exists():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst)
            elif src.exists():
                shutil.copy2(src, dst)
    return [{**a, "cached": True} for a in entries]
