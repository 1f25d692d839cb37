"""task = "translation": export a seq2seq model as an encoder graph and a decoder-step graph.

Reuses the classification machinery per graph: the same capture, the same target workers
(`conversion.convert_all`), the same staging/commit and manifest schema. What differs is the
check: each (encoder, decoder) artifact pair greedy-decodes the held-out sentences and must give
torch's tokens (`token_exact`); exact match and BLEU against the references are recorded too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import bundle as bundle_mod
from ..config import ExportConfig
from ..errors import CheckError, UserError
from ..progress import Progress, Silent
from ..targets.base import Unverifiable
from ..verify import verdict
from . import decoding, tokenizer as tok_mod, translation_source
from .seq2seq_split import Shapes, graphs, torch_runner

GRAPHS = ("encoder", "decoder")
# Golden sentences beyond the held-out ones, for the apps' tokenizers: capitals, unseen words
# (sub-word splits), a symbol the vocabulary lacks (<unk>), and truncation at max_source_len.
GOLDEN_EXTRA = (
    "The Teachers DON'T read my newspapers!",
    "a zebra eats the xylophone .",
    "my friend sees the red car and the small house and the old book and the new city and the green table .",
)


def export(cfg: ExportConfig, model: Any = None, progress: Progress | None = None) -> bundle_mod.Bundle:
    from .. import conversion
    from ..capture import capture
    from ..source import Loaded, input_paths
    from ..spec import ModelSpec, TensorSpec, with_output_shapes
    from ..targets import base as targets

    progress = progress or Silent()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    tc = cfg.translation
    src = translation_source.load(cfg, model)  # the shipped kind, or a Hugging Face encoder-decoder (tasks/hf)
    tok, net = src.tok, src.net
    loaded = Loaded(net, "module", src.origin)
    shapes = Shapes.of(net)
    for name in ("max_source_len", "max_target_len"):
        want = getattr(tc, name)
        if want is not None and want != getattr(shapes, name):
            raise UserError(f"translation.{name} is {want} but the model was built for {getattr(shapes, name)}",
                            hint=f"Set translation.{name} = {getattr(shapes, name)} or rebuild the model.")
    if src.hf is None and tok.get_vocab_size() != shapes.vocab_size:  # HF vocabularies may be padded (checked in hf.adapt)
        raise UserError(f"the tokenizer has {tok.get_vocab_size()} tokens but the model's vocabulary is {shapes.vocab_size}",
                        hint="Use the tokenizer the model was trained with.")
    pairs = translation_source.pairs(cfg)
    cfg = _tflite_from_torch(cfg)
    tgts = {name: targets.get(name) for name in cfg.targets}
    modules = graphs(net)
    io = {"encoder": shapes.encoder_io(), "decoder": shapes.decoder_io()}
    specs = {}
    for g in GRAPHS:
        ins, outs = io[g]
        specs[g] = ModelSpec(name=f"{cfg.name}-{g}", version=cfg.version, task="translation", author=cfg.author,
                             license=cfg.license, description=f"{cfg.description} ({g})".strip(),
                             inputs=[TensorSpec(name=x["name"], shape=x["shape"], dtype=x["dtype"], description=x["description"]) for x in ins],
                             outputs=[TensorSpec(name=x["name"], shape=x["shape"], description=x["description"]) for x in outs])
        for name, target in tgts.items():
            target.validate(cfg.options(name), specs[g], cfg)
    timings["load"] = time.perf_counter() - t

    dest = cfg.path(cfg.output_dir) / cfg.name
    staging = bundle_mod.Staging(dest, inputs=input_paths(cfg))
    work = staging.path / ".work"
    try:
        work.mkdir()
        t = time.perf_counter()
        with _one_thread():
            reference = [_reference(tok, modules, io, text, shapes) for text, _ in pairs]
            extra = [(text, _reference(tok, modules, io, text, shapes)) for text in GOLDEN_EXTRA]
            generate_check = _against_generate(src.hf, reference + [r for _, r in extra], shapes) if src.hf else None
        timings["reference"] = time.perf_counter() - t
        records: dict[str, list] = {}
        errors: list[tuple[str, Any]] = []  # (graph, WorkerResult) of conversions that failed
        t = time.perf_counter()
        for g in GRAPHS:
            progress.stage("capture", f"torch.export ({g})")
            gwork = work / g
            gwork.mkdir()
            captured = capture(Loaded(modules[g], "module", f"{loaded.origin} ({g})"), specs[g], gwork)
            specs[g] = with_output_shapes(specs[g], captured.output_shapes,
                                          [d.replace("torch.", "") for d in captured.output_dtypes])
            out = gwork / "bundle"
            results = conversion.convert_all(cfg, specs[g], tgts, captured, out, gwork, None, progress)
            moved: dict[Path, Path] = {}
            for res in results:
                log = _move_log(res, out, staging.path / "logs" / f"{res.target}-{g}.log", moved)
                if res.error:
                    errors.append((g, dataclasses.replace(res, log=log), "all"))
                    continue
                for rec in res.records:
                    if rec.error:  # this variant did not convert; the target's others stand
                        errors.append((g, dataclasses.replace(res, log=log, error=f"{rec.target}: {rec.error}"), rec.variant))
                        continue
                    rec.path = _move_artifact(out, staging.path, rec.path, g)
                    rec.details["graph"] = g
                    rec.details["convert_seconds"] = round(res.seconds, 2)  # the target's worker for this graph, all its variants
                    records.setdefault(f"{rec.target}/{rec.variant}", []).append((g, rec, log))
        timings["convert"] = time.perf_counter() - t

        t = time.perf_counter()
        progress.stage("verify", "greedy decoding")
        torch_scores = _scores(tok, [r["ids"] for r in reference], pairs)
        if generate_check:
            torch_scores["generate"] = generate_check
        entries = []
        for g, res, variant in errors:
            entries.append(_failed_entry(g, res, staging.path, variant))
        for key, found in records.items():
            entries.extend(_check_pair(key, found, tgts, specs, cfg, staging.path, tok, pairs, reference, shapes, progress, torch_scores,
                                       extra_refs=[r for _, r in extra]))
        rank = {n: i for i, n in enumerate(cfg.targets)}
        made = {k: i for i, k in enumerate(records)}  # variants in the order the target made them
        entries.sort(key=lambda e: (rank.get(e["target"], 99), made.get(f"{e['target']}/{e['variant']}", -1),
                                    GRAPHS.index(e.get("graph", "encoder"))))
        timings["verify"] = time.perf_counter() - t

        _write_assets(staging.path, cfg, tok, pairs, reference, extra, shapes, src.hf)
        _write_judged(staging.path, reference + [r for _, r in extra])
        manifest = _manifest(cfg, shapes, io, entries, tgts, timings, torch_scores, conversion, tok, src.hf)
        shutil.rmtree(work)
        bundle_mod.write_manifest(staging.path, manifest)
        path = staging.commit()
    except BaseException:
        staging.discard()
        raise
    result = bundle_mod.Bundle(path, manifest)
    if result.failures:
        raise conversion.ExportFailed(result, [f"{a['target']}/{a['variant']} ({a.get('graph', 'all')}): {a['error']}" for a in result.failures])
    return result


# -- inputs ---------------------------------------------------------------------------------

def _tflite_from_torch(cfg: ExportConfig) -> ExportConfig:
    """onnx2tf transposes 4-D non-image inputs (the KV cache) to NHWC: convert from torch instead."""
    opts = cfg.target_options.get("tflite")
    if opts is None or getattr(opts, "converter", None) != "auto":
        return cfg
    return dataclasses.replace(cfg, target_options={**cfg.target_options, "tflite": dataclasses.replace(opts, converter="litert-torch")})


@contextlib.contextmanager
def _one_thread():
    """Thousands of tiny eager steps: intra-op threads only add contention (60 s vs 2 s on a busy host)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _against_generate(adapted, refs: list[dict], shapes: Shapes) -> dict:
    """The adapter's greedy path must be the model's own generate(do_sample=False, num_beams=1)."""
    from . import hf

    diff = [i for i, r in enumerate(refs) if hf.generate(adapted.model, r["source_ids"], shapes) != r["ids"]]
    if diff:
        r = refs[diff[0]]
        raise CheckError(f"the {adapted.family} adapter's greedy decoding differs from the model's generate() on "
                         f"{len(diff)} of {len(refs)} sentence(s) (first: sentence {diff[0]}, source ids {r['source_ids']})",
                         hint="This is a mobilekit bug for this model configuration; please report it with the config.")
    return {"compared": "greedy, num_beams=1", "sentences": len(refs), "token_exact": 1.0}


