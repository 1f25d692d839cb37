"""`mobilekit verify BUNDLE`: the checksums (done by load_bundle) and the golden vectors again."""

from __future__ import annotations

import json

import numpy as np

from . import tasks
from .bundle import Bundle, inside
from .errors import BundleError, VerifyFailed
from .progress import Progress, Silent
from .targets import base as targets
from .targets.base import ArtifactRecord, Unverifiable
from .verify import verdict


def load_golden(bundle: Bundle) -> tuple[list[dict], list[dict]]:
    if tasks.registered(bundle.manifest.get("task", "")):  # its golden data is the task's own (translation: sentences)
        raise BundleError(f"{bundle.path} is a {bundle.manifest['task']} bundle: its golden vectors are not single-graph tensors",
                          hint="`mobilekit verify` decodes them again; for per-token latency run `python bench/kv_cache.py`.")
    root = inside(bundle.path, bundle.manifest.get("golden", "assets/golden/"))
    index_file = root / "index.json"
    if not index_file.is_file():
        raise BundleError(f"{bundle.path} has no golden vectors ({index_file.name})", hint="The bundle is partial; re-export it.")
    index = json.loads(index_file.read_text())
    arrays = {}
    for kind in ("inputs", "outputs"):
        arrays[kind] = {n: np.load(inside(root, v["file"]), allow_pickle=False) for n, v in index[kind].items()}
    n = index["samples"]
    ins = [{k: v[i : i + 1] for k, v in arrays["inputs"].items()} for i in range(n)]
    outs = [{k: v[i : i + 1] for k, v in arrays["outputs"].items()} for i in range(n)]
    return ins, outs


def recorded_rule(artifact: dict) -> verdict.Rule:
    """The rule the artifact was judged by at export (the manifest's `tolerance`), else today's."""
    recorded = artifact.get("tolerance")
    if not recorded:
        return verdict.rule_for(artifact.get("precision", "fp32"))
    known = set(verdict.Rule.__dataclass_fields__)
    return verdict.Rule(**{k: v for k, v in recorded.items() if k in known})


def reverify(bundle: Bundle, progress: Progress | None = None) -> dict:
    """`mobilekit verify` by the bundle's task (translation decodes its sentences again)."""
    return tasks.get(bundle.manifest.get("task", "")).reverify(bundle, progress or Silent())


def reverify_tensors(bundle: Bundle, progress: Progress) -> dict:
    """A single-graph tensor bundle: each verified artifact on the golden inputs, by the rule it was judged with."""
    ins, refs = load_golden(bundle)
    m = bundle.manifest
    classifier = m["outputs"][0]["name"] if (m["task"] == "image_classification" or m["outputs"][0].get("labels")) else None
    report: dict[str, dict] = {}
    failed = []
    for a in bundle.artifacts:
        label = f"{a['target']}/{a['variant']}"
        if a["status"] != "verified":
            report[label] = {"status": "skipped", "reason": a.get("status_reason") or a.get("error", "")}
            continue
        rec = ArtifactRecord.from_dict(a)
        try:
            run = targets.get(a["target"]).runner(rec, bundle.path)
        except Unverifiable as exc:
            report[label] = {"status": "skipped", "reason": str(exc)}
            continue
        rule = recorded_rule(a)
        figures = verdict.compare(refs, [run(s) for s in ins], classifier_output=classifier, rule=rule)
        broken = verdict.failures(figures, rule)
        then = a.get("parity") or {}
        report[label] = {"status": "failed" if broken else "ok", "max_abs": figures["max_abs"], "cosine": figures["cosine"],
                         "snr_db": figures["snr_db"], "export_snr_db": then.get("snr_db"), "failures": broken,
                         "flipped_samples": figures.get("flipped_samples", [])}
        if broken:
            moved = f" (at export: SNR {then['snr_db']:.1f} dB)" if isinstance(then.get("snr_db"), (int, float)) else ""
            failed.append(f"{label}: " + "; ".join(broken) + moved)
            progress.warn(f"{label}: " + "; ".join(broken) + moved)
        else:
            progress.done(f"verify {label}", f"SNR {figures['snr_db']:.1f} dB, max abs {figures['max_abs']:.2g}")
    if failed:
        raise VerifyFailed(failed, report)
    return report
