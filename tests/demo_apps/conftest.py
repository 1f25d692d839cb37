"""Fixtures for the demo-app tests: the bundles the apps run, and the Kotlin tools.

This folder is a package (`__init__.py`) so that this conftest is imported as
`demo_apps.conftest` and does not take the name `conftest` from tests/conftest.py, which other
test modules import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from toolchain import require_tool  # noqa: F401  (the demo tests take it from here)

ROOT = Path(__file__).resolve().parents[2]
ANDROID = ROOT / "android_demo"
# The one Kotlin core shared by the Android demo (:core) and the harness template (core/).
KOTLIN_CORE = ROOT / "mobile" / "kotlin"

# The translation bundle contract (see the [6/8] and [7/8] issues).
SPECIAL = {"pad": 0, "bos": 1, "eos": 2, "unk": 3}
SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"]


# -- digits ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def digits_bundle(tmp_path_factory) -> Path:
    """The shipped digits bundle: dist/digits when `make demo` built it, else an ONNX-only export."""
    built = ROOT / "dist" / "digits"
    if (built / "manifest.json").is_file():
        return built
    out = tmp_path_factory.mktemp("digits")
    proc = subprocess.run(
        [sys.executable, "-m", "mobilekit", "export", "--config", str(ROOT / "examples/digits/mobilekit.toml"),
         "--target", "onnx", "--output", str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out / "digits"


# -- translator: the shipped one, and a stand-in with the edge cases it lacks --------------------

@pytest.fixture(scope="session", params=["shipped", "stand-in"])
def translator_bundle(request, tmp_path_factory) -> Path:
    """A translation bundle for the apps' pure cores: the shipped translator (dist/translator when
    `make demo` built it, else exported by this session, tests/conftest.py), and a contract-following stand-in whose golden vectors hold a
    logits tie, a sample that never emits <eos>, and characters the tokenizer does not know."""
    if request.param == "shipped":
        built = ROOT / "dist" / "translator"  # what `make demo` built, as for digits_bundle
        if (built / "manifest.json").is_file() and (built / "assets" / "golden" / "translation.json").is_file():
            return built
        out, _, path = request.getfixturevalue("translator_export")
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return path
    return build_standin_translator_bundle(tmp_path_factory.mktemp("translator") / "translator")


PAIRS = [
    ("the cat eats an apple.", "el gato come una manzana."),
    ("the dog runs.", "el perro corre."),
    ("I read a book.", "leo un libro."),
    ("we open the door.", "abrimos la puerta."),
    ("she sings a song.", "ella canta una canción."),
    ("the boy is happy!", "¡el niño está feliz!"),
    ("my sister buys bread.", "mi hermana compra pan."),
    ("they wash the red car.", "lavan el coche rojo."),
    ("you see the small house.", "ves la casa pequeña."),
    ("the teacher writes a letter.", "el maestro escribe una carta."),
    ("he does not swim.", "no nada."),
    ("the girls dance.", "las niñas bailan."),
    ("we need a new table.", "necesitamos una mesa nueva."),
    ("the old man walks.", "el hombre viejo camina."),
    ("I love the green flowers.", "amo las flores verdes."),
    ("do you travel?", "¿viajas?"),
    ("the students study.", "los estudiantes estudian."),
    ("my friend lives here.", "mi amigo vive aquí."),
    ("the doctor calls the woman.", "el médico llama a la mujer."),
    ("they eat a big cake.", "comen un pastel grande."),
    ("the key opens the window.", "la llave abre la ventana."),
    ("we visit the city.", "visitamos la ciudad."),
    ("the brothers work.", "los hermanos trabajan."),
    ("she uses a blue chair.", "ella usa una silla azul."),
    ("I do not sell the black shirt.", "no vendo la camisa negra."),
    ("the expensive bottle is white.", "la botella cara es blanca."),
    ("you help the young student.", "ayudas al estudiante joven."),
    ("the cats cry.", "los gatos lloran."),
    ("he reads the newspaper, then he works.", "lee el periódico, luego trabaja."),
    ("the pretty dogs swim.", "los perros bonitos nadan."),
]
# Golden texts: seen, unseen words, mixed case, unknown characters, runs of punctuation.
STANDIN_SAMPLES = [0, 5, 15, 18, 28]
EXTRA_TEXTS = [("The Zebra ate 42 apples?!", "la cebra comió 42 manzanas?!"),
               ("Ñandú: über-cool ☃", "ñandú genial")]
MAX_SOURCE_LEN, MAX_TARGET_LEN = 16, 12


def train_contract_tokenizer(texts: list[str], vocab_size: int = 200):
    """A tokenizer exactly as the translation contract specifies it."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, end_of_word_suffix="</w>",
                                  min_frequency=1, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    return tok


