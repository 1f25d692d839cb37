"""Hugging Face encoder–decoders through mobilekit: per-token latency with the KV cache ÷ without,
export time and artifact sizes, for a T5-small-shaped and a Marian-shaped random model.

Shapes: d_model 512, 6+6 layers, 8 heads, ffn 2048; vocabularies of t5-small (32128) and
opus-mt-en-de (58101); max_source_len = max_target_len = 32. Random weights (nothing is downloaded).

1. `mobilekit.export` of each model (ONNX fp32+fp16, TFLite fp32 via litert-torch, ExecuTorch fp32
   — the real pipeline, verification included): wall time, per-target convert seconds per graph and
   artifact sizes from the manifest, each artifact's status.
2. Per-token latency, one thread: with the cache = the bundle's decoder-step graph; without = the
   model's own decoder re-run over the whole prefix padded to max_target_len (the encoder runs
   once in both), on ONNX Runtime, LiteRT and ExecuTorch (XNNPACK), each runtime's no-cache graph
   converted the way the bundle's step graph was.

    .venv/bin/python bench/hf_kv_cache.py [--small]    # --small: d_model 64, 2+2 layers, vocab 1000 (a smoke run)

Prints JSON and saves bench/results/hf_kv_cache.json (hf_kv_cache_small.json with --small).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _emit import cpu_label, emit
from kv_cache import _litert, _onnx, _session

RESULTS = Path(__file__).parent / "results"
LEN = 32
REPEATS = 20
SENTENCES = ["the cat eats the red apple .", "my friend reads a new book .", "we drink water in the morning ."]


def _models(small: bool):
    import torch
    import transformers as tf

    d, layers, ffn, heads = (64, 2, 128, 4) if small else (512, 6, 2048, 8)
    torch.manual_seed(0)
    t5 = tf.T5ForConditionalGeneration(tf.T5Config(
        vocab_size=1000 if small else 32128, d_model=d, d_kv=d // heads, d_ff=ffn, num_layers=layers, num_decoder_layers=layers,
        num_heads=heads, dropout_rate=0.0, feed_forward_proj="relu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))
    marian = tf.MarianMTModel(tf.MarianConfig(
        vocab_size=1000 if small else 58101, d_model=d, encoder_layers=layers, decoder_layers=layers, encoder_attention_heads=heads,
        decoder_attention_heads=heads, encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, max_position_embeddings=512, dropout=0.0,
        attention_dropout=0.0, activation_dropout=0.0, pad_token_id=2, eos_token_id=0, decoder_start_token_id=2,
        forced_eos_token_id=0, scale_embedding=True))
    return {"t5_small_shaped": t5.eval(), "marian_shaped": marian.eval()}


def _tokenizer(model, path: Path) -> Path:
    """A word-level tokenizer sized to the model (the benchmark times graphs, not tokenisation)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    c = model.config
    words = sorted({w for s in SENTENCES for w in s.split()})
    specials = {c.pad_token_id: "<pad>", c.eos_token_id: "</s>"}
    vocab = {specials.get(i, f"<extra{i}>"): i for i in range(max(specials) + 1)}
    vocab["<unk>"] = len(vocab)
    for w in words:
        vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", c.eos_token_id)])
    tok.save(str(path))
    return path


def _export(name: str, model, tmp: Path) -> tuple[dict, object]:
    import mobilekit
    from mobilekit.conversion import ExportFailed

    data = tmp / "held.txt"
    data.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    cfg = {"name": name, "task": "translation", "targets": ["onnx", "tflite", "executorch"], "output_dir": str(tmp / "dist"),
           "onnx": {"variants": ["fp32", "fp16"]}, "tflite": {"converter": "litert-torch", "variants": ["fp32"]},
           "executorch": {"variants": ["fp32"]},
           "translation": {"tokenizer": str(_tokenizer(model, tmp / f"{name}.json")), "data": str(data),
                           "max_source_len": LEN, "max_target_len": LEN, "samples": len(SENTENCES), "golden": 1}}
    t = time.perf_counter()
    try:
        bundle = mobilekit.export(model, config=cfg)
    except ExportFailed as exc:  # one target failing keeps the others: report what it says
        bundle = exc.bundle
    wall = time.perf_counter() - t
    arts = [{"target": a["target"], "variant": a["variant"], "graph": a.get("graph"), "status": a["status"],
             "size_bytes": a.get("size_bytes"), "convert_seconds": a.get("convert_seconds"),
             "token_exact": (a.get("decoding") or {}).get("token_exact"),
             **({"error": str(a.get("error"))[:300]} if a["status"] == "failed" else {})} for a in bundle.artifacts]
    return {"export_seconds": round(wall, 1), "stages": bundle.manifest["stages"], "artifacts": arts}, bundle


