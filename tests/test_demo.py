"""The shipped demo export (what `make demo` runs), done once with the network blocked.

Rule 2: with `netblock`, every process of the export (the CLI and each converter worker)
refuses sockets other than AF_UNIX and logs each attempt.
"""

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from mobilekit.bundle import load_bundle
from netblock import blocked_env

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    env, log = blocked_env(tmp)
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('example.org', 80))"],
                           env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked by test" in probe.stderr  # the blocker is active in children
    log.unlink()
    out = subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(ROOT / "examples/digits/mobilekit.toml"),
                          "--output", str(tmp / "dist")], env=env, capture_output=True, text=True, timeout=1500)
    return out, log, tmp / "dist" / "digits"


def test_demo_export_passes_offline(demo):
    out, log, _ = demo
    assert out.returncode == 0, out.stderr[-3000:]
    assert not log.exists(), log.read_text()


def test_onnx_artifacts_verified_with_full_top1_agreement(demo):
    b = load_bundle(demo[2])
    onnx = [a for a in b.artifacts if a["target"] == "onnx"]
    assert {a["variant"] for a in onnx} == {"fp32", "fp16", "int8-dynamic", "int8"}
    for a in onnx:
        assert a["status"] == "verified" and a["parity"]["top1_agreement"] == 1.0
    assert b.artifact("onnx", "fp32")["parity"]["max_abs"] < 1e-4
    assert "max abs" in demo[0].stderr  # the figure is printed


def test_coreml_variants_verified_by_the_reference_interpreter(demo):
    import coremltools as ct

    b = load_bundle(demo[2])
    coreml = {a["variant"]: a for a in b.artifacts if a["target"] == "coreml"}
    assert set(coreml) == {"fp16", "int8", "palettize-6"}
    sizes = {v: a["size_bytes"] for v, a in coreml.items()}
    assert sizes["palettize-6"] < sizes["int8"] < sizes["fp16"]
    for a in coreml.values():
        # no Core ML runtime here: verified, and the manifest says by what; no host latency for it
        assert a["status"] == "verified" and a["verified_by"].startswith("mobilekit-coreml-interpreter")
        assert a["parity"]["top1_agreement"] == 1.0 and "latency_ms" not in a
        assert a["structure"]  # the structural checks ran and recorded what they saw
    spec = ct.models.MLModel(str(b.path / coreml["fp16"]["path"]), skip_model_load=True).get_spec()
    assert spec.description.metadata.author == "mobilekit authors"
    meta = spec.description.metadata.userDefined
    assert meta["mobilekit.task"] == "image_classification"
    assert json.loads(meta["mobilekit.labels"]) == [str(d) for d in range(10)]
    assert spec.description.predictedFeatureName == "classLabel"
    assert [o.name for o in spec.description.output] == ["classLabel", "classLabel_probs", "logits"]
