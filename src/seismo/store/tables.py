"""The store's tables and the versioned steps that create and migrate them.

`TABLES` describes the schema as the code queries it today. `MIGRATIONS` lists the DDL
steps that bring a database from one version to the next; step ``i`` (1-based) moves a
store from version ``i - 1`` to ``i``. A released step is never edited: a change to the
schema is a new step at the end (``ALTER TABLE ... ADD COLUMN``, a new index, a data
fix), plus the matching change to `TABLES`. Step 1 therefore builds its tables from its
own frozen definition, `_tables_v1`, not from `TABLES`, and later steps name what they
add themselves. See docs/store.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import metadata as importlib_metadata

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from seismo.errors import StoreError

# Row-id types: SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants BIGINT
# for a table that grows by every chunk × column × metric of every run.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NAME = 200  # model, calculator, metric and state-key names
_SEGMENT = 400  # segment labels: "region=north, channel=web" (version 3)
_PG_MIGRATION_LOCK = 0x5E15_3000  # pg_advisory_xact_lock key: one migrator at a time


def _tables_v1(meta: sa.MetaData) -> dict[str, sa.Table]:
    """The schema as version 1 created it. Frozen: never edit, add a migration instead."""
    version = sa.Table(
        "schema_version",
        meta,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("applied_at", sa.DateTime, nullable=False),
        sa.Column("seismo_version", sa.String(40), nullable=False),
    )
    models = sa.Table(
        "models",
        meta,
        sa.Column("name", sa.String(_NAME), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    runs = sa.Table(
        "runs",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(_NAME), sa.ForeignKey("models.name"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # running | succeeded | failed
        sa.Column("started_at", sa.DateTime, nullable=False),  # UTC
        sa.Column("finished_at", sa.DateTime),
        sa.Column("user", sa.String(200)),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("process_start", sa.String(40)),  # tells a reused pid from the original process
        sa.Column("seismo_version", sa.String(40), nullable=False),
        sa.Column("config_hash", sa.String(128), nullable=False),
        sa.Column("settings", sa.Text),  # JSON
        sa.Column("row_count", sa.Integer),
        sa.Column("message", sa.Text),  # why a run failed
        sa.Column("result_columns", sa.Text),  # JSON {column: pandas dtype}, in written order
        sa.Index("ix_runs_model_status", "model", "status"),
        sqlite_autoincrement=True,  # a run id is never reused, even after deletes
    )
    results = sa.Table(
        "results",
        meta,
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(_NAME), sa.ForeignKey("models.name"), nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("calculator", sa.String(_NAME), nullable=False),
        sa.Column("chunk_index", sa.Integer, nullable=False),
        sa.Column("chunk_key", sa.String(_NAME), nullable=False),
        sa.Column("chunk_start_index", sa.BigInteger),
        sa.Column("chunk_end_index", sa.BigInteger),
        sa.Column("chunk_start_date", sa.DateTime),  # UTC when the data was time-zone aware
        sa.Column("chunk_end_date", sa.DateTime),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("column", sa.String(_NAME)),  # null for model-level metrics
        sa.Column("metric", sa.String(_NAME), nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("sampling_error", sa.Double),
        sa.Column("lower_confidence", sa.Double),
        sa.Column("upper_confidence", sa.Double),
        sa.Column("lower_threshold", sa.Double),
        sa.Column("upper_threshold", sa.Double),
        sa.Column("alert", sa.Boolean, nullable=False),
        sa.Column("realized", sa.Double),
        sa.Column("extras", sa.Text),  # JSON of any further columns (p_value, trust, ...)
        # Replacing re-written chunks, and reading one calculator in chunk order.
        sa.Index("ix_results_chunk", "model", "calculator", "period", "chunk_key", "metric", "column"),
        # Dashboards: one metric of one column over time.
        sa.Index("ix_results_metric_time", "model", "metric", "column", "chunk_start_date"),
        sa.Index("ix_results_run", "run_id"),
    )
    state = sa.Table(
        "model_state",
        meta,
        sa.Column("model", sa.String(_NAME), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("key", sa.String(_NAME), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    return {"schema_version": version, "models": models, "runs": runs, "results": results, "model_state": state}


METADATA = sa.MetaData()
TABLES = _tables_v1(METADATA)  # the current schema: version 1's tables, and versions 2 to 4 (below)


def _create_v1(conn: Connection) -> None:
    meta = sa.MetaData()
    tables = _tables_v1(meta)
    meta.create_all(conn, tables=[t for name, t in tables.items() if name != "schema_version"])


def _index_what_every_run_reads_v2(conn: Connection) -> None:
    """Indexes for what every run reads (`ResultsStore.standing`): the alerting rows and the end of
    the last chunk. Without them both queries walk every stored row of the model, so a scheduled
    job slowed as its history grew (issue 12's soak: 68 ms at 18,000 rows, 8 ms on a fresh store)."""
    results = _tables_v1(sa.MetaData())["results"]
    sa.Index("ix_results_alert", results.c.model, results.c.period, results.c.alert).create(conn)
    sa.Index("ix_results_end", results.c.model, results.c.period, results.c.chunk_end_date).create(conn)


def _add_segments_v3(conn: Connection) -> None:
    """A nullable `segment` label on every result row (issue 14: results per declared segment,
    ``"region=north, channel=web"``; NULL = the overall rows, which every row stored before is),
    and an index on it for reading one model's calculator per segment. Rows already stored are
    kept as they are: an added nullable column needs no rewrite on SQLite or PostgreSQL."""
    column = conn.dialect.identifier_preparer.quote("segment")
    kind = sa.String(_SEGMENT).compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE results ADD COLUMN {column} {kind}")
    results = _tables_v1(sa.MetaData())["results"]
    results.append_column(sa.Column("segment", sa.String(_SEGMENT)))
    sa.Index("ix_results_segment", results.c.model, results.c.calculator, results.c.segment).create(conn)


def _alerts_table_v4(meta: sa.MetaData) -> sa.Table:
    """The `alerts` table as version 4 created it. Frozen: never edit, add a migration instead.

    One row per alert: a model × calculator × column × metric × segment that breached its rule, from
    the run that opened it until the run that resolved it. ``key_hash`` digests the key (column and
    segment may be NULL, which a unique constraint cannot compare); ``open_key`` holds it while the
    alert is open and NULL once resolved, so the unique (model, open_key) allows one open alert per
    key (NULLs never collide) and two runs that open it at once insert one row. The ``*_at`` columns
    are the claims that keep two runs from sending the same message twice (`seismo.alerts.state`).
    """
    return sa.Table(
        "alerts",
        meta,
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(_NAME), sa.ForeignKey("models.name"), nullable=False),
        sa.Column("calculator", sa.String(_NAME), nullable=False),
        sa.Column("column", sa.String(_NAME)),  # null for model-level metrics
        sa.Column("metric", sa.String(_NAME), nullable=False),
        sa.Column("segment", sa.String(_SEGMENT)),  # null: the overall rows
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("open_key", sa.String(64)),  # key_hash while open, null once resolved
        sa.Column("severity", sa.String(16), nullable=False),  # performance | drift | quality
        sa.Column("status", sa.String(16), nullable=False),  # open | resolved
        sa.Column("opened_at", sa.DateTime, nullable=False),  # UTC, as every DateTime of the store
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
        sa.Column("resolved_at", sa.DateTime),
        sa.Column("first_chunk_key", sa.String(_NAME), nullable=False),
        sa.Column("last_chunk_key", sa.String(_NAME), nullable=False),
        sa.Column("value", sa.Double),  # the last chunk's, and its thresholds
        sa.Column("lower_threshold", sa.Double),
        sa.Column("upper_threshold", sa.Double),
        sa.Column("notified_at", sa.DateTime),  # claimed: the opening message
        sa.Column("reminded_at", sa.DateTime),  # claimed: the last reminder
        sa.Column("reminders_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("resolution_notified_at", sa.DateTime),  # claimed: the resolution message
        sa.Column("deliveries", sa.Text),  # JSON {destination: {ok, attempts, error, at, kind}}, no secrets
        sa.UniqueConstraint("model", "open_key", name="uq_alerts_open"),
        sa.UniqueConstraint("model", "key_hash", "opened_at", name="uq_alerts_opened"),
        sa.Index("ix_alerts_model_status", "model", "status"),
    )


def _add_alerts_v4(conn: Connection) -> None:
    """The `alerts` table (issue 16: alert state, so that an alert is sent once, reminded, resolved,
    across restarts and concurrent runs). A new table: rows already stored are untouched."""
    meta = sa.MetaData()
    _tables_v1(meta)  # the foreign key's target
    _alerts_table_v4(meta).create(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [_create_v1, _index_what_every_run_reads_v2, _add_segments_v3,
                                                  _add_alerts_v4]
# versions 2 to 4 on the current tables too, which is what the code queries (docs/store.md, rule 1)
_RESULTS = TABLES["results"]
sa.Index("ix_results_alert", _RESULTS.c.model, _RESULTS.c.period, _RESULTS.c.alert)
sa.Index("ix_results_end", _RESULTS.c.model, _RESULTS.c.period, _RESULTS.c.chunk_end_date)
_RESULTS.append_column(sa.Column("segment", sa.String(_SEGMENT)))  # null: the overall rows
sa.Index("ix_results_segment", _RESULTS.c.model, _RESULTS.c.calculator, _RESULTS.c.segment)
TABLES["alerts"] = _alerts_table_v4(METADATA)  # version 4
SCHEMA_VERSION = len(MIGRATIONS)


def seismo_version() -> str:
    try:
        return importlib_metadata.version("seismo")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - source checkout without install
        return "unknown"


def utcnow() -> dt.datetime:
    """Naive UTC: the store's DateTime columns hold UTC without a zone (SQLite has none)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


NAME_LENGTH = _NAME  # the longest model, calculator, chunk key, column, metric or state-key name stored


def check_name(value: str, what: str) -> None:
    """Refuse a name longer than its column, the same on every database.

    PostgreSQL refused such a name only at commit, with the driver's message, after the run's
    work was done; SQLite ignores declared lengths and stored it. A clear `StoreError` now
    comes first, on both.
    """
    if len(value) > NAME_LENGTH:
        raise StoreError(f"{what} is {len(value):,} characters long; the store holds names of up to "
                         f"{NAME_LENGTH} characters: {value[:60]!r}...")


SEGMENT_LENGTH = _SEGMENT  # the longest segment label stored


def check_segment(value: str, what: str) -> None:
    """Refuse a segment label longer than its column, the same on every database (as `check_name`)."""
    if len(value) > SEGMENT_LENGTH:
        raise StoreError(f"{what} is {len(value):,} characters long; the store holds segment labels of up to "
                         f"{SEGMENT_LENGTH} characters: {value[:60]!r}...")


def current_version(engine: Engine, where: str) -> int:
    """The schema version of a store opened read-only, which must be this seismo's: nothing is
    created or migrated, so an empty, older or foreign database is a `StoreError` naming it."""
    with engine.connect() as conn, conn.begin():
        if not sa.inspect(conn).has_table("schema_version"):
            raise StoreError(f"the store at {where} holds no seismo results (no schema_version table); "
                             "a read-only store must have been written by seismo run first")
        current = conn.execute(sa.select(sa.func.max(TABLES["schema_version"].c.version))).scalar() or 0
    if current != len(MIGRATIONS):
        newer = current > len(MIGRATIONS)
        raise StoreError(
            f"the store at {where} has schema version {current}, {'newer' if newer else 'older'} than the version "
            f"{len(MIGRATIONS)} this seismo ({seismo_version()}) knows; "
            + ("upgrade seismo (pip install -U seismo)" if newer else "open it once for writing to migrate it")
            + ", or open it without read_only")
    return current


def migrate(engine: Engine, where: str, steps: list[Callable[[Connection], None]] | None = None) -> int:
    """Bring the database to the newest schema version in one transaction; return that version.

    Two processes opening a new store at once are serialized (SQLite: the write lock of
    BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so each step runs exactly once.
    """
    steps = MIGRATIONS if steps is None else steps
    version_table = TABLES["schema_version"]
    with engine.connect().execution_options(seismo_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        inspector = sa.inspect(conn)
        if not inspector.has_table("schema_version"):
            foreign = [t for t in ("models", "runs", "results", "model_state") if inspector.has_table(t)]
            if foreign:
                raise StoreError(
                    f"the database at {where} already has tables {foreign} but no seismo schema_version "
                    "table, so they were not created by seismo; point the store at another database"
                )
            version_table.create(conn)
        current = conn.execute(sa.select(sa.func.max(version_table.c.version))).scalar() or 0
        if current > len(steps):
            raise StoreError(
                f"the store at {where} has schema version {current}, newer than the version {len(steps)} "
                f"this seismo ({seismo_version()}) knows; upgrade seismo (pip install -U seismo) "
                "or use another store"
            )
        for number in range(current + 1, len(steps) + 1):
            steps[number - 1](conn)
            conn.execute(
                version_table.insert().values(version=number, applied_at=utcnow(), seismo_version=seismo_version())
            )
        return len(steps)
