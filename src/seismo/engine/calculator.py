"""What every calculator shares: column roles, chunking, fit and calculate plumbing.

Constructors only store their arguments (the scikit-learn contract); everything
learned is set in ``fit`` on attributes ending in ``_``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa

from seismo._typing import DataLike, Incomplete, SegmentCorrection, Segments, SmallSegments
from seismo.chunks.accumulator import ChunkAccumulator, OpenChunk, StreamState, apply_incomplete
from seismo.chunks.chunkers import (
    DEFAULT_INCOMPLETE,
    Chunk,
    Chunker,
    CountChunker,
    check_reference_rows,
    chunk_reference,
    make_chunker,
    warn_few_reference_chunks,
)
from seismo.chunks.reference import ReferenceData, feature_extras, scan_reference
from seismo.data.columns import Roles, Schema, build_schema, given_column
from seismo.data.features import infer_features
from seismo.data.frame import Frame, count_rows, iter_frames, load_frame, should_stream
from seismo.data.io import float_values, read_schema
from seismo.engine.result import Result
from seismo.engine.segmented import SegmentedCalculation
from seismo.engine.segments import (
    DEFAULT_MIN_SEGMENT_ROWS,
    check_segment_options,
    check_segments,
)
from seismo.engine.trackers import (
    DEFAULT_RANDOM_STATE,
    DEFAULT_RESAMPLES,
    FittedTracker,
    ReferencePartials,
    check_false_alarm_rate,
    fit_from_partials,
    fit_tracker,
    require_fitted,
    rows_to_frame,
    tidy_rows,
    warn_undefined,
)
from seismo.errors import InvalidConfiguration, InvalidData


class BaseCalculator(SegmentedCalculation):
    """Shared plumbing; subclasses set ``_extra_columns`` and build trackers.

    ``timestamp_format``: the strptime format of a text timestamp column (e.g. ``"%d/%m/%Y"``),
    used as given instead of the format search of `seismo.data.timestamps` (docs/data.md).
    ``false_alarm_rate``: the per-cell rate of every default threshold that has one; None keeps
    each metric's default, thresholds given in ``thresholds=`` are never changed (docs/thresholds.md).
    Unlike the other arguments these two are checked here, so a bad value fails before any data is read.
    """

    _extra_columns: tuple[str, ...] = ()
    # class-level defaults: a monitor saved before these arguments existed loads without them (seismo.persist)
    timestamp_format: str | None = None
    false_alarm_rate: float | None = None
    # the model's column roles, None where a calculator takes none (its __init__ sets those it takes)
    y_pred_proba: str | dict | None = None
    y_pred: str | None = None
    y_true: str | None = None
    id: str | None = None
    # learned at fit
    fitted_: bool = False
    chunker_: Chunker
    fitted_trackers_: list[FittedTracker]
    schema_: Schema | None = None  # kinds of the feature columns, for calculators that read features

    def __init__(
        self,
        *,
        timestamp: str | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        thresholds: dict | None = None,
        n_resamples: int = DEFAULT_RESAMPLES,
        random_state: int = DEFAULT_RANDOM_STATE,
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
        self.segments = segments
        self.min_segment_rows = min_segment_rows
        self.small_segments = small_segments
        self.segment_correction = segment_correction
        self.timestamp = timestamp
        self.timestamp_format = timestamp_format
        self.false_alarm_rate = false_alarm_rate
        self.chunk_size = chunk_size
        self.chunk_number = chunk_number
        self.chunk_period = chunk_period
        self.chunker = chunker
        self.incomplete = incomplete
        self.thresholds = thresholds
        self.n_resamples = n_resamples
        self.random_state = random_state

    # -- pieces subclasses use -------------------------------------------------
    def _make_chunker(self) -> Chunker:
        return make_chunker(self.chunk_size, self.chunk_number, self.chunk_period, self.chunker, self.incomplete)

    def _roles(self) -> Roles:
        return Roles(
            timestamp=self.timestamp,
            y_pred_proba=self.y_pred_proba,
            y_pred=self.y_pred,
            y_true=self.y_true,
            id=self.id,
        )

    @property
    def _true_column(self) -> str:
        """``y_true``, for the performance calculators: each needs it to fit (its configuration check says so)."""
        return given_column(self.y_true, "y_true", type(self).__name__)

    @property
    def _pred_column(self) -> str:
        """``y_pred``, needed like ``y_true``."""
        return given_column(self.y_pred, "y_pred", type(self).__name__)

    def _feature_names(self, data: DataLike, requested: list[str] | None, where: str) -> list[str]:
        """Requested features, or every column without a role less datetimes and identifiers
        (`seismo.data.features.infer_features`, one rule for every calculator; warns what it left out)."""
        if requested is not None:
            return list(requested)
        return infer_features(data, self._roles(), where, stacklevel=3, timestamp_format=self.timestamp_format)

    def _load(self, data: DataLike, columns: list[str], where: str) -> Frame:
        return load_frame(data, self._with_segment_columns(columns), self.timestamp, where,
                          timestamp_format=self.timestamp_format)

    def _reference_chunks(self, frame: Frame) -> list[Chunk]:
        self.chunker_ = self._make_chunker()
        return chunk_reference(self.chunker_, frame.n_rows, frame.timestamps)

    # -- the reference side: in memory, or streamed in two passes (seismo.chunks.reference) --
    def _scan_reference(self, reference: DataLike, columns: list[str], ranges: Sequence[str] = (),
                        counts: dict[str, int | None] | None = None) -> ReferenceData:
        """First pass over a streamed reference (sample, row count, exact extras); makes the chunker."""
        ref = scan_reference(reference, self._with_segment_columns(columns), self.timestamp, ranges=ranges,
                             counts=counts, seed=self.random_state, timestamp_format=self.timestamp_format)
        self.chunker_ = self._make_chunker()
        check_reference_rows(self.chunker_, ref.n_rows)
        return ref

    def _fit_trackers(self, trackers: list, reference: ReferenceData, overrides: dict,
                      encoders: list | None = None) -> list[FittedTracker]:
        """Thresholds and sampling errors of each tracker, from every reference chunk's partial.

        ``encoders[i]`` encodes the reference for ``trackers[i]`` where that differs from
        the tracker's own ``encode`` (PCA adds its in-sample optimism to its fit rows). A streamed
        reference is read a second time here, through the same accumulator as the analysis;
        its random subsets are drawn from the sample.
        """
        encoders = encoders or trackers
        if self._segment_specs():
            return self._fit_segmented(trackers, encoders, reference, overrides)
        if not reference.streamed:
            frame = reference.frame
            return [fit_tracker(t, frame, reference.known_chunks, overrides, self.n_resamples, self.random_state,
                                encoded=None if e is t else e.encode(frame), false_alarm_rate=self.false_alarm_rate)
                    for t, e in zip(trackers, encoders)]
        chunks, parts, wholes = self._stream_reference_partials(encoders, reference)
        reference.chunks = chunks
        fitted = []
        for i, (tracker, encoder) in enumerate(zip(trackers, encoders)):
            partials = ReferencePartials(chunks, [p[i] for p in parts], wholes[i], reference.n_rows,
                                         encoder.encode(reference.frame), reference.sample_rows)
            fitted.append(fit_from_partials(tracker, partials, overrides, self.n_resamples, self.random_state,
                                            self.false_alarm_rate))
        return fitted

    def _stream_reference_partials(self, trackers: list, reference: ReferenceData
                                   ) -> tuple[list[Chunk], list[list], list]:
        """Second pass: each kept chunk, its partial per tracker, and each tracker's partial of all rows."""
        acc = ChunkAccumulator(trackers, self.chunker_, total_rows=reference.n_rows)
        for frame in reference.batches(self.timestamp, self.timestamp_format):
            acc.feed(frame)
        built, _ = acc.finish(keep_open=True)  # every row, before the rule for a short last chunk
        wholes = []
        for i in range(len(trackers)):
            whole = built[0].merged[i]
            for chunk in built[1:]:
                whole = whole + chunk.merged[i]
            wholes.append(whole)
        kept = apply_incomplete(self.chunker_, built)
        warn_few_reference_chunks(len(kept), [c.stop - c.start for c in kept])
        return [c.to_chunk() for c in kept], [c.merged for c in kept], wholes

    def _result_from(self, fitted: list[FittedTracker], built: list[OpenChunk]) -> Result:
        """The result of the analysis chunks ``built`` (each with its merged partials), after the reference's rows."""
        rows = []
        for f in fitted:
            rows.extend(f.reference_table)
        if self._segment_specs():
            rows.extend(self._segment_reference_rows(fitted))
            for chunk in built:  # settled as they closed (streamed and in-memory runs), or now (Spark)
                rows.extend(chunk.settled if chunk.settled is not None else self._chunk_rows(fitted, chunk))
        else:
            chunks = [c.to_chunk() for c in built]
            values = [[f.tracker.finish(c.merged[i], f.total if f.tracker.comparative else None) for c in built]
                      for i, f in enumerate(fitted)]
            for f, tracker_values in zip(fitted, values):
                rows.extend(tidy_rows(f, chunks, tracker_values, "analysis"))
        df = rows_to_frame(rows, [*self._extra_columns, *self._segment_extra_columns()])
        warn_undefined(df, type(self).__name__)
        order = {"reference": 0, "analysis": 1}
        df = df.sort_values(
            by=["period", "chunk_index"], key=lambda s: s.map(order) if s.name == "period" else s, kind="stable"
        ).reset_index(drop=True)
        return Result(df, type(self).__name__)

    def _calculate_trackers(self, fitted: list[FittedTracker], data: DataLike, columns: list[str], *,
                            streaming: bool | None, state: StreamState | None,
                            prepare: Callable[[Frame], Frame] | None = None) -> Result:
        """Run trackers over the analysis data: in memory, streamed in batches, or incrementally.

        With ``state`` (a previous result's ``state``) only rows after those already
        processed are read, the previous run's open chunk is completed, and the last
        chunk stays open; the returned result's ``state`` continues from there.
        ``prepare`` turns each batch into what the trackers read (e.g. joins late labels).
        """
        if is_spark(data):
            if prepare is not None:
                raise InvalidConfiguration("with a Spark DataFrame, join the late labels in Spark and pass no targets")
            return self._spark_result(fitted, data, columns, state)
        settle = (lambda chunk: self._chunk_rows(fitted, chunk)) if self._segment_specs() else None
        built, new_state, skipped = self._accumulate(self._sources([f.tracker for f in fitted]), data, columns,
                                                     streaming=streaming, state=state, prepare=prepare,
                                                     settle=settle)
        result = self._result_from(fitted, built)
        result.state = new_state
        result.rows_skipped = skipped
        return result

    def _accumulate(self, trackers: list, data: DataLike, columns: list[str], *, streaming: bool | None,
                    state: StreamState | None, prepare: Callable[[Frame], Frame] | None = None,
                    settle: Callable[[OpenChunk], object] | None = None,
                    ) -> tuple[list[OpenChunk], StreamState, int]:
        """Every analysis chunk's merged partials (or, with ``settle``, what it made of each
        complete chunk, in ``settled``), the state to continue from, and the rows skipped."""
        frames, total = self._analysis_frames(data, columns, streaming, state)
        acc = ChunkAccumulator(trackers, self.chunker_, total_rows=total, state=state, settle=settle)
        skipped = 0
        position = 0
        for frame in frames:
            if state is not None:
                frame, dropped = _unseen(frame, state, position)
                position += frame.n_rows + dropped
                skipped += dropped
            if frame.n_rows:
                acc.feed(prepare(frame) if prepare is not None else frame)
        if state is None and acc.rows_seen == 0:
            raise InvalidData("the analysis set is empty; there is nothing to monitor")
        built, new_state = acc.finish(keep_open=state is not None)
        return built, new_state, skipped

    def _spark_result(self, fitted: list[FittedTracker], data: DataLike, columns: list[str],
                      state: StreamState | None) -> Result:
        """A Spark DataFrame: partials are built on the executors, only they come back (`seismo.chunks.spark`)."""
        if state is not None:
            raise InvalidConfiguration("incremental runs (state=...) read parquet/CSV or in-memory data, not Spark")
        from seismo.chunks.spark import spark_chunk_partials

        built = spark_chunk_partials(self._sources([f.tracker for f in fitted]), data,
                                     self._with_segment_columns(columns), self.timestamp, self.chunker_,
                                     timestamp_format=self.timestamp_format)
        if not built:
            raise InvalidData("the analysis set is empty; there is nothing to monitor")
        return self._result_from(fitted, built)

    def _analysis_frames(self, data: DataLike, columns: list[str], streaming: bool | None,
                         state: StreamState | None) -> tuple[Iterator[Frame], int | None]:
        if state is not None and isinstance(self.chunker_, CountChunker):
            raise InvalidConfiguration("incremental runs need chunk_size or chunk_period: with chunk_number the "
                                       "chunk edges move as data grows")
        if should_stream(data, columns, streaming, "analysis"):
            self._check_analysis_types(read_schema(data, "analysis"))
            total = count_rows(data) if isinstance(self.chunker_, CountChunker) else None
            return iter_frames(data, self._with_segment_columns(columns), self.timestamp, "analysis",
                               timestamp_format=self.timestamp_format), total
        frame = self._load(data, columns, "analysis")
        if state is None:
            self._check_not_empty(frame)
        self._check_frame_types(frame)
        return iter([frame]), frame.n_rows

    def _check_frame_types(self, frame: Frame) -> None:
        """Continuous columns must be numeric: checked before any statistic runs, naming the column."""
        for spec in self.schema_.columns if self.schema_ is not None else []:
            if spec.kind == "continuous" and spec.name in frame.columns:
                frame.floats(spec.name)

    def _check_analysis_types(self, schema: pa.Schema) -> None:
        """Streaming: a continuous column's type is checked on the schema, before any batch is read."""
        specs = self.schema_.columns if self.schema_ is not None else []
        for spec in specs:
            if spec.kind == "continuous" and spec.name in schema.names:
                float_values(pa.array([], type=schema.field(spec.name).type), spec.name, "analysis")

    def _check_not_empty(self, frame: Frame) -> None:
        if frame.n_rows == 0:
            raise InvalidData(f"the {frame.where} set is empty; there is nothing to monitor")

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments, as given (see `constructor_params`)."""
        return constructor_params(self)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_") and v is not None)
        return f"{type(self).__name__}({params})"

    def _require_fitted(self) -> None:
        require_fitted(self)


class FeatureCalculator(BaseCalculator):
    """A calculator over the model's input columns (drift, data quality).

    The model's role columns are taken only so that ``columns=None`` can mean
    "every column without a role".
    """

    schema_: Schema  # every feature calculator learns its columns' kinds at fit

    def __init__(
        self,
        *,
        columns: list[str] | None = None,
        column_types: dict[str, str] | None = None,
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        id: str | None = None,
        **common,
    ):
        super().__init__(**common)
        self.columns = columns
        self.column_types = column_types
        self.y_pred_proba = y_pred_proba
        self.y_pred = y_pred
        self.y_true = y_true
        self.id = id

    def _monitored_names(self, reference: DataLike) -> list[str]:
        names = self._feature_names(reference, self.columns, "reference")
        if not names:
            raise InvalidConfiguration("there are no columns to monitor; pass columns=[...]")
        return names

    def _load_reference_features(self, reference: DataLike,
                                 names: list[str] | None = None) -> tuple[Frame, list[Chunk]]:
        """Read the monitored columns, chunk them, and learn their kinds (``schema_``)."""
        names = self._monitored_names(reference) if names is None else names
        frame = self._load(reference, names, "reference")
        self._check_not_empty(frame)
        chunks = self._reference_chunks(frame)
        self.schema_ = build_schema(frame.table, names, self.column_types)
        return frame, chunks

    def _reference_features(self, reference: DataLike, streaming: bool | None) -> ReferenceData:
        """The monitored columns of the reference, with their kinds (``schema_``) and the chunker.

        In memory every row is read and chunked. A parquet/CSV path is streamed when
        ``streaming`` is true, or, with ``None``, when it is too large to hold comfortably:
        then this is the first pass (sample and exact extras), and the chunks come with the
        second pass in `_fit_trackers`.
        """
        names = self._monitored_names(reference)
        if not should_stream(reference, names, streaming, "reference"):
            frame, chunks = self._load_reference_features(reference, names)
            return ReferenceData(frame, frame.n_rows, chunks=chunks)
        ranges, counts = feature_extras(read_schema(reference, "reference"), names, self.column_types)
        ref = self._scan_reference(reference, names, ranges, counts)
        self.schema_ = build_schema(ref.frame.table, names, {**ref.integer_kinds(), **(self.column_types or {})})
        return ref

    def calculate(self, analysis: DataLike, *, streaming: bool | None = None,
                  state: StreamState | None = None) -> Result:
        """Every analysis chunk; the reference chunks are included in the result.

        ``streaming``: read a parquet/CSV path in batches (memory bounded by the batch,
        not the data); ``None`` streams paths too large to hold comfortably. ``state``:
        continue an incremental run from a previous result's ``state``
        (`seismo.StreamState()` starts one).
        """
        self._require_fitted()
        return self._calculate_trackers(self.fitted_trackers_, analysis, list(self.schema_.names),
                                        streaming=streaming, state=state)


def check_timestamp_format(fmt: str | None) -> None:
    """``timestamp_format``: None (ISO 8601 or the one format of `seismo.data.timestamps` that reads every value),
    or a strptime format with at least one ``%`` directive."""
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        raise InvalidConfiguration(f"timestamp_format must be None or a strptime format such as '%d/%m/%Y', "
                                   f"got {fmt!r}")


def constructor_params(obj: object) -> dict[str, Any]:
    """``obj``'s constructor arguments, read back from its ``__init__`` signature.

    Every calculator (and `Monitor`) stores each argument unchanged under its own name, the
    scikit-learn convention, so this is what a caller needs to rebuild an equal, unfitted
    object: ``type(obj)(**obj.get_params())``. `tests/test_calculator_contract.py` checks it.
    """
    signature = inspect.signature(type(obj).__init__)
    return {p.name: getattr(obj, p.name) for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def is_spark(data: object) -> bool:
    """A pyspark DataFrame, recognised without importing pyspark (an optional extra)."""
    return type(data).__module__.startswith("pyspark.sql") and type(data).__name__ == "DataFrame"


def _unseen(frame: Frame, state: StreamState, position: int) -> tuple[Frame, int]:
    """The rows of ``frame`` an incremental run has not processed yet, and how many it skipped.

    With a timestamp, rows at or before the last processed time were seen; without one,
    the source is taken to be the whole growing data and its first ``rows_seen`` rows were seen.
    """
    if frame.timestamps is not None and state.watermark is not None:
        keep = frame.timestamps > state.watermark
    else:
        keep = np.arange(position, position + frame.n_rows) >= state.rows_seen
    n_keep = int(keep.sum())
    if n_keep == frame.n_rows:
        return frame, 0
    rows = pa.array(np.flatnonzero(keep))
    table = frame.table.take(rows)
    stamps = frame.timestamps[keep] if frame.timestamps is not None else None
    return Frame(table, stamps, frame.where), frame.n_rows - n_keep
