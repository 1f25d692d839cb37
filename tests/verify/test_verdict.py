"""The one verification rule: scale-aware, NaN never passes, degenerate references reported."""

import numpy as np
import pytest

from mobilekit.verify import verdict


def _samples(arr):
    return [{"y": a[None]} for a in arr]


def _logits(n=32, classes=10, scale=1.0, seed=0):
    return np.random.default_rng(seed).standard_normal((n, classes)) * scale


@pytest.mark.parametrize("scale", [1e-3, 1.0, 12.0, 1e4])
def test_fp32_rounding_passes_at_every_scale(scale):
    ref = _logits(scale=scale)
    got = (ref.astype(np.float32) * (1 + np.float32(3e-7))).astype(np.float32)  # a few ulps of fp32
    fig = verdict.compare(_samples(ref), _samples(got), classifier_output="y", rule=verdict.RULES["fp32"])
    assert verdict.failures(fig, verdict.RULES["fp32"]) == []
    assert fig["snr_db"] > 100


@pytest.mark.parametrize("scale", [1e-3, 1.0, 12.0, 1e4])
def test_a_ten_percent_error_fails_int8_at_every_scale(scale):
    ref = _logits(scale=scale)
    noise = np.random.default_rng(1).standard_normal(ref.shape) * ref.std() * 0.35  # SNR ≈ 9 dB
    fig = verdict.compare(_samples(ref), _samples(ref + noise), classifier_output="y", rule=verdict.RULES["int8"])
    assert any("SNR" in line for line in verdict.failures(fig, verdict.RULES["int8"]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_artifact_output_fails_every_precision(bad):
    ref = _logits()
    got = ref.copy()
    got[3, 4] = bad
    for cls, rule in verdict.RULES.items():
        fig = verdict.compare(_samples(ref), _samples(got), classifier_output="y", rule=rule)
        lines = verdict.failures(fig, rule)
        assert lines and "at sample 3" in lines[0], (cls, lines)
        assert not fig["finite"]


def test_nan_everywhere_is_not_a_match():
    ref = _logits()
    fig = verdict.compare(_samples(ref), _samples(np.full_like(ref, np.nan)), classifier_output="y", rule=verdict.RULES["int8"])
    assert verdict.failures(fig, verdict.Rule())  # even a rule with no limits fails on NaN


@pytest.mark.parametrize("make, words", [
    (lambda: np.zeros((32, 10)), "constant"),
    (lambda: np.ones((32, 10)) * 3 + np.random.default_rng(0).standard_normal((1, 10)), "barely depends"),
    (lambda: np.ones((32, 10)) * 50 + 1e-9 * np.random.default_rng(0).standard_normal((32, 10)), "barely depends"),
])
def test_degenerate_references_are_reported(make, words):
    problems = verdict.reference_problems(_samples(make()))
    assert problems and words in problems[0]


def test_nan_reference_is_reported_with_where():
    ref = _logits()
    ref[5, 2] = np.nan
    problems = verdict.reference_problems(_samples(ref))
    assert problems and "nan" in problems[0] and "sample 5" in problems[0]


def test_a_constant_side_output_beside_real_logits_is_not_degenerate():
    refs = [{"logits": l[None], "anchors": np.arange(4.0)[None]} for l in _logits()]
    assert verdict.reference_problems(refs) == []


def test_offset_dominated_output_is_judged_on_its_input_dependent_part():
    # 100 + small signal: raw SNR would be ~70 dB for an artifact that lost the signal entirely
    signal = _logits(scale=0.5)
    ref = 100 + signal
    lost = np.full_like(ref, 100.0) + signal.mean(axis=0)
    fig = verdict.compare(_samples(ref), _samples(lost), classifier_output=None, rule=verdict.RULES["fp16"])
    assert fig["snr_db"] < 1
    assert verdict.failures(fig, verdict.RULES["fp16"])


def test_a_near_tie_flip_is_a_tie_not_a_failure():
    ref = _logits()
    ref[0, :2] = [5.0, 5.0 - 1e-4]  # torch itself can hardly choose
    got = ref.copy()
    got[0, :2] = [5.0 - 1e-4, 5.0]
    fig = verdict.compare(_samples(ref), _samples(got), classifier_output="y", rule=verdict.RULES["int8"])
    assert fig["top1_agreement"] < 1 and fig["ties"] >= 1 and fig["flipped_samples"] == []
    assert not any("top-1" in line for line in verdict.failures(fig, verdict.RULES["int8"]))


def test_a_decisive_flip_fails_fp32():
    ref = _logits()
    got = ref.copy()
    i = int(ref[7].argmax())
    got[7, i] = ref[7].min() - 1
    fig = verdict.compare(_samples(ref), _samples(got), classifier_output="y", rule=verdict.RULES["fp32"])
    assert fig["flipped_samples"] == [7]
    assert any("top-1 agreement" in line for line in verdict.failures(fig, verdict.RULES["fp32"]))


def test_one_flip_in_32_does_not_fail_int8_but_four_do():
    ref = _logits()
    one, four = ref.copy(), ref.copy()
    for k, arr in ((1, one), (4, four)):
        for i in range(k):
            arr[i] = ref[i][::-1]  # another class wins, decisively
    rule = verdict.RULES["int8"]
    one_fig = verdict.compare(_samples(ref), _samples(one), classifier_output="y", rule=rule)
    four_fig = verdict.compare(_samples(ref), _samples(four), classifier_output="y", rule=rule)
    assert not any("top-1" in line for line in verdict.failures(one_fig, verdict.Rule(min_top1_agreement=0.9)))
    assert any("top-1" in line for line in verdict.failures(four_fig, verdict.Rule(min_top1_agreement=0.9)))


def test_precision_classes():
    assert [verdict.precision_class(p) for p in ("fp32", "fp16", "int8-dynamic", "int4", "lut6", "fp16-sparse", "palettize-4")] == \
        ["fp32", "fp16", "int8", "int8", "int8", "fp16", "int8"]


def test_user_overrides_apply_to_the_class_only():
    rule = verdict.rule_for("int8-dynamic", {"int8": {"min_snr_db": 20.0, "max_abs": None}})
    assert rule.min_snr_db == 20.0 and rule.min_cosine == verdict.RULES["int8"].min_cosine
    assert verdict.rule_for("fp32", {"int8": {"min_snr_db": 1.0}}) == verdict.RULES["fp32"]


def test_sequence_near_tie_counts_as_match_but_a_real_difference_does_not():
    logits = np.zeros((3, 50))
    logits[:, 7] = 10.0
    logits[1, 9] = 10.0 - 1e-3  # step 1 is a near-tie for torch
    tie = verdict.sequence_judgement([7, 7, 2], [7, 9, 2], verdict.step_margins(logits), "int8-dynamic")
    assert tie["outcome"] == "tie" and tie["step"] == 1
    real = verdict.sequence_judgement([7, 7, 2], [7, 7, 9], verdict.step_margins(logits), "int8-dynamic")
    assert real["outcome"] == "different" and real["step"] == 2
    v = verdict.token_exact_verdict([tie, real, {"outcome": "exact"}], need=0.95)
    assert v["ties"] == 1 and not v["passed"] and v["token_exact"] == pytest.approx(1 / 3)
