"""Which candidates a sweep runs, within its trial budget: grid (in order), random (a seeded
draw), or Optuna's TPE (asked in batches, told each finished trial's objectives).

TPE searches the axes (target/variant, pruning amount, distillation) towards the pick rule's
Pareto frontier: two objectives, both minimized — metric drop and the rule's cost (file size, or
host p50 for "fastest …"). Optuna is imported only when `sampler = "tpe"`.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from typing import Any

from ..errors import UserError
from .pareto import latency
from .space import Candidate, parse_select


def fixed(trials: Sequence[Any], sampler: str, budget: int | None, seed: int) -> list:
    """Grid: the first `budget` in order. Random: a seeded draw of `budget`."""
    n = len(trials) if budget is None else min(budget, len(trials))
    if sampler == "random":
        return random.Random(seed).sample(list(trials), n)
    return list(trials[:n])


def _key(c: Candidate) -> str:
    return f"{c.target}/{c.variant}"


class TPE:
    """Ask for the next batch of new candidates; tell it the rows they gave. Candidates it asks
    for twice are told the earlier figures (finished) or dropped (still running), so every
    asked trial is a new one while unseen candidates remain."""

    def __init__(self, trials: Sequence[Any], budget: int, seed: int, rule: str) -> None:
        try:
            import optuna
        except ImportError:
            raise UserError('sweep.sampler = "tpe" needs Optuna installed',
                            hint="pip install 'mobilekit[ray]' (or use sampler = \"random\").") from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.trials = list(trials)
        self.by_cand = {t.candidate: t for t in self.trials}
        self.budget = min(budget, len(self.trials))
        self.cost = "latency" if parse_select(rule)[0] == "fastest" else "size_bytes"
        self.keys = sorted({_key(t.candidate) for t in self.trials})
        self.amounts = sorted({t.candidate.prune for t in self.trials})
        self.kd = sorted({t.candidate.distill for t in self.trials})
        with warnings.catch_warnings():  # multi-objective TPE may warn as experimental
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, self.budget // 3))
            self.study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
        self.asked: dict[str, list] = {}  # fingerprint → optuna trials waiting for its row
        self.values: dict[str, list[float] | None] = {}  # fingerprint → told objectives (None = failed)
        self.rng = random.Random(seed)

    @property
    def left(self) -> int:
        return self.budget - len(self.asked)

    def _suggest(self, ot) -> Candidate | None:
        key = ot.suggest_categorical("target_variant", self.keys)
        target, variant = key.split("/", 1)
        amount = ot.suggest_categorical("prune", self.amounts) if len(self.amounts) > 1 else self.amounts[0]
        kd = ot.suggest_categorical("distill", self.kd) if len(self.kd) > 1 and amount else False
        cand = Candidate(target, variant, amount, kd)
        return cand if cand in self.by_cand else None

    def ask(self, n: int) -> list:
        """Up to `n` trials not asked before (fewer when the budget or the space runs out)."""
        out: list = []
        tries = 0
        while len(out) < min(n, self.left) and tries < 50 * max(1, n):
            tries += 1
            ot = self.study.ask()
            cand = self._suggest(ot)
            if cand is None:  # a combination the space leaves out (e.g. distill without pruning)
                self.study.tell(ot, state=self._optuna.trial.TrialState.FAIL)
                continue
            t = self.by_cand[cand]
            if t.fingerprint in self.asked:
                self._tell_known(ot, t.fingerprint)
                continue
            self.asked[t.fingerprint] = [ot]
            out.append(t)
        while len(out) < min(n, self.left):  # TPE keeps repeating itself: take an unseen one at random
            t = self.rng.choice([t for t in self.trials if t.fingerprint not in self.asked])
            self.study.enqueue_trial(self._params(t.candidate))
            ot = self.study.ask()
            self._suggest(ot)  # the enqueued values: the study records this candidate's params
            self.asked[t.fingerprint] = [ot]
            out.append(t)
        return out

    def _params(self, c: Candidate) -> dict:
        p: dict = {"target_variant": _key(c)}
        if len(self.amounts) > 1:
            p["prune"] = c.prune
        if len(self.kd) > 1 and c.prune:
            p["distill"] = c.distill
        return p

    def _tell_known(self, ot, fp: str) -> None:
        if fp in self.values:
            v = self.values[fp]
            self.study.tell(ot, v) if v is not None else self.study.tell(ot, state=self._optuna.trial.TrialState.FAIL)
        else:  # the same candidate is still running: this ask is dropped
            self.study.tell(ot, state=self._optuna.trial.TrialState.PRUNED)

    def tell(self, row: dict) -> None:
        """A finished (or cached) row: its objectives go to every optuna trial that asked for it."""
        fp = row["fingerprint"]
        if fp not in self.asked or fp in self.values:
            return
        f = row["figures"]
        cost = latency(row) if self.cost == "latency" else f.get("size_bytes")
        ok = row["status"] != "failed" and f.get("metric_drop_pt") is not None and cost is not None
        self.values[fp] = [float(f["metric_drop_pt"]), float(cost)] if ok else None
        for ot in self.asked[fp]:
            if ok:
                self.study.tell(ot, self.values[fp])
            else:
                self.study.tell(ot, state=self._optuna.trial.TrialState.FAIL)
