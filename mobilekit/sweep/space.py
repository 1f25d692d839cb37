"""The `[sweep]` config section and the candidates it spans (targets × variants × pruning).

Light on purpose: config.py imports it, and `mobilekit --help` must stay instant.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Literal

from ..errors import ConfigError

_SELECT = re.compile(r"^\s*(smallest|fastest|most accurate)(?:\s+within\s+([0-9.]+)\s*pts?)?\s*$")


@dataclass
class SweepConfig:
    """What to search. Palettization bits are Core ML variants (`palettize-4`, `palettize-6`), so
    they are listed under `targets.coreml` like any other variant."""

    targets: dict[str, list[str]] = field(default_factory=dict)  # target → variants; empty = the config's own
    prune: list[float] = field(default_factory=list)  # channel-pruning amounts to try; 0 = unpruned
    sampler: Literal["grid", "random"] = "grid"
    trials: int | None = None  # budget: at most this many candidates (all of the grid when unset)
    seed: int = 0
    select: str = "smallest within 0.5 pt"
    output_dir: str = "sweep"
    workers: int | None = None  # local executor: processes; None = sized to the machine
    bench_runs: int = 20  # host bench runs per trial; 0 = use the p50 measured while verifying

    def check(self, key: str) -> None:
        k = f"{key}." if key else ""
        for t, variants in self.targets.items():
            if not variants:
                raise ConfigError(f"{k}targets.{t}", "is empty", hint="List at least one variant to try.")
        for i, a in enumerate(self.prune):
            if not 0.0 <= a < 1.0:
                raise ConfigError(f"{k}prune[{i}]", f"must be in [0, 1), got {a}", hint="Give fractions of channels to remove, e.g. [0, 0.25, 0.5].")
        if self.trials is not None and self.trials < 1:
            raise ConfigError(f"{k}trials", f"must be >= 1, got {self.trials}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"{k}workers", f"must be >= 1, got {self.workers}")
        if self.bench_runs < 0:
            raise ConfigError(f"{k}bench_runs", f"must be >= 0, got {self.bench_runs}")
        parse_select(self.select, f"{k}select")


@dataclass(frozen=True)
class Candidate:
    target: str
    variant: str
    prune: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.target}/{self.variant}" + (f"+prune{self.prune:g}" if self.prune else "")

    def to_dict(self) -> dict:
        return {"target": self.target, "variant": self.variant, "prune": self.prune}


def parse_select(rule: str, key: str = "sweep.select") -> tuple[str, float | None]:
    """`smallest within 0.5 pt` → ("smallest", 0.5); `most accurate` → ("most accurate", None)."""
    m = _SELECT.match(rule)
    if not m:
        raise ConfigError(key, f"cannot read the pick rule {rule!r}",
                          hint='Write "smallest within 0.5 pt", "fastest within 1 pt" or "most accurate".')
    return m.group(1), float(m.group(2)) if m.group(2) else None


def grid(sweep: SweepConfig, targets: list[str], variants_of: dict[str, list[str]]) -> list[Candidate]:
    """Every candidate, in a stable order (targets, then variants, then pruning amounts)."""
    space = sweep.targets or {t: variants_of.get(t) or ["fp32"] for t in targets}
    amounts = sweep.prune or [0.0]
    return [Candidate(t, v, float(a)) for (t, vs) in space.items() for v, a in itertools.product(vs, amounts)]
