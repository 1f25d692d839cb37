"""The contents a trial reads besides its config text: the files and modules the config names.

A fingerprint made of the config text alone would keep a stale row after the weights file is
re-trained in place; hashing what each path-like value points to (a file, a folder, or the
source file of a `pkg.module:callable`) makes an edited input re-run its trials.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

_CALLABLE = re.compile(r"^([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):[A-Za-z_]\w*$")
_SKIP = {"output_dir", "base_dir"}  # where results go, not what a trial reads
_CHUNK = 1 << 20


def _sha_file(path: Path, h) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)


def digest(path: Path) -> str:
    """sha256 of a file, or of a folder's relative names and contents (sorted, so stable)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(path)).encode() + b"\0")
            _sha_file(p, h)
    else:
        _sha_file(path, h)
    return h.hexdigest()


def module_file(value: str) -> Path | None:
    """The source file of `pkg.module:callable` (found without importing the module itself)."""
    m = _CALLABLE.match(value)
    if not m:
        return None
    try:
        spec = importlib.util.find_spec(m.group(1))
    except (ImportError, ValueError):  # the export reports an unimportable module in one line
        return None
    origin = spec.origin if spec else None
    return Path(origin) if origin and origin not in ("built-in", "frozen") and Path(origin).is_file() else None


def _strings(value, key: str = ""):
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in _SKIP:
                yield from _strings(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{key}[{i}]")
    elif isinstance(value, str) and value:
        yield key, value


def digests(config: dict, base_dir: str | Path, cache: dict | None = None) -> dict[str, str]:
    """`config key → sha256` of every file, folder or callable module the config's values name,
    resolved like the export resolves them (relative to `base_dir`). `cache` (one planning pass)
    spares re-hashing what many trial configs share."""
    cache = {} if cache is None else cache
    out = {}
    for key, value in _strings(config):
        path = module_file(value)
        if path is None:
            p = Path(value).expanduser()
            p = p if p.is_absolute() else Path(base_dir) / p
            try:
                path = p if p.exists() and value not in (".", "..") else None
            except OSError:  # a value too long to be a path
                path = None
        if path is None:
            continue
        st = path.stat()
        stamp = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        if stamp not in cache:
            cache[stamp] = digest(path)
        out[key] = cache[stamp]
    return out
