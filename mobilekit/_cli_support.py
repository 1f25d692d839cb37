"""What every CLI command shares: error → exit-code mapping and the progress display."""

from __future__ import annotations

import sys
import traceback
from functools import wraps
from typing import Any, Callable

import click

from .errors import InternalError, MobileKitError


def _progress(as_json: bool):
    from . import progress

    if as_json:
        return progress.Silent()
    if sys.stderr.isatty():
        return progress.Rich()
    return progress.Plain()


def _handle_errors(fn: Callable) -> Callable:
    """Turn exceptions into one line and an exit code; --debug shows the traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except MobileKitError as exc:
            if debug:
                traceback.print_exc()
            for line in getattr(exc, "lines", []):
                click.echo(f"  {line}", err=True)
            click.echo(f"error: {exc.one_line()}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing was changed", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {InternalError(f'{type(exc).__name__}: {exc}').one_line()} (run with --debug for the traceback)", err=True)
            sys.exit(InternalError.exit_code)

    return wrapper
