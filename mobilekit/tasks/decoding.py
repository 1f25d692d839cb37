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


# what the apps' beam search implements (recorded in the manifest; Python: `beam` below)
BEAM_CONTRACT = ("optional, width k (HF generate(num_beams=k, early_stopping=True, length_penalty=1.0)): one cache per "
                 "beam; beam 0 alone is live at step 0 (the others score -1e9); each step score = beam score + log_softmax(logits) "
                 "(forced tokens: every other id -inf); take the best 2k of all beams x vocab; of the first k, those that are eos "
                 "or at the last allowed step finish with score/len (len = generated ids incl. eos); the best k unfinished run on "
                 "with their parent's cache; stop when k are finished; output the best finished")


def beam(encoder, decoder, source_ids: list[int], shapes: Shapes, width: int, *, length_penalty: float = 1.0) -> Decoded:
    """Beam search of `width` beams, as HF generate(num_beams=width, early_stopping=True) does it.

    Each step: log-softmax per beam (forced tokens: every other id at -inf) plus the beam's score;
    the best 2*width continuations of all beams; those of the first `width` that end (<eos>, or the
    last allowed step) become finished hypotheses scored sum/len**length_penalty (len counts the
    generated ids, <eos> included); the best `width` unfinished ones run on, each with its own cache.
    Stop once `width` hypotheses are finished; the best one wins. Beam 0 alone is live at step 0.
    """
    enc = encoder({"source_ids": np.asarray([source_ids], np.int32)})
    zeros = np.zeros(shapes.cache(), np.float32)
    limit = shapes.max_target_len - 1
    V = shapes.vocab_size
    running = [([], np.float32(0.0 if b == 0 else -1e9), zeros, zeros) for b in range(width)]
    finished: list[tuple[float, list[int]]] = []
    for position in range(limit):
        acc, caches = [], []
        for ids, score, past_k, past_v in running:
            res = decoder({"token": np.array([[ids[-1] if ids else shapes.start]], np.int32),
                           "position": np.array([position], np.int32), "cross_keys": enc["cross_keys"],
                           "cross_values": enc["cross_values"], "source_bias": enc["source_bias"],
                           "past_keys": past_k, "past_values": past_v})
            logp = _log_softmax(np.asarray(res["logits"], np.float32).reshape(-1)[:V])
            want = forced(shapes, position, limit, -1)
            if want != -1:
                logp = np.full_like(logp, -np.inf)
                logp[want] = 0.0
            acc.append(logp + score)
            caches.append((res["present_keys"], res["present_values"]))
        flat = np.concatenate(acc)
        top = np.argsort(-flat, kind="stable")[: 2 * width]
        ends = [int(i % V) == shapes.eos or position == limit - 1 for i in top]
        for j in range(width):  # only the best `width` continuations may finish
            if ends[j]:
                i = top[j]
                finished.append((float(flat[i] / np.float32((position + 1) ** length_penalty)), running[i // V][0] + [int(i % V)]))
        finished = sorted(finished, key=lambda f: -f[0])[:width]
        keep = sorted(range(len(top)), key=lambda j: -(flat[top[j]] - (1e9 if ends[j] else 0.0)))[:width]
        running = [(running[top[j] // V][0] + [int(top[j] % V)], np.float32(flat[top[j]] - (1e9 if ends[j] else 0.0)),
                    *caches[top[j] // V]) for j in keep]
        if len(finished) == width:  # early_stopping=True: every slot holds a finished hypothesis
            break
    return Decoded(finished[0][1], eos=shapes.eos)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - np.max(x)
    return (z - np.log(np.sum(np.exp(z)))).astype(np.float32)
