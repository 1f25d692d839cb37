"""A from-scratch BPE encoder/decoder per the bundle contract, in plain Python.

It reads only the tokenizer JSON's vocab and merges: what the Kotlin and Swift ports do. Tests
check it gives the Hugging Face `tokenizers` ids exactly, so the contract is re-implementable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

WORD = re.compile(r"\w+|[^\w\s]+")


class ContractBPE:
    def __init__(self, path: Path):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model = data["model"]
        self.vocab: dict[str, int] = model["vocab"]
        self.inverse = {i: t for t, i in self.vocab.items()}
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.rank = {pair: i for i, pair in enumerate(merges)}
        self.suffix = model["end_of_word_suffix"]
        self.unk = self.vocab[model["unk_token"]]

    def encode_word(self, word: str) -> list[int]:
        symbols = list(word)
        symbols[-1] += self.suffix
        while len(symbols) > 1:
            ranked = [(self.rank.get((a, b), None), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            ranked = [(r, i) for r, i in ranked if r is not None]
            if not ranked:
                break
            best = min(r for r, _ in ranked)
            out, i = [], 0
            while i < len(symbols):  # merge every occurrence of the best pair, left to right
                if i + 1 < len(symbols) and self.rank.get((symbols[i], symbols[i + 1])) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        return [self.vocab.get(s, self.unk) for s in symbols]

    def encode(self, text: str) -> list[int]:
        return [i for w in WORD.findall(text.lower()) for i in self.encode_word(w)]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.inverse[i] for i in ids).replace(self.suffix, " ").strip()
