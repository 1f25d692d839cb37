"""The Gradle wrapper committed in the demo app and the Android harness template: Gradle's own
8.x wrapper jar and scripts (taken from the react-native 0.77 template on npm, which ships them
unchanged), checked against the checksum Gradle publishes, so a fresh clone builds with
`./gradlew` and a tampered or swapped jar fails here."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PROJECTS = [ROOT / "android_demo", ROOT / "templates/harness/android"]

# Gradle's published checksum of the wrapper jar that Gradle 8.10 - 8.12 write
# (gradle/actions sources/src/wrapper-validation/wrapper-checksums.json, entry "8.11.1").
WRAPPER_JAR_SHA256 = "2db75c40782f5e8ba1fc278a5574bab070adccb2d21ca5a6e5ed840888448046"
# services.gradle.org/distributions/gradle-8.11.1-bin.zip.sha256
DISTRIBUTION_SHA256 = "f397b287023acdba1e9f6fc5ea72d22dd63669d59ed4a289a29b1a76eee151c6"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_wrapper_jar_is_gradles_own(project):
    jar = project / "gradle/wrapper/gradle-wrapper.jar"
    assert _sha256(jar) == WRAPPER_JAR_SHA256
    with zipfile.ZipFile(jar) as z:
        manifest = z.read("META-INF/MANIFEST.MF").decode()
        assert "org/gradle/wrapper/GradleWrapperMain.class" in z.namelist()
    assert "Implementation-Title: Gradle Wrapper" in manifest  # gradlew names the main class itself


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_wrapper_pins_the_distribution_and_its_checksum(project):
    props = (project / "gradle/wrapper/gradle-wrapper.properties").read_text()
    assert re.search(r"^distributionUrl=https\\://services\.gradle\.org/distributions/gradle-8\.11\.1-bin\.zip$", props, re.M)
    # The wrapper refuses a downloaded distribution whose sha256 differs.
    assert f"distributionSha256Sum={DISTRIBUTION_SHA256}" in props.splitlines()


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_wrapper_scripts_run_the_committed_jar(project):
    gradlew, bat = project / "gradlew", project / "gradlew.bat"
    assert os.access(gradlew, os.X_OK), "gradlew must keep its executable bit"
    assert "CLASSPATH=$APP_HOME/gradle/wrapper/gradle-wrapper.jar" in gradlew.read_text()
    assert r"%APP_HOME%\gradle\wrapper\gradle-wrapper.jar" in bat.read_text()
    subprocess.run(["sh", "-n", str(gradlew)], check=True)


@pytest.mark.skipif(shutil.which("javap") is None, reason="needs a JDK (javap)")
def test_wrapper_main_class_loads_on_this_jdk():
    jar = PROJECTS[0] / "gradle/wrapper/gradle-wrapper.jar"
    out = subprocess.run(["javap", "-cp", str(jar), "org.gradle.wrapper.GradleWrapperMain"],
                         capture_output=True, text=True, check=True).stdout
    assert "public static void main(java.lang.String[])" in out
