"""Isolation and atomicity: crashing or hanging converters, failures and interruptions."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mobilekit
import tiny_models
from conftest import TESTS, snapshot
from mobilekit import bundle as bundle_mod
from mobilekit.pipeline import ExportFailed

pytestmark = pytest.mark.slow


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setenv("MOBILEKIT_TARGETS", "segfaults=crashing_target,hangs=hanging_target")
    monkeypatch.setenv("PYTHONPATH", str(TESTS) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_a_crashing_and_a_hanging_converter_do_not_stop_the_others(tmp_path, plugins):
    cfg = tiny_models.config(tmp_path, targets=["onnx", "segfaults", "hangs"], timeouts={"hangs": 5})
    t = time.perf_counter()
    with pytest.raises(ExportFailed) as err:
        mobilekit.export(config=cfg)
    assert time.perf_counter() - t < 120
    b = err.value.bundle
    assert b.artifact("onnx")["status"] == "verified"
    crash = b.artifact("segfaults")
    assert crash["status"] == "failed" and "crashed (SIGSEGV)" in crash["error"]
    assert "about to crash" in (b.path / crash["log"]).read_text()
    hang = b.artifact("hangs")
    assert hang["status"] == "failed" and "timed out after 5 s" in hang["error"]
    assert err.value.exit_code == 1
    bundle_mod.load_bundle(b.path)  # the partial bundle is still valid and checksummed


def test_failure_before_commit_leaves_previous_bundle(tmp_path, monkeypatch):
    first = mobilekit.export(config=tiny_models.config(tmp_path))
    before = snapshot(first.path)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_mod, "write_manifest", boom)
    with pytest.raises(OSError):
        mobilekit.export(config=tiny_models.config(tmp_path))
    assert snapshot(first.path) == before
    assert [p.name for p in first.path.parent.iterdir()] == ["tiny"]


def _start_cli(tmp_path, cfg_extra: str = "") -> subprocess.Popen:
    (tmp_path / "mobilekit.toml").write_text(
        f'name = "tiny"\nsource = "tiny_models:build"\noutput_dir = "dist"\n{cfg_extra}'
        '[[inputs]]\nname = "image"\nshape = [1, 3, 8, 8]\n[[outputs]]\nname = "logits"\n'
    )
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    # A background job may inherit SIGINT ignored; a user's terminal would not.
    restore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    return subprocess.Popen([sys.executable, "-m", "mobilekit", "export"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=restore_sigint)


def _wait_for_staging(dist: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if any(p.name.startswith(".mobilekit-staging-") and (p / "logs").exists() for p in dist.iterdir()):
            time.sleep(1.0)  # past the worker's fork, where a signal can only be lost
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no staging folder appeared")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupt_mid_export_keeps_previous_bundle(tmp_path, sig):
    proc = _start_cli(tmp_path)
    assert proc.wait(timeout=180) == 0, proc.communicate()
    dist = tmp_path / "dist"
    before = snapshot(dist / "tiny")

    proc = _start_cli(tmp_path, 'version = "2.0.0"\n')
    _wait_for_staging(dist, proc)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert snapshot(dist / "tiny") == before, proc.stderr.read()
    leftovers = [p.name for p in dist.iterdir() if p.name != "tiny"]
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and leftovers == []
        assert "interrupted" in proc.stderr.read()
    else:
        # SIGKILL cannot clean up: the next run removes the stale staging folder.
        assert len(leftovers) == 1
        removed = bundle_mod.clean_stale(dist)
        assert [p.name for p in removed] == leftovers
        assert [p.name for p in dist.iterdir()] == ["tiny"]
    assert json.loads((dist / "tiny/manifest.json").read_text())["version"] == "1.0.0"


def test_tflite_alone_converts_from_an_onnx_it_does_not_ship(tmp_path):
    """The ONNX-based target gets the fp32 ONNX from the target that provides it, which the user
    did not ask for: made in the work folder, logged, not in the bundle."""
    bundle = mobilekit.export(config=tiny_models.config(tmp_path, targets=["tflite"], tflite={"variants": ["fp32"]}))
    assert [(a["target"], a["status"]) for a in bundle.artifacts] == [("tflite", "verified")]
    assert (bundle.path / "logs/onnx-base.log").exists() and not (bundle.path / "onnx").exists()
