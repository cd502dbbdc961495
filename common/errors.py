"""The package's user-facing errors: a mistake a user can make and mend, with a message that
says what to do. The command lines turn exactly these into one line on stderr and exit 2;
any other exception is a bug and keeps its traceback."""

from __future__ import annotations

__all__ = ["DataError", "DistributeError", "InputError", "RunError", "UsageError",
           "UserError"]


class UserError(ValueError):
    """Base of the errors a user can mend; the message says how."""


class UsageError(UserError):
    """A command line that cannot be carried out."""


class DataError(UserError):
    """Data that cannot be read or used (missing file, wrong format, too few examples)."""


class RunError(UserError):
    """A run folder that cannot be used as asked (missing, damaged, already taken)."""


class DistributeError(UserError):
    """A tf.distribute strategy or precision that cannot be set up here."""


class InputError(UserError):
    """Inputs to a model that it cannot take (wrong type, shape or range)."""
