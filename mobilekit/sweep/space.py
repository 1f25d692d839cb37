"""The `[sweep]` config section and the candidates it spans (targets × variants × palettization
bits × pruning amounts × distillation on/off).

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
    """What to search. Palettization bits become the Core ML variants `palettize-N` (what the
    coreml target offers); distillation trains the pruned model against the source model with
    `compression.distill` (its `data` must be set), so it only applies to pruned candidates."""

    targets: dict[str, list[str]] = field(default_factory=dict)  # target → variants; empty = the config's own
    palettize_bits: list[int] = field(default_factory=list)  # adds coreml `palettize-N` variants
    prune: list[float] = field(default_factory=list)  # channel-pruning amounts to try; 0 = unpruned
    distill: list[bool] = field(default_factory=list)  # [false, true]: each pruned candidate without and with distillation
    sampler: Literal["grid", "random", "tpe"] = "grid"
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
        for i, b in enumerate(self.palettize_bits):
            if b not in PALETTIZE_BITS:
                raise ConfigError(f"{k}palettize_bits[{i}]", f"must be one of {', '.join(map(str, PALETTIZE_BITS))}, got {b}",
                                  hint="Core ML palettizes weights to 1, 2, 3, 4, 6 or 8 bits.")
        if self.distill and not any(self.prune):
            raise ConfigError(f"{k}distill", "needs a pruned candidate: `sweep.prune` has no amount > 0",
                              hint="The pruned model is the student; add an amount, e.g. prune = [0, 0.5].")
        for i, a in enumerate(self.prune):
            if not 0.0 <= a < 1.0:
                raise ConfigError(f"{k}prune[{i}]", f"must be in [0, 1), got {a}", hint="Give fractions of channels to remove, e.g. [0, 0.25, 0.5].")
        if self.sampler == "tpe" and self.trials is None:
            raise ConfigError(f"{k}trials", "is required with sampler = \"tpe\"", hint="Set the trial budget, e.g. trials = 12.")
        if self.trials is not None and self.trials < 1:
            raise ConfigError(f"{k}trials", f"must be >= 1, got {self.trials}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"{k}workers", f"must be >= 1, got {self.workers}")
        if self.bench_runs < 0:
            raise ConfigError(f"{k}bench_runs", f"must be >= 0, got {self.bench_runs}")
        parse_select(self.select, f"{k}select")


PALETTIZE_BITS = (1, 2, 3, 4, 6, 8)  # the coreml target's palettize-N variants


@dataclass(frozen=True)
class Candidate:
    target: str
    variant: str
    prune: float = 0.0
    distill: bool = False

    @property
    def label(self) -> str:
        return label(self.to_dict())

    def to_dict(self) -> dict:
        return {"target": self.target, "variant": self.variant, "prune": self.prune, "distill": self.distill}


def label(c: dict) -> str:
    """`onnx/int8+prune0.5+kd` from a row's candidate (rows written before `distill` lack it)."""
    return (f"{c['target']}/{c['variant']}" + (f"+prune{c['prune']:g}" if c["prune"] else "")
            + ("+kd" if c.get("distill") else ""))


def parse_select(rule: str, key: str = "sweep.select") -> tuple[str, float | None]:
    """`smallest within 0.5 pt` → ("smallest", 0.5); `most accurate` → ("most accurate", None)."""
    m = _SELECT.match(rule)
    if not m:
        raise ConfigError(key, f"cannot read the pick rule {rule!r}",
                          hint='Write "smallest within 0.5 pt", "fastest within 1 pt" or "most accurate".')
    return m.group(1), float(m.group(2)) if m.group(2) else None


def variants(sweep: SweepConfig, targets: list[str], variants_of: dict[str, list[str]]) -> dict[str, list[str]]:
    """target → the variants to try: `sweep.targets` (else the config's own), with coreml's
    `palettize-N` for each of `sweep.palettize_bits` added."""
    space = {t: list(vs) for t, vs in (sweep.targets or {t: variants_of.get(t) or ["fp32"] for t in targets}).items()}
    if sweep.palettize_bits:
        cm = space.setdefault("coreml", [])
        cm += [f"palettize-{b}" for b in sweep.palettize_bits if f"palettize-{b}" not in cm]
    return space


def grid(sweep: SweepConfig, targets: list[str], variants_of: dict[str, list[str]]) -> list[Candidate]:
    """Every candidate, in a stable order (targets, variants, pruning amounts, distillation).
    Distillation pairs only with pruned candidates: an unpruned model has no student to train."""
    amounts = sweep.prune or [0.0]
    kd = sweep.distill or [False]
    return [Candidate(t, v, float(a), bool(d)) for (t, vs) in variants(sweep, targets, variants_of).items()
            for v, a, d in itertools.product(vs, amounts, kd) if a or not d]
