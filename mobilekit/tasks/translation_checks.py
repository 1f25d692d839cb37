"""Translation's check: an (encoder, decoder) artifact pair greedy-decodes the held-out sentences
and must reproduce torch's tokens; exact match, BLEU and logit parity along the matching paths
are recorded beside the verdict (mobilekit.verify.verdict's token rule, near-ties allowed)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import bundle as bundle_mod
from ..errors import CheckError
from ..targets.base import Unverifiable
from ..verify import verdict
from . import decoding, translation_source
from .seq2seq_split import Shapes

GRAPHS = ("encoder", "decoder")


def check_pair(key: str, found: list, tgts, specs, cfg, bundle: Path, tok, pairs, reference, shapes: Shapes, progress,
                torch_scores: dict | None = None, extra_refs: list | None = None) -> list[dict]:
    by_graph = {g: (rec, log) for g, rec, log in found}
    entries = {}
    runners = {}
    unverifiable = None
    for g, (rec, log) in by_graph.items():
        target = tgts[rec.target]
        path = bundle / rec.path
        entry = rec.to_dict()
        entry.update(graph=g, sha256=bundle_mod.sha256(path), size_bytes=bundle_mod.size_bytes(path))
        if log.is_relative_to(bundle):
            entry["log"] = log.relative_to(bundle).as_posix()
        entries[g] = entry
        try:
            entry["structure"] = target.check_structure(rec, bundle, specs[g])
        except CheckError as exc:
            entry.update(status="failed", error=f"structural check failed: {exc.one_line()}")
            continue
        try:
            runners[g] = target.runner(rec, bundle)
        except Unverifiable as exc:
            unverifiable = str(exc)
        except Exception as exc:  # a runtime that cannot load the file
            entry.update(status="failed", error=f"loading it failed: {type(exc).__name__}: {str(exc).strip()[:300]}")
    missing = [g for g in GRAPHS if g not in by_graph]
    if missing:
        for e in entries.values():
            e.setdefault("status", "failed")
            e.setdefault("error", f"the {missing[0]} graph of this variant was not made")
        return list(entries.values())
    if any(e.get("status") == "failed" for e in entries.values()):
        for e in entries.values():
            if "status" not in e:
                e.update(status="failed", error="the other graph of this pair failed")
        return list(entries.values())
    if len(runners) < len(GRAPHS):
        for e in entries.values():
            e.update(status="unverified", status_reason=unverifiable or "no host runtime")
        progress.done(f"verify {key}", f"unverified: {unverifiable}")
        return list(entries.values())

    precision = entries["decoder"]["precision"]
    try:
        figures = _decode_all(runners, tok, pairs, reference, shapes, precision, extra_refs or [])
    except Exception as exc:
        for e in entries.values():
            e.update(status="failed", error=f"running it failed: {type(exc).__name__}: {str(exc).strip()[:300]}")
        return list(entries.values())
    need = cfg.translation.min_token_exact if precision == "fp32" else cfg.translation.min_token_exact_compressed
    runtime = getattr(runners["decoder"], "runtime", None) or entries["decoder"]["target"]
    judged = verdict.token_exact_verdict(figures["judgements"], need)
    metrics = {**figures["metrics"], **{k: v for k, v in judged.items() if k != "passed"}, "verdict_rule": verdict.RULE}
    if torch_scores and torch_scores.get("bleu") is not None:  # the drop from torch's own greedy output (positive = worse than torch)
        metrics.update(bleu_drop=round(torch_scores["bleu"] - metrics["bleu"], 3),
                       exact_match_drop=round(torch_scores["exact_match"] - metrics["exact_match"], 4))
    for g, e in entries.items():
        e["parity"] = figures["parity"][g]
        # "decoding", not "metrics": the classification tools read metrics.top1 from that key
        e["decoding"] = metrics
        e["verified_by"] = runtime
        e.update(verdict.compute_facts(runners[g], precision))
        if not judged["passed"]:
            e.update(status="failed", error=f"greedy decoding matched torch on {judged['token_exact_with_ties']:.2%} of "
                                             f"{judged['sentences']} sentences < {need:.0%}; {_moved(figures['judgements'])}")
        else:
            e["status"] = "verified"
    if entries["decoder"]["status"] == "failed":
        progress.warn(f"{key}: {entries['decoder']['error']}")
    else:
        ties = f" ({judged['ties']} near-tie flip(s))" if judged["ties"] else ""
        bleu = f", BLEU {metrics['bleu']:.1f}" if metrics.get("bleu") is not None else ""
        progress.done(f"verify {key}", f"token-exact {metrics['token_exact']:.2%}{ties}{bleu}")
    return list(entries.values())


def _decode_all(runners, tok, pairs, reference, shapes: Shapes, precision: str = "fp32", extra_refs=()) -> dict:
    """Greedy-decode the held-out sentences (and the golden extras) and judge each against torch's path."""
    enc_diff, logit_diff, cos = [], [], []
    ids_all = []
    judgements = []
    seconds, steps = 0.0, 0
    for i, ref in enumerate(list(reference) + list(extra_refs)):
        src = ref["source_ids"]
        e = runners["encoder"]({"source_ids": np.asarray([src], np.int32)})
        for name, value in ref["encoder"].items():
            enc_diff.append(np.abs(np.asarray(e[name], np.float32) - value).max())
        t0 = time.perf_counter()
        d = decoding.greedy(runners["encoder"], runners["decoder"], src, shapes, collect_logits=True)
        seconds += time.perf_counter() - t0
        steps += len(d.ids)
        if i < len(reference):
            ids_all.append(d.ids)
        judgements.append({"sentence": i, **verdict.sequence_judgement(ref["ids"], d.ids, verdict.step_margins(ref["logits"]), precision)})
        if d.ids == ref["ids"]:
            got = np.stack(d.step_logits)
            logit_diff.append(np.abs(got - ref["logits"]))
            a, b = got.reshape(-1).astype(np.float64), ref["logits"].reshape(-1).astype(np.float64)
            cos.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30)))
    scores_ = scores(tok, ids_all, pairs)
    dec_parity: dict = {"compared": "decoder logits along the greedy paths that match torch's", "paths": len(logit_diff)}
    if logit_diff:
        dec_parity.update(max_abs=float(max(x.max() for x in logit_diff)), mean_abs=float(np.mean([x.mean() for x in logit_diff])),
                          cosine=float(min(cos)))
    enc_parity = {"max_abs": float(max(enc_diff)), "compared": "cross keys/values and source bias"}
    # host figure while verifying (encoder included, 2 threads); bench/kv_cache.py measures properly
    metrics = {"sentences": len(judgements), **scores_, "ms_per_token": round(seconds * 1000 / max(steps, 1), 4),
               "differences": [j for j in judgements if j["outcome"] != "exact"][:20]}
    return {"metrics": metrics, "parity": {"encoder": enc_parity, "decoder": dec_parity}, "judgements": judgements}


def _moved(judgements: list[dict]) -> str:
    """Where the first real difference is: sentence, step, tokens and torch's own margin there."""
    diff = [j for j in judgements if j["outcome"] == "different"]
    if not diff:
        return "no sentence differs beyond a near-tie"
    j = diff[0]
    gap = f", torch's top-2 gap {j['torch_gap']:.3g}" if "torch_gap" in j else ""
    return (f"{len(diff)} sentence(s) differ; first: sentence {j['sentence']} step {j['step']} "
            f"torch token {j['torch_token']} vs {j['artifact_token']}{gap}")


def scores(tok, ids_all: list[list[int]], pairs) -> dict:
    import sacrebleu

    hyps = [translation_source.decode(tok, ids) for ids in ids_all]
    refs = [r for _, r in pairs]
    if any(r is None for r in refs):  # a text file without references: no BLEU, token-exactness still judged
        return {"exact_match": None, "bleu": None}
    return {"exact_match": sum(h == r for h, r in zip(hyps, refs)) / len(refs),
            "bleu": round(sacrebleu.corpus_bleu(hyps, [refs], force=True).score, 3)}
