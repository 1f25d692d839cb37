"""The Kotlin core's side of the Hugging Face translation contract, run on the JVM and compared live:

- `HfTokenizer` (any tokenizer.json, read per its declared components) against `tokenizers` itself on
  each family's tiny tokenizer (tests/tasks/hf_tiny.py: byte-level BPE and Unigram + Metaspace, the
  Unigram standing in for T5/Marian SentencePiece models), a real SentencePiece model converted as
  transformers converts T5's (Precompiled charsmap, Strip, Replace regex; needs `sentencepiece`), a
  BPE with merges in both JSON merge formats, RoBERTa-style byte-level BPE, the shipped word-level
  BPE, byte fallback (Unigram with a Llama-style decoder chain, BPE), Metaspace variants and
  normalizer/pre-tokenizer sequences, on
  the held-out sentences and hostile ones (accents, runs of spaces, unknown characters, emoji, the
  empty string, digits, punctuation, special-token strings in the text, truncation). Source ids are
  compared with `contract.HfText.encode_source`, output text with `HfText.decode`.
- components the core does not implement fail at load with the component named;
- `BeamSearch` (widths 1-4) and greedy over the core's `CachedSeq2SeqRunner` against
  mobilekit/tasks/decoding.py `beam` / `greedy` on the same table-driven fake decoder (its logits
  depend on the cache, so a beam fed the wrong cache decodes differently), with and without
  forced bos/eos tokens;
- an exported tiny M2M100 bundle read as the app reads it (manifest, tokenizer, source ids, greedy
  with the forced language token over the recorded step logits, output text), and the Kotlin beam
  search on its real ONNX decoder's logits (recorded per prefix) == decoding.beam == generate(num_beams=k).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain import run_kotlin

from .conftest import ROOT, train_contract_tokenizer

sys.path.insert(0, str(ROOT / "tests" / "tasks"))
import hf_tiny  # noqa: E402

from mobilekit.tasks import decoding  # noqa: E402
from mobilekit.tasks.hf.contract import HfText  # noqa: E402
from mobilekit.tasks.seq2seq_split import Shapes  # noqa: E402

pytestmark = pytest.mark.slow  # compiles the Kotlin core (once per session)

FAMILIES = ["marian", "t5", "bart", "mbart", "m2m_100"]
HOSTILE = [
    "", " ", "   ", "  The   CAT  eats   the  apple  ", "Héllo wörld, ça va? Ñandú über-cool",
    "12345 67.89 0042", "!!! ... ?! ,;:", "☃ 日本語 😀 ₿", "the\tcat\nsleeps\r\n", "ﬁne café ＡＢＣ ①",
    "</s> the cat <pad>", "<s>the</s>", "__en__ the cat", "the <unk> cat", "e\u0301 combining", "x",
    "the cat eats the red apple . my friend reads a new book . the dog sees the small house .",
]
SENTENCES = hf_tiny.SENTENCES + hf_tiny.HELD_OUT + HOSTILE
MAX_SOURCE = [12, 3, 1]  # 3 and 1: truncated below the template's specials


def _ids(tok, family: str) -> dict:
    v = tok.get_vocab()
    return {"pad": v["<pad>"], "eos": v["</s>"], "decoder_start": v["<pad>"] if family in ("marian", "t5") else v["</s>"]}


def _tokenizers(tmp: Path) -> list[dict]:
    """(name, tokenizer.json path, ids): every family x kind, plus the variants the families lack."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    out = []

    def add(name, tok, ids):
        path = tmp / f"{name}.json"
        tok.save(str(path))
        out.append({"name": name, "path": path.name, "ids": ids})

    for kind in ("bpe", "unigram"):
        for family in FAMILIES:
            tok, _ = hf_tiny.train_tokenizer(kind, family)
            add(f"{kind}-{family}", tok, _ids(tok, family))
    # hf_tiny's byte-level BPE has no merges (its vocabulary is the byte alphabet): one with merges
    tok, _ = hf_tiny.train_tokenizer("bpe", "bart")
    merged = Tokenizer(models.BPE(unk_token="<unk>"))
    merged.normalizer, merged.pre_tokenizer, merged.decoder = tok.normalizer, tok.pre_tokenizer, tok.decoder
    merged.post_processor = tok.post_processor
    merged.train_from_iterator(hf_tiny.SENTENCES * 4, trainers.BpeTrainer(
        vocab_size=420, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    add("bpe-merges-pairs", merged, _ids(merged, "bart"))
    doc = json.loads(merged.to_str())
    assert doc["model"]["merges"], "the BPE variant must have merges"
    doc["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in doc["model"]["merges"]]
    (tmp / "bpe-merges-strings.json").write_text(json.dumps(doc), encoding="utf-8")
    out.append({"name": "bpe-merges-strings", "path": "bpe-merges-strings.json", "ids": _ids(merged, "bart")})
    # RoBERTa-style: a prefix space, the ByteLevel + RobertaProcessing post-processors in a Sequence
    from tokenizers import processors
    roberta = Tokenizer.from_str(merged.to_str())
    roberta.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    v = roberta.get_vocab()
    roberta.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                                  processors.RobertaProcessing(("</s>", v["</s>"]), ("<s>", v["<s>"]))])
    add("bpe-prefix-space-roberta", roberta, _ids(roberta, "bart"))
    # the shipped translator's word-level BPE (Lowercase, Whitespace, </w> suffix, BPEDecoder, no template)
    shipped = train_contract_tokenizer(hf_tiny.SENTENCES + hf_tiny.HELD_OUT)
    add("shipped-bpe", shipped, {"pad": 0, "eos": 2, "decoder_start": 1})
    # WordPiece-style BPE: a continuing-subword prefix, WhitespaceSplit, no decoder
    wp = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##"))
    wp.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    wp.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    wp.train_from_iterator(hf_tiny.SENTENCES * 4, trainers.BpeTrainer(
        vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"], continuing_subword_prefix="##", show_progress=False))
    add("bpe-prefix-nodecoder", wp, _ids(wp, "t5"))
    # a real SentencePiece model converted as transformers converts T5's (Precompiled charsmap, Strip,
    # Replace regex, Metaspace, `$A </s>`): what a downloaded T5/mT5 tokenizer.json holds
    spm_t5 = _sentencepiece_t5(tmp)
    if spm_t5 is not None:
        add("spm-t5", spm_t5, _ids(spm_t5, "t5"))
    # byte fallback (<0xXX> pieces appended to the vocabulary): a Llama-style Unigram decoder chain, and BPE
    byte_pieces = [f"<0x{b:02X}>" for b in range(256)]
    doc = json.loads(hf_tiny.train_tokenizer("unigram", "marian")[0].to_str())
    doc["model"]["vocab"] += [[p, -30.0] for p in byte_pieces]
    doc["model"]["byte_fallback"] = True
    doc["decoder"] = json.loads(decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                                   decoders.Strip(" ", 1, 0)]).__getstate__())
    fb = Tokenizer.from_str(json.dumps(doc))
    add("unigram-byte-fallback", fb, _ids(fb, "marian"))
    doc = json.loads(train_contract_tokenizer(hf_tiny.SENTENCES).to_str())
    n = len(doc["model"]["vocab"])
    doc["model"]["vocab"].update({p: n + i for i, p in enumerate(byte_pieces)})
    doc["model"]["byte_fallback"] = True
    doc["decoder"] = json.loads(decoders.Sequence([decoders.ByteFallback(), decoders.BPEDecoder(suffix="</w>")]).__getstate__())
    fb = Tokenizer.from_str(json.dumps(doc))
    add("bpe-byte-fallback", fb, {"pad": 0, "eos": 2, "decoder_start": 1})
    # Metaspace variants on the Unigram: prepend "first" / "never", split off, behind a WhitespaceSplit
    base, _ = hf_tiny.train_tokenizer("unigram", "marian")
    for scheme, split, seq in (("first", True, False), ("never", True, False), ("always", False, False), ("first", True, True)):
        t = Tokenizer.from_str(base.to_str())
        meta = pre_tokenizers.Metaspace(prepend_scheme=scheme, split=split)
        t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), meta]) if seq else meta
        t.decoder = decoders.Metaspace(prepend_scheme=scheme, split=split)
        add(f"unigram-metaspace-{scheme}-{'split' if split else 'nosplit'}{'-seq' if seq else ''}", t, _ids(t, "marian"))
    return out


