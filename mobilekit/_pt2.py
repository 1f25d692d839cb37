"""Read a torch.export `.pt2` without running code from it.

`torch.export.load` runs code from the archive in several places: pickled weights/constants
(`use_pickle`, `custom_obj_*`, `opaque_obj_*`, the legacy `weights/<m>.pt`), sample inputs
(it retries `torch.load(weights_only=False)` when the safe load fails), symbolic shapes
(`expr_str` goes through `sympy.sympify`, i.e. `eval`), graph targets (`torch.<any attribute>`,
so `torch.os.system` is a valid node) and `guards_code` (compiled with `exec` by `ep.module()`).
Every one of those is checked here before torch sees the file; the bytes are read once, so the
file checked is the file loaded. AOTInductor entries are never loaded on this path.
"""

from __future__ import annotations

import ast
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any, Iterator

from ._imports import first_line
from .errors import SourceError, UserError

_REFUSE_HINT = "Re-save it with torch.export.save from plain tensors, or pass --trust-pickle if you trust this file."
_SYMBOL = re.compile(r"[a-z]+[0-9]+\Z")  # s0, s77, u3: how torch names shape symbols
_SYMPY_NAMES = frozenset(
    "Symbol Integer Rational Float Max Min Mod floor ceiling Abs sqrt Eq Ne Lt Le Gt Ge And Or Not "
    "Piecewise ITE oo zoo nan true false True False None "
    "FloorDiv ModularIndexing Where PythonMod CleanDiv CeilToInt FloorToInt CeilDiv LShift RShift "
    "PowByNatural FloatPow FloatTrueDiv IntTrueDiv IsNonOverlappingAndDenseIndicator TruncToFloat "
    "TruncToInt RoundToInt RoundDecimal ToFloat Identity OpaqueUnaryFn_sqrt".split()
)
_EXPR_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.keyword, ast.Name,
    ast.Constant, ast.Load, ast.Tuple, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)
_OP_NAMESPACES = frozenset({"aten", "prims", "higher_order", "quantized_decomposed", "quantized", "torchao"})
_PY_FUNCS = {
    "_operator": frozenset("getitem add sub mul truediv floordiv mod pow neg pos abs invert eq ne lt le gt ge and_ or_ xor not_ lshift rshift".split()),
    "math": frozenset("sqrt floor ceil trunc exp log pow".split()),
}


