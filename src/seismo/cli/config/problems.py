"""`Problem`: one mistake in a config or its data, and `ConfigError`, which carries them all."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from seismo.errors import SeismoError


@dataclass(frozen=True)
class Problem:
    """One mistake in a config or its data: what kind, where (key, file or column), and what is wrong."""

    kind: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(SeismoError, ValueError):
    """The config (or its data) cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def did_you_mean(word: str, choices: list[str]) -> str:
    """A "did you mean" hint for a misspelt name, or an empty string."""
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
