"""The [sweep] section: parsed by ExportConfig, bad values refused with their key path."""

import pytest

from mobilekit import config as config_mod
from mobilekit.errors import ConfigError
from mobilekit.sweep.space import Candidate, SweepConfig, grid, parse_select


def _cfg(tmp_path, **sweep):
    import tiny_models

    return config_mod.resolve(tiny_models.config(tmp_path, targets=["onnx", "tflite"], sweep=sweep))


def test_the_section_is_parsed_and_export_ignores_it(tmp_path):
    cfg = _cfg(tmp_path, prune=[0, 0.5], sampler="random", trials=3, select="fastest within 1 pt")
    assert cfg.sweep.prune == [0.0, 0.5] and cfg.sweep.sampler == "random" and cfg.sweep.trials == 3


@pytest.mark.parametrize("sweep, key", [({"bogus": 1}, "sweep.bogus"), ({"prune": [1.5]}, "sweep.prune[0]"),
                                        ({"trials": 0}, "sweep.trials"), ({"sampler": "bayes"}, "sweep.sampler"),
                                        ({"select": "best"}, "sweep.select"), ({"targets": {"onnx": []}}, "sweep.targets.onnx")])
def test_bad_values_name_their_key(tmp_path, sweep, key):
    with pytest.raises(ConfigError) as exc:
        _cfg(tmp_path, **sweep)
    assert f"`{key}`" in exc.value.one_line()


def test_the_grid_crosses_targets_variants_and_pruning():
    sw = SweepConfig(targets={"onnx": ["fp32", "int8"], "coreml": ["palettize-6"]}, prune=[0, 0.25])
    cands = grid(sw, ["onnx"], {})
    assert len(cands) == 6
    assert Candidate("coreml", "palettize-6", 0.25) in cands
    # without sweep.targets, the config's own targets and variants are the space
    assert grid(SweepConfig(), ["onnx", "tflite"], {"onnx": ["fp32", "fp16"]}) == [
        Candidate("onnx", "fp32"), Candidate("onnx", "fp16"), Candidate("tflite", "fp32")]


def test_pick_rules_parse():
    assert parse_select("smallest within 0.5 pt") == ("smallest", 0.5)
    assert parse_select("fastest within 2 pts") == ("fastest", 2.0)
    assert parse_select("most accurate") == ("most accurate", None)


def test_palettization_bits_and_distillation_are_axes():
    sw = SweepConfig(targets={"onnx": ["int8"]}, palettize_bits=[4, 6], prune=[0, 0.5], distill=[False, True])
    cands = grid(sw, ["onnx"], {})
    # coreml gets palettize-4/-6; distillation pairs only with the pruned amount: 3 variants × 3
    assert {c.variant for c in cands if c.target == "coreml"} == {"palettize-4", "palettize-6"}
    assert len(cands) == 9
    assert Candidate("coreml", "palettize-4", 0.5, True) in cands
    assert not any(c.distill and not c.prune for c in cands)
    assert Candidate("onnx", "int8", 0.5, True).label == "onnx/int8+prune0.5+kd"


@pytest.mark.parametrize("sweep, key", [({"palettize_bits": [5]}, "sweep.palettize_bits[0]"),
                                        ({"distill": [True]}, "sweep.distill"),
                                        ({"sampler": "tpe"}, "sweep.trials")])
def test_bad_axes_name_their_key(tmp_path, sweep, key):
    with pytest.raises(ConfigError) as exc:
        _cfg(tmp_path, **sweep)
    assert f"`{key}`" in exc.value.one_line()
