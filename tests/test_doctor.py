import json
from importlib import metadata

from click.testing import CliRunner

from mobilekit import doctor
from mobilekit.cli import main


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
