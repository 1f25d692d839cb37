"""Progress of a host benchmark: silent, plain lines for logs and CI, or rich bars on a terminal."""

from __future__ import annotations

import sys
import time
from typing import Any


class BenchProgress:
    def start(self, name: str, total: int) -> None: ...
    def update(self, name: str, done: int) -> None: ...
    def finish(self, name: str, line: str, ok: bool | None = True) -> None: ...
    def skip(self, name: str, reason: str) -> None: ...
    def close(self) -> None: ...


class SilentBar(BenchProgress):
    pass


class PlainBar(BenchProgress):
    """Lines for logs and CI: a start line, one at each quarter, and the outcome."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.totals: dict[str, int] = {}
        self.shown: dict[str, int] = {}

    def _line(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {text}", file=self.stream, flush=True)

    def start(self, name: str, total: int) -> None:
        self.totals[name] = total
        self.shown[name] = 0
        self._line(f"bench {name}: 0/{total} runs")

    def update(self, name: str, done: int) -> None:
        total = self.totals.get(name, 1)
        quarter = 4 * done // total
        if 0 < quarter < 4 and quarter > self.shown.get(name, 0):
            self.shown[name] = quarter
            self._line(f"bench {name}: {done}/{total} runs")

    def finish(self, name: str, line: str, ok: bool | None = True) -> None:
        self._line(f"bench {name}: {line}")

    def skip(self, name: str, reason: str) -> None:
        self._line(f"bench {name}: skipped: {reason}")


class RichBar(BenchProgress):
    """A progress bar per benchmark on a terminal."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=True)
        self.tasks: dict[str, Any] = {}
        self.bar.start()

    def start(self, name: str, total: int) -> None:
        self.tasks[name] = self.bar.add_task(name, total=total)

    def update(self, name: str, done: int) -> None:
        if name in self.tasks:
            self.bar.update(self.tasks[name], completed=done)

    def finish(self, name: str, line: str, ok: bool | None = True) -> None:
        if name in self.tasks:
            self.bar.remove_task(self.tasks.pop(name))
        mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[yellow]-[/]"}[ok]
        self.console.print(f"{mark} [bold]{name}[/] {line}", highlight=False)

    def skip(self, name: str, reason: str) -> None:
        self.console.print(f"[yellow]-[/] [bold]{name}[/] skipped: {reason}", highlight=False)

    def close(self) -> None:
        self.bar.stop()
