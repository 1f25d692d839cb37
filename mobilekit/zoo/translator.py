"""The shipped translation model: a small pre-LN transformer encoder-decoder (English → Spanish).

Written out by hand (no nn.Transformer) so that the decoder step can take its key/value cache as
explicit fixed-size tensors: the new key/value is written at `position` by a one-hot blend, not
by dynamic slicing, so the step graph has static shapes and converts to ONNX, TFLite and Core ML.

Three ways in, sharing every weight:
- `forward(source_ids, target_ids)`: teacher-forced logits for training (batched);
- `encode(source_ids)`: cross-attention keys/values for every decoder layer + the source mask bias;
- `step(token, position, cross_k, cross_v, source_bias, past_k, past_v)`: one decoder step (batch 1).
Trained by `examples/translation/train.py`; weights in `translator.safetensors` (fp16 on disk).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).with_name("translator.safetensors")
TOKENIZER = Path(__file__).with_name("translator_tokenizer.json")
NEG = -1e4  # additive mask bias: exp(-1e4) is exactly 0 in fp32 and fits fp16


@dataclass(frozen=True)
class TranslatorConfig:
    vocab_size: int = 500
    d_model: int = 128
    heads: int = 4
    ffn: int = 256
    encoder_layers: int = 2
    decoder_layers: int = 2
    max_source_len: int = 20
    max_target_len: int = 40

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """q [..., H, Lq, Dh], k/v [..., H, Lk, Dh], bias broadcast to [..., H, Lq, Lk]."""
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1])) + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class _Heads(nn.Module):
    """Linear projections with helpers to split/merge heads."""

    def __init__(self, cfg: TranslatorConfig):
        super().__init__()
        self.h, self.dh = cfg.heads, cfg.head_dim
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.k = nn.Linear(cfg.d_model, cfg.d_model)
        self.v = nn.Linear(cfg.d_model, cfg.d_model)
        self.o = nn.Linear(cfg.d_model, cfg.d_model)

    def split(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, D] → [B, H, L, Dh]
        return x.reshape(x.shape[0], x.shape[1], self.h, self.dh).transpose(1, 2)

    def merge(self, x: torch.Tensor) -> torch.Tensor:  # [B, H, L, Dh] → [B, L, D]
        return self.o(x.transpose(1, 2).reshape(x.shape[0], x.shape[2], self.h * self.dh))


class _FFN(nn.Module):
    def __init__(self, cfg: TranslatorConfig):
        super().__init__()
        self.up = nn.Linear(cfg.d_model, cfg.ffn)
        self.down = nn.Linear(cfg.ffn, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(torch.relu(self.up(x)))


class _EncoderLayer(nn.Module):
    def __init__(self, cfg: TranslatorConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn, self.ffn = _Heads(cfg), _FFN(cfg)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn.merge(_attend(self.attn.split(self.attn.q(h)), self.attn.split(self.attn.k(h)),
                                        self.attn.split(self.attn.v(h)), bias))
        return x + self.ffn(self.ln2(x))


class _DecoderLayer(nn.Module):
    def __init__(self, cfg: TranslatorConfig):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = (nn.LayerNorm(cfg.d_model) for _ in range(3))
        self.self_attn, self.cross, self.ffn = _Heads(cfg), _Heads(cfg), _FFN(cfg)


class Translator(nn.Module):
    def __init__(self, cfg: TranslatorConfig = TranslatorConfig()):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.src_pos = nn.Embedding(cfg.max_source_len, cfg.d_model)
        self.tgt_pos = nn.Embedding(cfg.max_target_len, cfg.d_model)
        self.encoder = nn.ModuleList(_EncoderLayer(cfg) for _ in range(cfg.encoder_layers))
        self.decoder = nn.ModuleList(_DecoderLayer(cfg) for _ in range(cfg.decoder_layers))
        self.enc_ln, self.dec_ln = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.scale = math.sqrt(cfg.d_model)
        # tied input/output embedding: unit-scale inputs after `* scale`, small initial logits
        nn.init.normal_(self.embed.weight, std=cfg.d_model ** -0.5)
        nn.init.normal_(self.src_pos.weight, std=0.1)
        nn.init.normal_(self.tgt_pos.weight, std=0.1)

    # -- encoder -------------------------------------------------------------------------
    def source_bias(self, source_ids: torch.Tensor) -> torch.Tensor:
        """[B, S] ids → [B, 1, 1, S] additive bias: 0 for tokens, NEG for <pad> (id 0)."""
        return ((source_ids == 0).to(torch.float32) * NEG)[:, None, None, :]

    def memory(self, source_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(source_ids.shape[1], device=source_ids.device)
        x = self.embed(source_ids) * self.scale + self.src_pos(positions)
        bias = self.source_bias(source_ids)
        for layer in self.encoder:
            x = layer(x, bias)
        return self.enc_ln(x)

    def encode(self, source_ids: torch.Tensor):
        """→ cross keys/values [L, H, S, Dh] per decoder layer (batch 1) and the source bias [1, S]."""
        mem = self.memory(source_ids)
        ks = [layer.cross.split(layer.cross.k(mem))[0] for layer in self.decoder]
        vs = [layer.cross.split(layer.cross.v(mem))[0] for layer in self.decoder]
        return torch.stack(ks), torch.stack(vs), self.source_bias(source_ids)[:, 0, 0, :]

    # -- decoder, teacher forced (training, and the no-cache reference) --------------------
    def forward(self, source_ids: torch.Tensor, target_ids: torch.Tensor) -> torch.Tensor:
        mem = self.memory(source_ids)
        src_bias = self.source_bias(source_ids)
        return self.decode_full(mem, src_bias, target_ids)

    def decode_full(self, mem: torch.Tensor, src_bias: torch.Tensor, target_ids: torch.Tensor) -> torch.Tensor:
        n = target_ids.shape[1]
        positions = torch.arange(n, device=target_ids.device)
        causal = torch.triu(torch.full((n, n), NEG, device=target_ids.device), diagonal=1)
        x = self.embed(target_ids) * self.scale + self.tgt_pos(positions)
        for layer in self.decoder:
            h = layer.ln1(x)
            a = layer.self_attn
            x = x + a.merge(_attend(a.split(a.q(h)), a.split(a.k(h)), a.split(a.v(h)), causal))
            h = layer.ln2(x)
            c = layer.cross
            x = x + c.merge(_attend(c.split(c.q(h)), c.split(c.k(mem)), c.split(c.v(mem)), src_bias))
            x = x + layer.ffn(layer.ln3(x))
        return torch.matmul(self.dec_ln(x), self.embed.weight.t())  # tied output projection

    # -- decoder, one step with an explicit fixed-size cache (batch 1) --------------------
    def step(self, token, position, cross_k, cross_v, source_bias, past_k, past_v):
        """token [1, 1], position [1] → logits [1, V], present keys/values [L, H, T, Dh].

        The new key/value lands at `position` by a one-hot blend; slots after `position` are
        masked, so whatever they hold (zeros at the start) never matters.
        """
        t = self.cfg.max_target_len
        slots = torch.arange(t, dtype=position.dtype, device=position.device)
        onehot = (slots == position).to(torch.float32)[:, None]  # [T, 1]
        keep = 1.0 - onehot
        self_bias = (slots > position).to(torch.float32) * NEG  # [T]: causal, over the cache slots
        pos = torch.matmul(onehot.t(), self.tgt_pos.weight)  # [1, D]: position embedding, no gather
        x = self.embed(token) * self.scale + pos[:, None, :]  # [1, 1, D]
        cross_bias = source_bias[:, None, :]  # [1, 1, S]
        new_k, new_v = [], []
        for i, layer in enumerate(self.decoder):
            h = layer.ln1(x)
            a = layer.self_attn
            q, k, v = a.split(a.q(h))[0], a.split(a.k(h))[0], a.split(a.v(h))[0]  # [H, 1, Dh]
            ks = past_k[i] * keep + k * onehot  # [H, T, Dh]
            vs = past_v[i] * keep + v * onehot
            new_k.append(ks)
            new_v.append(vs)
            x = x + a.merge(_attend(q, ks, vs, self_bias)[None])
            h = layer.ln2(x)
            c = layer.cross
            x = x + c.merge(_attend(c.split(c.q(h))[0], cross_k[i], cross_v[i], cross_bias)[None])
            x = x + layer.ffn(layer.ln3(x))
        logits = torch.matmul(self.dec_ln(x), self.embed.weight.t())[:, 0, :]
        return logits, torch.stack(new_k), torch.stack(new_v)


def config_dict(cfg: TranslatorConfig) -> dict:
    return asdict(cfg)


def build(weights: str | Path | None = None) -> Translator:
    """The shipped model with its trained weights (fp16 on disk, fp32 in memory)."""
    from safetensors.torch import load_file

    model = Translator(TranslatorConfig())
    state = load_file(str(weights or WEIGHTS))
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    return model.eval()
