"""Greedy decoding over two graph runners (encoder, decoder step): the one loop every runtime shares.

A runner is `feeds dict → outputs dict` of numpy arrays, named as in `seq2seq_split.Shapes`.
The loop is the contract the apps implement: start from <bos>, feed one token per step at
`position`, take the argmax (lowest index on ties), stop at <eos> or after T-1 tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .seq2seq_split import Shapes
from .tokenizer import SPECIAL


@dataclass
class Decoded:
    ids: list[int]  # generated ids, <eos> included when it was produced, no <bos>
    step_logits: list[np.ndarray] = field(default_factory=list)  # [V] per step when collected
    eos: int = SPECIAL["eos"]

    @property
    def tokens(self) -> list[int]:
        """The output ids without <eos>: what gets detokenized."""
        return [i for i in self.ids if i != self.eos]


def greedy(encoder, decoder, source_ids: list[int], shapes: Shapes, *, max_new: int | None = None,
           stop_at_eos: bool = True, collect_logits: bool = False) -> Decoded:
    enc = encoder({"source_ids": np.asarray([source_ids], np.int32)})
    past_k = np.zeros(shapes.cache(), np.float32)
    past_v = np.zeros(shapes.cache(), np.float32)
    token = shapes.start
    limit = shapes.max_target_len - 1 if max_new is None else max_new
    out = Decoded([], eos=shapes.eos)
    for position in range(limit):
        res = decoder({"token": np.array([[token]], np.int32), "position": np.array([position], np.int32),
                       "cross_keys": enc["cross_keys"], "cross_values": enc["cross_values"],
                       "source_bias": enc["source_bias"], "past_keys": past_k, "past_values": past_v})
        logits = np.asarray(res["logits"], np.float32).reshape(-1)
        if collect_logits:
            out.step_logits.append(logits.copy())
        token = int(np.argmax(logits))  # numpy: first index of the maximum
        token = forced(shapes, position, limit, token)
        out.ids.append(token)
        past_k, past_v = res["present_keys"], res["present_values"]
        if stop_at_eos and token == shapes.eos:
            break
    return out


def forced(shapes: Shapes, position: int, limit: int, token: int) -> int:
    """HF generate's forced tokens: a language id as the first token, <eos> at the last allowed step."""
    if position == 0 and shapes.forced_bos is not None:
        return shapes.forced_bos
    if position == limit - 1 and shapes.forced_eos is not None and limit == shapes.max_target_len - 1:
        return shapes.forced_eos
    return token


def translate(tok, encoder, decoder, text: str, shapes: Shapes) -> tuple[list[int], Decoded, str]:
    from . import tokenizer

    src = tokenizer.encode_source(tok, text, shapes.max_source_len)
    dec = greedy(encoder, decoder, src, shapes)
    return src, dec, tokenizer.decode(tok, dec.tokens)
