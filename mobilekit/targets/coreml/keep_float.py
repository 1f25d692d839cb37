"""Re-compress a Core ML package with named ops' weights left float (op_name_configs → None).

Core ML compression here is weight-only (activations stay in the program's float precision), so
keeping a tensor's layer in float means leaving the weights of the op that computes it
uncompressed. The package is compressed again from the shipped uncompressed package of the same
base precision (the fp16 or fp32 variant); without one in the bundle the fallback is not offered.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..base import ArtifactRecord, KeepFloat

# MIL ops that read a weight const (what weight compression changes)
WEIGHT_OPS = {"conv", "conv_transpose", "linear", "matmul", "einsum", "gather", "lstm", "gru", "rnn"}
_COPIED = ("author", "license", "short_description", "version")


def uncompressed_sibling(record: ArtifactRecord, bundle_dir: Path, base_precision: str) -> Path | None:
    """The bundle's package of this base precision with no weight compression, if it has one."""
    import coremltools as ct

    want = "fp16" if base_precision == "float16" else "fp32"
    for pkg in sorted((Path(bundle_dir) / Path(record.path).parent).glob("*.mlpackage")):
        meta = ct.models.MLModel(str(pkg), skip_model_load=True).user_defined_metadata
        if meta.get("mobilekit.variant") == want and meta.get("mobilekit.compression") in ("[]", None):
            return pkg
    return None


class CoreMLKeepFloat(KeepFloat):
    def __init__(self, record: ArtifactRecord, bundle_dir: Path, base: Path, plan):
        self.record = record
        self.path = Path(bundle_dir) / record.path
        self.base = base
        self.plan = plan

    def region(self, tensor: str) -> list[str]:
        from ...verify.coreml_interp.divergence import base_name
        from ...verify.coreml_interp.program import load

        program, _ = load(self.base)
        return [s.name for s in program.steps
                if s.op_type in WEIGHT_OPS and any(base_name(name) == tensor for name, _ in s.outputs)]

    def requantize(self, layers: list[str]) -> None:
        import coremltools as ct

        from .metadata import save_package
        from .plans import _compress

        user = next((c for c in self.record.compression if c.get("by") == "compression.keep_float"), None)
        layers = list(dict.fromkeys([*(user or {}).get("kept_float", []), *layers]))  # what the user kept stays kept
        old = ct.models.MLModel(str(self.path), skip_model_load=True)
        model, _notes = _compress(ct.models.MLModel(str(self.base), skip_model_load=True), self.plan, keep_float=layers)
        for attr in _COPIED:  # the variant's own description, not the base's
            setattr(model, attr, getattr(old, attr))
        for name in old.input_description:
            model.input_description[name] = old.input_description[name]
        for name in old.output_description:
            model.output_description[name] = old.output_description[name]
        meta = model.user_defined_metadata
        for key, value in old.user_defined_metadata.items():
            meta[key] = value
        meta["mobilekit.kept_float"] = json.dumps(layers)
        save_package(model, self.path)


def ops_for_nodes(model, program: str | Path, names: list[str]) -> dict:
    """`[compression] keep_float` (torch node / module names) as the Core ML ops whose weights stay
    float. coremltools converts the capture after `run_decompositions` and names each MIL value
    after the node of that graph that computes it (a batch norm is `_native_batch_norm_legit…`,
    the decomposed node's `from_node` says which capture node it came from). A conv folded with
    the batch norm after it is the op named after the batch norm (`fused`); a node with no weight
    op (a relu, a pool: weight-only compression leaves it float anyway) is under `not_matched`."""
    import torch

    from ...verify.coreml_interp.divergence import base_name
    from ..base import capture_graph, resolve_keep_float

    nodes = resolve_keep_float(capture_graph(program), names)
    decomposed = torch.export.load(str(program)).run_decompositions({}).graph
    weight_op = {base_name(out.name): op.name for op in model._mil_program.functions["main"].operations  # noqa: SLF001
                 if op.op_type in WEIGHT_OPS for out in op.outputs}
    kept, fused, not_matched = [], {}, []
    for t in nodes:
        hits = []
        for d in decomposed.nodes:
            if d.name != t and t not in {f.name for f in d.meta.get("from_node") or []}:
                continue
            # its own weight op, or the one it was folded into (its single reader: conv → batch norm)
            folded = next(iter(d.users)).name if len(d.users) == 1 else None
            if d.name in weight_op:
                hits.append(d.name)
            elif folded in weight_op:
                hits.append(folded)
        if not hits:
            not_matched.append(t)
            continue
        if hits != [t]:
            fused[t] = hits[0]
        kept += [weight_op[h] for h in hits]
    return {"nodes": nodes, "kept_float": list(dict.fromkeys(kept)), "fused": fused, "not_matched": not_matched,
            **({"note": "Core ML compresses weights only: a listed node without weights is float already"} if not_matched else {})}
