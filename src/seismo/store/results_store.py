"""`ResultsStore`: monitoring results, runs and saved state in any SQLAlchemy database.

A run goes `begin_run` → `commit_run` (or `fail_run`). `commit_run` writes everything in
one transaction, so a process killed half-way leaves no partial rows, and the next
`begin_run` for that model marks the dead run failed. The `running` row is also the lock
that keeps two runs of one model apart: `begin_run` checks it while holding the model's
row lock (PostgreSQL `SELECT ... FOR UPDATE`, SQLite's write lock from `BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import getpass
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError

from seismo.errors import StoreError
from seismo.store import alert_rows, fault_points, frames
from seismo.store.process import ProcessIdentity
from seismo.store.tables import TABLES, check_name, current_version, migrate, seismo_version, utcnow

MODELS, RUNS, RESULTS, STATE = TABLES["models"], TABLES["runs"], TABLES["results"], TABLES["model_state"]
INSERT_BATCH = 5_000
IN_BATCH = 500  # values per SQL IN (...) list
_RUN_FIELDS = ["id", "model", "status", "started_at", "finished_at", "user", "host", "pid",
               "seismo_version", "config_hash", "settings", "row_count", "message"]


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _refusals(action: str) -> Callable[[_Method], _Method]:
    """Raise the database's refusals (a full disk, a read-only file or database, a lost server)
    as a `StoreError` that names the store and what could not be done, instead of a driver's
    exception: the caller (`seismo run`) then reports it as a store problem, not as a bug."""

    def decorate(method: _Method) -> _Method:
        @functools.wraps(method)
        def refused(self: ResultsStore, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except DBAPIError as exc:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
                raise StoreError(f"the store {self.where} could not {action}: {reason}") from exc
        # functools.wraps keeps the method's signature at run time; mypy types the wrapper apart
        return refused  # type: ignore[return-value]
    return decorate


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry or $USER
        return None


def _sqlite_transactions(engine: sa.Engine, read_only: bool) -> None:
    """Let SQLAlchemy, not the sqlite3 module, start transactions, so that reads are
    consistent and a writer takes the database lock up front (BEGIN IMMEDIATE)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if not read_only and engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")  # dashboards keep reading while a run writes
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("seismo_write") else "BEGIN")


def _sqlite_read_only(url: sa.URL, where: str) -> sa.URL:
    """``url`` as SQLite's read-only URI (``file:…?mode=ro``): no journal, no lock file is written."""
    database = url.database
    if database in (None, "", ":memory:"):
        raise StoreError(f"cannot open the store {where} read-only: it is an in-memory database")
    if not Path(database).is_file():
        raise StoreError(f"cannot open the store {where} read-only: {database} does not exist")
    path = Path(database).resolve()
    read_only = url.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
    try:  # a WAL database needs its -shm file, which a read-only folder cannot hold ...
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchall()
        return read_only
    except sqlite3.OperationalError:
        # ... unless it is opened as immutable: safe here, since no writer can be at work in a
        # folder where it could not create the -shm file either
        return url.set(database=f"file:{path}", query={"immutable": "1", "uri": "true"})


