"""Per-token decode latency of the shipped translator with the KV cache vs without it.

With the cache: the decoder-step graph (one token in, the fixed-size cache in and out).
Without it: every step re-decodes the whole prefix (the teacher-forced decoder, no cache). Both
produce 32 tokens (no early stop at <eos>) for a few held-out sentences, on ONNX Runtime and
LiteRT (fixed shapes, as a mobile runtime runs them: the no-cache graph takes the prefix padded
to max_target_len) and on eager torch (no-cache re-decodes exactly the prefix). One thread.
Prints JSON and saves bench/results/kv_cache.json. The issue's bar: with cache <= 0.5x without.

    .venv/bin/python bench/kv_cache.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "kv_cache.json"
TOKENS = 32
SENTENCES = 4
REPEATS = 3


def _full_graph(model):
    import torch

    class FullDecoder(torch.nn.Module):
        """The no-cache decoder: all positions of the (padded) prefix at once."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, target_ids, memory, source_bias):
            return self.m.decode_full(memory, source_bias[:, None, None, :], target_ids)

    return FullDecoder(model).eval()


def _onnx(module, args, names_in, names_out, path: Path) -> None:
    import torch

    from mobilekit.targets.onnx.export import export_onnx

    ep = torch.export.export(module, args, strict=False)
    pt2 = path.with_suffix(".pt2")
    torch.export.save(ep, str(pt2))
    spec = {"name": path.stem, "version": "1.0.0", "author": "", "license": "", "task": "translation", "description": "",
            "inputs": [{"name": n, "shape": list(a.shape), "dtype": str(a.dtype).replace("torch.", ""), "preprocessing": None}
                       for n, a in zip(names_in, args)],
            "outputs": [{"name": n} for n in names_out]}
    export_onnx(pt2, path, spec)


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def main() -> dict:
    report = measure(with_litert=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return report


def _litert(module, kwargs: dict, path: Path):
    """litert-torch conversion (signature inputs named as forward()'s); → runner giving outputs in order."""
    import litert_torch
    from ai_edge_litert.interpreter import Interpreter

    path.write_bytes(bytes(litert_torch.convert(module, sample_kwargs=kwargs).model_content()))
    interp = Interpreter(model_path=str(path), num_threads=1)
    runner = interp.get_signature_runner()
    names = sorted(runner.get_output_details(), key=lambda n: int(n.rsplit("_", 1)[-1]))
    def run(**feeds):
        out = runner(**feeds)
        return [out[n] for n in names]

    return run


def measure(bundle: Path | None = None, *, repeats: int = REPEATS, with_torch: bool = True, with_litert: bool = False) -> dict:
    """The figures; with `bundle`, its onnx/encoder.onnx and onnx/decoder.onnx are the cached path."""
    import torch

    from mobilekit.tasks import tokenizer
    from mobilekit.tasks.seq2seq_split import Shapes, graphs
    from mobilekit.zoo import translation_corpus, translator

    torch.set_num_threads(1)
    model = translator.build()
    shapes = Shapes.of(model)
    assert shapes.max_target_len > TOKENS, "the cache must hold the 32 tokens"
    tok = tokenizer.load(translator.TOKENIZER)
    g = graphs(model)
    texts = [en for en, _ in translation_corpus.heldout(SENTENCES)]
    sources = [np.asarray([tokenizer.encode_source(tok, t, shapes.max_source_len)], np.int32) for t in texts]
    S, T, D = shapes.max_source_len, shapes.max_target_len, model.cfg.d_model

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        z = lambda shape, dt=torch.float32: torch.zeros(shape, dtype=dt)  # noqa: E731
        if bundle is None:
            _onnx(g["encoder"], (torch.from_numpy(sources[0]),), ["source_ids"], ["cross_keys", "cross_values", "source_bias"], tmp / "encoder.onnx")
            _onnx(g["decoder"], (z([1, 1], torch.int32), z([1], torch.int32), z(shapes.cross()), z(shapes.cross()), z([1, S]),
                                 z(shapes.cache()), z(shapes.cache())),
                  ["token", "position", "cross_keys", "cross_values", "source_bias", "past_keys", "past_values"],
                  ["logits", "present_keys", "present_values"], tmp / "decoder.onnx")
        graphs_dir = tmp if bundle is None else Path(bundle) / "onnx"
        full = _full_graph(model)
        _onnx(full, (z([1, T], torch.int32), z([1, S, D]), z([1, S])), ["target_ids", "memory", "source_bias"], ["logits"], tmp / "full.onnx")
        enc, dec = (_session(graphs_dir / f"{n}.onnx") for n in ("encoder", "decoder"))
        fdec = _session(tmp / "full.onnx")
        if with_litert:
            lt_dec = _litert(g["decoder"], {"token": z([1, 1], torch.int32), "position": z([1], torch.int32),
                                            "cross_keys": z(shapes.cross()), "cross_values": z(shapes.cross()),
                                            "source_bias": z([1, S]), "past_keys": z(shapes.cache()),
                                            "past_values": z(shapes.cache())}, tmp / "decoder.tflite")
            lt_full = _litert(full, {"target_ids": z([1, T], torch.int32), "memory": z([1, S, D]), "source_bias": z([1, S])},
                              tmp / "full.tflite")

        # One loop per mode; `step(**feeds)` returns the graph's outputs in order (ORT and LiteRT alike).
        def cached(step, src):
            ck, cv, sb = enc.run(None, {"source_ids": src})
            pk = np.zeros(shapes.cache(), np.float32)
            pv = np.zeros(shapes.cache(), np.float32)
            token, out = 1, []
            t0, c0 = time.perf_counter(), time.process_time()
            for pos in range(TOKENS):
                logits, pk, pv = step(token=np.array([[token]], np.int32), position=np.array([pos], np.int32),
                                      cross_keys=ck, cross_values=cv, source_bias=sb, past_keys=pk, past_values=pv)
                token = int(np.argmax(logits))
                out.append(token)
            return (time.perf_counter() - t0) / TOKENS, (time.process_time() - c0) / TOKENS, out

        def full(step, src):
            with torch.inference_mode():
                mem = model.memory(torch.from_numpy(src).long()).numpy()
            sb = (src == 0).astype(np.float32) * translator.NEG
            ids = np.zeros([1, T], np.int32)
            ids[0, 0] = 1
            out = []
            t0, c0 = time.perf_counter(), time.process_time()
            for pos in range(TOKENS):
                (logits,) = step(target_ids=ids, memory=mem, source_bias=sb)
                token = int(np.argmax(logits[0, pos]))
                out.append(token)
                ids[0, pos + 1] = token
            return (time.perf_counter() - t0) / TOKENS, (time.process_time() - c0) / TOKENS, out

        def ort_cached(src):
            return cached(lambda **feeds: dec.run(None, feeds), src)

        def ort_full(src):
            return full(lambda **feeds: fdec.run(None, feeds), src)

        def litert_cached(src):
            return cached(lt_dec, src)

        def litert_full(src):
            return full(lt_full, src)

        def torch_cached(src):
            ck, cv, sb = (x for x in g["encoder"](torch.from_numpy(src)))
            pk, pv = z(shapes.cache()), z(shapes.cache())
            token, out = 1, []
            t0, c0 = time.perf_counter(), time.process_time()
            for pos in range(TOKENS):
                logits, pk, pv = g["decoder"](torch.tensor([[token]], dtype=torch.int32), torch.tensor([pos], dtype=torch.int32),
                                              ck, cv, sb, pk, pv)
                token = int(torch.argmax(logits))
                out.append(token)
            return (time.perf_counter() - t0) / TOKENS, (time.process_time() - c0) / TOKENS, out

        def torch_full(src):
            s = torch.from_numpy(src).long()
            mem = model.memory(s)
            bias = model.source_bias(s)
            ids = [1]
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(TOKENS):
                logits = model.decode_full(mem, bias, torch.tensor([ids]))
                ids.append(int(torch.argmax(logits[0, -1])))
            return (time.perf_counter() - t0) / TOKENS, (time.process_time() - c0) / TOKENS, ids[1:]

        wall: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        outs: dict[str, list] = {}
        with torch.inference_mode():
            paths = [("onnxruntime_cached", ort_cached), ("onnxruntime_full", ort_full)]
            if with_litert:
                paths += [("litert_cached", litert_cached), ("litert_full", litert_full)]
            if with_torch:
                paths += [("torch_cached", torch_cached), ("torch_full", torch_full)]
            for _, fn in paths:
                fn(sources[0])  # warm-up
            # interleaved, so that a busy host slows every path alike
            for rep in range(repeats):
                for src in sources:
                    for name, fn in paths:
                        w, c, ids = fn(src)
                        wall.setdefault(name, []).append(w)
                        cpu.setdefault(name, []).append(c)
                        if rep == 0:
                            outs.setdefault(name, []).append(ids)
    results = {name: {"ms_per_token_median": round(float(np.median(wall[name])) * 1000, 4),
                      "ms_per_token_min": round(float(np.min(wall[name])) * 1000, 4),
                      "cpu_ms_per_token_median": round(float(np.median(cpu[name])) * 1000, 4)} for name, _ in paths}

    def ratio(rt: str, key: str = "ms_per_token_median") -> float:
        return round(results[f"{rt}_cached"][key] / results[f"{rt}_full"][key], 4)

    report = {
        "model": "mobilekit.zoo.translator", "tokens": TOKENS, "sentences": SENTENCES, "repeats": repeats, "threads": 1,
        "max_target_len": T, "results": results,
        "same_tokens_cached_and_full": outs["onnxruntime_cached"] == outs["onnxruntime_full"],
        "ratio_onnxruntime": ratio("onnxruntime"),
        "ratio_onnxruntime_cpu": ratio("onnxruntime", "cpu_ms_per_token_median"),
        "bar": "ONNX Runtime (the fixed-shape graphs that ship): with cache <= 0.5x without",
        "meets_bar": ratio("onnxruntime") <= 0.5,
    }
    if with_litert:
        report["ratio_litert"] = ratio("litert")
        report["ratio_litert_cpu"] = ratio("litert", "cpu_ms_per_token_median")
    if with_torch:
        report["ratio_torch_eager"] = ratio("torch")
        report["note_torch_eager"] = ("eager torch re-decodes only the real prefix and, at this model size, per-op Python "
                                      "dispatch dominates both paths, so its ratio says little about the exported graphs")
    return report


if __name__ == "__main__":
    sys.exit(0 if main()["meets_bar"] else 1)
