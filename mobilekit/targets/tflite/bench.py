"""`mobilekit bench` of a TFLite artifact: LiteRT, with XNNPACK (its default) or its built-in kernels."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ...errors import UserError
from ..base import ArtifactRecord, BenchConfig, TimedSession

DELEGATES = ("xnnpack", "none")  # none: LiteRT's built-in kernels only


def configs(threads: int, prefs: dict) -> list[BenchConfig]:
    chosen = tuple(dict.fromkeys(prefs.get("litert_delegates") or ("xnnpack",)))
    bad = [d for d in chosen if d not in DELEGATES]
    if bad:
        raise UserError(f"--litert-delegate {bad[0]!r}: choose xnnpack or none")
    return [BenchConfig(runtime="litert", delegate=d, threads=threads) for d in chosen]


def init(config: BenchConfig) -> Any:
    from ai_edge_litert import interpreter as litert

    return litert


def session(record: ArtifactRecord, bundle_dir: Path, samples: list[dict], config: BenchConfig, litert: Any) -> TimedSession:
    from ...verify.runners import _quantize, _to_layout
    from ..base import package_version

    kw = {}
    if config.delegate == "none":
        kw["experimental_op_resolver_type"] = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    t = time.perf_counter()
    interp = litert.Interpreter(model_path=str(bundle_dir / record.path), num_threads=config.threads, **kw)
    if not interp.get_signature_list():
        raise RuntimeError(f"{record.path} has no signature; mobilekit's TFLite files always have one")
    runner = interp.get_signature_runner()  # allocates tensors
    load_ms = (time.perf_counter() - t) * 1e3
    details = runner.get_input_details()
    ins = {t.name: t for t in record.inputs}
    feeds = [{ins[n].tensor: _quantize(_to_layout(v, ins[n].layout), details[ins[n].tensor]) for n, v in smp.items()}
             for smp in samples]
    return TimedSession(call=lambda i: runner(**feeds[i % len(feeds)]), runtime_version=package_version("ai-edge-litert") or "?",
                        load_ms=load_ms, delegate=config.delegate, handle=interp)


def delegate_that_ran(config: BenchConfig, runtime_log: str) -> tuple[str, list[str]]:
    """LiteRT says on stderr whether it created the XNNPACK delegate: believe the log, not the request."""
    if "XNNPACK delegate" in runtime_log:
        return "xnnpack", []
    notes = ["LiteRT did not report creating the XNNPACK delegate: the built-in CPU kernels ran"] if config.delegate == "xnnpack" else []
    return "none", notes
