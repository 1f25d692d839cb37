"""Which ops run in the delegate and which fall back to ExecuTorch's portable CPU kernels.

The figures come from ExecuTorch's own `get_delegation_info` on the lowered edge program. Its
node counts include `getitem` bookkeeping nodes (one per delegate output); the op-level figures
here leave those out, so "100 %" means every real op runs in the delegate.
"""

from __future__ import annotations

_BOOKKEEPING = {"getitem"}


def report(edge_program, backend: str) -> dict:
    """The delegation facts of one lowered program (for the artifact's `details`)."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(edge_program.graph_module)
    delegated: dict[str, int] = {}
    fallback: dict[str, int] = {}
    for op, row in sorted(info.delegation_by_operator.items()):
        if op in _BOOKKEEPING:
            continue
        if row.delegated:
            delegated[op] = int(row.delegated)
        if row.non_delegated:
            fallback[op] = int(row.non_delegated)
    n_del, n_fb = sum(delegated.values()), sum(fallback.values())
    total = n_del + n_fb
    return {
        "backend": backend,
        "delegated_subgraphs": int(info.num_delegated_subgraphs),
        "delegated_nodes": int(info.num_delegated_nodes),  # ExecuTorch's counts, getitem included
        "non_delegated_nodes": int(info.num_non_delegated_nodes),
        "delegated_ops": n_del,
        "fallback_ops": n_fb,
        "delegated_percent": round(100.0 * n_del / total, 1) if total else 100.0,
        "fallback_op_types": fallback,  # op type → count, on the portable CPU kernels
        "delegated_op_types": delegated,
        "source": "executorch.devtools.backend_debug.get_delegation_info",
    }


def summary(rep: dict) -> str:
    """`XNNPACK runs 100.0% of ops (21 of 21, 1 subgraph); falls back: none`."""
    total = rep["delegated_ops"] + rep["fallback_ops"]
    falls = ", ".join(f"{op} ×{n}" for op, n in rep["fallback_op_types"].items()) or "none"
    subgraphs = rep["delegated_subgraphs"]
    return (f"{rep['backend']} runs {rep['delegated_percent']:.1f}% of ops ({rep['delegated_ops']} of {total}, "
            f"{subgraphs} subgraph{'s' if subgraphs != 1 else ''}); falls back to portable CPU kernels: {falls}")


def delegation_summary(entry: dict) -> str:
    """One line for a manifest entry (`mobilekit inspect`); "" when it has no delegation report."""
    rep = (entry.get("details") or {}).get("delegation")
    if not rep:
        return ""
    return summary(rep)


def inspect_lines(manifest: dict) -> list[str]:
    """`mobilekit inspect`: one delegation line per ExecuTorch artifact of a bundle."""
    lines = []
    for a in manifest.get("artifacts", []):
        line = delegation_summary(a)
        if line:
            graph = f" {a['graph']}" if a.get("graph") else ""
            lines.append(f"  {a['target']}/{a['variant']}{graph}: {line}")
    return ["  delegation (ExecuTorch):", *lines] if lines else []
