"""Rule 2: no network at any point of an export, in the main process or any worker.

A sitecustomize on PYTHONPATH makes every process of the export refuse sockets (other than
local AF_UNIX ones) and log each attempt; the demo export must pass and the log stay empty.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

BLOCKER = textwrap.dedent(
    """
    import os, socket
    _log = os.environ["MOBILEKIT_TEST_NET_LOG"]
    _real_connect = socket.socket.connect

    def _refuse(what, *args):
        with open(_log, "a") as fh:
            fh.write(f"{os.getpid()} {what} {args!r}\\n")
        raise OSError(101, "Network is unreachable (blocked by test)")

    def connect(self, address):
        if self.family == socket.AF_UNIX:
            return _real_connect(self, address)
        _refuse("connect", address)

    socket.socket.connect = connect
    socket.socket.connect_ex = lambda self, address: connect(self, address)
    socket.getaddrinfo = lambda *a, **k: _refuse("getaddrinfo", a[:2])
    socket.create_connection = lambda address, *a, **k: _refuse("create_connection", address)
    """
)


def test_demo_export_passes_with_the_network_blocked(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "net.log"
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               MOBILEKIT_TEST_NET_LOG=str(log))
    # the blocker really is active in child processes
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('example.org', 80))"],
                           env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked by test" in probe.stderr
    log.unlink()

    out = subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(ROOT / "examples/digits/mobilekit.toml"),
                          "--output", str(tmp_path / "dist")], env=env, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stderr[-3000:]
    assert not log.exists(), log.read_text()
