"""What the user sees while an export runs: rich on a terminal, plain lines otherwise, or nothing.

The pipeline only calls these three methods; the CLI chooses the implementation.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def stage(self, name: str, detail: str = "") -> None:
        """A stage starts."""

    def done(self, name: str, detail: str = "") -> None:
        """A stage (or one target) finished."""

    def warn(self, message: str) -> None:
        """Something the user should know that is not an error."""


class Silent(Progress):
    pass


class Plain(Progress):
    """One line per event, for logs and CI."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()

    def _line(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {text}", file=self.stream, flush=True)

    def stage(self, name: str, detail: str = "") -> None:
        self._line(f"{name}…" + (f" {detail}" if detail else ""))

    def done(self, name: str, detail: str = "") -> None:
        self._line(f"{name}: {detail}" if detail else f"{name}: done")

    def warn(self, message: str) -> None:
        self._line(f"warning: {message}")


class Rich(Plain):
    """A spinner for the running stage and a line per finished one."""

    def __init__(self):
        from rich.console import Console

        self.console = Console(stderr=True)
        self._status = None
        self.t0 = time.perf_counter()

    def stage(self, name: str, detail: str = "") -> None:
        if self._status is None:
            self._status = self.console.status(f"{name}… {detail}")
            self._status.start()
        else:
            self._status.update(f"{name}… {detail}")

    def done(self, name: str, detail: str = "") -> None:
        self.console.print(f"[green]✓[/] [bold]{name}[/] {detail}", highlight=False)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]![/] {message}", highlight=False)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
