"""The bundle on disk: layout, manifest read/write/validate, checksums, atomic commit.

A bundle is built in a hidden staging folder beside its destination and moved into place whole,
so an interrupted or failed export never leaves a half-written bundle, and the previous one
survives until the new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import BundleError, UserError

SCHEMA = "mobilekit.manifest/1"
MANIFEST = "manifest.json"
_STAGING = ".mobilekit-staging-"
_RETIRED = ".mobilekit-old-"
OWNER_MARKER = ".mobilekit-bundle"
OWNER_SCHEMA = "mobilekit.bundle-owner/1"


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
        recover(root)  # an export killed mid-commit (two-rename fallback) left it retired
    if not root.exists():
        raise BundleError(f"bundle {root} does not exist", hint="Run `mobilekit export` first, or fix the path.")
    if not root.is_dir():
        raise BundleError(f"{root} is not a bundle folder", hint="Give the folder that holds manifest.json.")
    mf = root / MANIFEST
    if mf.is_symlink():  # mobilekit never writes one; reading it would read a file outside the bundle
        raise BundleError(f"{mf} is a symbolic link", hint="The bundle was tampered with; re-export it.")
    if not mf.is_file():
        raise BundleError(f"{root} has no {MANIFEST}", hint="The bundle is partial; re-export it.")
    data = read_manifest_json(mf)
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
        _no_links_inside(root, a["path"], p)
        digest = sha256(p)
        if digest != a["sha256"]:
            raise BundleError(f"artifact {a['path']} does not match its checksum (sha256 {digest[:12]}…, manifest {a['sha256'][:12]}…)", hint="The file was changed after export; re-export the bundle.")
    return Bundle(root, data)


MAX_MANIFEST_BYTES = 64 << 20  # the largest real manifests are ~100 KB; a bigger one is hostile or broken


MAX_MANIFEST_DEPTH = 64  # real manifests nest ~6 deep
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings. Checked before json.loads: its C scanner recurses per level
    and, once a library in the process has raised the recursion limit (some converters do), a deep file
    overflows the C stack instead of raising RecursionError."""
    depth = deepest = 0
    for m in _STRING_OR_BRACKET.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def _no_duplicates(pairs: list) -> dict:
    seen = {}
    for k, v in pairs:
        if k in seen:  # readers disagree on which one wins (Python: the last, others: the first)
            raise BundleError(f"manifest has the key {k!r} twice in one object", hint="The bundle was tampered with; re-export it.")
        seen[k] = v
    return seen


def read_manifest_json(mf: Path) -> Any:
    """The manifest's JSON, refusing what readers could disagree on (duplicate keys) or choke on (size)."""
    try:
        size = mf.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise BundleError(f"{mf} is {size / 2**20:.0f} MB, larger than any manifest mobilekit writes", hint="The bundle is damaged or hostile; re-export it.")
        raw = mf.read_bytes()
    except OSError as exc:
        raise BundleError(f"{mf} cannot be read: {exc.strerror or exc}", hint="Check the file's permissions.") from None
    try:
        text = raw.decode("utf-8")
        if _nesting_depth(text) > MAX_MANIFEST_DEPTH:
            raise RecursionError
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise BundleError(f"{mf} is nested too deeply to be a manifest", hint="The bundle is damaged or hostile; re-export it.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{mf} is not valid JSON ({exc})", hint="The bundle is damaged; re-export it.") from None


def _no_links_inside(root: Path, rel: str, p: Path) -> None:
    """A folder artifact (.mlpackage) may not hold links: reading or copying it would leave the bundle."""
    if not p.is_dir():
        return
    for f in p.rglob("*"):
        if f.is_symlink():
            raise BundleError(f"artifact {rel} holds a symbolic link ({f.relative_to(root).as_posix()})", hint="The bundle was tampered with; re-export it.")