class ResultsStore:
    """Monitoring results in a database: SQLite by default, PostgreSQL in production.

    Parameters
    ----------
    url:
        Any SQLAlchemy URL, e.g. ``sqlite:///monitoring.db`` or
        ``postgresql://user@host/db`` (needs ``pip install 'seismo[postgres]'``). The schema is
        created or migrated on first use.
    stale_after:
        A ``running`` run older than this is taken for dead even when its process cannot be
        checked (it ran on another host). Default 12 hours.
    read_only:
        Only read: nothing is created or migrated, and every write raises `StoreError`. A
        SQLite file is opened in SQLite's read-only mode, so a file (or folder) the user may
        not write, a backup or a shared copy, can be reported on; PostgreSQL sessions are
        read-only transactions. The store must already hold seismo's current schema.
    """

    def __init__(self, url: str, *, stale_after: dt.timedelta = dt.timedelta(hours=12), read_only: bool = False):
        self.stale_after = stale_after
        self.read_only = read_only
        self.url = self._parse_url(url)
        self.where = self.url.render_as_string(hide_password=True)
        options: dict[str, Any] = {}
        connect_url = self.url
        if self.url.get_backend_name() == "sqlite":
            options["connect_args"] = {"timeout": 60}  # wait this long for another writer's lock
            if read_only:
                connect_url = _sqlite_read_only(self.url, self.where)
        else:
            options["pool_pre_ping"] = True  # a scheduled process outlives server restarts
            if read_only:
                options["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        try:
            self.engine = sa.create_engine(connect_url, **options)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            hint = " (pip install 'seismo[postgres]')" if self.url.get_backend_name() == "postgresql" else ""
            raise StoreError(f"cannot open the store {self.where}: {exc}{hint}") from None
        if self.engine.dialect.name == "sqlite":
            _sqlite_transactions(self.engine, read_only)
        try:
            self.schema_version = (current_version if read_only else migrate)(self.engine, self.where)
        except DBAPIError as exc:
            self.engine.dispose()
            hint = ""
            if not read_only and any(word in str(exc.orig) for word in ("readonly", "read-only", "unable to open")):
                hint = " (opening creates or migrates the schema; to only read it, open it with read_only=True)"
            raise StoreError(f"cannot open the store {self.where}: {exc.orig}{hint}") from None
        except StoreError:
            self.engine.dispose()
            raise

    @staticmethod
    def _parse_url(url: str) -> sa.URL:
        if not isinstance(url, (str, sa.URL)) or (isinstance(url, str) and "://" not in url):
            raise StoreError(f"store {url!r} is not a SQLAlchemy URL; for a SQLite file write sqlite:///{url}")
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"store {url!r} is not a valid SQLAlchemy URL: {exc}") from None
        if parsed.drivername == "postgresql":  # SQLAlchemy's default driver is psycopg2; seismo ships psycopg 3
            try:
                import psycopg2  # noqa: F401
            except ImportError:
                parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed

    def __repr__(self) -> str:
        return f"ResultsStore({self.where!r})"

    def close(self) -> None:
        """Release the connections; the store cannot be used afterwards."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> Any:
        """A connection whose transaction may write (on SQLite: takes the lock at BEGIN)."""
        if self.read_only:
            raise StoreError(f"the store {self.where} was opened read-only (read_only=True): nothing can be written")
        return self.engine.connect().execution_options(seismo_write=True)

    # ------------------------------------------------------------------ runs

    @_refusals("record a new run (nothing was written)")
    def begin_run(self, model: str, config_hash: str, *, user: str | None = None,
                  settings: dict | None = None) -> int:
        """Record a new run of `model` and return its id; refuse while another run of it is alive.

        Runs of `model` left ``running`` by a process that is gone (same host, pid ended) or
        that started more than `stale_after` ago are marked failed first.
        """
        if not isinstance(model, str) or not model.strip():
            raise StoreError(f"model must be a non-empty name, not {model!r}")
        check_name(model, "the model name")
        me = ProcessIdentity.current()
        try:
            settings_json = json.dumps(settings, sort_keys=True, default=str) if settings is not None else None
        except (TypeError, ValueError) as exc:
            raise StoreError(f"run settings cannot be stored as JSON: {exc}") from None
        self._ensure_model(model)
        now = utcnow()
        conflict = None
        with self._write() as conn, conn.begin():
            conn.execute(sa.select(MODELS.c.name).where(MODELS.c.name == model).with_for_update())
            running = conn.execute(
                sa.select(RUNS).where(RUNS.c.model == model, RUNS.c.status == "running").order_by(RUNS.c.id)
            ).all()
            for run in running:
                reason = self._why_dead(run, me, now)
                if reason is None:
                    conflict = run
                    continue
                # "still running" in the WHERE: a commit that finished meanwhile must not be undone
                conn.execute(RUNS.update().where(RUNS.c.id == run.id, RUNS.c.status == "running").values(
                    status="failed", finished_at=now, message=reason))
            fault_points.reached("begin_run:locked")
            if conflict is None:
                run_id = conn.execute(RUNS.insert().values(
                    model=model, status="running", started_at=now, user=user or _login(),
                    host=me.host, pid=me.pid, process_start=me.start, seismo_version=seismo_version(),
                    config_hash=config_hash, settings=settings_json,
                )).inserted_primary_key[0]
                fault_points.reached("begin_run:inserted")
        if conflict is not None:
            raise StoreError(
                f"model {model!r} is already being monitored by run {conflict.id} (started "
                f"{conflict.started_at:%Y-%m-%d %H:%M:%S} UTC by {conflict.user} on {conflict.host}, pid "
                f"{conflict.pid}); wait for it to finish, or if that process is gone mark it failed with "
                f"fail_run({conflict.id}, ...)"
            )
        return int(run_id)

    def _why_dead(self, run: Any, me: ProcessIdentity, now: dt.datetime) -> str | None:
        """Why a `running` run cannot still be running, or None when it may be."""
        if now - run.started_at > self.stale_after:
            return f"no result after {self.stale_after}; taken for dead (process on {run.host}, pid {run.pid})"
        if run.host == me.host and ProcessIdentity(run.host, run.pid, run.process_start).is_gone():
            return f"its process (pid {run.pid} on {run.host}) ended without committing"
        return None

    def _ensure_model(self, model: str) -> None:
        try:
            with self._write() as conn, conn.begin():
                if conn.execute(sa.select(MODELS.c.name).where(MODELS.c.name == model)).first() is None:
                    conn.execute(MODELS.insert().values(name=model, created_at=utcnow()))
        except IntegrityError:  # another process created it between our read and insert
            pass

    def _running_run(self, conn: Connection, run_id: int, model: str) -> Any:
        run = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id).with_for_update()).first()
        if run is None:
            raise StoreError(f"run {run_id} is not in the store {self.where}")
        if run.model != model:
            raise StoreError(f"run {run_id} belongs to model {run.model!r}, not {model!r}")
        if run.status != "running":
            why = f" ({run.message})" if run.message else ""
            raise StoreError(f"run {run_id} of model {model!r} is {run.status}{why}; start a new one with begin_run")
        return run

    @_refusals("write the run's results (none of them were stored; what was stored before is unchanged)")
    def commit_run(self, run_id: int, model: str, results: pd.DataFrame,
                   state: dict[str, bytes] | None = None) -> int:
        """Write `results` (a `Report.to_df()`) and `state` in one transaction; return the rows written.

        Stored rows of `model` with the same calculator, period, chunk_key, column and metric
        as a new row are replaced, so re-running the same data does not duplicate it; a
        positional chunk that grew (incremental runs) is replaced by its start (`_delete_replaced`).
        """
        rows, dtypes = frames.to_rows(results, model, run_id)
        state = dict(state or {})
        for key, value in state.items():
            if not isinstance(key, str) or not key:
                raise StoreError(f"state keys must be non-empty strings, not {key!r}")
            check_name(key, "the state key")
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise StoreError(f"state[{key!r}] must be bytes, not {type(value).__name__}")
        with self._write() as conn, conn.begin():
            self._running_run(conn, run_id, model)
            self._delete_replaced(conn, model, rows)
            fault_points.reached("commit_run:deleted")
            for done, batch in enumerate(_batches(rows, INSERT_BATCH), start=1):
                self._insert(conn, batch)
                fault_points.reached("commit_run:rows", inserted=min(done * INSERT_BATCH, len(rows)), total=len(rows))
            now = utcnow()
            if state:
                conn.execute(STATE.delete().where(STATE.c.model == model, STATE.c.key.in_(list(state))))
                conn.execute(STATE.insert(), [
                    {"model": model, "key": k, "value": bytes(v), "run_id": run_id, "updated_at": now}
                    for k, v in state.items()
                ])
            fault_points.reached("commit_run:state")
            conn.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                status="succeeded", finished_at=now, row_count=len(rows), result_columns=json.dumps(dtypes)))
            fault_points.reached("commit_run:marked")
        fault_points.reached("commit_run:committed")
        return len(rows)

    @staticmethod
    def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
        for batch in _batches(rows, INSERT_BATCH):  # executemany, a batch at a time to bound memory
            conn.execute(RESULTS.insert(), batch)

    def _delete_replaced(self, conn: Connection, model: str, rows: list[dict[str, Any]]) -> None:
        """Delete the stored rows of `model` that `rows` replace: the same (calculator, period,
        chunk_key, segment, column, metric), or, for a positional chunk (``[start:end]``), the
        same start, segment, column and metric.

        The second rule is for incremental runs: a still-open size chunk keeps its start while
        its key's end grows (``[3000:4320]`` becomes ``[3000:5999]``). Period keys (``2026-W07``)
        are matched by key only, because a windowed source may put another period at the same
        position. Candidates are found chunk by chunk (through ``ix_results_chunk``, which
        leaves the segment out: it only narrows the search, the segment is compared here) and
        deleted by id. A row's segment is part of its key, None (the overall rows, and every
        row stored before segments) included: re-writing segment ``region=north`` of a chunk
        leaves the chunk's overall rows and its other segments' rows stored. A grown positional
        chunk (same start, a new key) replaces every row of its earlier, shorter version.
        """
        wanted = {tuple(r[k] for k in frames.KEY_COLUMNS) for r in rows}
        chunks: dict[tuple[str, str], set[str]] = defaultdict(set)
        for calculator, period, chunk_key, *_ in wanted:
            chunks[(calculator, period)].add(chunk_key)
        by_start: dict[tuple[str, str], set[int]] = defaultdict(set)
        wanted_by_start = set()
        new_keys: dict[tuple[str, str, int], str] = {}
        for r in rows:
            if str(r["chunk_key"]).startswith("["):
                by_start[(r["calculator"], r["period"])].add(int(r["chunk_start_index"]))
                wanted_by_start.add((r["calculator"], r["period"], int(r["chunk_start_index"]), r["segment"],
                                     r["column"], r["metric"]))
                new_keys[(r["calculator"], r["period"], int(r["chunk_start_index"]))] = str(r["chunk_key"])
        doomed: list[int] = []
        key_columns = [RESULTS.c[k] for k in frames.KEY_COLUMNS]
        for (calculator, period), keys in chunks.items():
            for batch in _batches(sorted(keys), IN_BATCH):
                found = conn.execute(sa.select(RESULTS.c.id, *key_columns).where(
                    RESULTS.c.model == model, RESULTS.c.calculator == calculator,
                    RESULTS.c.period == period, RESULTS.c.chunk_key.in_(batch)))
                doomed.extend(row[0] for row in found if tuple(row[1:]) in wanted)
        for (calculator, period), starts in by_start.items():
            for batch in _batches(sorted(starts), IN_BATCH):
                found = conn.execute(sa.select(RESULTS.c.id, RESULTS.c.chunk_start_index, RESULTS.c.segment,
                                               RESULTS.c.column, RESULTS.c.metric, RESULTS.c.chunk_key).where(
                    RESULTS.c.model == model, RESULTS.c.calculator == calculator, RESULTS.c.period == period,
                    RESULTS.c.chunk_key.startswith("["), RESULTS.c.chunk_start_index.in_(batch)))
                # a grown chunk supersedes every row of its shorter self, segments included: a segment merged
                # into "(other)" while the chunk was small is a segment of its own once the chunk has grown
                doomed.extend(row[0] for row in found
                              if (calculator, period, int(row[1]), *row[2:5]) in wanted_by_start
                              or row[5] != new_keys[(calculator, period, int(row[1]))])
        for batch in _batches(sorted(set(doomed)), IN_BATCH):
            conn.execute(RESULTS.delete().where(RESULTS.c.id.in_(batch)))

    @_refusals("mark the run failed")
    def fail_run(self, run_id: int, message: str) -> None:
        """Mark a running run failed with `message`; a run already failed keeps its first message."""
        with self._write() as conn, conn.begin():
            run = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id).with_for_update()).first()
            if run is None:
                raise StoreError(f"run {run_id} is not in the store {self.where}")
            if run.status == "succeeded":
                raise StoreError(f"run {run_id} of model {run.model!r} already succeeded; it cannot fail")
            if run.status == "running":
                conn.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                    status="failed", finished_at=utcnow(), message=str(message)))

    # ------------------------------------------------------------------ reading

    @_refusals("list its models")
    def models(self) -> list[str]:
        """Every model that has had a run, sorted."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(MODELS.c.name).order_by(MODELS.c.name)).scalars())

    def _check_model(self, conn: Connection, model: str) -> None:
        if conn.execute(sa.select(MODELS.c.name).where(MODELS.c.name == model)).first() is None:
            known = list(conn.execute(sa.select(MODELS.c.name).order_by(MODELS.c.name)).scalars())
            close = difflib.get_close_matches(model, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it has {known}"
            raise StoreError(f"model {model!r} is not in the store {self.where}{hint}")

    @_refusals("read runs")
    def runs(self, model: str | None = None) -> pd.DataFrame:
        """One row per run (of `model`, or of every model), oldest first; `settings` as a dict."""
        query = sa.select(*[RUNS.c[f] for f in _RUN_FIELDS]).order_by(RUNS.c.id)
        with self.engine.connect() as conn:
            if model is not None:
                self._check_model(conn, model)
                query = query.where(RUNS.c.model == model)
            rows = conn.execute(query).all()
        df = pd.DataFrame.from_records(rows, columns=_RUN_FIELDS).rename(columns={"id": "run_id"})
        df["settings"] = [json.loads(s) if isinstance(s, str) else None for s in df["settings"]]
        for name in ("started_at", "finished_at"):
            df[name] = pd.to_datetime(df[name]).astype("datetime64[us]")
        df["row_count"] = df["row_count"].astype("Int64")
        return df

    @_refusals("read results")
    def results(self, model: str, *, calculator: str | Iterable[str] | None = None,
                metric: str | Iterable[str] | None = None, column: str | Iterable[str] | None = None,
                period: str | None = None, since: Any = None, segments: str | Iterable[str] | None = None,
                overall_only: bool = False) -> pd.DataFrame:
        """The stored rows of `model`, as `commit_run` was given them (same columns and dtypes).

        Ordered by calculator, period (reference first) and chunk_index. `since` keeps the
        chunks that start at or after it (a date, or anything `pd.Timestamp` reads; naive
        means UTC).

        Segments: by default (``segments=None``, or ``"*"``) every row is returned, the overall
        rows (``segment`` None) and every segment's. ``segments`` keeps the rows of the named
        segment labels only, e.g. ``"region=north"`` or ``["region=north", "region=(other)"]``;
        a label is matched exactly, and no label is special (a segment named ``overall`` is just
        that). ``overall_only=True`` keeps only the overall rows: those of unsegmented
        calculators and the whole-chunk rows of segmented ones, which is every row a store held
        before segments existed. Passing both is a `StoreError`.
        """
        names = [c.name for c in RESULTS.columns if c.name not in ("id", "model")]
        query = sa.select(*[RESULTS.c[n] for n in names]).where(RESULTS.c.model == model)
        for name, value in (("calculator", calculator), ("metric", metric), ("column", column)):
            values = _as_list(value)
            if values is not None:
                query = query.where(RESULTS.c[name].in_(values))
        labels = None if segments == "*" else _as_list(segments)
        if overall_only and labels is not None:
            raise StoreError(f"pass segments ({labels}) or overall_only=True, not both: overall_only keeps only "
                             "the rows of no segment")
        if overall_only:
            query = query.where(RESULTS.c.segment.is_(None))
        elif labels is not None:
            query = query.where(RESULTS.c.segment.in_(labels))
        if period not in (None, "all"):
            if period not in frames.PERIODS:
                raise StoreError(f"period is {period!r}; use 'reference', 'analysis' or None for both")
            query = query.where(RESULTS.c.period == period)
        if since is not None:
            start = pd.Timestamp(since)
            if start.tzinfo is not None:
                start = start.tz_convert("UTC").tz_localize(None)
            query = query.where(RESULTS.c.chunk_start_date >= start.to_pydatetime())
        with self.engine.connect() as conn, conn.begin():
            self._check_model(conn, model)
            return self._fetch(conn, model, query, names)

    @_refusals("read results")
    def standing(self, model: str, *, estimator: str, withheld: str) -> tuple[pd.DataFrame, dt.datetime | None]:
        """What a run reports as standing, read without the whole history, and the last chunk's end.

        The rows: every analysis row that alerts, and every analysis row of ``estimator``'s chunks
        where some estimate is withheld (its ``trust`` is ``withheld``), so that
        `seismo.monitor.report.cannot_judge` decides over all of such a chunk's rows. The
        counts, the alerting calculators and the blind chunks computed from them equal those
        of `results` (``period="analysis"``), while a long-lived job reads a handful of rows
        per run instead of every stored row (issue 12's soak: reading them all made the time
        per run grow with the history). The end: the latest ``chunk_end_date`` stored.
        """
        names = [c.name for c in RESULTS.columns if c.name not in ("id", "model")]
        analysis = (RESULTS.c.model == model) & (RESULTS.c.period == "analysis")
        # extras are written compactly (frames.to_rows); matching more than the trust key is harmless:
        # such a chunk's rows are read and cannot_judge looks at its real trust values
        marker = f"%{json.dumps('trust')}:{json.dumps(withheld)}%"
        blind_chunks = sa.select(RESULTS.c.chunk_index).where(
            analysis, RESULTS.c.calculator == estimator, RESULTS.c.extras.like(marker))
        # two indexed look-ups (ix_results_alert, ix_results_chunk), not one OR that walks every row
        alerting = sa.select(RESULTS.c.id).where(analysis, RESULTS.c.alert == sa.true())
        blind = sa.select(RESULTS.c.id).where(analysis, RESULTS.c.calculator == estimator,
                                              RESULTS.c.chunk_index.in_(blind_chunks))
        query = sa.select(*[RESULTS.c[n] for n in names]).where(RESULTS.c.id.in_(sa.union(alerting, blind)))
        with self.engine.connect() as conn, conn.begin():
            self._check_model(conn, model)
            until = conn.execute(sa.select(sa.func.max(RESULTS.c.chunk_end_date)).where(analysis)).scalar()
            return self._fetch(conn, model, query, names), until

    def _fetch(self, conn: Connection, model: str, query: Any, names: list[str]) -> pd.DataFrame:
        """The rows of ``query`` in `results`' order, as `commit_run` was given them."""
        reference_first = sa.case((RESULTS.c.period == "reference", 0), else_=1)
        query = query.order_by(RESULTS.c.calculator, reference_first, RESULTS.c.chunk_index, RESULTS.c.id)
        rows = conn.execute(query).all()
        run_ids = sorted({row.run_id for row in rows})
        if not rows:  # no rows, but the columns the model's last run wrote
            run_ids = list(conn.execute(sa.select(RUNS.c.id).where(
                RUNS.c.model == model, RUNS.c.status == "succeeded").order_by(RUNS.c.id.desc()).limit(1)).scalars())
        written: dict[int, str] = {}  # run id -> its result columns (JSON)
        for batch in _batches(run_ids, IN_BATCH):
            written.update(conn.execute(sa.select(RUNS.c.id, RUNS.c.result_columns).where(
                RUNS.c.id.in_(batch))).all())
        dtypes: dict[str, str] = {}
        for run_id in reversed(run_ids):  # the newest run decides the order and dtype of a column
            for name, dtype in json.loads(written[run_id]).items():
                dtypes.setdefault(name, dtype)
        return frames.from_rows(rows, names, dtypes or frames.REPORT_DTYPES)

    # ------------------------------------------------------------------ alerts

    @_refusals("read alerts")
    def alerts(self, model: str, *, status: str | None = None) -> pd.DataFrame:
        """The model's alerts (`seismo.alerts`), oldest first: ``status`` ``"open"`` or ``"resolved"``, or both
        (None); one row per model × calculator × column × metric × segment breach, ``deliveries`` a dict."""
        with self.engine.connect() as conn, conn.begin():
            return alert_rows.read(conn, model, status)

    @contextlib.contextmanager
    def alert_writes(self) -> Iterator[Connection]:
        """One write transaction for `seismo.store.alert_rows`' functions (on SQLite: the write lock from BEGIN,
        so two runs' changes to the alerts follow one another)."""
        with self._write() as conn, conn.begin():
            yield conn

    @_refusals("read the saved state")
    def load_state(self, model: str) -> dict[str, bytes]:
        """The state blobs saved by the model's runs, by key; {} for a model never run."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(STATE.c.key, STATE.c.value).where(STATE.c.model == model)).all()
        return {key: bytes(value) for key, value in rows}
