"""The fp32 self-check `auto` falls back on, and the artifact record and metadata of each file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ConversionError
from ..base import ArtifactRecord, ConvertJob, TensorIO
from .flatbuffer import _io_details
from .inputs import _is_image
from .options import FILE_NAMES, TFLiteOptions, _Built


def _self_check(job: ConvertJob, b: _Built, work: Path, *, strict: bool) -> None:
    """Run the fp32 file on two seeded inputs against torch. In `auto`, a wrong file is a failure.

    Not the verification (the pipeline does that on the written file); a coarse guard against a
    converter that silently produces wrong numbers, so `auto` can try the other one.
    """
    import torch

    from ...capture import example_inputs
    from ...spec import ModelSpec
    from ...verify.runners import litert_runner

    spec_obj = ModelSpec.from_dict(job.spec)
    module = torch.export.load(job.program).module()
    path = work / f"selfcheck-{b.converter}.tflite"
    path.write_bytes(b.data)
    record = _record(job, b, "selfcheck.tflite")
    run = litert_runner(path, record)
    worst, cos = 0.0, 1.0
    for seed in (0, 1):
        feeds = example_inputs(spec_obj, seed=seed)
        with torch.no_grad():
            ref = module(*[torch.from_numpy(feeds[t["name"]]) for t in job.spec["inputs"]])
        refs = list(ref.values()) if isinstance(ref, dict) else (list(ref) if isinstance(ref, (list, tuple)) else [ref])
        got = run(feeds)
        for t, r in zip(job.spec["outputs"], refs):
            r = r.detach().numpy().astype(np.float64)
            g = np.asarray(got[t["name"]], np.float64).reshape(r.shape)
            scale = max(1.0, float(np.abs(r).max()))
            worst = max(worst, float(np.abs(r - g).max()) / scale)
            nr, ng = np.linalg.norm(r), np.linalg.norm(g)
            if nr > 0 and ng > 0:
                cos = min(cos, float(np.dot(r.ravel(), g.ravel()) / (nr * ng)))
    ok = worst <= 1e-3 and cos >= 0.999
    b.details["self_check"] = {"max_rel_abs": worst, "cosine": cos, "ok": ok}
    path.unlink(missing_ok=True)
    del run
    if not ok and not strict:
        raise ConversionError("tflite", f"{b.converter} fp32 disagrees with torch (max abs/scale {worst:.3g}, cosine {cos:.6f})")


# -- flatbuffer edits -----------------------------------------------------------------------------

def _record(job: ConvertJob, b: _Built, rel_path: str) -> ArtifactRecord:
    spec = job.spec
    ins, extra = _io_details(b.data)
    outs = extra["outputs"]
    inputs = [TensorIO(t["name"], t["name"], b.layouts.get(t["name"], ""), np.dtype(ins[t["name"]]["dtype"]).name,
                       [int(d) for d in ins[t["name"]]["shape"]]) for t in spec["inputs"]]
    outputs = [TensorIO(t["name"], t["name"], "", np.dtype(outs[t["name"]]["dtype"]).name,
                        [int(d) for d in outs[t["name"]]["shape"]]) for t in spec["outputs"]]
    layout = "NHWC" if "NHWC" in b.layouts.values() else ("NCHW" if "NCHW" in b.layouts.values() else "")
    precision = {"fp32": "fp32", "fp16": "fp16", "int8-dynamic": "int8-dynamic", "int8": "int8"}[b.variant]
    details = {k: v for k, v in b.details.items() if k != "made_by"}
    details["ops"] = extra["ops"]
    dynamic = {t["name"]: t["dynamic"] for t in spec["inputs"] if t.get("dynamic")}
    if dynamic:  # the file has the example shape; apps resize inputs with resizeInput() if needed
        details["dynamic_dims_fixed"] = dynamic
    return ArtifactRecord(
        target="tflite",
        variant=b.variant,
        path=rel_path,
        precision=precision,
        layout=layout,
        made_by=b.details.get("made_by", {"converter": b.converter}),
        compression=b.compression,
        inputs=inputs,
        outputs=outputs,
        details=details,
    )


def _finish(job: ConvertJob, opts: TFLiteOptions, b: _Built, out_dir: Path) -> ArtifactRecord:
    path = out_dir / FILE_NAMES[b.variant]
    path.write_bytes(b.data)
    if opts.metadata:
        from .metadata import write_metadata

        meta, labels, norm = _metadata(job.spec)
        write_metadata(path, meta, labels, norm)
        b.details["metadata"] = True
    rel = path.relative_to(Path(job.bundle_dir)).as_posix()
    record = _record(job, b, rel)
    record.details["converter"] = b.converter
    return record


def _metadata(spec: dict) -> tuple[dict, list[str] | None, dict | None]:
    meta = {k: spec.get(k) or "" for k in ("name", "version", "author", "license", "description")}
    meta["inputs"] = {t["name"]: t.get("description") or "" for t in spec["inputs"]}
    meta["outputs"] = {t["name"]: t.get("description") or "" for t in spec["outputs"]}
    labelled = next((t for t in spec["outputs"] if t.get("labels")), None)
    labels = list(labelled["labels"]) if labelled else None
    if labelled:
        meta["labels_output"] = labelled["name"]
    image = next((t for t in spec["inputs"] if _is_image(t)), None)
    norm = None
    if image:
        pre = image["preprocessing"]
        # mobilekit: x = (pixel * scale - mean) / std; TFLite metadata: x = (pixel - mean') / std'.
        norm = {"input": image["name"], "color": pre.get("color", "RGB"),
                "mean": [m / pre["scale"] for m in pre["mean"]],
                "std": [s / pre["scale"] for s in pre["std"]]}
    return meta, labels, norm