def _reference(tok, modules, io, text: str, shapes: Shapes) -> dict:
    """Torch's greedy decode of one sentence: the ids every artifact pair must reproduce."""
    enc = torch_runner(modules["encoder"], *io["encoder"])
    dec = torch_runner(modules["decoder"], *io["decoder"])
    src = translation_source.encode_source(tok, text, shapes.max_source_len)
    d = decoding.greedy(enc, dec, src, shapes, collect_logits=True)
    return {"source_ids": src, "ids": d.ids, "logits": np.stack(d.step_logits),
            "encoder": enc({"source_ids": np.asarray([src], np.int32)})}


# -- artifacts ------------------------------------------------------------------------------

def _move(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(dst))
    return dst


def _move_log(res, out: Path, dst: Path, moved: dict) -> Path:
    """A worker's log into logs/; targets that failed with the ONNX they start from share its log (moved once)."""
    if not res.log.is_relative_to(out):
        return res.log
    if res.log not in moved:
        moved[res.log] = _move(res.log, dst)
    return moved[res.log]


def _move_artifact(out: Path, bundle: Path, rel: str, graph: str) -> str:
    """`onnx/model.fp16.onnx` → `onnx/encoder.fp16.onnx`; other names get a `<graph>-` prefix unless they name it."""
    p = Path(rel)
    name = p.name
    if name.startswith("model."):
        name = graph + name[len("model"):]
    elif graph not in name.lower():
        name = f"{graph}-{name}"
    new = (p.parent / name).as_posix()
    _move(out / rel, bundle / new)
    return new


