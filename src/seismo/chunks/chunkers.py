"""Cutting a period's rows into chunks.

Rows are already in time order when a chunker sees them (stable sort by the
timestamp when there is one), so every chunk is a contiguous range of rows. The
reference and the analysis sets are chunked separately with the same rule.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seismo._typing import Incomplete
from seismo.errors import InvalidConfiguration, InvalidData, SeismoWarning

DEFAULT_CHUNK_NUMBER = 10
DEFAULT_INCOMPLETE: Incomplete = "keep"  # a short last chunk is kept as it is
MIN_RELIABLE_REFERENCE_CHUNKS = 6
#: fewer rows than this in a chunk and its value is mostly noise: sampling errors and thresholds
#: rest on a normal approximation that the usual rule of thumb (n >= 30) no longer supports, and
#: rank metrics such as ROC AUC are often undefined (a one- or two-row chunk rarely holds both classes)
MIN_RELIABLE_CHUNK_ROWS = 30
PERIOD_ALIASES = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y", "A": "Y"}


@dataclass(frozen=True)
class Chunk:
    """Rows ``start`` to ``stop - 1`` of the (time-sorted) data."""

    index: int
    key: str
    start: int
    stop: int
    start_date: np.datetime64 | None = None
    end_date: np.datetime64 | None = None

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def rows(self) -> slice:
        return slice(self.start, self.stop)


def _with_dates(chunks: list[Chunk], timestamps: np.ndarray | None) -> list[Chunk]:
    if timestamps is None:
        return chunks
    return [
        Chunk(c.index, c.key, c.start, c.stop, timestamps[c.start], timestamps[c.stop - 1])
        for c in chunks
    ]


def _positional(bounds: list[tuple[int, int]]) -> list[Chunk]:
    return [Chunk(i, f"[{a}:{b - 1}]", a, b) for i, (a, b) in enumerate(bounds)]


class Chunker(ABC):
    """Decides where chunks start and stop. Subclass it for a custom rule."""

    @abstractmethod
    def split(self, n_rows: int, timestamps: np.ndarray | None = None) -> list[Chunk]:
        """Chunks covering (some of) rows ``0..n_rows-1``, in order."""

    def min_rows(self) -> int:
        """Fewest rows that make one complete chunk."""
        return 1


class SizeChunker(Chunker):
    """Chunks of ``chunk_size`` rows; the last incomplete one is kept, appended or dropped."""

    def __init__(self, chunk_size: int, incomplete: Incomplete = DEFAULT_INCOMPLETE):
        if int(chunk_size) < 1:
            raise InvalidConfiguration(f"chunk_size must be a positive integer, got {chunk_size!r}")
        if incomplete not in ("keep", "append", "drop"):
            raise InvalidConfiguration(
                f"incomplete is {incomplete!r}; use 'keep', 'append' or 'drop'"
            )
        self.chunk_size = int(chunk_size)
        self.incomplete = incomplete

    def min_rows(self) -> int:
        return self.chunk_size

    def split(self, n_rows: int, timestamps: np.ndarray | None = None) -> list[Chunk]:
        size = self.chunk_size
        starts = list(range(0, n_rows, size))
        bounds = [(s, min(s + size, n_rows)) for s in starts]
        if bounds and bounds[-1][1] - bounds[-1][0] < size:
            if self.incomplete == "drop":
                a, b = bounds.pop()
                warnings.warn(
                    f"{b - a} rows after the last complete chunk of {size} were dropped "
                    "(incomplete='drop')",
                    SeismoWarning,
                    stacklevel=3,
                )
            elif self.incomplete == "append" and len(bounds) > 1:
                a, b = bounds.pop()
                bounds[-1] = (bounds[-1][0], b)
        return _with_dates(_positional(bounds), timestamps)


class CountChunker(Chunker):
    """``chunk_number`` chunks of (nearly) equal size."""

    def __init__(self, chunk_number: int = DEFAULT_CHUNK_NUMBER):
        if int(chunk_number) < 1:
            raise InvalidConfiguration(f"chunk_number must be a positive integer, got {chunk_number!r}")
        self.chunk_number = int(chunk_number)

    def min_rows(self) -> int:
        return self.chunk_number

    def split(self, n_rows: int, timestamps: np.ndarray | None = None) -> list[Chunk]:
        n = min(self.chunk_number, n_rows)
        edges = np.linspace(0, n_rows, n + 1).round().astype(int) if n else np.array([0])
        bounds = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        return _with_dates(_positional(bounds), timestamps)


def period_label(period: pd.Period, alias: str) -> str:
    """Readable key of a calendar period (ISO weeks as ``2024-W07``)."""
    if alias == "W":
        start = period.start_time
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return str(period)


class PeriodChunker(Chunker):
    """One chunk per calendar period (pandas aliases ``D``, ``W``, ``M``, ``Q``, ``Y``)."""

    def __init__(self, period: str = "M"):
        alias = PERIOD_ALIASES.get(str(period).upper())
        if alias is None:
            raise InvalidConfiguration(
                f"chunk_period is {period!r}; use one of {sorted(set(PERIOD_ALIASES.values()))}"
            )
        self.period = alias

    def split(self, n_rows: int, timestamps: np.ndarray | None = None) -> list[Chunk]:
        if timestamps is None:
            raise InvalidConfiguration("chunk_period needs a timestamp column; pass timestamp=...")
        if n_rows == 0:
            return []
        periods = pd.PeriodIndex(pd.DatetimeIndex(timestamps), freq=self.period)
        codes = periods.asi8
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        stops = np.r_[starts[1:], n_rows]
        return [
            Chunk(i, period_label(periods[a], self.period), int(a), int(b), timestamps[a], timestamps[b - 1])
            for i, (a, b) in enumerate(zip(starts, stops))
        ]


def make_chunker(
    chunk_size: int | None = None,
    chunk_number: int | None = None,
    chunk_period: str | None = None,
    chunker: Chunker | None = None,
    incomplete: Incomplete = DEFAULT_INCOMPLETE,
) -> Chunker:
    """The one chunker the arguments ask for; ten chunks when none is asked for."""
    given = [n for n, v in [("chunk_size", chunk_size), ("chunk_number", chunk_number),
                            ("chunk_period", chunk_period), ("chunker", chunker)] if v is not None]
    if len(given) > 1:
        raise InvalidConfiguration(f"give only one of chunk_size, chunk_number, chunk_period, chunker; got {given}")
    if chunker is not None:
        if not isinstance(chunker, Chunker):
            raise InvalidConfiguration(f"chunker must be a seismo.Chunker, got {type(chunker).__name__}")
        return chunker
    if chunk_size is not None:
        return SizeChunker(chunk_size, incomplete)
    if chunk_period is not None:
        return PeriodChunker(chunk_period)
    return CountChunker(chunk_number if chunk_number is not None else DEFAULT_CHUNK_NUMBER)


def chunk_reference(chunker: Chunker, n_rows: int, timestamps: np.ndarray | None) -> list[Chunk]:
    """Chunk the reference, refusing too little data and warning about too few chunks."""
    check_reference_rows(chunker, n_rows)
    chunks = chunker.split(n_rows, timestamps)
    warn_few_reference_chunks(len(chunks), [c.size for c in chunks])
    return chunks


def check_reference_rows(chunker: Chunker, n_rows: int) -> None:
    """Refuse a reference too small for one chunk."""
    if n_rows < chunker.min_rows():
        raise InvalidData(
            f"the reference set has {n_rows} rows, fewer than one chunk needs ({chunker.min_rows()})"
        )


def warn_few_reference_chunks(n_chunks: int, sizes: list[int] | None = None) -> None:
    """Warn when thresholds rest on too few reference chunks, or on chunks too small to mean much.

    The second case is the silent one: a reference of 15 rows cut by the default
    ``chunk_number=10`` makes ten chunks of 1-2 rows, enough chunks but each one noise, so the
    thresholds learned from them are meaningless (every analysis chunk may alert).
    """
    if n_chunks < MIN_RELIABLE_REFERENCE_CHUNKS:
        warnings.warn(
            f"the reference set makes only {n_chunks} chunks; thresholds learned from fewer "
            f"than {MIN_RELIABLE_REFERENCE_CHUNKS} chunks are unreliable",
            SeismoWarning,
            stacklevel=4,
        )
    small = [s for s in sizes or [] if s < MIN_RELIABLE_CHUNK_ROWS]
    if small:
        spread = f"{min(small)}" if min(small) == max(small) else f"{min(small)}-{max(small)}"
        warnings.warn(
            f"{len(small)} of the {n_chunks} reference chunks hold only {spread} rows (fewer than "
            f"{MIN_RELIABLE_CHUNK_ROWS}); thresholds and sampling errors learned from them are unreliable, and "
            "estimates are marked trust 'low'. Give a larger reference or larger chunks (chunk_size=, "
            "chunk_number=, chunk_period=)",
            SeismoWarning,
            stacklevel=4,
        )
