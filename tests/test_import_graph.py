"""Dependencies point one way: no import cycles inside mobilekit, at module or function level.

Data flows source → capture → compress → convert → verify → bundle; a cycle means two modules
know each other and neither can change alone. Function-level imports (used to keep `import
mobilekit` light) count too: they are the same dependency, only later.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mobilekit"
GENERATED = {"mobilekit.targets.tflite._schema.metadata_schema_generated"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py") if _module_name(p) not in GENERATED}


def _resolve(current: str, is_pkg: bool, level: int, module: str | None) -> str:
    base = current.split(".") if is_pkg else current.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def graph() -> dict[str, set[str]]:
    mods = _modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_pkg, node.level, node.module) if node.level else (node.module or "")
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                # the deepest mobilekit module the import names
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("mobilekit") and not name.startswith(t + "."):
                    edges[name].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_real_imports():
    edges = graph()
    assert "mobilekit.tasks.base" in edges["mobilekit.pipeline"]
    assert "mobilekit.verify.verdict" in edges["mobilekit.tasks.classification"]
    assert "mobilekit.targets.base" in edges["mobilekit.targets.onnx.target"]


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + " | ".join(" ↔ ".join(c) for c in found)


CONVERTERS = ("mobilekit.targets.onnx", "mobilekit.targets.tflite", "mobilekit.targets.coreml", "mobilekit.targets.executorch")


@pytest.mark.parametrize("low, high", [
    ("mobilekit.config", CONVERTERS),  # config reads the registry (targets.base), never a converter
    ("mobilekit.verify", CONVERTERS + ("mobilekit.pipeline", "mobilekit.tasks.classification_checks")),  # verify compares; it converts nothing
    ("mobilekit.bench", CONVERTERS),  # the bench asks a target through its protocol
    ("mobilekit.targets", ("mobilekit.pipeline", "mobilekit.tasks.classification_checks", "mobilekit.tasks")),
    ("mobilekit.tasks", ("mobilekit.pipeline",)),  # a task adds to the pipeline; it never drives it
    # the pipeline knows tasks only through the registry and the protocol: no task's own module
    ("mobilekit.pipeline", ("mobilekit.tasks.classification", "mobilekit.tasks.translation", "mobilekit.tasks.hf",
                            "mobilekit.tasks.classification_checks", "mobilekit.verify", "mobilekit.debug")),
])
def test_layers_do_not_reach_up(low, high):
    edges = graph()
    bad = sorted(f"{m} → {t}" for m, ts in edges.items() if m.startswith(low) for t in ts if t.startswith(high))
    assert not bad, bad
