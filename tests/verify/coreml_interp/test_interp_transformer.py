"""Transformer programs through the interpreter: the shipped translator's encoder and decoder
step, and a small attention block using more transformer ops, converted with coremltools."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("coremltools")

from cmi_helpers import ct  # noqa: E402

from mobilekit.verify import verdict  # noqa: E402
from mobilekit.verify.coreml_interp import first_divergence  # noqa: E402
from mobilekit.verify.coreml_interp.interpreter import run as run_program  # noqa: E402
from mobilekit.verify.coreml_interp.program import load  # noqa: E402

pytestmark = pytest.mark.slow


def _convert(ep, args: tuple, path, precision: str):
    """An exported program → ML Program package at `path`; returns (Program, input names)."""
    coremltools = ct()
    names = list(ep.graph_signature.user_inputs)
    inputs = [coremltools.TensorType(name=n, shape=a.shape, dtype=np.int32 if a.dtype == torch.int64 else np.float32)
              for n, a in zip(names, args)]
    model = coremltools.convert(ep, inputs=inputs, convert_to="mlprogram", skip_model_load=True,
                                minimum_deployment_target=coremltools.target.iOS16,
                                compute_precision=getattr(coremltools.precision, precision.upper()))
    model.save(str(path))
    return load(path)[0], names


def _check(module, args, tmp_path, name):
    """Both precisions: fp32 max abs <= 1e-4, fp16 within the fp16 tolerance; returns the fp16 program."""
    with torch.no_grad():
        ref = module(*args)
    ref = ref if isinstance(ref, tuple) else (ref,)
    tol16 = verdict.rule_for("fp16")
    programs = {}
    ep = torch.export.export(module.eval(), args).run_decompositions({})  # once: exporting is the slow part
    for precision in ("float32", "float16"):
        prog, names = _convert(ep, args, tmp_path / f"{name}-{precision}.mlpackage", precision)
        feeds = {n: a.numpy().astype(np.int32 if a.dtype == torch.int64 else np.float32) for n, a in zip(names, args)}
        out = run_program(prog, feeds)
        got = {o: np.asarray(out[o], np.float32) for o in prog.outputs}
        want = {o: r.numpy() for o, r in zip(prog.outputs, ref)}
        if precision == "float32":
            worst = max(float(np.abs(got[o] - want[o]).max()) for o in got)
            assert worst <= 1e-4, (name, worst)
        else:
            assert prog.computes_in_fp16
            figures = verdict.compare([want], [got], classifier_output=None)
            assert verdict.failures(figures, tol16) == [], (name, figures)
        programs[precision] = (prog, feeds)
    return programs


@pytest.fixture(scope="module")
def translator_model():
    from mobilekit.zoo import translator

    if not translator.WEIGHTS.exists():  # pragma: no cover - the shipped weights are committed
        pytest.skip("translator weights not built")
    return translator.build()


class _Encoder(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, source_ids):
        return self.m.encode(source_ids)


class _DecoderStep(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, token, position, cross_k, cross_v, source_bias, past_k, past_v):
        return self.m.step(token, position, cross_k, cross_v, source_bias, past_k, past_v)


def _source(cfg):
    src = np.random.default_rng(0).integers(1, cfg.vocab_size, size=(1, cfg.max_source_len))
    src[0, -4:] = 0  # padding, masked by the source bias
    return torch.from_numpy(src)


def test_translator_encoder(translator_model, tmp_path):
    _check(_Encoder(translator_model), (_source(translator_model.cfg),), tmp_path, "encoder")


def test_translator_decoder_step(translator_model, tmp_path):
    m, cfg = translator_model, translator_model.cfg
    with torch.no_grad():
        ck, cv, sb = m.encode(_source(cfg))
    g = torch.Generator().manual_seed(1)
    shape = (cfg.decoder_layers, cfg.heads, cfg.max_target_len, cfg.head_dim)
    args = (torch.tensor([[7]]), torch.tensor([3]), ck, cv, sb,
            torch.randn(shape, generator=g) * 0.5, torch.randn(shape, generator=g) * 0.5)
    _check(_DecoderStep(m), args, tmp_path, "decoder")


class Block(torch.nn.Module):
    """Pre-norm attention + GELU MLP with the ops the translator does not use."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.h = heads
        self.ln = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.up = torch.nn.Linear(d, 2 * d)
        self.down = torch.nn.Linear(d, d)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln(x)).chunk(3, dim=-1)  # split
        q, k, v = (t.reshape(b, n, self.h, d // self.h).permute(0, 2, 1, 3) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) / (d // self.h) ** 0.5
        mask = torch.ones(n, n, dtype=torch.bool).tril()
        scores = torch.where(mask, scores, torch.full_like(scores, -1e4))  # select
        att = torch.softmax(scores, -1) @ v
        x = x + self.out(att.permute(0, 2, 1, 3).reshape(b, n, d))
        gate, val = self.up(x).chunk(2, dim=-1)
        y = torch.nn.functional.gelu(gate) * torch.sigmoid(val)
        y = torch.cat([y[:, :, d // 2:], y[:, :, : d // 2]], dim=-1)  # slice + concat
        return x + self.down(y) + x.mean(-1, keepdim=True)


def test_attention_block_and_divergence(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(1, 6, 32)
    programs = _check(Block(), (x,), tmp_path, "block")
    prog, feeds = programs["float16"]
    assert {"split", "concat", "select", "gelu", "slice_by_index", "layer_norm", "softmax", "matmul"} <= set(prog.op_types())
    # fp16 within tolerance everywhere: no op diverges from the fp32 simulation of the same program
    assert first_divergence(prog, feeds) is None
    # matched by name against the fp32 program, too
    assert first_divergence(prog, feeds, reference=programs["float32"][0]) is None
