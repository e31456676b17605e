"""`Monitor`: every calculator the given columns allow, behind one fit and one run."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from seismo._typing import (
    ColumnKind,
    DataLike,
    EstimatorName,
    Incomplete,
    ProblemType,
    SegmentCorrection,
    Segments,
    SmallSegments,
)
from seismo.chunks.accumulator import StreamState
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunker
from seismo.data.frame import should_stream
from seismo.data.io import read_schema, read_table
from seismo.engine.calculator import check_timestamp_format, constructor_params, is_spark
from seismo.engine.domain_fit import DomainFitCache
from seismo.engine.result import Result
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS, check_segment_options, check_segments
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, check_false_alarm_rate, require_fitted
from seismo.errors import InvalidConfiguration, InvalidData, SeismoWarning
from seismo.monitor.calculators import (
    CALCULATORS,
    CONCEPT_SHIFT,
    DOMAIN_CLASSIFIER_DRIFT,
    ESTIMATED_PERFORMANCE,
    ESTIMATORS,
    REALIZED_PERFORMANCE,
    CalculatorSpec,
    estimator_class,
    of_kind,
    with_current_names,
)
from seismo.monitor.discovery import COLUMNS as DISCOVERY_COLUMNS
from seismo.monitor.discovery import discovery_reference, explain_chunk
from seismo.monitor.ranking import prediction_sensitivity, rank
from seismo.monitor.report import Report
from seismo.performance.pape import PAPE

DEFAULT_ESTIMATOR: EstimatorName = "cbpe"  # classification; regression always uses DLE
Progress = Callable[[str, int, int], None]  # progress(what, done, total)


# drift and data quality: built from the column roles alone, run with ``calculate(analysis)``
_DATA_CALCULATORS: list[CalculatorSpec] = [spec for spec in CALCULATORS.values()
                                           if spec.kind not in ("performance", "concept")]
# the per-column drift the ranking orders (the monitor's sensitivity is measured on its columns)
(_RANKED,) = of_kind("drift", per_column=True)
__all__ = ["CALCULATORS", "DEFAULT_ESTIMATOR", "ESTIMATORS", "Monitor", "Progress"]


class Monitor:
    """Estimated and realized performance, univariate and multivariate drift, data quality and
    the drift ranking, configured once from the column roles.

    ``fit(reference)`` needs labels in the reference (the estimator learns from them);
    ``run(analysis, targets=None)`` returns a `Report`. ``calculators`` maps a name of
    `seismo.monitor.calculators.CALCULATORS` to False (left out) or to extra constructor arguments,
    such as ``{"univariate_drift": {"methods": ["psi"], "thresholds": {...}}}``. ``calculators_``
    holds the fitted calculators under the same names (the keys of `Report.results`).

    ``features=None``: every calculator monitors the columns without a role, less datetimes and
    identifier-like columns (`seismo.data.features.infer_features`, one rule for all, one warning).

    ``timestamp_format`` (strptime, e.g. ``"%d/%m/%Y"``) reads a text timestamp column as given
    (docs/data.md); ``false_alarm_rate`` sets the per-cell rate of every calculator's default
    thresholds (docs/thresholds.md). Both go to every calculator; a calculator's own entry in
    ``calculators`` may set its own ``false_alarm_rate``.
    """

    # class-level defaults: a monitor saved before these arguments existed loads without them (seismo.persist)
    timestamp_format: str | None = None
    false_alarm_rate: float | None = None
    segments: Segments | None = None
    min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS
    small_segments: SmallSegments = "other"
    segment_correction: SegmentCorrection = "bonferroni"

    def __init__(
        self,
        problem_type: ProblemType,
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        timestamp: str | None = None,
        id: str | None = None,
        features: list[str] | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        metrics: list[str] | None = None,
        *,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        estimator: EstimatorName = DEFAULT_ESTIMATOR,
        random_state: int = DEFAULT_RANDOM_STATE,
        calculators: dict[str, dict[str, Any] | bool] | None = None,
        timestamp_format: str | None = None,
        false_alarm_rate: float | None = None,
        segments: Segments | None = None,
        min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS,
        small_segments: SmallSegments = "other",
        segment_correction: SegmentCorrection = "bonferroni",
    ):
        check_timestamp_format(timestamp_format)
        check_false_alarm_rate(false_alarm_rate)
        check_segments(segments)
        check_segment_options(min_segment_rows, small_segments, segment_correction)
        self.problem_type = problem_type
        self.y_pred_proba = y_pred_proba
        self.y_pred = y_pred
        self.y_true = y_true
        self.timestamp = timestamp
        self.id = id
        self.features = features
        self.chunk_size = chunk_size
        self.chunk_number = chunk_number
        self.chunk_period = chunk_period
        self.chunker = chunker
        self.metrics = metrics
        self.incomplete = incomplete
        self.estimator = estimator
        self.random_state = random_state
        self.calculators = calculators
        self.timestamp_format = timestamp_format
        self.false_alarm_rate = false_alarm_rate
        self.segments = segments
        self.min_segment_rows = min_segment_rows
        self.small_segments = small_segments
        self.segment_correction = segment_correction

    def _options(self, name: str) -> dict[str, Any] | None:
        """Extra constructor arguments of one calculator, or None when it is switched off."""
        unknown = sorted(set(self.calculators or {}) - set(CALCULATORS))
        if unknown:
            raise InvalidConfiguration(f"calculators names {unknown}; choose from {list(CALCULATORS)}")
        given = (self.calculators or {}).get(name, CALCULATORS[name].default)
        if given is False:
            return None
        return {} if given is True else dict(given)

    def _common(self) -> dict[str, Any]:
        return dict(timestamp=self.timestamp, chunk_size=self.chunk_size, chunk_number=self.chunk_number,
                    chunk_period=self.chunk_period, chunker=self.chunker, timestamp_format=self.timestamp_format,
                    false_alarm_rate=self.false_alarm_rate, **self._segmenting())

    def _segmenting(self) -> dict[str, Any]:
        """The segment arguments every calculator takes (docs/segments.md); none when no segments are declared."""
        if not self.segments:
            return {}
        return dict(segments=self.segments, min_segment_rows=self.min_segment_rows,
                    small_segments=self.small_segments, segment_correction=self.segment_correction)

    def _roles(self) -> dict[str, Any]:
        return dict(y_pred_proba=self.y_pred_proba, y_pred=self.y_pred, y_true=self.y_true, id=self.id)

    def _performance(self) -> dict[str, Any]:
        """The estimator and the realized calculator, or none when the model columns are not given."""
        if self.y_pred is None or self.y_true is None:
            return {}
        shared = dict(y_pred=self.y_pred, y_true=self.y_true, id=self.id, metrics=self.metrics, **self._common(),
                      incomplete=self.incomplete, random_state=self.random_state)
        out: dict[str, Any] = {}
        options = self._options(ESTIMATED_PERFORMANCE.name)
        if options is not None:
            args = {**shared, **options}
            cls = estimator_class(self.problem_type, self.estimator)
            if self.problem_type == "regression":
                out[ESTIMATED_PERFORMANCE.name] = cls(features=self.features, **args)
            else:
                out[ESTIMATED_PERFORMANCE.name] = cls(self.problem_type, y_pred_proba=self.y_pred_proba,
                                                      features=self.features, **args)
        options = self._options(REALIZED_PERFORMANCE.name)
        if options is not None:
            (realized,) = REALIZED_PERFORMANCE.classes
            out[REALIZED_PERFORMANCE.name] = realized(self.problem_type, y_pred_proba=self.y_pred_proba,
                                                      **{**shared, **options})
        options = self._options(CONCEPT_SHIFT.name)
        if options is not None:  # one concept model per chunk and segment is not built: it judges the whole
            (concept,) = CONCEPT_SHIFT.classes
            unsegmented = {k: v for k, v in shared.items() if k not in self._segmenting()}
            out[CONCEPT_SHIFT.name] = concept(self.problem_type, y_pred_proba=self.y_pred_proba,
                                              features=self.features, **{**unsegmented, **options})
        return out

    def fit(self, reference: DataLike, *, progress: Progress | None = None,
            streaming: bool | None = None) -> "Monitor":
        """Fit every calculator on the labelled reference; ``progress(what, done, total)`` is told
        before each one (the CLI draws a bar from it). ``streaming``: every calculator fits a
        parquet/CSV reference in batches, with a documented sample for what needs raw rows
        (docs/streaming.md)."""
        drift_args = dict(columns=self.features, **self._common(), **self._roles(), incomplete=self.incomplete,
                          random_state=self.random_state)
        self.calculators_: dict[str, Any] = self._performance()
        for spec in _DATA_CALCULATORS:
            options = self._options(spec.name)
            if options is not None:
                args = {**drift_args, **options}
                if spec.name == DOMAIN_CLASSIFIER_DRIFT.name and "segments" not in options:
                    # one classifier per chunk and segment is not built yet: it monitors the whole (docs/segments.md)
                    args = {k: v for k, v in args.items() if k not in self._segmenting()}
                self.calculators_[spec.name] = spec.classes[0](**args)
        self._share_domain_fits()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SeismoWarning)
            for i, (name, calculator) in enumerate(self.calculators_.items()):
                if progress is not None:
                    progress(f"fitting {name}", i, len(self.calculators_))
                if streaming is not None and "streaming" in inspect.signature(calculator.fit).parameters:
                    calculator.fit(reference, streaming=streaming)
                else:
                    calculator.fit(reference)
        seen = set()
        for w in caught:  # each distinct warning once, not once per calculator
            key = (w.category, str(w.message))
            if key not in seen:
                seen.add(key)
                warnings.warn(str(w.message), w.category, stacklevel=2)
        self.sensitivity_ = self._sensitivity(reference)
        self.discovery_reference_, self.discovery_kinds_ = self._discovery_reference(reference, streaming)
        self.reference_columns_ = list(read_schema(reference, "reference").names)
        self.fitted_ = True
        return self

    def _warn_new_columns(self, analysis: DataLike) -> None:
        """Columns of the analysis data that the reference did not have are monitored by nothing:
        say so once (with default features; given ``features`` say what is monitored)."""
        known = getattr(self, "reference_columns_", None)  # None: saved before it was recorded
        if self.features is not None or known is None or is_spark(analysis):
            return
        new = [c for c in read_schema(analysis, "analysis").names if c not in set(known)]
        if new:
            shown = ", ".join(repr(c) for c in new[:10]) + (" ..." if len(new) > 10 else "")
            warnings.warn(f"{len(new)} column(s) of the analysis data are not in the reference and are not "
                          f"monitored: {shown}; refit on a reference that has them to monitor them",
                          SeismoWarning, stacklevel=3)

    def _share_domain_fits(self) -> None:
        """PAPE and DomainClassifierDrift fit one domain classifier per chunk between them: the drift
        calculator takes PAPE's LightGBM parameters (unless given its own), both draw the same reference
        sample and chunk rows, and a shared cache hands the second caller the first one's fit."""
        estimated = self.calculators_.get(ESTIMATED_PERFORMANCE.name)
        drift = self.calculators_.get(DOMAIN_CLASSIFIER_DRIFT.name)
        if not isinstance(estimated, PAPE) or drift is None:
            return
        if drift.hyperparameters is None:
            drift.hyperparameters = estimated.lightgbm_params()
        cache = DomainFitCache()
        estimated.share_domain_fits(cache)
        drift.share_domain_fits(cache)

    def _discovery_reference(self, reference: DataLike, streaming: bool | None
                             ) -> tuple[pd.DataFrame | None, dict[str, ColumnKind] | None]:
        """What segment discovery compares an alerting chunk with (`seismo.monitor.discovery`): the
        reference rows' features and losses, a bounded sample, kept with the monitor."""
        estimator = self.calculators_.get(ESTIMATED_PERFORMANCE.name)
        if estimator is None or streaming or should_stream(reference, self._discovery_features(estimator), None):
            return None, None
        return discovery_reference(estimator, reference, self._discovery_features(estimator),
                                   seed=self.random_state)

    def _discovery_features(self, estimator: Any) -> list[str]:
        drift = self.calculators_.get(_RANKED.name)
        names = list(getattr(estimator, "feature_names_", None) or [])
        return names or (list(drift.schema_.names) if drift is not None else [])

    def _explain(self, analysis: DataLike, targets: DataLike | None, results: dict[str, Result]) -> pd.DataFrame:
        """Segment discovery for the latest analysis chunk whose estimated performance alerts (overall):
        the rules that explain most of its drop, with realized losses when its labels are at hand."""
        estimator = self.calculators_.get(ESTIMATED_PERFORMANCE.name)
        kept = getattr(self, "discovery_reference_", None)
        estimated = results.get(ESTIMATED_PERFORMANCE.name)
        if estimator is None or kept is None or estimated is None or is_spark(analysis):
            return pd.DataFrame(columns=["chunk_key", *DISCOVERY_COLUMNS])
        df = estimated.to_df()
        alerting = df[(df["period"] == "analysis") & df["segment"].isna() & df["alert"]]
        if alerting.empty:
            return pd.DataFrame(columns=["chunk_key", *DISCOVERY_COLUMNS])
        chunk = alerting.sort_values("chunk_index").iloc[-1]
        names = list(self.discovery_kinds_ or {})
        columns = [c for c in dict.fromkeys([*names, estimator.y_pred, estimator.y_true, *_model_columns(estimator),
                                             *([self.timestamp] if self.timestamp else []),
                                             *([self.id] if self.id else [])])
                   if c in set(read_schema(analysis, "analysis").names)]
        if should_stream(analysis, columns, None):
            return pd.DataFrame(columns=["chunk_key", *DISCOVERY_COLUMNS])
        rows = read_table(analysis, columns, "analysis").to_pandas()
        if self.timestamp is not None:
            stamps = pd.to_datetime(rows[self.timestamp])
            rows = rows[(stamps >= chunk["chunk_start_date"]) & (stamps <= chunk["chunk_end_date"])]
        else:
            rows = rows.iloc[int(chunk["chunk_start_index"]): int(chunk["chunk_end_index"]) + 1]
        if targets is not None and self.id is not None and estimator.y_true not in rows.columns:
            labels = read_table(targets, [self.id, estimator.y_true], "targets").to_pandas()
            rows = rows.merge(labels, on=self.id, how="left")
        found = explain_chunk(estimator, kept, self.discovery_kinds_ or {}, rows)
        found.insert(0, "chunk_key", chunk["chunk_key"])
        return found

    def _sensitivity(self, reference: DataLike) -> pd.Series | None:
        """How much the model's output follows each feature (for the ranking); the largest over classes."""
        if _RANKED.name not in self.calculators_:
            return None
        if self.problem_type == "regression":
            scores = [self.y_pred]
        elif isinstance(self.y_pred_proba, dict):
            scores = list(self.y_pred_proba.values())
        else:
            scores = [self.y_pred_proba]
        named = [s for s in scores if s is not None]
        if len(named) < len(scores):
            return None
        features = self.calculators_[_RANKED.name].schema_.names
        frame = read_table(reference, list(dict.fromkeys(features + named)), "reference").to_pandas()
        return pd.concat([prediction_sensitivity(frame, s, features) for s in named], axis=1).max(axis=1)

    def run(self, analysis: DataLike, targets: DataLike | None = None, *,
            progress: Progress | None = None, streaming: bool | None = None, incremental: bool = False) -> Report:
        """Every calculator on the analysis data; labels may come late in ``targets`` (joined on ``id``).

        ``progress(what, done, total)`` is told before each calculator runs. ``streaming``:
        read a parquet/CSV path in batches (see `UnivariateDrift.calculate`). ``incremental``:
        carry on from this monitor's previous incremental run (its state is saved with the
        monitor): only rows after those already processed are computed and the last chunk
        stays open for later rows. Late labels change old chunks, so with ``targets``
        realized performance is recomputed over all of ``analysis``: give it the whole history.
        """
        require_fitted(self)
        if incremental and not self.can_run_incrementally():
            raise InvalidConfiguration("incremental runs need chunk_size or chunk_period: with chunk_number (the "
                                       "default) or a custom chunker, chunk edges move as data grows")
        self._warn_new_columns(analysis)
        results = {}
        # a monitor saved by seismo 0.1 keyed performance "estimated"/"realized": read as today's names
        self.calculators_ = calcs = with_current_names(self.calculators_)
        done = iter(range(len(calcs)))
        states = with_current_names(getattr(self, "stream_states_", {}))
        estimated, realized = ESTIMATED_PERFORMANCE.name, REALIZED_PERFORMANCE.name

        def tell(name: str) -> None:
            if progress is not None:
                progress(f"running {name}", next(done), len(calcs))

        def state(name: str) -> StreamState | None:
            return (states.get(name) or StreamState()) if incremental else None

        if estimated in calcs:
            tell(estimated)
            results[estimated] = calcs[estimated].estimate(
                analysis, targets=targets, id=self.id, streaming=streaming, state=state(estimated))
        has_labels = targets is not None or self.y_true in read_schema(analysis, "analysis").names
        for name in (realized, CONCEPT_SHIFT.name):  # both need labels
            if name in calcs:
                tell(name)
                if has_labels:
                    results[name] = calcs[name].calculate(analysis, targets=targets, id=self.id, streaming=streaming,
                                                          state=state(name) if targets is None else None)
        for spec in _DATA_CALCULATORS:
            if spec.name in calcs:
                tell(spec.name)
                results[spec.name] = calcs[spec.name].calculate(analysis, streaming=streaming, state=state(spec.name))
        if incremental and targets is not None and realized in results:
            _check_whole_history(results)
        late = _late_rows(results, states) if incremental else 0
        if incremental:  # only once every calculator succeeded: a failed run leaves the monitor as it was
            for key, result in results.items():
                if result.state is not None:
                    states[key] = result.state
            self.stream_states_ = states
        performance = results.get(realized, results.get(estimated))
        if _RANKED.name in results:
            sensitivity = self.sensitivity_ if performance is not None else None
            if performance is not None and incremental:  # realized may cover more (late labels): rank on shared chunks
                performance = _on_chunks_of(performance, results[_RANKED.name])
            ranking = rank(results[_RANKED.name], performance, sensitivity=sensitivity)
        else:
            ranking = pd.DataFrame(columns=["rank", "column", "alert_count", "n_chunks"])
        classifier = calcs.get(DOMAIN_CLASSIFIER_DRIFT.name)
        report = Report(results, ranking, self._settings(),
                        top_features=classifier.top_features() if classifier else None)
        report.late_rows = late
        report.discovery = self._explain(analysis, targets, results)
        return report

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments, as given: ``Monitor(**monitor.get_params())`` is an equal, unfitted monitor."""
        return constructor_params(self)

    def can_run_incrementally(self) -> bool:
        """Size and period chunks can be continued by later rows; count chunks cannot."""
        return self.chunker is None and self.chunk_number is None and (
            self.chunk_size is not None or self.chunk_period is not None)

    def _settings(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and v is not None}

    def save(self, path: str | os.PathLike) -> Path:
        """Save the fitted monitor into the directory ``path``, without pickle (docs/persistence.md).

        An unfitted monitor is refused: it would load back as a monitor that cannot run."""
        from seismo.persist import save

        require_fitted(self)
        return save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, import_metrics: bool = False) -> Monitor:
        """A monitor saved by `save`; loading a tampered or incompatible directory raises `PersistError`.

        ``import_metrics``: import and register the custom metrics the save names by import path
        (docs/persistence.md); without it they must already be registered, as they were saved."""
        from seismo.persist import load

        return load(path, expect=cls, import_metrics=import_metrics)


def _model_columns(estimator: Any) -> list[str]:
    """The estimator's probability columns (classification), which its row losses read."""
    proba = getattr(estimator, "y_pred_proba", None)
    if isinstance(proba, dict):
        return list(proba.values())
    return [proba] if isinstance(proba, str) else []