def read_pt2(path: Path, *, trust_pickle: bool):
    """The `model` ExportedProgram of a .pt2; untrusted files are checked entry by entry first."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}", hint="Check the file's permissions.") from None
    if not data:
        raise SourceError(f"{path} is empty (0 bytes)", hint="Re-save it with torch.export.save.")
    zf = _open_zip(path, data)
    top = set(zf.namelist())
    if "version" in top and "serialized_exported_program.json" in top:  # the old, flat layout
        if not trust_pickle:
            raise UserError(f"{path} is in the pre-2.8 torch.export format, whose tensors are pickled (serialized_state_dict.pt)", hint=_REFUSE_HINT)
        return _torch_load(path, data)
    entries = _entries(path, zf)
    if entries.get("archive_format") is None:
        raise SourceError(f"{path} is not a torch.export archive (no archive_format entry)", hint="Re-save it with torch.export.save.")
    if _member(path, zf, entries["archive_format"], "archive_format") != b"pt2":
        raise SourceError(f"{path} is not a torch.export archive (archive_format is not pt2)", hint="Re-save it with torch.export.save.")
    if "models/model.json" not in entries:
        raise SourceError(f"{path} holds no `model` program (models/model.json)", hint="Save the program with torch.export.save(ep, path).")
    if trust_pickle:
        return _torch_load(path, data)
    sample_inputs = _check(path, zf, entries)
    return _deserialize(path, data, sample_inputs)


def _open_zip(path: Path, data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError):  # NotImplementedError: "zip file version 6.4"
        raise SourceError(f"{path} is not a torch.export archive (not a zip file)", hint="Re-save it with torch.export.save.") from None


def _entries(path: Path, zf: zipfile.ZipFile) -> dict[str, str]:
    """Archive record name (without torch's top folder) -> zip member name."""
    names = zf.namelist()
    roots = {n.split("/", 1)[0] for n in names}
    if len(roots) != 1 or any("/" not in n for n in names):
        raise SourceError(f"{path} is not a torch.export archive (its entries are not in one top folder)", hint="Re-save it with torch.export.save.")
    return {n.split("/", 1)[1]: n for n in names}


def _member(path: Path, zf: zipfile.ZipFile, member: str, rec: str) -> bytes:
    try:
        return zf.read(member)
    except Exception as exc:  # BadZipFile (CRC, header), zlib.error, EOFError... from a damaged member
        raise SourceError(f"{path}: entry {rec} is damaged ({type(exc).__name__})", hint="Re-save it with torch.export.save.") from None


def _read_json(path: Path, zf: zipfile.ZipFile, member: str, rec: str) -> Any:
    raw = _member(path, zf, member, rec)
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise SourceError(f"{path}: entry {rec} is not readable JSON ({first_line(exc)[:80]})", hint="Re-save it with torch.export.save.") from None


def _check(path: Path, zf: zipfile.ZipFile, entries: dict[str, str]):
    """Refuse, naming them, the entries torch would unpickle or evaluate; returns the sample inputs."""
    problems: list[str] = []
    models = [r[len("models/"):-len(".json")] for r in entries if r.startswith("models/") and r.endswith(".json")]
    for m in models:
        program = _read_json(path, zf, entries[f"models/{m}.json"], f"models/{m}.json")
        if not isinstance(program, dict):
            raise SourceError(f"{path}: entry models/{m}.json is not a program", hint="Re-save it with torch.export.save.")
        problems += _program_problems(program, f"models/{m}.json")
        for kind in ("weights", "constants"):
            legacy = f"data/{kind}/{m}.pt"
            if legacy in entries:
                problems.append(f"{legacy} (legacy pickled {kind})")
            cfg_rec = f"data/{kind}/{m}_{kind}_config.json"
            if cfg_rec not in entries:
                if legacy not in entries:
                    raise SourceError(f"{path} has no {cfg_rec}", hint="Re-save it with torch.export.save.")
                continue
            config = _read_json(path, zf, entries[cfg_rec], cfg_rec)
            problems += _payload_problems(config, kind, path, cfg_rec)
    sample_inputs = None
    rec = "data/sample_inputs/model.pt"
    if rec in entries:
        sample_inputs = _safe_sample_inputs(_member(path, zf, entries[rec], rec))
        if sample_inputs is None:
            problems.append(f"{rec} (pickled Python objects)")
    if problems:
        shown = ", ".join(problems[:4]) + (f" and {len(problems) - 4} more" if len(problems) > 4 else "")
        raise UserError(f"{path} has entries that would run code when loaded: {shown}", hint=_REFUSE_HINT)
    return sample_inputs


def _payload_problems(config: Any, kind: str, path: Path, rec: str) -> list[str]:
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict):
        raise SourceError(f"{path}: {rec} has no `config` table", hint="Re-save it with torch.export.save.")
    out = []
    for fqn, meta in entries.items():
        if not isinstance(meta, dict) or not isinstance(meta.get("path_name"), str):
            raise SourceError(f"{path}: {rec} entry {fqn!r} has no path_name", hint="Re-save it with torch.export.save.")
        name = meta["path_name"]
        where = f"data/{kind}/{name} ({fqn}"
        if meta.get("use_pickle"):
            out.append(f"{where}, use_pickle)")
        elif name.startswith("custom_obj_"):
            out.append(f"{where}, a pickled TorchScript object)")
        elif name.startswith("opaque_obj_"):
            out.append(f"{where}, a pickled Python object)")
    return out


