import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))  # tiny_models is importable as a factory module

# Tests import TensorFlow and torch.export in one process: with a torch that brings triton (its
# CUDA wheels), triton must load first (mobilekit/_native.py). No-op with the pinned CPU torch.
from mobilekit._native import before_tensorflow  # noqa: E402

before_tensorflow()


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


# What enables each group of skipped tests: printed once at the end of a run, so that a local
# `make test` says what it did not run (.ci/run installs the apt ones in CI).
_ENABLERS = (
    ("kotlinc", "Kotlin tests", "make tools  (npm: kotlin-compiler, ktlint into .tools/)"),
    ("ktlint", "Kotlin tests", "make tools  (npm: kotlin-compiler, ktlint into .tools/)"),
    ("java", "Kotlin tests", "sudo apt-get install openjdk-17-jre-headless"),
    ("chromium", "report rendering", "sudo apt-get install chromium"),
    ("flatc", "TFLite metadata schema check", "sudo apt-get install flatbuffers-compiler"),
    ("core ml runtime", "Core ML runtime (macOS only)", None),
    ("swift toolchain", "Swift tests (macOS CI job)", None),
)


def pytest_terminal_summary(terminalreporter):
    groups: dict[tuple[str, str | None], int] = {}
    for rep in terminalreporter.stats.get("skipped", []):
        reason = str(rep.longrepr[2] if isinstance(rep.longrepr, tuple) else rep.longrepr).lower()
        for key, group, enable in _ENABLERS:
            if key in reason:
                groups[(group, enable)] = groups.get((group, enable), 0) + 1
                break
    if not groups:
        return
    terminalreporter.write_sep("-", "skipped groups and what enables them")
    for (group, enable), n in sorted(groups.items()):
        terminalreporter.write_line(f"{n:4d} {group}: " + (f"enable with `{enable}`" if enable else "cannot run on this host"))


def torch_range() -> str:
    """The torch range pyproject.toml declares, as package metadata writes it (lower end first)."""
    import re
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if re.match(r"torch\b", d))[len("torch"):]
    return ",".join(sorted(spec.split(","), key=lambda c: not c.startswith(">")))
