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
    """A classification bundle with TFLite, Core ML and ExecuTorch artifacts (a tiny net: fast):
    an XNNPACK `.pte` and a Core ML delegate `.pte` (Apple-only)."""
    tmp = tmp_path_factory.mktemp("bundle")
    cfg = tiny_models.config(tmp, name="digits", targets=["tflite", "coreml", "executorch"], latency_runs=0,
                             coreml={"variants": ["fp16"]}, tflite={"variants": ["fp32"]},
                             executorch={"variants": ["fp32", "coreml"]})
    return mobilekit.export(config=cfg).path


def app_copy(tmp_path: Path, platform: str) -> Path:
    src = ANDROID if platform == "android" else IOS
    dest = tmp_path / src.name
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("build", ".gradle", "Bundles", "bundles"))
    return dest


def run(*args):
    return CliRunner().invoke(main, ["scaffold", *map(str, args)])


@pytest.mark.slow
@pytest.mark.parametrize("platform, copied, where", [
    # Android: TFLite and the XNNPACK .pte; the Core ML delegate .pte is skipped with the reason
    ("android", {"tflite/model.tflite", "executorch/model.pte"}, "app/src/main/assets/bundles/digits"),
    ("ios", {"coreml/Digits.mlpackage", "executorch/model.pte", "executorch/model.coreml.pte"}, "MobileKitDemo/Bundles/digits"),
])
def test_scaffold_copies_manifest_assets_and_the_platform_artifacts(tmp_path, tiny_bundle, platform, copied, where):
    app = app_copy(tmp_path, platform)
    result = run(platform, "--bundle", tiny_bundle, "--app", app)
    assert result.exit_code == 0, result.output
    dest = app / where
    manifest = json.loads((dest / "manifest.json").read_text())
    assert {a["path"] for a in manifest["artifacts"]} >= copied | {"executorch/model.coreml.pte"}
    for a in manifest["artifacts"]:
        assert (dest / a["path"]).exists() == (a["path"] in copied), a["path"]
        if a["path"] in copied and (dest / a["path"]).is_file():
            assert (dest / a["path"]).read_bytes() == (tiny_bundle / a["path"]).read_bytes(), a["path"]
    skipped = [ln.strip() for ln in result.output.splitlines() if ln.strip().startswith("skipped")]
    if platform == "android":
        assert skipped == ["skipped executorch/model.coreml.pte: the Core ML delegate runs only on Apple platforms"], result.output
    else:
        assert skipped == [], result.output
    readme = (dest / "README.md").read_text()
    assert ("tflite and executorch" if platform == "android" else "coreml and executorch") in readme
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
    assert result.exit_code == 2 and "no usable coreml or executorch artifact" in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output, result.output


def _only(bundle: Path, dest: Path, keep) -> Path:
    """A copy of the bundle whose manifest lists only the artifacts `keep` accepts (the files stay)."""
    shutil.copytree(bundle, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest["artifacts"] = [a for a in manifest["artifacts"] if keep(a)]
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return dest


@pytest.mark.slow
def test_executorch_alone_is_enough_but_not_the_core_ml_delegate_on_android(tmp_path, tiny_bundle):
    et_only = _only(tiny_bundle, tmp_path / "et" / "digits", lambda a: a["target"] == "executorch")
    for platform in ("android", "ios"):
        app = app_copy(tmp_path / platform, platform)
        result = run(platform, "--bundle", et_only, "--app", app)
        assert result.exit_code == 0, result.output
    coreml_pte = _only(tiny_bundle, tmp_path / "coreml-pte" / "digits",
                       lambda a: a["target"] == "executorch" and a["variant"] == "coreml")
    result = run("android", "--bundle", coreml_pte, "--app", app_copy(tmp_path / "a2", "android"))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no usable tflite or executorch artifact for the android app" in lines[0], result.output



@pytest.mark.slow
def test_a_relative_bundle_path_works(tmp_path, tiny_bundle, monkeypatch):
    """`--bundle dist/digits` typed from the folder above it (was exit 3: a resolved path vs a relative one)."""
    app = app_copy(tmp_path, "android")
    monkeypatch.chdir(tiny_bundle.parent)
    result = run("android", "--bundle", tiny_bundle.name, "--app", app)
    assert result.exit_code == 0, result.output
    assert (app / "app/src/main/assets/bundles/digits/manifest.json").is_file()
