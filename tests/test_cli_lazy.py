"""Sub-commands in their own modules load when run, and --help lists them with their own help."""

import subprocess
import sys

import click
from click.testing import CliRunner

from mobilekit.cli import LAZY_COMMANDS, main


def test_lazy_short_help_is_the_commands_own():
    ctx = click.Context(main)
    for name, (_module, _attr, short) in LAZY_COMMANDS.items():
        cmd = main.get_command(ctx, name)
        assert cmd.name == name
        assert cmd.get_short_help_str(limit=1000) == short, name


def test_help_lists_every_command_without_importing_the_lazy_ones():
    code = ("import sys; from click.testing import CliRunner; from mobilekit.cli import main; "
            "out = CliRunner().invoke(main, ['--help']).output; "
            "print(sorted(m for m in sys.modules if m.startswith('mobilekit.'))); print(out)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded, help_text = out.split("\n", 1)
    for module, _attr, _short in LAZY_COMMANDS.values():
        assert f"mobilekit{module}" not in loaded
    for name in [*LAZY_COMMANDS, "export", "verify", "inspect"]:
        assert f"  {name} " in help_text


def test_a_lazy_command_runs():
    result = CliRunner().invoke(main, ["debug", "--help"])
    assert result.exit_code == 0 and "--overlay" in result.output
