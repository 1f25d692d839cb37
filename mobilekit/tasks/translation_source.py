"""Where a translation export's model, tokenizer and held-out sentences come from.

- the shipped kind: a module with `encode`/`step` (mobilekit/zoo/translator.py) and a fixed-id
  BPE tokenizer (`translation.tokenizer`);
- a Hugging Face encoder–decoder: a `transformers` model object passed to the API, or
  `source = "hf:folder"` (save_pretrained + tokenizer.json; `translation.tokenizer` optional);
- `translation.data`: `pkg.module:callable` giving (source, reference) pairs, or a UTF-8 text file
  with one source per line, optionally `source<TAB>reference` (no reference: BLEU is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SourceError, UserError
from . import tokenizer as tok_mod


@dataclass
class TranslationSource:
    net: Any  # encode/step module
    tok: Any  # tokenizers.Tokenizer (fixed ids) or hf.contract.HfText
    origin: str
    hf: Any = None  # hf.Adapted when the model is a transformers one


def load(cfg, model=None) -> TranslationSource:
    from ..source import load as load_source
    from . import hf

    tc = cfg.translation
    where = hf.folder(cfg.source) if model is None else None
    if model is not None and hf.is_hf_model(model) or where is not None:
        if model is None:
            path = cfg.path(where)
            model = hf.load_folder(path)
            origin = f"hf:{path}"
            tok_path = cfg.path(tc.tokenizer) if tc.tokenizer else path / "tokenizer.json"
        else:
            origin = type(model).__name__
            if not tc.tokenizer:
                raise UserError("translation.tokenizer is required with a transformers model object",
                                hint="Set it to the model's tokenizer.json (tokenizer.save_pretrained writes one).")
            tok_path = cfg.path(tc.tokenizer)
        adapted = hf.adapt(model, tok_path, tc.max_source_len, tc.max_target_len, origin)
        return TranslationSource(adapted.net, adapted.text, origin, adapted)
    tok = tok_mod.load(cfg.path(tc.tokenizer))
    loaded = load_source(cfg, model)
    net = loaded.module
    for attr in ("encode", "step", "cfg"):
        if not hasattr(net, attr):
            raise SourceError(f"the translation model has no `{attr}`",
                              hint="Give a Hugging Face encoder-decoder (source = \"hf:folder\" or the model object), "
                                   "or a model offering encode(source_ids) and step(...) with an explicit KV cache "
                                   "(see mobilekit/zoo/translator.py).")
    return TranslationSource(net, tok, loaded.origin)


def pairs(cfg) -> list[tuple[str, str | None]]:
    from .._imports import resolve_ref

    tc = cfg.translation
    if _is_text_file(cfg, tc.data):
        return _read_text(cfg.path(tc.data), tc.samples)
    fn = resolve_ref(tc.data, what="held-out sentence pairs", key="translation.data", base_dir=cfg.base_dir)
    try:
        got = list(fn() if callable(fn) else fn)[: tc.samples]
    except Exception as exc:
        raise UserError(f"translation.data: {tc.data} raised {type(exc).__name__}: {exc}", hint="Fix that function.") from None
    if not got or not all(isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in got):
        raise UserError(f"translation.data: {tc.data} must give (source, reference) string pairs",
                        hint="Return a list of (source text, reference translation) tuples.")
    return [tuple(p) for p in got]


def _is_text_file(cfg, ref: str) -> bool:
    return Path(ref).suffix.lower() in (".txt", ".tsv") or cfg.path(ref).is_file()  # else pkg.module:callable


def _read_text(path: Path, limit: int) -> list[tuple[str, str | None]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"translation.data: {path} does not exist", hint="Give a UTF-8 text file, one source sentence per line.") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"translation.data: {path} is not UTF-8 (byte {exc.start})", hint="Save it as UTF-8.") from None
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        src, tab, ref = line.partition("\t")
        rows.append((src.strip(), ref.strip() if tab else None))
    if not rows:
        raise UserError(f"translation.data: {path} has no sentences", hint="Write one source sentence per line.")
    return rows[:limit]


# -- the two tokenizer kinds behind one surface -------------------------------------------------

def encode_source(tok, text: str, max_len: int) -> list[int]:
    if hasattr(tok, "encode_source"):
        return tok.encode_source(text, max_len)
    return tok_mod.encode_source(tok, text, max_len)


def decode(tok, ids: list[int]) -> str:
    if hasattr(tok, "encode_source"):
        return tok.decode(ids)
    return tok_mod.decode(tok, ids)
