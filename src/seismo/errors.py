"""The few error and warning classes seismo raises, all in one module.

Every message names the column or key, what was found, and what would be valid.
"""

from __future__ import annotations


class SeismoError(Exception):
    """Base class of every error seismo raises on purpose."""


class ColumnNotFound(SeismoError, KeyError):
    """A column given a role is not in the data."""

    def __init__(self, column: str, where: str, available: list[str]):
        shown = available[:20] + (["..."] if len(available) > 20 else [])
        super().__init__(f"{column!r} is not in the {where} data; it has: {shown}")
        self.column = column

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class InvalidData(SeismoError, ValueError):
    """Values in a column break the data contract (range, type, classes, parse)."""


class InvalidConfiguration(SeismoError, ValueError):
    """Arguments that contradict each other or name something unknown."""


class NotFittedError(SeismoError, RuntimeError):
    """A calculator was used before `fit`."""


class PersistError(SeismoError, ValueError):
    """A saved object could not be written or read back: names the file, class or attribute path."""


class StoreError(SeismoError, RuntimeError):
    """The results store cannot do what was asked: unreachable, newer schema, concurrent run, bad input."""


class SeismoWarning(UserWarning):
    """Something the user should know that does not stop the run."""
