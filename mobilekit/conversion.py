"""Conversion shared by every task: the converter versions, one worker job per target, and
starting the workers (ONNX first where other targets convert from it).

Tasks (the classification pipeline, translation) call `convert_all` with their own spec and
captured program; nothing here knows a task or a particular target.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .capture import Captured
from .config import ExportConfig
from .errors import CheckError
from .progress import Progress
from .spec import ModelSpec
from .targets import base as targets
from .targets.base import ConvertJob
from .worker import RunningWorker, WorkerResult


class ExportFailed(CheckError):
    """Some artifacts failed conversion or checks; the bundle was written with the failures recorded."""

    def __init__(self, bundle, lines: list[str]):
        super().__init__("; ".join(lines))
        self.bundle = bundle
        self.lines = lines

    def one_line(self) -> str:
        n = len(self.bundle.failures)
        return f"{n} artifact(s) failed; bundle written to {self.bundle.path} with the failures recorded"


def versions(tgts: dict) -> dict:
    v = {"mobilekit": __version__, "torch": targets.package_version("torch")}
    for tg in tgts.values():
        v.update({k: val for k, val in tg.converter_versions().items() if val})
    return v


def job(name: str, cfg: ExportConfig, spec: ModelSpec, captured: Captured, bundle_dir: Path, work: Path,
         onnx: Path | None, cal: Path | None, versions: dict) -> ConvertJob:
    return ConvertJob(
        target=name,
        program=str(captured.program),
        spec=spec.to_dict(),
        options=targets.options_dict(cfg.options(name)) if name in cfg.target_options else {},
        bundle_dir=str(bundle_dir),
        work_dir=str(work / name),
        onnx=str(onnx) if onnx else None,
        calibration=str(cal) if cal else None,
        versions=versions,
    )


def _onnx_provider() -> str:
    """The registered target that writes the fp32 ONNX file the `needs_onnx` targets convert from."""
    from .errors import InternalError

    found = [n for n in targets.names() if targets.get(n).provides_onnx]
    if len(found) != 1:
        raise InternalError(f"{len(found)} registered targets provide the ONNX the others convert from: {found}")
    return found[0]


def convert_all(cfg, spec, tgts, captured, bundle_dir: Path, work: Path, cal: Path | None, progress: Progress,
                variants: dict[str, list[str]] | None = None,
                on_result: Callable[[WorkerResult], None] | None = None) -> list[WorkerResult]:
    """Start every target in its own worker; those that start from ONNX wait for it. `variants`:
    targets that convert only these of their variants (a retry; the rest were kept), each with
    its own log so the kept artifacts' log stays theirs. `on_result(result)` is called on each
    target's result as soon as it is in and the workers that wait for it are started, so what
    it does (the task's checks) runs while the others convert."""
    variants = variants or {}
    unchecked: list[WorkerResult] = []

    def hand_over() -> None:
        while on_result is not None and unchecked:
            on_result(unchecked.pop(0))
    vers = versions(tgts)
    logs = bundle_dir / "logs"
    first = [n for n, tg in tgts.items() if not tg.needs_onnx]
    later = [n for n, tg in tgts.items() if tg.needs_onnx]
    onnx_path = None
    results: list[WorkerResult] = []
    running: list[RunningWorker] = []

    def start(name: str, out_dir: Path, onnx: Path | None) -> RunningWorker:
        progress.stage("convert", name)
        jb = job(name, cfg, spec, captured, out_dir, work, onnx, cal, vers)
        if name in variants:
            jb.options = {**jb.options, "variants": variants[name]}
        return RunningWorker(jb, logs / (f"{name}.retry.log" if name in variants else f"{name}.log"), cfg.timeout_for(name))

    def finish(w: RunningWorker) -> WorkerResult:
        r = w.wait()
        if r.error:
            progress.warn(f"{r.target}: {r.error}")
        else:
            bad = sum(1 for rec in r.records if rec.error)
            progress.done(f"convert {r.target}", f"{len(r.records) - bad} artifact(s) in {r.seconds:.1f} s"
                                                 + (f", {bad} variant(s) failed" if bad else ""))
        if r.target in tgts:
            unchecked.append(r)
        return r

    src = _onnx_provider() if later else None  # the target whose fp32 file the `needs_onnx` ones convert
    if src is not None and src not in tgts:
        reusable = bundle_dir / targets.get(src).base_file  # an unchanged fp32 ONNX reused from the last bundle
        if reusable.exists():
            onnx_path = reusable
        else:  # the ONNX-based targets need an fp32 ONNX even when the user did not ask for one
            base = job(src, cfg, spec, captured, work / f"{src}-base", work, None, None, vers)
            base.options = targets.get(src).base_options()
            r = RunningWorker(base, logs / f"{src}-base.log", cfg.timeout).wait()
            if r.error:
                return [WorkerResult(n, [], f"the ONNX it starts from failed: {r.error}", r.log, r.seconds) for n in tgts]
            onnx_path = work / f"{src}-base" / r.records[0].path

    order = [src] + [n for n in first if n != src] if src in first else first
    for name in order:
        running.append(start(name, bundle_dir, None))
        if not cfg.parallel:
            results.append(finish(running.pop()))
            hand_over()
    if src is not None and src in tgts:
        onnx_worker = next((w for w in running if w.job.target == src), None)
        onnx_result = finish(onnx_worker) if onnx_worker else next(r for r in results if r.target == src)
        if onnx_worker:
            running.remove(onnx_worker)
            results.append(onnx_result)
        if not onnx_result.error:
            onnx_path = bundle_dir / onnx_result.records[0].path
    try:
        for name in later:
            if onnx_path is None:
                results.append(WorkerResult(name, [], "skipped: the ONNX model it converts from failed", logs / f"{src}.log", 0.0))
                unchecked.append(results[-1])
                continue
            running.append(start(name, bundle_dir, onnx_path))
            if not cfg.parallel:
                results.append(finish(running.pop()))
                hand_over()
        hand_over()  # ONNX's result, now that the targets converting from it run
        while running:  # whichever finishes first is handed over first
            w = next((w for w in running if w.finished()), None)
            if w is None:
                time.sleep(0.05)
                continue
            running.remove(w)
            results.append(finish(w))
            hand_over()
    finally:
        for w in running:
            w.stop()
    rank = {n: i for i, n in enumerate(cfg.targets)}
    return sorted(results, key=lambda r: rank.get(r.target, 99))
