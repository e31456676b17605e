"""What the label-free estimators (CBPE, DLE) share.

An estimator owns a `RealizedPerformance` fitted on the same reference. That
gives it, once and in one place, the thresholds (learned from the *realized*
metric on the reference chunks), the sampling errors, and the realized values
shown next to each estimate. The estimator itself only contributes a tracker
whose partials are built from estimated quantities (calibrated probabilities,
predicted losses) and finished by the very same metric code.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..base import BaseCalculator
from ..calculator import FittedTracker, chunk_values, require_fitted, rows_to_frame, tidy_rows
from ..chunking import Chunk
from ..frame import Frame
from ..io import DataLike
from ..result import Result
from .realized import RealizedPerformance

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
    """Plumbing for CBPE and DLE: fit thresholds on realized values, estimate per chunk."""

    _extra_columns = (REALIZED,)

    def _realized_calculator(self) -> RealizedPerformance:
        """A RealizedPerformance configured with this estimator's shared arguments."""
        shared = inspect.signature(RealizedPerformance.__init__).parameters
        return RealizedPerformance(**{k: getattr(self, k) for k in shared if k != "self" and hasattr(self, k)})

    def _estimation_tracker(self, frame: Frame) -> Any:
        """Fit whatever the estimate needs (calibration, loss models) and return its tracker."""
        raise NotImplementedError

    def _feature_columns(self) -> list[str]:
        return []

    def fit(self, reference: DataLike) -> "Estimator":
        """Learn the estimate's model plus thresholds and sampling errors from the labelled reference."""
        realized = self._realized_calculator()
        names = realized._check_config()
        columns = list(dict.fromkeys([*realized._model_columns(), *self._feature_columns()]))
        frame = self._load(reference, columns, "reference")
        self._check_not_empty(frame)
        realized._fit_frame(frame, names)
        self.realized_ = realized
        self.chunker_ = realized.chunker_
        self.metrics_ = realized.metrics_
        tracker = self._estimation_tracker(frame)
        fitted_real = realized.fitted_trackers_[0]
        self.fitted_tracker_ = FittedTracker(tracker, fitted_real.metrics, reference_rows=fitted_real.reference_rows)
        chunks = realized.reference_chunks_
        estimated = chunk_values(tracker, tracker.encode_reference(frame), chunks, None, leave_out=False)
        real_values = _realized_from_rows(fitted_real.reference_table, chunks)
        self.reference_rows_ = tidy_rows(self.fitted_tracker_, chunks, _with_realized(estimated, real_values), "reference")
        self.fitted_ = True
        return self

    def estimate(self, analysis: DataLike, targets: DataLike | None = None, id: str | None = None) -> Result:
        """Estimated metrics per analysis chunk; ``realized`` is filled where labels are present."""
        require_fitted(self)
        frame = self.realized_._load_labelled(analysis, targets, id, require_labels=False,
                                              extra=self._feature_columns())
        chunks = self.realized_._analysis_chunks(frame)
        tracker = self.fitted_tracker_.tracker
        estimated = chunk_values(tracker, tracker.encode(frame), chunks, None, leave_out=False)
        realized = self._realized_values(frame, chunks)
        rows = self.reference_rows_ + tidy_rows(self.fitted_tracker_, chunks, _with_realized(estimated, realized), "analysis")
        df = rows_to_frame(rows, list(self._extra_columns))
        return Result(df, type(self).__name__)

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
