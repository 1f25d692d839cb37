"""Hugging Face encoder–decoders exported as they are: a tiny random MarianMT saved with
save_pretrained (`source = "hf:folder"`) and a tiny BART passed to the API as a model object,
converted by the real converters, decoded token-exact vs torch and vs the model's own
generate(), then re-checked by `mobilekit verify`."""

import json
import subprocess
import sys

import numpy as np
import pytest

import hf_tiny
from mobilekit.tasks import decoding, translation_golden

pytestmark = pytest.mark.slow

# Marian goes to ONNX (fp32, fp16) and TFLite (fp32), BART (the API path) to ONNX: each extra
# variant costs a converter worker (~30 s on a busy 2-core host)
TARGETS = {"marian": {"onnx": {"variants": ["fp32", "fp16"]}, "tflite": {"converter": "litert-torch", "variants": ["fp32"]}},
           "bart": {"onnx": {"variants": ["fp32", "fp16"]}}}


def _config(tmp, name: str, tokenizer, data, source=None) -> dict:
    cfg = {"name": name, "task": "translation", "targets": list(TARGETS[name]), "output_dir": str(tmp / "dist"),
           "translation": {"tokenizer": str(tokenizer), "data": str(data), "max_source_len": 12, "max_target_len": 12,
                           "samples": len(hf_tiny.HELD_OUT), "golden": 2}, **TARGETS[name]}
    if source:
        cfg["source"] = source
    return cfg


@pytest.fixture(scope="session")
def hf_bundles(tmp_path_factory):
    """{family: Bundle}: Marian through `hf:folder`, BART through the API with the model object."""
    import mobilekit

    tmp = tmp_path_factory.mktemp("hf_translation")
    data = tmp / "heldout.txt"  # one source per line, no references: BLEU skipped, token-exactness judged
    data.write_text("\n".join(hf_tiny.HELD_OUT) + "\n", encoding="utf-8")
    out = {}
    model, tok = hf_tiny.build("marian", "unigram")
    folder = hf_tiny.save(model, tok, tmp / "marian")
    out["marian"] = mobilekit.export(config=_config(tmp, "marian", folder / "tokenizer.json", data, f"hf:{folder}"))
    model, tok = hf_tiny.build("bart", "bpe")
    tok.save(str(tmp / "bart-tokenizer.json"))
    out["bart"] = mobilekit.export(model, config=_config(tmp, "bart", tmp / "bart-tokenizer.json", data))
    for b in out.values():  # where the session's time goes, for whoever trims it next
        print(b.path.name, b.manifest["stages"])
    return out


@pytest.mark.parametrize("family", ["marian", "bart"])
def test_every_pair_decodes_like_torch_and_generate(hf_bundles, family):
    b = hf_bundles[family]
    m = b.manifest
    assert m["metrics"]["torch"]["generate"]["token_exact"] == 1.0  # adapter's greedy == model.generate(num_beams=1)
    assert m["translation"]["source"]["family"] == family
    got = {(a["target"], a["variant"], a["graph"]) for a in b.artifacts}
    assert got == {(t, v, g) for t, o in TARGETS[family].items() for v in o["variants"] for g in ("encoder", "decoder")}
    for a in b.artifacts:
        assert a["status"] == "verified", a.get("error")
        need = 1.0 if a["precision"] == "fp32" else a["decoding"]["min_token_exact"]
        assert a["decoding"]["token_exact"] >= need
        assert a["decoding"]["sentences"] == len(hf_tiny.HELD_OUT) + 3


@pytest.mark.parametrize("family", ["marian", "bart"])
def test_the_bundle_alone_decodes_its_golden_sentences(hf_bundles, family):
    """ONNX Runtime on the bundle's files with the manifest's ids (start/eos/forced), not the export's objects."""
    import onnxruntime as ort

    b = hf_bundles[family]
    shapes = translation_golden.shapes(b.manifest)
    assert shapes.start == b.manifest["translation"]["decoder_start"]["token"]
    golden = json.loads((b.path / b.manifest["translation"]["golden"]).read_text(encoding="utf-8"))
    paths = {a["graph"]: b.path / a["path"] for a in b.artifacts if a["target"] == "onnx" and a["variant"] == "fp32"}
    sess = {g: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for g, p in paths.items()}

    def runner(s):
        names = [o.name for o in s.get_outputs()]
        return lambda feeds: dict(zip(names, s.run(None, {i.name: feeds[i.name] for i in s.get_inputs()})))

    inputs = [s["output_ids"] for s in golden["samples"]]
    assert len({tuple(x) for x in inputs}) > 1 or family == "bart"  # Marian's trained copy path depends on its input
    for s in golden["samples"]:
        d = decoding.greedy(runner(sess["encoder"]), runner(sess["decoder"]), s["source_ids"], shapes)
        assert d.ids == s["output_ids"], s["text"]
        assert np.load(b.path / "assets/golden" / s["step_logits"]).shape == (len(d.ids), shapes.vocab_size)


def test_mobilekit_verify_passes_on_the_bundle(hf_bundles):
    for b in hf_bundles.values():
        out = subprocess.run([sys.executable, "-m", "mobilekit", "verify", str(b.path)], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
