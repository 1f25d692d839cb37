"""MarianMT, BART, mBART and M2M100/NLLB as an encoder graph and a decoder step with a fixed-size cache.

These four share one decoder layer (self-attention, cross-attention, feed-forward; q/k/v/out
projections, `fc1`/`fc2`, three LayerNorms) and differ in a few switches read off the model:
- positions: sinusoidal (Marian; M2M100 with offset padding_idx+1) or learned (BART/mBART, offset 2)
  — taken from the model's own position module as a [max_target_len, d] table;
- post-LN (Marian, BART) or pre-LN with a final decoder LayerNorm (mBART, M2M100);
- `layernorm_embedding` after the embeddings (BART, mBART);
- the embedding scale: inside the embedding module (BART-style ScaledWordEmbedding) or the
  decoder's `embed_scale` (Marian);
- `final_logits_bias` added to the (possibly tied) `lm_head` logits.
The encoder graph runs the model's own encoder and projects its output through every decoder
layer's cross-attention k/v, so the step never recomputes them.
"""

from __future__ import annotations

import torch

NEG = -1e4  # additive mask bias, as the shipped translator: exp(-1e4) is 0 in fp32 and fits fp16
PRE_LN = {"mbart", "m2m_100", "nllb_moe"}


def _position_table(model, family: str, length: int):
    """Row t = what the model's decoder adds at decoding step t (batch 1, no padding)."""
    dec = model.get_decoder()
    pos = dec.embed_positions
    ids = torch.full((1, length), 5 if model.config.pad_token_id != 5 else 6, dtype=torch.long)  # any non-pad id
    with torch.no_grad():
        if family == "marian":
            out = pos((1, length), 0)
        elif family in ("m2m_100",):
            emb = torch.zeros(1, length, model.config.d_model)
            out = pos(ids, emb, 0)
        else:  # bart / mbart learned positions: forward(input_ids, past_len)
            out = pos(ids, 0)
    return out.reshape(length, -1).detach().clone().float()


class BartLikeSeq2Seq(torch.nn.Module):
    """Builds the two graph modules from a transformers model (weights shared, nothing copied)."""

    def __init__(self, model, family: str, max_source_len: int, max_target_len: int):
        super().__init__()
        self.model, self.family = model, family
        c = model.config
        self.S, self.T = max_source_len, max_target_len
        self.layers = c.decoder_layers
        self.heads = c.decoder_attention_heads
        self.head_dim = c.d_model // self.heads
        self.pad = c.pad_token_id
        self.register_buffer("positions", _position_table(model, family, max_target_len), persistent=False)
        self.pre_ln = family in PRE_LN
        bias = getattr(model, "final_logits_bias", None)
        self.register_buffer("logits_bias", bias.detach().reshape(-1).clone() if bias is not None
                             else torch.zeros(model.lm_head.out_features), persistent=False)

    def vocab_size(self) -> int:
        return int(self.model.lm_head.out_features)

    def encode(self, source_ids):
        """source_ids [1,S] int32 → cross keys/values [L,H,S,Dh] and the source bias [1,S]."""
        ids = source_ids.long()
        mask = (ids != self.pad).long()
        hidden = self.model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        ks, vs = [], []
        for layer in self.model.get_decoder().layers:
            att = layer.encoder_attn
            ks.append(self._split(att.k_proj(hidden)))
            vs.append(self._split(att.v_proj(hidden)))
        bias = (1.0 - mask.float()) * NEG
        return torch.stack(ks), torch.stack(vs), bias

    def _split(self, x):  # [1, L, D] → [H, L, Dh]
        return x.reshape(x.shape[1], self.heads, self.head_dim).transpose(0, 1)

    def step(self, token, position, cross_k, cross_v, source_bias, past_k, past_v):
        dec = self.model.get_decoder()
        h = dec.embed_tokens(token.long()) * getattr(dec, "embed_scale", 1.0)  # [1,1,D]
        slots = torch.arange(self.T, dtype=torch.int32)
        onehot = (slots == position.to(torch.int32)).to(h.dtype)  # [T]: the slot this step writes
        h = h + (onehot @ self.positions.to(h.dtype)).reshape(1, 1, -1)
        if getattr(dec, "layernorm_embedding", None) is not None:
            h = dec.layernorm_embedding(h)
        self_bias = torch.where(slots <= position.to(torch.int32), 0.0, NEG).reshape(1, 1, self.T)
        write = onehot.reshape(1, self.T, 1)
        new_k, new_v = [], []
        for i, layer in enumerate(dec.layers):
            sa = layer.self_attn
            x = layer.self_attn_layer_norm(h) if self.pre_ln else h
            k = past_k[i] * (1 - write) + self._split(sa.k_proj(x)) * write  # [H,T,Dh]
            v = past_v[i] * (1 - write) + self._split(sa.v_proj(x)) * write
            new_k.append(k)
            new_v.append(v)
            a = self._attend(sa, x, k, v, self_bias)
            h = h + a if self.pre_ln else layer.self_attn_layer_norm(h + a)
            ca = layer.encoder_attn
            x = layer.encoder_attn_layer_norm(h) if self.pre_ln else h
            a = self._attend(ca, x, cross_k[i], cross_v[i], source_bias.reshape(1, 1, -1))
            h = h + a if self.pre_ln else layer.encoder_attn_layer_norm(h + a)
            x = layer.final_layer_norm(h) if self.pre_ln else h
            f = layer.fc2(layer.activation_fn(layer.fc1(x)))
            h = h + f if self.pre_ln else layer.final_layer_norm(h + f)
        if getattr(dec, "layer_norm", None) is not None:
            h = dec.layer_norm(h)
        logits = self.model.lm_head(h).reshape(1, -1) + self.logits_bias
        return logits, torch.stack(new_k), torch.stack(new_v)

    def _attend(self, att, x, k, v, bias):
        """One query [1,1,D] over k/v [H,L,Dh]; HF's eager attention: softmax(q k^T * scaling + mask) v."""
        q = self._split(att.q_proj(x))  # [H,1,Dh]
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * att.scaling + bias, dim=-1)
        out = torch.matmul(w, v).transpose(0, 1).reshape(1, 1, -1)
        return att.out_proj(out)
