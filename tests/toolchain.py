"""The non-Python tools the app and harness checks use: kotlinc/ktlint (npm, see .ci/run) and
tree-sitter-swift. Shared by tests/bench and tests/demo_apps."""

from __future__ import annotations

import os
import shutil
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
