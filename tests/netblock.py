"""A sitecustomize that makes every Python process refuse network sockets and log each try.

Put a folder holding it first on PYTHONPATH (see `blocked_env`): the CLI and every worker it
starts then run offline, and the log shows any attempt.
"""

import os
import textwrap
from pathlib import Path

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


def blocked_env(folder: Path) -> tuple[dict, Path]:
    """An environment whose Python processes cannot reach the network, and the attempts log."""
    (folder / "sitecustomize.py").write_text(BLOCKER)
    log = folder / "net.log"
    env = dict(os.environ, PYTHONPATH=f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               MOBILEKIT_TEST_NET_LOG=str(log))
    return env, log
