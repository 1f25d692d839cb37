"""Real signals to a real `mobilekit export` while it verifies, a concurrent export of the same
bundle, and a reader that goes away (`| head`): clean line, right exit code, previous bundle
intact, no staging folder left."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from adversarial.helpers import HERE, TESTS, TINY, snapshot, write_config

pytestmark = pytest.mark.slow

SLOW = TINY.replace('targets = ["onnx"]', 'targets = ["slowcheck"]')


def _env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(HERE), str(TESTS.parent)]),
                MOBILEKIT_TARGETS="slowcheck=slowcheck_target", **extra)


def _export(folder, env, **kw) -> subprocess.Popen:
    restore = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731  (a background job may ignore SIGINT)
    return subprocess.Popen([sys.executable, "-m", "mobilekit", "export"], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=restore, **kw)


@pytest.fixture
def previous(tmp_path):
    """A finished bundle (exported without the blocking check), and its files."""
    write_config(tmp_path, base=SLOW)
    p = _export(tmp_path, _env())
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return tmp_path / "dist" / "tiny", snapshot(tmp_path / "dist" / "tiny")


def _wait(path, proc, timeout=240):
    end = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < end, "the export never reached verification"
        time.sleep(0.1)


def _only_the_bundle(dist):
    return sorted(p.name for p in dist.iterdir()) == ["tiny"]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_verification_keeps_the_previous_bundle(tmp_path, previous, sig, code):
    dest, before = previous
    write_config(tmp_path, base=SLOW.replace('name = "tiny"', 'name = "tiny"\nversion = "2.0.0"'))
    sentinel = tmp_path / "verifying"
    proc = _export(tmp_path, _env(MOBILEKIT_TEST_VERIFY_SENTINEL=str(sentinel)))
    _wait(sentinel, proc)
    if sig == signal.SIGTERM:  # meanwhile a second export of the same bundle is told to wait
        second = _export(tmp_path, _env())
        out, err = second.communicate(timeout=240)
        assert second.returncode == 2, err
        assert err.strip().splitlines()[-1].startswith(f"error: another export is writing {dest}")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    last = err.strip().splitlines()[-1]
    assert last == "interrupted: no bundle was changed (a previous one is intact) and no staging folder is left", err
    assert "Traceback" not in err
    assert snapshot(dest) == before
    assert json.loads((dest / "manifest.json").read_text())["version"] != "2.0.0"
    assert _only_the_bundle(tmp_path / "dist")


def test_a_reader_that_goes_away_is_not_a_bug(tmp_path, previous):
    dest, _ = previous
    r, w = os.pipe()
    os.close(r)  # `| head` that already exited: every write is EPIPE
    p = subprocess.run([sys.executable, "-m", "mobilekit", "inspect", str(dest), "--json"], stdout=w,
                       stderr=subprocess.PIPE, text=True, env=_env(), timeout=120)
    os.close(w)
    assert p.returncode == 141 and p.stderr == ""
