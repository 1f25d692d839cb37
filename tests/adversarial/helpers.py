"""Helpers of the hostile-input suite: a CLI runner, the one-line contract, a config writer."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from click.testing import CliRunner

TESTS = Path(__file__).resolve().parents[1]

HERE = Path(__file__).parent

# tiny_models.TinyNet: 3 logits from a [1, 3, 8, 8] image
TINY = """\
name = "tiny"
source = "tiny_models:build"
output_dir = "dist"
targets = ["onnx"]
latency_runs = 0
[verify]
samples = 4
[[inputs]]
name = "image"
shape = [1, 3, 8, 8]
[[outputs]]
name = "logits"
"""


def cli(*args, cwd: Path | None = None):
    """`mobilekit ARGS` in this process (cwd as given); returns click's Result."""
    from mobilekit.cli import main

    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    except SystemExit as exc:  # _handle_errors exits itself
        raise AssertionError(f"unexpected SystemExit {exc.code}") from None
    finally:
        os.chdir(old)


def error_line(result, code: int) -> str:
    """Assert the exit code and the contract: exactly one `error:` line, no traceback; return it."""
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out, out
    errors = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, out
    assert "internal error" not in errors[0], out
    return errors[0]


def write_config(folder: Path, extra: str = "", base: str = TINY, name: str = "mobilekit.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    top, _, rest = base.partition("[verify]")
    p = folder / name
    p.write_text(top + extra + "\n[verify]" + rest if extra else base)
    return p


def env_with_tests() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(HERE), os.environ.get("PYTHONPATH", "")]))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder with its bytes (links as their target text), to prove it was left untouched."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = b"-> " + os.fsencode(os.readlink(p))
        elif p.is_file():
            out[rel] = p.read_bytes()
    return out


def python() -> str:
    return sys.executable
