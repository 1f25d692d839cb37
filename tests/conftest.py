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