class _FullDecoder:
    """The no-cache decoder step t: the model's own decoder over the prefix padded to T, logits of row t."""

    @staticmethod
    def build(model, family: str):
        import torch

        class Full(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, target_ids, position, memory, source_mask):
                T = target_ids.shape[1]
                slots = torch.arange(T, dtype=torch.int32)
                target_mask = (slots <= position.to(torch.int32)).long().reshape(1, T)
                if family == "t5":
                    h = _t5_decoder(self.m, target_ids.long(), target_mask, memory, source_mask)
                else:
                    h = self.m.get_decoder()(input_ids=target_ids.long(), attention_mask=target_mask, encoder_hidden_states=memory,
                                             encoder_attention_mask=source_mask.long()).last_hidden_state
                row = (slots == position.to(torch.int32)).to(h.dtype) @ h[0]  # [D]
                if family == "t5" and self.m.config.scale_decoder_outputs:
                    row = row * self.m.config.d_model ** -0.5
                logits = self.m.lm_head(row.reshape(1, -1))
                bias = getattr(self.m, "final_logits_bias", None)
                return logits + bias if bias is not None else logits

        return Full(model).eval()


def _t5_decoder(model, ids, target_mask, memory, source_mask):
    """T5's decoder over the whole prefix from its own modules (HF's T5 attention reshapes a transposed
    view that the ONNX exporter refuses; the adapter's encoder works around it the same way)."""
    import torch

    dec = model.get_decoder()
    T, S, H, Dh = ids.shape[1], memory.shape[1], model.config.num_heads, model.config.d_kv
    split = lambda x, L: x.reshape(L, H, Dh).transpose(0, 1)  # noqa: E731
    causal = torch.tril(torch.ones(T, T)) * target_mask.float()
    self_bias = dec.block[0].layer[0].SelfAttention.compute_bias(T, T)[0] + (1.0 - causal) * -1e4
    cross_bias = ((1.0 - source_mask.float()) * -1e4).reshape(1, 1, S)
    h = dec.embed_tokens(ids)
    for block in dec.block:
        sa_l, ca_l, ff_l = block.layer
        x = sa_l.layer_norm(h)
        a = sa_l.SelfAttention
        w = torch.softmax(split(a.q(x), T) @ split(a.k(x), T).transpose(-1, -2) + self_bias, dim=-1)
        h = h + a.o((w @ split(a.v(x), T)).transpose(0, 1).reshape(1, T, -1))
        x = ca_l.layer_norm(h)
        a = ca_l.EncDecAttention
        w = torch.softmax(split(a.q(x), T) @ split(a.k(memory), S).transpose(-1, -2) + cross_bias, dim=-1)
        h = h + a.o((w @ split(a.v(memory), S)).transpose(0, 1).reshape(1, T, -1))
        h = h + ff_l.DenseReluDense(ff_l.layer_norm(h))
    return dec.final_layer_norm(h)


def _pte(module, args, path: Path):
    """The no-cache graph through ExecuTorch's XNNPACK lowering, as the bundle's fp32 step was made."""
    import torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from executorch.runtime import Runtime

    prog = to_edge_transform_and_lower(torch.export.export(module, args), partitioner=[XnnpackPartitioner()]).to_executorch()
    path.write_bytes(prog.buffer)
    return Runtime.get().load_program(str(path)).load_method("forward")


