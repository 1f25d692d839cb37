"""Hugging Face encoder–decoders as translation models: a `transformers` model object or a
`save_pretrained` folder (`source = "hf:path"`) becomes the encoder + decoder-step pair the
translation task exports, derived from the model's own modules and config.

Families: MarianMT, BART, mBART, M2M100/NLLB (`bart_like.py`) and T5 (`t5.py`). Anything else is one line naming
the class and these families. Loading a folder reads safetensors weights only and never runs
code from it (`trust_remote_code` is never set).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import SourceError, UserError

FAMILIES = {"marian": "MarianMT", "bart": "BART", "mbart": "mBART", "m2m_100": "M2M100/NLLB", "t5": "T5"}
PREFIX = "hf:"
DEFAULT_LENGTHS = (32, 32)


def is_hf_model(obj: Any) -> bool:
    return any(c.__module__.startswith("transformers.") for c in type(obj).__mro__) and hasattr(obj, "config")


def folder(source: str | None) -> str | None:
    """The folder of an `hf:` source, else None."""
    return source[len(PREFIX):] if isinstance(source, str) and source.startswith(PREFIX) else None


def load_folder(path: Path):
    """A save_pretrained folder → the model, offline, safetensors only, no remote code."""
    if not (path / "config.json").is_file():
        raise SourceError(f"source hf:{path} has no config.json", hint="Point it at a folder written by model.save_pretrained().")
    if not any(path.glob("*.safetensors")):
        raise SourceError(f"source hf:{path} has no .safetensors weights (pickled .bin weights are not loaded)",
                          hint="Re-save it with model.save_pretrained(folder, safe_serialization=True).")
    import json

    try:
        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SourceError(f"source hf:{path}: config.json is not JSON ({exc})", hint="Re-save the model.") from None
    if cfg.get("auto_map"):
        raise SourceError(f"source hf:{path} needs custom code (config.json has auto_map); mobilekit never runs a folder's code",
                          hint="Build the model in your script and pass it to mobilekit.export(cfg, model=...).")
    _family_of(cfg.get("model_type"), cfg.get("architectures", ["?"])[0] if cfg.get("architectures") else "?")
    import transformers

    try:
        return transformers.AutoModelForSeq2SeqLM.from_pretrained(
            str(path), local_files_only=True, use_safetensors=True, trust_remote_code=False).eval()
    except Exception as exc:
        raise SourceError(f"source hf:{path} cannot be loaded: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                          hint="Give a folder written by save_pretrained for a seq2seq LM.") from None


def _family_of(model_type: str | None, cls: str) -> str:
    if model_type not in FAMILIES:
        raise UserError(f"{cls} (model_type {model_type!r}) is not a translation family mobilekit knows",
                        hint=f"Known: {', '.join(FAMILIES.values())}.")
    return model_type


@dataclass
class Adapted:
    net: Any  # nn.Module with encode/step and .shapes
    text: Any  # contract.HfText
    family: str
    model: Any  # the transformers model (for generate)


def adapt(model, tokenizer_path: Path, max_source_len: int | None, max_target_len: int | None, where: str) -> Adapted:
    from ..seq2seq_split import Shapes
    from . import contract
    from .bart_like import BartLikeSeq2Seq
    from .t5 import T5Seq2Seq

    c = model.config
    family = _family_of(getattr(c, "model_type", None), type(model).__name__)
    if not hasattr(model, "lm_head"):
        raise UserError(f"{type(model).__name__} has no language-model head",
                        hint="Pass the ...ForConditionalGeneration / MarianMTModel class, not the bare model.")
    limit = getattr(c, "max_position_embeddings", 1024)
    S = max_source_len or min(DEFAULT_LENGTHS[0], limit)
    T = max_target_len or min(DEFAULT_LENGTHS[1], limit)
    for name, v in (("max_source_len", S), ("max_target_len", T)):
        if v > limit:
            raise UserError(f"translation.{name} = {v} exceeds the model's max_position_embeddings ({limit})",
                            hint=f"Set translation.{name} <= {limit}.")
    model.eval()
    text = contract.load(tokenizer_path, c, where)
    net = (T5Seq2Seq if family == "t5" else BartLikeSeq2Seq)(model, family, S, T).eval()
    gen = getattr(model, "generation_config", None)

    def pick(name):
        v = getattr(gen, name, None) if gen is not None else None
        return v if v is not None else getattr(c, name, None)

    net.shapes = Shapes(net.vocab_size(), S, T, net.layers, net.heads, net.head_dim,
                        start=c.decoder_start_token_id, eos=c.eos_token_id, pad=c.pad_token_id,
                        forced_bos=pick("forced_bos_token_id"), forced_eos=pick("forced_eos_token_id"))
    if text.get_vocab_size() > net.shapes.vocab_size:
        raise UserError(f"the tokenizer has {text.get_vocab_size()} tokens but the model's vocabulary is {net.shapes.vocab_size}",
                        hint="Use the tokenizer the model was trained with.")
    return Adapted(net, text, family, model)


def generate(model, source_ids: list[int], shapes, num_beams: int = 1) -> list[int]:
    """The model's own `generate` on one source (padding stripped): ids after the start token."""
    import torch

    ids = [i for i in source_ids if i != shapes.pad]
    with torch.inference_mode():
        out = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, num_beams=num_beams, max_length=shapes.max_target_len, min_length=0,
                             early_stopping=True if num_beams > 1 else False, length_penalty=1.0,
                             no_repeat_ngram_size=0, repetition_penalty=1.0, bad_words_ids=None,
                             decoder_start_token_id=shapes.start, eos_token_id=shapes.eos, pad_token_id=shapes.pad,
                             forced_bos_token_id=shapes.forced_bos, forced_eos_token_id=shapes.forced_eos)
    seq = out[0].tolist()[1:]
    if shapes.eos in seq:  # beams/batches pad after <eos>
        seq = seq[: seq.index(shapes.eos) + 1]
    return seq
