"""Torch-level compression inside `mobilekit export` and `mobilekit distill`: the pruned and
distilled digits model exported to all three targets, budgets, and the errors around it."""

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mobilekit import config as config_mod
from mobilekit.cli import main
from mobilekit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PRUNED = ROOT / "examples" / "digits_pruned" / "mobilekit.toml"


def pruned_config(tmp_path: Path, **changes) -> Path:
    """The shipped prune+distill example, written to tmp_path with `changes` merged in."""
    raw = tomllib.loads(PRUNED.read_text())
    for key in ("weights",):
        raw[key] = str((PRUNED.parent / raw[key]).resolve())
    raw["outputs"][0]["labels"] = str((PRUNED.parent / raw["outputs"][0]["labels"]).resolve())
    raw["output_dir"] = str(tmp_path / "dist")
    raw = config_mod.merge(raw, changes)
    path = tmp_path / "mobilekit.toml"
    path.write_text(_toml(raw))
    return path


def _toml(data: dict, prefix: str = "") -> str:
    """Enough TOML for these configs: scalars, lists of scalars, tables, arrays of tables."""
    def value(v):
        return json.dumps(v)  # strings, numbers, booleans and lists of them read back the same

    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append(f"\n[{prefix}{k}]\n" + _toml(v, f"{prefix}{k}."))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            tables.extend(f"\n[[{prefix}{k}]]\n" + _toml(item, f"{prefix}{k}.") for item in v)
        else:
            lines.append(f"{k} = {value(v)}")
    return "\n".join(lines) + "\n" + "".join(tables)


@pytest.fixture(scope="module")
def pruned_bundle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pruned")
    cfg = pruned_config(tmp)
    result = CliRunner().invoke(main, ["export", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    return tmp / "dist" / "digits-pruned", json.loads(result.stdout)


@pytest.mark.slow
def test_half_the_channels_pruned_and_distilled_meets_the_targets(pruned_bundle):
    _, m = pruned_bundle
    tc = m["torch_compression"]
    assert tc["prune"]["method"] == "channels" and tc["prune"]["amount"] == 0.5
    assert tc["macs_ratio"] <= 0.55, tc["macs_ratio"]
    assert tc["after"]["params"] < tc["before"]["params"]
    source = m["metrics"]["source"]["top1"]
    student = m["metrics"]["torch"]["top1"]
    assert source - student <= 0.01, (source, student)
    assert tc["distill"]["student_top1"] > tc["distill"]["student_top1_before"]


@pytest.mark.slow
def test_pruned_model_is_exported_to_all_three_targets(pruned_bundle):
    path, m = pruned_bundle
    by = {(a["target"], a["variant"]): a for a in m["artifacts"]}
    assert {t for t, _ in by} == {"onnx", "tflite", "coreml"}
    for key in [("onnx", "fp32"), ("onnx", "int8"), ("tflite", "fp32"), ("tflite", "int8")]:
        a = by[key]
        assert a["status"] == "verified", a
        # drops are measured from the unpruned source model; the budget is 1 point
        assert a["metrics"]["top1_drop"] <= 0.01, a["metrics"]
        assert (path / a["path"]).is_file()
    core = by[("coreml", "fp16")]
    assert core["status"] == "verified" and core["structure"]  # through the Core ML reference interpreter
    # the exported graph really is smaller: fewer weight bytes than the unpruned fp32 would need
    assert by[("onnx", "fp32")]["size_bytes"] < m["torch_compression"]["before"]["params"] * 4 * 0.5


@pytest.mark.slow
def test_budget_the_pruned_model_cannot_meet_fails_with_exit_1(tmp_path):
    # one epoch of distillation cannot bring the pruned model back within 0.0 points
    cfg = pruned_config(tmp_path, targets=["onnx"], onnx={"variants": ["fp32"]},
                        compression={"distill": {"epochs": 1}}, budgets={"max_metric_drop": 0.0})
    result = CliRunner().invoke(main, ["export", "--config", str(cfg)])
    assert result.exit_code == 1, result.output
    assert "budget max_metric_drop: onnx/fp32 lost" in result.output
    manifest = json.loads((tmp_path / "dist" / "digits-pruned" / "manifest.json").read_text())
    assert manifest["artifacts"][0]["status"] == "failed"


@pytest.mark.slow
def test_distill_command_saves_a_student_that_exports(tmp_path):
    cfg = pruned_config(tmp_path, targets=["onnx"], onnx={"variants": ["fp32"]})
    out = tmp_path / "student.pt2"
    result = CliRunner().invoke(main, ["distill", "--config", str(cfg), "--epochs", "2", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["prune"]["macs_ratio"] <= 0.55 and len(figures["losses"]) == 2
    assert out.is_file()

    # the same config would prune the already-pruned .pt2 again: refused with the fix named
    again = CliRunner().invoke(main, ["export", "--config", str(cfg), "--source", str(out)])
    assert again.exit_code == 2
    assert "compression.prune: needs the eager model" in again.output

    plain = tmp_path / "plain.toml"
    raw = tomllib.loads(cfg.read_text())
    raw.pop("compression")
    raw.pop("budgets")
    plain.write_text(_toml(raw))
    exported = CliRunner().invoke(main, ["export", "--config", str(plain), "--source", str(out), "--json"])
    assert exported.exit_code == 0, exported.output
    art = json.loads(exported.stdout)["artifacts"][0]
    assert art["status"] == "verified" and art["metrics"]["top1"] > 0.9


def test_distill_without_training_data_is_one_line_exit_2(tmp_path):
    cfg = pruned_config(tmp_path)
    raw = tomllib.loads(cfg.read_text())
    del raw["compression"]["distill"]
    cfg.write_text(_toml(raw))
    result = CliRunner().invoke(main, ["distill", "--config", str(cfg), "-o", str(tmp_path / "s.pt2")])
    assert result.exit_code == 2
    assert "compression.distill.data" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "compression, key",
    [
        ({"distill": {"data": "x.npz"}}, "compression.distill"),
        ({"distill": {"student": "pkg:f"}}, "compression.distill.student"),
        ({"prune": {"method": "channel"}}, "compression.prune.method"),
        ({"prune": {"amount": 1.0}}, "compression.prune.amount"),
        ({"distill": {"data": "x.npz", "alpha": 2}}, "compression.distill.alpha"),
    ],
)
def test_bad_compression_sections_name_the_key(compression, key):
    with pytest.raises(ConfigError) as err:
        config_mod.from_dict({"compression": compression})
    assert err.value.key == key
