"""Loss models for direct loss estimation (DLE) of a regression model without labels.

A LightGBM regressor per loss learns, on the reference, the monitored model's
per-row loss from the features and the model's own prediction. With a squared
error objective it estimates the *conditional mean* loss E[loss | x, y_pred], so
averaging its predictions over a chunk estimates the chunk's MAE / MAPE / MSE /
MSLE (and RMSE = sqrt(mean predicted squared error)) while the relation between
inputs and loss holds, i.e. under covariate shift. The idea is NannyML's DLE
(https://nannyml.readthedocs.io/en/stable/how_it_works/performance_estimation.html);
this is an independent implementation.

Categorical features go to LightGBM natively as integer codes with categories
fixed at fit; values unseen at fit become missing, which LightGBM routes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # LightGBM and scikit-learn are imported when a model is fitted or loaded
    import lightgbm as lgb

import numpy as np
import pandas as pd

from seismo.engine.trackers import DEFAULT_RANDOM_STATE
from seismo.errors import ColumnNotFound, InvalidConfiguration, InvalidData, NotFittedError
from seismo.metrics.losses import default_losses
from seismo.metrics.registry import row_loss, row_losses_by_name

#: Defaults sized for 10k-100k reference rows on 2 cores: ~250 shallow-ish trees at a
#: moderate learning rate fit a smooth conditional mean; min_child_samples=50 keeps
#: leaves from chasing single heavy-tailed losses; row/column bagging (subsample needs
#: subsample_freq > 0 in LightGBM) lowers variance. Objective L2: we need the mean.
DEFAULT_SPLITS = 5  # cross-fitting folds of the loss models (DLE's n_splits)
DEFAULT_HYPERPARAMETERS: dict[str, Any] = {
    "objective": "regression",
    "n_estimators": 250,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    # One thread: LightGBM's OpenMP threads spin-wait, and on a shared 2-core machine two of
    # them next to any other busy process made one fit 100x slower (764 s instead of 7 s).
    # On a dedicated machine pass hyperparameters={"n_jobs": k}.
    "n_jobs": 1,
    "verbose": -1,
}


def row_losses(y_true: np.ndarray, y_pred: np.ndarray, with_log: bool = False, *,
               losses: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Per-row losses of the monitored model, by the formulas of `seismo.metrics.losses` (the ones
    ``LossSums.from_rows`` sums). ``losses``: the names of registered metrics' losses; None: the
    built-in ones, the squared log error (which needs both columns > -1) only ``with_log``.
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise InvalidData(f"{y_true.size} targets for {y_pred.size} predictions")
    chosen = default_losses(with_log) if losses is None else [row_loss(name) for name in losses]
    return {loss.name: loss.of(y_true, y_pred) for loss in chosen}


class LossModel:
    """One LightGBM regressor per loss, predicting the monitored model's per-row loss.

    ``X`` holds the features *and* the monitored model's prediction column. Columns
    of pandas ``category`` dtype, or named in ``categorical``, are categorical; all
    others must be numeric or boolean. ``hyperparameters`` override/extend
    :data:`DEFAULT_HYPERPARAMETERS` (any ``LGBMRegressor`` argument).

    ``fit`` stores ``oof_losses_``: out-of-fold predictions for the reference rows
    (``n_splits``-fold, shuffled), so reference-period estimates are not flattered by
    in-sample fit. With ``n_splits`` 0 or None they are in-sample predictions (faster,
    optimistic). Learned state: ``feature_names_``, ``categories_``, ``boosters_``,
    ``oof_losses_``.
    """

    def __init__(
        self,
        losses: list[str],
        hyperparameters: dict[str, Any] | None = None,
        n_splits: int | None = DEFAULT_SPLITS,
        random_state: int = DEFAULT_RANDOM_STATE,
        categorical: list[str] | None = None,
    ):
        self.losses = losses
        self.hyperparameters = hyperparameters
        self.n_splits = n_splits
        self.random_state = random_state
        self.categorical = categorical

    # -- configuration ------------------------------------------------------------
    def _check_config(self) -> None:
        losses = list(self.losses)
        known = list(row_losses_by_name())
        unknown = [loss for loss in losses if loss not in known]
        if not losses or unknown or len(set(losses)) != len(losses):
            raise InvalidConfiguration(
                f"losses is {losses!r}; give distinct names from {known} (at least one)"
            )
        if self.hyperparameters is not None and not isinstance(self.hyperparameters, dict):
            raise InvalidConfiguration(f"hyperparameters is a {type(self.hyperparameters).__name__}; give a dict")
        n = self.n_splits
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0 or n == 1):
            raise InvalidConfiguration(f"n_splits is {self.n_splits!r}; use 0/None (no out-of-fold) or >= 2")

    def params(self) -> dict[str, Any]:
        """The LGBMRegressor arguments used: defaults, then ``random_state``, then user overrides."""
        return {**DEFAULT_HYPERPARAMETERS, "random_state": self.random_state, **(self.hyperparameters or {})}

    # -- features -----------------------------------------------------------------
    def _learn_features(self, X: pd.DataFrame) -> None:
        if not isinstance(X, pd.DataFrame):
            raise InvalidConfiguration(f"X is a {type(X).__name__}; give a pandas DataFrame")
        listed = list(self.categorical or [])
        for column in listed:
            if column not in X.columns:
                raise ColumnNotFound(column, "loss-model", [str(c) for c in X.columns])
        self.feature_names_ = [str(c) for c in X.columns]
        self.categories_: dict[str, list[Any]] = {}
        for column in X.columns:
            dtype = X[column].dtype
            if isinstance(dtype, pd.CategoricalDtype):
                self.categories_[str(column)] = dtype.categories.tolist()
            elif column in listed:
                self.categories_[str(column)] = pd.Index(X[column].dropna().unique()).sort_values().tolist()
            elif not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
                raise InvalidConfiguration(
                    f"feature {column!r} has dtype {dtype}; make it numeric, pandas 'category', "
                    "or list it in categorical"
                )

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Float matrix in fit's column order; categorical columns as codes, unseen/missing as NaN."""
        columns = {str(c): c for c in X.columns}
        out = np.empty((len(X), len(self.feature_names_)), dtype=np.float64)
        for j, name in enumerate(self.feature_names_):
            if name not in columns:
                raise ColumnNotFound(name, "loss-model", list(columns))
            values = X[columns[name]]
            if name in self.categories_:
                codes = pd.Index(self.categories_[name]).get_indexer(values)  # hash lookup; -1 if unseen
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def _categorical_indices(self) -> list[int]:
        return [j for j, name in enumerate(self.feature_names_) if name in self.categories_]

    # -- fit / predict ------------------------------------------------------------
    def _fit_one(self, matrix: np.ndarray, target: np.ndarray) -> lgb.Booster:
        keep = np.isfinite(target)  # rows without a label carry no loss to learn
        if not keep.any():
            raise InvalidData("no row has a finite loss to train the loss model on")
        import lightgbm as lgb

        model = lgb.LGBMRegressor(**self.params())
        model.fit(matrix[keep], target[keep], categorical_feature=self._categorical_indices() or "auto")
        return model.booster_

    def _predict_one(self, booster: lgb.Booster, matrix: np.ndarray) -> np.ndarray:
        threads = int(self.params().get("n_jobs", 1))
        return np.maximum(booster.predict(matrix, num_threads=threads), 0.0)  # losses are >= 0

    def fit(self, X: pd.DataFrame, y_true: np.ndarray, y_pred: np.ndarray) -> LossModel:
        """Fit out-of-fold models (for ``oof_losses_``), then one final model per loss on all rows."""
        self._check_config()
        self._learn_features(X)
        matrix = self._matrix(X)
        targets = row_losses(y_true, y_pred, losses=self.losses)
        n_targets = next(iter(targets.values())).size
        if n_targets != len(X):
            raise InvalidData(f"{n_targets} targets for {len(X)} rows of X")
        self.boosters_ = {loss: self._fit_one(matrix, targets[loss]) for loss in self.losses}
        if not self.n_splits:
            self.oof_losses_ = self.predict(X)
            return self
        if len(X) < self.n_splits:
            raise InvalidConfiguration(f"n_splits={self.n_splits} needs at least as many rows; X has {len(X)}")
        self.oof_losses_ = {loss: np.empty(len(X)) for loss in self.losses}
        from sklearn.model_selection import KFold

        folds = KFold(int(self.n_splits), shuffle=True, random_state=self.random_state).split(matrix)
        for train, held_out in folds:
            for loss in self.losses:
                booster = self._fit_one(matrix[train], targets[loss][train])
                self.oof_losses_[loss][held_out] = self._predict_one(booster, matrix[held_out])
        return self

    def predict(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Predicted per-row loss for each loss, clipped at 0."""
        if not hasattr(self, "boosters_"):
            raise NotFittedError("LossModel.predict was called before fit")
        matrix = self._matrix(X)
        return {loss: self._predict_one(booster, matrix) for loss, booster in self.boosters_.items()}
