"""Reading a translation bundle's golden vectors back: for `mobilekit verify` and `bench`.

A translation bundle has no classification `golden/index.json`: its golden vectors are
sentences (`assets/golden/translation.json`). `reverify` greedy-decodes them again with every
runnable (encoder, decoder) pair; `graph_feeds` gives one graph a valid input set to time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import BundleError
from .seq2seq_split import Shapes
from .tokenizer import SPECIAL


def shapes(manifest: dict) -> Shapes:
    t = manifest["translation"]
    c = t["cache"]
    return Shapes(t["vocab_size"], t["max_source_len"], t["max_target_len"], c["layers"], c["heads"], c["head_dim"])


def load(bundle) -> dict:
    rel = bundle.manifest["translation"].get("golden", "assets/golden/translation.json")
    path = Path(bundle.path) / rel
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{bundle.path} has no readable translation golden vectors ({rel}: {exc})",
                          hint="Re-export the bundle.") from None


def graph_feeds(bundle, graph: str) -> dict[str, np.ndarray]:
    """Inputs for one graph: the first golden sentence (encoder) or the first decoder step."""
    s = shapes(bundle.manifest)
    src = load(bundle)["samples"][0]["source_ids"]
    if graph == "encoder":
        return {"source_ids": np.asarray([src], np.int32)}
    bias = np.where(np.asarray([src]) == SPECIAL["pad"], -1e4, 0.0).astype(np.float32)
    cross = np.zeros(s.cross(), np.float32)
    cache = np.zeros(s.cache(), np.float32)
    return {"token": np.array([[SPECIAL["bos"]]], np.int32), "position": np.array([0], np.int32),
            "cross_keys": cross, "cross_values": cross, "source_bias": bias, "past_keys": cache, "past_values": cache}


def reverify(bundle) -> list[dict]:
    """Decode every golden sentence again with each verified (target, variant) pair."""
    from ..targets import base as targets
    from ..targets.base import ArtifactRecord, Unverifiable
    from .decoding import greedy

    golden = load(bundle)["samples"]
    sh = shapes(bundle.manifest)
    pairs: dict[tuple[str, str], dict] = {}
    for a in bundle.artifacts:
        if a.get("status") == "verified" and a.get("graph"):
            pairs.setdefault((a["target"], a["variant"]), {})[a["graph"]] = a
    results = []
    for (target, variant), graphs in pairs.items():
        row = {"target": target, "variant": variant, "samples": len(golden)}
        try:
            tg = targets.get(target)
            run = {g: tg.runner(ArtifactRecord.from_dict(a), Path(bundle.path)) for g, a in graphs.items()}
        except Unverifiable as exc:
            results.append({**row, "status": "unverified", "status_reason": str(exc)})
            continue
        if set(run) != {"encoder", "decoder"}:
            results.append({**row, "status": "failed", "error": "the pair lacks a graph"})
            continue
        matched = sum(greedy(run["encoder"], run["decoder"], s["source_ids"], sh).ids == s["output_ids"] for s in golden)
        status = "verified" if matched == len(golden) else "failed"
        results.append({**row, "matched": matched, "status": status,
                        **({} if status == "verified" else {"error": f"{len(golden) - matched} golden sentence(s) decode differently"})})
    return results