def _walk(obj: Any) -> Iterator[dict]:
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            yield cur
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def _program_problems(program: dict, rec: str) -> list[str]:
    out = []
    if program.get("guards_code"):
        out.append(f"{rec} guards_code (Python source run by ep.module())")
    seen: set[str] = set()
    for d in _walk(program):
        expr = d.get("expr_str")
        if isinstance(expr, str) and expr not in seen:
            seen.add(expr)
            if not _safe_expr(expr):
                out.append(f"{rec} shape expression {expr[:60]!r} (evaluated by sympy)")
        target = d.get("target")
        if isinstance(target, str) and "inputs" in d and target not in seen:
            seen.add(target)
            if not _safe_target(target):
                out.append(f"{rec} node target {target[:60]!r} (not a torch operator)")
    return out


def _safe_expr(expr: str) -> bool:
    """Only sympy arithmetic on shape symbols: no attributes, subscripts, or other names."""
    if len(expr) > 10_000:
        return False
    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _EXPR_NODES):
            return False
        if isinstance(node, ast.Name) and node.id not in _SYMPY_NAMES and not _SYMBOL.match(node.id):
            return False
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _SYMPY_NAMES):
            return False
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and not _SYMBOL.match(node.value):
            return False
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            return False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) and isinstance(node.right.value, int) and abs(node.right.value) > 64:
            return False  # 9**9**9 would hang sympy
    return True


def _safe_target(target: str) -> bool:
    parts = target.split(".")
    if parts[0] in _PY_FUNCS:
        return len(parts) == 2 and parts[1] in _PY_FUNCS[parts[0]]
    # torch.ops.<namespace>.<op>[.<overload>]; `torch.<anything>` would be called as-is.
    return len(parts) in (4, 5) and parts[:2] == ["torch", "ops"] and parts[2] in _OP_NAMESPACES and all(p.isidentifier() and not p.startswith("__") for p in parts[3:])


def _safe_sample_inputs(raw: bytes):
    import torch

    if not raw:
        return ()
    try:
        value = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception:  # weights_only refuses anything but tensors and containers
        return None
    return value if isinstance(value, (tuple, dict)) else None


def _deserialize(path: Path, data: bytes, sample_inputs):
    """torch's own reader, handed the pre-loaded sample inputs so it never calls torch.load."""
    from torch._export.serde import schema
    from torch._export.serde.serialize import ExportedProgramDeserializer, _bytes_to_dataclass
    from torch.export.pt2_archive import _package as pkg

    try:
        with pkg.PT2ArchiveReader(io.BytesIO(data)) as reader:
            program = _bytes_to_dataclass(schema.ExportedProgram, reader.read_bytes("models/model.json"))
            state_dict = pkg._load_state_dict(reader, "model")
            constants = pkg._load_constants(reader, "model")
            return ExportedProgramDeserializer(None).deserialize(program, state_dict, constants, sample_inputs if sample_inputs is not None else b"")
    except MemoryError:
        raise SourceError(f"{path} declares tensors too large to load", hint="Check the file; re-save it with torch.export.save.") from None
    except Exception as exc:
        raise SourceError(f"{path} is not a readable torch.export file: {type(exc).__name__}: {first_line(exc)[:160]}", hint="Re-save it with torch.export.save (same torch version).") from None


def _torch_load(path: Path, data: bytes):
    """The opted-in path: torch's loader as is, minus its multi-line warning on failure."""
    import logging

    import torch

    logs = [logging.getLogger(n) for n in ("torch.export", "torch._export")]
    old = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    try:
        return torch.export.load(io.BytesIO(data))
    except Exception as exc:  # an opted-in pickle may raise anything while it runs
        raise SourceError(f"{path} is not a readable torch.export file: {type(exc).__name__}: {first_line(exc)[:160]}", hint="Re-save it with torch.export.save.") from None
    finally:
        for log, level in zip(logs, old):
            log.setLevel(level)
