"""Split a seq2seq model into the graphs that ship: an encoder and a decoder step with a KV cache.

The model must offer `encode(source_ids)` and `step(token, position, cross_k, cross_v,
source_bias, past_k, past_v)` (see mobilekit/zoo/translator.py). Each graph is a small
nn.Module with fixed-shape tensor inputs, so it is captured and converted like any model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shapes:
    """The fixed sizes every graph, the manifest and the apps agree on."""

    vocab_size: int
    max_source_len: int
    max_target_len: int
    layers: int
    heads: int
    head_dim: int
    # token ids the decoding loop needs; the defaults are the shipped translator's fixed ids
    start: int = 1  # fed at step 0 (HF: decoder_start_token_id)
    eos: int = 2
    pad: int = 0
    forced_bos: int | None = None  # HF forced_bos_token_id: the first generated token (M2M100/NLLB language)
    forced_eos: int | None = None  # HF forced_eos_token_id: the token generate forces at the last step

    @classmethod
    def of(cls, model) -> "Shapes":
        if hasattr(model, "shapes"):  # adapters (mobilekit.tasks.hf) know theirs
            return model.shapes
        c = model.cfg
        return cls(c.vocab_size, c.max_source_len, c.max_target_len, c.decoder_layers, c.heads, c.head_dim)

    def cross(self) -> list[int]:
        return [self.layers, self.heads, self.max_source_len, self.head_dim]

    def cache(self) -> list[int]:
        return [self.layers, self.heads, self.max_target_len, self.head_dim]

    def encoder_io(self) -> tuple[list[dict], list[dict]]:
        ins = [_t("source_ids", [1, self.max_source_len], "int32", "<eos>-terminated source token ids, <pad>-padded")]
        outs = [_t("cross_keys", self.cross(), "float32", "cross-attention keys per decoder layer"),
                _t("cross_values", self.cross(), "float32", "cross-attention values per decoder layer"),
                _t("source_bias", [1, self.max_source_len], "float32", "0 for source tokens, -1e4 for <pad>")]
        return ins, outs

    def decoder_io(self) -> tuple[list[dict], list[dict]]:
        ins = [_t("token", [1, 1], "int32", "the previous token (<bos> at step 0)"),
               _t("position", [1], "int32", "the step index, 0-based"),
               _t("cross_keys", self.cross(), "float32", "from the encoder"),
               _t("cross_values", self.cross(), "float32", "from the encoder"),
               _t("source_bias", [1, self.max_source_len], "float32", "from the encoder"),
               _t("past_keys", self.cache(), "float32", "self-attention key cache (zeros at step 0)"),
               _t("past_values", self.cache(), "float32", "self-attention value cache (zeros at step 0)")]
        outs = [_t("logits", [1, self.vocab_size], "float32", "next-token scores"),
                _t("present_keys", self.cache(), "float32", "the key cache to feed back as past_keys"),
                _t("present_values", self.cache(), "float32", "the value cache to feed back as past_values")]
        return ins, outs


def _t(name: str, shape: list[int], dtype: str, description: str) -> dict:
    return {"name": name, "shape": shape, "dtype": dtype, "description": description}


def graphs(model):
    """→ {"encoder": nn.Module, "decoder": nn.Module} sharing the model's weights."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, source_ids):
            return self.m.encode(source_ids)

    class DecoderStep(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, token, position, cross_keys, cross_values, source_bias, past_keys, past_values):
            return self.m.step(token, position, cross_keys, cross_values, source_bias, past_keys, past_values)

    return {"encoder": Encoder(model).eval(), "decoder": DecoderStep(model).eval()}


def torch_runner(module, inputs: list[dict], outputs: list[dict]):
    """numpy feeds by name → numpy outputs by name, through the eager graph module."""
    import numpy as np
    import torch

    names = [t["name"] for t in inputs]
    out_names = [t["name"] for t in outputs]

    def run(feeds):
        args = [torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in names]
        with torch.inference_mode():
            result = module(*args)
        return {n: r.numpy() for n, r in zip(out_names, result)}

    return run
