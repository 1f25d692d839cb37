"""Hugging Face encoder–decoders exported as they are: tiny random MarianMT, T5 and M2M100 saved
with save_pretrained (`source = "hf:folder"`, T5/M2M100 without translation.tokenizer: the
folder's tokenizer.json) and tiny BART and mBART passed to the API as model objects, converted by
the real converters, decoded token-exact vs torch and vs the model's own generate(), beam search
on the bundle's ONNX pair vs generate(num_beams=k), then re-checked by `mobilekit verify`."""

import json
import subprocess
import sys

import numpy as np
import pytest

import hf_tiny
from mobilekit.tasks import decoding, hf, translation_golden

pytestmark = pytest.mark.slow

# Marian and T5 go to ONNX and TFLite, BART to ONNX and ExecuTorch (fp16: the graph made fp16
# whole, casts and scalar-made tensors included), T5 to Core ML too, the others to ONNX only: each
# extra target costs a converter worker (~30 s on a busy 2-core host)
TARGETS = {"marian": {"onnx": {"variants": ["fp32", "fp16"]}, "tflite": {"converter": "litert-torch", "variants": ["fp32"]}},
           "bart": {"onnx": {"variants": ["fp32", "fp16"]}, "executorch": {"variants": ["fp16"]}},
           "t5": {"onnx": {"variants": ["fp32"]}, "tflite": {"converter": "litert-torch", "variants": ["fp32"]},
                  "coreml": {"variants": ["fp16"]}},
           "mbart": {"onnx": {"variants": ["fp32"]}},
           "m2m_100": {"onnx": {"variants": ["fp32"]}}}
FAMILIES = list(TARGETS)
# the tiny copy-trained models whose greedy output depends on the source (mBART/M2M100 at d_model 32
# and 60 steps still give one output for every source: their token-exactness is weaker evidence)
INPUT_DEPENDENT = {"marian", "t5"}


def _config(tmp, name: str, tokenizer, data, source=None) -> dict:
    cfg = {"name": name, "task": "translation", "targets": list(TARGETS[name]), "output_dir": str(tmp / "dist"),
           "translation": {"data": str(data), "max_source_len": 12, "max_target_len": 12,
                           "samples": len(hf_tiny.HELD_OUT), "golden": 2}, **TARGETS[name]}
    if tokenizer:
        cfg["translation"]["tokenizer"] = str(tokenizer)
    if source:
        cfg["source"] = source
    return cfg


@pytest.fixture(scope="session")
def hf_bundles(tmp_path_factory):
    """{family: (Bundle, model)}: Marian/T5/M2M100 through `hf:folder`, BART/mBART through the API."""
    import mobilekit

    tmp = tmp_path_factory.mktemp("hf_translation")
    data = tmp / "heldout.txt"  # one source per line, no references: BLEU skipped, token-exactness judged
    data.write_text("\n".join(hf_tiny.HELD_OUT) + "\n", encoding="utf-8")
    out = {}
    for family, kind, via in (("marian", "unigram", "folder"), ("bart", "bpe", "api"), ("t5", "unigram", "folder"),
                              ("mbart", "bpe", "api"), ("m2m_100", "bpe", "folder")):
        model, tok = hf_tiny.build(family, kind)
        if via == "folder":
            folder = hf_tiny.save(model, tok, tmp / family)
            given = folder / "tokenizer.json" if family == "marian" else None  # T5/M2M100: the folder's own
            out[family] = (mobilekit.export(config=_config(tmp, family, given, data, f"hf:{folder}")), model)
        else:
            tok.save(str(tmp / f"{family}-tokenizer.json"))
            out[family] = (mobilekit.export(model, config=_config(tmp, family, tmp / f"{family}-tokenizer.json", data)), model)
    for b, _ in out.values():  # where the session's time goes, for whoever trims it next
        print(b.path.name, b.manifest["stages"])
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_every_pair_decodes_like_torch_and_generate(hf_bundles, family):
    b = hf_bundles[family][0]
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


