"""The sweep driver: candidates → trial configs → (cached | run) rows → results.json, frontier, pick.

results.json is rewritten after every finished trial, so an interrupted sweep keeps what it did
and the next run computes only the trials whose fingerprint is not in it yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _validate
from .. import config as config_mod
from ..errors import BundleError, ConfigError, UserError
from . import devices, executors, inputs, pareto, results, sampler
from .space import Candidate, grid



@dataclass
class SweepResult:
    folder: Path
    doc: dict
    ran: int = 0  # trials computed by this run
    cached: int = 0  # trials taken from an earlier run's results.json
    winner_bundle: Any = None  # the exported Bundle when export_winner was asked

    @property
    def rows(self) -> list[dict]:
        return self.doc["trials"]

    @property
    def winner(self) -> dict | None:
        wid = self.doc["select"]["winner"]
        return next((r for r in self.rows if r["id"] == wid), None)


@dataclass
class _Trial:
    candidate: Candidate
    config: dict  # a full config dict restricted to one target and variant
    overrides: dict  # what differs from the user's config (recorded in the row)
    fingerprint: str = field(default="")
    digests: dict = field(default_factory=dict)  # config key → sha256 of the file it names


def trial_config(cfg, cand: Candidate, output_dir: str) -> tuple[dict, dict]:
    """The user's config narrowed to one candidate (one target, one variant, its pruning and
    distillation)."""
    flat = cfg.to_dict()
    sections = flat.pop("target_options")
    flat.pop("sweep", None)
    flat["budgets"] = {}  # a sweep measures every candidate; the pick rule judges them
    section = dict(sections.get(cand.target) or {})
    section["variants"] = [cand.variant]
    overrides: dict = {"targets": [cand.target], cand.target: {"variants": [cand.variant]}}
    flat.update(targets=[cand.target], output_dir=output_dir, base_dir=cfg.base_dir, **{cand.target: section})
    comp = flat.setdefault("compression", {})
    if cand.prune or cfg.sweep.prune:  # amount 0 on a searched axis: the unpruned model, not the config's own
        prune = {"method": "channels", "amount": cand.prune} if cand.prune else {"method": "none"}
        comp["prune"] = {**comp.get("prune", {}), **prune}
        overrides["compression"] = {"prune": prune}
        if not cand.prune and (comp.get("distill") or {}).get("data") and not comp["distill"].get("student"):
            comp["distill"]["data"] = None  # no pruned student to distill into
            overrides["compression"]["distill"] = {"data": None}
    if cfg.sweep.distill:  # the axis is searched: on = compression.distill as configured, off = none
        distill = comp.setdefault("distill", {})
        if cand.distill and not distill.get("data"):
            raise ConfigError("compression.distill.data", "is not set, and sweep.distill tries distillation",
                              hint="Set it to labelled training data (e.g. \"mobilekit.zoo.digits_data:train\"), or drop true from sweep.distill.")
        if not cand.distill:
            distill["data"] = None
        overrides.setdefault("compression", {})["distill"] = {"data": distill["data"]}
    return flat, overrides


def fingerprint(trial_cfg: dict, bench_runs: int, digests: dict | None = None) -> str:
    """What decides a trial's row: its config, the contents of the files and modules that config
    names (`inputs.digests`), the bench runs and the mobilekit version."""
    from .. import __version__

    parts = {k: v for k, v in trial_cfg.items() if k not in ("output_dir",)}
    return hashlib.sha256(json.dumps({"config": parts, "inputs": digests or {}, "bench_runs": bench_runs,
                                      "mobilekit": __version__}, sort_keys=True, default=str).encode()).hexdigest()


def plan(cfg) -> list[_Trial]:
    """Every candidate of the space as a checked trial config (bad variants fail here, before any trial)."""
    sw = cfg.sweep
    variants_of = {t: list(getattr(cfg.options(t), "variants", None) or []) for t in cfg.targets}
    out = []
    seen: dict = {}  # file digests shared by the trials of this plan
    for cand in grid(sw, cfg.targets, variants_of):
        flat, overrides = trial_config(cfg, cand, "trials")
        try:
            config_mod.resolve(dict(flat))
        except UserError as exc:
            raise UserError(f"sweep candidate {cand.label}: {exc.one_line()}",
                            hint="Fix `sweep.targets` / `sweep.prune` so every candidate is a valid export config.") from None
        dig = inputs.digests(flat, cfg.base_dir, seen)
        out.append(_Trial(cand, flat, overrides, fingerprint(flat, sw.bench_runs, dig), dig))
    return out


def sweep(config: Any = None, *, executor: str = "local", address: str = "auto", workers: int | None = None,
          output: str | Path | None = None, retry_failed: bool = False, export_winner: bool = False,
          on_trial: Callable[[dict, bool], None] | None = None, **overrides: Any) -> SweepResult:
    """Run the config's `[sweep]`: every sampled candidate exported, verified and timed (cached by
    fingerprint), then the Pareto frontiers and the pick rule's winner, written to
    `<sweep.output_dir>/results.json`. `export_winner=True` then exports the winner as the bundle."""
    cfg = config_mod.resolve(config, overrides)
    if executor not in ("local", "ray"):
        raise UserError(f"unknown executor {executor!r}", hint="Use --executor local or --executor ray.")
    sw = cfg.sweep
    folder = Path(output) if output else cfg.path(sw.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    trials = plan(cfg)
    old = {r["fingerprint"]: r for r in _read(folder)}
    doc = {"schema": results.SCHEMA, "name": cfg.name, "created_with": _versions(), "space": _validate.to_dict(sw),
           "executor": executor, "wall_seconds": None, "complete": False, "trials": [],
           "frontier": {"size": [], "latency": []}, "select": {"rule": sw.select, "winner": None}}
    result = SweepResult(folder, doc)
    search = sampler.TPE(trials, sw.trials, sw.seed, sw.select) if sw.sampler == "tpe" else None
    winner_dir = cfg.path(cfg.output_dir) / cfg.name  # `--export-winner`'s bundle: device results imported there count too

    def keep(row: dict) -> None:
        if search is not None:
            search.tell(row)
        devices.attach([row], folder, (winner_dir,))  # refreshed on every run: imports made since count
        _write_json(folder / row["log"].rsplit("/", 1)[0] / "result.json", row)  # the cache survives a narrower run
        doc["trials"] = [r for r in doc["trials"] if r["fingerprint"] != row["fingerprint"]] + [row]
        _finish(doc, sw.select)
        _write(folder, doc)

    def done(spec: dict, row: dict, log_text: str) -> None:
        tr = spec["_trial"]
        log = folder / "trials" / spec["id"] / "log.txt"
        if not log.exists():  # ran on another machine: the driver keeps the log
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(log_text)
        if "bundle" in row:
            row["bundle"] = os.path.relpath(row["bundle"], folder)
        row = {"id": spec["id"], "fingerprint": tr["fingerprint"], "candidate": tr["candidate"], "config": tr["overrides"],
               **row, "log": f"trials/{spec['id']}/log.txt", "executor": executor}
        result.ran += 1
        keep(row)
        if on_trial:
            on_trial(row, False)

    def reuse(t: _Trial) -> bool:
        r = old.get(t.fingerprint) or _earlier(folder, t.fingerprint)
        if r is None or (retry_failed and r["status"] == "failed"):
            return False
        result.cached += 1
        keep(r)
        if on_trial:
            on_trial(r, True)
        return True

    def specs(ts: list[_Trial]) -> list[dict]:
        out = []
        for t in ts:
            tid = t.fingerprint[:12]
            tf = dict(t.config, output_dir=str((folder / "trials" / tid).resolve()))
            out.append({"id": tid, "folder": str((folder / "trials" / tid).resolve()), "candidate": t.candidate.to_dict(),
                        "config": tf, "bench_runs": sw.bench_runs, "pythonpath": [p for p in sys.path if p],
                        "timeout": max(cfg.timeout_for(t.candidate.target), 60.0) * 2,
                        "_trial": {"fingerprint": t.fingerprint, "candidate": t.candidate.to_dict(), "overrides": t.overrides}})
        return out

    def execute(ts: list[_Trial]) -> None:
        todo = specs([t for t in ts if not reuse(t)])
        if not todo:
            return
        if executor == "ray":
            executors.run_ray(todo, address, done, shared=_shared_files(folder, trials))
        else:
            executors.run_local(todo, n_workers, done)

    n_workers = workers or sw.workers or executors.default_workers()
    t0 = time.perf_counter()
    try:
        if search is None:
            execute(sampler.fixed(trials, sw.sampler, sw.trials, sw.seed))
        else:  # TPE: a batch as wide as the pool, then the next batch asked with what it taught
            while batch := search.ask(n_workers if executor == "local" else executors.ray_width(address)):
                execute(batch)
    finally:  # also on Ctrl-C: the finished trials stay in results.json
        if executor == "ray":
            executors.stop_ray()
        doc["wall_seconds"] = round(time.perf_counter() - t0, 2)
        _finish(doc, sw.select)
        _write(folder, doc)
    doc["complete"] = True
    _write(folder, doc)
    try:
        from ..report_sweep import write_sweep_report
        from .plot import plot

        plot(doc, folder / "frontier.png")
        write_sweep_report(folder)
    except ImportError:  # matplotlib is optional: the figures are in results.json
        pass
    if export_winner:
        win = result.winner
        if win is None:
            raise UserError(f"no trial meets the pick rule {sw.select!r}", hint="Widen the rule (e.g. \"smallest within 2 pt\") or the search space.")
        from .. import api

        t = next(t for t in trials if t.fingerprint == win["fingerprint"])
        user = cfg.to_dict()  # the bundle answers to the user's own budgets again
        final = dict(t.config, output_dir=user["output_dir"], budgets=user["budgets"])
        result.winner_bundle = api.export(config=final)
    return result


def _shared_files(folder: Path, trials: list[_Trial]) -> dict:
    """What a Ray node must see at the driver's paths: the sweep folder and every input file."""
    files = {}
    for t in trials:
        for key, sha in t.digests.items():
            value = t.config
            for part in key.replace("[", ".").replace("]", "").split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
            if inputs.module_file(value) is None:  # modules come from each node's own install
                files[str((Path(t.config["base_dir"]) / Path(value).expanduser()).resolve())] = sha
    return {"folder": str(folder.resolve()), "files": files}


