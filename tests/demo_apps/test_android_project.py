"""The Android demo project without Gradle or an Android SDK: ktlint parses every Kotlin file and
script, the manifest and the version catalog parse and agree with the build scripts, and the
paths the app names are where `mobilekit scaffold android` puts a bundle."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from mobilekit.cli import main

from .conftest import ANDROID, KOTLIN_CORE, require_tool

APP = ANDROID / "app"
SOURCES = APP / "src" / "main" / "java" / "dev" / "mobilekit" / "demo"
ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


@pytest.mark.slow
def test_kotlin_files_and_gradle_scripts_pass_ktlint():
    """The app and the shared Kotlin core it builds (mobile/kotlin, its :core module)."""
    ktlint = require_tool("ktlint")
    checked = []
    for folder in (ANDROID, ANDROID.parent / "mobile" / "kotlin"):
        proc = subprocess.run([ktlint, "--relative", "**/*.kt", "**/*.kts"], cwd=folder, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{folder}:\n" + proc.stdout[-3000:] + proc.stderr[-2000:]
        checked += [p for p in [*folder.rglob("*.kt"), *folder.rglob("*.kts")] if "build" not in p.parts]
    assert len(checked) >= 20


def test_android_manifest_parses_and_asks_for_the_camera():
    root = ET.parse(APP / "src/main/AndroidManifest.xml").getroot()
    permissions = [e.get(f"{ANDROID_NS}name") for e in root.iter("uses-permission")]
    assert "android.permission.CAMERA" in permissions
    activities = list(root.iter("activity"))
    assert [a.get(f"{ANDROID_NS}name") for a in activities] == [".MainActivity"]
    assert activities[0].get(f"{ANDROID_NS}exported") == "true"
    assert any(c.get(f"{ANDROID_NS}name") == "android.intent.category.LAUNCHER" for c in activities[0].iter("category"))
    assert (SOURCES / "MainActivity.kt").is_file()
    # the runtime request the manifest permission needs on Android 6+
    assert "ActivityResultContracts.RequestPermission()" in (SOURCES / "CameraScreen.kt").read_text()
    ET.parse(APP / "src/main/res/values/strings.xml")


def _catalog() -> dict:
    return tomllib.loads((ANDROID / "gradle/libs.versions.toml").read_text())


def test_version_catalog_parses_pins_every_version_and_has_every_alias_used():
    cat = _catalog()
    versions = cat["versions"]
    for name, v in versions.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", v) or re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", v), (name, v)
    for section in ("libraries", "plugins"):
        for alias, spec in cat[section].items():
            if "version" in spec and isinstance(spec["version"], dict):
                assert spec["version"]["ref"] in versions, alias
            elif "version" in spec:
                pytest.fail(f"{alias}: versions belong in [versions]")
    # modules without a version come from the Compose BOM, which must be a platform dependency
    unversioned = [a for a, s in cat["libraries"].items() if "version" not in s]
    assert all(cat["libraries"][a]["module"].startswith("androidx.compose.") for a in unversioned)
    for needed in ("agp", "kotlin", "compose-bom", "camerax", "litert"):
        assert needed in versions, needed
    modules = {s["module"] for s in cat["libraries"].values()}
    assert {"com.google.ai.edge.litert:litert", "com.google.ai.edge.litert:litert-gpu",
            "com.google.ai.edge.litert:litert-support", "androidx.camera:camera-camera2"} <= modules

    accessors = {
        "libraries": {a.replace("-", ".").replace("_", "."): a for a in cat["libraries"]},
        "plugins": {a.replace("-", ".").replace("_", "."): a for a in cat["plugins"]},
        "versions": {a.replace("-", ".").replace("_", "."): a for a in versions},
    }
    scripts = sorted(ANDROID.rglob("*.gradle.kts"))
    core_script = KOTLIN_CORE / "build.gradle.kts"  # the shared :core, built with this catalog
    assert {p.relative_to(ANDROID).as_posix() for p in scripts} == {
        "settings.gradle.kts", "build.gradle.kts", "app/build.gradle.kts"}
    used = 0
    for script in [*scripts, core_script]:
        for ref in re.findall(r"\blibs\.([\w.]+)", script.read_text()):
            ref = re.sub(r"\.get$", "", ref)
            used += 1
            if ref.startswith("plugins."):
                assert ref[len("plugins."):] in accessors["plugins"], (script, ref)
            elif ref.startswith("versions."):
                assert ref[len("versions."):] in accessors["versions"], (script, ref)
            else:
                assert ref in accessors["libraries"], (script, ref)
    assert used >= 20
    app = (APP / "build.gradle.kts").read_text()
    assert "platform(libs.androidx.compose.bom)" in app


def test_gradle_project_layout():
    settings = (ANDROID / "settings.gradle.kts").read_text()
    assert 'include(":app", ":core")' in settings
    wrapper = (ANDROID / "gradle/wrapper/gradle-wrapper.properties").read_text()
    assert re.search(r"distributionUrl=.*gradle-\d+\.\d+(\.\d+)?-bin\.zip", wrapper)
    # The committed wrapper itself (jar checksum, scripts) is checked in test_gradle_wrapper.py.
    assert (ANDROID / "gradle/wrapper/gradle-wrapper.jar").is_file() and (ANDROID / "gradlew").is_file()
    # jvmToolchain(17) needs a resolver to provision a JDK on a fresh machine
    assert re.search(r'id\("org\.gradle\.toolchains\.foojay-resolver-convention"\) version "\d+\.\d+\.\d+"', settings)
    app = (APP / "build.gradle.kts").read_text()
    assert re.search(r'noCompress\s*\+=\s*listOf\("tflite", "pte"\)', app), "models must be stored uncompressed"
    assert "project(\":core\")" in app
    assert "app/src/main/assets/bundles/" in (ANDROID / ".gitignore").read_text().splitlines()
    assert not list((APP / "src/main/assets").rglob("*.tflite")) if (APP / "src/main/assets").exists() else True
    readme = (ANDROID / "README.md").read_text()
    for words in ("Android Studio", "./gradlew", "mobilekit scaffold android --bundle dist/digits",
                  "mobilekit scaffold android --bundle dist/translator", "installDebug"):
        assert words in readme, words


# -- bundle paths ----------------------------------------------------------------------------

def named_paths() -> list[str]:
    """The constant paths of BundlePaths.kt (its `manifestOf` template aside)."""
    return [p for p in re.findall(r'"([^"\\]+)"', (SOURCES / "BundlePaths.kt").read_text()) if "$" not in p]


def test_every_bundle_path_is_named_in_bundle_paths_only():
    paths = named_paths()
    assert sorted(paths) == ["bundles", "bundles/digits/manifest.json", "bundles/translator/manifest.json"]
    others = [p for p in APP.rglob("*.kt") if p.name != "BundlePaths.kt"]
    for f in others:
        assert not re.search(r'"[^"]*bundles/', f.read_text()), f"{f} names a bundle path outside BundlePaths.kt"


def _scaffold(bundle: Path, app: Path) -> Path:
    result = CliRunner().invoke(main, ["scaffold", "android", "--bundle", str(bundle), "--app", str(app)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((bundle / "manifest.json").read_text())
    return app / "app/src/main/assets/bundles" / manifest["name"]


@pytest.fixture
def app_copy(tmp_path) -> Path:
    dest = tmp_path / "android_demo"
    shutil.copytree(ANDROID, dest, ignore=shutil.ignore_patterns("build", ".gradle", "bundles"))
    return dest


def _app_reads(manifest: dict) -> list[str]:
    """The files the app opens through a manifest (see ImageClassifier / TfliteSeq2SeqRunner)."""
    tflite = [a for a in manifest["artifacts"] if a["target"] == "tflite" and a["status"] != "failed"]
    files = []
    if manifest["task"] == "translation":
        files += [manifest["translation"]["tokenizer"]]
        for graph in ("encoder", "decoder"):
            mine = [a for a in tflite if a.get("graph") == graph]
            files += [next((a for a in mine if a["variant"] == "fp32"), mine[0])["path"]]
    else:
        files += [next((a for a in tflite if a["variant"] == "fp32"), tflite[0])["path"]]
        files += [o["labels"] for o in manifest["outputs"] if o.get("labels")]
    return files


@pytest.mark.slow
def test_scaffolded_bundles_hold_every_file_the_app_opens(app_copy, digits_bundle, translator_bundle):
    assets = app_copy / "app/src/main/assets"
    bundles = [translator_bundle]
    digits = json.loads((digits_bundle / "manifest.json").read_text())
    if any(a["target"] == "tflite" for a in digits["artifacts"]):
        bundles.append(digits_bundle)  # the ONNX-only fallback export has nothing for the app to run
    for bundle in bundles:
        where = _scaffold(bundle, app_copy)
        manifest = json.loads((where / "manifest.json").read_text())
        for rel in _app_reads(manifest):
            assert (where / rel).is_file(), rel
    for path in named_paths():
        if not path.endswith("manifest.json"):
            continue  # the bundles folder itself
        name = path.split("/")[1]
        if name in {json.loads((b / "manifest.json").read_text())["name"] for b in bundles}:
            assert (assets / path).is_file(), path


def test_app_imports_of_the_core_name_real_declarations():
    """Without an Android SDK the app cannot be compiled here; at least its use of :core is checked."""
    core = "\n".join(p.read_text() for p in (KOTLIN_CORE / "src/main").rglob("*.kt"))
    declared = set(re.findall(r"^(?:data |sealed |abstract |open |enum )?(?:class|interface|object|fun) (?:[\w.]+\.)?(\w+)", core, re.M))
    imported = {m for p in APP.rglob("*.kt") for m in re.findall(r"^import dev\.mobilekit\.core\.(\w+)$", p.read_text(), re.M)}
    assert imported and imported <= declared, imported - declared
