"""A task written only for the tests, to show the Task protocol is all a new task needs: a model
split into a feature graph and a head graph, each converted on its own, judged by chaining the
two artifacts of a variant against torch. Registered by the test with one line in the registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import tiny_models
from mobilekit.source import Loaded
from mobilekit.spec import ModelSpec, TensorSpec
from mobilekit.targets import base as targets
from mobilekit.tasks.base import Converted, Graph, Judged, Prepared
from mobilekit.verify import verdict

GRAPHS = ("features", "head")


class _Head(nn.Module):
    def __init__(self, fc: nn.Linear):
        super().__init__()
        self.fc = fc

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features.mean(dim=(2, 3)))


@dataclass(frozen=True)
class Refs:
    image: np.ndarray
    features: np.ndarray
    logits: np.ndarray


class TwoStage:
    name = "two_stage"
    tensor_golden = False

    def prepare(self, cfg, model, example_inputs, progress) -> Prepared:
        net = tiny_models.build()
        modules = {"features": nn.Sequential(net.conv, nn.ReLU()).eval(), "head": _Head(net.fc).eval()}
        io = {"features": (TensorSpec("image", [1, 3, 8, 8]), TensorSpec("features", [1, 4, 8, 8])),
              "head": (TensorSpec("features", [1, 4, 8, 8]), TensorSpec("logits", [1, 3]))}
        tgts = {name: targets.get(name) for name in cfg.targets}
        graphs = {}
        for g in GRAPHS:
            spec = ModelSpec(name=f"{cfg.name}-{g}", version=cfg.version, task=self.name, author=cfg.author, license=cfg.license,
                             description=g, inputs=[io[g][0]], outputs=[io[g][1]])
            graphs[g] = Graph(g, Loaded(modules[g], "module", f"two_stage ({g})"), spec)
        return Prepared(cfg, graphs, tgts, modules)

    def references(self, prep, captured, progress) -> Refs:
        image = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
        with torch.no_grad():
            features = prep.state["features"](torch.from_numpy(image))
            logits = prep.state["head"](features)
        return Refs(image, features.numpy(), logits.numpy())

    def calibration(self, prep, work):
        return None

    def fingerprints(self, prep, captured, refs):
        return None

    def judge(self, prep, refs: Refs, converted: Converted, captured, bundle_dir: Path, work: Path, progress) -> Judged:
        from mobilekit import bundle as bundle_mod

        pairs: dict[str, dict] = {}
        for g, results in converted.results.items():
            for res in results:
                for rec in res.records:
                    pairs.setdefault(f"{rec.target}/{rec.variant}", {})[g] = rec
        entries = []
        for found in pairs.values():
            runs = {g: prep.targets[rec.target].runner(rec, bundle_dir) for g, rec in found.items()}
            logits = runs["head"]({"features": runs["features"]({"image": refs.image})["features"]})["logits"]
            err = float(np.abs(np.asarray(logits) - refs.logits).max())
            for g, rec in found.items():
                e = rec.to_dict()
                e.update(graph=g, sha256=bundle_mod.sha256(bundle_dir / rec.path), size_bytes=bundle_mod.size_bytes(bundle_dir / rec.path),
                         parity={"max_abs": err, "compared": "the two graphs chained"}, verified_by=runs[g].runtime,
                         **verdict.compute_facts(runs[g], rec.precision))
                e.update(status="verified") if err < 1e-4 else e.update(status="failed", error=f"chained logits differ by {err:.3g}")
                entries.append(e)
        return Judged(entries)

    def write_assets(self, prep, refs: Refs, root: Path) -> None:
        golden = root / "assets" / "golden"
        golden.mkdir(parents=True, exist_ok=True)
        (golden / "two_stage.json").write_text(json.dumps({"logits": refs.logits.tolist()}))

    def manifest(self, prep, refs, judged) -> dict:
        specs = {g: prep.graphs[g].spec for g in GRAPHS}
        return {"inputs": [{"name": "image", "shape": [1, 3, 8, 8], "dtype": "float32"}],
                "outputs": [{"name": "logits", "shape": list(specs["head"].outputs[0].shape), "dtype": "float32"}],
                "two_stage": {"graphs": list(GRAPHS)}}

    def reverify(self, bundle, progress) -> dict:
        return {}
