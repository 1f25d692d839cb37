"""Hostile and careless configs: each gives exit 2 and one line naming the key, and nothing is
written (the folder holds only what the user put there)."""

import pytest

from adversarial.helpers import TINY, cli, error_line, snapshot, write_config

IMAGE_PRE = TINY.replace('shape = [1, 3, 8, 8]\n', 'shape = [1, 3, 8, 8]\n[inputs.preprocessing]\n{pre}\n')


def _pre(line: str) -> str:
    return IMAGE_PRE.replace("{pre}", line)


CASES = {
    # id: (config text, words the one line must hold)
    "mean_nan": (_pre("mean = [nan, 0.5, 0.5]\nstd = [0.5, 0.5, 0.5]"), ["preprocessing.mean[0]", "finite", "nan"]),
    "std_inf": (_pre("mean = [0.5, 0.5, 0.5]\nstd = [0.5, inf, 0.5]"), ["preprocessing.std[1]", "finite"]),
    "scale_inf": (_pre("mean = [0.5, 0.5, 0.5]\nstd = [0.5, 0.5, 0.5]\nscale = inf"), ["preprocessing.scale", "finite"]),
    "scale_nan": (_pre("mean = [0.5, 0.5, 0.5]\nstd = [0.5, 0.5, 0.5]\nscale = nan"), ["preprocessing.scale", "finite"]),
    "std_zero": (_pre("mean = [0.5, 0.5, 0.5]\nstd = [0.5, 0.0, 0.5]"), ["preprocessing.std[1]"]),
    "mean_std_lengths": (_pre("mean = [0.5, 0.5]\nstd = [0.5, 0.5, 0.5]"), ["preprocessing.std", "has 3 values"]),
    "shape_absurd": (TINY.replace("[1, 3, 8, 8]", "[1, 3, 100000, 100000]"), ["inputs[0].shape", "elements"]),
    "shape_zero": (TINY.replace("[1, 3, 8, 8]", "[1, 0, 8, 8]"), ["inputs[0].shape[1]", ">= 1"]),
    "name_long": (TINY.replace('name = "tiny"', 'name = "' + "n" * 250 + '"'), ["`name`", "250 bytes", "at most 200"]),
    "name_traversal": (TINY.replace('name = "tiny"', 'name = "../escape"'), ["`name`", "folder name"]),
    "name_slash": (TINY.replace('name = "tiny"', 'name = "a/b"'), ["`name`", "folder name"]),
    "targets_empty": (TINY.replace('targets = ["onnx"]', "targets = []"), ["`targets`", "empty"]),
    "target_unknown": (TINY.replace('targets = ["onnx"]', 'targets = ["tensorrt"]'), ["targets[0]", "tensorrt"]),
    "target_twice": (TINY.replace('targets = ["onnx"]', 'targets = ["onnx", "onnx"]'), ["targets", "twice"]),
    "timeout_inf": (TINY.replace("latency_runs = 0", "latency_runs = 0\ntimeout = inf"), ["timeout", "positive"]),
    "timeout_nan": (TINY.replace("latency_runs = 0", "latency_runs = 0\ntimeout = nan"), ["timeout", "positive"]),
    "tensor_name_twice": (TINY.replace('name = "logits"', 'name = "image"'), ["tensor name 'image' is used twice"]),
    "bad_toml": (TINY + "\nthis is = = not toml\n", ["not valid TOML"]),
    "not_utf8": (None, ["not valid TOML"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_config_is_one_line_and_writes_nothing(tmp_path, case):
    text, words = CASES[case]
    cfg = tmp_path / "mobilekit.toml"
    if text is None:
        cfg.write_bytes(b'name = "\xff\xfe"\n')
    else:
        cfg.write_text(text)
    before = snapshot(tmp_path)
    line = error_line(cli("export", "--config", cfg), 2)
    for w in words:
        assert w in line, line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("pyproject, words", [
    ("tool = [1, 2]\n", ["`tool` is a list, not a table"]),
    ('[tool]\nmobilekit = "digits"\n', ["`tool.mobilekit` is a str, not a table"]),
    ("[tool.black]\nline-length = 100\n", ["has no [tool.mobilekit] section"]),
])
def test_a_pyproject_whose_tool_is_not_a_table_is_one_line(tmp_path, pyproject, words):
    (tmp_path / "pyproject.toml").write_text(pyproject)
    line = error_line(cli("export", "--config", tmp_path / "pyproject.toml"), 2)
    assert all(w in line for w in words), line


def test_a_config_path_that_is_a_folder_is_one_line(tmp_path):
    (tmp_path / "mobilekit.toml").mkdir()
    result = cli("export", "--config", tmp_path / "mobilekit.toml")  # click itself refuses it
    assert result.exit_code == 2 and "is a directory" in result.output and "Traceback" not in result.output


def test_a_factory_that_calls_sys_exit_is_the_users_error(tmp_path):
    cfg = write_config(tmp_path, base=TINY.replace("tiny_models:build", "adversarial.hostile:factory_exits"))
    line = error_line(cli("export", "--config", cfg), 2)
    assert "factory_exits raised SystemExit" in line and not (tmp_path / "dist").exists()
