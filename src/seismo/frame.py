"""A period's data after the edge: needed columns, sorted by time, read once."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .io import DataLike, datetime_values, float_values, read_table, string_values


@dataclass
class Frame:
    """The rows of one period (reference or analysis) in time order.

    Columns are converted to numpy on first use and cached, so each column is
    converted once however many statistics read it.
    """

    table: pa.Table
    timestamps: np.ndarray | None
    where: str
    _floats: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _strings: dict[str, pa.ChunkedArray] = field(default_factory=dict, repr=False)

    @property
    def n_rows(self) -> int:
        return self.table.num_rows

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(name)

    def floats(self, name: str) -> np.ndarray:
        if name not in self._floats:
            self._floats[name] = float_values(self.table.column(name), name)
        return self._floats[name]

    def strings(self, name: str) -> pa.ChunkedArray:
        if name not in self._strings:
            self._strings[name] = string_values(self.table.column(name))
        return self._strings[name]


def load_frame(
    data: DataLike, columns: list[str] | None, timestamp: str | None, where: str
) -> Frame:
    """Read ``columns`` of ``data`` and stable-sort the rows by ``timestamp``.

    Data already in time order keeps its row positions (no copy is made).
    """
    if columns is not None and timestamp is not None and timestamp not in columns:
        columns = [*columns, timestamp]
    table = read_table(data, columns, where)
    stamps = None
    if timestamp is not None:
        stamps = datetime_values(table.column(timestamp), timestamp)
        if stamps.size > 1 and np.any(stamps[1:] < stamps[:-1]):
            order = np.argsort(stamps, kind="stable")
            table = table.take(pa.array(order))
            stamps = stamps[order]
    return Frame(table, stamps, where)
