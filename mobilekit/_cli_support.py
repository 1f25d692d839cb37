"""What every CLI command shares: error → exit-code mapping and the progress display."""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same clean unwinding as Ctrl-C (staging removed, lock released)."""


_INTERRUPTED: list[int] = []  # signals received; an error raised while unwinding from one is the signal's


def _on_signal(signum, _frame):
    _INTERRUPTED.append(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _install_signals() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)


def _interrupted_line() -> str:
    from .bundle import COMMITTED

    if COMMITTED:
        return f"interrupted after the bundle {COMMITTED[-1]} was written completely"
    return "interrupted: no bundle was changed (a previous one is intact) and no staging folder is left"


def _quiet_broken_pipe() -> None:
    # `mobilekit inspect … | head`: the reader left; say nothing, and keep Python's exit flush quiet too
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(141)


def _os_error_line(exc: OSError) -> str | None:
    """Disk full, read-only or forbidden: the user's environment, said in one line (exit 2)."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left on the device{where}; the staging folder was removed and any previous bundle is intact. "
                "Free some space or choose another --output folder")
    if exc.errno == errno.EROFS:
        return f"the file system is read-only{where}. Choose a writable --output folder"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{where}. Fix the permissions, or choose another --output folder"
    if exc.errno == errno.ENAMETOOLONG:
        return f"a file name is too long for the file system{where}. Use a shorter `name` or --output path"
    return None


def cwd_path(value: str | None) -> str | None:
    """A path typed on the command line is relative to the cwd (config values: to the config file)."""
    return None if value is None else os.path.abspath(os.path.expanduser(value))


def cwd_source(value: str | None) -> str | None:
    """--source: a file path is made cwd-relative; `pkg.module:factory` stays as typed."""
    if value is None:
        return None
    is_ref = ":" in value and "/" not in value and os.sep not in value and not os.path.exists(value)
    return value if is_ref else cwd_path(value)


def _handle_errors(fn: Callable) -> Callable:
    """Turn exceptions into one line and an exit code; --debug shows the traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        _install_signals()
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except MobileKitError as exc:
            if debug:
                traceback.print_exc()
            for line in getattr(exc, "lines", []):
                click.echo(f"  {line}", err=True)
            click.echo(f"error: {exc.one_line()}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            click.echo(_interrupted_line(), err=True)
            sys.exit(143 if isinstance(exc, Terminated) else 130)
        except click.exceptions.Exit:
            raise
        except MemoryError:
            click.echo("error: out of memory; a declared shape or data set is too large for this machine. Check `inputs[].shape` and the data limits", err=True)
            sys.exit(2)
        except Exception as exc:
            if debug:
                traceback.print_exc()
            if _INTERRUPTED:  # a library turned the signal into its own error while unwinding
                click.echo(_interrupted_line(), err=True)
                sys.exit(143 if _INTERRUPTED[0] == signal.SIGTERM else 130)
            line = _os_error_line(exc) if isinstance(exc, OSError) else None
            if line is not None:
                click.echo(f"error: {line}", err=True)
                sys.exit(2)
            click.echo(f"error: {InternalError(f'{type(exc).__name__}: {exc}').one_line()} (run with --debug for the traceback)", err=True)
            sys.exit(InternalError.exit_code)

    return wrapper