def _sentencepiece_t5(tmp: Path):
    """A tiny SentencePiece Unigram (nmt_nfkc rules) converted by transformers' T5Converter, or None
    without the sentencepiece package."""
    try:
        import sentencepiece as spm
    except ImportError:
        return None
    import io

    from transformers.convert_slow_tokenizer import T5Converter

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(hf_tiny.SENTENCES * 4 + ["Héllo wörld, ﬁne café ＡＢＣ ① 42 !"]),
                                   model_writer=model, vocab_size=60, model_type="unigram", pad_id=0, eos_id=1,
                                   unk_id=2, bos_id=-1, minloglevel=2)
    path = tmp / "spiece.model"
    path.write_bytes(model.getvalue())

    class Slow:  # what T5Converter reads from a slow T5Tokenizer
        vocab_file, legacy, add_prefix_space, extra_ids, _extra_ids = str(path), True, True, 0, 0

        def convert_tokens_to_ids(self, token):
            return {"<pad>": 0, "</s>": 1, "<unk>": 2}[token]

    tok = T5Converter(Slow()).converted()
    kinds = [n["type"] for n in json.loads(tok.to_str())["normalizer"]["normalizers"]]
    assert kinds == ["Precompiled", "Strip", "Replace"], kinds
    return tok


def _unsupported(tmp: Path) -> list[tuple[str, str]]:
    """tokenizer.json files with one component the core does not implement, and that component's name."""
    base = json.loads(hf_tiny.train_tokenizer("unigram", "t5")[0].to_str())
    cases = []
    for name, key, node in (("BertNormalizer", "normalizer", {"type": "BertNormalizer", "clean_text": True,
                                                             "handle_chinese_chars": True, "strip_accents": None,
                                                             "lowercase": True}),
                            ("BertPreTokenizer", "pre_tokenizer", {"type": "BertPreTokenizer"}),
                            ("WordPiece", "decoder", {"type": "WordPiece", "prefix": "##", "cleanup": True}),
                            ("StripAccents", "normalizer", {"type": "StripAccents"})):
        doc = json.loads(json.dumps(base))
        doc[key] = node
        path = tmp / f"unsupported-{len(cases)}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        cases.append((path.name, name))
    doc = json.loads(json.dumps(base))
    doc["model"] = {"type": "WordPiece", "unk_token": "<unk>", "continuing_subword_prefix": "##",
                    "max_input_chars_per_word": 100, "vocab": {"<unk>": 0, "a": 1}}
    (tmp / "unsupported-model.json").write_text(json.dumps(doc), encoding="utf-8")
    cases.append(("unsupported-model.json", "model WordPiece"))
    return cases


