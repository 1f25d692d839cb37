"""The bundle on disk: layout, manifest read/write/validate, checksums, atomic commit.

A bundle is built in a hidden staging folder beside its destination and moved into place whole,
so an interrupted or failed export never leaves a half-written bundle, and the previous one
survives until the new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from .errors import BundleError, UserError

SCHEMA = "mobilekit.manifest/1"
MANIFEST = "manifest.json"
_STAGING = ".mobilekit-staging-"
_RETIRED = ".mobilekit-old-"


@lru_cache(maxsize=None)
def _schema(name: str = "manifest") -> dict:
    return json.loads(resources.files("mobilekit.schemas").joinpath(f"{name}.schema.json").read_text())


def validate_manifest(data: Any, where: str = "manifest") -> None:
    import jsonschema

    if not isinstance(data, dict):
        raise BundleError(f"{where} is not a JSON object", hint="Re-export the bundle.")
    if data.get("schema") != SCHEMA:
        raise BundleError(f"{where} has schema {data.get('schema')!r}, this mobilekit reads {SCHEMA!r}", hint="Re-export the bundle with this version of mobilekit.")
    validator = jsonschema.Draft202012Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path) or "(top)"
        if error.validator == "not":  # only relpath uses `not`
            raise BundleError(f"{where}: path {error.instance!r} at {at} points outside the bundle", hint="The bundle was tampered with; re-export it.")
        raise BundleError(f"{where} is invalid at {at}: {error.message[:200]}", hint="Re-export the bundle; do not edit manifest.json by hand.")


def sha256(path: Path) -> str:
    """Of a file, or of a folder (e.g. .mlpackage): every file's relative path and bytes, in order."""
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
            h.update(_file_digest(f).encode())
        return h.hexdigest()
    return _file_digest(path)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def size_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def inside(root: Path, rel: str) -> Path:
    """Resolve a manifest path, refusing any that escapes the bundle."""
    if not isinstance(rel, str) or "\x00" in rel:  # the OS refuses NUL in paths with a ValueError
        raise BundleError(f"manifest path {rel!r} is not a valid path", hint="The bundle was tampered with; re-export it.")
    root_r = root.resolve()
    p = (root / rel).resolve()
    if p != root_r and root_r not in p.parents:
        raise BundleError(f"manifest path {rel!r} points outside the bundle", hint="The bundle was tampered with; re-export it.")
    return p


@dataclass
class Bundle:
    """A committed bundle folder and its manifest."""

    path: Path
    manifest: dict = field(repr=False)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def artifacts(self) -> list[dict]:
        return self.manifest["artifacts"]

    def artifact(self, target: str, variant: str | None = None) -> dict:
        for a in self.artifacts:
            if a["target"] == target and (variant is None or a["variant"] == variant):
                return a
        raise KeyError(f"{target}/{variant}")

    @property
    def failures(self) -> list[dict]:
        return [a for a in self.artifacts if a["status"] == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures


def load_bundle(path: str | Path, *, check_files: bool = True) -> Bundle:
    """Read and validate a bundle; with check_files, every artifact's checksum is checked."""
    root = Path(path)
    if not root.exists():
        raise BundleError(f"bundle {root} does not exist", hint="Run `mobilekit export` first, or fix the path.")
    if not root.is_dir():
        raise BundleError(f"{root} is not a bundle folder", hint="Give the folder that holds manifest.json.")
    mf = root / MANIFEST
    if not mf.is_file():
        raise BundleError(f"{root} has no {MANIFEST}", hint="The bundle is partial; re-export it.")
    try:
        data = json.loads(mf.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{mf} is not valid JSON ({exc})", hint="The bundle is damaged; re-export it.") from None
    validate_manifest(data, str(mf))
    for t in data["outputs"]:
        if t.get("labels"):
            inside(root, t["labels"])
    if data.get("golden"):
        inside(root, data["golden"])
    for a in data["artifacts"]:
        if "path" not in a:
            continue
        p = inside(root, a["path"])
        if a.get("log"):
            inside(root, a["log"])
        if not check_files or a["status"] == "failed":
            continue
        if not p.exists():
            raise BundleError(f"artifact {a['path']} is missing from the bundle", hint="The bundle is partial; re-export it.")
        digest = sha256(p)
        if digest != a["sha256"]:
            raise BundleError(f"artifact {a['path']} does not match its checksum (sha256 {digest[:12]}…, manifest {a['sha256'][:12]}…)", hint="The file was changed after export; re-export the bundle.")
    return Bundle(root, data)


def write_manifest(root: Path, manifest: dict) -> None:
    validate_manifest(manifest)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")


class Staging:
    """A staging folder for one bundle; `commit()` moves it into place, `discard()` removes it."""

    def __init__(self, dest: Path):
        self.dest = Path(dest).resolve()
        parent = self.dest.parent
        if parent.exists() and not parent.is_dir():
            raise UserError(f"output folder {parent} is a file", hint="Choose another --output folder.")
        if self.dest.exists() and not self.dest.is_dir():
            raise UserError(f"{self.dest} exists and is not a folder", hint="Move it away or choose another --output folder.")
        if self.dest.is_dir() and any(self.dest.iterdir()) and not (self.dest / MANIFEST).exists():
            raise UserError(f"{self.dest} exists and is not a mobilekit bundle", hint="Choose another --output folder; mobilekit replaces only its own bundles.")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            clean_stale(parent)
            self.path = parent / f"{_STAGING}{self.dest.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.path.mkdir()
        except PermissionError:
            raise UserError(f"cannot write to {parent}", hint="Choose a writable --output folder.") from None
        except OSError as exc:
            raise UserError(f"cannot create the bundle in {parent}: {exc.strerror}", hint="Choose a writable --output folder.") from None

    def commit(self) -> Path:
        retired = None
        if self.dest.exists():
            retired = self.dest.parent / f"{_RETIRED}{self.dest.name}-{uuid.uuid4().hex[:8]}"
            os.replace(self.dest, retired)
        os.replace(self.path, self.dest)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
        return self.dest

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent: Path) -> list[Path]:
    """Remove staging folders left by exports that were killed (their process is gone)."""
    removed = []
    for p in _children(parent):
        if p.name.startswith(_STAGING):
            try:
                pid = int(p.name.rsplit("-", 2)[-2])
            except (ValueError, IndexError):
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        elif p.name.startswith(_RETIRED):
            # Killed between the two renames of a commit: the old bundle is all there is.
            original = parent / p.name[len(_RETIRED):].rsplit("-", 1)[0]
            if not original.exists():
                os.replace(p, original)
            else:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def _children(parent: Path) -> Iterator[Path]:
    try:
        yield from parent.iterdir()
    except OSError:
        return
