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
    sp = t.get("special_tokens", {})
    start = t.get("decoder_start", {})  # Hugging Face bundles (tasks/hf); the shipped kind has fixed ids
    return Shapes(t["vocab_size"], t["max_source_len"], t["max_target_len"], c["layers"], c["heads"], c["head_dim"],
                  start=start.get("token", sp.get("bos", SPECIAL["bos"])), eos=sp.get("eos", SPECIAL["eos"]),
                  pad=sp.get("pad", SPECIAL["pad"]), forced_bos=start.get("forced_bos"), forced_eos=start.get("forced_eos"))


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
    bias = np.where(np.asarray([src]) == s.pad, -1e4, 0.0).astype(np.float32)
    cross = np.zeros(s.cross(), np.float32)
    cache = np.zeros(s.cache(), np.float32)
    return {"token": np.array([[s.start]], np.int32), "position": np.array([0], np.int32),
            "cross_keys": cross, "cross_values": cross, "source_bias": bias, "past_keys": cache, "past_values": cache}


def judged(bundle) -> tuple[list[dict], bool]:
    """The sentences export judged (translation.judged.json), else the golden samples of older bundles."""
    path = Path(bundle.path) / "assets" / "golden" / "translation.judged.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))["sentences"], True
        except (OSError, ValueError, KeyError) as exc:
            raise BundleError(f"{bundle.path}: {path.name} is unreadable ({exc})", hint="Re-export the bundle.") from None
    return [{"source_ids": s["source_ids"], "output_ids": s["output_ids"]} for s in load(bundle)["samples"]], False


def reverify(bundle) -> list[dict]:
    """Decode the sentences export judged again, with each verified pair, by export's own rule.

    The rule (verify/verdict.py): a sentence matches when its tokens equal torch's, or when the
    first difference sits on a step where torch itself was at a near-tie; the pair passes when the
    share of matches reaches the `min_token_exact` recorded for it at export.
    """
    from ..targets import base as targets
    from ..targets.base import ArtifactRecord, Unverifiable
    from ..verify import verdict
    from .decoding import greedy

    sentences, with_margins = judged(bundle)
    sh = shapes(bundle.manifest)
    pairs: dict[tuple[str, str], dict] = {}
    for a in bundle.artifacts:
        if a.get("status") == "verified" and a.get("graph"):
            pairs.setdefault((a["target"], a["variant"]), {})[a["graph"]] = a
    results = []
    for (target, variant), graphs in pairs.items():
        row = {"target": target, "variant": variant, "samples": len(sentences)}
        try:
            tg = targets.get(target)
            run = {g: tg.runner(ArtifactRecord.from_dict(a), Path(bundle.path)) for g, a in graphs.items()}
        except Unverifiable as exc:
            results.append({**row, "status": "unverified", "status_reason": str(exc)})
            continue
        if set(run) != {"encoder", "decoder"}:
            results.append({**row, "status": "failed", "error": "the pair lacks a graph"})
            continue
        dec = graphs["decoder"]
        decoding = dec.get("decoding") or {}
        # bundles from before the shared rule demanded every golden sentence
        need = decoding.get("min_token_exact", 1.0) if with_margins else 1.0
        judgements = []
        for i, s in enumerate(sentences):
            got = greedy(run["encoder"], run["decoder"], s["source_ids"], sh).ids
            margins = (s["step_gap"], s["step_spread"]) if with_margins else None
            judgements.append({"sentence": i, **verdict.sequence_judgement(s["output_ids"], got, margins, dec.get("precision", "fp32"))})
        v = verdict.token_exact_verdict(judgements, need)
        matched = sum(j["outcome"] != "different" for j in judgements)
        out = {**row, "matched": matched, "ties": v["ties"], "need": need,
               "differences": [j for j in judgements if j["outcome"] != "exact"][:20],
               "export_token_exact": decoding.get("token_exact_with_ties", decoding.get("token_exact"))}
        if v["passed"]:
            results.append({**out, "status": "verified"})
        else:
            first = next(j for j in judgements if j["outcome"] == "different")
            results.append({**out, "status": "failed",
                            "error": (f"{len(sentences) - matched} of {len(sentences)} sentence(s) decode differently "
                                      f"({v['token_exact_with_ties']:.2%} < {need:.0%}; at export "
                                      f"{out['export_token_exact'] if out['export_token_exact'] is not None else '?'}); first: "
                                      f"sentence {first['sentence']} step {first['step']} torch token {first['torch_token']} "
                                      f"vs {first['artifact_token']}")})
    return results