def _time(fn, repeats: int = REPEATS) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def _latency(name: str, model, bundle, tmp: Path) -> dict:
    import torch

    from mobilekit.tasks import translation_golden

    torch.set_num_threads(1)
    family = "t5" if "t5" in name else "marian"
    shapes = translation_golden.shapes(bundle.manifest)
    S, T, D = shapes.max_source_len, shapes.max_target_len, model.config.d_model
    pos = np.array([T // 2], np.int32)  # the middle of the cache: a typical step
    step_feeds = {"token": np.array([[5]], np.int32), "position": pos,
                  "cross_keys": np.zeros(shapes.cross(), np.float32), "cross_values": np.zeros(shapes.cross(), np.float32),
                  "source_bias": np.zeros([1, S], np.float32), "past_keys": np.zeros(shapes.cache(), np.float32),
                  "past_values": np.zeros(shapes.cache(), np.float32)}
    full_feeds = {"target_ids": np.full([1, T], 5, np.int32), "position": pos,
                  "memory": np.random.default_rng(0).standard_normal([1, S, D]).astype(np.float32),
                  "source_mask": np.ones([1, S], np.int32)}
    full = _FullDecoder.build(model, family)
    args = tuple(torch.from_numpy(v) for v in full_feeds.values())
    out = {}
    # ONNX Runtime: the bundle's fp32 step vs the no-cache graph exported the same way
    step = next(a for a in bundle.artifacts if a["target"] == "onnx" and a["variant"] == "fp32" and a["graph"] == "decoder")
    s_step = _session(bundle.path / step["path"])
    _onnx(full, args, list(full_feeds), ["logits"], tmp / f"{name}-full.onnx")
    s_full = _session(tmp / f"{name}-full.onnx")
    cached = _time(lambda: s_step.run(None, step_feeds))
    uncached = _time(lambda: s_full.run(None, full_feeds))
    out["onnxruntime"] = {"with_cache_ms": round(cached, 3), "without_cache_ms": round(uncached, 3), "ratio": round(cached / uncached, 3)}
    # LiteRT: the bundle's fp32 step vs litert-torch's conversion of the no-cache graph
    from ai_edge_litert.interpreter import Interpreter

    tfl = next((a for a in bundle.artifacts if a["target"] == "tflite" and a["graph"] == "decoder" and a["status"] != "failed"), None)
    if tfl is None:
        out["litert"] = {"not_measured": "the TFLite export failed (see artifacts)"}
    else:
        interp = Interpreter(model_path=str(bundle.path / tfl["path"]), num_threads=1)
        run_step = interp.get_signature_runner()
        run_full = _litert(full, {k: torch.from_numpy(v) for k, v in full_feeds.items()}, tmp / f"{name}-full.tflite")
        feeds = {k: step_feeds[k] for k in run_step.get_input_details()}
        cached = _time(lambda: run_step(**feeds))
        uncached = _time(lambda: run_full(**full_feeds))
        out["litert"] = {"with_cache_ms": round(cached, 3), "without_cache_ms": round(uncached, 3), "ratio": round(cached / uncached, 3)}
    et = next((a for a in bundle.artifacts if a["target"] == "executorch" and a["graph"] == "decoder" and a["status"] != "failed"), None)
    if et is None:
        out["executorch"] = {"not_measured": "the ExecuTorch export failed (see artifacts)"}
    else:
        from executorch.runtime import Runtime

        prog = Runtime.get().load_program(str(bundle.path / et["path"]))
        method = prog.load_method("forward")
        ins = [torch.from_numpy(step_feeds[n]) for n in step_feeds]
        full_method = _pte(full, args, tmp / f"{name}-full.pte")
        cached = _time(lambda: method.execute(ins))
        uncached = _time(lambda: full_method.execute(list(args)))
        out["executorch"] = {"with_cache_ms": round(cached, 3), "without_cache_ms": round(uncached, 3), "ratio": round(cached / uncached, 3)}
    return out


def main() -> dict:
    small = "--small" in sys.argv
    result = {"host": cpu_label(), "threads": 1, "max_source_len": LEN, "max_target_len": LEN, "repeats": REPEATS,
              "shape": "d_model 64, 2+2 layers (smoke run)" if small else "d_model 512, 6+6 layers, 8 heads, ffn 2048",
              "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in _models(small).items():
            work = Path(tmp) / name
            work.mkdir()
            exp, bundle = _export(name, model, work)
            exp["parameters"] = sum(p.numel() for p in model.parameters())
            exp["per_token_latency"] = _latency(name, model, bundle, work)
            result["models"][name] = exp
    return emit(result, RESULTS / ("hf_kv_cache_small.json" if small else "hf_kv_cache.json"))


if __name__ == "__main__":
    main()