# -- beam: a fake decoder driven by fixed tables -------------------------------------------------

BEAM_CASES = [  # (seed, vocab, max_target_len, start, eos, forced_bos, forced_eos)
    (0, 12, 8, 0, 2, None, None), (1, 30, 10, 1, 2, None, None), (2, 16, 6, 0, 1, None, 1),
    (3, 20, 9, 2, 2, 5, None), (4, 24, 10, 0, 2, 7, 2), (5, 9, 12, 0, 3, None, None),
    (6, 40, 10, 1, 2, None, None), (7, 14, 7, 0, 2, 3, 2),
]
WIDTHS = [1, 2, 3, 4]


def _tables(seed: int, V: int, T: int, eos: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 2.0, (T, V, V)).astype(np.float32)
    b = rng.normal(0, 1.0, (T, V, V)).astype(np.float32)
    a[:, :, eos] += (np.arange(T, dtype=np.float32) * 0.6 - 2.0)[:, None]  # <eos> likelier later
    return a, b


def _python_runners(a: np.ndarray, b: np.ndarray):
    T, V = a.shape[0], a.shape[2]

    def encoder(feeds):
        z = np.zeros(1, np.float32)
        return {"cross_keys": z, "cross_values": z, "source_bias": z}

    def decoder(feeds):
        token, position = int(feeds["token"][0, 0]), int(feeds["position"][0])
        past = np.asarray(feeds["past_keys"], np.float32).reshape(-1)
        previous = int(past[position - 1]) if position > 0 else 0
        present = past.copy()
        present[position] = token
        return {"logits": (a[position, token] + b[position, previous]).reshape(1, V),
                "present_keys": present.reshape(1, 1, T, 1), "present_values": feeds["past_values"]}

    return encoder, decoder


