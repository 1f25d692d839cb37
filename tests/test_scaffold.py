"""`mobilekit scaffold`: a real bundle copied into copies of the demo apps; every path the apps'
code names is present afterwards; unrelated files are never overwritten."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import mobilekit
import tiny_models
from mobilekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
ANDROID, IOS = ROOT / "android_demo", ROOT / "ios_demo"


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory) -> Path:
    """A classification bundle with TFLite and Core ML artifacts (a tiny net: fast)."""
    tmp = tmp_path_factory.mktemp("bundle")
    cfg = tiny_models.config(tmp, name="digits", targets=["tflite", "coreml"], latency_runs=0,
                             coreml={"variants": ["fp16"]}, tflite={"variants": ["fp32"]})
    return mobilekit.export(config=cfg).path


def app_copy(tmp_path: Path, platform: str) -> Path:
    src = ANDROID if platform == "android" else IOS
    dest = tmp_path / src.name
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("build", ".gradle", "Bundles", "bundles"))
    return dest


def run(*args):
    return CliRunner().invoke(main, ["scaffold", *map(str, args)])


@pytest.mark.slow
@pytest.mark.parametrize("platform, target, where", [
    ("android", "tflite", "app/src/main/assets/bundles/digits"),
    ("ios", "coreml", "MobileKitDemo/Bundles/digits"),
])
def test_scaffold_copies_manifest_assets_and_the_platform_artifacts(tmp_path, tiny_bundle, platform, target, where):
    app = app_copy(tmp_path, platform)
    result = run(platform, "--bundle", tiny_bundle, "--app", app)
    assert result.exit_code == 0, result.output
    dest = app / where
    manifest = json.loads((dest / "manifest.json").read_text())
    for a in manifest["artifacts"]:
        assert (dest / a["path"]).exists() == (a["target"] == target), a["path"]
    assert (dest / "assets" / "golden" / "index.json").is_file()
    # again: our own earlier copy is replaced whole, nothing else is touched
    (dest / "stale.bin").write_bytes(b"x")
    assert run(platform, "--bundle", tiny_bundle, "--app", app).exit_code == 0
    assert not (dest / "stale.bin").exists()


@pytest.mark.slow
def test_unrelated_files_are_never_overwritten(tmp_path, tiny_bundle):
    app = app_copy(tmp_path, "android")
    mine = app / "app/src/main/assets/bundles/digits"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    result = run("android", "--bundle", tiny_bundle, "--app", app)
    assert result.exit_code == 2
    assert "holds files mobilekit did not put there" in result.output
    assert (mine / "notes.txt").read_text() == "mine" and len(list(mine.iterdir())) == 1


def test_a_folder_that_is_not_the_app_is_refused(tmp_path):
    result = run("android", "--bundle", tmp_path, "--app", tmp_path)
    assert result.exit_code == 2 and "is not the android demo app" in result.output


@pytest.mark.slow
def test_a_bundle_without_the_platform_artifacts_is_refused(tmp_path):
    bundle = mobilekit.export(config=tiny_models.config(tmp_path, targets=["onnx"], latency_runs=0)).path
    result = run("ios", "--bundle", bundle, "--app", IOS)
    assert result.exit_code == 2 and "no usable coreml artifact" in result.output



@pytest.mark.slow
def test_a_relative_bundle_path_works(tmp_path, tiny_bundle, monkeypatch):
    """`--bundle dist/digits` typed from the folder above it (was exit 3: a resolved path vs a relative one)."""
    app = app_copy(tmp_path, "android")
    monkeypatch.chdir(tiny_bundle.parent)
    result = run("android", "--bundle", tiny_bundle.name, "--app", app)
    assert result.exit_code == 0, result.output
    assert (app / "app/src/main/assets/bundles/digits/manifest.json").is_file()
