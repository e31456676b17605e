"""`DLE`: regression performance without labels, by direct loss estimation.

A LightGBM "loss model" learns, on the reference, each row's loss of the
monitored model from the features and the model's prediction. On new data the
predicted losses are averaged per chunk through the same `LossSums` partial
that realized performance fills with true losses; RMSE and RMSLE are the root
of the mean estimated squared loss. Reference-period estimates use
out-of-fold loss predictions, so thresholds and plots are not flattered.
Method: NannyML's DLE documentation (nannyml.readthedocs.io, "Direct Loss
Estimation"); no code is shared.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seismo._typing import Incomplete, SegmentCorrection, Segments, SmallSegments, TrustKind
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunk, Chunker
from seismo.data.columns import build_schema
from seismo.data.frame import Frame
from seismo.engine.result import Result
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, DEFAULT_RESAMPLES, ROWS
from seismo.errors import InvalidData
from seismo.metrics.partials import LossSums
from seismo.metrics.registry import METRICS, losses_of, metric_loss
from seismo.performance.estimation import Estimator
from seismo.performance.loss_model import DEFAULT_SPLITS, LossModel, row_losses
from seismo.performance.model import regression_values
from seismo.performance.trust import ChunkShift


class DLETracker:
    """Builds loss sums from predicted per-row losses."""

    comparative = False
    column = None

    def __init__(self, model: LossModel, features: list[str], categorical: list[str], y_pred: str,
                 metrics: list[str], reference_losses: dict[str, np.ndarray]):
        self.model = model
        self.features = features
        self.categorical = categorical
        self.y_pred = y_pred
        self.metrics = metrics
        self.reference_losses = reference_losses

    def inputs(self, frame: Frame) -> pd.DataFrame:
        """The loss model's inputs: features plus the model's prediction."""
        data: dict[str, Any] = {}
        for name in self.features:
            if name in self.categorical:
                data[name] = frame.strings(name).to_pandas()
            else:
                data[name] = frame.floats(name)
        data[self.y_pred] = regression_values(frame, self.y_pred, "y_pred", allow_missing=False)
        return pd.DataFrame(data)

    def encode(self, frame: Frame) -> dict[str, np.ndarray]:
        return self.model.predict(self.inputs(frame))

    def encode_reference(self, frame: Frame) -> dict[str, np.ndarray]:
        return self.reference_losses

    def partial(self, losses: dict[str, np.ndarray], rows: slice | np.ndarray) -> LossSums:
        return LossSums.from_losses({name: values[rows] for name, values in losses.items()})

    def use_shifts(self, losses: dict[str, np.ndarray], chunks: list[Chunk], shifts: list[ChunkShift]) -> None:
        """The predicted losses do not depend on the chunk's shift."""

    def finish(self, part: LossSums, reference: Any = None) -> dict:
        return {**{name: METRICS[name].finish(part) for name in self.metrics}, ROWS: part.n}


