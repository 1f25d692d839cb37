"""Writes the Swift core's golden fixtures (Swift cannot run on the machines that make them).

    .venv/bin/python mobile/swift/Tests/MobileKitCoreTests/Fixtures/make_fixtures.py [OUT_DIR] [--retrain]
    .venv/bin/python mobile/swift/Tests/MobileKitCoreTests/Fixtures/make_fixtures.py --manifests BUNDLE...

OUT_DIR defaults to this folder. Training a tokenizer is not deterministic (`tokenizers` breaks
ties in hash-map order and sums scores in parallel), so the tokenizer files are trained once (or
with --retrain, or when missing) and the golden files are then a deterministic function of them.
It holds:
  tokenizers/<name>.json  tokenizer.json files: every family of tests/tasks/hf_tiny.py (marian, t5, bart,
                          mbart, m2m_100) in both kinds (byte-level BPE, Unigram+Metaspace), plus a
                          byte-level BPE with merges, the shipped translator's word-level BPE, and one
                          made of Sequence components / a continuing-subword prefix
  tokenizer_golden.json   per tokenizer and sentence: ids without specials, source ids exactly as
                          mobilekit/tasks/hf/contract.py HfText.encode_source gives them (two lengths),
                          and the text decoded with and without skip_special_tokens
  beam_golden.json        a deterministic fake decoder (a logits table by (position, fed token) plus a
                          bonus that depends on the beam's own cache) and what mobilekit.tasks.decoding
                          greedy() and beam() (widths 1-4) give over it
  verdict_golden.json     reference/artifact outputs and mobilekit/verify/verdict.py's figures and
                          pass/fail per precision class (the rule device-side checks use)
  manifests/<name>.json   manifests of real exports (digits: coreml fp16/int8 + executorch fp32/fp16/int8/
                          coreml/coreml-int8; translator: coreml fp16 + executorch fp32/fp16 pairs), kept
                          to what the app reads (`details`: its backend only); written once by --manifests
  choices_golden.json     per manifest: the choices the iOS app must offer (what `mobilekit scaffold ios`
                          copies, mobilekit/scaffold.py, as classifiers or one-variant pairs), each with its
                          runtime label and, for ExecuTorch pairs, each program's inputs in manifest order
tests/demo_apps/test_swift_fixtures.py regenerates the goldens from the committed tokenizer files
and compares (so they cannot go stale), and retrains every tokenizer to check the committed ones
still have the components and special tokens the training code gives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[4]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "tasks")]

FAMILIES = ["marian", "t5", "bart", "mbart", "m2m_100"]
MAX_SOURCE_LEN, SHORT_SOURCE_LEN = 12, 3
TEXTS = [
    "the cat eats the red apple .",
    "my dog walks in the park .",
    "The Children SEE the old house!",
    "",
    " ",
    "  extra   spaces  here  ",
    "tabs\tand\nnewlines",
    "Héllo wörld, café naïve",
    "e\u0301 decomposed accent",
    "\ufb01ne ligature \u2460 and full-width \uff21",
    "Ñandú: über-cool ☃ 日本語 🙂",
    "digits 123 4567 3.14",
    "punctuation?! ... ;-) (ok) \"quoted\"",
    "it's we'll they're I'd",
    "<s> the cat </s> reads",
    "the <mask> cat and the  <mask>  dog, New York and newyork",
    "\uff4e\uff45\uff57 \uff59\uff4f\uff52\uff4b, band and new york<mask>",
    "a teacher drinks water in the morning with the children in the park .",
]


def _tokenizers():
    """name -> (tokenizers.Tokenizer, {role: id}) for every tokenizer the fixtures cover."""
    import hf_tiny
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    out = {}
    for kind in ("bpe", "unigram"):
        for family in FAMILIES:
            tok, ids = hf_tiny.train_tokenizer(kind, family)
            pad, eos = ids["<pad>"], ids["</s>"]
            start = pad if family in ("marian", "t5") else eos
            out[f"{family}_{kind}"] = (tok, {"pad": pad, "eos": eos, "decoder_start": start})
    corpus = hf_tiny.SENTENCES * 4

    # byte-level BPE with merges (hf_tiny's vocabulary is all alphabet, so it has none)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=330, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                                        show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    out["bytelevel_merges"] = (tok, {"pad": 1, "eos": 2, "decoder_start": 2})

    # the shipped translator's contract (mobilekit/tasks/tokenizer.py): no post-processor, tokens then <eos>
    from mobilekit.tasks import tokenizer as shipped

    tok = shipped.train(corpus, vocab_size=120)
    out["shipped_wordlevel"] = (tok, {"pad": 0, "eos": 2, "decoder_start": 1})

    # Sequence components, Metaspace prepend_scheme "first" without split, WhitespaceSplit
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Metaspace(prepend_scheme="first", split=False)])
    tok.decoder = decoders.Sequence([decoders.Metaspace(prepend_scheme="first", split=False)])
    tok.train_from_iterator(corpus, trainers.UnigramTrainer(vocab_size=100, special_tokens=["<pad>", "</s>", "<unk>"],
                                                            unk_token="<unk>", show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    out["sequence_unigram"] = (tok, {"pad": 0, "eos": 1, "decoder_start": 0})

    # BPE with a continuing-subword prefix and an end-of-word suffix, Whitespace pre-tokenizer
    tok = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=110, special_tokens=["<pad>", "</s>", "<unk>"],
                                                        continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                                        show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    out["prefix_suffix_bpe"] = (tok, {"pad": 0, "eos": 1, "decoder_start": 0})

    # added tokens with their options: mBART's lstrip <mask>, a normalized multi-word token, a single_word one
    tok, ids = hf_tiny.train_tokenizer("unigram", "bart")
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)])
    tok.add_tokens([AddedToken("new york", normalized=True), AddedToken("and", single_word=True, normalized=False)])
    out["added_tokens_unigram"] = (tok, {"pad": ids["<pad>"], "eos": ids["</s>"], "decoder_start": ids["</s>"]})
    return out


def train(folder: Path, only_missing: bool) -> dict[str, dict[str, int]]:
    """Writes tokenizers/<name>.json (all, or those missing); returns each one's ids {pad, eos, decoder_start}."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = {}
    for name, (trained, special) in _tokenizers().items():
        path = folder / f"{name}.json"
        if not (only_missing and path.is_file()):
            path.write_text(trained.to_str(pretty=False) + "\n", encoding="utf-8")
        ids[name] = special
    return ids


