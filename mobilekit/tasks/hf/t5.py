"""T5 as an encoder graph and a decoder step with a fixed-size cache.

What differs from the BART-like families (bart_like.py):
- no absolute positions: the decoder's first block holds a relative position bias (bucketed
  `memory - query`, causal), shared by every layer; it is precomputed as a [T, H*T] table whose
  row `position` the step selects with a one-hot, like the BART-like position table;
- no embedding scale, unscaled q·k (T5's attention has `scaling = 1`), RMS LayerNorm before each
  sub-layer (pre-LN) and a final decoder LayerNorm;
- the tied `lm_head` sees the decoder output times d_model**-0.5 (`config.scale_decoder_outputs`,
  true exactly when the embeddings are tied);
- decoder_start_token = pad; head_dim is `d_kv` (H*d_kv need not equal d_model).
"""

from __future__ import annotations

import torch

from .bart_like import NEG


def _self_bias_table(model, length: int):
    """Row p = the relative position bias query p gives keys 0..T-1, [T, H*T] (causal part masked later)."""
    att = model.get_decoder().block[0].layer[0].SelfAttention
    with torch.no_grad():
        bias = att.compute_bias(length, length, device=att.relative_attention_bias.weight.device)  # [1,H,T,T]
    return bias[0].permute(1, 0, 2).reshape(length, -1).detach().clone().float()


class T5Seq2Seq(torch.nn.Module):
    def __init__(self, model, family: str, max_source_len: int, max_target_len: int):
        super().__init__()
        self.model, self.family = model, family
        c = model.config
        self.S, self.T = max_source_len, max_target_len
        self.layers = c.num_decoder_layers
        self.heads = c.num_heads
        self.head_dim = c.d_kv
        self.pad = c.pad_token_id
        self.scale = c.d_model ** -0.5 if getattr(c, "scale_decoder_outputs", c.tie_word_embeddings) else 1.0
        self.register_buffer("self_bias", _self_bias_table(model, max_target_len), persistent=False)
        enc_att = model.get_encoder().block[0].layer[0].SelfAttention  # bidirectional buckets
        with torch.no_grad():
            self.register_buffer("enc_bias", enc_att.compute_bias(max_source_len, max_source_len)[0].detach().clone().float().contiguous(),
                                 persistent=False)

    def vocab_size(self) -> int:
        return int(self.model.lm_head.out_features)

    def _split(self, x):  # [1, L, H*Dh] → [H, L, Dh]
        return x.reshape(x.shape[1], self.heads, self.head_dim).transpose(0, 1)

    def encode(self, source_ids):
        """The encoder's own modules over a fixed-length source (HF's T5 attention reshapes a transposed
        view, which the ONNX exporter's decomposition refuses: `Cannot view a tensor ... strides`)."""
        ids = source_ids.long()
        mask = (ids != self.pad).long()
        enc = self.model.get_encoder()
        bias = self.enc_bias + ((1.0 - mask.float()) * NEG).reshape(1, 1, -1)  # [H,S,S]
        h = enc.embed_tokens(ids)
        for block in enc.block:
            sa_layer, ff_layer = block.layer[0], block.layer[-1]
            sa = sa_layer.SelfAttention
            x = sa_layer.layer_norm(h)
            q, k, v = self._split(sa.q(x)), self._split(sa.k(x)), self._split(sa.v(x))
            w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) + bias, dim=-1)
            h = h + sa.o(torch.matmul(w, v).transpose(0, 1).reshape(1, ids.shape[1], -1))
            h = h + ff_layer.DenseReluDense(ff_layer.layer_norm(h))
        hidden = enc.final_layer_norm(h)
        ks, vs = [], []
        for block in self.model.get_decoder().block:
            att = block.layer[1].EncDecAttention
            ks.append(self._split(att.k(hidden)))
            vs.append(self._split(att.v(hidden)))
        bias = (1.0 - mask.float()) * NEG
        return torch.stack(ks), torch.stack(vs), bias

    def step(self, token, position, cross_k, cross_v, source_bias, past_k, past_v):
        dec = self.model.get_decoder()
        h = dec.embed_tokens(token.long())  # [1,1,D]
        slots = torch.arange(self.T, dtype=torch.int32)
        onehot = (slots == position.to(torch.int32)).to(h.dtype)
        causal = torch.where(slots <= position.to(torch.int32), 0.0, NEG).reshape(1, 1, self.T)
        self_bias = (onehot @ self.self_bias.to(h.dtype)).reshape(self.heads, 1, self.T) + causal
        write = onehot.reshape(1, self.T, 1)
        new_k, new_v = [], []
        for i, block in enumerate(dec.block):
            sa_layer, ca_layer, ff_layer = block.layer[0], block.layer[1], block.layer[-1]
            sa = sa_layer.SelfAttention
            x = sa_layer.layer_norm(h)
            k = past_k[i] * (1 - write) + self._split(sa.k(x)) * write  # [H,T,Dh]
            v = past_v[i] * (1 - write) + self._split(sa.v(x)) * write
            new_k.append(k)
            new_v.append(v)
            h = h + self._attend(sa, x, k, v, self_bias)
            ca = ca_layer.EncDecAttention
            h = h + self._attend(ca, ca_layer.layer_norm(h), cross_k[i], cross_v[i], source_bias.reshape(1, 1, -1))
            h = h + ff_layer.DenseReluDense(ff_layer.layer_norm(h))
        h = dec.final_layer_norm(h) * self.scale
        logits = self.model.lm_head(h).reshape(1, -1)
        return logits, torch.stack(new_k), torch.stack(new_v)

    def _attend(self, att, x, k, v, bias):
        """HF's T5 attention for one query: softmax(q k^T + bias) v, no 1/sqrt(d) scaling."""
        q = self._split(att.q(x))  # [H,1,Dh]
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) + bias, dim=-1)
        return att.o(torch.matmul(w, v).transpose(0, 1).reshape(1, 1, -1))
