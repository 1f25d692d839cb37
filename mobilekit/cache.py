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
    if not _intact(old_root, entries):
        return None
    copy_forward(old_root, entries, staging, extra=())
    return [{**a, "cached": True} for a in entries]


def _intact(old_root: Path, entries: list[dict]) -> bool:
    """Every entry's file is there and matches its checksum (a tampered bundle is never reused)."""
    return all((old_root / a["path"]).exists() and bundle_mod.sha256(old_root / a["path"]) == a.get("sha256") for a in entries)


def reuse_passed(old: dict | None, old_root: Path, target: str, fp: str,
                 staging: Path) -> tuple[list[dict], list[str], list[str]] | None:
    """A target made from the same inputs whose last run failed some variants: the passed ones
    are kept (files checked and copied, as `reuse`), and the variants to convert again are
    returned — the failed ones plus the target's first, which the others derive from (its file
    is where ONNX-based targets start, and the ONNX target moves it away when not listed) —
    with the variants' order in the bundle."""
    if old is None:
        return None
    entries = [a for a in old["artifacts"] if a["target"] == target]
    if not entries or any(a.get("fingerprint") != fp or "graph" in a for a in entries):
        return None
    order = list(dict.fromkeys(a["variant"] for a in entries))
    retry = {a["variant"] for a in entries if a["status"] == "failed"}
    if not retry or retry >= set(order[1:]):
        return None  # nothing failed, or nothing worth keeping
    retry.add(order[0])
    kept = [a for a in entries if a["variant"] not in retry]
    if not _intact(old_root, kept):
        return None
    copy_forward(old_root, kept, staging, extra=())
    return [{**a, "cached": True} for a in kept], [v for v in order if v in retry], order


# -- before capture: is the whole export unchanged? --------------------------------------------

def source_hash(model, files=()) -> str:
    """The model's weights, the code that defines it, and the files the export reads.

    Code: every loaded module under the top-level package (or the lone module file) of each
    class in the model, so a helper that `forward` calls is covered too. Capture would see the
    same things; this is what lets an unchanged re-export stop before capture.
    """
    import sys

    import torch

    h = hashlib.sha256()
    state = model.state_dict
    state = dict(state() if callable(state) else state)  # an ExportedProgram's is a property
    state.update({f"constant:{k}": v for k, v in (getattr(model, "constants", None) or {}).items() if isinstance(v, torch.Tensor)})
    for name in sorted(state):
        t = state[name]
        h.update(name.encode())
        h.update(str((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    graph = getattr(model, "graph_module", None)  # an ExportedProgram: its code is the graph
    if graph is not None:
        h.update(graph.code.encode())
        modules = []
    else:
        modules = list(model.modules())
    for root, path in sorted(_code_files(modules, sys.modules)):
        h.update(str(Path(path).relative_to(root)).encode())  # where the repo lies is not an input
        try:
            h.update(Path(path).read_bytes())
        except OSError:
            h.update(b"unreadable")
    for f in sorted(files, key=lambda p: Path(p).name):
        _hash_path(h, Path(f))
    return h.hexdigest()


def _code_files(modules, loaded) -> set[tuple[str, str]]:
    """Every .py file of the package (on disk, not only what is imported yet: that set grows
    during an export) of each model class; a class in a lone module gives that file. Each as
    (the folder it is named relative to, the file)."""
    import inspect

    files: set[tuple[str, str]] = set()
    for m in modules:
        mod_name = type(m).__module__ or ""
        top = mod_name.split(".")[0]
        if top in ("torch", "builtins"):
            continue  # torch's own classes: its version is in the fingerprint
        pkg = loaded.get(top)
        paths = list(getattr(pkg, "__path__", []) or [])
        if paths:
            for root in paths:
                files.update((str(Path(root).parent), str(f)) for f in Path(root).rglob("*.py"))
            continue
        try:
            f = inspect.getsourcefile(loaded.get(mod_name) or pkg)
        except (TypeError, OSError):
            f = None
        if f:
            files.add((str(Path(f).parent), f))
    return files


def _hash_path(h, p: Path) -> None:
    h.update(p.name.encode())  # the contents and the name, not where the file lies
    if p.is_dir():
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            h.update(str(f.relative_to(p)).encode())
            h.update(f.read_bytes())
    elif p.is_file():
        h.update(p.read_bytes())


def unchanged(old: dict | None, old_root: Path, targets: list[str], fps: dict[str, str]) -> list[dict] | None:
    """The previous bundle's entries when every requested target is there, passed, was made from
    the same inputs (`source_fingerprint`) and its files still match their checksums."""
    if old is None:
        return None
    out = []
    for target in targets:
        entries = [a for a in old["artifacts"] if a["target"] == target]
        if not entries or any(a.get("source_fingerprint") != fps[target] or a["status"] == "failed" for a in entries):
            return None
        if not _intact(old_root, entries):
            return None
        out += entries
    return out


def copy_forward(old_root: Path, entries: list[dict], staging: Path, extra=("assets",)) -> None:
    """Copy the entries' files and logs (and the shared `extra` folders) into the staging folder."""
    rels = [rel for a in entries for rel in (a["path"], a.get("log")) if rel] + [e for e in extra if (old_root / e).exists()]
    for rel in rels:
        src, dst = old_root / rel, staging / rel
        if dst.exists() or not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
