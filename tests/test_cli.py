"""The CLI through click's CliRunner: exit codes, one-line errors, nothing lost."""

import json

import pytest
import torch
from click.testing import CliRunner

import tiny_models
from conftest import TESTS, snapshot
from mobilekit.cli import main

pytestmark = pytest.mark.slow

BASE = """
name = "tiny"
task = "image_classification"
source = "tiny_models:build"
output_dir = "dist"
targets = ["onnx"]
[[inputs]]
name = "image"
shape = [1, 3, 8, 8]
[inputs.preprocessing]
mean = [0.5, 0.5, 0.5]
std = [0.5, 0.5, 0.5]
[[outputs]]
name = "logits"
[verify]
samples = 4
"""


@pytest.fixture(scope="module")
def exported_repo(tmp_path_factory):
    """A model repo (tiny_models.py beside mobilekit.toml) with a first good bundle, made once."""
    root = tmp_path_factory.mktemp("repo")
    (root / "tiny_models.py").write_text((TESTS / "tiny_models.py").read_text())
    (root / "mobilekit.toml").write_text(BASE)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        result = CliRunner().invoke(main, ["export"])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def repo(exported_repo, tmp_path, monkeypatch):
    """A fresh copy of the exported repo for each test to change."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(exported_repo, copy)
    monkeypatch.chdir(copy)
    return copy


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_export_prints_summary_and_writes_bundle(repo):
    manifest = json.loads((repo / "dist/tiny/manifest.json").read_text())
    assert manifest["schema"] == "mobilekit.manifest/1"
    a = manifest["artifacts"][0]
    assert a["status"] == "verified" and a["parity"]["max_abs"] < 1e-5
    assert a["parity"]["top1_agreement"] == 1.0
    result = run("inspect", "dist/tiny")
    assert result.exit_code == 0 and "onnx/fp32" in result.output and "verified" in result.output


def test_json_output_is_the_manifest(repo):
    result = run("export", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == "tiny"


def _toml_with(extra: str, replace: tuple[str, str] | None = None) -> str:
    text = BASE
    if replace:
        text = text.replace(*replace)
    return extra + "\n" + text


@pytest.mark.parametrize(
    "toml, words",
    [
        (_toml_with('colour = "red"'), "config `colour`: unknown key"),
        (_toml_with("", ('shape = [1, 3, 8, 8]', 'shape = "big"')), "config `inputs[0].shape`: expected a list"),
        (_toml_with("", ('"tiny_models:build"', '"tiny_models:missing"')), "has no 'missing'"),
        (_toml_with("", ('"tiny_models:build"', '"tiny_models:broken"')), "raised RuntimeError"),
        (_toml_with("", ('shape = [1, 3, 8, 8]', 'shape = [1, 3, 8]')), "image input must be 4-D"),
        (_toml_with("", ('name = "image"\nshape = [1, 3, 8, 8]\n[inputs.preprocessing]\nmean = [0.5, 0.5, 0.5]\nstd = [0.5, 0.5, 0.5]',
                         'name = "image"\nshape = [1, 7, 8, 8]')), "rejects the declared inputs"),
        (_toml_with("", ('"tiny_models:build"', '"pickled.pt"')), "pickled Python objects"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_loses_nothing(repo, toml, words):
    torch.save(tiny_models.build(), repo / "pickled.pt")
    before = snapshot(repo / "dist")
    (repo / "mobilekit.toml").write_text(toml)
    result = run("export")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and words in errors[0], result.stderr
    assert "Traceback" not in result.output
    assert snapshot(repo / "dist") == before  # the existing bundle is untouched
    assert sorted(p.name for p in (repo / "dist").iterdir()) == ["tiny"]  # nothing left behind


def test_debug_shows_the_traceback(repo):
    (repo / "mobilekit.toml").write_text(_toml_with('colour = "red"'))
    result = run("--debug", "export")
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_parity_failure_exits_1_and_says_how_far(repo):
    (repo / "mobilekit.toml").write_text(BASE + "[verify.tolerances.fp32]\nmax_abs = 1e-12\n")
    result = run("export")
    assert result.exit_code == 1
    assert "output 'logits': max abs error" in result.stderr and "> tolerance 1e-12" in result.stderr
    manifest = json.loads((repo / "dist/tiny/manifest.json").read_text())
    assert manifest["artifacts"][0]["status"] == "failed"


def test_verify_passes_then_catches_tampering(repo):
    result = run("verify", "dist/tiny")
    assert result.exit_code == 0 and "ok" in result.output
    model = repo / "dist/tiny/onnx/model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    result = run("verify", "dist/tiny")
    assert result.exit_code == 2 and "does not match its checksum" in result.stderr


def test_verify_refuses_a_manifest_path_escaping_the_bundle(repo):
    mf = repo / "dist/tiny/manifest.json"
    data = json.loads(mf.read_text())
    data["artifacts"][0]["path"] = "../../etc/passwd"
    mf.write_text(json.dumps(data))
    result = run("verify", "dist/tiny")
    assert result.exit_code == 2 and "outside the bundle" in result.stderr


@pytest.mark.parametrize("what", ["missing", "no-manifest", "bad-json", "bad-schema"])
def test_inspect_bad_bundles(repo, what):
    b = repo / "dist/tiny"
    if what == "missing":
        b = repo / "dist/nope"
    elif what == "no-manifest":
        (b / "manifest.json").unlink()
    elif what == "bad-json":
        (b / "manifest.json").write_text("{")
    else:
        (b / "manifest.json").write_text(json.dumps({"schema": "mobilekit.manifest/1", "name": "x"}))
    result = run("inspect", str(b))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_budget_the_model_cannot_meet_fails_with_the_figure(repo):
    (repo / "mobilekit.toml").write_text(BASE + "[budgets]\nmax_size_mb = 0.0001\nmax_latency_ms = 100000\n")
    result = run("export")
    assert result.exit_code == 1
    assert "budget max_size_mb: onnx/fp32 is 0.00" in result.stderr and "MB > 0.0001" in result.stderr
    assert "max_latency_ms" not in result.stderr  # the latency budget holds
    a = json.loads((repo / "dist/tiny/manifest.json").read_text())["artifacts"][0]
    assert a["status"] == "failed" and a["latency_ms"]["runs"] == 20


def test_junit_shows_exactly_the_broken_budget_as_failed(repo):
    import xml.etree.ElementTree as ET

    (repo / "mobilekit.toml").write_text(BASE + "[budgets]\nmax_size_mb = 0.0001\nmax_latency_ms = 100000\n")
    result = run("export", "--junit-xml", "junit.xml")
    assert result.exit_code == 1
    suite = ET.parse(repo / "junit.xml").getroot().find("testsuite")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    failed = [k for k, c in cases.items() if c.find("failure") is not None]
    assert failed == [("tiny.onnx.fp32", "budget.max_size_mb")]
    assert "MB > 0.0001" in cases[failed[0]].find("failure").get("message")
    assert {("tiny.onnx.fp32", n) for n in ("convert", "parity", "budget.max_latency_ms")} <= set(cases)
    assert suite.get("failures") == "1"
