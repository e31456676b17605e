"""Reading the config's data sources: paths go straight to seismo, SQL goes through SQLAlchemy.

A path (a parquet or CSV file, a glob, or a directory) is handed to the calculators as
is: seismo reads those itself, column by column, so nothing is loaded twice. A SQL
source ``{url, query}`` is run once with pandas and handed over as a DataFrame.
`schema`, `sample` and `row_count` serve `seismo validate`, which must look at the
data without reading all of it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from seismo._typing import DataLike
from seismo.cli.config import Config, Source
from seismo.data.io import expand_path, read_schema, read_table
from seismo.errors import SeismoError


class SourceError(SeismoError, ValueError):
    """A data source cannot be read; ``where`` names the config key or the file."""

    def __init__(self, kind: str, where: str, message: str):
        self.kind, self.where = kind, where
        super().__init__(f"{where}: {message}")


def _source(config: Config, period: str) -> Source:
    source = getattr(config.data, period)
    if source is None:
        raise SourceError("missing_key", f"data.{period}", "no such source in the config")
    return source


def files(config: Config, period: str) -> list[str]:
    """The files a path source matches; `SourceError` when it matches none."""
    source = _source(config, period)
    try:
        return expand_path(config.path_of(source.file_path))
    except SeismoError as exc:
        raise SourceError("no_files", f"data.{period}", f"{exc} (from {source.path!r})") from None


def _verbatim(query: str) -> Any:
    """The user's SQL as a SQLAlchemy ``text`` that runs exactly as written.

    ``text`` reads ``:name`` as a bind parameter, so a literal such as ``'2024-03-01 10:30:00'``
    or ``'a:b'`` failed with "A value is required for bind parameter '30'". A source query takes
    no parameters: every colon is escaped (``\\:``, which ``text`` turns back into ``:``), so
    literals and PostgreSQL's ``::`` casts reach the database unchanged.
    """
    import sqlalchemy

    return sqlalchemy.text(query.replace(":", "\\:"))


def _query(config: Config, period: str, statement: Any = None) -> pd.DataFrame:
    """Run ``statement`` (default: the source's own query) and return its rows."""
    import sqlalchemy

    url, query = _source(config, period).sql
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return pd.read_sql(_verbatim(query) if statement is None else statement, connection)
    except (sqlalchemy.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise SourceError("sql_error", f"data.{period}.query", f"the query failed: {reason}") from None
    finally:
        engine.dispose()


def _subquery(config: Config, period: str) -> Any:
    """The source's query as a SQLAlchemy subquery: each database's compiler then writes the
    alias, the row limit (LIMIT, TOP, FETCH FIRST) and the count in its own dialect."""
    query = _source(config, period).sql[1].strip().rstrip(";")
    return _verbatim(query).columns().subquery("seismo_source")


def _first_rows(config: Config, period: str, rows: int) -> Any:
    import sqlalchemy

    return sqlalchemy.select(sqlalchemy.literal_column("*")).select_from(_subquery(config, period)).limit(int(rows))


def _count(config: Config, period: str) -> Any:
    import sqlalchemy

    return sqlalchemy.select(sqlalchemy.func.count().label("n")).select_from(_subquery(config, period))


def read(config: Config, period: str) -> DataLike:
    """What a calculator accepts for one period: a resolved path, or the query's rows as a DataFrame."""
    source = _source(config, period)
    if source.is_sql:
        return _query(config, period)
    files(config, period)  # a clear error naming the key when nothing matches
    return config.path_of(source.file_path)


def schema(config: Config, period: str) -> pa.Schema:
    """Column names and types without reading the values (SQL: from the first rows)."""
    source = _source(config, period)
    if source.is_sql:
        return sample(config, period, rows=100).schema
    files(config, period)  # names the key when nothing matches
    try:
        return read_schema(config.path_of(source.file_path), period)
    except (OSError, pa.ArrowException, SeismoError) as exc:
        raise SourceError("file_unreadable", f"data.{period}", f"cannot read {source.path!r}: {exc}") from None


def sample(config: Config, period: str, columns: list[str] | None = None, rows: int = 10_000) -> pa.Table:
    """The first ``rows`` rows (only ``columns``), for checks that look at values."""
    source = _source(config, period)
    if source.is_sql:
        frame = _query(config, period, _first_rows(config, period, rows))
        return read_table(frame, [c for c in (columns or frame.columns) if c in frame.columns], period)
    matched = files(config, period)
    try:
        return _dataset(matched).head(rows, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise SourceError("file_unreadable", f"data.{period}", f"cannot read {source.path!r}: {exc}") from None


def column(config: Config, period: str, name: str) -> pa.ChunkedArray:
    """Every value of one column (e.g. the ids of the targets, to find duplicates)."""
    source = _source(config, period)
    if source.is_sql:  # SELECT *: a column name would need the database's own quoting rules
        return read_table(_query(config, period), [name], period).column(name)
    return _dataset(files(config, period)).to_table(columns=[name]).column(name)


def row_count(config: Config, period: str) -> int:
    """Rows in a source; from parquet metadata where possible."""
    source = _source(config, period)
    if source.is_sql:
        return int(_query(config, period, _count(config, period))["n"].iloc[0])
    return _dataset(files(config, period)).count_rows()


def _dataset(matched: list[str]) -> pads.Dataset:
    fmt = "csv" if matched[0].lower().endswith(".csv") else "parquet"
    return pads.dataset(matched, format=fmt)