def write_manifest(root: Path, manifest: dict) -> None:
    validate_manifest(manifest)
    write_atomic(root / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file + rename in the same folder: a reader sees old or new, and a link at `path` is
    replaced, never written through."""
    if path.is_dir() and not path.is_symlink():
        raise UserError(f"{path} is a folder where mobilekit writes a file", hint="Remove or rename that folder.")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _marker_ok(folder: Path) -> bool:
    m = folder / OWNER_MARKER
    if m.is_symlink() or not m.is_file():
        return False
    try:
        data = json.loads(m.read_bytes()[:4096])
    except (ValueError, OSError):
        return False
    return isinstance(data, dict) and data.get("schema") == OWNER_SCHEMA and data.get("made_by") == "mobilekit"


def _older_bundle(folder: Path) -> bool:
    """A manifest of our schema but no marker: most likely a bundle written before the marker existed."""
    try:
        return json.loads((folder / MANIFEST).read_bytes()[: 1 << 20]).get("schema") == SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


def owned(folder: Path) -> bool:
    """A folder mobilekit made (its marker, with its schema) — a manifest.json alone is not enough."""
    return folder.is_dir() and not folder.is_symlink() and _marker_ok(folder)


def _is_within(p: Path, root: Path) -> bool:
    return p == root or root in p.parents


def check_destination(dest: Path, inputs: Iterable[Path] = ()) -> None:
    """Refuse (exit 2, touching nothing) any destination mobilekit may not replace."""
    if dest.is_symlink():
        raise UserError(f"{dest} is a symbolic link", hint="mobilekit writes bundles only into real folders; remove the link or choose another --output.")
    for anc in dest.parents:
        if owned(anc):
            raise UserError(f"{dest} is inside the bundle {anc}", hint="Choose an --output folder outside every bundle.")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest} exists and is not a folder", hint="Move it away or choose another --output folder.")
    if dest.is_dir() and not owned(dest) and any(dest.iterdir()):
        if _older_bundle(dest):
            raise UserError(f"{dest} holds a bundle without the {OWNER_MARKER} ownership marker (written before "
                            "mobilekit marked its bundles, or a folder that only looks like one); it was left untouched",
                            hint=f"If it is an old bundle, delete it (`rm -r {dest}`) and export again; else choose another --output or --name.")
        raise UserError(f"{dest} exists and is not a bundle mobilekit made (no {OWNER_MARKER} marker); it was left untouched",
                        hint="Choose another --output folder or --name; mobilekit replaces only its own bundles.")
    for p in inputs:
        rp = Path(p).resolve()
        if _is_within(rp, dest):
            raise UserError(f"the input {p} is inside the output {dest}, which the export replaces", hint="Move the input out of the bundle, or choose another --output.")


class Locked(UserError):
    """Another export holds the destination's lock."""


class Staging:
    """A staging folder for one bundle; `commit()` swaps it into place, `discard()` removes it.

    A lock file beside the destination serialises exports to it; the commit is one exchange
    rename where the OS has one, so the destination always holds a whole bundle.
    """

    def __init__(self, dest: Path, inputs: Iterable[Path] = ()):
        dest = Path(dest)
        # resolve the folder but not the last component: a link there must not be followed
        self.dest = dest.parent.resolve() / dest.name
        parent = self.dest.parent
        if len(self.dest.name.encode()) > 200:
            raise UserError(f"the bundle name {self.dest.name[:40]}… is {len(self.dest.name.encode())} bytes long", hint="Use a `name` of at most 200 bytes.")
        if parent.exists() and not parent.is_dir():
            raise UserError(f"output folder {parent} is a file", hint="Choose another --output folder.")
        self._lock_fd: int | None = None
        self.path = None
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._lock()
            recover(self.dest)
            check_destination(self.dest, inputs)
            clean_stale(parent)
            self.path = parent / f"{_STAGING}{self.dest.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.path.mkdir()
        except BaseException as exc:
            self._unlock()
            if isinstance(exc, PermissionError):
                raise UserError(f"cannot write to {parent}", hint="Choose a writable --output folder.") from None
            if isinstance(exc, OSError):
                raise UserError(f"cannot create the bundle in {parent}: {exc.strerror or exc}", hint="Choose a writable --output folder.") from None
            raise

    def _lock(self) -> None:
        import fcntl

        fd = os.open(lock_file(self.dest), os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Locked(f"another export is writing {self.dest}", hint="Wait for it to finish, or choose another --output or --name.") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock; the file stays (tiny, reused)
            self._lock_fd = None

    def commit(self) -> Path:
        import signal

        write_atomic(self.path / OWNER_MARKER, (json.dumps({"schema": OWNER_SCHEMA, "made_by": "mobilekit"}) + "\n").encode())
        blocked = {signal.SIGINT, signal.SIGTERM}
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)  # the swap is not interrupted halfway
        try:
            check_destination(self.dest)  # again: under the lock, just before replacing
            if self.dest.exists():
                if not exchange(self.path, self.dest):
                    self._commit_two_renames()
                    return self.dest
                # self.path now holds the previous bundle
            else:
                os.rename(self.path, self.dest)
            COMMITTED.append(self.dest)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        self.discard()
        return self.dest

    def _commit_two_renames(self) -> None:
        # No exchange rename here: retire the old bundle first; `recover` puts it back if we die.
        retired = self.dest.parent / f"{_RETIRED}{self.dest.name}-{uuid.uuid4().hex[:8]}"
        os.rename(self.dest, retired)
        os.rename(self.path, self.dest)
        COMMITTED.append(self.dest)
        remove_tree(retired)
        self.path = None
        self._unlock()

    def discard(self) -> None:
        if self.path is not None:
            remove_tree(self.path)
            self.path = None
        self._unlock()


def lock_file(dest: Path) -> Path:
    """The lock of one destination, kept out of the output folder (a per-user folder in the temp dir)."""
    import hashlib as _h
    import tempfile

    folder = Path(tempfile.gettempdir()) / f"mobilekit-locks-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return dest.parent / f".mobilekit-lock-{dest.name}"  # an unwritable temp dir: lock beside the bundle
    if folder.is_symlink() or (hasattr(os, "getuid") and folder.stat().st_uid != os.getuid()):
        # another user could otherwise hold (or swap) our locks
        raise UserError(f"the lock folder {folder} is not yours", hint="Remove it, or set TMPDIR to a private folder.")
    return folder / f"{_h.sha256(os.fsencode(dest)).hexdigest()[:32]}.lock"


COMMITTED: list[Path] = []  # bundles committed in this process, for a truthful "interrupted" message


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import errno
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def remove_tree(path: Path) -> None:
    """Delete a folder mobilekit made, even read-only; rmtree never follows links out of it."""
    import stat

    def _writable_retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            if not os.path.islink(p) and os.path.isdir(p):
                os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    if path.is_symlink():
        path.unlink()
        return
    shutil.rmtree(path, onerror=_writable_retry)


def recover(dest: Path) -> Path | None:
    """Finish an interrupted two-rename commit: the retired bundle goes back if dest is gone."""
    if dest.exists() or dest.is_symlink():
        return None
    prefix = f"{_RETIRED}{dest.name}-"
    for p in sorted(_children(dest.parent)):
        if p.name.startswith(prefix) and len(p.name) == len(prefix) + 8 and owned(p):
            try:
                os.rename(p, dest)
            except OSError:
                continue
            return dest
    return None


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
        if p.name.startswith(_STAGING) and not p.is_symlink():
            try:
                pid = int(p.name.rsplit("-", 2)[-2])
            except (ValueError, IndexError):
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                remove_tree(p)
                removed.append(p)
        elif p.name.startswith(_RETIRED) and not p.is_symlink():
            original = parent / p.name[len(_RETIRED):].rsplit("-", 1)[0]
            if original.exists() and owned(p):  # a finished commit's leftover
                remove_tree(p)
                removed.append(p)
    return removed


def _children(parent: Path) -> Iterator[Path]:
    try:
        yield from parent.iterdir()
    except OSError:
        return