def _finish(doc: dict, rule: str) -> None:
    rows = sorted(doc["trials"], key=lambda r: (r["candidate"]["target"], r["candidate"]["variant"], r["candidate"]["prune"],
                                                bool(r["candidate"].get("distill"))))
    doc["trials"] = rows
    doc["frontier"] = {"size": pareto.frontier(rows, "size_bytes"), "latency": pareto.frontier(rows, "latency")}
    win = pareto.select(rows, rule)
    doc["select"] = {"rule": rule, "winner": win["id"] if win else None}


def _read(folder: Path) -> list[dict]:
    path = folder / "results.json"
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        raise BundleError(f"{path} is not valid JSON", hint="Delete it to start the sweep afresh.") from None
    results.validate(doc, str(path))
    return doc["trials"]


def _write(folder: Path, doc: dict) -> None:
    _write_json(folder / "results.json", doc)


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    tmp.replace(path)  # atomic: an interrupted write never loses the earlier trials


def _earlier(folder: Path, fp: str) -> dict | None:
    """A row from a run whose space left this trial out of results.json (trials/<id>/result.json)."""
    try:
        row = json.loads((folder / "trials" / fp[:12] / "result.json").read_text())
    except (OSError, ValueError):
        return None
    return row if row.get("fingerprint") == fp else None


def _versions() -> dict:
    from .. import __version__

    return {"mobilekit": __version__}