def write_tokenizers(out: Path, tokenizers_from: Path, retrain: bool = False) -> None:
    from tokenizers import Tokenizer

    from mobilekit.tasks.hf.contract import HfText

    folder = out / "tokenizers"
    specials = train(tokenizers_from, only_missing=not retrain)
    if folder.resolve() != tokenizers_from.resolve():
        folder.mkdir(parents=True, exist_ok=True)
        for name in specials:
            (folder / f"{name}.json").write_bytes((tokenizers_from / f"{name}.json").read_bytes())
    golden = {"max_source_len": MAX_SOURCE_LEN, "short_source_len": SHORT_SOURCE_LEN,
              "note": "source_ids: mobilekit/tasks/hf/contract.py HfText.encode_source; decoded: tokenizer.decode of the ids "
                      "without specials, skip_special_tokens=True; decoded_with_specials: of source_ids, skip_special_tokens=False",
              "tokenizers": []}
    for name, ids in specials.items():
        path = folder / f"{name}.json"
        tok = Tokenizer.from_file(str(path))  # as the apps read it: from the file
        text = HfText(tok, path, ids)
        cases = []
        for sentence in TEXTS:
            plain = tok.encode(sentence, add_special_tokens=False).ids
            source = text.encode_source(sentence, MAX_SOURCE_LEN)
            cases.append({"text": sentence, "ids": plain, "source_ids": source,
                          "short_source_ids": text.encode_source(sentence, SHORT_SOURCE_LEN),
                          "decoded": text.decode(plain), "decoded_with_specials": tok.decode(source, skip_special_tokens=False)})
        golden["tokenizers"].append({"name": name, "file": f"tokenizers/{name}.json", "special_tokens": ids, "cases": cases})
    (out / "tokenizer_golden.json").write_text(json.dumps(golden, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


# -- beam search ------------------------------------------------------------------------------

def _fake(table: np.ndarray, bonus: float):
    """Encoder/decoder callables over `table[position, token]`; the decoder also adds `bonus` at
    id (sum of (i+1)*cache[i]) % V, cache = the ids fed so far, so mixing up beams' caches shows."""
    V = table.shape[2]

    def encoder(feeds):
        return {"cross_keys": np.zeros(1, np.float32), "cross_values": np.zeros(1, np.float32),
                "source_bias": np.zeros(1, np.float32)}

    def decoder(feeds):
        position, token = int(feeds["position"][0]), int(feeds["token"][0, 0])
        past = feeds["past_keys"]
        history = [int(past[0, 0, i, 0]) - 1 for i in range(position)]  # slots hold id + 1
        logits = table[position, token].astype(np.float32).copy()
        logits[sum((i + 1) * t for i, t in enumerate(history)) % V] += np.float32(bonus)
        present = past.copy()
        present[0, 0, position, 0] = token + 1
        return {"logits": logits[None, :], "present_keys": present, "present_values": present}

    return encoder, decoder


def write_beam(out: Path) -> None:
    from mobilekit.tasks import decoding
    from mobilekit.tasks.seq2seq_split import Shapes

    V, T = 8, 7
    rng = np.random.default_rng(20)
    cases = []
    for name, forced_bos, forced_eos, scale in (("plain", None, None, 1.0), ("forced", 5, 2, 0.8), ("flat", None, 2, 0.6)):
        table = np.round(rng.standard_normal((T - 1, V, V)) * scale, 3).astype(np.float32)
        table[:, :, 2] -= 1.0  # eos (2) not too early
        table[3:, :, 2] += 1.5  # ...but likely later
        shapes = Shapes(V, 4, T, 1, 1, 1, start=0, eos=2, pad=1, forced_bos=forced_bos, forced_eos=forced_eos)
        encoder, decoder = _fake(table, 1.25)
        greedy = decoding.greedy(encoder, decoder, [3, 2, 1, 1], shapes).ids
        beams = {str(k): decoding.beam(encoder, decoder, [3, 2, 1, 1], shapes, k).ids for k in (1, 2, 3, 4)}
        # no near-ties: float32 rounding that differs by platform (exp, summation order) cannot flip them
        noisy = np.random.default_rng(1)
        def shaken(feeds, decoder=decoder):
            out = decoder(feeds)
            return dict(out, logits=out["logits"] + noisy.uniform(-1e-4, 1e-4, out["logits"].shape).astype(np.float32))
        for k in (1, 2, 3, 4):
            assert decoding.beam(encoder, shaken, [3, 2, 1, 1], shapes, k).ids == beams[str(k)], (name, k)
        cases.append({"name": name, "vocab_size": V, "max_target_len": T, "start": 0, "eos": 2, "forced_bos": forced_bos,
                      "forced_eos": forced_eos, "cache_bonus": 1.25,
                      "table": [[[float(x) for x in row] for row in pos] for pos in table.tolist()],
                      "greedy": greedy, "beam": beams})
    assert any(c["beam"][k] != c["greedy"] for c in cases for k in ("2", "3", "4")), "the beams never left greedy"
    doc = {"note": "logits at (position, fed token) = table[position][token], plus cache_bonus at id "
                   "(sum of (i+1)*h_i over the ids h the beam fed before, the start token first) % vocab_size; outputs of "
                   "mobilekit.tasks.decoding greedy() and beam(width) (ids after the start token, eos included)",
           "cases": cases}
    (out / "beam_golden.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


# -- the verification rule ---------------------------------------------------------------------

def _sig(value):
    return float(f"{value:.10g}") if isinstance(value, float) else value


def write_verdict(out: Path) -> None:
    """Reference/artifact outputs and what mobilekit/verify/verdict.py says of them per precision."""
    from mobilekit.verify import verdict

    rng = np.random.default_rng(16)
    samples, width = 6, 8
    ref = np.round(rng.standard_normal((samples, width)) * 3, 6)
    cases = []

    def add(name, ref, got, classifier=False, nan_at=None):
        ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
        if nan_at is not None:
            got = got.copy()
            got[tuple(nan_at)] = np.nan
        case = {"name": name, "classifier": classifier, "reference": ref.tolist(),
                "got": np.where(np.isnan(got), 0.0, got).tolist(), "nan_at": nan_at, "passes": {}}
        fig = verdict.output_figures(ref, got)
        # 10 significant digits: numpy's reductions differ in the last bit between CPUs (AVX2 vs
        # AVX-512), and the XCTests compare at 1e-9 relative, so the file is the same on every host
        case["figures"] = {k: _sig(fig[k]) for k in ("finite", "max_abs", "mean_abs", "rel_max_abs", "cosine", "snr_db")} \
            if fig["finite"] else {"finite": False}
        for cls, rule in verdict.RULES.items():
            f = verdict.compare([{"out": r} for r in ref], [{"out": g} for g in got],
                                classifier_output="out" if classifier else None, rule=rule)
            case["passes"][cls] = verdict.failures(f, rule) == []
            if classifier:
                case.setdefault("agreement", {})[cls] = {k: _sig(f[k]) for k in ("top1_agreement", "decisive_samples",
                                                                           "top1_agreement_decisive", "ties", "flipped_samples")}
        cases.append(case)

    noise = rng.standard_normal(ref.shape)
    add("exact", ref, ref)
    add("fp32 noise", ref, np.round(ref + noise * 1e-5, 9))
    add("fp16 noise", ref, np.round(ref + noise * 3e-2, 6))
    add("int8 noise", ref, np.round(ref + noise * 0.3, 6))
    offset = np.round(100 + ref * 0.01, 6)  # mostly a constant: raw SNR would be huge, centred it is not
    add("offset-dominated", offset, np.round(offset + noise * 0.01, 6))
    add("nan", ref, ref, nan_at=[2, 5])
    logits = ref.copy()
    logits[:, 0] = logits.max(axis=1) + 1.0  # class 0 decisive everywhere...
    logits[1, 3] = logits[1, 0] - 1e-4  # ...except sample 1, a near-tie between 0 and 3
    flipped = logits.copy()
    flipped[1, [0, 3]] = flipped[1, [3, 0]]
    add("near-tie flip", logits, np.round(flipped, 6), classifier=True)
    decisive = logits.copy()
    decisive[4, [0, 6]] = decisive[4, [6, 0]]
    add("decisive flip", logits, np.round(decisive, 6), classifier=True)
    passes = [c["passes"] for c in cases]
    assert passes[0] == {"fp32": True, "fp16": True, "int8": True} and not passes[5]["int8"]
    assert any(p["fp16"] and not p["fp32"] for p in passes) and any(p["int8"] and not p["fp16"] for p in passes)
    assert passes[6]["fp32"] and not passes[7]["fp32"]
    doc = {"rule": verdict.RULE, "rules": {k: r.to_dict() for k, r in verdict.RULES.items()},
           "note": "figures: verdict.output_figures(reference, got) (rows are samples); passes: verdict.failures(compare(...)) "
                   "is empty, per precision class; got holds 0.0 where nan_at says NaN", "cases": cases}
    (out / "verdict_golden.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


MANIFESTS = HERE / "manifests"
KEPT = ("target", "variant", "graph", "path", "sha256", "size_bytes", "status", "status_reason", "precision", "layout",
        "min_os", "inputs", "outputs", "latency_ms")
# The runtime the app names for an artifact: Core ML, or the backend an ExecuTorch export writes.
RUNTIME_LABELS = {"coreml": "Core ML", "XnnpackBackend": "ExecuTorch XNNPACK", "CoreMLBackend": "ExecuTorch Core ML delegate"}


def snapshot_manifests(bundles: list[Path]) -> None:
    """Keeps the manifests of real exported bundles here, trimmed to what the app reads."""
    MANIFESTS.mkdir(exist_ok=True)
    for bundle in bundles:
        m = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        keep = {k: m[k] for k in ("schema", "name", "version", "task", "inputs", "outputs", "golden", "translation") if k in m}
        keep["artifacts"] = [{**{k: a[k] for k in KEPT if k in a},
                              **({"details": {"backend": a["details"]["backend"]}} if (a.get("details") or {}).get("backend") else {})}
                             for a in m["artifacts"]]
        (MANIFESTS / f"{m['name']}.json").write_text(json.dumps(keep, indent=1) + "\n", encoding="utf-8")


def _runtime(a: dict) -> str:
    return RUNTIME_LABELS["coreml" if a["target"] == "coreml" else a["details"]["backend"]]


def write_choices(out: Path) -> None:
    """The choices of each kept manifest the iOS app must offer: every artifact `mobilekit scaffold ios`
    copies, classifiers one per (target, variant), translation pairs one per (target, variant)."""
    from mobilekit.scaffold import PLATFORMS, not_here

    targets = PLATFORMS["ios"].targets
    doc = {"note": "choices: what ModelChoices.appClassifiers / appPairs must give (any order), from mobilekit.scaffold "
                   "(PLATFORMS['ios'] targets, not_here); runtime: Core ML, or the label of details.backend",
           "targets": list(targets), "manifests": {}}
    (out / "manifests").mkdir(parents=True, exist_ok=True)
    for path in sorted(MANIFESTS.glob("*.json")):
        if out / "manifests" / path.name != path:
            (out / "manifests" / path.name).write_bytes(path.read_bytes())
        m = json.loads(path.read_text(encoding="utf-8"))
        copied = [a for a in m["artifacts"] if a["target"] in targets and a.get("path") and not not_here(a, "ios")]
        units: dict[tuple[str, str], dict[str, dict]] = {}
        for a in copied:
            units.setdefault((a["target"], a["variant"]), {})[a.get("graph") or "model"] = a
        choices = []
        for (target, variant), parts in units.items():
            graphs = ["encoder", "decoder"] if m["task"] == "translation" else ["model"]
            if not all(g in parts for g in graphs):
                continue
            choice = {"id": f"{target}/{variant}", "runtime": _runtime(parts[graphs[0]]), "paths": [parts[g]["path"] for g in graphs]}
            if target == "executorch" and m["task"] == "translation":
                choice["inputs"] = {g: [[t["name"], t["dtype"]] for t in parts[g]["inputs"]] for g in graphs}
            choices.append(choice)
        doc["manifests"][path.stem] = {"choices": choices, "scaffold_copies": sorted(a["path"] for a in copied)}
    (out / "choices_golden.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def write(out: Path, tokenizers_from: Path | None = None, retrain: bool = False) -> None:
    """Goldens into `out` from the tokenizer files in `tokenizers_from` (default: out/tokenizers),
    training the missing ones (all of them with `retrain`)."""
    out.mkdir(parents=True, exist_ok=True)
    write_tokenizers(out, tokenizers_from or out / "tokenizers", retrain)
    write_beam(out)
    write_verdict(out)
    write_choices(out)


def shape(doc: dict) -> dict:
    """A tokenizer.json without what training decides (vocabulary, scores, merges)."""
    model = {k: v for k, v in doc["model"].items() if k not in ("vocab", "merges")}
    return dict(doc, model=model)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--manifests"]:
        snapshot_manifests([Path(p) for p in sys.argv[2:]])
        sys.argv[1:] = []
    args = [a for a in sys.argv[1:] if a != "--retrain"]
    write(Path(args[0]) if args else HERE, retrain="--retrain" in sys.argv)
