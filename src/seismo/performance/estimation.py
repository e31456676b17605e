"""What the label-free estimators (CBPE, PAPE, DLE) share.

An estimator owns a `RealizedPerformance` fitted on the same reference. That
gives it, once and in one place, the thresholds (learned from the *realized*
metric on the reference chunks), the sampling errors, and the realized values
shown next to each estimate. The estimator itself only contributes a tracker
whose partials are built from estimated quantities (calibrated probabilities,
predicted losses) and finished by the very same metric code. Next to every
estimate it reports the trust diagnostics of `trust.py`, from one domain
classifier per analysis chunk that PAPE also reweights with.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from typing import Any, Self

import numpy as np
import pandas as pd

from seismo._typing import DataLike, TrustKind
from seismo.chunks.accumulator import ChunkTable, OpenChunk, StreamState, TableRows, local_chunk
from seismo.chunks.chunkers import Chunk
from seismo.chunks.reference import row_positions, scan_reference
from seismo.data.frame import Frame, should_stream
from seismo.data.io import read_schema
from seismo.engine.calculator import BaseCalculator, is_spark
from seismo.engine.domain_fit import DomainFitCache, FeatureEncoder
from seismo.engine.result import Result
from seismo.engine.segment_fit import BORROWED, TOO_FEW, SegmentFit, labelled
from seismo.engine.segments import SegmentCoder, group_rows, other_label, segment_frame
from seismo.engine.trackers import (
    ROWS,
    EstimationTracker,
    FittedTracker,
    chunk_values,
    require_fitted,
    rows_to_frame,
    tidy_rows,
    warn_undefined,
)
from seismo.errors import InvalidConfiguration, SeismoWarning
from seismo.performance.realized import RealizedPerformance
from seismo.performance.trust import (
    DEFAULT_WEIGHT_CLIP,
    PROBE_HYPERPARAMETERS,
    PROBE_ROWS,
    TRUST_COLUMNS,
    ChunkShift,
    DomainProbe,
    TrustModel,
    empty_values,
    with_missing_features,
    with_size_verdict,
)

REALIZED = "realized"


def _with_realized(estimated: list[dict], realized: list[dict] | None) -> list[dict]:
    """Attach each metric's realized value as the extra column ``realized``."""
    if realized is None:
        return estimated
    out = []
    for est, real in zip(estimated, realized):
        merged = dict(est)
        for key, value in real.items():
            if not isinstance(key, tuple):
                merged[(key, REALIZED)] = value
        out.append(merged)
    return out


