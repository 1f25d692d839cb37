"""Every source kind exports the same model to an ONNX file that verifies."""

import pickle

import pytest
import torch

import mobilekit
import tiny_models
from mobilekit.errors import SourceError, UserError

pytestmark = pytest.mark.slow


def _export(tmp_path, **extra):
    return mobilekit.export(config=tiny_models.config(tmp_path, **extra))


def _onnx_status(bundle):
    a = bundle.artifact("onnx", "fp32")
    return a["status"], a["parity"]["max_abs"]


def test_factory(tmp_path):
    status, err = _onnx_status(_export(tmp_path))
    assert status == "verified" and err < 1e-5


def test_module_via_api(tmp_path):
    cfg = tiny_models.config(tmp_path)
    del cfg["source"]
    bundle = mobilekit.export(tiny_models.build(), config=cfg)
    assert _onnx_status(bundle)[0] == "verified"


def test_module_with_example_inputs_only(tmp_path):
    bundle = mobilekit.export(tiny_models.build(), (torch.randn(1, 3, 8, 8),), name="ex", output_dir=str(tmp_path))
    assert bundle.manifest["inputs"][0]["shape"] == [1, 3, 8, 8]
    assert _onnx_status(bundle)[0] == "verified"


def test_pt2(tmp_path):
    ep = torch.export.export(tiny_models.build(), (torch.randn(1, 3, 8, 8),))
    torch.export.save(ep, str(tmp_path / "m.pt2"))
    assert _onnx_status(_export(tmp_path, source=str(tmp_path / "m.pt2")))[0] == "verified"


def test_torchscript(tmp_path):
    ts = torch.jit.trace(tiny_models.build(), torch.randn(1, 3, 8, 8))
    ts.save(str(tmp_path / "m.pt"))
    assert _onnx_status(_export(tmp_path, source=str(tmp_path / "m.pt")))[0] == "verified"


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_state_dict_plus_factory(tmp_path, fmt):
    model = tiny_models.build()
    with torch.no_grad():
        model.fc.bias.add_(1.0)  # weights that differ from the factory's own
    path = tmp_path / f"w.{fmt}"
    if fmt == "pt":
        torch.save(model.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(model.state_dict(), str(path))
    bundle = _export(tmp_path, weights=str(path))
    assert _onnx_status(bundle)[0] == "verified"
    # the golden outputs are the loaded weights' outputs, not the factory's
    import numpy as np

    golden = bundle.path / "assets" / "golden"
    x = np.load(golden / "inputs.image.npy")
    y = np.load(golden / "outputs.logits.npy")
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.from_numpy(x[:1])).numpy(), y[:1], atol=1e-6)


def test_pickled_module_is_refused_then_allowed(tmp_path):
    path = tmp_path / "m.pt"
    torch.save(tiny_models.build(), path)  # a full pickle of the module
    with pytest.raises(UserError) as err:
        _export(tmp_path, source=str(path))
    assert "pickled" in err.value.one_line() and "--trust-pickle" in err.value.one_line()
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())
    bundle = _export(tmp_path, source=str(path), trust_pickle=True)
    assert _onnx_status(bundle)[0] == "verified"


def test_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump(Payload(), fh)
    with pytest.raises(UserError):
        _export(tmp_path, source=str(path))
    assert not marker.exists()


@pytest.mark.parametrize(
    "source, words",
    [
        ("tiny_models:broken", "raised RuntimeError: cannot build"),
        ("tiny_models:nope", "has no 'nope'"),
        ("no_such_pkg.models:build", "not found"),
        ("tiny_models:not_a_module", "not an nn.Module"),
        ("missing.pt2", "does not exist"),
    ],
)
def test_bad_sources_are_one_line(tmp_path, source, words):
    with pytest.raises(UserError) as err:
        _export(tmp_path, source=source)
    assert words in err.value.one_line()


def test_shape_the_model_rejects(tmp_path):
    cfg = tiny_models.config(tmp_path, inputs=[{"name": "image", "shape": [1, 5, 8, 8]}])
    with pytest.raises(SourceError) as err:
        mobilekit.export(config=cfg)
    assert "rejects the declared inputs" in err.value.one_line()
