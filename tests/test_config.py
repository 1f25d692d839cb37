import pytest

from mobilekit import config
from mobilekit.errors import ConfigError, UserError


def base(**extra):
    d = {"name": "m", "inputs": [{"name": "x", "shape": [1, 4]}], "outputs": [{"name": "y"}]}
    d.update(extra)
    return d


def test_valid_config_gets_defaults_and_target_options():
    cfg = config.resolve(base(targets=["onnx"], onnx={"opset": 17}))
    assert cfg.inputs[0].dtype == "float32"
    assert cfg.options("onnx").opset == 17
    assert cfg.verify.tolerances == {} and cfg.verify.samples == 32  # the rule's own limits (verify/verdict.py)


@pytest.mark.parametrize(
    "data, key, words",
    [
        (base(colour="red"), "colour", "unknown key"),
        (base(inputs=[{"name": "x", "shape": [1, 4], "dtyp": "float32"}]), "inputs[0].dtyp", "unknown key"),
        (base(inputs=[{"name": "x", "shape": "1,4"}]), "inputs[0].shape", "expected a list of an integer"),
        (base(inputs=[{"name": "x", "shape": [1, 0]}]), "inputs[0].shape[1]", "must be >= 1"),
        (base(inputs=[{"name": "x", "shape": [1, 4], "dtype": "float64"}]), "inputs[0].dtype", "expected one of"),
        (base(targets=["onnx", "android"]), "targets[1]", "unknown target"),
        (base(verify={"samples": "many"}), "verify.samples", "expected an integer"),
        (base(onnx={"opset": 5}), "onnx.opset", "between 17 and 23"),
        (base(onnx={"opsett": 18}), "onnx.opsett", "unknown key"),
        (base(name="../evil"), "name", "not usable as a folder name"),
        (base(inputs=[{"name": "x", "shape": [1, 3, 8, 8], "preprocessing": {"mean": [0.5], "std": [1.0, 1.0, 1.0]}}]),
         "inputs[0].preprocessing.std", "mean has 1"),
        (base(timeout=-1), "timeout", "positive"),
    ],
)
def test_bad_config_names_the_key(data, key, words):
    with pytest.raises(ConfigError) as err:
        config.resolve(data)
    assert err.value.key == key
    assert words in err.value.one_line()
    assert "\n" not in err.value.one_line()


def test_flags_override_file(tmp_path):
    (tmp_path / "mobilekit.toml").write_text('name = "from-file"\n[[inputs]]\nname = "x"\nshape = [1, 2]\n')
    raw = config.load(cwd=tmp_path)
    cfg = config.resolve(raw, {"name": "from-flag", "output_dir": None})
    assert cfg.name == "from-flag"
    assert cfg.base_dir == str(tmp_path)


def test_pyproject_section_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.mobilekit]\nname = "pp"\n')
    assert config.load(cwd=tmp_path)["name"] == "pp"


def test_broken_toml_is_one_line(tmp_path):
    p = tmp_path / "mobilekit.toml"
    p.write_text("name = \n")
    with pytest.raises(UserError) as err:
        config.load(p)
    assert "not valid TOML" in err.value.one_line()


def test_resolve_roundtrips_an_export_config_with_overrides():
    cfg = config.resolve(base(onnx={"opset": 19}))
    again = config.resolve(cfg, {"name": "other"})
    assert again.name == "other" and again.options("onnx").opset == 19


def test_preset_picks_variants_and_a_target_section_overrides_it():
    cfg = config.resolve(base(compression={"preset": "int8"}))
    assert cfg.options("onnx").variants == ["fp32", "int8"]
    cfg = config.resolve(base(compression={"preset": "int8"}, onnx={"variants": ["fp16"]}))
    assert cfg.options("onnx").variants == ["fp16"]
    with pytest.raises(ConfigError) as err:
        config.resolve(base(compression={"preset": "tiny"}))
    assert err.value.key == "compression.preset"


def test_metric_budget_without_eval_data_is_refused():
    with pytest.raises(ConfigError) as err:
        config.resolve(base(budgets={"max_metric_drop": 1.0}))
    assert err.value.key == "budgets.max_metric_drop" and "eval.data" in err.value.one_line()


def test_translation_needs_a_tokenizer_unless_the_source_is_an_hf_folder():
    base = {"name": "t", "task": "translation", "translation": {"data": "held_out.txt"},
            "inputs": [{"name": "source_ids", "shape": [1, 8], "dtype": "int64"}]}
    assert config.from_dict({**base, "source": "hf:models/opus"}).translation.tokenizer is None  # the folder's tokenizer.json
    with pytest.raises(ConfigError, match="translation.tokenizer"):
        config.from_dict({**base, "source": "mymodels.net:build"})


def test_an_unknown_task_names_the_registered_ones(tmp_path):
    import tiny_models

    with pytest.raises(ConfigError) as err:
        config.resolve(tiny_models.config(tmp_path, task="detection"))
    assert "`task`: unknown task 'detection'" in err.value.one_line()
    assert "image_classification" in err.value.one_line() and "translation" in err.value.one_line()
