"""The non-Python tools the app and harness checks use: kotlinc/ktlint (npm, see .ci/run) and
tree-sitter-swift. Shared by tests/bench and tests/demo_apps."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / ".tools" / "node_modules"


def tool(name: str) -> str | None:
    """kotlinc / ktlint from .tools/node_modules (see .ci/run), or from PATH."""
    local = {"kotlinc": TOOLS / "kotlin-compiler" / "bin" / "kotlinc", "ktlint": TOOLS / ".bin" / "ktlint"}.get(name)
    if local is not None and local.exists():
        return str(local)
    return shutil.which(name)


def require_tool(name: str) -> str:
    """The tool's path; in CI a missing tool fails the test, elsewhere it skips it."""
    path = tool(name)
    if path is None:
        message = f"{name} is not installed (npm install into .tools, see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def swift_errors(source: bytes) -> list[str]:
    """Where tree-sitter-swift finds a syntax error or a missing node: `line:col type`."""
    import tree_sitter_swift
    from tree_sitter import Language, Parser

    tree = Parser(Language(tree_sitter_swift.language())).parse(source)
    found = []

    def walk(node):
        if node.type == "ERROR" or node.is_missing:
            found.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} {node.type}")
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found


KOTLIN_CORE = Path(__file__).resolve().parents[1] / "mobile" / "kotlin"


@functools.cache
def kotlin_core_jar() -> Path:
    """The shared Kotlin core (mobile/kotlin: main + its JVM check programs) compiled once per
    test session (one kotlinc call, ~45-100 s), for the demo-app and the harness tests alike."""
    kotlinc = require_tool("kotlinc")
    sources = sorted(KOTLIN_CORE.joinpath("src/main").rglob("*.kt")) + sorted(KOTLIN_CORE.joinpath("src/test").rglob("*.kt"))
    jar = Path(tempfile.mkdtemp(prefix="mobilekit-kotlin-")) / "core.jar"
    proc = subprocess.run([kotlinc, *map(str, sources), "-include-runtime", "-d", str(jar)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return jar


def run_kotlin(main_class: str, *args: str | Path) -> str:
    """Run one of the core's check programs (`dev.mobilekit.core.XxxKt`) and return its stdout."""
    proc = subprocess.run(["java", "-cp", str(kotlin_core_jar()), main_class, *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
