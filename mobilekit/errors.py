"""The error hierarchy. The CLI maps each class to an exit code.

UserError (exit 2): the input is wrong; one line naming the problem and the fix.
CheckError (exit 1): conversion or verification failed; the model or converter is at fault.
InternalError: a bug in mobilekit; the CLI says so and asks for a report.
"""

from __future__ import annotations


class MobileKitError(Exception):
    """Base of every error mobilekit raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The single line the CLI prints: the problem, then the fix."""
        text = self.message.rstrip(".")
        return f"{text}. {self.hint}" if self.hint else text


class UserError(MobileKitError):
    """Bad input: config, source, data or paths. Exit 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config value is wrong; `key` is its dotted path (e.g. `inputs[0].shape`)."""

    def __init__(self, key: str, message: str, *, hint: str | None = None):
        super().__init__(f"config `{key}`: {message}", hint=hint)
        self.key = key


class SourceError(UserError):
    """The model could not be loaded or does not accept the declared inputs."""


class CheckError(MobileKitError):
    """A conversion, verification or budget check failed. Exit 1."""

    exit_code = 1


class VerifyFailed(CheckError):
    """`mobilekit verify` found artifacts that no longer pass: one line, plus the per-artifact report
    (what moved) that `--json` and `--junit-xml` print."""

    def __init__(self, failed: list[str], report: dict):
        super().__init__("verification failed: " + " | ".join(failed))
        self.report = report


class ConversionError(CheckError):
    def __init__(self, target: str, message: str, *, op: str | None = None, hint: str | None = None):
        where = f"{target}" + (f" (op {op})" if op else "")
        super().__init__(f"{where}: {message}", hint=hint)
        self.target = target
        self.op = op


class ParityError(CheckError):
    """An artifact's outputs drifted from the torch model beyond tolerance."""


class BudgetError(CheckError):
    """A size, latency or task-metric budget was broken."""


class BundleError(UserError):
    """A bundle is missing, partial, tampered with or of an unknown schema."""


class InternalError(MobileKitError):
    """A bug in mobilekit, not in the user's input."""

    exit_code = 3

    def one_line(self) -> str:
        return f"internal error (a bug in mobilekit, please report it): {self.message}"
