"""The `mobilekit` console script. `mobilekit --help` prints click's own help text, saved in
`_help.py`, without importing click (click's import alone costs more than Python's start-up);
everything else goes to `mobilekit.cli`. tests/test_cli_lazy.py checks the saved text is what
click prints today; regenerate it with `python -m mobilekit._entry --write-help`.
"""

from __future__ import annotations

import os
import sys

HELP_FLAGS = (["--help"], ["-h"])
WIDTH = 80  # click wraps help to min(terminal columns, 80) - 2: the saved text holds from 80 up


def _columns() -> int:
    """The terminal width as click (shutil.get_terminal_size) reads it."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return WIDTH


def click_help() -> str:
    """The help text click prints at the saved width (imports click and the CLI)."""
    from click.testing import CliRunner

    from .cli import main as cli

    return CliRunner().invoke(cli, ["--help"], prog_name="mobilekit", terminal_width=WIDTH).output


def main() -> None:
    if sys.argv[1:] in HELP_FLAGS and _columns() >= WIDTH:
        from ._help import TEXT

        sys.stdout.write(TEXT)
        sys.stdout.flush()
        return
    from .cli import main as cli

    cli()


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-help"]:
        path = os.path.join(os.path.dirname(__file__), "_help.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write('"""`mobilekit --help` as click prints it (generated: python -m mobilekit._entry --write-help)."""\n\n')
            f.write(f"TEXT = {click_help()!r}\n")
    else:
        main()