class Estimator(BaseCalculator):
    """Plumbing for CBPE, PAPE and DLE: fit thresholds on realized values, estimate per chunk, and
    report the trust diagnostics of `trust.py` next to every estimate (``trust=False`` turns them off:
    their columns are then empty)."""

    _extra_columns = (REALIZED, *TRUST_COLUMNS)
    #: PAPE re-estimates from the weights, so for it a shift within noise means unit weights
    _reweight_noise = True

    # arguments every estimator takes (set by its __init__)
    y_pred: str | None
    y_true: str | None
    column_types: dict[str, str] | None = None  # checked by `seismo.data.columns.build_schema`
    trust: bool = True
    # learned at fit
    feature_names_: list[str]  # set by the subclass's fit before this class's
    realized_: RealizedPerformance
    fitted_tracker_: FittedTracker
    _tracker_: EstimationTracker  # the estimate's tracker (also fitted_tracker_.tracker), set by _estimation_tracker
    trust_: TrustModel | None
    reference_rows_: list[dict]
    probe_: DomainProbe | None = None  # PAPE's own reference sample (the estimate reweights it)
    domain_cache_: DomainFitCache | None = None  # shared with other calculators (`share_domain_fits`)

    def _realized_calculator(self) -> RealizedPerformance:
        """A RealizedPerformance configured with this estimator's shared arguments."""
        shared = inspect.signature(RealizedPerformance.__init__).parameters
        return RealizedPerformance(**{k: getattr(self, k) for k in shared if k != "self" and hasattr(self, k)})

    def _estimation_tracker(self, frame: Frame) -> EstimationTracker:
        """Fit whatever the estimate needs (calibration, loss models) and return its tracker."""
        raise NotImplementedError

    def _feature_columns(self) -> list[str]:
        """The features of the trust diagnostics' domain classifier (and PAPE's estimate)."""
        return list(self.feature_names_)

    def _optional_features(self) -> bool:
        """True when features were not asked for: an analysis without them gets no support diagnostics."""
        return False

    def _trust_arrays(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, TrustKind, str]:
        """Per reference row: realized and out-of-fold estimated quantity, ``"rate"``/``"loss"``, and its name."""
        raise NotImplementedError

    def _probe_settings(self) -> tuple[int, dict, int, tuple[float, float]]:
        """Domain classifier of the diagnostics: max rows, LightGBM parameters, folds, weight clip."""
        return PROBE_ROWS, {**PROBE_HYPERPARAMETERS, "random_state": self.random_state}, 3, DEFAULT_WEIGHT_CLIP

    def _domain_probe(self, frame: Frame, labelled: np.ndarray) -> DomainProbe | None:
        """The bounded, encoded reference sample the domain classifier compares chunks with."""
        names = self._feature_columns()
        if not names:
            return None
        max_rows, params, n_splits, clip = self._probe_settings()
        encoder = FeatureEncoder(frame, names, self.column_types)
        sample = DomainProbe.draw(labelled, max_rows, self.random_state)
        return DomainProbe(encoder, sample, encoder.encode(frame)[sample], params, n_splits, max_rows,
                           self.random_state, clip)

    def _build_trust(self, frame: Frame) -> TrustModel | None:
        if not self.trust:
            return None
        observed, expected, kind, what = self._trust_arrays(frame)
        probe = self.probe_
        if probe is None:
            probe = self._domain_probe(frame, np.flatnonzero(np.isfinite(observed)))
        return TrustModel(observed, expected, kind, probe, what, metric_gaps=self._metric_gaps(frame),
                          calibration_rows=float(np.isfinite(observed).sum()))

    def _metric_gaps(self, frame: Frame) -> Any:
        """Per-metric calibration gaps (`trust.MetricGaps`, classification); None: the single gap of
        `_trust_arrays`."""
        return None

    def share_domain_fits(self, cache: DomainFitCache) -> None:
        """Reuse domain-classifier fits with other calculators given the same ``cache`` (see `Monitor`)."""
        self.domain_cache_ = cache

    def _probe(self) -> DomainProbe | None:
        probe = self.probe_ or (self.trust_.probe if self.trust_ is not None else None)
        if probe is not None:
            probe.cache = self.domain_cache_
        return probe

    def _chunk_shifts(self, frame: Frame, chunks: list[Chunk]) -> list[ChunkShift] | None:
        """One domain classifier per analysis chunk, shared by the estimate (PAPE) and the diagnostics."""
        probe = self._probe()
        if probe is None or not set(probe.encoder.schema.names) <= set(frame.columns):
            return None
        x = probe.encoder.encode(frame)
        return [probe.shift(x, chunk, reweight_noise=self._reweight_noise) for chunk in chunks]

    def _shift_expected(self, shift: ChunkShift) -> np.ndarray | None:
        """The reference sample's out-of-fold estimates under this chunk's estimate (None: the fit-time ones)."""
        return None

    @staticmethod
    def _with_trust(values: list[dict], trusts: list[dict]) -> list[dict]:
        return [{**v, **trust} for v, trust in zip(values, trusts)]

    def fit(self, reference: DataLike, *, streaming: bool | None = None) -> Self:
        """Learn the estimate's model plus thresholds and sampling errors from the labelled reference.

        ``streaming`` works as in `UnivariateDrift.fit` (see `_fit_streamed`).
        """
        realized = self._realized_calculator()
        names = realized.checked_metrics()
        columns = list(dict.fromkeys([*realized.model_columns(), *self._feature_columns()]))
        if should_stream(reference, columns, streaming):
            return self._fit_streamed(reference, realized, columns)
        frame = self._load(reference, columns, "reference")
        self._check_not_empty(frame)
        realized.fit_frame(frame, names)
        return self._fit_on(realized, frame, realized.reference_chunks_, sampled=False)

    def _fit_streamed(self, reference: DataLike, realized: RealizedPerformance, columns: list[str]) -> Self:
        """A reference larger than memory. Thresholds, sampling errors and the realized reference
        values come from every row (`RealizedPerformance.fit` streams them). What needs raw rows
        (the calibration or loss models, the trust diagnostics' reference sample) learns from a
        uniform sample of at most `seismo.chunks.reference.REFERENCE_SAMPLE_ROWS` rows, and each
        reference chunk's estimate is computed on the sampled rows that fall in it. With a
        sample holding every row, this equals the in-memory fit.
        """
        realized.fit(reference, streaming=True)
        sample = scan_reference(reference, columns, self.timestamp, seed=self.random_state,
                                timestamp_format=self.timestamp_format).frame
        positions = row_positions(sample)  # in time order, so each chunk's sampled rows are contiguous
        in_sample = [Chunk(c.index, c.key, int(np.searchsorted(positions, c.start)),
                           int(np.searchsorted(positions, c.stop)), c.start_date, c.end_date)
                     for c in realized.reference_chunks_]
        return self._fit_on(realized, sample, in_sample, sampled=True)

    def _fit_on(self, realized: RealizedPerformance, frame: Frame, in_frame: list[Chunk], sampled: bool) -> Self:
        """Fit the estimate's model on ``frame`` (every reference row, or a sample: ``sampled``) and
        build the reference rows; ``in_frame`` are the reference chunks as rows of ``frame``."""
        self.realized_ = realized
        self.chunker_ = realized.chunker_
        self.metrics_ = realized.metrics_
        tracker = self._estimation_tracker(frame)
        self.trust_ = self._build_trust(frame)
        fitted_real = realized.fitted_trackers_[0]
        self.fitted_tracker_ = FittedTracker(tracker, fitted_real.metrics, reference_rows=fitted_real.reference_rows)
        chunks = realized.reference_chunks_
        estimated = chunk_values(tracker, tracker.encode_reference(frame), in_frame, None, leave_out=False)
        if sampled:  # sampling errors are those of the whole chunk, not of its sampled rows
            for values in estimated:
                values.pop(ROWS, None)
        trust = self.trust_
        smallest = self._smallest_reference_chunk()
        estimated = self._with_trust(estimated, [with_size_verdict(trust.reference_values(c) if trust else
                                                                   empty_values(), whole.size, smallest)
                                                 for c, whole in zip(in_frame, chunks)])
        real_values = _realized_from_rows(fitted_real.reference_table, chunks)
        self.reference_rows_ = tidy_rows(self.fitted_tracker_, chunks, _with_realized(estimated, real_values), "reference")
        if self.segments:
            self.reference_rows_ += self._segment_estimates_of_reference(frame, in_frame, chunks, sampled)
        self.fitted_ = True
        return self

    # -- declared segments: each segment's rows estimated on their own (docs/segments.md) -----
    def _segment_fit(self) -> SegmentFit:
        fit = self.realized_.fitted_trackers_[0].segments
        assert isinstance(fit, SegmentFit), "a segmented estimator's RealizedPerformance is segmented too"
        return fit

    def _segment_tracker(self, realized: FittedTracker) -> FittedTracker:
        """The estimate's tracker with a segment's thresholds (learned on its realized values)."""
        return FittedTracker(self._tracker_, realized.metrics, reference_rows=realized.reference_rows)

    def _segment_estimates_of_reference(self, frame: Frame, in_frame: list[Chunk], chunks: list[Chunk],
                                sampled: bool) -> list[dict]:
        """Every reference segment's estimates per reference chunk (out of fold, like the overall ones),
        beside its realized values, with the segment's thresholds."""
        fit = self._segment_fit()
        tracker = self._tracker_
        encoded = tracker.encode_reference(frame)
        realized = {(r["segment"], r["chunk_index"], r["metric"]): (r["value"], r["segment_rows"])
                    for r in fit.reference_table}
        names = list(self.fitted_tracker_.metrics)
        rows: list[dict] = []
        for codes in SegmentCoder(self._segment_specs()).codes(frame):
            for code, members in group_rows(codes.codes, slice(0, frame.n_rows)):
                label = codes.labels[code]
                fitted, source = fit.for_segment(label)
                for local, whole in zip(in_frame, chunks):
                    picked = members[(members >= local.start) & (members < local.stop)]
                    if picked.size == 0:
                        continue
                    values = tracker.finish(tracker.partial(encoded, picked), None)
                    n = float(picked.size)
                    if sampled:  # the segment's rows in the whole chunk, as the realized pass counted them
                        values.pop(ROWS, None)
                        n = next((float(realized[(label, whole.index, m)][1]) for m in names
                                  if (label, whole.index, m) in realized), n)
                    trust = self.trust_.analysis_values(None, int(n)) if self.trust_ is not None else empty_values()
                    values = {**values, **with_size_verdict(trust, int(n), self._smallest_reference_chunk())}
                    values.update({(m, REALIZED): realized.get((label, whole.index, m), (np.nan, n))[0]
                                   for m in names})
                    rows += labelled(tidy_rows(self._segment_tracker(fitted), [whole], [values], "reference",
                                               sizes=[n]), label, [n], source)
        return rows

    def _segment_chunk_rows(self, frame: Frame, whole: Chunk) -> list[dict]:
        """One analysis chunk's rows for each of its segments, with the small-segment guard of
        `seismo.engine.segment_fit.segment_chunk_rows`: small segments merged into "(other)" (thresholds
        borrowed) or reported without thresholds, never dropped."""
        fit = self._segment_fit()
        rows: list[dict] = []
        specs = self._segment_specs()
        for spec, codes in zip(specs, SegmentCoder(specs).codes(frame)):
            small: list[tuple[str, np.ndarray]] = []
            for code, members in group_rows(codes.codes, slice(0, frame.n_rows)):
                label = codes.labels[code]
                fitted, source = fit.for_segment(label)
                if members.size < self.min_segment_rows:
                    if self.small_segments == "other":
                        small.append((label, members))
                        continue
                    source = TOO_FEW
                rows += self._segment_estimate(frame, members, label, source, whole, fitted)
            if small:
                members = np.sort(np.concatenate([m for _, m in small]))
                known = [label for label, _ in small if label in fit.counted]
                counted = sum(fit.counted[label] for label in known)
                lent = fit.lent(None, None) if not counted else dataclasses.replace(fit.borrowed,
                                                                                   reference_rows=float(counted))
                rows += self._segment_estimate(frame, members, other_label(spec),
                                               BORROWED if members.size >= self.min_segment_rows else TOO_FEW,
                                               whole, lent)
        return rows

    def _segment_estimate(self, frame: Frame, members: np.ndarray, label: str, source: str, whole: Chunk,
                          fitted: FittedTracker) -> list[dict]:
        part = segment_frame(frame, members)
        values = self._chunk_values(part, [Chunk(whole.index, whole.key, 0, part.n_rows, whole.start_date,
                                                 whole.end_date)], support=False)
        return labelled(tidy_rows(self._segment_tracker(fitted), [whole], values, "analysis",
                                  sizes=[members.size]), label, [members.size], source)

    def estimate(self, analysis: DataLike, targets: DataLike | None = None, id: str | None = None, *,
                 streaming: bool | None = None, state: StreamState | None = None) -> Result:
        """Estimated metrics per analysis chunk; ``realized`` is filled where labels are present.

        ``streaming`` and ``state`` work as in `UnivariateDrift.calculate`: chunks are
        assembled from batches (or completed from the previous run's open chunk) and each
        complete chunk is estimated with the same code as in memory, on its own rows.
        """
        require_fitted(self)
        if is_spark(analysis):
            raise InvalidConfiguration(f"{type(self).__name__} does not run on Spark yet: its per-chunk calibration "
                                       "and domain classifier need the chunk's rows; pass a parquet path to stream it")
        extra = self._feature_columns()
        if self._optional_features():
            present = set(read_schema(analysis, "analysis").names)
            extra = [c for c in extra if c in present]
            missing = self._missing_features(list(present))
            if missing:  # estimated all the same (the features are not the estimate's input), but said
                warnings.warn(f"{type(self).__name__}: {len(missing)} of the default features are missing from the "
                              f"analysis data ({', '.join(repr(c) for c in missing[:10])}"
                              f"{' ...' if len(missing) > 10 else ''}); the trust diagnostics cannot check the "
                              "chunks' support in the reference, so every estimate is marked trust 'low'",
                              SeismoWarning, stacklevel=2)
        columns, prepare = self.realized_.labelled_input(analysis, targets, id, require_labels=False, extra=extra)
        self.chunker_ = self.realized_.chunker_
        def settle(chunk: OpenChunk) -> list[dict]:  # a complete chunk's rows: estimated on its own rows
            whole = chunk.to_chunk()
            table = chunk.merged[0]
            assert isinstance(table, ChunkTable)  # the partial of TableRows, the one tracker below
            frame = table.frame()
            values = self._chunk_values(frame, [local_chunk(whole)])
            rows = tidy_rows(self.fitted_tracker_, [whole], values, "analysis")
            return rows + self._segment_chunk_rows(frame, whole) if self.segments else rows

        built, new_state, skipped = self._accumulate([TableRows()], analysis, columns, streaming=streaming,
                                                     state=state, prepare=prepare, settle=settle)
        rows = list(self.reference_rows_)
        for chunk in built:
            rows += chunk.settled
        df = rows_to_frame(rows, [*self._extra_columns, *self._segment_extra_columns()])
        warn_undefined(df, type(self).__name__)
        self._adjust_rows(df)
        result = Result(df, type(self).__name__)
        result.state = new_state
        result.rows_skipped = skipped
        return result

    def _adjust_rows(self, df: pd.DataFrame) -> None:
        """Change the tidy rows in place before they become the `Result` (DLE scales its sampling errors)."""

    def _chunk_values(self, frame: Frame, chunks: list[Chunk], support: bool = True) -> list[dict]:
        """Estimates, trust diagnostics and realized values of ``chunks`` of ``frame``.

        ``support=False`` (a segment's rows): no domain classifier. The reference sample it compares
        with is the whole reference, against which a segment always looks shifted, so a segment's
        trust rests on its size and the calibration; the overall row of the chunk carries the
        support check (and PAPE's segment estimates are not reweighted).
        """
        tracker = self._tracker_
        shifts = self._chunk_shifts(frame, chunks) if support else None
        encoded = tracker.encode(frame)
        if shifts is not None:
            tracker.use_shifts(encoded, chunks, shifts)
        estimated = chunk_values(tracker, encoded, chunks, None, leave_out=False)
        if self.trust_ is None:
            trusts = [empty_values() for _ in chunks]
        elif shifts is None:
            trusts = [self.trust_.analysis_values(None, c.size) for c in chunks]
        else:
            trusts = [self.trust_.analysis_values(s, c.size, self._shift_expected(s)) for s, c in zip(shifts, chunks)]
        smallest = self._smallest_reference_chunk()
        missing = self._missing_features(frame.columns) if support else []
        trusts = [with_missing_features(with_size_verdict(t, c.size, smallest), missing)
                  for t, c in zip(trusts, chunks)]
        estimated = self._with_trust(estimated, trusts)
        return _with_realized(estimated, self._realized_values(frame, chunks))

    def _missing_features(self, present: list[str]) -> list[str]:
        """Features of the trust diagnostics' domain classifier that ``present`` lacks."""
        probe = self._probe()
        if probe is None or self.trust_ is None:
            return []
        return [c for c in probe.encoder.schema.names if c not in set(present)]

    def _smallest_reference_chunk(self) -> int:
        """Rows of the smallest reference chunk the thresholds were learned from (`with_size_verdict`)."""
        return min((c.size for c in self.realized_.reference_chunks_), default=0)

    def _realized_values(self, frame: Frame, chunks: list[Chunk]) -> list[dict] | None:
        if self.realized_.y_true not in frame.columns:
            return None
        real_tracker = self.realized_.fitted_trackers_[0].tracker
        return chunk_values(real_tracker, real_tracker.encode(frame), chunks, None, leave_out=False)


def _realized_from_rows(rows: list[dict], chunks: list[Chunk]) -> list[dict]:
    """Per-chunk metric -> value dicts from tidy reference rows (already computed at fit)."""
    by_chunk: list[dict] = [{} for _ in chunks]
    for row in rows:
        by_chunk[row["chunk_index"]][row["metric"]] = row["value"]
    return by_chunk