@pytest.fixture(scope="module")
def contract(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kotlin_contract")
    toks = _tokenizers(tmp)
    unsupported = _unsupported(tmp)
    beams = []
    for seed, V, T, start, eos, fbos, feos in BEAM_CASES:
        a, b = _tables(seed, V, T, eos)
        np.save(tmp / f"a{seed}.npy", a)
        np.save(tmp / f"b{seed}.npy", b)
        beams.append({"a": f"a{seed}.npy", "b": f"b{seed}.npy", "start": start, "eos": eos, "pad": 0,
                      "forced_bos": fbos, "forced_eos": feos, "widths": WIDTHS})
    cases = {"tokenizers": [{"name": f"{t['name']}@{m}", "path": t["path"], "max_source_len": m, "pad": t["ids"]["pad"],
                             "eos": t["ids"]["eos"], "sentences": SENTENCES} for t in toks for m in MAX_SOURCE],
             "unsupported": [p for p, _ in unsupported], "beam": beams}
    (tmp / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    got = json.loads(run_kotlin("dev.mobilekit.core.TranslationContractCheckKt", tmp / "cases.json"))
    return tmp, toks, unsupported, got


def test_kotlin_tokenizer_matches_tokenizers_on_every_family_and_hostile_text(contract):
    from tokenizers import Tokenizer

    tmp, toks, _, got = contract
    by_name = {t["name"]: t for t in toks}
    compared = 0
    for case in got["tokenizers"]:
        name, max_len = case["name"].split("@")
        t = by_name[name]
        tok = Tokenizer.from_file(str(tmp / t["path"]))
        text = HfText(tok, tmp / t["path"], dict(t["ids"]))
        for sentence, res in zip(SENTENCES, case["results"]):
            enc = tok.encode(sentence, add_special_tokens=False)
            where = f"{case['name']} {sentence!r}"
            assert res["ids"] == enc.ids, (where, res["tokens"], enc.tokens)
            assert res["decoded"] == tok.decode(enc.ids, skip_special_tokens=False), where
            src = text.encode_source(sentence, int(max_len))
            assert res["source_ids"] == src, where
            assert res["decoded_skip"] == tok.decode(src, skip_special_tokens=True), where
            assert res["output_text"] == text.decode(enc.ids), where
            compared += 1
    assert compared == len(toks) * len(MAX_SOURCE) * len(SENTENCES)


def test_unsupported_components_fail_at_load_naming_the_component(contract):
    _, _, unsupported, got = contract
    for (path, component), message in zip(unsupported, got["unsupported"]):
        assert message is not None, f"{path}: {component} was accepted"
        assert message.startswith("UnsupportedTokenizerException") and component in message, (component, message)


def test_kotlin_beam_search_equals_the_python_runner_and_greedy_equals_beam_1(contract):
    _, _, _, got = contract
    differs = 0
    for (seed, V, T, start, eos, fbos, feos), res in zip(BEAM_CASES, got["beam"]):
        a, b = _tables(seed, V, T, eos)
        enc, dec = _python_runners(a, b)
        shapes = Shapes(vocab_size=V, max_source_len=1, max_target_len=T, layers=1, heads=1, head_dim=1,
                        start=start, eos=eos, pad=0, forced_bos=fbos, forced_eos=feos)
        greedy = decoding.greedy(enc, dec, [0], shapes).ids
        assert res["greedy"] == greedy, (seed, res["greedy"], greedy)
        for w in WIDTHS:
            want = decoding.beam(enc, dec, [0], shapes, w).ids
            assert res["beams"][str(w)] == want, (seed, w, res["beams"][str(w)], want)
        assert res["beams"]["1"] == greedy, seed
        if fbos is not None:
            assert all(r[0] == fbos for r in res["beams"].values())
        differs += any(res["beams"][str(w)] != greedy for w in WIDTHS[1:])
    assert differs >= len(BEAM_CASES) // 2, "the tables should make beam search differ from greedy in most cases"


REAL_WIDTHS = [2, 3, 4]


def _recording_onnx_pair(bundle: Path, manifest: dict):
    """The bundle's ONNX pair, its decoder logits recorded by the prefix of tokens fed (the prefix
    of a call is known from the cache it is fed: the present_* of the call before, zeros at step 0)."""
    import onnxruntime as ort

    paths = {a["graph"]: bundle / a["path"] for a in manifest["artifacts"] if a["target"] == "onnx" and a["variant"] == "fp32"}
    sess = {g: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for g, p in paths.items()}

    def run(s, feeds):
        return dict(zip([o.name for o in s.get_outputs()], s.run(None, {i.name: feeds[i.name] for i in s.get_inputs()})))

    prefix_of, keep, table = {}, [], {}

    def decoder(feeds):
        prefix = prefix_of.get(id(feeds["past_keys"]), ()) + (int(feeds["token"][0, 0]),)
        assert len(prefix) == int(feeds["position"][0]) + 1
        out = run(sess["decoder"], feeds)
        keep.append(out["present_keys"])  # ids stay unique while the arrays live
        prefix_of[id(out["present_keys"])] = prefix
        table[prefix] = np.asarray(out["logits"], np.float32).reshape(-1)
        return out

    return (lambda feeds: run(sess["encoder"], feeds)), decoder, table


@pytest.fixture(scope="module")
def bundles_checked(hf_translation_bundles, tmp_path_factory):
    from mobilekit.tasks import hf, translation_golden

    tmp = tmp_path_factory.mktemp("kotlin_bundles")
    families = list(hf_translation_bundles)
    replays, expected = [], []
    for family in families:
        bundle, model = hf_translation_bundles[family]
        manifest = json.loads((bundle / "manifest.json").read_text())
        shapes = translation_golden.shapes(manifest)
        for i, s in enumerate(json.loads((bundle / manifest["translation"]["golden"]).read_text(encoding="utf-8"))["samples"]):
            encoder, decoder, table = _recording_onnx_pair(bundle, manifest)
            want = {"greedy": decoding.greedy(encoder, decoder, s["source_ids"], shapes).ids,
                    "beams": {str(k): decoding.beam(encoder, decoder, s["source_ids"], shapes, k).ids for k in REAL_WIDTHS},
                    "generate": {str(k): hf.generate(model, s["source_ids"], shapes, num_beams=k) for k in REAL_WIDTHS}}
            prefixes = list(table)
            np.save(tmp / f"{family}{i}.npy", np.stack([table[p] for p in prefixes]))
            replays.append({"manifest": str(bundle / "manifest.json"), "logits": f"{family}{i}.npy",
                            "prefixes": [list(p) for p in prefixes], "source_ids": s["source_ids"], "widths": REAL_WIDTHS})
            expected.append((family, s["text"], want))
    cases = {"tokenizers": [], "unsupported": [], "beam": [], "replays": replays,
             "bundles": [str(hf_translation_bundles[f][0]) for f in families]}
    (tmp / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    got = json.loads(run_kotlin("dev.mobilekit.core.TranslationContractCheckKt", tmp / "cases.json"))
    return dict(zip(families, got["bundles"])), list(zip(expected, got["replays"]))


def test_exported_hf_bundles_read_and_replay_as_the_app_runs_them(hf_translation_bundles, bundles_checked):
    """An M2M100 bundle (byte-level BPE, language template, forced bos) from `mobilekit export`: the
    app's manifest reading, tokenizer, source ids, greedy loop with the forced token and output text
    give the export's golden sentences."""
    for family, (bundle, _) in hf_translation_bundles.items():
        manifest = json.loads((bundle / "manifest.json").read_text())
        t, got = manifest["translation"], bundles_checked[0][family]
        roles = t["special_tokens"]
        assert got["special"] == [roles["pad"], roles["decoder_start"], roles["eos"], roles["unk"]], family
        assert got["forced"] == [t["decoder_start"]["forced_bos"], t["decoder_start"]["forced_eos"]], family
        assert got["tokenizer_contract"] and got["beam_search"], family
        assert set(got["wiring"]) == {i["name"] for i in t["decoder"]["inputs"]}
        golden = json.loads((bundle / t["golden"]).read_text(encoding="utf-8"))["samples"]
        assert len(golden) == len(got["samples"]) >= 2
        for s, g in zip(golden, got["samples"]):
            assert g["source_ids"] == s["source_ids"], (family, s["text"])
            assert g["greedy_ids"] == s["output_ids"], (family, s["text"])
            assert g["fed"][0] == t["decoder_start"]["token"] and g["fed"][1:] == s["output_ids"][:len(g["fed"]) - 1]
            assert g["output_text"] == s["output_text"], (family, s["text"])
        assert t["decoder_start"]["forced_bos"] is not None and all(g["greedy_ids"][0] == t["decoder_start"]["forced_bos"]
                                                                     for g in got["samples"])


def test_kotlin_beam_search_on_a_real_decoders_logits_equals_generate(bundles_checked):
    """The exported M2M100's ONNX decoder, its logits recorded for every prefix the Python beam
    asked for: the Kotlin beam search (widths 2-4) asks for the same prefixes only and returns what
    decoding.beam and the model's own generate(num_beams=k) return; Kotlin greedy == decoding.greedy."""
    differs = 0
    for (family, text, want), got in bundles_checked[1]:
        assert got["greedy"] == want["greedy"], (family, text)
        for k in map(str, REAL_WIDTHS):
            assert want["beams"][k] == want["generate"][k], (family, text, k)  # the Python runner, as shipped
            assert got["beams"][k] == want["beams"][k], (family, text, k, got["beams"][k])
            differs += got["beams"][k] != want["greedy"]
    assert bundles_checked[1] and differs > 0, "the beams never left the greedy path: nothing was tested"


def test_a_sentencepiece_converted_t5_tokenizer_is_among_those_compared(contract):
    """The Precompiled charsmap path is exercised on a real SentencePiece model (converted as T5's)."""
    pytest.importorskip("sentencepiece")
    assert any(t["name"] == "spm-t5" for t in contract[1])
