import json
from importlib import metadata

from click.testing import CliRunner

from mobilekit import doctor
from mobilekit.cli import main
from conftest import torch_range


def test_doctor_reports_installed_versions_and_capabilities():
    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    torch = next(p for p in data["packages"] if p["name"] == "torch")
    assert torch["version"] == metadata.version("torch") and torch["ok"]
    assert data["targets"]["onnx"] == {"convert": True, "verify": True, "missing": [], "verify_note": ""}
    coreml = data["targets"]["coreml"]  # Linux: no Core ML runtime, the reference interpreter verifies
    assert coreml["verify"] is True and "reference interpreter" in coreml["verify_note"]


def test_doctor_flags_missing_and_unsupported(monkeypatch):
    real = doctor._version
    fake = {"onnxruntime": None, "onnx": "1.19.0"}
    monkeypatch.setattr(doctor, "_version", lambda d: fake[d] if d in fake else real(d))
    data = doctor.report()
    onnx = next(p for p in data["packages"] if p["name"] == "onnx")
    assert onnx["ok"] is False
    assert data["targets"]["onnx"]["verify"] is False and "onnxruntime" in data["targets"]["onnx"]["verify_note"]
    text = "\n".join(doctor.lines(data))
    assert "!! onnx" in text and "-- onnxruntime" in text


TORCH_RANGE = torch_range()


def test_ranges_come_from_the_installed_metadata_and_pins_from_ci_txt():
    declared = doctor.declared()
    # the ranges pyproject.toml declares, as the installed metadata carries them
    assert declared["torch"] == (TORCH_RANGE, "core")
    assert {"executorch", "transformers", "ray", "optuna"} <= set(declared)
    assert declared["ray"][1] == "ray" and declared["transformers"][1] == "hf"
    pins = doctor.tested_pins()
    assert pins["torch"] == "2.13.0" and pins["executorch"] == "1.5.1"
    # every exact pin of the tested set lies inside the declared range
    for name, (spec, _) in declared.items():
        if name in pins:
            assert doctor.classify(name, pins[name], spec, pins[name])[0] == doctor.TESTED


def _fake_versions(monkeypatch, fake):
    real = metadata.version

    def version(dist):
        if dist in fake:
            if fake[dist] is None:
                raise metadata.PackageNotFoundError(dist)
            return fake[dist]
        return real(dist)

    monkeypatch.setattr(metadata, "version", version)


def test_strict_exits_1_when_a_package_is_outside_the_range(monkeypatch):
    _fake_versions(monkeypatch, {"torch": "2.16.0", "onnx": "1.23.9"})
    result = CliRunner().invoke(doctor.command, ["--strict"])
    assert result.exit_code == 1, result.output
    torch_line = next(ln for ln in result.stdout.splitlines() if " torch " in ln)
    assert f"outside {TORCH_RANGE}" in torch_line and "pip install 'torch==2.13.0'" in torch_line
    onnx_line = next(ln for ln in result.stdout.splitlines() if " onnx " in ln)
    assert "inside the declared range, untested" in onnx_line
    assert "outside the declared ranges: torch" in result.stderr


def test_strict_passes_when_untested_but_inside(monkeypatch):
    _fake_versions(monkeypatch, {"torch": "2.13.1", "executorch": None})
    from mobilekit.cli import main  # the command users type: `mobilekit doctor --strict`

    result = CliRunner().invoke(main, ["doctor", "--strict", "--json"])
    assert result.exit_code == 0, result.output
    by = {p["name"]: p for p in json.loads(result.stdout)["packages"]}
    assert by["torch"]["status"] == doctor.UNTESTED and by["torch"]["tested"] == "2.13.0"
    assert by["executorch"]["status"] == doctor.MISSING
    assert by["onnx"]["status"] == doctor.TESTED


def test_without_package_metadata_it_says_how_to_install(monkeypatch):
    def requires(dist):
        raise metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(metadata, "requires", requires)
    result = CliRunner().invoke(doctor.command, [])
    assert result.exit_code == 2
    assert "no package metadata" in result.output and "pip install" in result.output


def test_compat_row_replaces_the_row_for_the_same_torch(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "install.json").write_text('{"install_rc": 0, "install_s": 321, "venv_mb": 5400}')
    (venv / "fast.rc").write_text("0\n")
    (venv / "fast.s").write_text("140\n")
    (venv / "digits.rc").write_text("1\n")
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- compat-table -->\n| torch | c | r | s |\n| 2.14.1 | old | old | old |\n<!-- /compat-table -->\ny\n")
    data = {"packages": [{"name": "torch", "version": "2.14.1"}, {"name": "onnx", "version": "1.23.2"}]}
    row = doctor.compat_row(venv, data)
    doctor.write_compat_row(readme, row)
    text = readme.read_text()
    assert "old" not in text and text.count("| 2.14.1 |") == 1 and text.endswith("<!-- /compat-table -->\ny\n")
    assert "fast suite passed (140 s)" in row and "digits export failed (rc 1)" in row and "5400 MB, install 321 s" in row