def source_ids(tok, text: str) -> list[int]:
    """`tokens <eos>` padded with `<pad>` to MAX_SOURCE_LEN (the stand-in's source_format)."""
    ids = tok.encode(text).ids[: MAX_SOURCE_LEN - 1] + [SPECIAL["eos"]]
    return ids + [SPECIAL["pad"]] * (MAX_SOURCE_LEN - len(ids))


def output_text(tok, ids: list[int]) -> str:
    """The contract's output text: <bos>/<eos>/<pad> dropped, other specials (<unk>) kept, as
    mobilekit/tasks/tokenizer.py `decode` does for the real bundle."""
    keep = [i for i in ids if i not in (SPECIAL["bos"], SPECIAL["eos"], SPECIAL["pad"])]
    return tok.decode(keep, skip_special_tokens=False)


def greedy(step_logits: np.ndarray) -> list[int]:
    """The contract's greedy loop over recorded logits: argmax (lowest index on ties) until <eos>."""
    out = []
    for row in step_logits[: MAX_TARGET_LEN - 1]:
        out.append(int(np.argmax(row)))
        if out[-1] == SPECIAL["eos"]:
            break
    return out


def _tensor(name, shape, dtype):
    return {"name": name, "shape": shape, "dtype": dtype}


def build_standin_translator_bundle(dest: Path) -> Path:
    """Write a translation bundle that follows the contract but holds no real model.

    Tokenizer and golden vectors are real (HF `tokenizers`, trained on PAIRS); the decoder
    logits are random, with the reference translation's tokens planted as the argmax (one step
    with a tie, one sample that never emits <eos>), and `output_ids` is what greedy argmax gives.
    Artifact files are placeholders: the stand-in is for the apps' pure cores, not for runtimes.
    """
    import tokenizers

    from mobilekit.bundle import sha256

    rng = np.random.default_rng(8)
    texts = [t for pair in PAIRS for t in pair]
    tok = train_contract_tokenizer(texts)
    vocab = tok.get_vocab_size()
    golden = dest / "assets" / "golden"
    golden.mkdir(parents=True)
    (dest / "assets" / "tokenizer.json").write_text(tok.to_str(pretty=True), encoding="utf-8")

    chosen = [PAIRS[i] for i in STANDIN_SAMPLES] + EXTRA_TEXTS
    samples = []
    for i, (text, target) in enumerate(chosen):
        planted = tok.encode(target).ids
        never_ends = i == len(chosen) - 1  # runs to max_target_len - 1 without <eos>
        wanted = (planted * 3)[: MAX_TARGET_LEN - 1] if never_ends else planted[: MAX_TARGET_LEN - 2] + [SPECIAL["eos"]]
        logits = rng.standard_normal((len(wanted), vocab)).astype(np.float32)
        logits[:, SPECIAL["eos"]] -= 10.0 * (not never_ends)  # <eos> only where planted
        for step, tid in enumerate(wanted):
            logits[step, tid] = logits[step].max() + 1.0 + rng.random()
        if i == 0:  # a tie: the lower index must win
            tid = wanted[0]
            logits[0, vocab - 1 if tid != vocab - 1 else 0] = logits[0, tid]
            if tid == vocab - 1:
                wanted[0] = 0
        name = f"translation.step_logits.{i}.npy"
        np.save(golden / name, logits)
        out_ids = greedy(logits)
        assert out_ids == wanted, (out_ids, wanted)
        samples.append({"text": text, "source_ids": source_ids(tok, text), "output_ids": out_ids,
                        "output_text": output_text(tok, out_ids), "step_logits": name})
    (golden / "translation.json").write_text(json.dumps({"samples": samples}, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")

    # Tensor names and shapes as mobilekit/tasks/seq2seq_split.py writes them for the real bundle.
    layers, heads, head_dim = 2, 4, 8
    cross = [layers, heads, MAX_SOURCE_LEN, head_dim]
    cache = [layers, heads, MAX_TARGET_LEN, head_dim]
    encoder = {"inputs": [_tensor("source_ids", [1, MAX_SOURCE_LEN], "int32")],
               "outputs": [_tensor("cross_keys", cross, "float32"), _tensor("cross_values", cross, "float32"),
                           _tensor("source_bias", [1, MAX_SOURCE_LEN], "float32")]}
    decoder = {"inputs": [_tensor("token", [1, 1], "int32"), _tensor("position", [1], "int32"),
                          _tensor("cross_keys", cross, "float32"), _tensor("cross_values", cross, "float32"),
                          _tensor("source_bias", [1, MAX_SOURCE_LEN], "float32"),
                          _tensor("past_keys", cache, "float32"), _tensor("past_values", cache, "float32")],
               "outputs": [_tensor("logits", [1, vocab], "float32"), _tensor("present_keys", cache, "float32"),
                           _tensor("present_values", cache, "float32")]}
    artifacts = []
    for target, ext in (("onnx", "onnx"), ("tflite", "tflite")):
        for graph, io in (("encoder", encoder), ("decoder", decoder)):
            path = f"{target}/{graph}.{ext}"
            (dest / path).parent.mkdir(exist_ok=True)
            (dest / path).write_bytes(f"stand-in {graph}: no model".encode())
            refs = lambda ts: [dict(t, tensor=t["name"], layout="") for t in ts]  # noqa: E731
            artifacts.append({"target": target, "variant": "fp32", "graph": graph, "path": path, "precision": "fp32",
                              "sha256": sha256(dest / path), "size_bytes": (dest / path).stat().st_size,
                              "made_by": {"converter": "stand-in"},
                              "layout": "", "inputs": refs(io["inputs"]), "outputs": refs(io["outputs"]),
                              "status": "unverified", "status_reason": "stand-in bundle (no model)"})
    manifest = {
        "schema": "mobilekit.manifest/1", "name": "translator", "version": "0.0.0-standin", "task": "translation",
        "created_with": {"tokenizers": tokenizers.__version__},
        "description": "Stand-in translation bundle for the demo apps' tests (random logits).",
        "inputs": encoder["inputs"],
        "outputs": [decoder["outputs"][0]],
        "artifacts": artifacts,
        "golden": "assets/golden/",
        "translation": {
            "tokenizer": "assets/tokenizer.json", "special_tokens": SPECIAL, "vocab_size": vocab,
            "max_source_len": MAX_SOURCE_LEN, "max_target_len": MAX_TARGET_LEN,
            "source_format": ("lowercase + BPE tokens, then <eos>; truncated to max_source_len-1 tokens before <eos>; "
                              "right-padded with <pad> to max_source_len; no <bos>"),
            "encoder": encoder, "decoder": decoder,
            "cache": {"layers": layers, "heads": heads, "head_dim": head_dim, "shape": cache, "cross_shape": cross,
                      "dtype": "float32", "update": "the decoder writes slot `position` and returns the whole cache"},
        },
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return dest


# -- Hugging Face encoder-decoders: tiny random ones exported by this session ---------------------

@pytest.fixture(scope="session")
def hf_translation_bundles(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    """{family: (bundle folder, the torch model)}: a tiny M2M100 (byte-level BPE, `__en__ $A </s>` template, forced_bos)
    saved with save_pretrained and exported as `hf:folder` to ONNX fp32 (tests/tasks/hf_tiny.py), for
    the apps' cores to read as they ship. One family, untrained (steps=0: its beams leave the
    greedy path, the copy-fitted one repeats one token), ~25-60 s of the session; the tokenizer
    families are covered without exports in test_kotlin_translation_contract.py."""
    import mobilekit

    sys.path.insert(0, str(ROOT / "tests" / "tasks"))
    import hf_tiny

    tmp = tmp_path_factory.mktemp("hf_apps")
    data = tmp / "heldout.txt"
    data.write_text("\n".join(hf_tiny.HELD_OUT) + "\n", encoding="utf-8")
    out = {}
    for family, kind in (("m2m_100", "bpe"),):
        model, tok = hf_tiny.build(family, kind, steps=0)
        folder = hf_tiny.save(model, tok, tmp / family)
        cfg = {"name": f"{family}-app", "task": "translation", "targets": ["onnx"], "output_dir": str(tmp / "dist"),
               "source": f"hf:{folder}", "onnx": {"variants": ["fp32"]},
               "translation": {"data": str(data), "max_source_len": 12, "max_target_len": 12,
                               "samples": len(hf_tiny.HELD_OUT), "golden": 2}}
        out[family] = (mobilekit.export(config=cfg).path, model)
    return out
