"""One export of the shipped outliers example per session (examples/outliers: the digits CNN with
outlier channels, where plain int8 breaks), shared by the debugger's tests. Its int8 artifacts
fail, so the export exits 1 with the bundle written."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "examples/outliers/mobilekit.toml"


@pytest.fixture(scope="session")
def outliers_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outliers")
    proc = subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(CONFIG), "--output", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]  # the int8 artifacts fail, as they should
    return out / "outliers"


def run_debug(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mobilekit", "debug", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900)