def _failed_entry(graph: str, res, bundle: Path, variant: str = "all") -> dict:
    from ..worker import log_tail

    entry = {"target": res.target, "variant": variant, "graph": graph, "status": "failed", "error": res.error}
    if Path(res.log).is_relative_to(bundle):
        entry["log"] = Path(res.log).relative_to(bundle).as_posix()
    tail = log_tail(Path(res.log))
    if tail:
        entry["log_tail"] = tail
    return entry


# -- checks -----------------------------------------------------------------------------------

def _check_pair(key: str, found: list, tgts, specs, cfg, bundle: Path, tok, pairs, reference, shapes: Shapes, progress,
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
    scores = _scores(tok, ids_all, pairs)
    dec_parity: dict = {"compared": "decoder logits along the greedy paths that match torch's", "paths": len(logit_diff)}
    if logit_diff:
        dec_parity.update(max_abs=float(max(x.max() for x in logit_diff)), mean_abs=float(np.mean([x.mean() for x in logit_diff])),
                          cosine=float(min(cos)))
    enc_parity = {"max_abs": float(max(enc_diff)), "compared": "cross keys/values and source bias"}
    # host figure while verifying (encoder included, 2 threads); bench/kv_cache.py measures properly
    metrics = {"sentences": len(judgements), **scores, "ms_per_token": round(seconds * 1000 / max(steps, 1), 4),
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


def _write_judged(root: Path, refs: list) -> None:
    """Every sentence export judged, so `mobilekit verify` judges the same ones by the same rule.

    Per greedy step only torch's top-2 gap and logit spread are kept (the tie rule's inputs),
    not whole logit rows: ~100 sentences stay a few KB.
    """
    rows = []
    for ref in refs:
        gaps, spreads = verdict.step_margins(ref["logits"])
        rows.append({"source_ids": [int(x) for x in ref["source_ids"]], "output_ids": [int(x) for x in ref["ids"]],
                     "step_gap": [round(g, 6) for g in gaps], "step_spread": [round(x, 6) for x in spreads]})
    doc = {"rule": verdict.RULE, "note": "every sentence the export judged; mobilekit verify decodes these again", "sentences": rows}
    (root / "assets" / "golden" / "translation.judged.json").write_text(json.dumps(doc) + "\n", encoding="utf-8")


def _scores(tok, ids_all: list[list[int]], pairs) -> dict:
    import sacrebleu

    hyps = [translation_source.decode(tok, ids) for ids in ids_all]
    refs = [r for _, r in pairs]
    if any(r is None for r in refs):  # a text file without references: no BLEU, token-exactness still judged
        return {"exact_match": None, "bleu": None}
    return {"exact_match": sum(h == r for h, r in zip(hyps, refs)) / len(refs),
            "bleu": round(sacrebleu.corpus_bleu(hyps, [refs], force=True).score, 3)}


# -- the bundle ---------------------------------------------------------------------------------

def _write_assets(root: Path, cfg: ExportConfig, tok, pairs, reference, extra, shapes: Shapes, hf=None) -> None:
    assets = root / "assets"
    golden = assets / "golden"
    golden.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tok.path if hf else cfg.path(cfg.translation.tokenizer), assets / "tokenizer.json")
    samples = []
    chosen = [(text, ref) for (text, _), ref in zip(pairs[: cfg.translation.golden], reference)] + list(extra)
    for i, (text, ref) in enumerate(chosen):
        fname = f"translation.step_logits.{i}.npy"
        np.save(golden / fname, ref["logits"].astype(np.float32))
        out = [x for x in ref["ids"] if x != shapes.eos]
        samples.append({"text": text, "tokens": tok.encode(text, add_special_tokens=False).tokens,
                        "source_ids": ref["source_ids"], "output_ids": ref["ids"],
                        "output_text": translation_source.decode(tok, out), "step_logits": fname})
    doc = {"max_source_len": shapes.max_source_len, "max_target_len": shapes.max_target_len,
           "note": "output_ids are the generated ids after <bos>, ending with <eos> when it was produced",
           "samples": samples}
    (golden / "translation.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _manifest(cfg: ExportConfig, shapes: Shapes, io, entries, tgts, timings, torch_scores, conversion, tok=None, hf=None) -> dict:
    import datetime as dt

    enc_in, enc_out = io["encoder"]
    dec_in, dec_out = io["decoder"]
    doc = {
        "schema": bundle_mod.SCHEMA,
        "name": cfg.name,
        "version": cfg.version,
        "task": "translation",
        "author": cfg.author,
        "license": cfg.license,
        "description": cfg.description,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "created_with": conversion.versions(tgts),
        "inputs": enc_in,
        "outputs": [dec_out[0]],
        "artifacts": entries,
        "golden": "assets/golden/",
        "stages": {k: round(v, 3) for k, v in timings.items()},
        "metrics": {"dataset": cfg.translation.data, "samples": cfg.translation.samples, "torch": torch_scores},
        "translation": {
            "tokenizer": "assets/tokenizer.json",
            "tokenizer_algorithm": {"normalizer": "Lowercase", "pre_tokenizer": "Whitespace \\w+|[^\\w\\s]+",
                                    "model": "BPE", "end_of_word_suffix": tok_mod.SUFFIX, "decoder": "BPEDecoder"},
            "special_tokens": dict(tok_mod.SPECIAL),
            "vocab_size": shapes.vocab_size,
            "max_source_len": shapes.max_source_len,
            "max_target_len": shapes.max_target_len,
            "source_format": tok_mod.SOURCE_FORMAT,
            "decoding": "greedy: start from <bos> at position 0, one token per step, argmax (lowest index on ties), "
                        "stop at <eos> or after max_target_len-1 tokens; feed present_* back as past_*; caches start at zeros",
            "beam_search": decoding.BEAM_CONTRACT,
            "encoder": {"inputs": enc_in, "outputs": enc_out},
            "decoder": {"inputs": dec_in, "outputs": dec_out},
            "cache": {"layers": shapes.layers, "heads": shapes.heads, "head_dim": shapes.head_dim,
                      "shape": shapes.cache(), "cross_shape": shapes.cross(), "dtype": "float32",
                      "update": "the decoder writes slot `position` and returns the whole cache"},
            "golden": "assets/golden/translation.json",
        },
    }
    if hf is not None:  # the contract read from the model's own tokenizer and config (tasks/hf)
        t = doc["translation"]
        t.update(tok.manifest())
        t["source"] = {"family": hf.family, "model_class": type(hf.model).__name__}
        t["decoder_start"] = {"token": shapes.start, "forced_bos": shapes.forced_bos, "forced_eos": shapes.forced_eos}
        t["decoding"] = (f"greedy: start from decoder_start ({shapes.start}) at position 0, one token per step, argmax "
                         "(lowest index on ties); forced_bos (when set) replaces the first token, forced_eos (when set) the "
                         f"last allowed one; stop at eos ({shapes.eos}) or after max_target_len-1 tokens; feed present_* back "
                         "as past_*; caches start at zeros")
    return doc
