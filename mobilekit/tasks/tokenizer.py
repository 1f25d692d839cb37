"""The translation tokenizer: Hugging Face `tokenizers` BPE, shaped so apps can re-implement it.

Contract (shared with the Kotlin and Swift ports): normalizer Lowercase; pre-tokenizer
Whitespace (`\\w+|[^\\w\\s]+`); BPE with end-of-word suffix "</w>", no continuing-subword prefix,
no byte fallback, no dropout, unknown symbols → <unk>; decoder BPEDecoder("</w>"); no
post-processor. Special tokens have fixed ids: <pad>=0, <bos>=1, <eos>=2, <unk>=3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import UserError

SPECIAL = {"pad": 0, "bos": 1, "eos": 2, "unk": 3}
SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"]
SUFFIX = "</w>"
SOURCE_FORMAT = ("lowercase + BPE tokens, then <eos>; truncated to max_source_len-1 tokens before <eos>; "
                 "right-padded with <pad> to max_source_len; no <bos>")


def train(texts: Iterable[str], vocab_size: int = 800):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix=SUFFIX))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix=SUFFIX)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, end_of_word_suffix=SUFFIX,
                                  show_progress=False, min_frequency=1)
    tok.train_from_iterator(list(texts), trainer)
    check(tok)
    return tok


def load(path: str | Path):
    from tokenizers import Tokenizer

    p = Path(path)
    if not p.is_file():
        raise UserError(f"tokenizer file {p} does not exist", hint="Point `translation.tokenizer` at a tokenizers JSON file.")
    try:
        tok = Tokenizer.from_file(str(p))
    except Exception as exc:  # tokenizers raises plain Exceptions for bad files
        raise UserError(f"tokenizer file {p} cannot be read: {str(exc).splitlines()[0]}",
                        hint="Give a Hugging Face tokenizers JSON file.") from None
    check(tok, str(p))
    return tok


def check(tok, where: str = "the tokenizer") -> None:
    """The special tokens sit at their fixed ids (the apps and the graphs assume them)."""
    for name, idx in SPECIAL.items():
        if tok.token_to_id(f"<{name}>") != idx:
            raise UserError(f"{where}: <{name}> has id {tok.token_to_id(f'<{name}>')}, expected {idx}",
                            hint="Train it with special tokens <pad>, <bos>, <eos>, <unk> first, in that order.")


def encode_source(tok, text: str, max_len: int) -> list[int]:
    ids = tok.encode(text, add_special_tokens=False).ids[: max_len - 1] + [SPECIAL["eos"]]
    return ids + [SPECIAL["pad"]] * (max_len - len(ids))


def decode(tok, ids: list[int]) -> str:
    return tok.decode([i for i in ids if i not in (SPECIAL["bos"], SPECIAL["eos"], SPECIAL["pad"])],
                      skip_special_tokens=False)