def _onnx_pair(b):
    import onnxruntime as ort

    paths = {a["graph"]: b.path / a["path"] for a in b.artifacts if a["target"] == "onnx" and a["variant"] == "fp32"}
    sess = {g: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for g, p in paths.items()}

    def runner(s):
        names = [o.name for o in s.get_outputs()]
        return lambda feeds: dict(zip(names, s.run(None, {i.name: feeds[i.name] for i in s.get_inputs()})))

    return runner(sess["encoder"]), runner(sess["decoder"])


@pytest.mark.parametrize("family", FAMILIES)
def test_the_bundle_alone_decodes_its_golden_sentences(hf_bundles, family):
    """ONNX Runtime on the bundle's files with the manifest's ids (start/eos/forced), not the export's objects."""
    b = hf_bundles[family][0]
    shapes = translation_golden.shapes(b.manifest)
    assert shapes.start == b.manifest["translation"]["decoder_start"]["token"]
    golden = json.loads((b.path / b.manifest["translation"]["golden"]).read_text(encoding="utf-8"))
    encoder, decoder = _onnx_pair(b)
    inputs = [s["output_ids"] for s in golden["samples"]]
    assert len({tuple(x) for x in inputs}) > 1 or family not in INPUT_DEPENDENT
    if shapes.forced_bos is not None:  # M2M100: the target-language id comes first
        assert all(x[0] == shapes.forced_bos for x in inputs)
    for s in golden["samples"]:
        d = decoding.greedy(encoder, decoder, s["source_ids"], shapes)
        assert d.ids == s["output_ids"], s["text"]
        assert np.load(b.path / "assets/golden" / s["step_logits"]).shape == (len(d.ids), shapes.vocab_size)


def test_the_manifest_describes_the_tokenizer_it_ships(hf_bundles):
    """The tokenizer contract comes from each tokenizer: Unigram+Metaspace for T5/Marian, BPE for the rest; T5 starts from pad."""
    for family, (b, model) in hf_bundles.items():
        t = b.manifest["translation"]
        algo = t["tokenizer_algorithm"]
        assert algo["model"] == ("Unigram" if family in ("t5", "marian") else "BPE"), family
        assert ("Metaspace" in algo["pre_tokenizer"]) == (family in ("t5", "marian")), family
        assert t["special_tokens"]["eos"] == model.config.eos_token_id and t["special_tokens"]["pad"] == model.config.pad_token_id
        assert t["decoder_start"]["token"] == model.config.decoder_start_token_id
    assert hf_bundles["t5"][0].manifest["translation"]["decoder_start"]["token"] == hf_bundles["t5"][1].config.pad_token_id
    assert hf_bundles["m2m_100"][0].manifest["translation"]["decoder_start"]["forced_bos"] is not None


@pytest.mark.parametrize("family", ["t5", "marian"])
def test_beam_search_on_the_onnx_pair_matches_generate(hf_bundles, family):
    """decoding.beam over ONNX Runtime == the model's own generate(num_beams=k) on every golden source."""
    b, model = hf_bundles[family]
    shapes = translation_golden.shapes(b.manifest)
    golden = json.loads((b.path / b.manifest["translation"]["golden"]).read_text(encoding="utf-8"))
    encoder, decoder = _onnx_pair(b)
    differs_from_greedy = 0
    for k in (2, 3):
        for s in golden["samples"]:
            got = decoding.beam(encoder, decoder, s["source_ids"], shapes, k).ids
            assert got == hf.generate(model, s["source_ids"], shapes, num_beams=k), (k, s["text"])
            differs_from_greedy += got != s["output_ids"]
    assert differs_from_greedy > 0  # else the beams never left the greedy path and nothing was tested


def test_mobilekit_verify_passes_on_the_bundle(hf_bundles):
    for b, _ in hf_bundles.values():
        out = subprocess.run([sys.executable, "-m", "mobilekit", "verify", str(b.path)], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
