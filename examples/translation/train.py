"""Train the shipped translator (English → Spanish) on the in-repo corpus; writes its weights.

    .venv/bin/python examples/translation/train.py            # ~4 min on one CPU core

Makes mobilekit/zoo/translator_tokenizer.json (BPE, vocab 500), mobilekit/zoo/translator.safetensors
(fp16 weights) and examples/translation/metrics.json (held-out exact match and sacrebleu BLEU,
measured with the greedy step decoder on the fp16-rounded weights that ship).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from mobilekit.tasks import decoding, tokenizer
from mobilekit.tasks.seq2seq_split import Shapes, graphs, torch_runner
from mobilekit.zoo import translation_corpus as corpus
from mobilekit.zoo.translator import TOKENIZER, WEIGHTS, Translator, TranslatorConfig, config_dict

HERE = Path(__file__).parent
EPOCHS = 14
BATCH = 64
SEED = 0


def _ids(tok, pairs, cfg: TranslatorConfig):
    src = [tokenizer.encode_source(tok, en, cfg.max_source_len) for en, _ in pairs]
    tgt = [[tokenizer.SPECIAL["bos"]] + tok.encode(es, add_special_tokens=False).ids[: cfg.max_target_len - 2]
           + [tokenizer.SPECIAL["eos"]] for _, es in pairs]
    width = max(len(t) for t in tgt)
    tgt = [t + [0] * (width - len(t)) for t in tgt]
    return torch.tensor(src, dtype=torch.int64), torch.tensor(tgt, dtype=torch.int64)


def train(model: Translator, src, tgt, epochs: int = EPOCHS) -> None:
    g = torch.Generator().manual_seed(SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01, betas=(0.9, 0.98))
    steps = epochs * ((len(src) + BATCH - 1) // BATCH)
    warm = 200
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.02, 1 - s / steps)))
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.05)
    model.train()
    for epoch in range(epochs):
        t = time.perf_counter()
        order = torch.randperm(len(src), generator=g)
        total = 0.0
        for i in range(0, len(src), BATCH):
            idx = order[i:i + BATCH]
            s, y = src[idx], tgt[idx]
            s = s[:, : int((s != 0).sum(1).max())]  # trim shared padding: masked either way
            y = y[:, : int((y != 0).sum(1).max())]
            logits = model(s, y[:, :-1])
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(src):.4f} ({time.perf_counter() - t:.1f} s)", flush=True)
    model.eval()


def evaluate(model: Translator, tok, pairs) -> dict:
    import sacrebleu

    shapes = Shapes.of(model)
    g = graphs(model)
    enc_io, dec_io = shapes.encoder_io(), shapes.decoder_io()
    enc = torch_runner(g["encoder"], *enc_io)
    dec = torch_runner(g["decoder"], *dec_io)
    hyps = [decoding.translate(tok, enc, dec, en, shapes)[2] for en, _ in pairs]
    refs = [es for _, es in pairs]
    exact = sum(h == r for h, r in zip(hyps, refs)) / len(refs)
    bleu = sacrebleu.corpus_bleu(hyps, [refs])
    return {"sentences": len(refs), "exact_match": exact, "bleu": round(bleu.score, 2), "sacrebleu": bleu.format()}


def main() -> None:
    from safetensors.torch import save_file

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    started = time.perf_counter()
    train_pairs = corpus.load("train")
    tok = tokenizer.train([s for pair in train_pairs for s in pair], vocab_size=500)
    tok.save(str(TOKENIZER))
    cfg = TranslatorConfig(vocab_size=tok.get_vocab_size())
    model = Translator(cfg)
    src, tgt = _ids(tok, train_pairs, cfg)
    train(model, src, tgt)
    # ship fp16 weights (half the size); the reference model is these weights back in fp32
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(WEIGHTS), metadata={"config": json.dumps(config_dict(cfg))})
    model.load_state_dict({k: v.float() for k, v in state.items()})
    seconds = time.perf_counter() - started
    metrics = {"test": evaluate(model, tok, corpus.load("test")), "valid": evaluate(model, tok, corpus.load("valid")),
               "train_seconds": round(seconds, 1), "epochs": EPOCHS, "threads": 1,
               "parameters": sum(p.numel() for p in model.parameters()), "weights_bytes": WEIGHTS.stat().st_size}
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
