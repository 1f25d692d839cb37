"""The shipped translation tokenizer keeps the bundle contract and is re-implementable exactly."""

import json

import pytest
from bpe_reference import ContractBPE

from mobilekit.errors import UserError
from mobilekit.tasks import tokenizer
from mobilekit.zoo import translation_corpus
from mobilekit.zoo.translator import TOKENIZER


@pytest.fixture(scope="module")
def tok():
    return tokenizer.load(TOKENIZER)


def test_contract_shape_of_the_shipped_json():
    data = json.loads(TOKENIZER.read_text(encoding="utf-8"))
    assert data["normalizer"]["type"] == "Lowercase"
    assert data["pre_tokenizer"]["type"] == "Whitespace"
    assert data["post_processor"] is None
    model = data["model"]
    assert model["type"] == "BPE" and model["end_of_word_suffix"] == "</w>" and model["unk_token"] == "<unk>"
    assert not model.get("continuing_subword_prefix") and not model.get("byte_fallback") and model.get("dropout") is None
    assert data["decoder"] == {"type": "BPEDecoder", "suffix": "</w>"}
    assert [model["vocab"][t] for t in ("<pad>", "<bos>", "<eos>", "<unk>")] == [0, 1, 2, 3]


def test_reference_bpe_matches_hf_tokenizers_on_the_whole_corpus(tok):
    ref = ContractBPE(TOKENIZER)
    texts = [s for pair in translation_corpus.load() for s in pair]
    texts += ["Zebras DON'T eat 42 apples!", "¿Dónde está la casa?", "über-cool naïve café"]
    for text in texts:
        want = tok.encode(text, add_special_tokens=False).ids
        assert ref.encode(text) == want, text
        assert ref.decode(want) == tokenizer.decode(tok, want), text


def test_unknown_symbols_map_to_unk(tok):
    ids = tok.encode("the cat ☃", add_special_tokens=False).ids
    assert ids[-1] == tokenizer.SPECIAL["unk"]


def test_source_format_pads_and_truncates(tok):
    ids = tokenizer.encode_source(tok, "The cat runs .", 20)
    assert len(ids) == 20 and ids[ids.index(2) + 1:] == [0] * (19 - ids.index(2)) and 1 not in ids
    long = tokenizer.encode_source(tok, " ".join(["cat"] * 50), 20)
    assert len(long) == 20 and long[-1] == tokenizer.SPECIAL["eos"]


def test_round_trip_of_corpus_text(tok):
    for en, es in translation_corpus.load("test")[:200]:
        for text in (en, es):
            assert tokenizer.decode(tok, tok.encode(text, add_special_tokens=False).ids) == text


def test_bad_tokenizer_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "tok.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="cannot be read"):
        tokenizer.load(bad)
    with pytest.raises(UserError, match="does not exist"):
        tokenizer.load(tmp_path / "missing.json")


def test_special_ids_are_enforced(tmp_path):
    from tokenizers import Tokenizer, models

    t = Tokenizer(models.BPE(vocab={"a": 0, "<pad>": 1, "<bos>": 2, "<eos>": 3, "<unk>": 4}, merges=[], unk_token="<unk>"))
    path = tmp_path / "t.json"
    t.save(str(path))
    with pytest.raises(UserError, match="<pad> has id 1"):
        tokenizer.load(path)
