"""`mobilekit init` writes a config that `mobilekit export` uses unchanged, and a workflow."""

import pytest
import yaml
from click.testing import CliRunner

from conftest import TESTS
from mobilekit.cli import main


@pytest.fixture
def model_repo(tmp_path, monkeypatch):
    (tmp_path / "tiny_models.py").write_text((TESTS / "tiny_models.py").read_text())
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "my-model"\nversion = "0.1"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


ARGS = ["init", "--name", "tiny", "--factory", "tiny_models:build", "--input-shape", "1,3,8,8", "--target", "onnx"]


@pytest.mark.slow
def test_init_then_export_uses_the_config_unchanged(model_repo):
    result = CliRunner().invoke(main, ARGS)
    assert result.exit_code == 0, result.output
    text = (model_repo / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "my-model"')  # the user's table is kept
    assert "[tool.mobilekit]" in text and "# mobilekit:" in text
    workflow = yaml.safe_load((model_repo / ".github/workflows/mobilekit.yml").read_text())
    steps = [s.get("name") or s.get("uses") for s in workflow["jobs"]["export"]["steps"]]
    assert steps[:2] == ["actions/checkout@v4", "actions/setup-python@v5"]
    for expected in ("Install", "Export and verify", "Benchmark on the runner", "Report summary", "Upload the bundle"):
        assert expected in steps
    run_lines = " ".join(s.get("run", "") for s in workflow["jobs"]["export"]["steps"])
    assert "mobilekit export" in run_lines and "mobilekit bench dist/tiny" in run_lines and "GITHUB_STEP_SUMMARY" in run_lines

    result = CliRunner().invoke(main, ["export"])
    assert result.exit_code == 0, result.output
    assert "onnx/fp16" in result.output and "verified" in result.output


def test_second_init_refuses_and_force_replaces(model_repo):
    assert CliRunner().invoke(main, ARGS).exit_code == 0
    before = (model_repo / "pyproject.toml").read_text()
    result = CliRunner().invoke(main, ARGS)
    assert result.exit_code == 2 and "already has a [tool.mobilekit] section" in result.stderr
    assert (model_repo / "pyproject.toml").read_text() == before
    result = CliRunner().invoke(main, ARGS[:2] + ["other"] + ARGS[3:] + ["--force"])
    assert result.exit_code == 0
    text = (model_repo / "pyproject.toml").read_text()
    assert text.count("[tool.mobilekit]") == 1 and 'name = "other"' in text


def test_missing_answers_without_a_terminal(model_repo):
    result = CliRunner().invoke(main, ["init", "--name", "x"])
    assert result.exit_code == 2 and "--factory is required" in result.stderr


def test_any_registered_target_can_be_chosen_and_its_extra_is_installed_in_ci(model_repo):
    args = ARGS[:-2] + ["--target", "onnx", "--target", "executorch"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert 'targets = ["onnx", "executorch"]' in (model_repo / "pyproject.toml").read_text()
    workflow = (model_repo / ".github/workflows/mobilekit.yml").read_text()
    assert "mobilekit[executorch,report]" in workflow  # onnx is in the core install: no extra


def test_an_unknown_target_is_one_line_exit_2_and_writes_nothing(model_repo):
    before = (model_repo / "pyproject.toml").read_text()
    result = CliRunner().invoke(main, ARGS[:-1] + ["tensorrt"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[0].startswith("error: --target tensorrt: no such target")
    assert "executorch" in result.stderr  # the hint lists what exists
    assert (model_repo / "pyproject.toml").read_text() == before
    assert not (model_repo / ".github").exists()
