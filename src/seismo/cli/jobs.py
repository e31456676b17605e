"""One scheduled monitoring run: config -> data -> saved or refitted monitor -> results store.

`run_job` is what `seismo run` calls each time. It opens the store, records the run,
loads the monitor saved by an earlier run (refitting it when there is none or when
the config it was fitted for changed), computes, and writes the results and the saved
monitor in one transaction, or marks the run failed. Re-running over the same data is
idempotent: the store replaces the rows of the chunks a run covers.

The saved monitor lives in the store by default (`ResultsStore.load_state`), so a
Kubernetes CronJob without a persistent disk still reuses it; ``saved_monitor: DIR``
keeps it in a directory instead.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from seismo.cli import sources
from seismo.cli.config import Config, ConfigError, load_config
from seismo.cli.config.checks import declared_custom_metrics
from seismo.data.io import DataLike
from seismo.engine.result import RESULT_COLUMNS, Result
from seismo.metrics.custom import register_declared
from seismo.metrics.registry import METRICS
from seismo.monitor.calculators import (
    CALCULATORS,
    ESTIMATED_PERFORMANCE,
    PERFORMANCE,
    REALIZED_PERFORMANCE,
    UNIVARIATE_DRIFT,
    estimated_class_name,
)
from seismo.monitor.monitor import (  # progress(what, done, total): the CLI draws it, the library never does
    Monitor,
    Progress,
)
from seismo.monitor.ranking import rank
from seismo.monitor.report import WITHHELD, Report, cannot_judge

JOB_FILE = "job.json"  # beside the monitor's own files: the config hash it was fitted for
MONITOR_PREFIX = "monitor/"
# A saved_monitor directory keeps the monitor in one of two folders, and each save writes the
# other one, then switches the job file to it (one atomic rename). A save killed half-way thus
# leaves the job file pointing at the previous monitor, whole, never at a mix of two saves.
MONITOR_FOLDERS = (MONITOR_PREFIX, "monitor-alt/")


@dataclass
class RunOutcome:
    """What one run did, and the model's state after it.

    ``rows`` and ``new_chunks`` are what this run wrote; the alert counts describe every analysis
    chunk stored for the model after the run, so an identical re-run (no new rows) gives the
    same answer and the same exit code as the run before it.
    """

    run_id: int
    model: str
    rows: int  # result rows this run wrote
    alerts: int  # alerting analysis rows stored for the model, all calculators
    performance_alerts: int  # of those, estimated or realized performance
    refitted: bool
    alerting_calculators: dict[str, int] = field(default_factory=dict)
    # chunk -> reason, where the estimate has trust "none" and no label judges it: an alert too
    cannot_judge: dict[str, str] = field(default_factory=dict)
    new_chunks: int = 0  # analysis chunks this run wrote or replaced
    data_until: str | None = None  # the end date of the newest stored analysis chunk
    late_rows: int = 0  # analysis rows older than those already processed, which this run could not add
    segment_alerts: int = 0  # of ``alerts``, those on a declared segment's rows (their label in ``segment``)
    # the config's ``alerts:`` evaluated after the commit (`seismo.alerts.state.AlertRound.to_dict`): the alerts
    # opened, reminded of and resolved, and each destination's delivery; None without ``alerts:``
    notifications: dict[str, Any] | None = None

    @property
    def undelivered(self) -> list[dict[str, Any]]:
        """The deliveries that failed (`seismo run` exits 3 when there is one)."""
        return [d for d in (self.notifications or {}).get("deliveries", []) if not d["ok"]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _noop(what: str, done: int, total: int) -> None:
    pass


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return None


# ------------------------------------------------------------------------------ saved monitor


def _read_state(config: Config, store: Any) -> dict[str, bytes]:
    """The saved files: from the store, or from the ``saved_monitor`` directory.

    In a directory only the files the job file lists are read: the directory may be the
    user's own (``saved_monitor: .``), full of data that is none of seismo's business.
    """
    directory = config.state_dir()
    if directory is None:
        return store.load_state(config.model.name)
    # keyed as in the store: the folder the job file points at reads as MONITOR_PREFIX
    return {MONITOR_PREFIX + name.split("/", 1)[1] if name != JOB_FILE else name: (directory / name).read_bytes()
            for name in _state_files(directory) if (directory / name).is_file()}


def _state_files(directory: Path) -> list[str]:
    """The names seismo wrote into a ``saved_monitor`` directory: the job file and what it lists."""
    from seismo.persist import PersistError

    job_file = directory / JOB_FILE
    if not job_file.is_file():
        return []
    try:
        job = json.loads(job_file.read_bytes())
    except ValueError:
        job = None
    if not isinstance(job, dict) or not {"config_hash", "model", "files"} <= job.keys() \
            or not isinstance(job["files"], list) or job.get("folder", MONITOR_PREFIX) not in MONITOR_FOLDERS:
        raise PersistError(f"{job_file} is not a job file seismo wrote; point saved_monitor at an empty "
                           "directory or one that seismo saved into")
    folder = job.get("folder", MONITOR_PREFIX)  # job files written before the two folders: monitor/
    return [JOB_FILE, *(folder + name for name in job["files"] if isinstance(name, str))]


def _write_state_dir(directory: Path, state: dict[str, bytes]) -> None:
    """Save into the monitor folder the job file does not point at, then switch the job file to it
    (written last, atomically) and remove the files of the previous save; never touch others."""
    from seismo.persist.files import replace_files

    owned = _state_files(directory)
    current = owned[1].split("/", 1)[0] + "/" if len(owned) > 1 else None
    folder = MONITOR_FOLDERS[1] if current == MONITOR_FOLDERS[0] else MONITOR_FOLDERS[0]
    job = {**json.loads(state[JOB_FILE]), "folder": folder}
    files = {folder + name.removeprefix(MONITOR_PREFIX): content for name, content in state.items() if name != JOB_FILE}
    replace_files(directory, {**files, JOB_FILE: json.dumps(job).encode()}, owned=owned, last=JOB_FILE)


def _saved_monitor(config: Config, state: dict[str, bytes]) -> Monitor | None:
    """The monitor saved for this very config, or None (absent, or fitted for another config)."""
    from seismo import persist

    if JOB_FILE not in state:
        return None
    job = json.loads(state[JOB_FILE])
    if job.get("config_hash") != config.fit_hash():
        return None
    # only the files the last save listed: the store keeps keys an older monitor wrote
    files = {name: state.get(MONITOR_PREFIX + name, b"") for name in job.get("files", [])}
    try:
        return persist.loads(files)
    except persist.PersistError as exc:  # tampered, or saved by an incompatible version: stop, never guess
        where = config.state_dir() or "the store"
        raise persist.PersistError(f"the saved monitor of {config.model.name!r} in {where} cannot be loaded "
                                   f"({exc}); `seismo run --full` refits it") from None


def _state_of(config: Config, monitor: Monitor) -> dict[str, bytes]:
    from seismo import persist

    saved = persist.dumps(monitor)
    files = {MONITOR_PREFIX + name: content for name, content in saved.items()}
    files[JOB_FILE] = json.dumps({"config_hash": config.fit_hash(), "model": config.model.name,
                                  "files": sorted(saved)}).encode()
    return files


# ------------------------------------------------------------------------------ the run


def _read(config: Config, periods: tuple[str, ...], progress: Progress) -> dict[str, DataLike]:
    """Each named source (skipping an absent targets source); paths stay paths, read later by seismo."""
    wanted = [p for p in periods if getattr(config.data, p) is not None]
    data = {}
    for i, period in enumerate(wanted):
        progress(f"reading {period}", i, len(wanted))
        data[period] = sources.read(config, period)
    return data


def _compute(monitor: Monitor, config: Config, data: dict[str, DataLike], state: dict[str, bytes],
             progress: Progress = _noop, stored: pd.DataFrame | None = None
             ) -> tuple[pd.DataFrame, dict[str, bytes], int]:
    """The results of this run, the state to save for the next one, and the late rows it skipped.

    With size or period chunking runs are incremental: the saved monitor carries where the
    last run stopped (rows processed, the still-open last chunk's partials), so only rows
    after those are computed and the open chunk is completed by them; the store replaces
    its earlier rows. With count chunking (the default) every run recomputes every chunk.
    """
    incremental = monitor.can_run_incrementally()
    report = monitor.run(data["analysis"], targets=data.get("targets"), progress=progress, incremental=incremental)
    df = report.to_df()
    if incremental and stored is not None and not stored.empty:
        df = _with_refreshed_realized(df, stored)
        df = _without_unchanged(df, stored, REALIZED_PERFORMANCE.name)
    return df, _state_of(config, monitor), report.late_rows


def _segment_key(df: pd.DataFrame, stored: pd.DataFrame) -> list[str]:
    """``["segment"]`` when both frames carry it: a chunk's row of one segment matches only that
    segment's stored row (None, the overall rows, matching None), never another segment's."""
    return ["segment"] if "segment" in df.columns and "segment" in stored.columns else []


def _with_refreshed_realized(df: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """Stored estimates of old chunks get the ``realized`` value their late labels now give.

    The estimates themselves are not recomputed (their chunks are closed); only the
    realized value shown next to them changes, as it does in a single run with every label.
    """
    keys = ["period", "chunk_key", "metric", *_segment_key(df, stored)]
    realized = df[(df["calculator"] == REALIZED_PERFORMANCE.name) & (df["period"] == "analysis")]
    estimated = stored[(stored["calculator"] == ESTIMATED_PERFORMANCE.name) & (stored["period"] == "analysis")]
    fresh = df[df["calculator"] == ESTIMATED_PERFORMANCE.name][["period", "chunk_key"]].drop_duplicates()
    old = estimated.merge(fresh, on=["period", "chunk_key"], how="left", indicator=True)
    old = old[old["_merge"] == "left_only"].drop(columns="_merge")
    if old.empty or realized.empty:
        return df
    update = old.merge(realized[keys + ["value"]].rename(columns={"value": "new_realized"}), on=keys, how="inner")
    changed = ~((update["realized"] == update["new_realized"])
                | (update["realized"].isna() & update["new_realized"].isna()))
    update = update[changed].assign(realized=lambda t: t["new_realized"]).drop(columns=["new_realized", "run_id"],
                                                                                errors="ignore")
    if "segment" in update.columns:  # a merge key comes back NaN where it was None (the overall rows)
        update["segment"] = update["segment"].astype(object).where(update["segment"].notna(), None)
    return pd.concat([df, update[[c for c in df.columns if c in update.columns]]], ignore_index=True)


def _without_unchanged(df: pd.DataFrame, stored: pd.DataFrame, calculator: str) -> pd.DataFrame:
    """Drop ``calculator``'s analysis rows that equal what is stored: realized performance is
    recomputed over the whole history for late labels, but only chunks whose labels changed
    are news (to write, and to alert on)."""
    keys = ["period", "chunk_key", "column", "metric", *_segment_key(df, stored)]
    mine = (df["calculator"] == calculator) & (df["period"] == "analysis")
    before = stored[stored["calculator"] == calculator][keys + ["value", "alert"]]
    merged = df.loc[mine, keys + ["value", "alert"]].reset_index().merge(before, on=keys, how="left",
                                                                        suffixes=("", "_stored"))
    same_value = (merged["value"] == merged["value_stored"]) | (merged["value"].isna() & merged["value_stored"].isna()
                                                              & merged["alert_stored"].notna())
    unchanged = merged.loc[same_value & (merged["alert"] == merged["alert_stored"]), "index"]
    return df.drop(index=unchanged).reset_index(drop=True)


def _outcome(run_id: int, config: Config, df: pd.DataFrame, standing: pd.DataFrame, until: Any,
             refitted: bool, late_rows: int = 0) -> RunOutcome:
    """``df``: the rows this run wrote; ``standing``: the stored analysis rows of the model after it
    that alert or may be blind (`ResultsStore.standing`); ``until``: the end of its last chunk.

    The alerts are those standing in the stored chunks, not only in the chunks this run touched:
    otherwise a re-run over unchanged data would report no alert (and exit 0) while the alerts
    of the run before still stand. A chunk whose performance cannot be judged
    (`report.cannot_judge`) is listed in ``cannot_judge`` and counts as a performance alert.
    """
    alerting = standing[(standing["period"] == "analysis") & standing["alert"].astype(bool)]
    in_segments = int(alerting["segment"].notna().sum()) if "segment" in alerting.columns else 0
    by_calculator = alerting.groupby("calculator").size()
    performance = int(by_calculator[by_calculator.index.isin(PERFORMANCE)].sum())
    blind = cannot_judge(standing[standing["calculator"] == ESTIMATED_PERFORMANCE.name])
    written = df[df["period"] == "analysis"]
    until = pd.Timestamp(until) if until is not None else pd.NaT
    return RunOutcome(run_id=run_id, model=config.model.name, rows=len(df), alerts=len(alerting),
                      performance_alerts=performance, refitted=refitted,
                      alerting_calculators={k: int(v) for k, v in by_calculator.items()},
                      cannot_judge=dict(zip(blind["chunk"], blind["trust_reason"])),
                      new_chunks=int(written[["calculator", "chunk_key"]].drop_duplicates()["chunk_key"].nunique()),
                      data_until=None if pd.isna(until) else str(until), late_rows=late_rows,
                      segment_alerts=in_segments)


def run_job(config: Config | str | Path, *, full: bool = False, progress: Progress | None = None,
            now: dt.datetime | None = None) -> RunOutcome:
    """Run the configured monitor once and store its results; ``full`` refits and recomputes everything.

    Raises `ConfigError` for a bad config and `StoreError` when the store cannot be opened;
    any error after the run is recorded marks it failed in the store and is raised again.
    With ``alerts:`` in the config, the alerts are evaluated and sent once the results are
    committed (`_notify`); ``now`` (naive UTC) is the clock of that evaluation, for tests.
    """
    from seismo.store import ResultsStore

    progress = progress or _noop
    if not isinstance(config, Config):
        config = load_config(config)
    register_custom_metrics(config)
    progress("opening the store", 0, 1)
    with ResultsStore(config.store_url()) as store:
        run_id = store.begin_run(config.model.name, config.fit_hash(), user=_user(), settings=config.unexpanded)
        df, refitted, late = _run(store, run_id, config, full, progress)
        standing, until = store.standing(config.model.name, estimator=ESTIMATED_PERFORMANCE.name,
                                        withheld=WITHHELD)
        outcome = _outcome(run_id, config, df, standing, until, refitted, late)
        if config.alerts is not None:
            progress("sending alerts", 0, 1)
            outcome.notifications = _notify(store, config, run_id, now)
    progress("done", 1, 1)
    return outcome


def _notify(store: Any, config: Config, run_id: int, now: dt.datetime | None) -> dict[str, Any]:
    """Evaluate the config's alert rules on the committed results and send what they call for.

    After the commit: a destination that is down or slow cannot lose the run's results, and each
    destination bounds its own time (time-out, retries). Failures come back in the deliveries,
    never as an exception. In ``quiet`` mode no destination is built, so none is contacted.
    """
    from seismo.alerts.state import evaluate_alerts

    alerts = config.alerts
    assert alerts is not None
    destinations = [] if alerts.quiet else alerts.build_destinations(config.base_dir)
    done = evaluate_alerts(store, config.model.name, alerts.policy(), destinations=destinations, run_id=run_id,
                           now=now)
    return done.to_dict()


def register_custom_metrics(config: Config) -> list[str]:
    """Register the config's ``custom_metrics`` before the monitor is built or loaded, and return their names.

    The config is what this run monitors: its declaration replaces a custom metric of the same name
    registered earlier in the process. `ConfigError` (under the entry's key) for one that cannot be declared.
    """
    declared, problems = declared_custom_metrics(config)
    if problems:
        raise ConfigError(problems)
    for metric in declared:
        register_declared(metric, replace=True)
    return [metric.name for metric in declared]


def _run(store: Any, run_id: int, config: Config, full: bool, progress: Progress) -> tuple[pd.DataFrame, bool, int]:
    """The body of a run that `begin_run` recorded: commit its results, or mark it failed."""
    try:
        state = {} if full else _read_state(config, store)
        monitor = _saved_monitor(config, state)
        refitted = monitor is None
        if monitor is None:
            reference = _read(config, ("reference",), progress)["reference"]
            monitor = Monitor(**config.monitor_kwargs()).fit(reference, progress=progress)
        data = _read(config, ("analysis", "targets"), progress)
        stored = store.results(config.model.name, period="analysis") if not refitted and "targets" in data else None
        df, new_state, late = _compute(monitor, config, data, state, progress, stored)
        progress("writing results", 0, 1)
        directory = config.state_dir()
        store.commit_run(run_id, config.model.name, df, state=new_state if directory is None else None)
    except BaseException as exc:  # a failed run is recorded whatever stopped it, then re-raised
        _mark_failed(store, run_id, exc)
        raise
    if directory is not None:  # after the commit: a monitor saved ahead of its results would skip their rows
        _save_after_commit(directory, new_state, run_id)
    return df, refitted, late


def _mark_failed(store: Any, run_id: int, exc: BaseException) -> None:
    """Record the run as failed; when the store cannot (full disk, read-only, unreachable), say so
    on the error being raised instead of hiding it: the next run marks this one failed."""
    try:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
    except Exception as failure:  # noqa: BLE001 - the original error is the one to report
        exc.add_note(f"run {run_id} could not be marked failed ({failure}); the next run will mark it")


def _save_after_commit(directory: Path, state: dict[str, bytes], run_id: int) -> None:
    """Save the monitor into its directory once the run's results are committed.

    If this fails, the results are stored and the directory keeps the previous monitor whole: the
    next run recomputes the rows since that one and replaces their chunks, so nothing is lost.
    """
    from seismo.persist import PersistError

    try:
        _write_state_dir(directory, state)
    except (OSError, PersistError) as exc:
        raise PersistError(f"run {run_id} stored its results, but the saved monitor could not be written to "
                           f"{directory} ({exc}); the next run recomputes the rows since the previous save") from exc


# ------------------------------------------------------------------------------ stored results

def _result_class(name: str, rows: pd.DataFrame) -> str:
    """The class whose name a live `Result` of this calculator carries (rank() checks it). A stored
    estimate is DLE's when it holds regression metrics, else CBPE's (`estimated_class_name`)."""
    spec = CALCULATORS.get(name)
    if spec is None:
        return name
    if spec.estimated:
        metrics = [METRICS[m] for m in rows["metric"].unique() if m in METRICS]
        return estimated_class_name(any("regression" in m.problem_types for m in metrics))
    return spec.class_names[0]


def _stored_results(df: pd.DataFrame) -> dict[str, Result]:
    """One `Result` per calculator of the stored rows, in registry order (performance first)."""
    order = list(CALCULATORS)
    names = sorted(df["calculator"].unique(), key=lambda n: (order + [n]).index(n))
    results = {}
    for name in names:
        rows = df[df["calculator"] == name].drop(columns=["calculator", "run_id"], errors="ignore")
        extra = [c for c in rows.columns if c not in RESULT_COLUMNS and rows[c].isna().all()]
        results[name] = Result(rows.drop(columns=extra).reset_index(drop=True), _result_class(name, rows))
    return results


def _ranked_performance(results: dict[str, Result]) -> Result | None:
    """The performance a stored ranking measures the drop of: realized where stored, else the estimate."""
    return results.get(REALIZED_PERFORMANCE.name, results.get(ESTIMATED_PERFORMANCE.name))


def stored_report(store_url: str, model: str) -> Report:
    """A `Report` rebuilt from the rows `seismo run` stored: one `Result` per calculator.

    The ranking is recomputed from the stored drift and performance rows (without the
    prediction sensitivity, which needs the data; over the overall rows only, as a live
    report's); the "what changed" table is not stored.
    """
    from seismo.store import ResultsStore, StoreError

    with ResultsStore(store_url, read_only=True) as store:  # a report only reads: a read-only copy will do
        df = store.results(model)
        runs = store.runs(model)
    if df.empty:
        raise StoreError(f"no results are stored for model {model!r}")
    results = _stored_results(df)
    if UNIVARIATE_DRIFT.name in results:
        ranking = rank(results[UNIVARIATE_DRIFT.name], _ranked_performance(results))
    else:
        ranking = pd.DataFrame(columns=["rank", "column", "alert_count", "n_chunks"])
    last = runs.iloc[-1]
    settings = {"model": model, "store": store.where, "runs": len(runs), "last_run": int(last["run_id"]),
                "last_run_started": str(last["started_at"])}
    return Report(results, ranking, settings)


@dataclass
class StoredRanking:
    """`stored_ranking`'s answer: the ranking, and what it was computed over."""

    ranking: pd.DataFrame  # `seismo.monitor.ranking.rank`'s columns
    segment: str | None  # None: the overall rows
    performance: str | None  # the calculator whose drop it tracks; None: ranked by alert count
    segments: list[str]  # every segment label stored for the model's drift, to choose from


def stored_ranking(store_url: str, model: str, segment: str | None = None,
                   metric: str | None = None) -> StoredRanking:
    """Which drift tracks the performance drop, from the stored rows: overall (``segment`` None) or in
    one declared segment (``"region=east"``), its drift rows against its own performance rows.

    Realized performance is ranked against where it is stored, else the estimate; with neither,
    the columns are ranked by alert count (`rank`). An unknown label is an `InvalidConfiguration`
    listing the stored ones.
    """
    from seismo.store import ResultsStore, StoreError

    wanted = [UNIVARIATE_DRIFT.name, REALIZED_PERFORMANCE.name, ESTIMATED_PERFORMANCE.name]
    with ResultsStore(store_url, read_only=True) as store:
        df = store.results(model, calculator=wanted)
    if df.empty or not (df["calculator"] == UNIVARIATE_DRIFT.name).any():
        raise StoreError(f"no univariate drift results are stored for model {model!r}; the ranking needs them")
    results = _stored_results(df)
    drift, performance = results[UNIVARIATE_DRIFT.name], _ranked_performance(results)
    labels = sorted(drift.to_df()["segment"].dropna().unique()) if "segment" in df.columns else []
    ranking = rank(drift, performance, metric=metric, segment=segment)
    used = next((name for name, result in results.items() if result is performance), None)
    return StoredRanking(ranking, segment, used, [str(label) for label in labels])
