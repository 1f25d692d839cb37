"""Pruning with real torch and real torch-pruning, on the shipped digits model (61k params)."""

import math
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

from torch import nn  # noqa: E402

from mobilekit import _validate  # noqa: E402
from mobilekit.compress import PruneConfig, output_layers, prune  # noqa: E402
from mobilekit.errors import ConfigError  # noqa: E402
from mobilekit.zoo import digits_cnn  # noqa: E402

X = torch.zeros(1, 3, 32, 32)


@pytest.fixture(scope="module")
def digits():
    torch.manual_seed(0)
    return digits_cnn.trained()


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a)


def _convs(model):
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def test_magnitude_reaches_the_sparsity_and_leaves_no_masks(digits):
    res = prune(digits, X, PruneConfig(method="magnitude", amount=0.6))
    model = res.model
    layers = _convs(model)
    prunable = [m.weight for n, m in layers.items() if n != "classifier"]
    zeros = sum(int((w == 0).sum()) for w in prunable)
    total = sum(w.numel() for w in prunable)
    assert zeros / total == pytest.approx(0.6, abs=1e-4)
    # the classifier is kept whole
    assert res.kept == ["classifier"]
    assert torch.equal(model.classifier.weight, digits.classifier.weight)
    # permanent: plain weights, no weight_orig / weight_mask, no pruning hooks
    names = set(model.state_dict())
    assert not [n for n in names if n.endswith(("_orig", "_mask"))]
    assert names == set(digits.state_dict())
    assert all(not m._forward_pre_hooks for m in model.modules())
    assert all(isinstance(m.weight, nn.Parameter) for m in layers.values())
    # the report
    assert res.before.sparsity == 0.0
    assert res.after.sparsity == pytest.approx(zeros / res.after.weights)
    assert res.after.params == res.before.params and res.after.macs == res.before.macs
    assert res.after.nonzero_params == res.before.nonzero_params - zeros
    assert model(X).shape == (1, 10)


def test_channel_pruning_halves_the_digits_model(digits):
    res = prune(digits, X, PruneConfig(method="channels", amount=0.5))
    model = res.model
    assert res.macs_ratio <= 0.55
    assert res.after.macs < res.before.macs and res.after.params < res.before.params
    before, after = _convs(digits), _convs(model)
    for name in ("features.0.0", "features.2.0", "features.4.0", "features.6.0"):
        assert after[name].weight.shape[0] == before[name].weight.shape[0] // 2
        assert after[name].weight.numel() < before[name].weight.numel()
    assert after["classifier"].out_features == 10  # the output is kept
    assert after["classifier"].in_features == 32
    d = res.to_dict()
    assert d["macs_ratio"] == pytest.approx(res.macs_ratio, abs=1e-6) and d["kept"] == ["classifier"]


def test_pruned_model_runs_and_exports(digits):
    model = prune(digits, X, {"method": "channels", "amount": 0.5}).model.eval()
    x = torch.randn(2, 3, 32, 32)
    eager = model(x)
    assert eager.shape == (2, 10) and torch.isfinite(eager).all()
    ep = torch.export.export(model, (x,))
    assert torch.allclose(ep.module()(x), eager, atol=1e-5)
    names = [n for n, _ in ep.named_parameters()]
    assert not [n for n in names if "orig" in n or "mask" in n]


@pytest.mark.parametrize("method", ["magnitude", "channels"])
def test_input_model_is_not_modified(digits, method):
    state = _state(digits)
    training = digits.training
    prune(digits, X, PruneConfig(method=method, amount=0.5))
    assert _same(state, _state(digits))
    assert digits.training == training
    assert all(p.grad is None for p in digits.parameters())


def test_method_none_returns_an_equal_copy(digits):
    res = prune(digits, X)
    assert res.model is not digits and _same(_state(res.model), _state(digits))
    assert res.after == res.before


@pytest.mark.parametrize("amount", [0, 0.0, 1, 1.0, 1.5, -0.1, math.nan, math.inf])
def test_bad_amount_names_the_key(amount):
    with pytest.raises(ConfigError) as err:
        PruneConfig.from_dict({"method": "channels", "amount": amount})
    assert err.value.key == "prune.amount"
    assert "prune.amount" in err.value.one_line() and repr(amount) in err.value.one_line()


def test_bad_amount_through_prune_and_build(digits):
    with pytest.raises(ConfigError) as err:
        prune(digits, X, PruneConfig(method="magnitude", amount=2.0))
    assert err.value.key == "prune.amount"
    with pytest.raises(ConfigError) as err:
        _validate.build(PruneConfig, {"amount": "half"})
    assert err.value.key == "amount"
    with pytest.raises(ConfigError) as err:
        _validate.build(PruneConfig, {"method": "random"})
    assert err.value.key == "method"


def test_other_config_errors(digits):
    with pytest.raises(ConfigError) as err:
        PruneConfig.from_dict({"method": "magnitude", "round_to": 8})
    assert err.value.key == "prune.round_to"
    with pytest.raises(ConfigError) as err:
        PruneConfig.from_dict({"method": "channels", "round_to": 0})
    assert err.value.key == "prune.round_to"
    with pytest.raises(ConfigError) as err:
        prune(digits, X, PruneConfig(method="channels", ignore=["features.9"]))
    assert err.value.key == "prune.ignore[0]" and "features.9" in err.value.one_line()


def test_ignore_and_round_to(digits):
    res = prune(digits, X, PruneConfig(method="channels", amount=0.6, ignore=["features.0"], round_to=8))
    convs = _convs(res.model)
    assert convs["features.0.0"].out_channels == 16  # ignored: whole
    for name in ("features.2.0", "features.4.0", "features.6.0"):
        assert convs[name].out_channels % 8 == 0
        assert convs[name].out_channels < _convs(digits)[name].out_channels
    res = prune(digits, X, PruneConfig(method="magnitude", amount=0.5, ignore=["features.0"]))
    assert torch.equal(res.model.features[0][0].weight, digits.features[0][0].weight)


class TwoHeads(nn.Module):
    """A residual trunk with two heads: both heads must be kept, the residual stays consistent."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(16, 32, 1), nn.ReLU(), nn.Conv2d(32, 16, 1))
        self.cls = nn.Linear(16, 5)
        self.box = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        h = self.stem(x)
        h = h + self.body(h)
        return self.cls(h.mean((2, 3))), self.box(h)


def test_every_output_layer_is_kept():
    torch.manual_seed(0)
    model = TwoHeads().eval()
    x = torch.randn(1, 3, 8, 8)
    assert output_layers(model, x) == ["cls", "box"]
    assert all(not p.requires_grad or p.grad is None for p in model.parameters())
    res = prune(model, x, PruneConfig(method="channels", amount=0.5))
    logits, boxes = res.model(x)
    assert logits.shape == (1, 5) and boxes.shape == (1, 4, 8, 8)
    assert res.model.body[0].out_channels == 16  # the hidden layer was pruned
    assert res.after.macs < res.before.macs


def test_importing_compress_is_light():
    code = "import sys, mobilekit.compress; print([m for m in ('torch', 'numpy', 'torch_pruning') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
