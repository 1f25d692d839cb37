import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))  # tiny_models is importable as a factory module


@pytest.fixture
def tiny_config(tmp_path):
    import tiny_models

    return tiny_models.config(tmp_path)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder with its bytes, to prove a bundle was left untouched."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def translator_export(tmp_path_factory):
    """`mobilekit export` of the shipped translator (what `make demo` runs), once per session, with
    the network blocked: (the finished process, the network log, the bundle's path). Shared by the
    translation tests and the demo apps' tests, which check their cores against its golden vectors."""
    import subprocess

    from netblock import blocked_env

    tmp = tmp_path_factory.mktemp("translator")
    env, log = blocked_env(tmp)
    out = subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(ROOT / "examples/translation/mobilekit.toml"),
                          "--output", str(tmp / "dist")], env=env, capture_output=True, text=True, timeout=1500)
    return out, log, tmp / "dist" / "translator"
