"""One real local sweep of the digits CNN (two ONNX candidates) per session, run through the CLI,
shared by the sweep tests (the Ray test compares its rows with these)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SPACE = {"onnx": ["fp32", "int8-dynamic"]}


def digits_toml(folder: Path) -> Path:
    """examples/digits/mobilekit.toml with absolute paths, a [sweep] section and output in `folder`."""
    text = (ROOT / "examples/digits/mobilekit.toml").read_text().replace('"../../', f'"{ROOT}/')
    text = text.replace(f'output_dir = "{ROOT}/dist"', f'output_dir = "{folder}/dist"')
    text += ('\n[sweep]\nbench_runs = 5\nselect = "smallest within 0.5 pt"\n[sweep.targets]\n'
             + "".join(f"{t} = {vs!r}\n".replace("'", '"') for t, vs in SPACE.items()))
    path = folder / "mobilekit.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def local_sweep(tmp_path_factory):
    """(the finished `mobilekit sweep` process, its config file, its sweep folder)."""
    tmp = tmp_path_factory.mktemp("sweep_local")
    toml = digits_toml(tmp)
    out = subprocess.run([sys.executable, "-m", "mobilekit", "sweep", "--config", str(toml), "--output", str(tmp / "sweep"),
                          "--workers", "2"], capture_output=True, text=True, timeout=900)
    return out, toml, tmp / "sweep"