def _check_whole_history(results: dict[str, Result]) -> None:
    """Late labels need the whole analysis history: refuse a source that lost its first rows.

    With ``targets=`` realized performance is recomputed over every given analysis row, so that
    labels arriving late reach old chunks, and its chunks are numbered from the source's first
    row. A source holding only the newest rows (the last few days' partitions) would give those
    rows the first chunks' keys and overwrite the stored realized values with them. The other
    calculators continue from their saved state, so when the source holds fewer rows than they
    have processed, it no longer starts at the first monitored row. Raised before the state or
    any result is kept.
    """
    history = results[REALIZED_PERFORMANCE.name].state
    processed = max((r.state.rows_seen for key, r in results.items()
                     if key != REALIZED_PERFORMANCE.name and r.state is not None), default=0)
    if history is not None and history.rows_seen < processed:
        raise InvalidData(
            f"the analysis data holds {history.rows_seen:,} rows, but {processed:,} rows have been monitored "
            "incrementally: with targets=... realized performance is recomputed over the whole analysis history "
            "(so that late labels reach old chunks), and these rows no longer start at the first monitored row. "
            "Keep every analysis row since the first run in the analysis source, or join the labels into the "
            "analysis rows and give no targets")


def _late_rows(results: dict[str, Result], states: dict[str, StreamState]) -> int:
    """Rows an incremental run skipped that no earlier run processed, with a warning counting them.

    An incremental run reads the whole growing source and skips the rows at or before the last
    processed time (`base._unseen`). Of those, as many as earlier runs processed were seen; the
    rest arrived late, older than the chunks already stored, and are in no chunk. They are
    counted here (the report's ``late_rows``, the CLI's run line) rather than dropped unsaid.
    Realized performance with late labels re-reads the whole history and is left out of the count.
    """
    late = 0
    for key, result in results.items():
        previous = states.get(key)
        if previous is None or result.state is None:
            continue
        late = max(late, int(getattr(result, "rows_skipped", 0)) - int(previous.rows_seen))
    if late > 0:
        since = next((s.watermark for s in states.values() if s is not None and s.watermark is not None), None)
        when = f" (at or before {since})" if since is not None else ""
        warnings.warn(f"{late:,} analysis rows are older than the last row processed{when} and were not processed: "
                      "an incremental run only adds rows after those it has seen, and their chunks are closed; "
                      "`seismo run --full` (or a run without incremental=True) recomputes every chunk with them",
                      SeismoWarning, stacklevel=3)
    return late


def _on_chunks_of(result: Result, other: Result) -> Result:
    """``result`` restricted to the chunks (period, start) that ``other`` has."""
    df, keys = result.to_df(), other.to_df()[["period", "chunk_start_index"]].drop_duplicates()
    kept = df.merge(keys, on=["period", "chunk_start_index"], how="inner")
    return Result(kept.reset_index(drop=True), result.calculator)
