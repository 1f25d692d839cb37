"""`mobilekit bench` of an ONNX artifact: ONNX Runtime's CPU execution provider."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..base import ArtifactRecord, BenchConfig, TimedSession


def init(config: BenchConfig) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = config.threads or 0
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort, opts


def session(record: ArtifactRecord, bundle_dir: Path, samples: list[dict], handle: Any) -> TimedSession:
    from ...verify.runners import _to_layout

    ort, opts = handle
    t = time.perf_counter()
    sess = ort.InferenceSession(str(bundle_dir / record.path), opts, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t) * 1e3
    ins = {t.name: t for t in record.inputs}
    names = [t.tensor for t in record.outputs] or None
    # feeds in the file's own layout, prepared before timing: the timed call is session.run alone
    feeds = [{ins[n].tensor: _to_layout(v, ins[n].layout) for n, v in smp.items()} for smp in samples]
    return TimedSession(call=lambda i: sess.run(names, feeds[i % len(feeds)]), runtime_version=ort.__version__,
                        load_ms=load_ms, delegate="CPUExecutionProvider", handle=sess)
