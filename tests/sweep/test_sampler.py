"""The samplers on a made-up space (Optuna's real TPE; the figures are a known function of the
candidate, so no export is needed to see what the sampler asks for)."""

from dataclasses import dataclass

import pytest

from mobilekit.sweep import sampler
from mobilekit.sweep.space import Candidate, SweepConfig, grid


@dataclass
class _T:
    candidate: Candidate
    fingerprint: str


SPACE = SweepConfig(targets={"onnx": ["fp32", "fp16", "int8"], "tflite": ["fp32", "int8"]},
                    palettize_bits=[4, 6], prune=[0, 0.25, 0.5], distill=[False, True])
TRIALS = [_T(c, f"{i:064x}") for i, c in enumerate(grid(SPACE, [], {}))]
SIZE = {"fp32": 250, "fp16": 130, "int8": 70, "palettize-6": 60, "palettize-4": 45}


def _row(t, failed=False):
    c = t.candidate
    drop = {"palettize-4": 2.0}.get(c.variant, 0.0) + (c.prune * 3 if not c.distill else c.prune)
    return {"fingerprint": t.fingerprint, "status": "failed" if failed else "ok",
            "figures": {} if failed else {"metric_drop_pt": drop, "size_bytes": SIZE[c.variant] * (1 - c.prune)}}


def _run(seed, budget, width=2, fail=lambda t: False, trials=TRIALS):
    s = sampler.TPE(trials, budget, seed, "smallest within 0.5 pt")
    order = []
    while batch := s.ask(width):
        order += batch
        for t in batch:
            s.tell(_row(t, failed=fail(t)))
    return order


def test_tpe_asks_the_budget_in_distinct_new_trials_and_repeats_for_a_seed():
    assert len(TRIALS) == 35  # 5 target/variants × (3 unpruned-or-not amounts + 2 distilled)
    a = _run(seed=3, budget=12)
    assert len(a) == 12 and len({t.fingerprint for t in a}) == 12
    assert [t.fingerprint for t in _run(seed=3, budget=12)] == [t.fingerprint for t in a]
    assert [t.fingerprint for t in _run(seed=4, budget=12)] != [t.fingerprint for t in a]


def test_tpe_covers_the_whole_space_when_the_budget_allows_and_goes_on_after_failures():
    some = [t for t in TRIALS if t.candidate.target == "tflite" or t.candidate.variant == "int8"]
    every = _run(seed=0, budget=100, width=3, fail=lambda t: t.candidate.target == "tflite", trials=some)
    assert len(some) == 15 and sorted(t.fingerprint for t in every) == sorted(t.fingerprint for t in some)


def test_tpe_leans_to_the_frontier_after_its_random_start():
    # after 12 random-ish trials the 12 asked next should be better than 12 drawn at random
    def score(ts):
        return sum(1 for t in ts if _row(t)["figures"]["metric_drop_pt"] <= 0.5)

    picked = [score(_run(seed, 24)[12:]) for seed in range(3)]
    drawn = [score(sampler.fixed(TRIALS, "random", 12, seed)) for seed in range(3)]
    assert sum(picked) > sum(drawn), (picked, drawn)


def test_grid_and_random_keep_the_budget():
    assert sampler.fixed(TRIALS, "grid", 4, 0) == TRIALS[:4]
    r = sampler.fixed(TRIALS, "random", 5, 1)
    assert len({t.fingerprint for t in r}) == 5 and r == sampler.fixed(TRIALS, "random", 5, 1)
    assert len(sampler.fixed(TRIALS, "random", None, 1)) == len(TRIALS)
