"""Tiny random-config Hugging Face translation models and tokenizers (no downloads), saved as folders."""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "the cat eats the red apple .", "my friend reads a new book .", "the dog sees the small house .",
    "we drink water in the morning .", "the teacher writes a long letter .", "they walk to the old city .",
    "a girl plays with the green ball .", "the children sing in the park .",
]
HELD_OUT = ["the cat reads the red book .", "my dog walks in the park .", "a teacher drinks water .",
            "the children see the old house ."]


def train_tokenizer(kind: str, family: str):
    """BPE (Marian/BART-style ids) or Unigram with Metaspace (SentencePiece-style), with the family's template."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if family == "marian":
        specials = ["</s>", "<unk>", "<pad>"]  # Marian: </s>=0 <unk>=1 <pad>=2
    elif family == "t5":
        specials = ["<pad>", "</s>", "<unk>"]  # T5: <pad>=0 </s>=1 <unk>=2
    else:
        specials = ["<s>", "<pad>", "</s>", "<unk>"]  # BART/M2M100: <s>=0 <pad>=1 </s>=2 <unk>=3
    if family == "m2m_100":
        specials += ["__en__", "__es__"]
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=specials, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=specials, unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(SENTENCES * 4, trainer)
    ids = {t: tok.token_to_id(t) for t in specials}
    if family in ("marian", "t5"):
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", ids["</s>"])])
    elif family == "m2m_100":
        tok.post_processor = processors.TemplateProcessing(single="__en__ $A </s>", special_tokens=[("__en__", ids["__en__"]), ("</s>", ids["</s>"])])
    else:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])])
    return tok, ids


def build(family: str, kind: str = "bpe", d_model: int = 32, layers: int = 2, seed: int = 0, vocab: int | None = None,
          steps: int = 60):
    """(model, tokenizer) with a random config of `family` sized to the tokenizer."""
    import torch
    import transformers as tf

    tok, ids = train_tokenizer(kind, family)
    V = vocab or tok.get_vocab_size()
    common = dict(vocab_size=V, d_model=d_model, encoder_layers=layers, decoder_layers=layers,
                  encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=2 * d_model,
                  decoder_ffn_dim=2 * d_model, max_position_embeddings=64, dropout=0.0, attention_dropout=0.0,
                  activation_dropout=0.0)
    torch.manual_seed(seed)
    if family == "marian":
        cfg = tf.MarianConfig(**common, pad_token_id=ids["<pad>"], eos_token_id=ids["</s>"],
                              decoder_start_token_id=ids["<pad>"], forced_eos_token_id=ids["</s>"], scale_embedding=True)
        model = tf.MarianMTModel(cfg)
    elif family == "bart":
        cfg = tf.BartConfig(**common, pad_token_id=ids["<pad>"], bos_token_id=ids["<s>"], eos_token_id=ids["</s>"],
                            decoder_start_token_id=ids["</s>"], forced_eos_token_id=ids["</s>"], forced_bos_token_id=ids["<s>"])
        model = tf.BartForConditionalGeneration(cfg)
    elif family == "mbart":
        cfg = tf.MBartConfig(**common, pad_token_id=ids["<pad>"], bos_token_id=ids["<s>"], eos_token_id=ids["</s>"],
                             decoder_start_token_id=ids["</s>"], scale_embedding=True)
        model = tf.MBartForConditionalGeneration(cfg)
    elif family == "m2m_100":
        cfg = tf.M2M100Config(**common, pad_token_id=ids["<pad>"], bos_token_id=ids["<s>"], eos_token_id=ids["</s>"],
                              decoder_start_token_id=ids["</s>"], forced_bos_token_id=ids["__es__"], scale_embedding=True,
                              activation_function="relu")
        model = tf.M2M100ForConditionalGeneration(cfg)
    elif family == "t5":  # relative position bias, no embedding scale, tied lm_head scaled by d_model**-0.5
        cfg = tf.T5Config(vocab_size=V, d_model=d_model, d_kv=d_model // 4, d_ff=2 * d_model, num_layers=layers,
                          num_decoder_layers=layers, num_heads=4, relative_attention_num_buckets=8,
                          relative_attention_max_distance=16, dropout_rate=0.0, feed_forward_proj="relu",
                          pad_token_id=ids["<pad>"], eos_token_id=ids["</s>"], decoder_start_token_id=ids["<pad>"])
        model = tf.T5ForConditionalGeneration(cfg)
    else:
        raise ValueError(family)
    if family == "m2m_100":  # transformers 5 keeps generation switches on generation_config
        model.generation_config.forced_bos_token_id = ids["__es__"]
    with torch.no_grad():
        if hasattr(model, "final_logits_bias"):
            model.final_logits_bias.normal_(0, 0.1)
    _fit_copy(model, tok, ids, family, steps)
    return model.eval(), tok


def _fit_copy(model, tok, ids, family: str, steps: int) -> None:
    """A few Adam steps on a copy task: a random model's greedy output ignores its input, which would
    make "token-exact" trivially true; a little training makes the paths input-dependent."""
    import torch

    eos = model.config.eos_token_id
    pad = model.config.pad_token_id
    src = [tok.encode(t).ids for t in SENTENCES]
    lead = [ids["__es__"]] if family == "m2m_100" else []
    tgt = [lead + tok.encode(t, add_special_tokens=False).ids + [eos] for t in SENTENCES]
    def batch(rows, fill):
        n = max(map(len, rows))
        return torch.tensor([r + [fill] * (n - len(r)) for r in rows])
    x, y = batch(src, pad), batch(tgt, -100)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=x, attention_mask=(x != pad).long(), labels=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def save(model, tok, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder
