"""task = "translation": export a seq2seq model as an encoder graph and a decoder-step graph.

The pipeline captures and converts both graphs with the same machinery as any task; what is
this task's own is the check: each (encoder, decoder) artifact pair greedy-decodes the held-out
sentences and must give torch's tokens (`token_exact`, tasks/translation_checks.py); exact match
and BLEU against the references are recorded too. Its golden files are sentences, the tokenizer
and torch's step logits, and its manifest section is the decoding contract the apps follow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ExportConfig
from ..errors import CheckError, UserError
from ..progress import Progress
from ..verify import verdict
from . import decoding, tokenizer as tok_mod, translation_source
from .base import Converted, Graph, Judged, Prepared
from .seq2seq_split import Shapes, graphs, torch_runner
from .translation_checks import GRAPHS, check_pair, scores

# Golden sentences beyond the held-out ones, for the apps' tokenizers: capitals, unseen words
# (sub-word splits), a symbol the vocabulary lacks (<unk>), and truncation at max_source_len.
GOLDEN_EXTRA = (
    "The Teachers DON'T read my newspapers!",
    "a zebra eats the xylophone .",
    "my friend sees the red car and the small house and the old book and the new city and the green table .",
)


@dataclass(frozen=True)
class State:
    src: Any  # translation_source.Source: the tokenizer, the network, the Hugging Face model if any
    shapes: Shapes
    io: dict  # graph → (inputs, outputs) as the manifest lists them
    modules: dict  # graph → the eager torch module the references decode with
    pairs: list  # (source sentence, reference translation or None)


@dataclass(frozen=True)
class References:
    held_out: list[dict]  # torch's greedy decode of each held-out sentence
    extra: list[tuple[str, dict]]  # GOLDEN_EXTRA and their decodes
    generate_check: dict | None  # Hugging Face: the adapter's greedy path vs the model's generate()

    @property
    def all(self) -> list[dict]:
        return self.held_out + [r for _, r in self.extra]


class Translation:
    name = "translation"
    tensor_golden = False
    verify_note = "greedy decoding"

    def prepare(self, cfg: ExportConfig, model: Any, example_inputs: Any, progress: Progress) -> Prepared:
        from ..source import Loaded
        from ..spec import ModelSpec, TensorSpec
        from ..targets import base as targets

        tc = cfg.translation
        src = translation_source.load(cfg, model)  # the shipped kind, or a Hugging Face encoder-decoder (tasks/hf)
        tok, net = src.tok, src.net
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
        out: dict[str, Graph] = {}
        for g in GRAPHS:
            ins, outs = io[g]
            spec = ModelSpec(name=f"{cfg.name}-{g}", version=cfg.version, task="translation", author=cfg.author,
                             license=cfg.license, description=f"{cfg.description} ({g})".strip(),
                             inputs=[TensorSpec(name=x["name"], shape=x["shape"], dtype=x["dtype"], description=x["description"]) for x in ins],
                             outputs=[TensorSpec(name=x["name"], shape=x["shape"], description=x["description"]) for x in outs])
            for name, target in tgts.items():
                target.validate(cfg.options(name), spec, cfg)
            out[g] = Graph(g, Loaded(modules[g], "module", f"{src.origin} ({g})"), spec)
        return Prepared(cfg, out, tgts, State(src, shapes, io, modules, pairs))

    def references(self, prep: Prepared, captured: dict, progress: Progress) -> References:
        st = prep.state
        tok = st.src.tok
        with _one_thread():
            held_out = [_reference(tok, st.modules, st.io, text, st.shapes) for text, _ in st.pairs]
            extra = [(text, _reference(tok, st.modules, st.io, text, st.shapes)) for text in GOLDEN_EXTRA]
            check = _against_generate(st.src.hf, held_out + [r for _, r in extra], st.shapes) if st.src.hf else None
        return References(held_out, extra, check)

    def calibration(self, prep: Prepared, work: Path) -> None:
        return None  # int8 variants here are dynamic-range: no calibration set

    def fingerprints(self, prep: Prepared, captured: dict, refs: References) -> None:
        return None  # not reused per target yet: every export converts both graphs again

    def judge(self, prep: Prepared, refs: References, converted: Converted, captured: dict, bundle_dir: Path, work: Path,
              progress: Progress) -> Judged:
        st, cfg = prep.state, prep.cfg
        tok = st.src.tok
        records: dict[str, list] = {}
        entries = []
        for g, results in converted.results.items():
            for res in results:
                if res.error:
                    entries.append(_failed_entry(g, res, bundle_dir))
                    continue
                for rec in res.records:
                    if rec.error:  # this variant did not convert; the target's others stand
                        entries.append(_failed_entry(g, dataclasses.replace(res, error=f"{rec.target}: {rec.error}"), bundle_dir, rec.variant))
                        continue
                    records.setdefault(f"{rec.target}/{rec.variant}", []).append((g, rec, res.log))
        torch_scores = scores(tok, [r["ids"] for r in refs.held_out], st.pairs)
        if refs.generate_check:
            torch_scores["generate"] = refs.generate_check
        specs = {g: graph.spec for g, graph in prep.graphs.items()}
        for key, found in records.items():
            entries.extend(check_pair(key, found, prep.targets, specs, cfg, bundle_dir, tok, st.pairs, refs.held_out, st.shapes, progress,
                                      torch_scores, extra_refs=[r for _, r in refs.extra]))
        rank = {n: i for i, n in enumerate(cfg.targets)}
        made = {k: i for i, k in enumerate(records)}  # variants in the order the target made them
        entries.sort(key=lambda e: (rank.get(e["target"], 99), made.get(f"{e['target']}/{e['variant']}", -1),
                                    GRAPHS.index(e.get("graph", "encoder"))))
        return Judged(entries, {"torch_scores": torch_scores})

    def write_assets(self, prep: Prepared, refs: References, root: Path) -> None:
        st = prep.state
        _write_assets(root, prep.cfg, st.src.tok, st.pairs, refs.held_out, refs.extra, st.shapes, st.src.hf)
        _write_judged(root, refs.all)

    def manifest(self, prep: Prepared, refs: References, judged: Judged) -> dict:
        st = prep.state
        return _manifest(prep.cfg, st.shapes, st.io, judged.facts["torch_scores"], st.src.tok, st.src.hf)

    def reverify(self, bundle, progress: Progress) -> dict:
        from .translation_verify import reverify

        return reverify(bundle, progress)


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


# -- the bundle -----------------------------------------------------------------------------------

def _failed_entry(graph: str, res, bundle: Path, variant: str = "all") -> dict:
    from ..worker import log_tail

    entry = {"target": res.target, "variant": variant, "graph": graph, "status": "failed", "error": res.error}
    if Path(res.log).is_relative_to(bundle):
        entry["log"] = Path(res.log).relative_to(bundle).as_posix()
    tail = log_tail(Path(res.log))
    if tail:
        entry["log_tail"] = tail
    return entry


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


def _manifest(cfg: ExportConfig, shapes: Shapes, io, torch_scores, tok=None, hf=None) -> dict:
    """The task's part of the manifest (the pipeline writes the keys every bundle has)."""
    enc_in, enc_out = io["encoder"]
    dec_in, dec_out = io["decoder"]
    doc = {
        "inputs": enc_in,
        "outputs": [dec_out[0]],
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