class DLE(Estimator):
    """Estimate regression metrics per chunk without labels.

    Every chunk also carries the trust diagnostics of `seismo.performance.trust`;
    the calibration gap compares realized and out-of-fold predicted losses of the
    first metric's loss. ``trust=False`` skips them.
    """

    _tracker_: DLETracker

    def __init__(
        self,
        y_pred: str | None = None,
        y_true: str | None = None,
        features: list[str] | None = None,
        timestamp: str | None = None,
        id: str | None = None,
        metrics: list[str] | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        thresholds: dict | None = None,
        *,
        column_types: dict[str, str] | None = None,
        hyperparameters: dict | None = None,
        n_splits: int = DEFAULT_SPLITS,
        trust: bool = True,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        n_resamples: int = DEFAULT_RESAMPLES,
        random_state: int = DEFAULT_RANDOM_STATE,
        timestamp_format: str | None = None,
        false_alarm_rate: float | None = None,
        segments: Segments | None = None,
        min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS,
        small_segments: SmallSegments = "other",
        segment_correction: SegmentCorrection = "bonferroni",
    ):
        super().__init__(
            timestamp=timestamp, chunk_size=chunk_size, chunk_number=chunk_number, chunk_period=chunk_period,
            chunker=chunker, incomplete=incomplete, thresholds=thresholds, n_resamples=n_resamples,
            random_state=random_state,
            timestamp_format=timestamp_format, false_alarm_rate=false_alarm_rate,
            segments=segments, min_segment_rows=min_segment_rows, small_segments=small_segments,
            segment_correction=segment_correction,
        )
        self.y_pred = y_pred
        self.y_true = y_true
        self.features = features
        self.id = id
        self.metrics = metrics
        self.column_types = column_types
        self.hyperparameters = hyperparameters
        self.n_splits = n_splits
        self.trust = trust
        self.problem_type = "regression"

    def fit(self, reference: Any, *, streaming: bool | None = None) -> "DLE":
        """Train the loss models and learn thresholds from the labelled reference."""
        self.feature_names_ = self._feature_names(reference, self.features, "reference")
        return super().fit(reference, streaming=streaming)

    def estimate(self, analysis: Any, targets: Any = None, id: str | None = None, *,
                 streaming: bool | None = None, state: Any = None) -> Result:
        """Estimated metrics per analysis chunk, with the sampling error scaled to the chunk's loss level.

        The sampling error learned on the reference describes chunks whose losses are like the
        reference's. A regression loss is typically heteroscedastic: where the model errs more, its
        per-row loss also varies more, and the realized metric of a chunk in that region varies more
        between chunks (for a scale family, loss = s(x)·|Z|, the standard deviation of the chunk
        metric is proportional to the metric itself). So an analysis chunk whose estimate is above
        the reference level gets its sampling error, and its ±3 SE band, widened by
        ``estimate / reference level`` (the reference level: the mean out-of-fold estimate of the
        reference chunks). Chunks estimated at or below the reference level keep the reference's
        sampling error: a narrower band there would rest on the same scale-family assumption with
        nothing to gain for alerts. Thresholds and alerts are unchanged.
        """
        return super().estimate(analysis, targets, id, streaming=streaming, state=state)

    def _adjust_rows(self, data: pd.DataFrame) -> None:
        """Widen the analysis chunks' sampling errors and confidence bands by their loss level (see `estimate`)."""
        analysis_rows = (data["period"] == "analysis").to_numpy()
        for metric, level in self._reference_levels().items():
            rows = analysis_rows & (data["metric"] == metric).to_numpy()
            value = data.loc[rows, "value"].to_numpy(dtype=float)
            factor = np.where(np.isfinite(value) & (level > 0), np.maximum(value / level, 1.0), 1.0)
            se = data.loc[rows, "sampling_error"].to_numpy(dtype=float) * factor
            data.loc[rows, "sampling_error"] = se
            data.loc[rows, "lower_confidence"] = np.maximum(value - 3 * se, 0.0)
            data.loc[rows, "upper_confidence"] = value + 3 * se

    def _reference_levels(self) -> dict[str, float]:
        """Mean out-of-fold estimate of the reference chunks, per metric."""
        values: dict[str, list[float]] = {}
        for row in self.reference_rows_:
            if np.isfinite(row["value"]):
                values.setdefault(row["metric"], []).append(float(row["value"]))
        return {metric: float(np.mean(v)) for metric, v in values.items()}

    def _trust_arrays(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, TrustKind, str]:
        """Realized and out-of-fold predicted per-row loss of the first metric (NaN where unlabelled)."""
        loss = metric_loss(self.realized_.metrics_[0]).name
        y_true, y_pred = frame.floats(self._true_column), frame.floats(self._pred_column)
        labelled = np.isfinite(y_true) & np.isfinite(y_pred)
        observed = np.full(frame.n_rows, np.nan)
        observed[labelled] = row_losses(y_true[labelled], y_pred[labelled], losses=[loss])[loss]
        expected = np.where(labelled, self._tracker_.reference_losses[loss], np.nan)
        return observed, expected, "loss", loss.replace("_", " ")

    def _estimation_tracker(self, frame: Frame) -> DLETracker:
        schema = build_schema(frame.table, self.feature_names_, self.column_types)
        categorical = [c.name for c in schema.columns if c.kind == "categorical"]
        metrics = self.realized_.metrics_
        losses = sorted(loss.name for loss in losses_of(metrics))
        model = LossModel(losses, self.hyperparameters, n_splits=self.n_splits, random_state=self.random_state,
                          categorical=categorical)
        tracker = DLETracker(model, schema.names, categorical, self._pred_column, metrics, {})
        y_true = regression_values(frame, self._true_column, "y_true", allow_missing=True)
        labelled = np.isfinite(y_true)
        if not labelled.any():
            raise InvalidData(f"y_true column {self.y_true!r} in the {frame.where} data has no value in any of its "
                              f"{frame.n_rows} rows; DLE learns its loss models from labelled reference rows")
        inputs = tracker.inputs(frame)
        model.fit(inputs[labelled].reset_index(drop=True), y_true[labelled], frame.floats(self._pred_column)[labelled])
        reference_losses = model.predict(inputs)
        for name, oof in model.oof_losses_.items():
            reference_losses[name][labelled] = oof
        tracker.reference_losses = reference_losses
        self._tracker_ = tracker
        self.schema_ = schema
        self.loss_model_ = model
        return tracker
