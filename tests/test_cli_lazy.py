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


def test_saved_help_is_what_click_prints():
    from mobilekit import _entry, _help

    assert _help.TEXT == _entry.click_help(), "regenerate: python -m mobilekit._entry --write-help"


def _script(args: list[str], columns: str) -> tuple[str, list[str]]:
    code = ("import sys; from mobilekit._entry import main; sys.argv = ['mobilekit', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m == 'click' or m == 'mobilekit.cli'), file=sys.stderr)")
    import os

    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                       env={**os.environ, "COLUMNS": columns})
    return r.stdout, eval(r.stderr.strip().splitlines()[-1])


def test_help_on_a_wide_terminal_needs_no_click():
    from mobilekit import _help

    out, loaded = _script(["--help"], "120")
    assert out == _help.TEXT and loaded == []


def test_help_on_a_narrow_terminal_is_clicks_own_wrapping():
    out, loaded = _script(["-h"], "60")
    assert loaded == ["click", "mobilekit.cli"]
    assert out.startswith("Usage: mobilekit") and max(len(line) for line in out.splitlines()) <= 60


def test_every_other_call_goes_to_click():
    out, loaded = _script(["--version"], "120")
    assert "mobilekit, version" in out and loaded == ["click", "mobilekit.cli"]
