"""The tokenizer contract of a Hugging Face model, read from its own `tokenizer.json` and config.

Source ids: the tokenizer's tokens (no special tokens), truncated so the specials fit, then the
tokenizer's post-processor (its TemplateProcessing: `</s>` for Marian/T5, `<s> … </s>` for BART,
`__en__ … </s>` for M2M100) — or `… </s>` when it has none — right-padded with the model's pad id.
What the apps must re-implement is recorded in the manifest from the tokenizer itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import UserError

KNOWN_MODELS = ("BPE", "Unigram", "WordPiece", "WordLevel")


class HfText:
    """A `tokenizers.Tokenizer` plus the model's special ids: what export encodes and decodes with."""

    def __init__(self, tok, path: Path, ids: dict[str, int | None]):
        self.tok, self.path, self.ids = tok, Path(path), ids
        self.doc = json.loads(self.path.read_text(encoding="utf-8"))
        self.has_template = self.doc.get("post_processor") is not None

    # the tokenizers.Tokenizer surface translation.py uses
    def get_vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str, add_special_tokens: bool = False):
        return self.tok.encode(text, add_special_tokens=add_special_tokens)

    def encode_source(self, text: str, max_len: int) -> list[int]:
        enc = self.tok.encode(text, add_special_tokens=False)
        extra = self.tok.num_special_tokens_to_add(False) if self.has_template else 1
        enc.truncate(max(max_len - extra, 0))
        ids = self.tok.post_process(enc).ids if self.has_template else enc.ids + [self.ids["eos"]]
        ids = ids[:max_len]
        return ids + [self.ids["pad"]] * (max_len - len(ids))

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode([int(i) for i in ids], skip_special_tokens=True)

    def manifest(self) -> dict:
        """The contract the apps implement, described from the tokenizer file itself."""
        model = self.doc.get("model") or {}
        kind = model.get("type") or "?"
        desc = {"normalizer": _describe(self.doc.get("normalizer")), "pre_tokenizer": _describe(self.doc.get("pre_tokenizer")),
                "model": kind, "decoder": _describe(self.doc.get("decoder")),
                "post_processor": _describe(self.doc.get("post_processor"))}
        for key in ("end_of_word_suffix", "continuing_subword_prefix", "byte_fallback", "unk_token", "fuse_unk", "unk_id"):
            if model.get(key) not in (None, False, ""):
                desc[key] = model[key]
        special = {t["content"]: t["id"] for t in self.doc.get("added_tokens", []) if t.get("special")}
        # the apps' contract: `bos` is the id fed at step 0 (HF's decoder_start_token_id); the
        # model's own <s> stays as `model_bos`
        roles = {"pad": self.ids["pad"], "bos": self.ids["decoder_start"], "eos": self.ids["eos"],
                 "unk": self.ids.get("unk", self.ids["pad"]), "decoder_start": self.ids["decoder_start"]}
        if self.ids.get("bos") is not None:
            roles["model_bos"] = self.ids["bos"]
        return {"tokenizer_algorithm": desc, "special_tokens": roles,
                "special_token_strings": special,
                "source_format": ("tokens without specials, truncated so the post-processor's specials fit, then the "
                                  "post-processor template" if self.has_template else "tokens, then eos")
                                 + f"; right-padded with pad ({self.ids['pad']}) to max_source_len"}


def _describe(node):
    """A tokenizers component as `Type` or `Sequence[A, B]` (the full definition is in tokenizer.json)."""
    if not node:
        return None
    kind = node.get("type", "?")
    parts = node.get("normalizers") or node.get("pretokenizers") or node.get("decoders") or node.get("processors")
    return f"{kind}[{', '.join(_describe(p) for p in parts)}]" if parts else kind


def load(path: Path, config, where: str) -> HfText:
    from tokenizers import Tokenizer

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{where}: no tokenizer file {p}", hint="Save the tokenizer beside the model (tokenizer.save_pretrained) "
                        "or set translation.tokenizer to its tokenizer.json.")
    try:
        tok = Tokenizer.from_file(str(p))
    except Exception as exc:  # tokenizers raises plain Exceptions for bad files
        raise UserError(f"tokenizer file {p} cannot be read: {str(exc).splitlines()[0]}",
                        hint="Give a Hugging Face tokenizers JSON file (tokenizer.json).") from None
    ids = {"pad": config.pad_token_id, "eos": config.eos_token_id, "bos": getattr(config, "bos_token_id", None),
           "decoder_start": config.decoder_start_token_id}
    model = json.loads(p.read_text(encoding="utf-8")).get("model") or {}
    unk = model.get("unk_id") if model.get("type") == "Unigram" else tok.token_to_id(model.get("unk_token") or "<unk>")
    if unk is not None:
        ids["unk"] = unk
    for role in ("pad", "eos", "decoder_start"):
        if ids[role] is None:
            raise UserError(f"the model's config has no {role}_token_id", hint=f"Set config.{role}_token_id before exporting.")
    return HfText(tok, p, ids)
