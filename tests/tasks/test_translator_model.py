"""The shipped translator: the cached decoder step is the same function as full re-decoding."""

import numpy as np
import pytest
import torch

from mobilekit.tasks import decoding, tokenizer
from mobilekit.tasks.seq2seq_split import Shapes, graphs, torch_runner
from mobilekit.zoo import translation_corpus, translator


@pytest.fixture(scope="module")
def setup():
    model = translator.build()
    tok = tokenizer.load(translator.TOKENIZER)
    shapes = Shapes.of(model)
    g = graphs(model)
    enc = torch_runner(g["encoder"], *shapes.encoder_io())
    dec = torch_runner(g["decoder"], *shapes.decoder_io())
    return model, tok, shapes, enc, dec


def test_cached_step_equals_full_redecode(setup):
    model, tok, shapes, enc, dec = setup
    for text, _ in translation_corpus.heldout(10):
        src = tokenizer.encode_source(tok, text, shapes.max_source_len)
        d = decoding.greedy(enc, dec, src, shapes, collect_logits=True, max_new=12, stop_at_eos=False)
        s = torch.tensor([src])
        with torch.inference_mode():
            full = model(s, torch.tensor([[1] + d.ids[:-1]]))[0].numpy()
        np.testing.assert_allclose(np.stack(d.step_logits), full, atol=2e-4, rtol=0)


def test_pad_slots_and_stale_cache_do_not_matter(setup):
    """Slots after `position` are masked: garbage there must not change the step's output."""
    model, tok, shapes, enc, dec = setup
    src = tokenizer.encode_source(tok, "the cat eats the red apple .", shapes.max_source_len)
    e = enc({"source_ids": np.asarray([src], np.int32)})
    feeds = {"token": np.array([[1]], np.int32), "position": np.array([0], np.int32), **e,
             "past_keys": np.zeros(shapes.cache(), np.float32), "past_values": np.zeros(shapes.cache(), np.float32)}
    clean = dec(feeds)
    rng = np.random.default_rng(0)
    noisy = dec({**feeds, "past_keys": rng.standard_normal(shapes.cache()).astype(np.float32),
                 "past_values": rng.standard_normal(shapes.cache()).astype(np.float32)})
    np.testing.assert_allclose(noisy["logits"], clean["logits"], atol=1e-5)
    np.testing.assert_allclose(noisy["present_keys"][:, :, 0], clean["present_keys"][:, :, 0], atol=1e-6)


def test_heldout_quality(setup):
    """Greedy decoding of 100 held-out sentences with the shipped (fp16-rounded) weights."""
    model, tok, shapes, enc, dec = setup
    pairs = translation_corpus.heldout(100)
    hyps = [decoding.translate(tok, enc, dec, en, shapes)[2] for en, _ in pairs]
    exact = np.mean([h == r for h, (_, r) in zip(hyps, pairs)])
    assert exact >= 0.95, exact


def test_weights_are_small_and_fp16():
    from safetensors import safe_open

    assert translator.WEIGHTS.stat().st_size < 2_000_000
    with safe_open(str(translator.WEIGHTS), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
