"""`mobilekit diff`: the pull-request gate between two bundles."""

import json
import shutil

import pytest
from click.testing import CliRunner

import mobilekit
import tiny_models
from mobilekit.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def old_bundle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diff")
    return mobilekit.export(config=tiny_models.config(tmp)).path


def _edited_copy(src, dst, edit):
    shutil.copytree(src, dst)
    mf = dst / "manifest.json"
    m = json.loads(mf.read_text())
    edit(m["artifacts"][0])
    mf.write_text(json.dumps(m))
    return dst


def test_same_bundle_passes(old_bundle):
    result = CliRunner().invoke(main, ["diff", str(old_bundle), str(old_bundle)])
    assert result.exit_code == 0 and "onnx/fp32" in result.output


def test_an_artifact_that_grew_20_percent_fails(old_bundle, tmp_path):
    new = _edited_copy(old_bundle, tmp_path / "new", lambda a: a.update(size_bytes=int(a["size_bytes"] * 1.2)))
    result = CliRunner().invoke(main, ["diff", str(old_bundle), str(new)])
    assert result.exit_code == 1
    assert "onnx/fp32: size grew 20.0%" in result.stderr and "> 10%" in result.stderr
    # a looser threshold on the command line lets it pass
    assert CliRunner().invoke(main, ["diff", str(old_bundle), str(new), "--max-size-growth", "0.25"]).exit_code == 0


def test_thresholds_from_config_and_parity_growth(old_bundle, tmp_path, monkeypatch):
    new = _edited_copy(old_bundle, tmp_path / "new", lambda a: a["parity"].update(max_abs=a["parity"]["max_abs"] * 100 + 1e-6))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mobilekit.toml").write_text("[diff]\nmax_parity_growth = 10.0\n")
    result = CliRunner().invoke(main, ["diff", str(old_bundle), str(new)])
    assert result.exit_code == 1 and "max abs error grew" in result.stderr
    (tmp_path / "mobilekit.toml").write_text("[diff]\nmax_size_growht = 1\n")
    result = CliRunner().invoke(main, ["diff", str(old_bundle), str(new)])
    assert result.exit_code == 2 and "diff.max_size_growht" in result.stderr
