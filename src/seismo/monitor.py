"""`Monitor`: every calculator the given columns allow, behind one fit and one run."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import pandas as pd

from .chunking import Chunker
from .drift.domain_classifier import DomainClassifierDrift
from .drift.pca import PCADrift
from .drift.univariate import UnivariateDrift
from .errors import InvalidConfiguration, SeismoWarning
from .io import DataLike, read_schema, read_table
from .performance.cbpe import CBPE
from .performance.dle import DLE
from .performance.pape import PAPE
from .performance.realized import RealizedPerformance
from .quality import DataQuality
from .ranking import prediction_sensitivity, rank
from .report import Report

ESTIMATORS = ("cbpe", "pape")


class Monitor:
    """Estimated and realized performance, univariate and multivariate drift, data quality and
    the drift ranking, configured once from the column roles.

    ``fit(reference)`` needs labels in the reference (the estimator learns from them);
    ``run(analysis, targets=None)`` returns a `Report`.
    """

    def __init__(
        self,
        problem_type: Literal["binary", "multiclass", "regression"],
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
        incomplete: Literal["keep", "append", "drop"] = "keep",
        estimator: str = "cbpe",
        random_state: int = 0,
    ):
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

    def _common(self) -> dict[str, Any]:
        return dict(timestamp=self.timestamp, chunk_size=self.chunk_size, chunk_number=self.chunk_number,
                    chunk_period=self.chunk_period, chunker=self.chunker)

    def _roles(self) -> dict[str, Any]:
        return dict(y_pred_proba=self.y_pred_proba, y_pred=self.y_pred, y_true=self.y_true, id=self.id)

    def _performance(self) -> dict[str, Any]:
        """The estimator and the realized calculator, or none when the model columns are not given."""
        if self.y_pred is None or self.y_true is None:
            return {}
        shared = dict(y_pred=self.y_pred, y_true=self.y_true, id=self.id, metrics=self.metrics, **self._common(),
                      incomplete=self.incomplete, random_state=self.random_state)
        if self.problem_type == "regression":
            estimated: Any = DLE(features=self.features, **shared)
        else:
            if self.estimator not in ESTIMATORS:
                raise InvalidConfiguration(f"estimator is {self.estimator!r}; available: {list(ESTIMATORS)}")
            if self.estimator == "pape":
                estimated = PAPE(self.problem_type, y_pred_proba=self.y_pred_proba, features=self.features, **shared)
            else:
                estimated = CBPE(self.problem_type, y_pred_proba=self.y_pred_proba, **shared)
        realized = RealizedPerformance(self.problem_type, y_pred_proba=self.y_pred_proba, **shared)
        return {"estimated": estimated, "realized": realized}

    def fit(self, reference: DataLike) -> "Monitor":
        """Fit every calculator on the labelled reference."""
        drift_args = dict(columns=self.features, **self._common(), **self._roles(), incomplete=self.incomplete,
                          random_state=self.random_state)
        self.calculators_: dict[str, Any] = {
            **self._performance(),
            "univariate_drift": UnivariateDrift(**drift_args),
            "pca_drift": PCADrift(**drift_args),
            "domain_classifier_drift": DomainClassifierDrift(**drift_args),
            "data_quality": DataQuality(**drift_args),
        }
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SeismoWarning)
            for calculator in self.calculators_.values():
                calculator.fit(reference)
        seen = set()
        for w in caught:  # each distinct warning once, not once per calculator
            key = (w.category, str(w.message))
            if key not in seen:
                seen.add(key)
                warnings.warn(str(w.message), w.category, stacklevel=2)
        self.sensitivity_ = self._sensitivity(reference)
        self.fitted_ = True
        return self

    def _sensitivity(self, reference: DataLike) -> pd.Series | None:
        """How much the model's output follows each feature (for the ranking); the largest over classes."""
        if self.problem_type == "regression":
            scores = [self.y_pred]
        elif isinstance(self.y_pred_proba, dict):
            scores = list(self.y_pred_proba.values())
        else:
            scores = [self.y_pred_proba]
        if any(s is None for s in scores):
            return None
        features = self.calculators_["univariate_drift"].schema_.names
        frame = read_table(reference, list(dict.fromkeys(features + scores)), "reference").to_pandas()
        return pd.concat([prediction_sensitivity(frame, s, features) for s in scores], axis=1).max(axis=1)

    def run(self, analysis: DataLike, targets: DataLike | None = None) -> Report:
        """Every calculator on the analysis data; labels may come late in ``targets`` (joined on ``id``)."""
        if not getattr(self, "fitted_", False):
            raise InvalidConfiguration("Monitor is not fitted yet; call .fit(reference) first")
        results = {}
        calcs = self.calculators_
        if "estimated" in calcs:
            results["estimated_performance"] = calcs["estimated"].estimate(analysis, targets=targets, id=self.id)
            has_labels = targets is not None or self.y_true in read_schema(analysis, "analysis").names
            if has_labels:
                results["realized_performance"] = calcs["realized"].calculate(analysis, targets=targets, id=self.id)
        for name in ("univariate_drift", "pca_drift", "domain_classifier_drift", "data_quality"):
            results[name] = calcs[name].calculate(analysis)
        performance = results.get("realized_performance", results.get("estimated_performance"))
        ranking = rank(results["univariate_drift"], performance, sensitivity=self.sensitivity_)
        return Report(results, ranking, self._settings(), top_features=calcs["domain_classifier_drift"].top_features())

    def _settings(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and v is not None}
